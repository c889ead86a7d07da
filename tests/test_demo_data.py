"""The simulated demo dataset in data/raw/: it reproduces every published figure once
cleaned, and the seeded generator makes exactly the committed files."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from par_review.clean.tables import read_processed
from par_review.rawdata.registry import load_registry

REPO = Path(__file__).resolve().parents[1]
TIERS = ("tot", "kha", "trung_binh", "yeu")

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
    assert demo_processed.raw_years() == [2018, 2019, 2020, 2021, 2022]
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
        for level in ("provincial", "commune"):
            df = read_processed(demo_processed, year, level)
            assert sorted(df["unit_id"]) == sorted(u.unit_id for u in reg.roster(year, level))
            expected = [cfg.tier_for_score(s, year, level) for s in df["score"]]
            assert df["tier"].tolist() == expected, (year, level)


def test_area_scores_add_up_to_the_total(demo_processed, cfg):
    for year in demo_processed.raw_years():
        for level in ("provincial", "commune"):
            df = read_processed(demo_processed, year, level)
            areas = cfg.areas(level)
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


def run_generator(out: Path) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_demo_data.py"), "--out", str(out)],
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


def test_generator_is_deterministic_and_makes_the_committed_data(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run_generator(a)
    run_generator(b)
    # two runs: the same bytes, workbooks included (no save time in them)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    sa = snapshot(a)
    assert any(k.endswith(".xlsx") for k in sa) and any(k.endswith(".csv") for k in sa)
    # the committed files: same CSV bytes, same cell values and merged ranges in the workbooks
    # (not compared byte for byte: another zlib may compress differently)
    committed = snapshot(REPO / "data" / "raw" / "khanh_hoa")
    if "national/national_indices.csv" not in sa:  # ../shared/reference not beside this clone
        committed.pop("national/national_indices.csv", None)
    assert sorted(sa) == sorted(committed)
    for name in sa:
        assert sa[name] == committed[name], (
            f"data/raw/khanh_hoa/{name} differs from what the generator makes"
        )


def test_generator_writes_only_into_out(tmp_path):
    before = {
        p: p.stat().st_mtime_ns
        for p in (REPO / "data" / "raw" / "khanh_hoa").rglob("*")
        if p.is_file()
    }
    run_generator(tmp_path / "out")
    after = {
        p: p.stat().st_mtime_ns
        for p in (REPO / "data" / "raw" / "khanh_hoa").rglob("*")
        if p.is_file()
    }
    assert before == after
    with (tmp_path / "out" / "2018" / "provincial.csv").open(encoding="utf-8-sig") as fh:
        assert len([r for r in csv.reader(fh) if r and r[0].isdigit()]) == 44
