"""Errors that a user can act on: they name the file, sheet, row, column, the value found
and the value expected, in Vietnamese and in English.

    InputError("data/raw/khanh_hoa/2022/provincial.xlsx", "score above 100", sheet="PL1",
               row=10, column="Chỉ số CCHC (%)", found="105", expected="a score from 0 to 100",
               problem_vi="điểm lớn hơn 100", expected_vi="điểm từ 0 đến 100")

(`found_vi`, when given, is the found value as Vietnamese writes it: a number read from an
Excel cell, 10.01, is '10,01' in the Vietnamese line; a CSV cell's text is quoted as it is.)

renders two lines, Vietnamese first:

    data/raw/…/provincial.xlsx, trang tính 'PL1', dòng 10, cột 'Chỉ số CCHC (%)': điểm lớn hơn 100; giá trị gặp '105'; giá trị cần điểm từ 0 đến 100
    data/raw/…/provincial.xlsx, sheet 'PL1', row 10, column 'Chỉ số CCHC (%)': score above 100; found '105'; expected a score from 0 to 100

What a message may quote (it ends up in logs, `status` and the published index): the project
path of the file (never an absolute path: an absolute one is reduced to its project-relative
form, or to its name) and at most one cell value, cut at MAX_FOUND characters; or, for a
missing column, the headings of the header row that was found (each cut, 20 at most).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_FOUND = 120  # characters of a found value shown in a message

# Vietnamese wording of the problems raised without an explicit `problem_vi` (the first
# matching prefix wins). Call sites with a changing text pass `problem_vi` themselves.
PROBLEMS_VI: dict[str, str] = {
    "file not found": "không tìm thấy tệp",
    "unsupported file type": "loại tệp không được hỗ trợ",
    "two files for the": "có hai tệp cho cùng một bảng",
    "no raw data folder": "không có thư mục dữ liệu gốc cho năm này",
    "not an Excel workbook": "không phải sổ tính Excel (.xlsx) hoặc tệp bị hỏng",
    "this .csv file is really an Excel workbook": "tệp .csv này thực ra là một sổ tính Excel",
    "cannot decode the file": "không đọc được bảng mã của tệp",
    "not a text (CSV) file": "không phải tệp văn bản (CSV)",
    "the sheet is empty": "trang tính trống",
    "missing column": "thiếu cột",
    "no header row found": "không tìm thấy dòng tiêu đề",
    "the title names another year": "tiêu đề ghi một năm khác",
    "not a number": "không phải là số",
    "missing value": "thiếu giá trị",
    "missing unit name": "thiếu tên đơn vị",
    "unknown unit": "đơn vị không có trong danh mục",
    "ambiguous unit name": "tên đơn vị trùng với nhiều đơn vị",
    "duplicate unit": "đơn vị bị lặp",
    "unknown tier": "xếp loại không hợp lệ",
    "no data rows below the header": "không có dòng dữ liệu dưới dòng tiêu đề",
}


def vietnamese_problem(problem: str) -> str | None:
    """The Vietnamese wording of a standard problem (PROBLEMS_VI), or None."""
    for prefix, vi in PROBLEMS_VI.items():
        if problem.startswith(prefix):
            return vi
    return None


def _safe_file(file: str | Path) -> str:
    """The file as the project names it: never an absolute server path."""
    p = Path(file)
    if not p.is_absolute():
        return str(file)
    from .paths import Paths

    return Paths.from_root().rel(p)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_FOUND else text[: MAX_FOUND - 1] + "…"


@dataclass
class InputError(Exception):
    """Bad raw input. The pipeline stops, exits 2, and writes nothing."""

    file: str | Path
    problem: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    found: object = None
    expected: object = None
    problem_vi: str | None = None  # default: PROBLEMS_VI, else the English text
    expected_vi: str | None = None  # default: the English text
    found_vi: object = None  # the found value as Vietnamese writes it (default: `found`)

    def __post_init__(self) -> None:
        self.file = _safe_file(self.file)
        if self.problem_vi is None:
            self.problem_vi = vietnamese_problem(self.problem) or self.problem
        if self.expected_vi is None and self.expected is not None:
            self.expected_vi = str(self.expected)
        super().__init__(str(self))

    # -- rendering ----------------------------------------------------------------------
    def where(self, lang: str = "en") -> str:
        sheet, row, column = (
            ("trang tính", "dòng", "cột") if lang == "vi" else ("sheet", "row", "column")
        )
        parts = [str(self.file)]
        if self.sheet:
            parts.append(f"{sheet} '{self.sheet}'")
        if self.row is not None:
            parts.append(f"{row} {self.row}")
        if self.column:
            parts.append(f"{column} '{self.column}'")
        return ", ".join(parts)

    def found_text(self, lang: str = "en") -> str | None:
        found = self.found_vi if lang == "vi" and self.found_vi is not None else self.found
        if found is None:
            return None
        if isinstance(found, (list, tuple)):  # a header row: each heading cut, 20 at most
            items = [_cut(str(x))[:40] for x in found[:20]]
            return repr(items) + (" …" if len(found) > 20 else "")
        return _cut(repr(found))

    def line(self, lang: str = "en") -> str:
        """The message in one language (one line)."""
        vi = lang == "vi"
        msg = f"{self.where(lang)}: {self.problem_vi if vi else self.problem}"
        found = self.found_text(lang)
        if found is not None:
            msg += f"; {'giá trị gặp' if vi else 'found'} {found}"
        if self.expected is not None:
            msg += f"; {'giá trị cần' if vi else 'expected'} {self.expected_vi if vi else self.expected}"
        return msg

    def __str__(self) -> str:
        return f"{self.line('vi')}\n{self.line('en')}"

    def to_dict(self) -> dict:
        return {
            "file": str(self.file),
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "problem": self.problem,
            "found": None
            if self.found is None
            else self.found_text()
            if isinstance(self.found, (list, tuple))
            else _cut(str(self.found)),
            "expected": None if self.expected is None else str(self.expected),
            "problem_vi": self.problem_vi,
            "expected_vi": self.expected_vi,
            "message": {"vi": self.line("vi"), "en": self.line("en")},
        }
