"""`par-review audit FILE --year Y [--format text|json] [--rounding ...]` (wired by
par_review.cli; the province is the global `--province`)."""

from __future__ import annotations

import argparse
import sys

from . import audit_file
from .output import format_json, format_text
from .read import NoticeError, read_notice


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the notice: .txt, .md or .docx (Vietnamese)")
    parser.add_argument(
        "--year", type=int, required=True, help="the year the notice reports on (e.g. 2022)"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    parser.add_argument(
        "--rounding",
        choices=("half_up", "truncate"),
        default=None,
        help="the rounding rule the notice is expected to follow for shares (default: the "
        "province config's; a share that matches only under the other rule is "
        "'ok (truncated)' / 'ok (rounded)')",
    )


def _ensure_processed(paths, year: int, province: str) -> None:
    """Clean every raw year up to `year` whose processed tables are missing."""
    from ..clean.tables import clean_year

    for y in paths.raw_years():
        if y <= year and not (paths.processed_year(y) / "provincial.csv").is_file():
            print(
                f"audit: {paths.rel(paths.processed_year(y))} is missing; "
                f"cleaning {paths.rel(paths.raw_year(y))} first",
                file=sys.stderr,
            )
            clean_year(y, paths, province)


def cli_main(args: argparse.Namespace) -> int:
    """Exit 0 when every figure is ok or not checked, 1 when one is WRONG or not comparable,
    2 when the notice cannot be read or there is no data for the year."""
    from ..config import ConfigError
    from ..errors import InputError
    from ..paths import Paths

    paths = Paths.from_root(getattr(args, "root", None), getattr(args, "province", None))
    province = paths.province
    try:
        read_notice(args.file)  # fail early on an unreadable file
    except NoticeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.year not in paths.raw_years() and args.year not in paths.processed_years():
        print(
            f"error: no data for {args.year}: neither {paths.raw_year(args.year)} nor "
            f"{paths.processed_year(args.year)} exists",
            file=sys.stderr,
        )
        return 2
    try:
        _ensure_processed(paths, args.year, province)
        result = audit_file(args.file, args.year, paths, province, args.rounding)
    except (InputError, FileNotFoundError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(format_json(result) if args.format == "json" else format_text(result))
    return result.exit_code
