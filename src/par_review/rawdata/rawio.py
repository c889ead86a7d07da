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
from collections.abc import Callable
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
    source: Path | None = None  # the workbook read (to look up formulas); None for a CSV file
    _formulas: list[list[object]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.row_numbers:
            self.row_numbers = list(range(1, len(self.rows) + 1))

    def formula(self, r: int, j: int) -> str | None:
        """The formula of the cell at grid row r, column j, if it is a formula. A workbook
        written by a program (not saved by Excel or LibreOffice) has formulas with no saved
        value: they read as empty. Only then is the workbook read a second time."""
        if self.source is None or self.sheet is None:
            return None
        if self._formulas is None:
            self._formulas = _read_formulas(self.source, self.sheet)
        rows = self._formulas
        v = rows[r][j] if r < len(rows) and j < len(rows[r]) else None
        if isinstance(v, str) and v.startswith("="):
            return v
        text = getattr(v, "text", None)  # openpyxl ArrayFormula
        return str(text) if text else None


HeaderTest = Callable[[list[list[object]]], bool]


def read_grid(path: Path, display: str | None = None, *, find: HeaderTest | None = None) -> Grid:
    """Read a worksheet of an .xlsx, or a .csv file, as a grid. The first worksheet, unless
    `find` is given and the first does not pass it: then the first one that does (a data
    sheet after a cover sheet or notes). When no sheet passes, the first one is returned
    (and every message names it)."""
    shown = display or path.name
    if not path.exists():
        raise InputError(
            shown,
            "file not found",
            expected="an .xlsx or .csv file",
            expected_vi="một tệp .xlsx hoặc .csv",
        )
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _read_xlsx(path, shown, find)
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, shown)
    raise InputError(
        shown,
        "unsupported file type",
        found=path.suffix,
        expected=".xlsx or .csv",
        expected_vi=".xlsx hoặc .csv",
    )


def ensure_inside(path: Path, root: Path, shown: str) -> None:
    """Refuse a raw file that is (or sits in a folder that is) a link leading outside the
    project: it is never read, and its target is never named."""
    try:
        path.resolve(strict=False).relative_to(root.resolve())
    except ValueError:
        raise InputError(
            shown,
            "the file is a link that leads outside the project; it was not read",
            found="symbolic link",
            expected="the file itself in the project's data/raw folder (copy it, do not link it)",
            problem_vi="tệp là một liên kết trỏ ra ngoài dự án; tệp không được đọc",
            expected_vi="chính tệp đó trong thư mục data/raw của dự án (sao chép, không liên kết)",
        ) from None


def _read_xlsx(path: Path, shown: str, find: HeaderTest | None = None) -> Grid:
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
            expected_vi="một tệp .xlsx được lưu bằng Excel hoặc LibreOffice",
        ) from None
    try:
        first = None
        for ws in wb.worksheets:
            rows = [[_cell_value(c) for c in r] for r in ws.iter_rows()]
            grid = Grid(Path(shown), ws.title, rows, source=path)
            if find is None or find(rows):
                return grid
            first = first or grid
        if first is None:
            raise InputError(
                shown, "the sheet is empty", expected="a table of units"
            )  # pragma: no cover - openpyxl always gives one sheet
        return first
    finally:
        wb.close()


def _read_formulas(path: Path, sheet: str) -> list[list[object]]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        ws = wb[sheet]
        return [[c.value for c in r] for r in ws.iter_rows()]
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
UTF16_TEXT = 'UTF-16 text (Excel\'s "Unicode Text")'


def _utf16(raw: bytes) -> str | None:
    """The UTF-16 codec of these bytes, if they are UTF-16 text: a byte-order mark, or
    (without one) NULs in every other byte, as ASCII characters (digits, separators, most
    letters) give in UTF-16 and never in UTF-8 or cp1258."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    head = raw[:400]
    if len(head) >= 8 and len(head) % 2 == 0:
        odd, even = head[1::2], head[0::2]
        if odd.count(0) >= 0.4 * len(odd) and even.count(0) <= 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) >= 0.4 * len(even) and odd.count(0) <= 0.05 * len(odd):
            return "utf-16-be"
    return None


def describe_content(path: Path) -> str:
    """What a file really holds, from its first bytes (for error messages). Never quotes
    the content: a message may be published, and the file may be anything."""
    try:
        head = path.read_bytes()[:200]
    except OSError:
        return ""
    if not head:
        return "an empty file (0 bytes)"
    for magic, what in _MAGIC:
        if head.lstrip().startswith(magic):
            return what
    if _utf16(head):
        return UTF16_TEXT
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3 or b"\x00" in head:  # not just a character cut at 200 bytes
            return "binary data"
        text = head[: exc.start].decode("utf-8-sig")
    if "\x00" in text:
        return "binary data"
    if any(sep in text for sep in (",", ";", "\t")):
        return "plain text (CSV-like: save it as .csv, or as .xlsx from Excel)"
    return "plain text"


def _read_csv(path: Path, shown: str) -> Grid:
    raw = path.read_bytes()
    if raw[:4] == b"PK\x03\x04":
        raise InputError(
            shown,
            "this .csv file is really an Excel workbook",
            expected="rename it to .xlsx",
            expected_vi="đổi tên tệp thành .xlsx",
        )
    utf16 = _utf16(raw)
    encodings = (utf16,) if utf16 else ("utf-8-sig", "cp1258")
    for enc in encodings:
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(
            shown,
            "cannot decode the file",
            found=UTF16_TEXT if utf16 else None,
            expected="UTF-8 text",
            expected_vi="văn bản UTF-8",
        )
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise InputError(
            shown,
            "not a text (CSV) file",
            found=describe_content(path) or None,
            expected="a UTF-8 CSV file",
            expected_vi="một tệp CSV mã UTF-8",
        )
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delim)]
    return Grid(Path(shown), None, rows)


_NUMBER = re.compile(r"^[+-]?(\d{1,3}([.,\s]\d{3})+|\d+)([.,]\d+)?$")


class GroupedNumber(ValueError):
    """A number written with a thousands separator ("1.085,5") where none can occur."""


def parse_number(value: object, *, grouping: bool = True) -> float | None:
    """Parse a score as written in Vietnamese files: 85,32 · 85.32 · '85,32%' · ' 85,32 '.

    Returns None for an empty cell; raises ValueError for anything else that is not a number.
    `grouping=False` (percentages, points): a thousands separator ("1.085,5", "1 085",
    "1,234.5") raises GroupedNumber, since such a value is never a percentage and which
    mark is the decimal one cannot be told.
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
    if not grouping and (
        " " in s or ("," in s and "." in s) or s.count(",") > 1 or s.count(".") > 1
    ):
        raise GroupedNumber(value)
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
