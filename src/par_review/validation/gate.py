"""The validation gate: Great Expectations 1.x checks the processed tables of a year before
anything is reported from them.

    report = validate_year(2022)      # writes <work>/2022/validation.json and validation/ (Data Docs)
    print(report.summary_text())      # Vietnamese with English alongside
    gate(report)                      # raises ValidationFailed on any critical failure

A failure names what failed: the check, the unit, the value, the raw file and row the value
came from (the processed tables carry `source_file` and `source_row`), and where the Data
Docs are. A year with a satisfaction table but no satisfaction target in the config is a
warning that names the key to add, never a failure (the report then says no target was set).
The tables of a year are its levels (`cfg.levels_for(year)`), then satisfaction and the
national indices.

The suites, validation definitions and checkpoints are the file-backed GX project in
`validation/gx/`, generated from the config (`par_review.validation.suites`). Year-dependent
values (the year, the roster, the score bands, the satisfaction target) are GX suite
parameters passed at run time. All tables of a year are validated with one GX context, and
the context is kept for the life of the process (one per project root).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..clean.tables import read_processed
from ..config import ProvinceConfig, load_config
from ..fsutil import write_text_atomic
from ..paths import Paths
from ..rawdata.registry import Registry, load_registry
from . import suites as _suites
from .suites import (
    GX_DIR,
    INDEX_COLUMNS,
    TABLES,
    expectation_parameters,
    suite_name,
    validation_view,
)

# Analytics off in code as well as in great_expectations.yml; must be set before GX is imported.
os.environ["GX_ANALYTICS_ENABLED"] = "false"

SEVERITIES = ("critical", "warning")
MAX_UNITS_LISTED = 50  # per failed expectation in validation.json: enough to find the problem
VALIDATION_JSON = "validation.json"
DOCS_DIR = "validation"
SCHEMA_VERSION = 1
log = logging.getLogger(__name__)

_CONTEXTS: dict[Path, Any] = {}


class ValidationSetupError(RuntimeError):
    """The GX project is missing or broken (not a data problem)."""


class ValidationFailed(Exception):
    """A year failed a critical expectation. `.report` holds the details."""

    def __init__(self, report: ValidationReport):
        self.report = report
        # the first line says what failed (a log or status line often keeps only that one)
        super().__init__(report.headline() + "\n" + report.summary_text())


# -- the GX context ------------------------------------------------------------------------------
def get_context(paths: Paths | None = None):
    """The file-backed GX context of `validation/gx/` (one per project root and process)."""
    paths = paths or Paths.from_root()
    root = paths.validation.resolve()
    ctx = _CONTEXTS.get(root)
    if ctx is not None:
        return ctx
    if not (root / GX_DIR / "great_expectations.yml").is_file():
        raise ValidationSetupError(
            f"{paths.rel(root / GX_DIR / 'great_expectations.yml')} not found: the GX project "
            "is missing "
            "(regenerate it with `python -m par_review.validation.suites --write`)"
        )
    for name in ("great_expectations", "great_expectations._docs_decorators"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import great_expectations as gx

    ctx = gx.get_context(mode="file", project_root_dir=str(root))
    _CONTEXTS[root] = ctx
    return ctx


# -- the report ----------------------------------------------------------------------------------
@dataclass
class ValidationReport:
    year: int
    province: str
    failures: list[dict] = field(default_factory=list)  # critical failures: they stop the year
    warnings: list[dict] = field(default_factory=list)  # warning failures: reported, no stop
    tables: dict[str, dict] = field(default_factory=dict)
    suites_sha256: str = ""
    data_docs: str | None = None  # relative to the folder of validation.json
    seconds: float = 0.0  # wall time of validation + Data Docs, GX import excluded (not in to_dict)
    data_docs_at: str | None = (
        None  # where they were written, from the project root (not in to_dict)
    )

    @property
    def success(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        """JSON-safe, deterministic (no timestamps, no timings)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "year": self.year,
            "province": self.province,
            "success": self.success,
            "status": "passed" if self.success else "failed",
            "n_critical": len(self.failures),
            "n_failures": len(self.failures),
            "n_warnings": len(self.warnings),
            "failures": self.failures,
            "warnings": self.warnings,
            "tables": {k: self.tables[k] for k in sorted(self.tables, key=_table_order)},
            "suites_sha256": self.suites_sha256,
            "data_docs": self.data_docs,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"

    def summary_text(self) -> str:
        n_checks = sum(t.get("expectations", 0) for t in self.tables.values())
        n_tables = sum(1 for t in self.tables.values() if t.get("status") == "validated")
        if self.success:
            head = (
                f"Kiểm tra dữ liệu năm {self.year} ({self.province}): ĐẠT — {n_tables} bảng, {n_checks} phép kiểm tra,"
                f" {len(self.warnings)} cảnh báo.\n"
                f"Data validation {self.year} ({self.province}): PASSED — {n_tables} tables, {n_checks} checks,"
                f" {len(self.warnings)} warning(s)."
            )
        else:
            head = (
                f"Kiểm tra dữ liệu năm {self.year} ({self.province}): KHÔNG ĐẠT — {len(self.failures)} lỗi nghiêm trọng,"
                f" {len(self.warnings)} cảnh báo. Không lập báo cáo từ dữ liệu này.\n"
                f"Data validation {self.year} ({self.province}): FAILED — {len(self.failures)} critical failure(s),"
                f" {len(self.warnings)} warning(s). Nothing is reported from this data."
            )
        lines = [head]
        for f in self.failures + self.warnings:
            lines.append("")
            lines.extend(_finding_lines(f))
        if self.data_docs:
            at = f" ({self.data_docs_at})" if self.data_docs_at else ""
            lines += [
                "",
                f"Chi tiết từng phép kiểm tra (Data Docs) / every check in detail (Data Docs): "
                f"{self.data_docs}{at}",
            ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary_text()

    def headline(self) -> str:
        """One line naming the first critical failure: the check, the unit, the value, the
        raw file and row, how many more, and where the Data Docs are."""
        if self.success:
            return f"ĐẠT / PASSED {self.year} ({self.province})"
        f = self.failures[0]
        parts = [f"KHÔNG ĐẠT / FAILED {self.year} ({self.province}): {f['check']}"]
        unit = next(iter(f.get("units") or []), None)
        if unit is not None:
            parts.append(
                f"{_unit_label(unit, f['table'])}: giá trị / found {_show(unit.get('value'))}"
                + _source(unit)
            )
        elif f.get("missing_units"):
            parts.append(
                f"{_unit_label(f['missing_units'][0], f['table'])}: thiếu / missing"
                + (f" (+{len(f['missing_units']) - 1})" if len(f["missing_units"]) > 1 else "")
            )
        elif f.get("found") is not None:
            parts.append(f"giá trị / found {_show(f['found'])}")
        more = len(self.failures) - 1
        if more:
            parts.append(f"+{more} lỗi khác / more failure(s)")
        if self.data_docs:
            parts.append(f"Data Docs: {self.data_docs_at or self.data_docs}")
        return " · ".join(parts)


def _table_order(name: str) -> tuple[int, str]:
    """The levels first (as the config lists them), then satisfaction, then national."""
    tail = ("satisfaction", "national_indices")
    if name in tail:
        return (2 + tail.index(name), name)
    if name in TABLES:
        return (0, f"{TABLES.index(name):03d}")
    return (1, name)


# -- the tables of a year (levels are data) --------------------------------------------------
def year_tables(cfg: ProvinceConfig, year: int) -> list[str]:
    """The processed tables validated for a year: its levels, satisfaction, national."""
    tables_for = getattr(_suites, "tables_for", None)
    if tables_for is not None:
        return list(tables_for(cfg, year))
    return [*cfg.levels_for(year), "satisfaction", "national_indices"]


def _suite_of(cfg: ProvinceConfig, table: str, year: int) -> str:
    key = getattr(_suites, "suite_key", None)
    return suite_name(cfg.id, key(cfg, table, year) if key else table)


def _index_columns(table: str) -> list[str]:
    f = getattr(_suites, "index_columns", None)
    return list(f(table)) if f else list(INDEX_COLUMNS.get(table, ["unit_id", "unit_name"]))


def _show(v: Any) -> str:
    if v is None:
        return "(trống / empty)"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return str(v)


def _finding_lines(f: dict) -> list[str]:
    sev = "NGHIÊM TRỌNG / CRITICAL" if f["severity"] == "critical" else "CẢNH BÁO / WARNING"
    out = [
        f"[{sev}] {f['table']} · {f['check']}",
        f"  {f['description']['vi']} / {f['description']['en']}",
        f"  Yêu cầu / expected: {f['expected']['vi']}"
        + (f" / {f['expected']['en']}" if f["expected"]["en"] != f["expected"]["vi"] else ""),
    ]
    if f.get("found") is not None:
        out.append(f"  Tìm thấy / found: {_show(f['found'])}")
    if f.get("error"):
        out.append(f"  Lỗi khi kiểm tra / error while checking: {f['error']}")
    if f.get("hint"):
        out.append(f"  Cách sửa / how to fix: {f['hint']['vi']} / {f['hint']['en']}")
    for u in f.get("units", []):
        out.append(
            "  - "
            + _unit_label(u, f["table"])
            + f": giá trị / found {_show(u.get('value'))}"
            + _source(u)
        )
    for u in f.get("missing_units", []):
        out.append("  - " + _unit_label(u, f["table"]) + ": thiếu / missing")
    for u in f.get("extra_units", []):
        out.append(
            "  - "
            + _unit_label(u, f["table"])
            + ": không có trong danh sách / not on the roster"
            + _source(u)
        )
    for u in f.get("duplicate_units", []):
        out.append(
            "  - " + _unit_label(u, f["table"]) + ": trùng dòng / duplicate row" + _source(u)
        )
    shown = len(f.get("units", []))
    if f.get("n_units", 0) > shown:
        out.append(
            f"  … và {f['n_units'] - shown} dòng khác / and {f['n_units'] - shown} more rows"
        )
    return out


def _source(u: dict) -> str:
    """' · tệp / file data/raw/…/provincial.xlsx, dòng / row 12' (where the value came from)."""
    if not u.get("source_file"):
        return ""
    rows = u.get("source_rows") or ([u["source_row"]] if u.get("source_row") is not None else [])
    at = f", dòng / row {', '.join(_show(r) for r in rows)}" if rows else ""
    return f" · tệp / file {u['source_file']}{at}"


def _unit_label(u: dict, table: str) -> str:
    if table == "national_indices":
        return f"{u.get('index')} {_show(u.get('year')) if u.get('year') is not None else None}"
    name = u.get("unit_name")
    return f"{u.get('unit_id')} ({name})" if name else f"{u.get('unit_id')}"


# -- running -------------------------------------------------------------------------------------
def read_tables(paths: Paths, year: int) -> dict[str, pd.DataFrame | None]:
    """The processed tables of a year (None for a table whose file is absent)."""
    out: dict[str, pd.DataFrame | None] = {}
    for table in year_tables(load_config(paths.province, paths), year):
        p = paths.processed_year(year) / f"{table}.csv"
        out[table] = read_processed(paths, year, table) if p.is_file() else None
    return out


def _required(table: str, cfg: ProvinceConfig, year: int) -> bool:
    if table == "satisfaction":
        return bool(cfg.targets(year).get("satisfaction"))
    return True


def suites_fingerprint(paths: Paths, province: str) -> str:
    """Of every suite of the province (one per level and set of areas, and the others)."""
    h = hashlib.sha256()
    for p in sorted((paths.validation / GX_DIR / "expectations").glob(f"{province}-*.json")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _suite_order(paths: Paths, name: str) -> dict[str, int]:
    p = paths.validation / GX_DIR / "expectations" / f"{name}.json"
    try:
        suite = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {e.get("meta", {}).get("check"): i for i, e in enumerate(suite.get("expectations", []))}


def validate_year(
    year: int,
    paths: Paths | None = None,
    province: str | None = None,
    out_dir: Path | None = None,
    *,
    docs: bool = True,
) -> ValidationReport:
    """Validate data/processed/<year>/; write out_dir/validation.json (a summary) and the Data
    Docs into out_dir/validation/ (index.html). out_dir defaults to paths.work_year(year)."""
    paths = (paths or Paths.from_root()).of(province)
    province = paths.province
    return validate_tables(
        int(year), read_tables(paths, int(year)), paths, province, out_dir, docs=docs
    )


def validate_tables(
    year: int,
    tables: dict[str, pd.DataFrame | None],
    paths: Paths | None = None,
    province: str | None = None,
    out_dir: Path | None = None,
    *,
    docs: bool = True,
    write: bool = True,
    only: Iterable[str] | None = None,
) -> ValidationReport:
    """Validate the given tables as the processed tables of `year` (what validate_year does
    after reading them; tests hand in broken copies). `only`: validate just these tables
    (the others are reported as skipped); `write=False`: write nothing."""
    paths = (paths or Paths.from_root()).of(province)
    province = paths.province
    cfg = load_config(province, paths)
    reg = load_registry(cfg.dir)
    ctx = get_context(paths)  # the first call of a process imports GX (several seconds)
    t0 = time.perf_counter()
    from great_expectations.core.run_identifier import RunIdentifier

    report = ValidationReport(
        year=year, province=province, suites_sha256=suites_fingerprint(paths, province)
    )
    run_id = RunIdentifier(run_name=f"{province}-{year}")
    result_ids: list = []
    docs_suites: list[str] = []
    no_target = not (cfg.targets(year) or {}).get("satisfaction")
    try:
        for table in year_tables(cfg, year):
            df = tables.get(table)
            if only is not None and table not in only:
                report.tables[table] = {
                    "status": "skipped",
                    "rows": 0,
                    "expectations": 0,
                    "passed": 0,
                }
                continue
            if df is None:
                if _required(table, cfg, year):
                    report.failures.append(_missing_table_finding(table, year, paths))
                    report.tables[table] = {
                        "status": "missing",
                        "rows": 0,
                        "expectations": 0,
                        "passed": 0,
                    }
                else:
                    report.tables[table] = {
                        "status": "absent",
                        "rows": 0,
                        "expectations": 0,
                        "passed": 0,
                    }
                continue
            view = validation_view(table, df, cfg)
            params = expectation_parameters(table, year, cfg, reg)
            name = _suite_of(cfg, table, year)
            checkpoint = ctx.checkpoints.get(name)
            result = checkpoint.run(
                batch_parameters={"dataframe": view}, expectation_parameters=params, run_id=run_id
            )
            docs_suites.append(name)
            order = _suite_order(paths, name)
            where = _Locator(view, table, paths)
            for vr_id, vr in result.run_results.items():
                result_ids.append(vr_id)
                n = len(vr.results)
                report.tables[table] = {
                    "status": "validated",
                    "rows": int(len(df)),
                    "expectations": n,
                    "passed": sum(1 for r in vr.results if r.success),
                }
                found = [
                    where.add_sources(_finding(evr, table, params, view, reg))
                    for evr in vr.results
                    if not evr.success
                ]
                found.sort(
                    key=lambda f: (order.get(f["check"], len(order)), f["check"])
                )  # the suite's order
                if table == "satisfaction" and no_target:
                    found = [_no_target_is_a_warning(f, cfg, paths, year) for f in found]
                for f in found:
                    if f.get("error"):  # an exception's text may hold a server path
                        f["error"] = f["error"].replace(str(paths.root.resolve()), "<project>")
                        f["error"] = f["error"].replace(str(paths.root), "<project>")
                    (report.failures if f["severity"] == "critical" else report.warnings).append(f)
        if docs and write:
            out = Path(out_dir) if out_dir else paths.work_year(year)
            from .datadocs import build_data_docs

            build_data_docs(ctx, result_ids, docs_suites, out / DOCS_DIR)
            report.data_docs = f"{DOCS_DIR}/index.html"
            report.data_docs_at = paths.rel(out / DOCS_DIR / "index.html")
    finally:
        store = ctx.validation_results_store
        for key in result_ids:  # the in-memory store must not grow with every run
            with contextlib.suppress(Exception):
                store.remove_key(key)
    if only is None:  # a whole year: is its raw data a copy of the year before's?
        report.warnings.extend(raw_repeats(paths, cfg, year))
    report.seconds = time.perf_counter() - t0
    if write:
        out = Path(out_dir) if out_dir else paths.work_year(year)
        write_text_atomic(out / VALIDATION_JSON, report.to_json())
    return report


def gate(report: ValidationReport) -> None:
    """Stop the pipeline for the year if any critical expectation failed."""
    if not report.success:
        raise ValidationFailed(report)


# -- findings ------------------------------------------------------------------------------------
def _jsonable(v: Any) -> Any:
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        with contextlib.suppress(ValueError, AttributeError):
            v = v.item()
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, (int, bool, str)):
        return v
    if isinstance(v, (list, tuple, set)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)


def _fill(template: str, params: dict) -> str:
    class Safe(dict):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    shown = {
        k: (_show(v) if not isinstance(v, list) or len(v) <= 10 else f"{len(v)} values")
        for k, v in params.items()
    }
    return template.format_map(Safe(shown))


def raw_repeats(paths: Paths, cfg: ProvinceConfig, year: int) -> list[dict]:
    """A warning for each raw file of the year that is byte-identical to the same file of the
    year before (a new year's folder copied from the last, and not yet replaced)."""
    here, before = paths.raw_year(year), paths.raw_year(year - 1)
    if not here.is_dir() or not before.is_dir():
        return []
    stems = {(spec or {}).get("input", lv): lv for lv, spec in cfg.levels_for(year).items()}
    out = []
    for f in sorted(here.iterdir()):
        g = before / f.name
        if f.is_symlink() or g.is_symlink() or not (f.is_file() and g.is_file()):
            continue
        if f.stat().st_size != g.stat().st_size or f.read_bytes() != g.read_bytes():
            continue
        a, b = paths.rel(f), paths.rel(g)
        out.append(
            {
                "check": "raw.same_as_previous_year",
                "table": stems.get(f.stem, f.stem),
                "severity": "warning",
                "expectation": None,
                "column": None,
                "description": {
                    "vi": f"Dữ liệu gốc năm {year} khác dữ liệu gốc năm {year - 1}",
                    "en": f"The raw data of {year} differs from the raw data of {year - 1}",
                },
                "expected": {
                    "vi": f"tệp của năm {year}, không phải bản sao của {b}",
                    "en": f"the file of {year}, not a copy of {b}",
                },
                "found": f"{a} = {b}",
                "hint": {
                    "vi": f"{a} giống hệt từng byte {b}: thay bằng bảng kết quả năm {year}",
                    "en": f"{a} is byte-identical to {b}: replace it with the {year} results",
                },
                "n_units": 0,
                "units": [],
            }
        )
    return out


TARGET_CHECKS = ("satisfaction.target_pct.present", "satisfaction.target_pct.configured")


def _no_target_is_a_warning(f: dict, cfg: ProvinceConfig, paths: Paths, year: int) -> dict:
    """No satisfaction target for the year (a new year): a warning naming the key to add."""
    if f["check"] not in TARGET_CHECKS:
        return f
    try:
        yml = paths.rel(cfg.source)
    except (AttributeError, TypeError):  # pragma: no cover - a config always has a source
        yml = f"config/{cfg.id}/province.yml"
    group = (cfg.targets(year - 1).get("satisfaction") or {}).get("group") or "<group id>"
    key = f"targets: {{{year}: {{satisfaction: {{value: <target %>, group: {group}}}}}}}"
    return {
        **f,
        "severity": "warning",
        "expected": {
            "vi": f"mục tiêu chỉ số hài lòng năm {year} trong {yml}",
            "en": f"the satisfaction target of {year} in {yml}",
        },
        "hint": {
            "vi": f"chưa đặt mục tiêu cho năm {year}: thêm khóa {key} vào {yml}; "
            "báo cáo ghi là chưa đặt mục tiêu",
            "en": f"no target is set for {year}: add the key {key} to {yml}; the report "
            "says that no target was set",
        },
        "units": [],
        "n_units": 0,
    }


class _Locator:
    """Where a row of a processed table came from: its raw file and row (`source_file`,
    `source_row`; national indices: the row of the raw national table)."""

    def __init__(self, view: pd.DataFrame, table: str, paths: Paths):
        self.table = table
        self.rows: dict[tuple, list[tuple[Any, Any]]] = {}
        self.cols: list[str] = []
        if table == "national_indices":
            self._national(view, paths)
            return
        if "source_file" not in view.columns or "source_row" not in view.columns:
            return
        cols = [c for c in ("unit_id", "unit_name") if c in view.columns]
        for _, r in view.iterrows():
            key = tuple(_key(r[c]) for c in cols)
            self.rows.setdefault(key, []).append(
                (_jsonable(r["source_file"]), _jsonable(r["source_row"]))
            )
        self.cols = cols

    def _national(self, view: pd.DataFrame, paths: Paths) -> None:
        raw = paths.national_raw
        if not raw.is_file() or raw.is_symlink():
            return
        try:
            df = pd.read_csv(raw, dtype={"index": str})
        except (OSError, ValueError):
            return
        shown = paths.rel(raw)
        for k, (idx, yr) in enumerate(zip(df.get("index", []), df.get("year", []), strict=False)):
            self.rows.setdefault((_key(idx), _key(yr)), []).append((shown, k + 2))
        self.cols = ["index", "year"]

    def _find(self, u: dict, seen: dict) -> list[tuple[Any, Any]]:
        if not self.rows:
            return []
        key = tuple(_key(u.get(c)) for c in self.cols)
        hits = self.rows.get(key)
        if hits is None and self.table != "national_indices" and u.get("unit_id") is not None:
            hits = [
                v for k, vs in self.rows.items() if k and k[0] == _key(u["unit_id"]) for v in vs
            ]
        if not hits:
            return []
        n = seen.get(key, 0)
        seen[key] = n + 1
        return [hits[min(n, len(hits) - 1)]]

    def add_sources(self, f: dict) -> dict:
        seen: dict = {}
        for u in f.get("units", []):
            for file, row in self._find(u, seen):
                u["source_file"], u["source_row"] = file, row
        for kind in ("extra_units", "duplicate_units"):
            for u in f.get(kind, []):
                key = tuple(_key(u.get(c)) for c in self.cols)
                hits = self.rows.get(key) or [
                    v
                    for k, vs in self.rows.items()
                    if k and k[0] == _key(u.get("unit_id"))
                    for v in vs
                ]
                if hits:
                    u["source_file"] = hits[0][0]
                    u["source_rows"] = [r for _, r in hits]
        return f


def _key(v: Any) -> Any:
    v = _jsonable(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _missing_table_finding(table: str, year: int, paths: Paths) -> dict:
    where = paths.rel(paths.processed_year(year) / f"{table}.csv")
    return {
        "check": f"{table}.table.present",
        "table": table,
        "severity": "critical",
        "expectation": None,
        "column": None,
        "description": {
            "vi": f"Có bảng {table}.csv của năm {year} trong data/processed",
            "en": f"The {table}.csv table of {year} is in data/processed",
        },
        "expected": {"vi": where, "en": where},
        "found": "không có tệp / no file",
        "n_units": 0,
        "units": [],
    }


def _unit_ref(uid: Any, reg: Registry) -> dict:
    u = reg.by_id.get(uid)
    return {"unit_id": uid, "unit_name": u.name if u else None}


def _finding(evr, table: str, params: dict, view: pd.DataFrame, reg: Registry) -> dict:
    conf = evr.expectation_config
    meta = dict(conf.meta or {})
    kwargs = dict(conf.kwargs or {})
    severity = meta.get("severity") or getattr(conf, "severity", None) or "critical"
    severity = str(getattr(severity, "value", severity))
    result = evr.result or {}
    column = kwargs.get("column")
    f: dict[str, Any] = {
        "check": meta.get("check", conf.type),
        "table": table,
        "severity": severity if severity in SEVERITIES else "critical",
        "expectation": conf.type,
        "column": column,
        "description": meta.get("description") or {"vi": conf.type, "en": conf.type},
        "expected": {
            k: _fill(v, params) for k, v in (meta.get("expected") or {"vi": "", "en": ""}).items()
        },
        "found": None,
        "n_units": 0,
        "units": [],
    }
    error = _exception_message(evr.exception_info)
    if error:
        f["error"] = error
    index_cols = _index_columns(table)
    value_cols = [
        c
        for c in (
            column,
            kwargs.get("column_A"),
            kwargs.get("column_B"),
            *(kwargs.get("column_list") or []),
        )
        if c and c not in index_cols
    ]
    rows = result.get("unexpected_index_list") or []
    if rows and isinstance(rows[0], dict):
        units = []
        for row in rows:
            u = {c: _jsonable(row.get(c)) for c in index_cols}
            vals = {c: _jsonable(row.get(c)) for c in value_cols if c in row}
            if len(vals) == 1:
                u["value"] = next(iter(vals.values()))
            elif vals:
                u["value"] = vals
            elif column in index_cols:
                u["value"] = u.get(column)
            units.append(u)
        f["n_units"] = int(result.get("unexpected_count") or len(units))
        f["units"] = units[:MAX_UNITS_LISTED]
    if "observed_value" in result and conf.type not in (
        "expect_column_distinct_values_to_contain_set",
    ):
        f["found"] = _jsonable(result.get("observed_value"))
    if conf.type == "expect_column_values_to_be_in_type_list" and column in view.columns:
        # GX names the column's dtype (and, for a mixed column, flags every row): name the cells
        # that make the type wrong instead, when there are such cells.
        bad = _bad_type_rows(view, column, kwargs.get("type_list") or [], index_cols)
        if bad["units"]:
            f.update(bad)
        if not isinstance(f["found"], str):
            f["found"] = f"dtype {view[column].dtype}"
    if (
        conf.type
        in ("expect_table_row_count_to_equal", "expect_column_distinct_values_to_contain_set")
        and "roster_unit_ids" in params
        and "unit_id" in view.columns
    ):
        have = set(view["unit_id"].dropna().astype(str))
        roster = params["roster_unit_ids"]
        f["missing_units"] = [_unit_ref(uid, reg) for uid in roster if uid not in have][
            :MAX_UNITS_LISTED
        ]
        if conf.type == "expect_table_row_count_to_equal":
            extra = sorted(have - set(roster))
            f["extra_units"] = [
                {"unit_id": uid, "unit_name": _name_in(view, uid)} for uid in extra
            ][:MAX_UNITS_LISTED]
            f["found"] = int(len(view))
            dupes = (
                view["unit_id"][view["unit_id"].duplicated()].dropna().astype(str).unique().tolist()
            )
            if dupes:
                f["duplicate_units"] = [
                    {"unit_id": uid, "unit_name": _name_in(view, uid)} for uid in dupes
                ]
        else:
            f["found"] = f"{len(set(roster) & have)}/{len(roster)}"
    if conf.type == "expect_table_columns_to_match_ordered_list":
        expected_cols = kwargs.get("column_list") or []
        f["found"] = [c for c in view.columns]
        f["columns_missing"] = [c for c in expected_cols if c not in view.columns]
        f["columns_unexpected"] = [c for c in view.columns if c not in expected_cols]
    return f


def _exception_message(info: Any) -> str | None:
    """GX 1.x gives {'raised_exception': ...} or {metric id: {...}} per failed metric."""
    if not info:
        return None
    items = (
        [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    )
    for item in items:
        if item.get("raised_exception") or item.get("exception_message"):
            msg = str(item.get("exception_message") or "").strip().splitlines()
            return (msg[-1] if msg else "exception")[:300]
    return None


def _name_in(view: pd.DataFrame, uid: str) -> str | None:
    if "unit_name" not in view.columns:
        return None
    names = view.loc[view["unit_id"].astype(str) == uid, "unit_name"].dropna()
    return str(names.iloc[0]) if len(names) else None


def _bad_type_rows(
    view: pd.DataFrame, column: str, type_list: list[str], index_cols: list[str]
) -> dict:
    """Which rows make a column's type wrong (GX reports only the column's dtype)."""
    s = view[column]
    if type_list == ["str"]:
        bad = s.notna() & ~s.map(lambda v: isinstance(v, str))
    else:
        num = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & num.isna()
        if all(t.lower().startswith("int") for t in type_list):
            bad |= num.notna() & (num != num.round())
    rows = view[bad]
    units = [
        {**{c: _jsonable(r[c]) for c in index_cols}, "value": _jsonable(r[column])}
        for _, r in rows.iterrows()
    ]
    return {"n_units": len(units), "units": units[:MAX_UNITS_LISTED]}
