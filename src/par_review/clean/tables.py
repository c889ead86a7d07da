"""Cleaning: data/raw/<province>/<year>/ (as received) -> data/processed/<province>/<year>/
(tidy, documented).

Raw tables: one per level of the year (`cfg.levels_for(year)`; the file is the level's
`input` stem, e.g. `provincial.(xlsx|csv)`, `commune.(xlsx|csv)`), optionally
`satisfaction.(xlsx|csv)`, plus the province's national results in
`data/raw/<province>/national/national_indices.csv`.

Processed tables (UTF-8 CSV, one row per unit):
- <level id>.csv (provincial.csv, commune.csv, ...): year, level, unit_id, unit_name, group,
  district, score, area_<id> (one per configured area; none when no areas are configured),
  tier, raw_name, source_file, source_row. The tier column of the raw file is optional when
  score bands are configured: the tier is then derived from the score, and where the file
  has one it must agree with the band.
- satisfaction.csv: year, unit_id, unit_name, group, respondents, satisfaction_pct,
  target_pct, raw_name, source_file, source_row
- national_indices.csv: index, year, value, unit, rank, rank_of, basis, source_url
  (the rows up to the report year)

Any problem raises InputError naming file, sheet, row, column, the value found and the
value expected (in Vietnamese and English); nothing is written then (tables are staged and
swapped in together). Checked here, at the cell: scores within 0-100, area points within the
area's maximum, a total points column (where there is one) against the sum of the area
points, satisfaction indices within 0-100, no thousands separators in percentages,
the tier against the configured band, the district against the registry, formulas with no
saved value, and the number of units against the registry's roster of the year. A raw file
that is a link leading outside the project is refused, never read.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import ConfigError, ProvinceConfig, load_config
from ..errors import InputError
from ..fmt import fmt_num
from ..fsutil import same_files, swap_dir
from ..paths import Paths
from ..rawdata.rawio import (
    Grid,
    GroupedNumber,
    cell_text,
    describe_content,
    ensure_inside,
    is_blank_row,
    match_header,
    parse_number,
    read_grid,
)
from ..rawdata.registry import MatchError, Registry, load_registry
from ..textnorm import loose_key, name_key, nfc

UNIT_LEVELS = ("provincial", "commune")  # the demo's levels; code iterates cfg.levels_for(year)
BASE_COLUMNS = ["year", "level", "unit_id", "unit_name", "group", "district", "score"]
TRAILING_COLUMNS = ["tier", "raw_name", "source_file", "source_row"]
SATISFACTION_COLUMNS = [
    "year",
    "unit_id",
    "unit_name",
    "group",
    "respondents",
    "satisfaction_pct",
    "target_pct",
    "raw_name",
    "source_file",
    "source_row",
]
NATIONAL_COLUMNS = ["index", "year", "value", "unit", "rank", "rank_of", "basis", "source_url"]
# "năm 2022" in the title block; not the issue date "ngày 15 tháng 01 năm 2023"
_YEAR_IN_TITLE = re.compile(r"(?<!thang \d\d )(?<!thang \d )\bnam (\d{4})\b")
_STT_NUMBER = re.compile(r"\d+\.?")
_COLUMN_NUMBER = re.compile(r"\(?[0-9A-Za-z]{1,2}\)?")  # a unit name is never this short
_ROMAN_OR_LETTER = re.compile(r"^([ivxlcdm]+|[a-z])\.?$")


def level_areas(cfg: ProvinceConfig, level: str, year: int | None = None) -> list:
    """The areas of a level (in force in `year`, when the config knows areas by year)."""
    if year is not None:
        try:
            return list(cfg.areas(level, year))  # type: ignore[call-arg]
        except TypeError:
            pass
    return list(cfg.areas(level))


def unit_columns(cfg: ProvinceConfig, level: str, year: int | None = None) -> list[str]:
    """The documented column order of a processed unit table."""
    return BASE_COLUMNS + [a.column for a in level_areas(cfg, level, year)] + TRAILING_COLUMNS


def _bands_configured(cfg: ProvinceConfig, year: int, level: str) -> bool:
    try:
        return bool(cfg.bands(year, level))
    except (ConfigError, KeyError, TypeError, ValueError):
        return False


def _num(x: float, lang: str) -> str:
    return f"{x:g}" if lang == "en" else fmt_num(x, "vi", strip_zeros=True, grouping=False)


@dataclass
class Header:
    row_index: int  # index in grid.rows of the (last) header row
    columns: dict[str, int]  # field -> column index
    labels: list[str]  # the header text of every column, as read


def _shown(paths: Paths, p: Path) -> str:
    """A raw file as messages name it: its place in the project, never where a link leads."""
    try:
        return p.relative_to(paths.root).as_posix()
    except ValueError:
        return paths.rel(p)


def find_raw_file(paths: Paths, year: int, stem: str, required: bool = True) -> Path | None:
    folder = paths.raw_year(year)
    candidates = sorted(p for p in folder.glob(f"{stem}.*") if p.is_file() or p.is_symlink())
    found = [p for p in candidates if p.suffix.lower() in {".xlsx", ".xlsm", ".csv"}]
    if not found and candidates:
        raise InputError(
            _shown(paths, candidates[0]),
            "unsupported file type",
            found=", ".join(p.name for p in candidates),
            expected=f"{stem}.xlsx or {stem}.csv (save .xls or .ods files as .xlsx)",
            expected_vi=f"{stem}.xlsx hoặc {stem}.csv (lưu tệp .xls hoặc .ods thành .xlsx)",
        )
    if len(found) > 1:
        raise InputError(
            _shown(paths, folder),
            f"two files for the '{stem}' table",
            found=[p.name for p in found],
            expected=f"exactly one {stem}.xlsx or {stem}.csv",
            problem_vi=f"có hai tệp cho bảng '{stem}'",
            expected_vi=f"đúng một tệp {stem}.xlsx hoặc {stem}.csv",
        )
    if not found:
        if required:
            raise InputError(
                _shown(paths, folder / f"{stem}.xlsx"),
                "file not found",
                expected=f"{stem}.xlsx or {stem}.csv in {_shown(paths, folder)}",
                expected_vi=f"{stem}.xlsx hoặc {stem}.csv trong {_shown(paths, folder)}",
            )
        return None
    f = found[0]
    ensure_inside(f, paths.root, _shown(paths, f))
    return f


def locate_header(
    grid: Grid, fields: dict[str, list[str]], required: list[str], year: int
) -> Header:
    """Find the header row below the title block; merge a second header row (area names
    under a merged 'Điểm theo lĩnh vực' cell) into it. Checks the year in the title."""
    if all(is_blank_row(r) for r in grid.rows):
        raise InputError(
            grid.file,
            "the sheet is empty",
            sheet=grid.sheet,
            expected="a table of units",
            expected_vi="một bảng các đơn vị",
        )
    name_aliases = fields["unit_name"]
    for i, row in enumerate(grid.rows[:40]):
        if not any(match_header(c, name_aliases) for c in row):
            continue
        head = [cell_text(c) for c in row]
        nxt = [cell_text(c) for c in grid.rows[i + 1]] if i + 1 < len(grid.rows) else []
        sub_fields = {
            f
            for f, al in fields.items()
            if f != "unit_name" and any(match_header(c, al) for c in nxt)
        }
        two_rows = bool(sub_fields) and not any(
            parse_number(c) is not None for c in nxt if _is_num(c)
        )
        labels = [
            (nxt[j] if two_rows and j < len(nxt) and nxt[j] else h) for j, h in enumerate(head)
        ]
        if two_rows:
            labels += nxt[len(head) :]
        columns: dict[str, int] = {}
        for f, aliases in fields.items():
            for j, lab in enumerate(labels):
                if match_header(lab, aliases):
                    columns.setdefault(f, j)
        missing = [f for f in required if f not in columns]
        if missing:
            f = missing[0]
            raise InputError(
                grid.file,
                "missing column",
                sheet=grid.sheet,
                row=grid.row_numbers[i],
                column=fields[f][0],
                found=[lab for lab in labels if lab],
                expected=f"a column headed {_headings(fields[f], 4)}",
                expected_vi=f"một cột có tiêu đề {_headings(fields[f], 4)}",
            )
        _check_title_year(grid, i, year)
        last = i + 1 if two_rows else i
        nxt_row = grid.rows[last + 1] if last + 1 < len(grid.rows) else []
        j = columns["unit_name"]
        if j < len(nxt_row) and _COLUMN_NUMBER.fullmatch(cell_text(nxt_row[j])):
            last += 1  # the column-numbering row "A | B | 1 | 2 | ..." or "(1) | (2) | ..."
        return Header(last, columns, labels)
    # one cell only (a message may be published): the first text of the sheet, and where
    first = next(
        (
            (k, j, cell_text(c))
            for k, r in enumerate(grid.rows[:40])
            for j, c in enumerate(r)
            if cell_text(c)
        ),
        None,
    )
    heads = _headings(name_aliases, 3)
    raise InputError(
        grid.file,
        "no header row found",
        sheet=grid.sheet,
        row=grid.row_numbers[first[0]] if first else 1,
        column=_column_letter(first[1]) if first else None,
        found=first[2] if first else None,
        expected=f"a row with a column headed {heads}",
        expected_vi=f"một dòng có cột tiêu đề {heads}",
    )


def _is_num(c: object) -> bool:
    try:
        return parse_number(c) is not None
    except ValueError:
        return False


def _check_title_year(grid: Grid, header_index: int, year: int) -> None:
    """The title block must not name only another year ("NĂM 2021" in a 2022 folder). A
    title that names the year too ("năm 2022, so với năm 2021") and the issue date
    ("ngày 15 tháng 01 năm 2023") are fine."""
    mentions = []
    for k in range(header_index):
        for j, c in enumerate(grid.rows[k]):
            for m in _YEAR_IN_TITLE.finditer(loose_key(c)):
                mentions.append((int(m.group(1)), k, j, c))
    if mentions and all(y != year for y, *_ in mentions):
        _, k, j, c = mentions[0]
        raise InputError(
            grid.file,
            "the title names another year",
            sheet=grid.sheet,
            row=grid.row_numbers[k],
            column=_column_letter(j),
            found=cell_text(c),
            expected=f"a table for the year {year} (the folder of {year})",
            expected_vi=f"một bảng của năm {year} (thư mục năm {year})",
        )


def _column_letter(j: int) -> str:
    """0-based column index -> the letter a spreadsheet shows (0 -> A, 26 -> AA)."""
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _is_total_label(name: str, total_labels: list[str]) -> bool:
    """'Tổng cộng', 'Điểm trung bình:', 'TONG CONG' are totals; 'Công an tỉnh' is not a
    'Cộng' line (the prefix must match with its diacritics, as a whole word)."""
    nk, lk = name_key(name), loose_key(name)
    for t in total_labels:
        tk = name_key(t)
        if lk == loose_key(t) or re.match(re.escape(tk) + r"(\W|$)", nk):
            return True
    return False


def _row_kind(
    row: list[object], header: Header, total_labels: list[str], value_fields: list[str]
) -> str:
    """'blank', 'total', 'section' or 'data'."""
    if is_blank_row(row):
        return "blank"
    cols = header.columns

    def get(f: str) -> str:
        j = cols.get(f)
        return cell_text(row[j]) if j is not None and j < len(row) else ""

    stt, name = get("stt"), get("unit_name")
    stt_is_int = bool(_STT_NUMBER.fullmatch(stt))
    if stt and "stt" in cols and is_blank_row([c for j, c in enumerate(row) if j != cols["stt"]]):
        return "blank"  # a numbered but empty template row
    if not stt_is_int and _is_total_label(name, total_labels):
        return "total"
    values = [get(f) for f in value_fields]
    if not stt_is_int and not any(values):
        return "section"  # "I. SỞ, BAN, NGÀNH", a district heading, ...
    if not name and not stt_is_int:
        return "total"  # an unlabelled sum line
    return "data"


@dataclass(frozen=True)
class Expect:
    """What a number cell must hold: the words (en, vi) and, for a range check, its bounds."""

    en: str
    vi: str
    lo: float | None = None
    hi: float | None = None
    percent: bool = False  # a percentage or points: no thousands separator
    what_en: str = "value"
    what_vi: str = "giá trị"


def _unit_name(grid: Grid, r: int, header: Header) -> str:
    """The unit's name in row r, or an error naming the cell (a formula without a saved
    value says so)."""
    col = header.columns["unit_name"]
    row = grid.rows[r]
    name = cell_text(row[col]) if col < len(row) else ""
    if not name:
        _no_formula(grid, r, col, header)
        raise _cell_error(
            grid,
            r,
            header,
            col,
            problem="missing unit name",
            found="",
            expected="the unit's name",
            expected_vi="tên của đơn vị",
        )
    return name


def _headings(aliases: list[str], n: int) -> str:
    """The first `n` different headings a column is known by, for a message (the config's
    label and an alias that differ only in case or Unicode form are one heading)."""
    seen: dict[str, str] = {}
    for a in aliases:
        seen.setdefault(name_key(a), nfc(a))
    return " / ".join(repr(a) for a in list(seen.values())[:n])


def _found(raw: object) -> dict:
    """A cell's value for a message: its text, and for a number read from an Excel cell its
    Vietnamese writing too (10.01 is '10,01' there; a CSV cell is quoted as written)."""
    out = {"found": cell_text(raw)}
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        out["found_vi"] = out["found"].replace(".", ",")
    return out


def _cell_error(grid: Grid, r: int, header: Header, j: int, **kw) -> InputError:
    return InputError(
        grid.file, sheet=grid.sheet, row=grid.row_numbers[r], column=header.labels[j], **kw
    )


def _number(
    row, j, grid: Grid, r: int, header: Header, expect: Expect, required: bool = True
) -> float | None:
    raw = row[j] if j < len(row) else None
    try:
        v = parse_number(raw, grouping=not expect.percent)
    except GroupedNumber:
        raise _cell_error(
            grid,
            r,
            header,
            j,
            problem="a number with a thousands separator, which a percentage never has "
            "(which mark is the decimal one cannot be told)",
            problem_vi="số có dấu phân cách hàng nghìn, điều không thể có ở một tỷ lệ phần trăm "
            "(không xác định được dấu nào là dấu thập phân)",
            **_found(raw),
            expected=expect.en,
            expected_vi=expect.vi,
        ) from None
    except ValueError:
        raise _cell_error(
            grid,
            r,
            header,
            j,
            problem="not a number",
            **_found(raw),
            expected=expect.en,
            expected_vi=expect.vi,
        ) from None
    if v is None and required:
        _no_formula(grid, r, j, header)
        raise _cell_error(
            grid,
            r,
            header,
            j,
            problem="missing value",
            found="",
            expected=expect.en,
            expected_vi=expect.vi,
        )
    if v is not None and (
        (expect.lo is not None and v < expect.lo) or (expect.hi is not None and v > expect.hi)
    ):
        above = expect.hi is not None and v > expect.hi
        raise _cell_error(
            grid,
            r,
            header,
            j,
            problem=f"{expect.what_en} {'above' if above else 'below'} "
            f"{_num(expect.hi if above else expect.lo, 'en')}",
            problem_vi=f"{expect.what_vi} {'lớn hơn' if above else 'nhỏ hơn'} "
            f"{_num(expect.hi if above else expect.lo, 'vi')}",
            **_found(raw),
            expected=expect.en,
            expected_vi=expect.vi,
        )
    return v


def _no_formula(grid: Grid, r: int, j: int, header: Header) -> None:
    """An empty cell that is a formula with no saved value says so."""
    formula = grid.formula(r, j)
    if formula:
        raise _cell_error(
            grid,
            r,
            header,
            j,
            problem="a formula with no saved value (the workbook was not calculated and saved "
            "by Excel or LibreOffice)",
            problem_vi="ô chứa công thức chưa có giá trị được lưu (sổ tính chưa được tính và "
            "lưu bằng Excel hoặc LibreOffice)",
            found=formula,
            expected="open the file in Excel or LibreOffice and save it, or paste the values",
            expected_vi="mở tệp bằng Excel hoặc LibreOffice rồi lưu lại, hoặc dán giá trị",
        )


def _score_expect() -> Expect:
    return Expect(
        "a score in % such as 85,32 (0 to 100)",
        "chỉ số (%) như 85,32 (từ 0 đến 100)",
        0,
        100,
        True,
        "score",
        "chỉ số",
    )


# a unit's total points (the appendix's "Tổng điểm") against the sum of its area points:
# the tolerance of the gate's check of the areas against the score (validation/suites.py)
POINTS_TOLERANCE = 0.01


def _points_expect(areas: list) -> Expect:
    top = sum(a.max for a in areas)
    return Expect(
        f"the unit's total points (0 to {_num(top, 'en')})",
        f"tổng điểm của đơn vị (từ 0 đến {_num(top, 'vi')})",
        0,
        top,
        True,
        "total points",
        "tổng điểm",
    )


def _check_points(
    row, j, grid: Grid, r: int, header: Header, areas: list, rec: dict, expect: Expect
) -> None:
    """The total points column, where the table has one: within 0 and the areas' maxima
    (`expect`, `_points_expect`), and the sum of the unit's area points (within
    POINTS_TOLERANCE). Before, it was never read: a total of 120 out of 100 was published."""
    points = _number(row, j, grid, r, header, expect)
    total = round(sum(rec[a.column] for a in areas), 6)
    if abs(points - total) > POINTS_TOLERANCE + 1e-9:
        raise _cell_error(
            grid,
            r,
            header,
            j,
            problem="the total points are not the sum of the area points",
            problem_vi="tổng điểm không bằng tổng điểm các lĩnh vực",
            **_found(row[j]),
            expected=f"the sum of the area points, {_num(total, 'en')} (within ±0.01)",
            expected_vi=f"tổng điểm các lĩnh vực, {_num(total, 'vi')} (sai số ±0,01)",
        )


def _area_expect(area) -> Expect:
    return Expect(
        f"points for this area (0 to {_num(area.max, 'en')})",
        f"điểm của lĩnh vực này (từ 0 đến {_num(area.max, 'vi')})",
        0,
        area.max,
        True,
        "points",
        "điểm",
    )


def _field_aliases(cfg: ProvinceConfig) -> dict[str, list[str]]:
    return cfg.column_aliases()


def _match(
    reg: Registry,
    name: str,
    level: str,
    year: int,
    district: str | None,
    grid: Grid,
    r: int,
    header: Header,
    registry_file: str,
):
    try:
        return reg.match(name, level, year, district)
    except MatchError as exc:
        hint = f"; close matches: {', '.join(exc.candidates)}" if exc.candidates else ""
        raise InputError(
            grid.file,
            exc.problem,
            sheet=grid.sheet,
            row=grid.row_numbers[r],
            column=header.labels[header.columns["unit_name"]],
            found=name,
            expected=f"a {level} unit of {registry_file} valid in {year}{hint}",
            expected_vi=f"một đơn vị cấp '{level}' trong {registry_file} còn hiệu lực năm {year}"
            + (f"; tên gần giống: {', '.join(exc.candidates)}" if exc.candidates else ""),
        ) from None


def _claim(seen: dict[str, int], unit, name: str, grid: Grid, r: int, header: Header) -> None:
    """Record that row r holds `unit`; a second row for the same unit is an error."""
    if unit.unit_id in seen:
        raise InputError(
            grid.file,
            "duplicate unit",
            sheet=grid.sheet,
            row=grid.row_numbers[r],
            column=header.labels[header.columns["unit_name"]],
            found=name,
            expected=f"one row per unit ({unit.name} is already at row {seen[unit.unit_id]})",
            expected_vi=f"mỗi đơn vị một dòng ({unit.name} đã có ở dòng {seen[unit.unit_id]})",
        )
    seen[unit.unit_id] = grid.row_numbers[r]


def _district_key(text: str) -> str:
    """A district name without its kind ("Huyện Cam Lâm", "H. Cam Lâm", "CAM LÂM")."""
    k = name_key(text)
    for prefix in ("thành phố ", "thị xã ", "huyện ", "quận ", "tp.", "tx.", "h.", "q."):
        if k.startswith(prefix):
            return k[len(prefix) :].strip()
    return k


def _check_district(unit, district: str | None, grid: Grid, r: int, header: Header) -> None:
    """The district written in the file must be the unit's district in the registry."""
    if not district or not unit.district:
        return
    if _district_key(district) != _district_key(unit.district):
        raise _cell_error(
            grid,
            r,
            header,
            header.columns["district"],
            problem=f"the district contradicts the unit registry ({unit.name} is in "
            f"{unit.district})",
            problem_vi=f"huyện không khớp với danh mục đơn vị ({unit.name} thuộc {unit.district})",
            found=district,
            expected=f"{unit.district} (the registry's district of {unit.name}), or correct "
            "the unit name",
            expected_vi=f"{unit.district} (huyện của {unit.name} trong danh mục), hoặc sửa tên "
            "đơn vị",
        )


def _check_band(
    cfg: ProvinceConfig,
    tier: str,
    score: float,
    year: int,
    level: str,
    grid: Grid,
    r: int,
    header: Header,
    tier_raw: str,
) -> None:
    """A tier written in the file must be the tier of the score's band."""
    band_tier = cfg.tier_for_score(score, year, level)
    if band_tier == tier:
        return
    band = next(b for b in cfg.bands(year, level) if b.tier == band_tier)
    lab = cfg.tier(band_tier).label("vi")

    def rng(lang: str) -> str:
        lo = f"≥ {_num(band.min_score, lang)}"
        if band.max_score == float("inf"):
            return lo
        return f"{lo} {'and' if lang == 'en' else 'và'} < {_num(band.max_score, lang)}"

    raise _cell_error(
        grid,
        r,
        header,
        header.columns["tier"],
        problem=f"the tier contradicts the score band (a score of {_num(score, 'en')} is {lab} "
        f"in {year})",
        problem_vi=f"xếp loại không khớp với khung điểm (chỉ số {_num(score, 'vi')} là {lab} "
        f"năm {year})",
        found=tier_raw,
        expected=f"{lab} (score {rng('en')}, the band of {year}, {level}), or correct the score",
        expected_vi=f"{lab} (chỉ số {rng('vi')}, khung điểm năm {year}, "
        f"{cfg.level_label(level, 'vi', year)}), hoặc "
        "sửa chỉ số",
    )


def _check_roster(
    records: list[dict],
    reg: Registry,
    level: str,
    year: int,
    grid: Grid,
    header: Header,
    registry_file: str,
    level_vi: str,
) -> None:
    """The table must hold every unit the registry lists for the year and level (`level_vi`:
    its name in Vietnamese, from the config)."""
    roster = reg.roster(year, level)
    have = {rec["unit_id"] for rec in records}
    missing = [u for u in roster if u.unit_id not in have]
    if not missing:
        return
    names = ", ".join(u.name for u in missing[:5]) + (" …" if len(missing) > 5 else "")
    raise InputError(
        grid.file,
        f"the table has {len(records)} unit{'s' if len(records) != 1 else ''}; the registry "
        f"lists {len(roster)} {level} units for {year} (missing: {names})",
        sheet=grid.sheet,
        row=grid.row_numbers[header.row_index],
        found=f"{len(records)} unit{'s' if len(records) != 1 else ''}",
        found_vi=f"{len(records)} đơn vị",
        expected=f"{len(roster)} units, one row each ({registry_file}, valid in {year})",
        problem_vi=f"bảng có {len(records)} đơn vị; danh mục có {len(roster)} "
        f"{level_vi} năm {year} (thiếu: {names})",
        expected_vi=f"{len(roster)} đơn vị, mỗi đơn vị một dòng ({registry_file}, còn hiệu lực "
        f"năm {year})",
    )


def _unit_fields(cfg: ProvinceConfig, areas: list) -> dict[str, list[str]]:
    fields = _field_aliases(cfg)
    for a in areas:
        fields[a.column] = [
            a.labels["vi"],
            *a.labels.values(),
            *cfg.data.get("area_aliases", {}).get(a.id, []),
        ]
    return fields


def header_test(cfg: ProvinceConfig):
    """Does a sheet hold a table (a header row naming the unit column)? For picking the data
    sheet of a workbook whose first sheet is a cover or notes."""
    aliases = _field_aliases(cfg).get("unit_name", [])

    def test(rows: list[list[object]]) -> bool:
        return any(match_header(c, aliases) for r in rows[:40] for c in r)

    return test


def parse_unit_table(
    grid: Grid,
    cfg: ProvinceConfig,
    reg: Registry,
    level: str,
    year: int,
    registry_file: str = "the unit registry",
    *,
    check_roster: bool = False,
) -> pd.DataFrame:
    """One level's table. `check_roster` (what clean_year does): every unit the registry
    lists for the year and level must have its row."""
    areas = level_areas(cfg, level, year)
    fields = _unit_fields(cfg, areas)
    banded = _bands_configured(cfg, year, level)
    # the tier may be left out when bands are configured (it is derived from the score),
    # unless the province's files must carry the tier it decided (`required_columns`)
    tier_optional = banded and "tier" not in cfg.required_columns()
    required = [
        "unit_name",
        "score",
        *([] if tier_optional else ["tier"]),
        *[a.column for a in areas],
    ]
    header = locate_header(grid, fields, required, year)
    tiers = cfg.tier_lookup()
    tier_labels = " / ".join(t.label("vi") for t in cfg.tiers)
    total_labels = cfg.total_row_labels()
    c = header.columns
    has_tier = "tier" in c
    value_fields = ["score", *(["tier"] if has_tier else []), *[a.column for a in areas]]
    score_expect = _score_expect()
    area_expect = {a.column: _area_expect(a) for a in areas}
    points_expect = _points_expect(areas) if "points" in c and areas else None
    records, seen = [], {}
    for r in range(header.row_index + 1, len(grid.rows)):
        row = grid.rows[r]
        kind = _row_kind(row, header, total_labels, value_fields)
        if kind != "data":
            continue
        name = _unit_name(grid, r, header)
        district = (
            cell_text(row[c["district"]]) if "district" in c and c["district"] < len(row) else None
        )
        unit = _match(reg, name, level, year, district, grid, r, header, registry_file)
        _claim(seen, unit, name, grid, r, header)
        _check_district(unit, district, grid, r, header)
        score = _number(row, c["score"], grid, r, header, score_expect)
        if has_tier:
            tier_raw = cell_text(row[c["tier"]]) if c["tier"] < len(row) else ""
            tier = tiers.get(loose_key(tier_raw))
            if tier is None:
                if not tier_raw:
                    _no_formula(grid, r, c["tier"], header)
                raise _cell_error(
                    grid,
                    r,
                    header,
                    c["tier"],
                    problem="unknown tier",
                    found=tier_raw,
                    expected=f"one of {tier_labels}",
                    expected_vi=f"một trong {tier_labels}",
                )
            if banded:
                _check_band(cfg, tier, score, year, level, grid, r, header, tier_raw)
        else:
            tier = cfg.tier_for_score(score, year, level)
        rec = {
            "year": year,
            "level": level,
            "unit_id": unit.unit_id,
            "unit_name": unit.name,
            "group": unit.group,
            "district": unit.district,
            "score": score,
        }
        for a in areas:
            rec[a.column] = _number(row, c[a.column], grid, r, header, area_expect[a.column])
        if points_expect is not None:
            _check_points(row, c["points"], grid, r, header, areas, rec, points_expect)
        rec.update(
            tier=tier, raw_name=name, source_file=str(grid.file), source_row=grid.row_numbers[r]
        )
        records.append(rec)
    if not records:
        raise InputError(
            grid.file,
            "no data rows below the header",
            sheet=grid.sheet,
            row=grid.row_numbers[header.row_index],
            expected="one row per unit",
            expected_vi="mỗi đơn vị một dòng",
        )
    if check_roster:
        _check_roster(
            records,
            reg,
            level,
            year,
            grid,
            header,
            registry_file,
            cfg.level_label(level, "vi", year),
        )
    return pd.DataFrame.from_records(records, columns=unit_columns(cfg, level, year))


def satisfaction_level(cfg: ProvinceConfig, year: int) -> str:
    """The level whose units the satisfaction survey covers (config `satisfaction.level`;
    default: provincial, else the first level of the year)."""
    levels = list(cfg.levels_for(year))
    lv = (cfg.data.get("satisfaction") or {}).get("level")
    if lv:
        return lv
    return "provincial" if "provincial" in levels or not levels else levels[0]


def parse_satisfaction_table(
    grid: Grid,
    cfg: ProvinceConfig,
    reg: Registry,
    year: int,
    registry_file: str = "the unit registry",
) -> pd.DataFrame:
    fields = _field_aliases(cfg)
    header = locate_header(grid, fields, ["unit_name", "satisfaction"], year)
    target = (cfg.targets(year).get("satisfaction") or {}).get("value")
    level = satisfaction_level(cfg, year)
    pct_expect = Expect(
        "a satisfaction index in % such as 82,77 (0 to 100)",
        "chỉ số hài lòng (%) như 82,77 (từ 0 đến 100)",
        0,
        100,
        True,
        "satisfaction index",
        "chỉ số hài lòng",
    )
    count_expect = Expect("a count", "một số lượng")
    records, seen = [], {}
    c = header.columns
    for r in range(header.row_index + 1, len(grid.rows)):
        row = grid.rows[r]
        if _row_kind(row, header, cfg.total_row_labels(), ["satisfaction"]) != "data":
            continue
        name = _unit_name(grid, r, header)
        unit = _match(reg, name, level, year, None, grid, r, header, registry_file)
        _claim(seen, unit, name, grid, r, header)
        pct = _number(row, c["satisfaction"], grid, r, header, pct_expect)
        resp = (
            _number(row, c["respondents"], grid, r, header, count_expect, required=False)
            if "respondents" in c
            else None
        )
        records.append(
            {
                "year": year,
                "unit_id": unit.unit_id,
                "unit_name": unit.name,
                "group": unit.group,
                "respondents": None if resp is None else int(resp),
                "satisfaction_pct": pct,
                "target_pct": target,
                "raw_name": name,
                "source_file": str(grid.file),
                "source_row": grid.row_numbers[r],
            }
        )
    if not records:
        raise InputError(
            grid.file,
            "no data rows below the header",
            sheet=grid.sheet,
            row=grid.row_numbers[header.row_index],
            expected="one row per unit",
            expected_vi="mỗi đơn vị một dòng",
        )
    df = pd.DataFrame.from_records(records, columns=SATISFACTION_COLUMNS)
    df["respondents"] = df["respondents"].astype("Int64")
    return df


def read_national(paths: Paths, year: int) -> pd.DataFrame:
    path = paths.national_raw
    if not (path.exists() or path.is_symlink()):
        return pd.DataFrame(columns=NATIONAL_COLUMNS)
    shown = _shown(paths, path)
    ensure_inside(path, paths.root, shown)
    try:
        df = pd.read_csv(path, dtype={"index": str})
    except (ValueError, UnicodeDecodeError, OSError) as exc:  # pandas' ParserError is a ValueError
        raise InputError(
            shown,
            "not a readable CSV table",
            found=describe_content(path) or type(exc).__name__,
            expected=f"a UTF-8 CSV file with the columns {', '.join(NATIONAL_COLUMNS)}",
            problem_vi="không phải bảng CSV đọc được",
            expected_vi=f"một tệp CSV mã UTF-8 với các cột {', '.join(NATIONAL_COLUMNS)}",
        ) from None
    missing = [c for c in NATIONAL_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            shown,
            "missing column",
            column=missing[0],
            found=list(df.columns),
            expected=f"columns {NATIONAL_COLUMNS}",
            expected_vi=f"các cột {NATIONAL_COLUMNS}",
        )
    df = df[NATIONAL_COLUMNS]
    return df[df["year"] <= year].sort_values(["index", "year"]).reset_index(drop=True)


@dataclass
class CleanResult:
    year: int
    tables: dict[str, pd.DataFrame]
    inputs: dict[str, str]  # table -> raw file (relative)
    levels: list[str] = field(default_factory=list)  # the unit tables: the levels of the year


def clean_year(
    year: int, paths: Paths | None = None, province: str | None = None, write: bool = True
) -> CleanResult:
    """Clean one year's raw tables: one per level of the year (`cfg.levels_for(year)`), the
    satisfaction survey if there is one, the national indices. Writes
    data/processed/<province>/<year>/<level id>.csv ... only if all succeed."""
    paths = (paths or Paths.from_root()).of(province)
    province = paths.province
    cfg = load_config(province, paths)
    reg = load_registry(cfg.dir)
    reg_file = paths.rel(cfg.dir / "units.csv")
    tables: dict[str, pd.DataFrame] = {}
    inputs: dict[str, str] = {}
    folder = paths.raw_year(year)
    if not folder.is_dir():
        raise InputError(
            _shown(paths, folder),
            "no raw data folder for this year",
            expected=f"a folder {_shown(paths, folder)}/ with a table for each level",
            expected_vi=f"thư mục {_shown(paths, folder)}/ với một bảng cho mỗi cấp",
        )
    find = header_test(cfg)
    for level, spec in cfg.levels_for(year).items():
        stem = (spec or {}).get("input", level)
        f = find_raw_file(paths, year, stem)
        grid = read_grid(f, _shown(paths, f), find=find)
        tables[level] = parse_unit_table(grid, cfg, reg, level, year, reg_file, check_roster=True)
        inputs[level] = _shown(paths, f)
    f = find_raw_file(paths, year, "satisfaction", required=False)
    if f is not None:
        tables["satisfaction"] = parse_satisfaction_table(
            read_grid(f, _shown(paths, f), find=find), cfg, reg, year, reg_file
        )
        inputs["satisfaction"] = _shown(paths, f)
    tables["national_indices"] = read_national(paths, year)
    if paths.national_raw.exists():
        inputs["national_indices"] = _shown(paths, paths.national_raw)
    if write:
        write_processed(paths, year, tables)
    return CleanResult(year, tables, inputs, list(cfg.levels_for(year)))


def write_processed(paths: Paths, year: int, tables: dict[str, pd.DataFrame]) -> Path:
    target = paths.processed_year(year)
    paths.processed.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{year}.staging-", dir=paths.processed))
    try:
        for name, df in tables.items():
            df.to_csv(
                staged / f"{name}.csv", index=False, lineterminator="\n", float_format="%.10g"
            )
        # the same tables as on disk: keep the folder, mtimes included (the build knows
        # its outputs by size and mtime; a preview re-cleaning the same raw file would
        # otherwise make the next build re-check everything downstream)
        if not same_files(staged, target):
            swap_dir(staged, target)
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)
    return target


def read_processed(paths: Paths, year: int, table: str) -> pd.DataFrame:
    path = paths.processed_year(year) / f"{table}.csv"
    df = pd.read_csv(
        path,
        dtype={"unit_id": str, "district": str, "group": str, "tier": str},
        keep_default_na=False,
        na_values=[""],
    )
    for col in ("unit_name", "raw_name", "district"):
        if col in df.columns:
            df[col] = df[col].fillna("").map(nfc)
    return df
