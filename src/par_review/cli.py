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
    from .clean import clean_year
    from .errors import InputError
    from .paths import Paths

    paths = Paths.from_root(args.root)
    years = args.year or paths.raw_years()
    for y in years:
        try:
            r = clean_year(y, paths, args.province)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INPUT
        print(f"{y}: " + ", ".join(f"{k} {len(v)} rows" for k, v in r.tables.items()))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="par-review", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"par-review {__version__}")
    p.add_argument("--root", default=None, help="project root (default: this checkout, or $PAR_REVIEW_ROOT)")
    p.add_argument("--province", default="khanh_hoa", help="config folder under config/ (default: %(default)s)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("clean", help="clean raw data into data/processed (no validation, no report)",
                       description="Clean data/raw/<year>/ into data/processed/<year>/.")
    c.add_argument("--year", type=int, action="append", help="year to clean (repeatable; default: every year in data/raw)")
    c.set_defaults(func=_cmd_clean)

    try:
        from . import audit
    except ImportError:  # pragma: no cover - audit is optional until it lands
        audit = None
    if audit is not None and hasattr(audit, "configure_parser"):
        a = sub.add_parser("audit", help="check the figures of a published notice against the data",
                           description="Check every figure of a notice (.txt, .md, .docx) against the computed metrics.")
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
