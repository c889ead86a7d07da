"""Read the tables that a Department of Home Affairs sends: Excel appendices with a title
block and merged two-row headers, or CSV exports with comma decimals and % signs.

Everything here returns a plain grid (list of rows of cells) plus where each row came
from, so that every later error can name the file, sheet and row as the user sees them.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..textnorm import loose_key, nfc

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt"}


@dataclass
class Grid:
    file: Path
    sheet: str | None
    rows: list[list[object]]  # cell values as read
    row_numbers: list[int] = field(default_factory=list)  # 1-based, as Excel/an editor shows

    def __post_init__(self) -> None:
        if not self.row_numbers:
            self.row_numbers = list(range(1, len(self.rows) + 1))


def read_grid(path: Path, display: str | None = None) -> Grid:
    """Read the first worksheet of an .xlsx, or a .csv file, as a grid."""
    shown = display or str(path)
    if not path.exists():
        raise InputError(shown, "file not found", expected="an .xlsx or .csv file")
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _read_xlsx(path, shown)
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, shown)
    raise InputError(shown, "unsupported file type", found=path.suffix, expected=".xlsx or .csv")


def _read_xlsx(path: Path, shown: str) -> Grid:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputError(
            shown,
            "not an Excel workbook (.xlsx) or the file is damaged",
            found=describe_content(path) or type(exc).__name__,
            expected="an .xlsx file saved by Excel or LibreOffice",
        ) from None
    try:
        ws = wb.worksheets[0]
        rows = [[_cell_value(c) for c in r] for r in ws.iter_rows()]
        return Grid(Path(shown), ws.title, rows)
    finally:
        wb.close()


def _cell_value(cell) -> object:
    """The value as the sheet shows it: a number formatted as a percentage (stored 0.8532,
    shown 85,32%) is read as 85.32, the way every other score in the files is written."""
    v = getattr(cell, "value", None)
    if (
        isinstance(v, (int, float))
        and not isinstance(v, bool)
        and "%" in str(getattr(cell, "number_format", ""))
    ):
        return round(v * 100, 10)
    return v


_MAGIC = [
    (b"\xd0\xcf\x11\xe0", "an old Excel 97-2003 (.xls) or other OLE file; save it as .xlsx"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive that is not a workbook"),
    (b"<", "an HTML/XML page"),
]


def describe_content(path: Path) -> str:
    """What a file really holds, from its first bytes (for error messages)."""
    try:
        head = path.read_bytes()[:200]
    except OSError:
        return ""
    if not head:
        return "an empty file (0 bytes)"
    for magic, what in _MAGIC:
        if head.lstrip().startswith(magic):
            return what
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3 or b"\x00" in head:  # not just a character cut at 200 bytes
            return "binary data"
        text = head[: exc.start].decode("utf-8-sig")
    if "\x00" in text:
        return "binary data"
    first = text.splitlines()[0][:40] if text.strip() else ""
    return f"plain text starting {first!r}"


def _read_csv(path: Path, shown: str) -> Grid:
    raw = path.read_bytes()
    if raw[:4] == b"PK\x03\x04":
        raise InputError(
            shown, "this .csv file is really an Excel workbook", expected="rename it to .xlsx"
        )
    for enc in ("utf-8-sig", "cp1258"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1258 decodes nearly anything
        raise InputError(shown, "cannot decode the file", expected="UTF-8 text")
    if "\x00" in text:
        raise InputError(shown, "not a text (CSV) file", expected="a UTF-8 CSV file")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delim)]
    return Grid(Path(shown), None, rows)


_NUMBER = re.compile(r"^[+-]?(\d{1,3}([.,\s]\d{3})+|\d+)([.,]\d+)?$")


def parse_number(value: object) -> float | None:
    """Parse a score as written in Vietnamese files: 85,32 · 85.32 · '85,32%' · ' 85,32 '.

    Returns None for an empty cell; raises ValueError for anything else that is not a number.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        if value != value:  # NaN
            return None
        return float(value)
    # spaces only as thousands separators ("1 234,5"): "85 32" is a typo, not 8532
    s = nfc(value).rstrip("%").strip()
    if s == "" or s in {"-", "—"}:
        return None
    if not _NUMBER.match(s):
        raise ValueError(value)
    s = s.replace(" ", "")
    if "," in s and "." in s:
        # the last separator is the decimal mark: 1.234,56 or 1,234.56
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = f"{head.replace(',', '')}.{tail}"
    return float(s)


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return nfc(value)


def is_blank_row(row: list[object]) -> bool:
    return all(cell_text(c) == "" for c in row)


def match_header(text: object, aliases: list[str]) -> bool:
    key = loose_key(text)
    return bool(key) and any(key == loose_key(a) for a in aliases)
