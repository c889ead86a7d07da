"""The `par-review` command. Run `par-review --help` or `par-review <command> --help`.

Exit codes: 0 everything built or up to date · 1 a year failed validation (or an audited
figure is wrong) · 2 bad usage or bad input (the message names file, row, column, value)
· 3 another run holds the lock · 4 a step failed for another reason (see the build log).
"""

from __future__ import annotations

import argparse
import sys

from . import __version__

EXIT_OK, EXIT_VALIDATION, EXIT_INPUT, EXIT_LOCKED, EXIT_STEP = 0, 1, 2, 3, 4


def _cmd_clean(args: argparse.Namespace) -> int:
    from .clean.tables import clean_year
    from .errors import InputError
    from .paths import Paths

    paths = Paths.from_root(args.root, args.province)
    years = args.year or paths.raw_years()
    for y in years:
        try:
            r = clean_year(y, paths, args.province)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INPUT
        print(f"{y}: " + ", ".join(f"{k} {len(v)} rows" for k, v in r.tables.items()))
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from .paths import Paths
    from .validation.gate import validate_year

    paths = Paths.from_root(args.root, args.province)
    code = EXIT_OK
    for y in args.year or paths.processed_years():
        report = validate_year(y, paths, args.province, out_dir=paths.work_year(y))
        print(report.summary_text())
        if not report.success:
            code = EXIT_VALIDATION
    return code


def _cmd_metrics(args: argparse.Namespace) -> int:
    from .metrics.compute import compute_metrics, write_metrics
    from .paths import Paths

    paths = Paths.from_root(args.root, args.province)
    for y in args.year or paths.processed_years():
        m = compute_metrics(y, paths, args.province, args.rounding)
        out = write_metrics(m, paths.work_year(y), paths, y)
        print(f"{y}: {out}")
    return EXIT_OK


def _build_opts(args: argparse.Namespace):
    from .pipeline.build import BuildOptions

    return BuildOptions(
        years=getattr(args, "year", None),
        force=getattr(args, "force", False),
        jobs=getattr(args, "jobs", 0) or 0,
        lang=getattr(args, "lang", "vi"),
        rounding=getattr(args, "rounding", "") or "",
        province=args.province,
        formats=tuple(f for f in getattr(args, "formats", "html,pdf").split(",") if f),
        wait=getattr(args, "wait", 0.0),
        quiet=getattr(args, "quiet", False),
    )


def _cmd_build(args: argparse.Namespace) -> int:
    from .paths import Paths
    from .pipeline.build import build

    return build(Paths.from_root(args.root, args.province), _build_opts(args))


def _cmd_status(args: argparse.Namespace) -> int:
    from .paths import Paths
    from .pipeline.build import status

    return status(Paths.from_root(args.root, args.province), _build_opts(args))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="par-review", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--version", action="version", version=f"par-review {__version__}")
    p.add_argument(
        "--root", default=None, help="project root (default: this checkout, or $PAR_REVIEW_ROOT)"
    )
    p.add_argument(
        "--province",
        default=None,
        help="config folder under config/ (default: the only province, else khanh_hoa)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser(
        "clean",
        help="clean raw data into data/processed (no validation, no report)",
        description="Clean data/raw/<year>/ into data/processed/<year>/.",
    )
    c.add_argument(
        "--year",
        type=int,
        action="append",
        help="year to clean (repeatable; default: every year in data/raw)",
    )
    c.set_defaults(func=_cmd_clean)

    b = sub.add_parser(
        "build",
        help="build and publish the reports (incremental, parallel, publish-on-success)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""Run clean -> validate -> analyse -> report for each year and publish
into reports/<year>/ only when every step passed; then rebuild reports/index.html.
Steps whose inputs did not change are skipped (see `par-review status`).""",
        epilog="""exit codes:
  0  everything built or up to date
  1  a year failed validation (its previous report is kept)
  2  bad usage or bad input (the message names file, sheet, row, column and value)
  3  another build holds the lock (use --wait)
  4  a step failed for another reason (see build/logs/)""",
    )
    b.add_argument(
        "--year",
        type=int,
        action="append",
        metavar="Y",
        help="build this year (repeatable; default: every year folder in data/raw/)",
    )
    b.add_argument(
        "--force", action="store_true", help="rebuild every step even if nothing changed"
    )
    b.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=0,
        metavar="N",
        help="years built in parallel, one kernel each (default: number of cores)",
    )
    b.add_argument(
        "--lang", choices=("vi", "en"), default="vi", help="report language (default: vi)"
    )
    b.add_argument(
        "--rounding",
        choices=("half_up", "truncate"),
        default=None,
        help="how shares are displayed (default: the province config, half_up)",
    )
    b.add_argument("--formats", default="html,pdf", help="report formats (default: %(default)s)")
    b.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another build runs, wait this long for it instead of exiting with 3",
    )
    b.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print only the summary log to build/logs/build.log",
    )
    b.set_defaults(func=_cmd_build)

    s = sub.add_parser(
        "status",
        help="what is published, what is stale, what failed last time and why",
        description="Show, per year in data/raw/, the published report, whether its inputs "
        "changed since, and the outcome of the last build attempt.",
    )
    s.set_defaults(func=_cmd_status)

    v = sub.add_parser(
        "validate",
        help="run the validation gate on cleaned data (no report)",
        description="Validate data/processed/<year>/ with the Great Expectations suites; "
        "writes build/work/<year>/validation.json and Data Docs. Exit 1 on a critical failure.",
    )
    v.add_argument(
        "--year",
        type=int,
        action="append",
        metavar="Y",
        help="year (repeatable; default: every cleaned year)",
    )
    v.set_defaults(func=_cmd_validate)

    m = sub.add_parser(
        "metrics",
        help="compute metrics.json for cleaned years (no report)",
        description="Compute every figure of the review into build/work/<year>/metrics.json "
        "and data/processed/<year>/metrics_*.csv (schema: docs/metrics.md).",
    )
    m.add_argument(
        "--year",
        type=int,
        action="append",
        metavar="Y",
        help="year (repeatable; default: every cleaned year)",
    )
    m.add_argument(
        "--rounding",
        choices=("half_up", "truncate"),
        default=None,
        help="display rounding of shares",
    )
    m.set_defaults(func=_cmd_metrics)

    from .audit import checker as audit

    a = sub.add_parser(
        "audit",
        help="check the figures of a published notice against the data",
        description="Check every figure of a notice (.txt, .md, .docx) against the computed metrics.",
    )
    audit.configure_parser(a)
    a.set_defaults(func=audit.cli_main)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
