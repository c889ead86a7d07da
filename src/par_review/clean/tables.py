"""Cleaning: data/raw/<year>/ (as received) -> data/processed/<year>/ (tidy, documented).

Raw tables: `provincial.(xlsx|csv)`, `commune.(xlsx|csv)`, optionally
`satisfaction.(xlsx|csv)`, plus the province's national results in
`data/raw/national/national_indices.csv`.

Processed tables (UTF-8 CSV, one row per unit):
- provincial.csv, commune.csv: year, level, unit_id, unit_name, group, district, score,
  area_<id> (one per configured area), tier, raw_name, source_file, source_row
- satisfaction.csv: year, unit_id, unit_name, group, respondents, satisfaction_pct,
  target_pct, raw_name, source_file, source_row
- national_indices.csv: index, year, value, unit, rank, rank_of, basis, source_url
  (the rows up to the report year)

Any problem raises InputError naming file, sheet, row, column, the value found and the
value expected; nothing is written then (tables are staged and swapped in together).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import ProvinceConfig, load_config
from ..errors import InputError
from ..fsutil import swap_dir
from ..paths import Paths
from ..rawdata.rawio import Grid, cell_text, is_blank_row, match_header, parse_number, read_grid
from ..rawdata.registry import MatchError, Registry, load_registry
from ..textnorm import loose_key, name_key, nfc

UNIT_LEVELS = ("provincial", "commune")
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


def unit_columns(cfg: ProvinceConfig, level: str) -> list[str]:
    """The documented column order of a processed unit table."""
    return BASE_COLUMNS + [a.column for a in cfg.areas(level)] + TRAILING_COLUMNS


@dataclass
class Header:
    row_index: int  # index in grid.rows of the (last) header row
    columns: dict[str, int]  # field -> column index
    labels: list[str]  # the header text of every column, as read


def find_raw_file(paths: Paths, year: int, stem: str, required: bool = True) -> Path | None:
    folder = paths.raw_year(year)
    candidates = sorted(p for p in folder.glob(f"{stem}.*") if p.is_file())
    found = [p for p in candidates if p.suffix.lower() in {".xlsx", ".xlsm", ".csv"}]
    if not found and candidates:
        raise InputError(
            paths.rel(candidates[0]),
            "unsupported file type",
            found=", ".join(p.name for p in candidates),
            expected=f"{stem}.xlsx or {stem}.csv (save .xls or .ods files as .xlsx)",
        )
    if len(found) > 1:
        raise InputError(
            paths.rel(folder),
            f"two files for the '{stem}' table",
            found=[p.name for p in found],
            expected=f"exactly one {stem}.xlsx or {stem}.csv",
        )
    if not found:
        if required:
            raise InputError(
                paths.rel(folder / f"{stem}.xlsx"),
                "file not found",
                expected=f"{stem}.xlsx or {stem}.csv in {paths.rel(folder)}",
            )
        return None
    return found[0]


def locate_header(
    grid: Grid, fields: dict[str, list[str]], required: list[str], year: int
) -> Header:
    """Find the header row below the title block; merge a second header row (area names
    under a merged 'Điểm theo lĩnh vực' cell) into it. Checks the year in the title."""
    if all(is_blank_row(r) for r in grid.rows):
        raise InputError(
            grid.file, "the sheet is empty", sheet=grid.sheet, expected="a table of units"
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
                expected=f"a column headed {' / '.join(repr(a) for a in fields[f][:4])}",
            )
        _check_title_year(grid, i, year)
        last = i + 1 if two_rows else i
        nxt_row = grid.rows[last + 1] if last + 1 < len(grid.rows) else []
        j = columns["unit_name"]
        if j < len(nxt_row) and _COLUMN_NUMBER.fullmatch(cell_text(nxt_row[j])):
            last += 1  # the column-numbering row "A | B | 1 | 2 | ..." or "(1) | (2) | ..."
        return Header(last, columns, labels)
    seen = [" · ".join(cell_text(c) for c in r if cell_text(c))[:60] for r in grid.rows[:40]]
    raise InputError(
        grid.file,
        "no header row found",
        sheet=grid.sheet,
        row=1,
        found=" | ".join([t for t in seen if t][:3]) or None,
        expected=f"a row with a column headed {' / '.join(repr(a) for a in name_aliases[:3])}",
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
            expected=f"a table for the year {year} (the folder data/raw/{year}/)",
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


def _number(
    row, j, grid: Grid, r: int, header: Header, expected: str, required: bool = True
) -> float | None:
    raw = row[j] if j < len(row) else None
    try:
        v = parse_number(raw)
    except ValueError:
        raise InputError(
            grid.file,
            "not a number",
            sheet=grid.sheet,
            row=grid.row_numbers[r],
            column=header.labels[j],
            found=cell_text(raw),
            expected=expected,
        ) from None
    if v is None and required:
        raise InputError(
            grid.file,
            "missing value",
            sheet=grid.sheet,
            row=grid.row_numbers[r],
            column=header.labels[j],
            found="",
            expected=expected,
        )
    return v


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
        )
    seen[unit.unit_id] = grid.row_numbers[r]


def parse_unit_table(
    grid: Grid,
    cfg: ProvinceConfig,
    reg: Registry,
    level: str,
    year: int,
    registry_file: str = "the unit registry",
) -> pd.DataFrame:
    areas = cfg.areas(level)
    fields = _field_aliases(cfg)
    for a in areas:
        fields[a.column] = [
            a.labels["vi"],
            *a.labels.values(),
            *cfg.data.get("area_aliases", {}).get(a.id, []),
        ]
    required = ["unit_name", "score", "tier", *[a.column for a in areas]]
    header = locate_header(grid, fields, required, year)
    tiers = cfg.tier_lookup()
    tier_labels = " / ".join(t.label("vi") for t in cfg.tiers)
    total_labels = cfg.total_row_labels()
    value_fields = ["score", "tier", *[a.column for a in areas]]
    records, seen = [], {}
    c = header.columns
    for r in range(header.row_index + 1, len(grid.rows)):
        row = grid.rows[r]
        kind = _row_kind(row, header, total_labels, value_fields)
        if kind != "data":
            continue
        name = cell_text(row[c["unit_name"]]) if c["unit_name"] < len(row) else ""
        rown = grid.row_numbers[r]
        if not name:
            raise InputError(
                grid.file,
                "missing unit name",
                sheet=grid.sheet,
                row=rown,
                column=header.labels[c["unit_name"]],
                found="",
                expected="the unit's name",
            )
        district = (
            cell_text(row[c["district"]]) if "district" in c and c["district"] < len(row) else None
        )
        unit = _match(reg, name, level, year, district, grid, r, header, registry_file)
        _claim(seen, unit, name, grid, r, header)
        score = _number(row, c["score"], grid, r, header, "a score in % such as 85,32")
        tier_raw = cell_text(row[c["tier"]]) if c["tier"] < len(row) else ""
        tier = tiers.get(loose_key(tier_raw))
        if tier is None:
            raise InputError(
                grid.file,
                "unknown tier",
                sheet=grid.sheet,
                row=rown,
                column=header.labels[c["tier"]],
                found=tier_raw,
                expected=f"one of {tier_labels}",
            )
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
            rec[a.column] = _number(
                row, c[a.column], grid, r, header, f"points for this area (0 to {a.max:g})"
            )
        rec.update(tier=tier, raw_name=name, source_file=str(grid.file), source_row=rown)
        records.append(rec)
    if not records:
        raise InputError(
            grid.file,
            "no data rows below the header",
            sheet=grid.sheet,
            row=grid.row_numbers[header.row_index],
            expected="one row per unit",
        )
    return pd.DataFrame.from_records(records, columns=unit_columns(cfg, level))


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
    records, seen = [], {}
    c = header.columns
    for r in range(header.row_index + 1, len(grid.rows)):
        row = grid.rows[r]
        if _row_kind(row, header, cfg.total_row_labels(), ["satisfaction"]) != "data":
            continue
        name = cell_text(row[c["unit_name"]]) if c["unit_name"] < len(row) else ""
        if not name:
            raise InputError(
                grid.file,
                "missing unit name",
                sheet=grid.sheet,
                row=grid.row_numbers[r],
                column=header.labels[c["unit_name"]],
                found="",
                expected="the unit's name",
            )
        unit = _match(reg, name, "provincial", year, None, grid, r, header, registry_file)
        _claim(seen, unit, name, grid, r, header)
        pct = _number(
            row, c["satisfaction"], grid, r, header, "a satisfaction index in % such as 82,77"
        )
        resp = (
            _number(row, c["respondents"], grid, r, header, "a count", required=False)
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
            expected="one row per unit",
        )
    df = pd.DataFrame.from_records(records, columns=SATISFACTION_COLUMNS)
    df["respondents"] = df["respondents"].astype("Int64")
    return df


def read_national(paths: Paths, year: int) -> pd.DataFrame:
    path = paths.national_raw
    if not path.exists():
        return pd.DataFrame(columns=NATIONAL_COLUMNS)
    df = pd.read_csv(path, dtype={"index": str})
    missing = [c for c in NATIONAL_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            paths.rel(path),
            "missing column",
            column=missing[0],
            found=list(df.columns),
            expected=f"columns {NATIONAL_COLUMNS}",
        )
    df = df[NATIONAL_COLUMNS]
    return df[df["year"] <= year].sort_values(["index", "year"]).reset_index(drop=True)


@dataclass
class CleanResult:
    year: int
    tables: dict[str, pd.DataFrame]
    inputs: dict[str, str]  # table -> raw file (relative)


def clean_year(
    year: int, paths: Paths | None = None, province: str | None = None, write: bool = True
) -> CleanResult:
    """Clean one year's raw tables. Writes data/processed/<year>/ only if all succeed."""
    paths = (paths or Paths.from_root()).of(province)
    province = paths.province
    cfg = load_config(province, paths)
    reg = load_registry(cfg.dir)
    reg_file = paths.rel(cfg.dir / "units.csv")
    tables: dict[str, pd.DataFrame] = {}
    inputs: dict[str, str] = {}
    if not paths.raw_year(year).is_dir():
        raise InputError(
            paths.rel(paths.raw_year(year)),
            "no raw data folder for this year",
            expected=f"a folder {paths.rel(paths.raw_year(year))}/ with provincial and commune tables",
        )
    for level in UNIT_LEVELS:
        stem = cfg.levels[level].get("input", level)
        f = find_raw_file(paths, year, stem)
        grid = read_grid(f, paths.rel(f))
        tables[level] = parse_unit_table(grid, cfg, reg, level, year, reg_file)
        inputs[level] = paths.rel(f)
    f = find_raw_file(paths, year, "satisfaction", required=False)
    if f is not None:
        tables["satisfaction"] = parse_satisfaction_table(
            read_grid(f, paths.rel(f)), cfg, reg, year, reg_file
        )
        inputs["satisfaction"] = paths.rel(f)
    tables["national_indices"] = read_national(paths, year)
    if paths.national_raw.exists():
        inputs["national_indices"] = paths.rel(paths.national_raw)
    if write:
        write_processed(paths, year, tables)
    return CleanResult(year, tables, inputs)


def write_processed(paths: Paths, year: int, tables: dict[str, pd.DataFrame]) -> Path:
    target = paths.processed_year(year)
    paths.processed.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{year}.staging-", dir=paths.processed))
    try:
        for name, df in tables.items():
            df.to_csv(
                staged / f"{name}.csv", index=False, lineterminator="\n", float_format="%.10g"
            )
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
