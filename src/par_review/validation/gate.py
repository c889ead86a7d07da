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
the context is kept for the life of the process (one per project root). Each suite is run by
GX's validator directly (not through its checkpoint) and kept while its file is unchanged;
the type and not-null checks of a table are one wide expectation each (`expectations.py`),
reported column by column as their own checks (docs/validation.md, "Speed").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable
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
from .suites import (
    PER_COLUMN_OF_WIDE as PER_COLUMN,
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

    from . import expectations  # noqa: F401  (registers par-review's wide expectations)

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
        exp = f.get("expected") or {}
        wanted = ""
        if exp.get("vi"):
            en = f" / {exp['en']}" if exp.get("en") and exp["en"] != exp["vi"] else ""
            wanted = f" (yêu cầu / expected {exp['vi']}{en})"
        if unit is not None:
            parts.append(
                f"{_unit_label(unit, f['table'])}: giá trị / found {_show(unit.get('value'))}"
                + wanted
                + _source(unit)
            )
        elif f.get("missing_units"):
            parts.append(
                f"{_unit_label(f['missing_units'][0], f['table'])}: thiếu / missing"
                + (f" (+{len(f['missing_units']) - 1})" if len(f["missing_units"]) > 1 else "")
            )
        elif f.get("found") is not None:
            parts.append(f"giá trị / found {_show(f['found'])}{wanted}")
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


@dataclass
class _Suite:
    """A suite as GX runs it, kept for the life of the process while its file is unchanged."""

    name: str
    table: str  # the data asset (the suite's meta.table)
    digest: str  # sha256 of the suite's JSON file
    suite: Any  # great_expectations ExpectationSuite
    order: dict[str, tuple[int, int]]  # check id -> (expectation, column of a wide one)
    result_format: dict
    batch_definition: Any


_SUITES: dict[tuple[Path, str], _Suite] = {}


def _load_suite(ctx, paths: Paths, name: str) -> _Suite:
    """The suite `name` of validation/gx/expectations/, read by GX's expectations store once
    per process and again only when the file's bytes change."""
    root = paths.validation.resolve()
    p = paths.validation / GX_DIR / "expectations" / f"{name}.json"
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ValidationSetupError(
            f"{paths.rel(p)} not found: the suite is missing "
            "(regenerate it with `python -m par_review.validation.suites --write`)"
        ) from exc
    digest = hashlib.sha256(raw).hexdigest()
    hit = _SUITES.get((root, name))
    if hit is not None and hit.digest == digest:
        return hit
    data = json.loads(raw)
    order: dict[str, tuple[int, int]] = {}
    for i, e in enumerate(data.get("expectations", [])):
        meta = e.get("meta") or {}
        order.setdefault(meta.get("check"), (i, 0))
        for k, sub in enumerate(meta.get("checks") or []):
            order.setdefault(sub.get("check"), (i, k))
    table = (data.get("meta") or {}).get("table") or name.split("-", 1)[-1]
    asset = table
    batch_definition = (
        ctx.data_sources.get(_suites.DATASOURCE)
        .get_asset(asset)
        .get_batch_definition(_suites.BATCH_DEFINITION)
    )
    loaded = _Suite(
        name=name,
        table=table,
        digest=digest,
        suite=ctx.suites.get(name),
        order=order,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": _index_columns(table),
            "partial_unexpected_count": 20,
        },
        batch_definition=batch_definition,
    )
    _SUITES[(root, name)] = loaded
    return loaded


def _forget_metrics(engine) -> None:
    """The datasource keeps one execution engine for the life of the context, and the engine
    keeps every metric it computed (about 170 per table): drop them after each table, so a
    long process (a build, the tests) does not hold the metrics of every table it saw."""
    cache = getattr(engine, "_metric_cache", None)
    if hasattr(cache, "clear"):
        cache.clear()


_PLAIN = (str, int, float, bool, type(None))  # values whose repr says all of them


def _once_per_object(build: Callable[[Any], Any]) -> tuple[Callable[[Any], Any], dict]:
    """`build(obj)` computed once per object: the memoised function and its store (keyed by
    id, checked by identity: an id is reused once its object is gone)."""
    store: dict[int, tuple[Any, Any]] = {}

    def once(obj):
        hit = store.get(id(obj))
        if hit is None or hit[0] is not obj:
            hit = (obj, build(obj))
            store[id(obj)] = hit
        return hit[1]

    return once, store


@contextlib.contextmanager
def _configurations_kept():
    """While one suite is validated, each expectation builds its `configuration` once.

    GX 1.x's `Expectation.configuration` is a property that rebuilds an
    ExpectationConfiguration through pydantic's `.dict()` on every access, and a validation
    reads it about 80 times per expectation (every metric's kwargs, every success and domain
    key): half of a validation's time. The expectations GX builds for one run are not
    changed while it runs (the validator changes its own deep copies of the configurations),
    so the first configuration of each is the one every later access would rebuild. The
    property is restored when the suite is done; nothing outside this block sees it.

    The other way round, `ExpectationConfiguration.to_domain_obj` builds a new Expectation
    each time (GX asks it again for every metric an expectation needs, about 8 times), and
    each new one built its configuration again: 574 builds for 54 expectations, a third of
    a validation. Within the block a configuration gives back the one expectation it built
    (they are not changed either: the parameters are applied to fresh copies).

    And every metric configuration names its kwargs by `IDDict.to_id`: GX's JSON
    conversion and an md5, 3,600 times a validation for a few hundred distinct kwargs. A
    kwargs dict of plain values (str, int, float, bool, None under str keys) gets its id
    from the values' reprs once; any other dict goes to GX as before."""
    from great_expectations.core.id_dict import IDDict
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    prop = Expectation.__dict__["configuration"]
    to_obj = ExpectationConfiguration.__dict__["to_domain_obj"]
    configuration, built = _once_per_object(prop.fget)  # expectation -> its configuration
    to_domain_obj, objs = _once_per_object(to_obj)  # configuration -> its expectation

    id_of = IDDict.__dict__["to_id"]
    ids: dict[tuple, Any] = {}

    def to_id(self, id_keys=None, id_ignore_keys=None):
        if (
            id_keys is None
            and id_ignore_keys is None
            and all(type(k) is str and type(v) in _PLAIN for k, v in self.items())
        ):
            key = (type(self), *sorted((k, repr(v)) for k, v in self.items()))
            if key not in ids:
                ids[key] = id_of(self)
            return ids[key]
        return id_of(self, id_keys, id_ignore_keys)

    Expectation.configuration = property(configuration, doc=prop.__doc__)
    ExpectationConfiguration.to_domain_obj = to_domain_obj
    IDDict.to_id = to_id
    try:
        yield
    finally:
        Expectation.configuration = prop
        ExpectationConfiguration.to_domain_obj = to_obj
        IDDict.to_id = id_of
        built.clear()
        objs.clear()
        ids.clear()


def _run_suite(ctx, loaded: _Suite, view: pd.DataFrame, params: dict, run_name: str):
    """Run one suite on one table with GX's validator: what its validation definition does,
    without the checkpoint's freshness checks (they re-read every JSON file) and without the
    results store (the Data Docs step stores the results only when it renders them)."""
    from great_expectations.constants import DATAFRAME_REPLACEMENT_STR
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.validator.v1_validator import Validator

    engine = loaded.batch_definition.data_asset.datasource.get_execution_engine()
    validator = Validator(
        batch_definition=loaded.batch_definition,
        batch_parameters={"dataframe": view},
        result_format=loaded.result_format,
    )
    _forget_metrics(engine)
    try:
        with _configurations_kept():
            result = validator.validate_expectation_suite(loaded.suite, params)
    finally:
        _forget_metrics(engine)
    run_id = RunIdentifier(run_name=run_name)
    result.meta["validation_id"] = _suites.stable_id("validation_definition", loaded.name)
    result.meta["checkpoint_id"] = None
    result.meta["run_id"] = run_id
    result.meta["validation_time"] = run_id.run_time
    result.meta["batch_parameters"] = {"dataframe": DATAFRAME_REPLACEMENT_STR}
    return result, validator.active_batch_id


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
    report = ValidationReport(
        year=year, province=province, suites_sha256=suites_fingerprint(paths, province)
    )
    runs: list[tuple[str, Any, Any]] = []  # (suite name, its validation result, batch id)
    docs_key: list = []  # what the Data Docs are made from (datadocs.docs_key)
    no_target = not (cfg.targets(year) or {}).get("satisfaction")
    for table in year_tables(cfg, year):
        df = tables.get(table)
        if only is not None and table not in only:
            report.tables[table] = {"status": "skipped", "rows": 0, "expectations": 0, "passed": 0}
            continue
        if df is None:
            if _required(table, cfg, year):
                report.failures.append(_missing_table_finding(table, year, paths))
                status = "missing"
            else:
                status = "absent"
            report.tables[table] = {"status": status, "rows": 0, "expectations": 0, "passed": 0}
            continue
        view = validation_view(table, df, cfg)
        params = expectation_parameters(table, year, cfg, reg)
        name = _suite_of(cfg, table, year)
        loaded = _load_suite(ctx, paths, name)
        result, batch_id = _run_suite(ctx, loaded, view, params, f"{province}-{year}")
        runs.append((name, result, batch_id))
        docs_key.append((name, loaded.digest, params, view))
        where = _Locator(view, table, paths)
        n = passed = 0
        found = []
        for evr in result.results:
            for f_ok, f in _findings(evr, table, params, view, reg):
                n += 1
                passed += f_ok
                if not f_ok:
                    found.append(where.add_sources(f))
        report.tables[table] = {
            "status": "validated",
            "rows": int(len(df)),
            "expectations": n,
            "passed": passed,
        }
        order = loaded.order
        found.sort(key=lambda f: (order.get(f["check"], (len(order), 0)), f["check"]))
        if table == "satisfaction" and no_target:
            found = [_no_target_is_a_warning(f, cfg, paths, year) for f in found]
        for f in found:
            if f.get("error"):  # an exception's text may hold a server path
                f["error"] = f["error"].replace(str(paths.root.resolve()), "<project>")
                f["error"] = f["error"].replace(str(paths.root), "<project>")
            (report.failures if f["severity"] == "critical" else report.warnings).append(f)
    if docs and write:
        out = Path(out_dir) if out_dir else paths.work_year(year)
        from .datadocs import build_data_docs_cached

        build_data_docs_cached(
            ctx,
            paths,
            f"{province}-{year}",
            runs,
            docs_key,
            out / DOCS_DIR,
            notice=simulated_notice(cfg, paths),
        )
        report.data_docs = f"{DOCS_DIR}/index.html"
        report.data_docs_at = paths.rel(out / DOCS_DIR / "index.html")
    if only is None:  # a whole year: is its raw data a copy of the year before's?
        report.warnings.extend(raw_repeats(paths, cfg, year))
    report.seconds = time.perf_counter() - t0
    if write:
        out = Path(out_dir) if out_dir else paths.work_year(year)
        write_text_atomic(out / VALIDATION_JSON, report.to_json())
    return report


def simulated_notice(cfg: ProvinceConfig, paths: Paths) -> dict[str, str] | None:
    """The simulated-data mark of every report page ({lang: text}, in the province's report
    languages and English), for the Data Docs; None when the data is not simulated."""
    from ..i18n import Translator
    from ..paths import simulated_flag

    if simulated_flag(paths) is None:
        return None
    langs = list(dict.fromkeys([*cfg.report_languages, "en"]))
    return {lang: Translator(lang)("simulated.running") for lang in langs}


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


def _findings(evr, table: str, params: dict, view: pd.DataFrame, reg: Registry):
    """(passed, finding or None) for each check of one expectation's result: one for a
    per-column or table expectation, one per column for a wide one (expectations.py), named
    and worded as that column's own check."""
    conf = evr.expectation_config
    meta = dict(conf.meta or {})
    severity = meta.get("severity") or getattr(conf, "severity", None) or "critical"
    severity = str(getattr(severity, "value", severity))
    subs = meta.pop("checks", None)
    result = evr.result or {}
    if conf.type not in PER_COLUMN or not subs:
        if evr.success:
            yield True, None
        else:
            yield False, _finding(
                conf.type, dict(conf.kwargs or {}), meta, severity, result, evr.exception_info,
                table, params, view, reg,
            )  # fmt: skip
        return
    raised = evr.exception_info if _exception_message(evr.exception_info) else None
    per = (result.get("details") or {}).get("columns") or []
    specs = conf.kwargs.get("columns") or []
    for k, (sub, spec) in enumerate(zip(subs, specs, strict=False)):
        r = dict(per[k]) if k < len(per) and isinstance(per[k], dict) else {}
        r.pop("column", None)
        if r.get("success") and not raised:
            yield True, None
            continue
        error = r.pop("error", None)
        r.pop("success", None)
        info = {"raised_exception": True, "exception_message": error} if error else raised
        sub_meta = {**meta, **{k: sub[k] for k in ("check", "description", "expected")}}
        yield (
            False,
            _finding(
                sub["expectation"],
                dict(spec),
                sub_meta,
                severity,
                r,
                info,
                table,
                params,
                view,
                reg,
            ),
        )


def _finding(
    type_: str,
    kwargs: dict,
    meta: dict,
    severity: str,
    result: dict,
    exception_info: Any,
    table: str,
    params: dict,
    view: pd.DataFrame,
    reg: Registry,
) -> dict:
    """What validation.json says of one failed check (`type_`: the GX expectation whose rule
    the check applies)."""
    column = kwargs.get("column")
    f: dict[str, Any] = {
        "check": meta.get("check", type_),
        "table": table,
        "severity": severity if severity in SEVERITIES else "critical",
        "expectation": type_,
        "column": column,
        "description": meta.get("description") or {"vi": type_, "en": type_},
        "expected": {
            k: _fill(v, params) for k, v in (meta.get("expected") or {"vi": "", "en": ""}).items()
        },
        "found": None,
        "n_units": 0,
        "units": [],
    }
    error = _exception_message(exception_info)
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
    if "observed_value" in result and type_ not in (
        "expect_column_distinct_values_to_contain_set",
    ):
        f["found"] = _jsonable(result.get("observed_value"))
    if type_ == "expect_column_values_to_be_in_type_list" and column in view.columns:
        # GX names the column's dtype (and, for a mixed column, flags every row): name the cells
        # that make the type wrong instead, when there are such cells.
        bad = _bad_type_rows(view, column, kwargs.get("type_list") or [], index_cols)
        if bad["units"]:
            f.update(bad)
        if not isinstance(f["found"], str):
            f["found"] = f"dtype {view[column].dtype}"
    if (
        type_ in ("expect_table_row_count_to_equal", "expect_column_distinct_values_to_contain_set")
        and "roster_unit_ids" in params
        and "unit_id" in view.columns
    ):
        have = set(view["unit_id"].dropna().astype(str))
        roster = params["roster_unit_ids"]
        f["missing_units"] = [_unit_ref(uid, reg) for uid in roster if uid not in have][
            :MAX_UNITS_LISTED
        ]
        if type_ == "expect_table_row_count_to_equal":
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
    if type_ == "expect_table_columns_to_match_ordered_list":
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
