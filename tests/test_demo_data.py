"""The simulated demo dataset in data/raw/: it reproduces every published figure once
cleaned, spans the 2025 reorganisation (Khánh Hòa 2018-2026, Ninh Thuận 2024, lineage in
config/*/units.csv), and the seeded generator makes exactly the committed files (and the
test province tests/fixtures/provinces/tinh_mau)."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
import yaml

from par_review.clean.tables import clean_year, read_processed
from par_review.rawdata.registry import load_registry

REPO = Path(__file__).resolve().parents[1]
TIERS = ("tot", "kha", "trung_binh", "yeu")
DEMO_YEARS = list(range(2018, 2027))
OLD_STRUCTURE = range(2018, 2025)  # the old province, with districts
TINH_MAU = REPO / "tests" / "fixtures" / "provinces" / "tinh_mau"

# Tier counts (Tốt, Khá, Trung bình, Yếu), copied from ../shared/reference/khanhhoa_tier_counts.csv
# (sources: baokhanhhoa.vn 2018, cchc.khanhhoa.gov.vn 2019-2021, the 2023 notice for 2022 and
# communes 2021-2022). Kept here so that the test does not depend on that folder.
PUBLISHED_COUNTS = {
    ("provincial", 2018): (24, 18, 2, 0),
    ("provincial", 2019): (24, 19, 0, 1),
    ("provincial", 2020): (29, 11, 4, 0),
    ("provincial", 2021): (30, 13, 1, 0),
    ("provincial", 2022): (30, 13, 0, 0),
    ("commune", 2021): (70, 61, 5, 0),
    ("commune", 2022): (73, 63, 0, 0),
}
# 2018 per group, same file (verbatim rows).
PUBLISHED_2018_GROUPS = {
    "so_ban_nganh": (12, 9, 0, 0),
    "nganh_doc": (5, 1, 0, 0),
    "ubnd_cap_huyen": (3, 5, 0, 0),
    "don_vi_su_nghiep": (4, 3, 2, 0),
}
# The published per-unit scores, copied from ../shared/reference/khanhhoa_unit_scores_known.csv:
# (year, unit name as published, group, index %, what the article says about it).
KNOWN_SCORES = [
    (2018, "Sở Thông tin và Truyền thông", "so_ban_nganh", 95.20, "max"),
    (2018, "Sở Giáo dục và Đào tạo", "so_ban_nganh", 75.71, "min"),
    (2018, "Ngân hàng Nhà nước Chi nhánh tỉnh Khánh Hòa", "nganh_doc", 91.49, "max"),
    (2018, "Công an tỉnh", "nganh_doc", 84.00, "only_kha"),
    (2018, "UBND huyện Khánh Vĩnh", "ubnd_cap_huyen", 91.31, "max"),
    (2018, "UBND huyện Vạn Ninh", "ubnd_cap_huyen", 77.15, "min"),
    (2018, "Ban Quản lý dự án phát triển tỉnh", "don_vi_su_nghiep", 94.59, "max"),
    (2018, "Trường Đại học Khánh Hòa", "don_vi_su_nghiep", 65.32, "min"),
    (2020, "Thanh tra tỉnh", "so_ban_nganh", 96.86, "max"),
    (2020, "Ngân hàng Nhà nước Chi nhánh tỉnh Khánh Hòa", "nganh_doc", 96.43, "max"),
    (2020, "UBND huyện Khánh Vĩnh", "ubnd_cap_huyen", 91.04, "max"),
    (2020, "Ban Quản lý dự án phát triển tỉnh", "don_vi_su_nghiep", 94.00, "max"),
]


def counts(df) -> tuple[int, ...]:
    c = Counter(df["tier"])
    assert set(c) <= set(TIERS)
    return tuple(c.get(t, 0) for t in TIERS)


def test_every_raw_year_is_cleaned(demo_processed):
    assert demo_processed.raw_years() == DEMO_YEARS
    assert demo_processed.processed_years() == demo_processed.raw_years()


def test_2022_matches_the_notice_exactly(demo_processed):
    prov = read_processed(demo_processed, 2022, "provincial")
    com = read_processed(demo_processed, 2022, "commune")
    assert (counts(prov), len(prov)) == ((30, 13, 0, 0), 43)
    assert (counts(com), len(com)) == ((73, 63, 0, 0), 136)


@pytest.mark.parametrize("level,year", sorted(PUBLISHED_COUNTS))
def test_published_tier_counts(demo_processed, level, year):
    df = read_processed(demo_processed, year, level)
    assert counts(df) == PUBLISHED_COUNTS[(level, year)]
    assert len(df) == sum(PUBLISHED_COUNTS[(level, year)])


def test_2018_counts_per_group(demo_processed):
    df = read_processed(demo_processed, 2018, "provincial")
    for group, expected in PUBLISHED_2018_GROUPS.items():
        assert counts(df[df["group"] == group]) == expected, group


def test_simulated_commune_years_agree_with_the_notice(demo_processed):
    """No published counts for 2018-2020: 2019 has at least one Yếu; 2020-2022 have none."""
    assert counts(read_processed(demo_processed, 2019, "commune"))[3] >= 1
    for year in (2020, 2021, 2022):
        assert counts(read_processed(demo_processed, year, "commune"))[3] == 0
    for year in (2018, 2019, 2020):
        assert len(read_processed(demo_processed, year, "commune")) == 136


def test_known_scores_appear_exactly_with_their_unit(demo_processed, cfg):
    reg = load_registry(cfg.dir)
    for year, name, group, score, role in KNOWN_SCORES:
        unit = reg.match(name, "provincial", year)  # the published name is a name or alias
        df = read_processed(demo_processed, year, "provincial")
        row = df[df["unit_id"] == unit.unit_id]
        assert len(row) == 1, name
        assert row["score"].iloc[0] == score, (year, name)
        assert row["group"].iloc[0] == group
        peers = df[(df["group"] == group) & (df["unit_id"] != unit.unit_id)]
        if role == "max":
            assert (peers["score"] < score).all(), (year, name)
        elif role == "min":
            assert (peers["score"] > score).all(), (year, name)
        elif role == "only_kha":
            assert row["tier"].iloc[0] == "kha" and (peers["tier"] != "kha").all()


def test_every_unit_once_and_tiers_follow_the_bands(demo_processed, cfg):
    reg = load_registry(cfg.dir)
    for year in demo_processed.raw_years():
        for level in cfg.levels_for(year):
            df = read_processed(demo_processed, year, level)
            assert sorted(df["unit_id"]) == sorted(u.unit_id for u in reg.roster(year, level))
            expected = [cfg.tier_for_score(s, year, level) for s in df["score"]]
            assert df["tier"].tolist() == expected, (year, level)


def test_area_scores_add_up_to_the_total(demo_processed, cfg):
    for year in demo_processed.raw_years():
        for level in cfg.levels_for(year):
            df = read_processed(demo_processed, year, level)
            areas = cfg.areas(level, year)
            cols = [a.column for a in areas]
            assert df[cols].notna().all().all()
            diff = (df[cols].sum(axis=1) - df["score"]).abs()
            assert diff.max() < 0.005, (year, level, diff.max())
            for a in areas:
                assert df[a.column].between(0, a.max).all(), (year, level, a.id)


def test_satisfaction_2022(demo_processed, cfg):
    sat = read_processed(demo_processed, 2022, "satisfaction")
    reg = load_registry(cfg.dir)
    so = {u.unit_id for u in reg.roster(2022, "provincial") if u.group == "so_ban_nganh"}
    assert set(sat["unit_id"]) == so and len(sat) == len(so)
    assert round(sat["satisfaction_pct"].mean(), 2) == 82.77  # the notice: 82,77%
    assert set(sat["target_pct"]) == {83.0}  # against a target of 83%
    assert (sat["respondents"] > 0).all()


def test_national_indices_have_sources(demo_processed):
    nat = read_processed(demo_processed, 2022, "national_indices")
    assert {"PAR_INDEX", "SIPAS", "PAPI", "PCI"} <= set(nat["index"])
    known = nat[nat["value"].notna()]
    assert len(known) >= 8 and known["source_url"].str.startswith(("http", "notice")).all()
    assert nat["year"].max() <= 2022  # only the years up to the report year


def test_raw_files_are_shaped_like_real_appendices(demo_processed):
    raw = demo_processed.raw
    assert sorted(p.name for p in (raw / "2019").iterdir()) == ["commune.csv", "provincial.csv"]
    assert (raw / "2022" / "provincial.xlsx").exists() and (
        raw / "2022" / "satisfaction.xlsx"
    ).exists()
    text = (raw / "2019" / "commune.csv").read_text(encoding="utf-8-sig")
    assert "%" in text and '"97,' in text.replace(" ", "")  # comma decimals, % signs
    assert any("\u0300" <= ch <= "\u036f" for ch in text)  # NFD: combining marks
    ws = openpyxl.load_workbook(raw / "2022" / "provincial.xlsx").active
    assert ws.merged_cells.ranges  # merged headers
    renamed = read_processed(demo_processed, 2021, "commune").query("raw_name != unit_name")
    assert len(renamed) > 100  # 2021 uses bare commune names (aliases)


def run_generator(out: Path, fixtures: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "make_demo_data.py"),
            "--out",
            str(out),
            "--fixtures",
            str(fixtures),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def snapshot(folder: Path) -> dict[str, object]:
    """File -> bytes (CSV) or every sheet's cell values and merged ranges (xlsx)."""
    out: dict[str, object] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.suffix == ".csv":
            out[rel] = p.read_bytes()
        elif p.suffix == ".xlsx":
            wb = openpyxl.load_workbook(p)
            out[rel] = [
                (
                    ws.title,
                    [list(r) for r in ws.iter_rows(values_only=True)],
                    sorted(str(m) for m in ws.merged_cells.ranges),
                )
                for ws in wb.worksheets
            ]
    return out


# what the generator writes (under --out / --fixtures) -> the committed folder
GENERATED = {
    ("out", "khanh_hoa"): REPO / "data" / "raw" / "khanh_hoa",
    ("out", "ninh_thuan"): REPO / "data" / "raw" / "ninh_thuan",
    ("fixtures", "tinh_mau/data/raw/tinh_mau"): TINH_MAU / "data" / "raw" / "tinh_mau",
}


def test_generator_is_deterministic_and_makes_the_committed_data(tmp_path):
    runs = []
    for name in ("a", "b"):
        out, fx = tmp_path / name / "raw", tmp_path / name / "fixtures"
        run_generator(out, fx)
        runs.append({"out": out, "fixtures": fx})
    a, b = runs
    for (root, sub), committed_dir in GENERATED.items():
        da, db = a[root] / sub, b[root] / sub
        # two runs: the same bytes, workbooks included (no save time in them)
        files_a = sorted(p.relative_to(da) for p in da.rglob("*") if p.is_file())
        assert files_a, sub
        assert files_a == sorted(p.relative_to(db) for p in db.rglob("*") if p.is_file())
        for rel in files_a:
            assert (da / rel).read_bytes() == (db / rel).read_bytes(), (sub, rel)
        sa = snapshot(da)
        # the committed files: same CSV bytes, same cell values and merged ranges in the
        # workbooks (not compared byte for byte: another zlib may compress differently)
        committed = snapshot(committed_dir)
        if "national/national_indices.csv" not in sa:  # ../shared/reference not beside this clone
            committed.pop("national/national_indices.csv", None)
            committed.pop("national/par_index_components.csv", None)
        assert sorted(sa) == sorted(committed), sub
        for name in sa:
            assert sa[name] == committed[name], f"{committed_dir}/{name} differs from the generator"
    assert not (a["out"] / "tinh_mau").exists()  # the test province stays out of data/raw


def test_generator_writes_only_into_out(tmp_path):
    def stamps():
        return {
            p: p.stat().st_mtime_ns for d in GENERATED.values() for p in d.rglob("*") if p.is_file()
        }

    before = stamps()
    run_generator(tmp_path / "out", tmp_path / "fx")
    assert stamps() == before
    with (tmp_path / "out" / "khanh_hoa" / "2018" / "provincial.csv").open(
        encoding="utf-8-sig"
    ) as fh:
        assert len([r for r in csv.reader(fh) if r and r[0].isdigit()]) == 44


# ---------------------------------------------------------------------------------------
# The 2025 reorganisation in the demo (facts: ../shared/reference/restructure_2025.md).


def read_units(province: str, root: Path = REPO) -> list[dict[str, str]]:
    with (root / "config" / province / "units.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def valid_in(row: dict[str, str], year: int) -> bool:
    return int(row["valid_from"]) <= year and (not row["valid_to"] or year <= int(row["valid_to"]))


def province_yml(province: str, root: Path = REPO) -> dict:
    return yaml.safe_load((root / "config" / province / "province.yml").read_text("utf-8"))


def test_2023_and_2024_keep_the_2022_units(demo_processed):
    for level, n in (("provincial", 43), ("commune", 136)):
        units_2022 = sorted(read_processed(demo_processed, 2022, level)["unit_id"])
        for year in (2023, 2024):
            df = read_processed(demo_processed, year, level)
            assert sorted(df["unit_id"]) == units_2022 and len(df) == n, (level, year)
    # every unit of the old structure ends in 2024 at the latest
    for row in read_units("khanh_hoa"):
        if int(row["valid_from"]) < 2025:
            assert row["valid_to"] and int(row["valid_to"]) <= 2024, row["unit_id"]


@pytest.mark.parametrize("year", [2025, 2026])
def test_merged_roster(demo_processed, year):
    """65 commune-level units (48 xã, 16 phường, 1 đặc khu) and 14 sở/ngành, no district
    committees (restructure_2025.md)."""
    com = read_processed(demo_processed, year, "commune")
    assert len(com) == 65
    assert Counter(com["group"]) == {"xa": 48, "phuong": 16, "dac_khu": 1}
    prefix = {"xa": "Xã ", "phuong": "Phường ", "dac_khu": "Đặc khu "}
    assert all(n.startswith(prefix[g]) for n, g in zip(com["unit_name"], com["group"], strict=True))
    assert "Đặc khu Trường Sa" in set(com["unit_name"])
    assert (com["district"] == "").all()  # no district grouping any more
    prov = read_processed(demo_processed, year, "provincial")
    groups = Counter(prov["group"])
    assert groups["so_ban_nganh"] == 14 and "ubnd_cap_huyen" not in groups
    assert set(groups) == {"so_ban_nganh", "nganh_doc", "don_vi_su_nghiep"}


def test_merged_structure_in_the_config():
    data = province_yml("khanh_hoa")
    assert data["absorbed"] == [{"province": "ninh_thuan", "from": 2025}]
    (entry,) = data["structure"]
    assert entry["from"] == 2025
    assert entry["levels"]["commune"]["group_by"] is None
    assert entry["levels"]["commune"]["scored_by"]["vi"] == "UBND tỉnh"
    assert data["levels"]["commune"]["scored_by"]["vi"] == "UBND cấp huyện"
    assert "ubnd_cap_huyen" not in entry["groups"]
    assert {"xa", "phuong", "dac_khu"} <= set(entry["groups"])
    assert "huyện" not in entry["levels"]["provincial"]["title"]["vi"]
    intro = entry["wording"]["vi"]["results.intro.commune"]
    assert "cấp huyện" not in intro and "{year}" in intro
    comp = entry["comparability"]
    assert comp["provincial"]["basis"] == "matched_units"
    assert comp["commune"]["basis"] == "combined_baseline"
    assert all(c["reason"]["vi"] and c["reason"]["en"] for c in comp.values())


def test_every_predecessor_resolves():
    """successor_of names an id of config/khanh_hoa/units.csv or `ninh_thuan:<id>` of
    config/ninh_thuan/units.csv, which ended before its successor started."""
    own = {r["unit_id"]: r for r in read_units("khanh_hoa")}
    nt = {r["unit_id"]: r for r in read_units("ninh_thuan")}
    successors: dict[str, list[str]] = {}
    for row in own.values():
        for ref in filter(None, row["successor_of"].split("|")):
            province, _, uid = ref.rpartition(":")
            pred = {"": own, "ninh_thuan": nt}[province].get(uid)
            assert pred is not None, (row["unit_id"], ref)
            assert pred["level"] == row["level"], (row["unit_id"], ref)
            assert int(pred["valid_to"]) < int(row["valid_from"]), (row["unit_id"], ref)
            successors.setdefault(ref, []).append(row["unit_id"])
    new = [r for r in own.values() if r["valid_from"] == "2025"]
    # every unit of both provinces in 2024 that is still scored from 2025 has a successor
    old_communes = [u for u, r in own.items() if r["level"] == "commune" and valid_in(r, 2024)]
    assert all(u in successors for u in old_communes)
    assert all(f"ninh_thuan:{u}" in successors for u, r in nt.items() if r["level"] == "commune")
    old_so = [u for u, r in own.items() if r["group"] == "so_ban_nganh" and valid_in(r, 2024)]
    assert len(old_so) == 21 and all(u in successors for u in old_so)
    # about a third of the new communes come from the former Ninh Thuận
    com = [r for r in new if r["level"] == "commune"]
    from_nt = [r for r in com if "ninh_thuan:" in r["successor_of"]]
    assert 0.25 <= len(from_nt) / len(com) <= 0.45
    # every new commune has predecessors, except Trường Sa (its units were never scored)
    assert [r["name"] for r in com if not r["successor_of"]] == ["Đặc khu Trường Sa"]
    # the district committees end with no successor
    huyen = [u for u, r in own.items() if r["group"] == "ubnd_cap_huyen"]
    assert len(huyen) == 8 and not any(u in successors for u in huyen)
    # the registry code agrees (raises InputError on a bad reference)
    reg = load_registry(REPO / "config" / "khanh_hoa")
    assert len(reg.roster(2025, "commune")) == 65


def test_the_demo_has_a_split_and_a_rename():
    own = read_units("khanh_hoa")
    named: dict[str, list[dict]] = {}
    for r in own:
        for ref in filter(None, r["successor_of"].split("|")):
            named.setdefault(ref, []).append(r)
    by_id = {r["unit_id"]: r for r in own}
    for level in ("provincial", "commune"):
        # a split: one old unit whose only successors are two new units with it as sole predecessor
        splits = [
            ref
            for ref, succ in named.items()
            if by_id.get(ref, {}).get("level") == level
            and len(succ) == 2
            and all(s["successor_of"] == ref for s in succ)
        ]
        assert splits, level
        # a rename: one predecessor, one successor, another name
        renames = [
            succ[0]
            for ref, succ in named.items()
            if ref in by_id
            and by_id[ref]["level"] == level
            and len(succ) == 1
            and succ[0]["successor_of"] == ref
            and succ[0]["name"] != by_id[ref]["name"]
        ]
        assert renames, level


def test_ninh_thuan_2024_results(tmp_path):
    from conftest import make_project_copy

    paths = make_project_copy(tmp_path / "proj").of("ninh_thuan")
    assert paths.raw_years() == [2024]
    result = clean_year(2024, paths)
    prov, com = result.tables["provincial"], result.tables["commune"]
    assert len(prov) == len([r for r in read_units("ninh_thuan") if r["level"] == "provincial"])
    assert len(com) == 65 and com["district"].nunique() == 7
    from par_review.config import load_config

    cfg = load_config("ninh_thuan", paths)
    assert cfg.name("vi") == "Tỉnh Ninh Thuận" and cfg.report_languages == ["vi", "en"]
    for df, level in ((prov, "provincial"), (com, "commune")):
        assert df["tier"].tolist() == [cfg.tier_for_score(s, 2024, level) for s in df["score"]]
        cols = [a.column for a in cfg.areas(level, 2024)]
        assert ((df[cols].sum(axis=1) - df["score"]).abs() < 0.005).all()
    assert "satisfaction" not in result.tables
    readme = (REPO / "data" / "raw" / "ninh_thuan" / "README.md").read_text("utf-8")
    assert "SIMULATED" in readme and "mô phỏng" in readme


def test_national_indices_2023_to_2025(demo_processed):
    nat = read_processed(demo_processed, 2026, "national_indices")
    row = {(r["index"], r["year"]): r for r in nat.to_dict("records")}
    # real (../shared/reference/khanhhoa_national_indices.csv)
    for key, value, rank in (
        (("PAR_INDEX", 2024), 90.49, 10),
        (("SIPAS", 2024), 83.66, 30),
        (("PAR_INDEX", 2023), 88.60, 14),
        (("SIPAS", 2023), 81.09, 43),
    ):
        assert (row[key]["value"], row[key]["rank"], row[key]["rank_of"]) == (value, rank, 63)
    # 2025: simulated, out of 34, and says so; nothing for 2026
    sim = nat[nat["year"] == 2025]
    assert len(sim) >= 1
    assert (sim["rank_of"] == 34).all() and sim["basis"].str.startswith("simulated").all()
    assert (nat[nat["year"] < 2025]["rank_of"] != 34).all()
    assert not (nat["year"] == 2026).any()
    assert not nat[nat["basis"].str.startswith("simulated")]["year"].lt(2025).any()


def test_targets_for_the_new_years(demo_processed, cfg):
    assert cfg.targets(2022)["satisfaction"]["value"] == 83.0  # the notice
    assert cfg.targets(2023) == {} and cfg.targets(2026) == {}  # the pipeline warns
    for year in (2024, 2025):
        assert "SIMULATED" in cfg.targets(year)["satisfaction"]["source"]
    reg = load_registry(cfg.dir)
    for year in (2023, 2024, 2025, 2026):
        sat = read_processed(demo_processed, year, "satisfaction")
        so = {u.unit_id for u in reg.roster(year, "provincial") if u.group == "so_ban_nganh"}
        assert set(sat["unit_id"]) == so, year
        target = cfg.targets(year).get("satisfaction", {}).get("value")
        assert (
            (sat["target_pct"].isna().all())
            if target is None
            else (sat["target_pct"] == target).all()
        )


def test_the_readme_covers_every_year():
    text = (REPO / "data" / "raw" / "khanh_hoa" / "README.md").read_text("utf-8")
    for phrase in ("2023", "2024", "2025", "2026", "Ninh Thuận", "successor_of", "SIMULATED"):
        assert phrase in text, phrase


def test_tinh_mau_fixture():
    """The second province of issue 11: one level, 3 tiers, no tier column, 2 areas, no
    national indices, no satisfaction, two languages, at most 10 units."""
    data = province_yml("tinh_mau", TINH_MAU)
    assert len(data["levels"]) == 1 and [t["label"]["vi"] for t in data["tiers"]] == [
        "Tốt",
        "Khá",
        "Kém",
    ]
    (level,) = data["levels"]
    assert len(data["areas"][level]) == 2 and data["report_languages"] == ["vi", "en"]
    assert "national_indices" not in data and "targets" not in data
    units = read_units("tinh_mau", TINH_MAU)
    assert 0 < len(units) <= 10
    raw = TINH_MAU / "data" / "raw" / "tinh_mau"
    years = sorted(p.name for p in raw.iterdir() if p.is_dir())
    assert years == ["2023", "2024"]
    assert "SIMULATED" in (raw / "README.md").read_text("utf-8")
    assert not (raw / "national").exists()
    bands = data["bands"]["default"]
    maxes = [a["max"] for a in data["areas"][level]]
    seen = Counter()
    for year in years:
        files = sorted(p.name for p in (raw / year).iterdir())
        assert files == [f"{data['levels'][level]['input']}.csv"]
        with (raw / year / files[0]).open(encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        header = rows[1]
        assert not any(h in data["columns"]["tier"] for h in header)  # no tier column
        body = [r for r in rows[2:] if r and r[0].isdigit()]
        assert sorted(r[1] for r in body) == sorted(u["name"] for u in units)
        for r in body:
            pts = [float(x.replace(",", ".")) for x in r[2:4]]
            score = float(r[4].replace(",", "."))
            assert (
                all(0 <= p <= m for p, m in zip(pts, maxes, strict=True))
                and abs(sum(pts) - score) < 0.005
            )
            tier = next(t for t in ("tot", "kha", "kem") if score >= bands[t])
            seen[tier] += 1
    assert set(seen) == {"tot", "kha", "kem"}  # every tier occurs once derived
    assert not (REPO / "config" / "tinh_mau").exists()
    assert not (REPO / "data" / "raw" / "tinh_mau").exists()


def test_tinh_mau_cleans_with_tiers_from_the_bands(tmp_path):
    import shutil

    from conftest import make_project_copy

    from par_review.config import load_config

    paths = make_project_copy(tmp_path / "proj")
    shutil.copytree(TINH_MAU / "config" / "tinh_mau", paths.root / "config" / "tinh_mau")
    shutil.copytree(
        TINH_MAU / "data" / "raw" / "tinh_mau", paths.root / "data" / "raw" / "tinh_mau"
    )
    tm = paths.of("tinh_mau")
    cfg = load_config("tinh_mau", tm)
    (level,) = cfg.levels_for(2024)
    assert tm.raw_years() == [2023, 2024]
    for year in tm.raw_years():
        df = clean_year(year, tm).tables[level]
        assert len(df) == 9
        assert df["tier"].tolist() == [cfg.tier_for_score(s, year, level) for s in df["score"]]
        assert set(df["tier"]) == {"tot", "kha", "kem"}
        assert set(df["group"]) == set(cfg.groups_for(year))
    # the checkout's own provinces are untouched by the copy
    assert not (REPO / "data" / "processed" / "tinh_mau").exists()
