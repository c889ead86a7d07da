"""The validation gate: suites from the config, one broken copy per expectation, the gate,
validation.json. One GX context for the whole module (the demo project copy of conftest)."""

from __future__ import annotations

import hashlib
import json
import shutil
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from par_review.paths import Paths
from par_review.validation.gate import (
    ValidationFailed,
    gate,
    get_context,
    read_tables,
    validate_tables,
    validate_year,
)
from par_review.validation.suites import (
    AREA_GAP,
    STR,
    TABLES,
    build_suites,
    check_project,
    checks_of,
    expectation_parameters,
    parameter_names,
    province_ids,
    write_project,
)

REPO = Path(__file__).resolve().parents[1]
YEAR = 2022
EMPTY = "(trống / empty)"


@pytest.fixture(scope="module")
def paths(demo_processed) -> Paths:
    get_context(demo_processed)  # one context for the module
    return demo_processed


@pytest.fixture(scope="module")
def tables(paths):
    return read_tables(paths, YEAR)


@pytest.fixture(scope="module")
def registry(cfg):
    from par_review.rawdata.registry import load_registry

    return load_registry(cfg.dir)


def committed_suites() -> dict[str, dict]:
    d = REPO / "validation" / "gx" / "expectations"
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(d.glob("*.json"))}


def all_checks() -> dict[str, str]:
    """check id -> severity, over every committed suite (each column of a wide expectation
    is a check of its own)."""
    out = {}
    for suite in committed_suites().values():
        for x in checks_of(suite):
            out[x["check"]] = x["severity"]
    return out


# -- the suites ----------------------------------------------------------------------------------
def test_committed_project_is_what_the_config_generates():
    assert check_project(Paths.from_root(REPO)) == []


def test_a_config_change_shows_until_the_suites_are_regenerated(project):
    yml = project.config_dir / "khanh_hoa" / "province.yml"
    text = yml.read_text(encoding="utf-8")
    yml.write_text(text.replace("max: 14.5}", "max: 15.5}", 1), encoding="utf-8")
    problems = check_project(project)
    assert problems == ["differs from the config: expectations/khanh_hoa-provincial.json"]
    write_project(project)
    assert check_project(project) == []
    suite = json.loads(
        (project.validation / "gx/expectations/khanh_hoa-provincial.json").read_text("utf-8")
    )
    tthc = [x for x in checks_of(suite) if x["check"] == "provincial.area_tthc.range"]
    assert tthc[0]["kwargs"]["max_value"] == 15.5


def test_a_reviewer_changes_severity_in_overrides_yml(project):
    (project.validation / "overrides.yml").write_text(
        "severity: {provincial.unit_name.official: critical}\ndisabled: [national_indices.value.range]\n",
        encoding="utf-8",
    )
    # the overrides apply to every province of the checkout (each has a provincial level)
    assert "khanh_hoa" in province_ids(project)
    assert sorted(check_project(project)) == sorted(
        f"differs from the config: expectations/{p}-{t}.json"
        for p in province_ids(project)
        for t in ("national_indices", "provincial")
    )
    write_project(project)
    gx = project.validation / "gx/expectations"
    prov = json.loads((gx / "khanh_hoa-provincial.json").read_text(encoding="utf-8"))
    e = next(
        e for e in prov["expectations"] if e["meta"]["check"] == "provincial.unit_name.official"
    )
    assert e["meta"]["severity"] == e["severity"] == "critical"
    nat = json.loads((gx / "khanh_hoa-national_indices.json").read_text(encoding="utf-8"))
    assert "national_indices.value.range" not in {x["check"] for x in checks_of(nat)}
    (project.validation / "overrides.yml").write_text(
        "disabled: [no.such.check]\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="no.such.check"):
        check_project(project)


def test_suites_follow_the_config(cfg):
    suites = build_suites(cfg)
    prov = suites["provincial"]
    cols = next(
        e for e in prov["expectations"] if e["type"] == "expect_table_columns_to_match_ordered_list"
    )
    assert cols["kwargs"]["column_list"][-1] == AREA_GAP
    areas = {
        x["column"]: x["kwargs"]["max_value"]
        for x in checks_of(prov)
        if x["check"].endswith(".range") and x["column"].startswith("area_")
    }
    assert areas == {a.column: a.max for a in cfg.areas("provincial")}
    tiers = next(e for e in prov["expectations"] if e["meta"]["check"] == "provincial.tier.known")
    assert tiers["kwargs"]["value_set"] == cfg.tier_ids
    bands = [
        e["meta"]["check"] for e in prov["expectations"] if ".tier.band." in e["meta"]["check"]
    ]
    assert bands == [f"provincial.tier.band.{t}" for t in cfg.tier_ids]


def test_every_expectation_is_critical_or_warning_and_readable():
    for suite in committed_suites().values():
        checks = set()  # check ids are unique within a suite (provinces share them)
        for e in suite["expectations"]:
            meta = e["meta"]
            assert meta["severity"] in ("critical", "warning"), meta
            assert e["severity"] == meta["severity"]
            assert meta["check"] not in checks
            checks.add(meta["check"])
            for text in [*meta["description"].values(), *meta["expected"].values()]:
                assert text and unicodedata.is_normalized("NFC", text)
            for sub in meta.get("checks") or []:  # each column of a wide expectation
                assert sub["check"] not in checks
                checks.add(sub["check"])
                for text in [*sub["description"].values(), *sub["expected"].values()]:
                    assert text and unicodedata.is_normalized("NFC", text)
    assert {s for s in all_checks().values()} == {"critical", "warning"}


@pytest.mark.parametrize("year", [2018, 2022])
def test_run_time_parameters_cover_every_suite_parameter(cfg, registry, year):
    for table, suite in build_suites(cfg).items():
        params = expectation_parameters(table, year, cfg, registry)
        assert parameter_names(suite) <= set(params), table
    p = expectation_parameters("commune", year, cfg, registry)
    assert p["roster_size"] == len(registry.roster(year, "commune")) == len(p["roster_unit_ids"])
    assert p["band_tot_min"] == cfg.bands(year, "commune")[0].min_score


def test_analytics_off_in_config_and_code(paths):
    import os

    ctx = get_context(paths)
    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"
    assert ctx.config.analytics_enabled is False
    yml = (REPO / "validation/gx/great_expectations.yml").read_text(encoding="utf-8")
    assert "analytics_enabled: false" in yml and "globally: false" in yml
    assert get_context(paths) is ctx  # one context per process and project


# -- the demo data -------------------------------------------------------------------------------
def test_nothing_is_written_into_the_gx_project(project, tables, tmp_path):
    before = _tree_hash(project.validation)
    files = sorted(p.relative_to(project.validation) for p in project.validation.rglob("*"))
    report = validate_tables(
        YEAR, tables, project, out_dir=tmp_path, only=["satisfaction"], docs=True
    )
    assert report.success and (tmp_path / "validation" / "index.html").is_file()
    assert sorted(p.relative_to(project.validation) for p in project.validation.rglob("*")) == files
    assert _tree_hash(project.validation) == before


def test_demo_year_passes_every_suite(paths, tmp_path):
    before = _tree_hash(paths.validation)
    report = validate_year(YEAR, paths, out_dir=tmp_path, docs=False)
    assert report.success, report.summary_text()
    assert report.warnings == []
    assert {t: v["status"] for t, v in report.tables.items()} == {t: "validated" for t in TABLES}
    assert all(v["passed"] == v["expectations"] > 0 for v in report.tables.values())
    gate(report)  # does not raise
    assert "ĐẠT" in report.summary_text() and "PASSED" in report.summary_text()
    # a summary is written; nothing is written into the GX project
    saved = json.loads((tmp_path / "validation.json").read_text(encoding="utf-8"))
    assert saved == report.to_dict() and saved["success"] is True
    assert _tree_hash(paths.validation) == before


def _tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


# -- one broken copy per expectation -------------------------------------------------------------
class Copy:
    """A broken copy of one table; `expect(check, unit, value)` records what must be reported."""

    def __init__(self, table: str, df: pd.DataFrame):
        self.table = table
        self.df = df.copy()
        self.rows = iter(range(len(self.df)))
        self.expected: list[tuple[str, str | None, object]] = []

    def row(self) -> int:
        return next(self.rows)

    def set(self, check: str, col: str, value, row: int | None = None) -> int:
        """Put a bad value in one cell (of a new row unless given); the summary must name the
        row's unit and the value."""
        i = self.row() if row is None else row
        self.df[col] = _room_for(self.df[col], value)
        self.df.loc[i, col] = value
        self.expect(check, self.ident(i, col), value)
        return i

    def ident(self, i: int, changed: str | None = None) -> str:
        """How the summary names row i (by the identifier that was not changed)."""
        if self.table == "national_indices":
            if changed == "index":
                return _shown(self.df.loc[i, "year"])
            if changed == "year":
                return str(self.df.loc[i, "index"])
            return f"{self.df.loc[i, 'index']} {_shown(self.df.loc[i, 'year'])}"
        return str(self.df.loc[i, "unit_id" if changed == "unit_name" else "unit_name"])

    def expect(self, check: str, unit: str | None, value) -> None:
        self.expected.append((f"{self.table}.{check}", unit, value))


def _room_for(s: pd.Series, value) -> pd.Series:
    """The column as it would be read from a CSV holding the bad value."""
    if (value is None or isinstance(value, float)) and s.dtype.kind in "iu":
        return s.astype("float64")
    if isinstance(value, str) and s.dtype != object:
        return s.astype(object)
    if isinstance(value, int) and s.dtype.kind == "f" and value is not None:
        return s
    return s


def _shown(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return EMPTY
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def unit_value_copy(table, df, cfg, year):
    c = Copy(table, df)
    c.set("score.range", "score", 101.0)
    for a in cfg.areas(table):
        c.set(f"{a.column}.range", a.column, a.max + 1)
    i = c.row()  # area sum off by one point, each area still within its maximum
    first = cfg.areas(table)[0].column
    c.df.loc[i, first] = (
        c.df.loc[i, first] - 1 if c.df.loc[i, first] >= 1 else c.df.loc[i, first] + 1
    )
    gap = round(sum(c.df.loc[i, a.column] for a in cfg.areas(table)) - c.df.loc[i, "score"], 6)
    assert abs(gap) > 0.9
    c.expect("area_sum.total", c.ident(i), float(gap))
    bands = cfg.bands(year, table)
    for k, band in enumerate(bands):
        i = c.row()
        score = (
            round(band.min_score - 0.1, 2) if k == 0 else band.max_score
        )  # 84.9 rated Tốt; 85 rated Khá
        c.df.loc[i, "tier"] = band.tier
        c.df.loc[i, "score"] = score
        c.expect(f"tier.band.{band.tier}", c.ident(i), score)
    c.set("tier.known", "tier", "xuat_sac")
    c.set("unit_id.in_roster", "unit_id", "x-khong-co")
    i, j = c.row(), c.row()
    c.df.loc[i, ["unit_id", "unit_name"]] = c.df.loc[j, ["unit_id", "unit_name"]].values
    c.expect("unit_id.unique", c.ident(j), c.df.loc[j, "unit_id"])
    c.set("year.equals_parameter", "year", year - 1)
    c.set("level.value", "level", "commune" if table == "provincial" else "provincial")
    c.set("group.known", "group", "khong_ro")
    i = c.set("unit_name.official", "unit_name", "Tên cũ của đơn vị")
    c.df.loc[c.row(), ["source_file", "source_row"]] = c.df.loc[
        i, ["source_file", "source_row"]
    ].values
    c.expect("source_row.unique", "Tên cũ của đơn vị", None)
    return c


def null_copy(table, df, columns):
    c = Copy(table, df)
    for col in columns:
        c.set(f"{col}.not_null", col, None)
    return c


def type_copy(table, df, suite):
    c = Copy(table, df)
    for e in suite["expectations"]:
        # a column's type check: its own expectation, or a column of the wide one
        specs = e["kwargs"]["columns"] if e["type"] == "expect_columns_to_be_in_type_lists" else []
        if e["type"] == "expect_column_values_to_be_in_type_list":
            specs = [e["kwargs"]]
        for spec in specs:
            col = spec["column"]
            if col != AREA_GAP:
                c.set(f"{col}.type", col, 12345 if spec["type_list"] == STR else "abc")
    return c


def columns_copy(table, df):
    c = Copy(table, df)
    cols = list(df.columns)
    cols[1], cols[2] = cols[2], cols[1]
    c.df = c.df[cols]
    c.expect("table.columns", None, ", ".join(cols[:3]))
    return c


def missing_unit_copy(table, df):
    c = Copy(table, df)
    gone = c.df.iloc[5]
    c.df = c.df.drop(index=c.df.index[5]).reset_index(drop=True)
    for check in ("table.row_count", "unit_id.roster_complete"):
        c.expect(check, f"{gone['unit_id']} ({gone['unit_name']})", "thiếu / missing")
    return c


def satisfaction_value_copy(df, year):
    c = Copy("satisfaction", df)
    c.set("satisfaction_pct.range", "satisfaction_pct", 101.0)
    c.set("target_pct.present", "target_pct", None)
    c.set("target_pct.configured", "target_pct", 80.0)
    c.set("unit_id.in_roster", "unit_id", "c-22336")  # a commune: not a provincial-level unit
    i, j = c.row(), c.row()
    c.df.loc[i, ["unit_id", "unit_name"]] = c.df.loc[j, ["unit_id", "unit_name"]].values
    c.expect("unit_id.unique", c.ident(j), c.df.loc[j, "unit_id"])
    c.set("year.equals_parameter", "year", year + 1)
    c.set("group.known", "group", "khong_ro")
    c.set("respondents.not_null", "respondents", None)
    c.set("respondents.positive", "respondents", 0)
    c.set("unit_name.official", "unit_name", "Tên cũ của đơn vị")
    return c


def national_value_copy(df, year):
    c = Copy("national_indices", df)
    c.set("index.known", "index", "XYZ")
    c.set("year.not_after", "year", year + 1)
    i, j = c.row(), c.row()
    c.df.loc[i, ["index", "year"]] = c.df.loc[j, ["index", "year"]].values
    c.expect("index_year.unique", c.ident(j), None)
    c.set("unit.known", "unit", "percent")
    c.set("value.range", "value", 120.0)
    c.set("rank.positive", "rank", 0)
    i = c.row()
    c.df.loc[i, "rank"] = 70
    c.df.loc[i, "rank_of"] = 63
    c.expect("rank.within_rank_of", c.ident(i), None)
    return c


def broken_copies(tables, cfg, year) -> list[Copy]:
    suites = build_suites(cfg)
    copies = []
    for level in ("provincial", "commune"):
        df = tables[level]
        # the columns that must be filled, as the suite says (the district only where the
        # level is grouped by district in every year)
        checks = {x["check"] for x in checks_of(suites[level])}
        req = [c for c in df.columns if f"{level}.{c}.not_null" in checks]
        copies += [
            unit_value_copy(level, df, cfg, year),
            null_copy(level, df, req),
            type_copy(level, df, suites[level]),
            columns_copy(level, df),
            missing_unit_copy(level, df),
        ]
    sat = tables["satisfaction"]
    copies += [
        satisfaction_value_copy(sat, year),
        null_copy(
            "satisfaction",
            sat,
            [
                "year",
                "unit_id",
                "unit_name",
                "group",
                "satisfaction_pct",
                "raw_name",
                "source_file",
                "source_row",
            ],
        ),
        type_copy("satisfaction", sat, suites["satisfaction"]),
        columns_copy("satisfaction", sat),
    ]
    nat = tables["national_indices"]
    copies += [
        national_value_copy(nat, year),
        null_copy("national_indices", nat, ["index", "year", "unit", "basis"]),
        type_copy("national_indices", nat, suites["national_indices"]),
        columns_copy("national_indices", nat),
    ]
    return copies


def test_every_expectation_has_a_broken_copy(tables, cfg):
    covered = {check for c in broken_copies(tables, cfg, YEAR) for check, _, _ in c.expected}
    missing = set(all_checks()) - covered
    assert not missing, "add a broken copy for: " + ", ".join(sorted(missing))


@pytest.mark.parametrize("index", range(18))
def test_a_broken_copy_is_stopped_with_unit_and_value(paths, tables, cfg, index):
    copies = broken_copies(tables, cfg, YEAR)
    assert len(copies) == 18
    c = copies[index]
    report = validate_tables(YEAR, {c.table: c.df}, paths, only=[c.table], write=False, docs=False)
    severities = all_checks()
    found = {f["check"]: f for f in report.failures + report.warnings}
    text = report.summary_text()
    for check, unit, value in c.expected:
        if check not in severities:  # switched off in validation/overrides.yml
            continue
        assert check in found, f"{check} did not fail:\n{text}"
        f = found[check]
        assert f["severity"] == severities[check]
        block = _block(text, check)
        if unit is not None:
            assert unit in block, f"{check}: {unit!r} not named:\n{block}"
        if value is not None:
            assert _shown(value) in block, f"{check}: value {value!r} not shown:\n{block}"
        if unit is not None and value is not None and f["units"]:
            assert any(
                unit
                in " ".join(_shown(u.get(k)) for k in ("unit_id", "unit_name", "index", "year"))
                and _shown(u.get("value")) == _shown(value)
                for u in f["units"]
            ), f
    if any(severities.get(check) == "critical" for check, _, _ in c.expected):
        with pytest.raises(ValidationFailed) as exc:
            gate(report)
        assert exc.value.report is report
        assert "KHÔNG ĐẠT" in str(exc.value) and "FAILED" in str(exc.value)
    else:
        gate(report)


def _block(text: str, check: str) -> str:
    """The part of the summary about one check."""
    parts = text.split("\n\n")
    hits = [p for p in parts if f"· {check}\n" in p]
    assert hits, f"{check} not in the summary:\n{text}"
    return hits[0]


def test_warnings_do_not_stop_the_gate(paths, tables):
    sat = tables["satisfaction"].copy()
    sat.loc[3, "respondents"] = 0
    report = validate_tables(
        YEAR, {"satisfaction": sat}, paths, only=["satisfaction"], write=False, docs=False
    )
    assert report.success and report.failures == []
    assert [w["check"] for w in report.warnings] == ["satisfaction.respondents.positive"]
    assert (
        sat.loc[3, "unit_name"] in report.summary_text()
        and "CẢNH BÁO / WARNING" in report.summary_text()
    )
    gate(report)


def test_tier_follows_the_bands_of_the_year(project):
    """Bands per year come from the config at run time: when Tốt starts just above the lowest
    Tốt score of 2022, that unit fails; with the default bands the same data passes."""
    from par_review.clean.tables import clean_year

    clean_year(YEAR, project)
    prov = read_tables(project, YEAR)["provincial"]
    ok = validate_tables(
        YEAR, {"provincial": prov}, project, only=["provincial"], write=False, docs=False
    )
    assert ok.success
    lowest = prov[prov.tier == "tot"].score.min()
    start = round(lowest + 0.01, 2)
    yml = project.config_dir / "khanh_hoa" / "province.yml"
    yml.write_text(
        yml.read_text(encoding="utf-8").replace(
            "by_year: {}",
            f"by_year: {{{YEAR}: {{provincial: {{tot: {start}, kha: 70, trung_binh: 50, yeu: 0}}}}}}",
        ),
        encoding="utf-8",
    )
    report = validate_tables(
        YEAR, {"provincial": prov}, project, only=["provincial"], write=False, docs=False
    )
    band = next(f for f in report.failures if f["check"] == "provincial.tier.band.tot")
    assert {u["unit_id"] for u in band["units"]} == set(
        prov[(prov.tier == "tot") & (prov.score < start)].unit_id
    )
    assert f"score ≥ {start:g}" in report.summary_text()
    assert f"{lowest:g}" in report.summary_text()


def test_missing_satisfaction_table_fails_when_a_target_is_set(paths, tables):
    report = validate_tables(
        YEAR,
        {**tables, "satisfaction": None},
        paths,
        only=["satisfaction"],
        write=False,
        docs=False,
    )
    assert [f["check"] for f in report.failures] == ["satisfaction.table.present"]
    assert "satisfaction.csv" in report.summary_text()


def test_validation_json_is_deterministic_and_does_not_copy_tables(paths, tables, tmp_path):
    com = tables["commune"].copy()
    com["year"] = YEAR - 1  # every row fails
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        validate_tables(YEAR, {"commune": com}, paths, out_dir=out, only=["commune"], docs=False)
    text = (a / "validation.json").read_text(encoding="utf-8")
    assert text == (b / "validation.json").read_text(encoding="utf-8")
    data = json.loads(text)
    year = next(f for f in data["failures"] if f["check"] == "commune.year.equals_parameter")
    assert year["n_units"] == len(com) and len(year["units"]) == 50
    assert "T0" not in text and "run_time" not in text  # no timestamps
    assert len(text) < 60_000


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["duplicate", "score_101", "tier_84_9", "missing_commune", "wrong_year"]
)
def test_issue_examples_stop_validate_year(paths, tmp_path, case):
    """The issue's examples, through the CSV files of data/processed and validate_year."""
    proj = tmp_path / "proj"
    shutil.copytree(paths.root, proj, ignore=shutil.ignore_patterns("build", "reports"))
    p = Paths.from_root(proj)
    folder = p.processed_year(YEAR)
    prov = pd.read_csv(folder / "provincial.csv", dtype=str, keep_default_na=False)
    com = pd.read_csv(folder / "commune.csv", dtype=str, keep_default_na=False)
    if case == "duplicate":
        prov = pd.concat([prov, prov.iloc[[3]]])
        unit, value = prov.iloc[3]["unit_name"], prov.iloc[3]["unit_id"]
    elif case == "score_101":
        prov.loc[2, "score"], unit, value = "101", prov.loc[2, "unit_name"], "101"
    elif case == "tier_84_9":
        i = prov.index[prov.tier == "tot"][0]
        prov.loc[i, "score"], unit, value = "84.9", prov.loc[i, "unit_name"], "84.9"
    elif case == "missing_commune":
        unit, value = f"{com.loc[10, 'unit_id']} ({com.loc[10, 'unit_name']})", "thiếu / missing"
        com = com.drop(index=10)
    else:
        com.loc[4, "year"], unit, value = "2021", com.loc[4, "unit_name"], "2021"
    prov.to_csv(folder / "provincial.csv", index=False)
    com.to_csv(folder / "commune.csv", index=False)
    report = validate_year(YEAR, p, out_dir=tmp_path / "out", docs=False)
    with pytest.raises(ValidationFailed) as exc:
        gate(report)
    assert unit in str(exc.value) and value in str(exc.value)
    assert (
        json.loads((tmp_path / "out/validation.json").read_text(encoding="utf-8"))["success"]
        is False
    )


@pytest.mark.slow
@pytest.mark.parametrize("year", [2018, 2019, 2020, 2021])
def test_other_demo_years_pass(paths, tmp_path, year):
    report = validate_year(year, paths, out_dir=tmp_path, docs=False)
    assert report.success and not report.warnings, report.summary_text()
    assert report.tables["satisfaction"]["status"] == "absent"


# -- a failure names the check, the unit, the value, the raw file and row, and the Data Docs ----
def test_a_failure_names_the_raw_file_and_row(paths, tables):
    prov = tables["provincial"].copy()
    prov.loc[2, "score"] = 101.0
    prov = pd.concat([prov, prov.iloc[[7]]], ignore_index=True)  # a duplicate row
    report = validate_tables(
        YEAR, {"provincial": prov}, paths, only=["provincial"], write=False, docs=False
    )
    text = report.summary_text()
    score = next(f for f in report.failures if f["check"] == "provincial.score.range")
    u = next(u for u in score["units"] if u["unit_id"] == prov.loc[2, "unit_id"])
    assert (u["source_file"], u["source_row"]) == (
        prov.loc[2, "source_file"],
        int(prov.loc[2, "source_row"]),
    )
    assert u["source_file"] == "data/raw/khanh_hoa/2022/provincial.xlsx"
    block = _block(text, "provincial.score.range")
    assert prov.loc[2, "unit_name"] in block and "101" in block
    assert f"tệp / file {u['source_file']}, dòng / row {u['source_row']}" in block
    dup = _block(text, "provincial.unit_id.unique")
    assert f"dòng / row {int(prov.loc[7, 'source_row'])}" in dup


def test_the_summary_says_where_the_data_docs_are(project, tables):
    sat = tables["satisfaction"].copy()
    sat.loc[1, "satisfaction_pct"] = 120.0
    out = project.work_year(YEAR)
    report = validate_tables(
        YEAR, {"satisfaction": sat}, project, out_dir=out, only=["satisfaction"]
    )
    assert not report.success
    assert (out / "validation" / "index.html").is_file()
    text = report.summary_text()
    assert "Data Docs" in text
    assert f"build/work/khanh_hoa/{YEAR}/validation/index.html" in text
    assert report.to_dict()["data_docs"] == "validation/index.html"  # beside validation.json
    assert str(project.root) not in text  # never an absolute path
    with pytest.raises(ValidationFailed) as exc:
        gate(report)
    assert "Data Docs" in str(exc.value) and "satisfaction.satisfaction_pct.range" in str(exc.value)


def test_a_missing_target_is_a_warning_naming_the_key(project, tables):
    """A new year with a satisfaction table and no `targets:` for it: the table is cleaned
    with no target; validation warns, names the key to add, and does not stop the year."""
    yml = project.config_dir / "khanh_hoa" / "province.yml"
    text = yml.read_text(encoding="utf-8")
    assert "targets:\n  2022:" in text
    yml.write_text(text.replace("targets:\n  2022:", "targets:\n  2021:"), encoding="utf-8")
    sat = tables["satisfaction"].copy()
    sat["target_pct"] = float("nan")  # what cleaning writes when no target is set
    report = validate_tables(
        YEAR, {"satisfaction": sat}, project, only=["satisfaction"], write=False, docs=False
    )
    assert report.success, report.summary_text()
    gate(report)  # does not raise
    w = next(w for w in report.warnings if w["check"] == "satisfaction.target_pct.present")
    assert w["severity"] == "warning"
    key = f"targets: {{{YEAR}: {{satisfaction: {{value: <target %>, group: so_ban_nganh}}}}}}"
    assert key in w["hint"]["en"] and key in w["hint"]["vi"]
    summary = report.summary_text()
    assert key in summary and "config/khanh_hoa/province.yml" in summary
    assert "CẢNH BÁO / WARNING" in summary


def test_missing_table_names_its_province_folder(paths, tables):
    report = validate_tables(
        YEAR,
        {**tables, "satisfaction": None},
        paths,
        only=["satisfaction"],
        write=False,
        docs=False,
    )
    assert f"data/processed/khanh_hoa/{YEAR}/satisfaction.csv" in report.summary_text()


# -- levels are data: a province with one level, 3 tiers, no tier column and 2 areas -------------
def test_one_level_province_is_cleaned_and_validated_from_config_only(tmp_path):
    """tests/test_clean.py's fixture province: its suites are generated from its config,
    its one level is validated, and a bad value is named with its raw file and row."""
    from par_review.clean.tables import clean_year
    from tests.test_clean import ONE_LEVEL_UNITS, one_level_province, one_level_raw, write_province

    paths = write_province(tmp_path / "proj", one_level_province(), ONE_LEVEL_UNITS)
    one_level_raw(
        paths,
        2024,
        [
            ["1", "Xã Bắc Sơn", "55,0", "35,5", "90,5"],
            ["2", "Xã Nam Hà", "40,0", "25,0", "65,0"],
            ["3", "Phường Đông Hải", "30,0", "12,0", "42,0"],
        ],
    )
    clean_year(2024, paths)
    write_project(paths)  # the GX project of this checkout: its one province
    assert check_project(paths) == []
    report = validate_year(2024, paths, out_dir=tmp_path / "out", docs=False)
    assert report.success and not report.warnings, report.summary_text()
    assert report.tables["xa"]["status"] == "validated" and report.tables["xa"]["rows"] == 3
    assert report.tables["satisfaction"]["status"] == "absent"
    xa = read_tables(paths, 2024)["xa"]
    xa.loc[1, "tier"] = "tot"  # 65 rated Tốt: outside the Tốt band (from 80)
    bad = validate_tables(2024, {"xa": xa}, paths, only=["xa"], write=False, docs=False)
    band = next(f for f in bad.failures if f["check"] == "xa.tier.band.tot")
    assert band["units"][0]["unit_id"] == "x-2"
    assert band["units"][0]["source_file"] == "data/raw/tinh_mot_cap/2024/ket_qua_xa.csv"
    assert band["units"][0]["source_row"] == 4
    assert "dòng / row 4" in _block(bad.summary_text(), "xa.tier.band.tot")


def test_raw_data_identical_to_the_year_before_is_a_warning(project):
    """A new year's folder copied from the last (and a title that names no year, so cleaning
    cannot tell): validation warns, naming both files."""
    new = project.raw_year(YEAR + 1)
    shutil.rmtree(new, ignore_errors=True)
    shutil.copytree(project.raw_year(YEAR), new)
    report = validate_tables(YEAR + 1, {}, project, write=False, docs=False)
    repeats = [w for w in report.warnings if w["check"] == "raw.same_as_previous_year"]
    assert {w["table"] for w in repeats} == {"provincial", "commune", "satisfaction"}
    text = report.summary_text()
    a = f"data/raw/khanh_hoa/{YEAR + 1}/provincial.xlsx"
    b = f"data/raw/khanh_hoa/{YEAR}/provincial.xlsx"
    assert f"{a} = {b}" in text and "byte-identical" in text and "giống hệt" in text
    assert all(w["severity"] == "warning" for w in repeats)
    (new / "provincial.xlsx").write_bytes((new / "provincial.xlsx").read_bytes() + b"\0")
    report = validate_tables(YEAR + 1, {}, project, write=False, docs=False)
    tables = {w["table"] for w in report.warnings if w["check"] == "raw.same_as_previous_year"}
    assert tables == {"commune", "satisfaction"}


def test_the_first_line_of_a_failure_says_what_failed(paths, tables):
    """A log or status line often keeps only the first line of an error: it names the
    check, the unit, the value and the raw file and row."""
    prov = tables["provincial"].copy()
    prov.loc[4, "score"] = 105.0
    report = validate_tables(
        YEAR, {"provincial": prov}, paths, only=["provincial"], write=False, docs=False
    )
    with pytest.raises(ValidationFailed) as exc:
        gate(report)
    first = str(exc.value).splitlines()[0]
    assert first.startswith(f"KHÔNG ĐẠT / FAILED {YEAR} (khanh_hoa): provincial.score.range")
    assert prov.loc[4, "unit_name"] in first and "105" in first
    assert f"{prov.loc[4, 'source_file']}, dòng / row {prov.loc[4, 'source_row']}" in first
    assert "KHÔNG ĐẠT" in str(exc.value) and "FAILED" in str(exc.value)
    # and what the value should have been, in both languages, before the file and row
    f = report.failures[0]
    wanted = f"(yêu cầu / expected {f['expected']['vi']}"
    assert wanted in first and f["expected"]["en"] in first
    assert first.index("105") < first.index(wanted) < first.index(prov.loc[4, "source_file"])


# -- the wide expectations: one per family of per-column checks ----------------------------------
def test_a_type_error_in_one_column_names_that_column(paths, tables):
    suite = committed_suites()["khanh_hoa-provincial"]
    wide = [e for e in suite["expectations"] if e["type"] == "expect_columns_to_be_in_type_lists"]
    assert len(wide) == 1 and len(wide[0]["meta"]["checks"]) > 10  # one expectation, every column
    df = tables["provincial"].copy()
    df["area_tthc"] = df["area_tthc"].astype(object)
    df.loc[2, "area_tthc"] = "cao"
    report = validate_tables(
        YEAR, {"provincial": df}, paths, only=["provincial"], write=False, docs=False
    )
    types = [f for f in report.failures if f["check"].endswith(".type")]
    assert [f["check"] for f in types] == ["provincial.area_tthc.type"]
    f = types[0]
    assert f["column"] == "area_tthc" and f["severity"] == "critical"
    assert f["expectation"] == "expect_column_values_to_be_in_type_list"  # the rule it applies
    assert "area_tthc" in f["description"]["vi"] and "area_tthc" in f["description"]["en"]
    assert f["description"]["vi"] != f["description"]["en"]
    assert [(u["unit_id"], u["value"]) for u in f["units"]] == [(df.loc[2, "unit_id"], "cao")]
    assert f["units"][0]["source_file"] and f["units"][0]["source_row"]
    # every column is still a check of its own in the counts
    t = report.tables["provincial"]
    assert t["expectations"] == len(checks_of(suite))
    failed = {x["check"] for x in report.failures + report.warnings}
    assert t["passed"] == t["expectations"] - len(failed)
    assert "provincial.area_tthc.type" in report.summary_text()


def test_a_missing_column_fails_its_own_type_and_not_null_checks(paths, tables):
    df = tables["commune"].drop(columns=["tier"])
    report = validate_tables(
        YEAR, {"commune": df}, paths, only=["commune"], write=False, docs=False
    )
    found = {f["check"]: f for f in report.failures}
    for check in ("commune.tier.type", "commune.tier.not_null"):
        assert check in found and found[check]["column"] == "tier"
        assert '"tier"' in found[check]["error"]  # the error names the column
    # the other columns' checks pass
    assert not [c for c in found if c.endswith((".type", ".not_null")) and ".tier." not in c]


def test_not_null_and_ranges_follow_the_row_condition_of_a_check():
    """A column required only in some years, a band for the units of one tier: a check's
    `row_condition` limits its rows, as GX's does."""
    from par_review.validation.expectations import columns_between, columns_not_null

    df = pd.DataFrame(
        {"year": [2024, 2025, 2026], "district": [None, None, "x"], "unit_id": list("abc")}
    )
    cond = {"column": {"name": "year"}, "operator": "<", "parameter": 2025, "type": "comparison"}
    [out] = columns_not_null(df, [{"column": "district", "row_condition": cond}], ["unit_id"])
    assert out["column"] == "district" and out["unexpected_count"] == 1
    assert out["unexpected_index_list"] == [{"unit_id": "a", "district": None}]
    text = df.assign(year=["abc", 2025, 2026])  # a text year cannot be compared: an error, as in GX
    assert "error" in columns_not_null(text, [{"column": "district", "row_condition": cond}], [])[0]
    # tier bands: a bound from the run's numbers, the upper one exclusive, one tier's rows only
    scores = pd.DataFrame({"unit_id": list("abcd"), "tier": ["tot", "tot", "kha", "kha"],
                           "score": [84.9, 90.0, 85.0, 70.0]})  # fmt: skip
    tier = lambda t: {"column": {"name": "tier"}, "operator": "==", "parameter": t}  # noqa: E731
    specs = [
        {"column": "score", "min_value": {"$PARAMETER": "band_tot_min"}, "row_condition": tier("tot")},
        {"column": "score", "min_value": {"$PARAMETER": "band_kha_min"},
         "max_value": {"$PARAMETER": "band_kha_max"}, "strict_max": True, "row_condition": tier("kha")},
    ]  # fmt: skip
    tot, kha = columns_between(
        scores, specs, ["unit_id"], {"band_tot_min": 85, "band_kha_min": 70, "band_kha_max": 85}
    )
    assert [r["unit_id"] for r in tot["unexpected_index_list"]] == ["a"]
    assert [r["unit_id"] for r in kha["unexpected_index_list"]] == ["c"]
    [missing] = columns_between(scores, specs[:1], ["unit_id"], {})
    assert missing["error"] == "No value found for $PARAMETER band_tot_min"


def test_the_metric_ids_within_a_run_are_gxs_own():
    """Within a suite's run, ids of plain kwargs come from a memo: the same as GX's, and
    kwargs GX tells apart (1 and True, 0.0 and -0.0, a list) stay apart."""
    from great_expectations.core.id_dict import IDDict

    from par_review.validation.gate import _configurations_kept

    cases = [
        {"column": "score"},
        {"column": "score", "batch_id": "b1", "row_condition": None},
        {"column": "score", "mostly": 1},
        {"column": "score", "mostly": True},
        {"column": "score", "mostly": 1.0},
        {"column": "score", "min_value": 0.0, "strict": False},
        {"column": "score", "min_value": -0.0, "strict": False},
        {"column_list": ["a", "b"], "batch_id": "b1"},
        {},
    ]
    own = [IDDict(c).to_id() for c in cases]
    with _configurations_kept():
        twice = [[IDDict(c).to_id() for c in cases] for _ in range(2)]
    assert len(set(own)) == len(own)  # GX tells every case apart, so a memo that mixed
    assert twice == [own, own]  # two of them up would fail here


def test_gx_is_left_as_it_was_after_a_run(paths, tables):
    from great_expectations.core.id_dict import IDDict
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    prop = Expectation.__dict__["configuration"]
    to_obj = ExpectationConfiguration.__dict__["to_domain_obj"]
    to_id = IDDict.__dict__["to_id"]
    validate_tables(YEAR, tables, paths, write=False, docs=False)
    assert Expectation.__dict__["configuration"] is prop  # the per-run memos are gone
    assert ExpectationConfiguration.__dict__["to_domain_obj"] is to_obj
    assert IDDict.__dict__["to_id"] is to_id
    engine = get_context(paths).data_sources.get("processed").get_execution_engine()
    assert len(engine._metric_cache) == 0  # no table's metrics are kept
