"""Expectation suites built from the province configuration (not hard-coded), and the files
of the file-backed Great Expectations project in `validation/gx/`.

One suite per processed table and province: one per level of any year (levels are data:
`cfg.all_levels()`, e.g. `<province>-provincial`, `-commune`; a province may have one level or
three), then `-satisfaction` and `-national_indices`; one validation definition and one
checkpoint per suite. When a reorganisation changes a level's areas (its columns), the level
gets one suite per set of areas: `<province>-<level>` for the first, `<province>-<level>-from<Y>`
from year Y on (`suite_key(cfg, table, year)` says which one a year uses).
What the config fixes (columns, area maxima, tiers, groups, national indices, which tier
each band belongs to) is written into the suite. What changes with the year is a GX suite
parameter (`{"$PARAMETER": "roster_size"}`) whose value `expectation_parameters()` computes at
run time from the config and the unit registry: the year, the roster of that year and level
(unit ids, names, size), the score bands of that year and level, the satisfaction target.
So one committed suite serves every year, and a reviewer sees in it which values come from
the year.

Each expectation carries `meta`: `check` (a stable id such as `provincial.score.range`),
`severity` (`critical` stops the pipeline, `warning` only goes into the report; GX's own
`severity` field says the same), `description` and `expected` (Vietnamese and English; the
`{name}` fields of `expected` are filled with the parameters of the run).

The type of every column, the required columns' empty cells and the constant ranges (score,
areas, area sum) are, per table, one wide expectation each (`widen()`, `par_review.validation.expectations`): each column keeps its check
id, severity and texts in the wide expectation's `meta.checks`; `checks_of(suite)` lists every
check.

Two checks need a value computed from several columns; the validation view adds it as a helper
column at the end of the table (`validation_view()`): `area_sum_minus_score` = the sum of the
area scores minus the total score, rounded to 6 decimals (the check: within ±0.01).

Regenerate the project after a config change, and check it is up to date:

    python -m par_review.validation.suites --write
    python -m par_review.validation.suites --check
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from ..clean.tables import NATIONAL_COLUMNS, SATISFACTION_COLUMNS, unit_columns
from ..config import ProvinceConfig, load_config
from ..paths import Paths
from ..rawdata.registry import Registry

UNIT_TABLES = ("provincial", "commune")  # Khánh Hòa's levels; use unit_tables(cfg)
TABLES = ("provincial", "commune", "satisfaction", "national_indices")  # use tables_for(cfg)
OTHER_TABLES = ("satisfaction", "national_indices")
AREA_GAP = "area_sum_minus_score"
AREA_TOLERANCE = 0.01
INDEX_COLUMNS = {
    "provincial": ["unit_id", "unit_name"],
    "commune": ["unit_id", "unit_name"],
    "satisfaction": ["unit_id", "unit_name"],
    "national_indices": ["index", "year"],
}
DATASOURCE = "processed"
BATCH_DEFINITION = "whole_table"
GX_DIR = "gx"
_NS = uuid.UUID("6f1d7a52-6a55-4d5e-9a4e-2b1f0c3e9d10")

STR = ["str"]
INT = ["int64", "Int64"]
NUM = ["float64", "int64", "Float64", "Int64"]
NULLABLE_INT = ["int64", "Int64", "float64"]

# Readable names of the documented columns (area columns take their labels from the config).
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "year": ("năm", "year"),
    "level": ("cấp", "level"),
    "unit_id": ("mã đơn vị", "unit id"),
    "unit_name": ("tên đơn vị", "unit name"),
    "group": ("nhóm", "group"),
    "district": ("huyện", "district"),
    "score": ("Chỉ số CCHC (%)", "PAR score (%)"),
    "tier": ("xếp loại", "tier"),
    "raw_name": ("tên trong tệp gốc", "name in the raw file"),
    "source_file": ("tệp gốc", "source file"),
    "source_row": ("dòng trong tệp gốc", "row in the source file"),
    "respondents": ("số phiếu khảo sát", "respondents"),
    "satisfaction_pct": ("chỉ số hài lòng (%)", "satisfaction index (%)"),
    "target_pct": ("mục tiêu (%)", "target (%)"),
    "index": ("chỉ số", "index"),
    "value": ("giá trị", "value"),
    "unit": ("đơn vị đo", "unit of measure"),
    "rank": ("thứ hạng", "rank"),
    "rank_of": ("trên tổng số", "rank out of"),
    "basis": ("căn cứ", "basis"),
    "source_url": ("nguồn", "source"),
}


def suite_name(province: str, table: str) -> str:
    return f"{province}-{table}"


def unit_tables(cfg: ProvinceConfig, year: int | None = None) -> list[str]:
    """The unit tables (one per level): of `year`, or of every year (None)."""
    return list(cfg.levels_for(year)) if year is not None else cfg.all_levels()


def tables_for(cfg: ProvinceConfig, year: int | None = None) -> list[str]:
    """Every processed table validated for a province (in `year`, or in any year)."""
    return [*unit_tables(cfg, year), *OTHER_TABLES]


def index_columns(table: str) -> list[str]:
    return INDEX_COLUMNS.get(table, ["unit_id", "unit_name"])


def _area_periods(cfg: ProvinceConfig, level: str) -> list[int | None]:
    """The first year of each distinct set of areas of a level (None: the defaults)."""
    periods: list[int | None] = []
    last = object()
    for start in [None, *(e["from"] for e in cfg.structures)]:
        if start is not None and level not in cfg.levels_for(start):
            continue
        if start is None and level not in cfg.levels:
            continue
        sig = [(a.id, a.max, a.labels.get("vi")) for a in cfg.areas(level, start)]
        if sig != last:
            periods.append(start)
            last = sig
    return periods or [None]


def _district_years(cfg: ProvinceConfig, level: str) -> tuple | None:
    """When a level's `district` column must be filled: () every year, (operator, year) from
    or until a structure's first year, None never (or no simple rule)."""
    spans = [(None, cfg.group_by(level))] if level in cfg.levels else []
    spans += [
        (e["from"], cfg.group_by(level, e["from"]))
        for e in cfg.structures
        if level in cfg.levels_for(e["from"])
    ]
    flags = [g == "district" for _, g in spans]
    if flags and all(flags):
        return ()
    if not any(flags):
        return None
    first_off = flags.index(False)
    if first_off > 0 and not any(flags[first_off:]):
        return ("<", spans[first_off][0])  # until the districts were abolished
    first_on = flags.index(True)
    if all(flags[first_on:]) and spans[first_on][0] is not None:
        return (">=", spans[first_on][0])
    return None


def suite_key(cfg: ProvinceConfig, table: str, year: int) -> str:
    """The key of build_suites() (and suite name after `<province>-`) that validates
    `table` in `year`."""
    if table in OTHER_TABLES:
        return table
    start = None
    for p in _area_periods(cfg, table):
        if p is None or p <= int(year):
            start = p
    periods = _area_periods(cfg, table)
    return table if start is None or start == periods[0] else f"{table}-from{start}"


def stable_id(kind: str, name: str) -> str:
    """Deterministic ids, so that regenerating the project gives the same files."""
    return str(uuid.uuid5(_NS, f"{kind}/{name}"))


def _labels(cfg: ProvinceConfig, table: str, year: int | None = None) -> dict[str, tuple[str, str]]:
    out = dict(COLUMN_LABELS)
    if table in cfg.all_levels():
        for a in cfg.areas(table, year):
            out[a.column] = (f"điểm lĩnh vực “{a.label('vi')}”", f"area score “{a.label('en')}”")
    out[AREA_GAP] = ("tổng điểm các lĩnh vực trừ chỉ số", "sum of area scores minus the score")
    return out


class _SuiteBuilder:
    def __init__(
        self, cfg: ProvinceConfig, table: str, key: str | None = None, year: int | None = None
    ):
        self.cfg, self.table = cfg, table
        self.name = suite_name(cfg.id, key or table)
        self.labels = _labels(cfg, table, year)
        self.expectations: list[dict[str, Any]] = []

    def lab(self, column: str) -> tuple[str, str]:
        return self.labels.get(column, (column, column))

    def add(
        self,
        check: str,
        type_: str,
        kwargs: dict,
        severity: str,
        description: tuple[str, str],
        expected: tuple[str, str],
    ) -> None:
        check_id = f"{self.table}.{check}"
        if any(e["meta"]["check"] == check_id for e in self.expectations):
            raise ValueError(f"duplicate check id {check_id}")
        self.expectations.append(
            {
                "id": stable_id("expectation", f"{self.name}/{check_id}"),
                "type": type_,
                "kwargs": kwargs,
                "meta": {
                    "check": check_id,
                    "severity": severity,
                    "description": {"vi": description[0], "en": description[1]},
                    "expected": {"vi": expected[0], "en": expected[1]},
                },
                "severity": severity,
            }
        )

    # -- building blocks ------------------------------------------------------------
    def columns(self, columns: list[str], helpers: list[str]) -> None:
        note_vi = note_en = ""
        if helpers:
            note_vi = f" (cột phụ do bước kiểm tra thêm vào cuối: {', '.join(helpers)})"
            note_en = (
                f" (helper columns added at the end by the validation step: {', '.join(helpers)})"
            )
        self.add(
            "table.columns",
            "expect_table_columns_to_match_ordered_list",
            {"column_list": [*columns, *helpers]},
            "critical",
            (
                "Các cột và thứ tự cột đúng lược đồ đã mô tả" + note_vi,
                "The columns and their order are the documented schema" + note_en,
            ),
            (", ".join(columns), ", ".join(columns)),
        )

    def types(self, types: dict[str, list[str]]) -> None:
        for col, type_list in types.items():
            kind = (
                {"vi": "chuỗi ký tự", "en": "text"}
                if type_list == STR
                else {"vi": "số nguyên", "en": "an integer"}
                if type_list == INT
                else {"vi": "số", "en": "a number"}
            )
            vi, en = self.lab(col)
            self.add(
                f"{col}.type",
                "expect_column_values_to_be_in_type_list",
                {"column": col, "type_list": type_list},
                "critical",
                (
                    f"Cột {col} ({vi}) có kiểu {kind['vi']}",
                    f"Column {col} ({en}) holds {kind['en']}",
                ),
                (
                    f"kiểu {kind['vi']} ({' / '.join(type_list)})",
                    f"{kind['en']} ({' / '.join(type_list)})",
                ),
            )

    def not_null(
        self,
        columns: list[str],
        severity: str = "critical",
        only_years: dict[str, tuple[str, int]] | None = None,
    ) -> None:
        """`only_years`: column -> (operator, year): the column must be filled only in the
        years `year <operator> <year>` (e.g. district until the districts were abolished)."""
        for col in columns:
            vi, en = self.lab(col)
            kwargs: dict[str, Any] = {"column": col}
            when_vi = when_en = ""
            if only_years and col in only_years:
                op, year = only_years[col]
                kwargs["row_condition"] = {
                    "column": {"name": "year"},
                    "operator": op,
                    "parameter": year,
                    "type": "comparison",
                }
                when_vi = f" (các năm {op} {year})"
                when_en = f" (years {op} {year})"
            self.add(
                f"{col}.not_null",
                "expect_column_values_to_not_be_null",
                kwargs,
                severity,
                (
                    f"Cột {col} ({vi}) không được để trống{when_vi}",
                    f"Column {col} ({en}) has no empty cells{when_en}",
                ),
                ("có giá trị", "a value"),
            )

    def between(
        self,
        check: str,
        col: str,
        lo: Any,
        hi: Any,
        severity: str,
        description: tuple[str, str],
        expected: tuple[str, str],
        **extra: Any,
    ) -> None:
        kwargs: dict[str, Any] = {"column": col}
        if lo is not None:
            kwargs["min_value"] = lo
        if hi is not None:
            kwargs["max_value"] = hi
        kwargs.update(extra)
        self.add(
            check, "expect_column_values_to_be_between", kwargs, severity, description, expected
        )

    def year_equals_parameter(self) -> None:
        self.between(
            "year.equals_parameter",
            "year",
            {"$PARAMETER": "year"},
            {"$PARAMETER": "year"},
            "critical",
            ("Cột year bằng năm đang kiểm tra", "The year column equals the year being validated"),
            ("{year}", "{year}"),
        )

    def group_is_configured(self, cfg) -> None:
        # the groups of the year (a reorganisation may end some and add others)
        self.in_set(
            "group.known",
            "group",
            {"$PARAMETER": "configured_groups"},
            "critical",
            (
                "Nhóm là một nhóm đã cấu hình cho năm",
                "The group is a group configured for the year",
            ),
            ("{configured_groups}", "{configured_groups}"),
        )

    def in_set(
        self,
        check: str,
        col: str,
        values: Any,
        severity: str,
        description: tuple[str, str],
        expected: tuple[str, str],
    ) -> None:
        self.add(
            check,
            "expect_column_values_to_be_in_set",
            {"column": col, "value_set": values},
            severity,
            description,
            expected,
        )

    def unique(self, col: str) -> None:
        vi, en = self.lab(col)
        self.add(
            f"{col}.unique",
            "expect_column_values_to_be_unique",
            {"column": col},
            "critical",
            (f"Mỗi {vi} chỉ có một dòng", f"Each {en} appears on one row only"),
            ("mỗi giá trị một lần", "each value once"),
        )

    def suite(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": stable_id("suite", self.name),
            "expectations": self.expectations,
            "meta": {
                "generated_by": "python -m par_review.validation.suites --write (from config/"
                f"{self.cfg.id}/province.yml; edit the config, then regenerate)",
                "table": self.table,
                "index_columns": index_columns(self.table),
                "parameters": sorted(parameter_names(self.expectations)),
            },
            "notes": None,
        }


def parameter_names(obj: Any) -> set[str]:
    """Every `$PARAMETER` named anywhere in an expectation list or suite."""
    found: set[str] = set()
    if isinstance(obj, dict):
        if set(obj) == {"$PARAMETER"}:
            found.add(obj["$PARAMETER"])
        for v in obj.values():
            found |= parameter_names(v)
    elif isinstance(obj, list):
        for v in obj:
            found |= parameter_names(v)
    return found


def _fmt(x: float) -> str:
    return f"{x:g}"


def unit_suite(cfg: ProvinceConfig, level: str, year: int | None = None) -> dict[str, Any]:
    """The suite of a level's table; `year`: the first year of the level's areas when a
    reorganisation changed them (None: the top-level areas)."""
    key = level if year is None or year == _area_periods(cfg, level)[0] else f"{level}-from{year}"
    b = _SuiteBuilder(cfg, level, key, year)
    areas = cfg.areas(level, year)
    columns = unit_columns(cfg, level, year)
    level_vi, level_en = cfg.level_label(level, "vi"), cfg.level_label(level, "en")
    b.columns(columns, [AREA_GAP])
    b.add(
        "table.row_count",
        "expect_table_row_count_to_equal",
        {"value": {"$PARAMETER": "roster_size"}},
        "critical",
        (
            f"Số dòng bằng số {level_vi} trong danh sách đơn vị của năm",
            f"The row count equals the number of {level_en} on the year's roster",
        ),
        ("{roster_size} dòng (danh sách năm {year})", "{roster_size} rows (the {year} roster)"),
    )
    types = {c: STR for c in columns}
    for c in ("year", "source_row"):
        types[c] = INT
    types["score"] = NUM
    for a in areas:
        types[a.column] = NUM
    b.types(types)
    # district must be filled in the years the level is grouped by district (and only then)
    district_years = _district_years(cfg, level)
    required = [c for c in columns if not (c == "district" and district_years is None)]
    only = {"district": district_years} if district_years not in (None, ()) else None
    b.not_null(required, only_years=only)
    b.unique("unit_id")
    b.in_set(
        "unit_id.in_roster",
        "unit_id",
        {"$PARAMETER": "roster_unit_ids"},
        "critical",
        (
            "Mã đơn vị có trong danh mục đơn vị của năm (config/…/units.csv)",
            "The unit id is in the unit registry for the year (config/…/units.csv)",
        ),
        (
            "một trong {roster_size} mã đơn vị năm {year}",
            "one of the {roster_size} unit ids of {year}",
        ),
    )
    b.add(
        "unit_id.roster_complete",
        "expect_column_distinct_values_to_contain_set",
        {"column": "unit_id", "value_set": {"$PARAMETER": "roster_unit_ids"}},
        "critical",
        (
            f"Không thiếu đơn vị nào của danh sách năm ({level_vi})",
            f"No unit of the year's roster is missing ({level_en})",
        ),
        ("đủ {roster_size} đơn vị của năm {year}", "all {roster_size} units of {year}"),
    )
    b.year_equals_parameter()
    b.in_set(
        "level.value",
        "level",
        [level],
        "critical",
        (f"Cột level là “{level}”", f"The level column is “{level}”"),
        (level, level),
    )
    b.group_is_configured(cfg)
    b.between(
        "score.range",
        "score",
        0,
        100,
        "critical",
        ("Chỉ số CCHC nằm trong khoảng 0–100", "The PAR score lies between 0 and 100"),
        ("0 ≤ score ≤ 100", "0 ≤ score ≤ 100"),
    )
    for a in areas:
        b.between(
            f"{a.column}.range",
            a.column,
            0,
            a.max,
            "critical",
            (
                f"Điểm lĩnh vực “{a.label('vi')}” nằm trong khoảng 0–{_fmt(a.max)}",
                f"The area score “{a.label('en')}” lies between 0 and its maximum {_fmt(a.max)}",
            ),
            (f"0 ≤ {a.column} ≤ {_fmt(a.max)}", f"0 ≤ {a.column} ≤ {_fmt(a.max)}"),
        )
    b.between(
        "area_sum.total",
        AREA_GAP,
        -AREA_TOLERANCE,
        AREA_TOLERANCE,
        "critical",
        (
            "Tổng điểm các lĩnh vực bằng Chỉ số CCHC (sai số ±0,01)",
            "The area scores add up to the PAR score (within ±0.01)",
        ),
        ("chênh lệch trong khoảng ±0,01", "a difference within ±0.01"),
    )
    tier_ids = cfg.tier_ids
    b.in_set(
        "tier.known",
        "tier",
        tier_ids,
        "critical",
        ("Xếp loại là một mức đã cấu hình", "The tier is one of the configured tiers"),
        (", ".join(tier_ids), ", ".join(tier_ids)),
    )
    for i, t in enumerate(cfg.tiers):
        cond = {
            "column": {"name": "tier"},
            "operator": "==",
            "parameter": t.id,
            "type": "comparison",
        }
        lo = {"$PARAMETER": f"band_{t.id}_min"}
        if i == 0:
            b.between(
                f"tier.band.{t.id}",
                "score",
                lo,
                None,
                "critical",
                (
                    f"Đơn vị xếp loại {t.label('vi')} có chỉ số trong khung điểm {t.label('vi')} của năm",
                    f"Units rated {t.label('en')} score within that year's {t.label('en')} band",
                ),
                (
                    f"score ≥ {{band_{t.id}_min}} (khung {t.label('vi')} năm {{year}})",
                    f"score ≥ {{band_{t.id}_min}} ({t.label('en')} band of {{year}})",
                ),
                row_condition=cond,
            )
        else:
            hi = {"$PARAMETER": f"band_{t.id}_max"}
            b.between(
                f"tier.band.{t.id}",
                "score",
                lo,
                hi,
                "critical",
                (
                    f"Đơn vị xếp loại {t.label('vi')} có chỉ số trong khung điểm {t.label('vi')} của năm",
                    f"Units rated {t.label('en')} score within that year's {t.label('en')} band",
                ),
                (
                    f"{{band_{t.id}_min}} ≤ score < {{band_{t.id}_max}} (khung {t.label('vi')} năm {{year}})",
                    f"{{band_{t.id}_min}} ≤ score < {{band_{t.id}_max}} ({t.label('en')} band of {{year}})",
                ),
                strict_max=True,
                row_condition=cond,
            )
    # Warnings: worth a look, but the figures can still be reported.
    b.in_set(
        "unit_name.official",
        "unit_name",
        {"$PARAMETER": "roster_names"},
        "warning",
        (
            "Tên đơn vị là tên chính thức trong danh mục đơn vị",
            "The unit name is the official name in the unit registry",
        ),
        ("tên chính thức năm {year}", "the official name in {year}"),
    )
    b.add(
        "source_row.unique",
        "expect_compound_columns_to_be_unique",
        {"column_list": ["source_file", "source_row"]},
        "warning",
        ("Mỗi dòng của tệp gốc chỉ cho một đơn vị", "Each row of the raw file gives one unit only"),
        ("mỗi cặp (tệp, dòng) một lần", "each (file, row) pair once"),
    )
    return b.suite()


def satisfaction_suite(cfg: ProvinceConfig) -> dict[str, Any]:
    b = _SuiteBuilder(cfg, "satisfaction")
    columns = list(SATISFACTION_COLUMNS)
    b.columns(columns, [])
    types = {c: STR for c in columns}
    types.update(
        year=INT, source_row=INT, respondents=NULLABLE_INT, satisfaction_pct=NUM, target_pct=NUM
    )
    b.types(types)
    b.not_null([c for c in columns if c not in ("respondents", "target_pct")])
    b.add(
        "target_pct.present",
        "expect_column_values_to_not_be_null",
        {"column": "target_pct"},
        # a new year without a target is not a failure: the report says no target was set
        "warning",
        (
            "Có mục tiêu chỉ số hài lòng của năm (config: targets)",
            "The satisfaction target of the year is present (config: targets)",
        ),
        (
            "mục tiêu của năm: thêm {satisfaction_target_key}",
            "the year's target: add {satisfaction_target_key}",
        ),
    )
    b.unique("unit_id")
    b.in_set(
        "unit_id.in_roster",
        "unit_id",
        {"$PARAMETER": "roster_unit_ids"},
        "critical",
        (
            "Mã đơn vị là một cơ quan cấp tỉnh trong danh mục của năm",
            "The unit id is a provincial-level unit in the year's registry",
        ),
        (
            "một trong {roster_size} mã đơn vị cấp tỉnh năm {year}",
            "one of the {roster_size} provincial unit ids of {year}",
        ),
    )
    b.year_equals_parameter()
    b.group_is_configured(cfg)
    b.between(
        "satisfaction_pct.range",
        "satisfaction_pct",
        0,
        100,
        "critical",
        ("Chỉ số hài lòng nằm trong khoảng 0–100", "The satisfaction index lies between 0 and 100"),
        ("0 ≤ satisfaction_pct ≤ 100", "0 ≤ satisfaction_pct ≤ 100"),
    )
    b.in_set(
        "target_pct.configured",
        "target_pct",
        {"$PARAMETER": "satisfaction_targets"},
        "critical",
        (
            "Mục tiêu bằng mục tiêu đã cấu hình cho năm",
            "The target is the one configured for the year",
        ),
        ("{satisfaction_targets}", "{satisfaction_targets}"),
    )
    b.not_null(["respondents"], severity="warning")
    b.between(
        "respondents.positive",
        "respondents",
        1,
        None,
        "warning",
        ("Số phiếu khảo sát ít nhất là 1", "At least one respondent"),
        ("respondents ≥ 1", "respondents ≥ 1"),
    )
    b.in_set(
        "unit_name.official",
        "unit_name",
        {"$PARAMETER": "roster_names"},
        "warning",
        (
            "Tên đơn vị là tên chính thức trong danh mục đơn vị",
            "The unit name is the official name in the unit registry",
        ),
        ("tên chính thức năm {year}", "the official name in {year}"),
    )
    return b.suite()


def national_suite(cfg: ProvinceConfig) -> dict[str, Any]:
    b = _SuiteBuilder(cfg, "national_indices")
    columns = list(NATIONAL_COLUMNS)
    b.columns(columns, [])
    types = {c: STR for c in columns}
    types.update(year=INT, value=NUM, rank=NUM, rank_of=NUM)
    b.types(types)
    b.not_null(["index", "year", "unit", "basis"])
    indices = sorted((cfg.data.get("national_indices") or {}).keys())
    b.in_set(
        "index.known",
        "index",
        indices,
        "critical",
        (
            "Tên chỉ số là một chỉ số quốc gia đã cấu hình",
            "The index is a configured national index",
        ),
        (", ".join(indices), ", ".join(indices))
        if indices
        else (
            "không có chỉ số nào được cấu hình (config: national_indices)",
            "none configured (config: national_indices)",
        ),
    )
    b.between(
        "year.not_after",
        "year",
        None,
        {"$PARAMETER": "year"},
        "critical",
        (
            "Không có số liệu của năm sau năm đang kiểm tra",
            "No row is later than the year being validated",
        ),
        ("year ≤ {year}", "year ≤ {year}"),
    )
    b.add(
        "index_year.unique",
        "expect_compound_columns_to_be_unique",
        {"column_list": ["index", "year"]},
        "critical",
        ("Mỗi chỉ số có một dòng mỗi năm", "One row per index and year"),
        ("mỗi cặp (chỉ số, năm) một lần", "each (index, year) pair once"),
    )
    b.in_set(
        "unit.known",
        "unit",
        ["pct", "points"],
        "warning",
        ("Đơn vị đo là pct hoặc points", "The unit of measure is pct or points"),
        ("pct, points", "pct, points"),
    )
    b.between(
        "value.range",
        "value",
        0,
        100,
        "warning",
        ("Giá trị chỉ số nằm trong khoảng 0–100", "The index value lies between 0 and 100"),
        ("0 ≤ value ≤ 100", "0 ≤ value ≤ 100"),
    )
    b.between(
        "rank.positive",
        "rank",
        1,
        None,
        "warning",
        ("Thứ hạng ít nhất là 1", "The rank is at least 1"),
        ("rank ≥ 1", "rank ≥ 1"),
    )
    b.add(
        "rank.within_rank_of",
        "expect_column_pair_values_a_to_be_greater_than_b",
        {
            "column_A": "rank_of",
            "column_B": "rank",
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
        "warning",
        ("Thứ hạng không lớn hơn tổng số tỉnh", "The rank is not above the number ranked"),
        ("rank ≤ rank_of", "rank ≤ rank_of"),
    )
    return b.suite()


def build_suites(cfg: ProvinceConfig, overrides: dict | None = None) -> dict[str, dict[str, Any]]:
    """table -> suite (a dict in GX's JSON form, one expectation per check), with the
    reviewer's overrides applied (validation/overrides.yml: `severity: {check:
    critical|warning}`, `disabled: [check]`). The committed files fold each family of
    per-column checks into one expectation (`widen()`, in `project_files()`)."""
    suites: dict[str, dict[str, Any]] = {}
    for level in cfg.all_levels():  # levels are data: one suite per level (and set of areas)
        periods = _area_periods(cfg, level)
        for start in periods:
            key = level if start == periods[0] else f"{level}-from{start}"
            suites[key] = unit_suite(cfg, level, start)
    suites["satisfaction"] = satisfaction_suite(cfg)
    suites["national_indices"] = national_suite(cfg)
    overrides = overrides or {}
    severity = dict(overrides.get("severity") or {})
    disabled = set(overrides.get("disabled") or [])
    known = {e["meta"]["check"] for s in suites.values() for e in s["expectations"]}
    unknown = sorted((set(severity) | disabled) - known)
    if unknown:
        raise ValueError(f"validation/overrides.yml names unknown checks: {', '.join(unknown)}")
    bad = {k: v for k, v in severity.items() if v not in ("critical", "warning")}
    if bad:
        raise ValueError(
            f"validation/overrides.yml: severity must be critical or warning, got {bad}"
        )
    for suite in suites.values():
        suite["expectations"] = [
            e for e in suite["expectations"] if e["meta"]["check"] not in disabled
        ]
        for e in suite["expectations"]:
            if e["meta"]["check"] in severity:
                e["meta"]["severity"] = e["severity"] = severity[e["meta"]["check"]]
        suite["meta"]["parameters"] = sorted(parameter_names(suite["expectations"]))
    return suites


# -- one wide expectation per family of per-column checks -----------------------------------
# the per-column GX expectation -> the table-level one of .expectations that applies its rule
# to a list of columns (GX's cost is per expectation, not per column: see expectations.py)
WIDE = {
    "expect_column_values_to_be_in_type_list": "expect_columns_to_be_in_type_lists",
    "expect_column_values_to_not_be_null": "expect_columns_to_not_be_null",
    "expect_column_values_to_be_between": "expect_columns_values_to_be_between",
}
_BETWEEN_KEYS = {"column", "min_value", "max_value", "strict_min", "strict_max", "row_condition"}
BOUNDS = "bounds"  # the suite parameter holding the run's numbers (expectation_parameters)


def _foldable(e: dict) -> bool:
    """Whether a per-column expectation can join a wide one (a range: only its bounds may be
    suite parameters)."""
    if e["type"] != "expect_column_values_to_be_between":
        return e["type"] in WIDE
    k = e["kwargs"]
    others = {key: v for key, v in k.items() if key not in ("min_value", "max_value")}
    return set(k) <= _BETWEEN_KEYS and not parameter_names(others)


PER_COLUMN_OF_WIDE = {v: k for k, v in WIDE.items()}
_WIDE_TEXT = {
    "expect_columns_to_be_in_type_lists": (
        "type",
        ("Mỗi cột có đúng kiểu dữ liệu", "Every column holds its type"),
        ("kiểu của từng cột (meta.checks)", "each column's type (meta.checks)"),
    ),
    "expect_columns_to_not_be_null": (
        "not_null",
        ("Các cột bắt buộc không có ô trống", "The required columns have no empty cells"),
        ("có giá trị ở từng cột (meta.checks)", "a value in each column (meta.checks)"),
    ),
    "expect_columns_values_to_be_between": (
        "range",
        (
            "Giá trị của từng cột nằm trong khoảng cho phép",
            "Each column's values lie within their range",
        ),
        ("khoảng của từng cột (meta.checks)", "each column's range (meta.checks)"),
    ),
}


def widen(name: str, table: str, expectations: list[dict]) -> list[dict]:
    """Fold each run of two or more consecutive per-column expectations of one family (the
    type of every column; no empty cell; a constant range) and one severity into one
    table-level expectation.
    Every check stays: its id, severity, column, kwargs and bilingual texts are in the wide
    expectation's `meta.checks` (in the order of the run), and the gate reports each failed
    column as that check. The suite keeps its order, so the findings keep theirs."""
    out: list[dict] = []
    i = 0
    n_wide: dict[str, int] = {}
    while i < len(expectations):
        e = expectations[i]
        wide = WIDE.get(e["type"]) if _foldable(e) else None
        j = i + 1
        while (
            wide
            and j < len(expectations)
            and expectations[j]["type"] == e["type"]
            and expectations[j]["severity"] == e["severity"]
            and _foldable(expectations[j])
        ):
            j += 1
        if not wide or j - i < 2:
            out.append(e)
            i += 1
            continue
        run = expectations[i:j]
        kind, description, expected = _WIDE_TEXT[wide]
        n_wide[kind] = n_wide.get(kind, 0) + 1
        check = f"{table}.columns.{kind}" + (f".{n_wide[kind]}" if n_wide[kind] > 1 else "")
        out.append(
            {
                "id": stable_id("expectation", f"{name}/{check}"),
                "type": wide,
                "kwargs": {
                    "columns": [dict(x["kwargs"]) for x in run],
                    "index_columns": index_columns(table),
                    **(
                        {BOUNDS: {"$PARAMETER": BOUNDS} if parameter_names(run) else {}}
                        if wide == "expect_columns_values_to_be_between"
                        else {}
                    ),
                },
                "meta": {
                    "check": check,
                    "severity": e["severity"],
                    "description": {"vi": description[0], "en": description[1]},
                    "expected": {"vi": expected[0], "en": expected[1]},
                    "checks": [
                        {
                            "check": x["meta"]["check"],
                            "column": x["kwargs"]["column"],
                            "expectation": x["type"],
                            "description": x["meta"]["description"],
                            "expected": x["meta"]["expected"],
                        }
                        for x in run
                    ],
                },
                "severity": e["severity"],
            }
        )
        i = j
    return out


def checks_of(suite: dict) -> list[dict]:
    """Every check of a suite, in order, as {check, severity, expectation, column, kwargs,
    description, expected}: an expectation's own, or each column of a wide one (`kwargs`:
    that column's, as its own GX expectation would have them)."""
    out = []
    for e in suite["expectations"]:
        meta = e["meta"]
        subs = meta.get("checks")
        if not subs:
            out.append(
                {
                    "check": meta["check"],
                    "expectation": e["type"],
                    "column": e["kwargs"].get("column"),
                    "kwargs": e["kwargs"],
                    "description": meta["description"],
                    "expected": meta["expected"],
                    "severity": meta["severity"],
                }
            )
            continue
        for sub, kwargs in zip(subs, e["kwargs"]["columns"], strict=True):
            out.append({**sub, "kwargs": kwargs, "severity": meta["severity"]})
    return out


OVERRIDES_FILE = "overrides.yml"


def load_overrides(paths: Paths) -> dict:
    p = paths.validation / OVERRIDES_FILE
    if not p.is_file():
        return {}
    import yaml

    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a mapping with `severity` and `disabled`")
    return data


# -- run time: parameters and views -------------------------------------------------------
def expectation_parameters(
    table: str, year: int, cfg: ProvinceConfig, reg: Registry
) -> dict[str, Any]:
    """The values of the suite's `$PARAMETER`s for one year."""
    params: dict[str, Any] = {"year": int(year)}
    table = table.split("-from")[0]  # a suite key of a later set of areas: the level
    levels = list(cfg.levels_for(year))
    is_level = table in cfg.all_levels()
    if is_level or table == "satisfaction":
        # satisfaction: the provincial-level units (or the first level of a one-level province)
        level = table if is_level else ("provincial" if "provincial" in levels else levels[0])
        roster = reg.roster(year, level)
        params["roster_unit_ids"] = sorted(u.unit_id for u in roster)
        params["roster_names"] = sorted({u.name for u in roster})
        params["roster_size"] = len(roster)
        params["configured_groups"] = sorted(cfg.groups_for(year))
    if is_level:
        for band in cfg.bands(year, table):
            params[f"band_{band.tier}_min"] = band.min_score
            if band.max_score != float("inf"):
                params[f"band_{band.tier}_max"] = band.max_score
    if table == "satisfaction":
        target = (cfg.targets(year).get("satisfaction") or {}).get("value")
        params["satisfaction_targets"] = [float(target)] if target is not None else []
        params["satisfaction_target_key"] = (
            f"targets.{int(year)}.satisfaction.value ({cfg.rel_source})"
        )
    # the numbers, for the wide range expectation's bounds that are parameters (widen())
    params[BOUNDS] = {
        k: v for k, v in params.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    return params


def validation_view(table: str, df: pd.DataFrame, cfg: ProvinceConfig) -> pd.DataFrame:
    """The table as validated: a copy with the helper columns appended. Index columns that are
    missing are added empty, so that the other checks still run and the schema check says
    what is wrong."""
    view = df.copy()
    level = table.split("-from")[0]
    if level in cfg.all_levels():
        year = _year_of(view)
        areas = [a.column for a in cfg.areas(level, year)]
        num = {
            c: pd.to_numeric(view[c], errors="coerce") if c in view.columns else None
            for c in [*areas, "score"]
        }
        if all(v is not None for v in num.values()):
            total = sum(num[c] for c in areas)
            view[AREA_GAP] = (total - num["score"]).round(6)
        else:
            view[AREA_GAP] = float("nan")
    for col in index_columns(level):
        if col not in view.columns:
            view[col] = None
    return view.reset_index(drop=True)


def _year_of(df: pd.DataFrame) -> int | None:
    years = pd.to_numeric(df["year"], errors="coerce").dropna() if "year" in df else []
    return int(years.iloc[0]) if len(years) else None


# -- the GX project files --------------------------------------------------------------------
GX_YML_HEAD = """\
# Great Expectations project of par-review: the validation gate (see docs/validation.md).
# GENERATED by `python -m par_review.validation.suites --write` from config/<province>/;
# change the config (or the generator) and regenerate; tests check that this file, the suites,
# validation definitions and checkpoints are what the config generates.
config_version: 4
# No usage statistics: analytics off here and in code (GX_ANALYTICS_ENABLED=false).
analytics_enabled: false
data_context_id: {context_id}
config_variables_file_path: uncommitted/config_variables.yml
plugins_directory: plugins/
# Quiet runs: no progress bars.
progress_bars:
  globally: false
  metric_calculations: false

stores:
  # suppress_store_backend_id: GX would otherwise write an id file into these folders.
  expectations_store:
    class_name: ExpectationsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: expectations/
  # Validation results are kept in memory: par_review writes a summary (validation.json) and
  # Data Docs into the year's work folder; nothing is written under validation/ at run time.
  validation_results_store:
    class_name: ValidationResultsStore
    store_backend:
      class_name: InMemoryStoreBackend
  checkpoint_store:
    class_name: CheckpointStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: checkpoints/
  validation_definition_store:
    class_name: ValidationDefinitionStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: validation_definitions/

expectations_store_name: expectations_store
validation_results_store_name: validation_results_store
checkpoint_store_name: checkpoint_store

# The year's Data Docs are built by par_review.validation.datadocs with this site's settings
# into <work folder>/validation/ (base_directory is replaced), then made to work offline.
data_docs_sites:
  par_review:
    class_name: SiteBuilder
    show_how_to_buttons: false
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/data_docs/par_review/
    site_index_builder:
      class_name: DefaultSiteIndexBuilder

# The processed tables are handed over as pandas dataframes at run time.
fluent_datasources:
  {datasource}:
    type: pandas
    id: {datasource_id}
    assets:
"""


def _gx_yml(tables: list[str] | None = None) -> str:
    text = GX_YML_HEAD.format(
        context_id=stable_id("context", "par-review"),
        datasource=DATASOURCE,
        datasource_id=stable_id("datasource", DATASOURCE),
    )
    for table in tables or TABLES:
        text += (
            f"      {table}:\n"
            f"        type: dataframe\n"
            f"        id: {stable_id('asset', table)}\n"
            f"        batch_metadata: {{}}\n"
            f"        batch_definitions:\n"
            f"          {BATCH_DEFINITION}:\n"
            f"            id: {stable_id('batch_definition', table)}\n"
            f"            partitioner:\n"
        )
    return text


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def province_ids(paths: Paths) -> list[str]:
    if not paths.config_dir.is_dir():
        return []
    return sorted(p.parent.name for p in paths.config_dir.glob("*/province.yml"))


def project_files(paths: Paths) -> dict[str, str]:
    """Relative path under validation/gx/ -> file text, for every configured province."""
    files: dict[str, str] = {}
    levels: list[str] = []  # the unit tables of every province, in first-seen order
    for province in province_ids(paths):
        cfg = load_config(province, paths)
        levels += [lv for lv in cfg.all_levels() if lv not in levels]
        for suite in build_suites(cfg, load_overrides(paths)).values():
            name = suite["name"]
            table = suite["meta"]["table"]
            # as GX runs it: each family of per-column checks as one wide expectation
            wide = widen(name, table, suite["expectations"])
            meta = {**suite["meta"], "parameters": sorted(parameter_names(wide))}
            suite = {**suite, "expectations": wide, "meta": meta}
            files[f"expectations/{name}.json"] = _json(suite)
            files[f"validation_definitions/{name}.json"] = _json(
                {
                    "data": {
                        "asset": {"id": stable_id("asset", table), "name": table},
                        "batch_definition": {
                            "id": stable_id("batch_definition", table),
                            "name": BATCH_DEFINITION,
                        },
                        "datasource": {
                            "id": stable_id("datasource", DATASOURCE),
                            "name": DATASOURCE,
                        },
                    },
                    "id": stable_id("validation_definition", name),
                    "name": name,
                    "suite": {"id": suite["id"], "name": name},
                }
            )
            files[f"checkpoints/{name}.json"] = _json(
                {
                    "actions": [],
                    "id": stable_id("checkpoint", name),
                    "name": name,
                    "result_format": {
                        "result_format": "COMPLETE",
                        "unexpected_index_column_names": index_columns(table),
                        "partial_unexpected_count": 20,
                    },
                    "validation_definitions": [
                        {"id": stable_id("validation_definition", name), "name": name}
                    ],
                }
            )
    files["great_expectations.yml"] = _gx_yml([*levels, *OTHER_TABLES] if levels else None)
    return dict(sorted(files.items(), key=lambda kv: kv[0] != "great_expectations.yml"))


GENERATED_DIRS = ("expectations", "validation_definitions", "checkpoints")


def _existing(gx_dir: Path) -> dict[str, str]:
    out = {}
    for d in GENERATED_DIRS:
        for p in sorted((gx_dir / d).glob("*.json")):
            out[f"{d}/{p.name}"] = p.read_text(encoding="utf-8")
    yml = gx_dir / "great_expectations.yml"
    if yml.is_file():
        out["great_expectations.yml"] = yml.read_text(encoding="utf-8")
    return out


def check_project(paths: Paths) -> list[str]:
    """Differences between validation/gx/ and what the config generates (empty: up to date)."""
    want = project_files(paths)
    have = _existing(paths.validation / GX_DIR)
    problems = [f"missing: {k}" for k in sorted(set(want) - set(have))]
    problems += [f"not generated by the config (stale): {k}" for k in sorted(set(have) - set(want))]
    problems += [
        f"differs from the config: {k}" for k in sorted(set(want) & set(have)) if want[k] != have[k]
    ]
    return problems


def write_project(paths: Paths) -> list[Path]:
    """(Re)write the generated files of validation/gx/ and remove stale ones."""
    gx_dir = paths.validation / GX_DIR
    want = project_files(paths)
    written = []
    for rel in sorted(set(_existing(gx_dir)) - set(want)):
        (gx_dir / rel).unlink()
    for rel, text in sorted(want.items()):
        p = gx_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
            written.append(p)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Generate the GX project in validation/gx/ from the config."
    )
    ap.add_argument("--root", default=None, help="project root (default: this checkout)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--write", action="store_true", help="(re)write the suites, definitions and checkpoints"
    )
    g.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if validation/gx/ is not what the config generates",
    )
    args = ap.parse_args(argv)
    paths = Paths.from_root(args.root)
    if args.write:
        for p in write_project(paths):
            print(f"wrote {p.relative_to(paths.root)}")
        return 0
    problems = check_project(paths)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
