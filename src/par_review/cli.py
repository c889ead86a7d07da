"""The `par-review` command. Run `par-review --help` or `par-review <command> --help`.

A project holds one or more provinces (config/<province>/) and, for each, one folder of raw
data per year (data/raw/<province>/<year>/). With no selector, every command covers every
province, year and report language; --province, --year and --lang narrow it.

Exit codes: 0 everything built or up to date · 1 a year failed validation (or an audited
figure is wrong or not comparable) · 2 bad usage or bad input (the message names file, sheet, row, column,
the value found and the value expected) · 3 another build holds the lock · 4 a step failed
for another reason (the executed notebook is kept in build/logs/) · 130 interrupted (Ctrl-C
or SIGTERM): nothing published changed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from . import __version__

EXIT_OK, EXIT_VALIDATION, EXIT_INPUT, EXIT_LOCKED, EXIT_STEP = 0, 1, 2, 3, 4

EXIT_CODES = """exit codes:
  0  everything built or up to date
  1  a year failed validation (its previous report is kept)
  2  bad usage or bad input (the message names file, sheet, row, column and value)
  3  another build holds the lock (use --wait)
  4  a step failed for another reason (see build/logs/)
  130  interrupted (Ctrl-C or SIGTERM): nothing published changed"""


def _paths(args: argparse.Namespace):
    from .paths import Paths

    return Paths.from_root(args.root, _one_province(args))


def _one_province(args) -> str | None:
    prov = getattr(args, "province", None)
    return prov[0] if isinstance(prov, list) and prov else prov


def _data_command(args: argparse.Namespace, fn) -> int:
    """clean / validate / metrics: one step by hand for the chosen province's years."""
    from .config import ConfigError
    from .errors import InputError

    paths = _paths(args)
    try:
        from .config import load_config

        load_config(paths.province, paths)
        return fn(paths)
    except (InputError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT


def _cmd_clean(args: argparse.Namespace) -> int:
    def run(paths):
        from .clean.tables import clean_year

        for y in args.year or paths.raw_years():
            r = clean_year(y, paths, paths.province)
            print(
                f"{paths.province} {y}: "
                + ", ".join(f"{k} {len(v)} rows" for k, v in r.tables.items())
            )
        return EXIT_OK

    return _data_command(args, run)


def _cmd_validate(args: argparse.Namespace) -> int:
    def run(paths):
        from .validation.gate import validate_year

        code = EXIT_OK
        for y in args.year or paths.processed_years():
            report = validate_year(y, paths, paths.province, out_dir=paths.work_year(y))
            print(report.summary_text())
            if not report.success:
                code = EXIT_VALIDATION
        return code

    return _data_command(args, run)


def _cmd_metrics(args: argparse.Namespace) -> int:
    def run(paths):
        from .metrics.compute import compute_metrics, write_metrics

        for y in args.year or paths.processed_years():
            m = compute_metrics(y, paths, paths.province, args.rounding)
            print(
                f"{paths.province} {y}: {paths.rel(write_metrics(m, paths.work_year(y), paths, y))}"
            )
        return EXIT_OK

    return _data_command(args, run)


def _build_opts(args: argparse.Namespace):
    from .pipeline.runner import BuildOptions

    langs = []
    for item in getattr(args, "lang", None) or []:
        langs += [x for x in item.split(",") if x]
    prov = getattr(args, "province", None)
    return BuildOptions(
        provinces=[prov] if isinstance(prov, str) else prov,
        years=getattr(args, "year", None),
        langs=langs or None,
        force=getattr(args, "force", False),
        jobs=getattr(args, "jobs", 0) or 0,
        rounding=getattr(args, "rounding", "") or "",
        formats=tuple(f for f in getattr(args, "formats", "html,pdf").split(",") if f),
        wait=getattr(args, "wait", 0.0),
        quiet=getattr(args, "quiet", False),
        timeout=getattr(args, "timeout", 600),
    )


def _guarded(fn, args) -> int:
    from .pipeline.runner import UsageError

    try:
        return fn(_paths(args), _build_opts(args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT


def _cmd_build(args: argparse.Namespace) -> int:
    from .pipeline.runner import build

    return _guarded(build, args)


def _cmd_plan(args: argparse.Namespace) -> int:
    from .pipeline.status import plan

    return _guarded(plan, args)


def _cmd_status(args: argparse.Namespace) -> int:
    from .pipeline.status import status

    return _guarded(status, args)


def _cmd_preview(args: argparse.Namespace) -> int:
    from .preview.server import run_preview

    return run_preview(_paths(args), args.year, args.lang, args.port)


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {n}")
    return n


def _year(text: str) -> int:
    if not (text.isdigit() and len(text) == 4):
        raise argparse.ArgumentTypeError(f"expected a year such as 2022, got {text!r}")
    return int(text)


def _selectors(sp: argparse.ArgumentParser, lang: bool = True) -> None:
    sp.add_argument(
        "--province",
        action="append",
        metavar="P",
        default=argparse.SUPPRESS,
        help="only this province (a folder under config/; repeatable)",
    )
    sp.add_argument(
        "--year",
        type=_year,
        action="append",
        metavar="Y",
        help="only this year (repeatable; default: every folder data/raw/<province>/<year>/)",
    )
    if lang:
        sp.add_argument(
            "--lang",
            action="append",
            metavar="L",
            help="only this report language, vi or en (repeatable or vi,en; "
            "default: the province's report_languages)",
        )


def build_parser(audit_args: bool = True) -> argparse.ArgumentParser:
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
        help="a folder under config/ (default: every province for build, plan and status; "
        "the only province, else khanh_hoa, for the other commands)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser(
        "build",
        help="build and publish the reports (incremental, parallel, publish-on-success)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""Run clean -> validate -> analyse -> report (every language) for each
province and year, and publish reports/<province>/<year>/ only when every step passed;
then rebuild reports/index.html. Steps whose inputs did not change are skipped (see
`par-review plan`). --year Y builds Y and, when they are stale, the data steps of the
earlier years Y's figures read (it says so); it publishes nothing else.""",
        epilog=EXIT_CODES,
    )
    _selectors(b)
    b.add_argument(
        "--force", action="store_true", help="rebuild every step even if nothing changed"
    )
    b.add_argument(
        "--jobs",
        "-j",
        type=_positive,
        default=0,
        metavar="N",
        help="steps run in parallel, one warm kernel each (default: number of cores)",
    )
    b.add_argument(
        "--rounding",
        choices=("half_up", "truncate"),
        default=None,
        help="how shares are displayed (default: the province config)",
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
        "--timeout",
        type=_positive,
        default=600,
        metavar="SECONDS",
        help="stop a notebook cell that runs longer than this (default: %(default)s); "
        "a heartbeat line is printed every minute while a step runs",
    )
    b.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print nothing but the failures (to stderr, for a scheduler to mail); the whole log "
        "still goes to build/logs/build.log",
    )
    b.set_defaults(func=_cmd_build)

    pl = sub.add_parser(
        "plan",
        help="dry run: what a build would run and why (the input, code or config that changed)",
        description="Show, without running anything, which steps `par-review build` would run "
        "with the same selectors, and why: the raw file, table, code file, config file or "
        "parameter that changed, or the output that is missing.",
    )
    _selectors(pl)
    pl.add_argument(
        "--rounding",
        choices=("half_up", "truncate"),
        default=None,
        help="plan as for `build --rounding` (default: the province config)",
    )
    pl.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    pl.set_defaults(func=_cmd_plan)

    s = sub.add_parser(
        "status",
        help="per province and year: what is published, what is stale and why, the last attempt",
        description="Show, per province and year, the published report and its languages, "
        "whether its inputs changed since (and which), the outcome of the last build attempt, "
        "and the build that is running, if any.",
    )
    _selectors(s)
    s.set_defaults(func=_cmd_status)

    c = sub.add_parser(
        "clean",
        help="clean raw data into data/processed (no validation, no report)",
        description="Clean data/raw/<province>/<year>/ into data/processed/<province>/<year>/.",
    )
    c.add_argument(
        "--year",
        type=_year,
        action="append",
        metavar="Y",
        help="year to clean (repeatable; default: every year in data/raw/<province>/)",
    )
    c.set_defaults(func=_cmd_clean)

    v = sub.add_parser(
        "validate",
        help="run the validation gate on cleaned data (no report)",
        description="Validate data/processed/<province>/<year>/ with the Great Expectations "
        "suites; writes build/work/<province>/<year>/validation.json and Data Docs. "
        "Exit 1 on a critical failure.",
    )
    v.add_argument(
        "--year",
        type=_year,
        action="append",
        metavar="Y",
        help="year (repeatable; default: every cleaned year)",
    )
    v.set_defaults(func=_cmd_validate)

    m = sub.add_parser(
        "metrics",
        help="compute metrics.json for cleaned years (no report)",
        description="Compute every figure of the review into build/work/<province>/<year>/"
        "metrics.json and data/processed/<province>/metrics/<year>/ (docs/metrics.md).",
    )
    m.add_argument(
        "--year",
        type=_year,
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

    a = sub.add_parser(
        "audit",
        help="check the figures of a published notice against the data",
        description="Check every figure of a notice (.txt, .md, .docx) against the computed metrics.",
    )
    if audit_args:  # its arguments only when it is the command: a build imports no audit code
        from .audit import cli as audit

        audit.configure_parser(a)
        a.set_defaults(func=audit.cli_main)

    pv = sub.add_parser(
        "preview",
        help="serve one report on 127.0.0.1 and rebuild it live as files change (no reports/)",
        description="Serve the report of one province, year and language on 127.0.0.1, the way "
        "`quarto preview` does: one warm kernel, the build's steps re-run only when their inputs "
        "change (data/raw, config, notebooks, validation suites, src/par_review, the locales), "
        "and the page reloads itself. Writes only under build/preview/ (see docs/preview.md); "
        "Ctrl-C stops it.",
    )
    pv.add_argument(
        "--province",
        metavar="P",
        default=argparse.SUPPRESS,
        help="a folder under config/ (default: the only province, else khanh_hoa)",
    )
    pv.add_argument(
        "--year", type=_year, metavar="Y", help="default: the latest data/raw/<province>/<year>/"
    )
    pv.add_argument("--lang", metavar="L", help="vi or en (default: the province's default_lang)")
    pv.add_argument(
        "--port",
        type=int,
        default=8008,
        metavar="N",
        help="port on 127.0.0.1 (default: %(default)s; 0 picks a free one and prints the URL)",
    )
    pv.set_defaults(func=_cmd_preview)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(audit_args="audit" in argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `par-review status | head`: the reader has what it wanted
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
