#!/usr/bin/env python
"""Generate the SIMULATED demo dataset in data/raw/ (seeded: same bytes every run).

Khánh Hòa 2018-2026 (data/raw/khanh_hoa/), Ninh Thuận 2024 (data/raw/ninh_thuan/, the
province absorbed in 2025) and the small test province `tinh_mau`
(tests/fixtures/provinces/tinh_mau/data/raw/tinh_mau/).

What is real (copied from ../shared/reference, sources in data/raw/khanh_hoa/README.md):
- the roster of 136 communes in 8 districts and the 2021 composition of provincial units;
- the tier counts per year (provincial 2018-2022, communes 2021-2022, 2018 per group);
- the per-unit scores published for 2018 and 2020 (they appear exactly);
- the 2022 satisfaction result of the sở bloc (82.77%) and its target (83%);
- the national index table (2019-2024);
- the counts of the 2025 structure: 65 commune-level units (48 xã, 16 phường, 1 đặc khu),
  14 sở (from 21), no district level.
What is simulated: every other per-unit score, the area scores, commune counts for
2018-2020, satisfaction per unit, the names marked "assumed" in config/*/units.csv, the
2022 merger that takes the roster from 44 to 43 units, every figure of 2023-2026 (except
the national indices 2023-2024), the 2025 lineage (which old units form each new one),
Ninh Thuận's roster and results, the 2025 national results (basis "simulated: ...") and the
whole tinh_mau province.

The years 2018-2022 are drawn first from the same seeded stream as before the later years
were added, so their files do not change; every later year has its own seeded stream.

    python scripts/make_demo_data.py [--out data/raw] [--fixtures tests/fixtures/provinces]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from par_review.config import load_config  # noqa: E402
from par_review.paths import Paths  # noqa: E402
from par_review.rawdata.registry import load_registry  # noqa: E402

SEED = 20230228  # the date of the conference that the 2023 notice concludes
YEARS = [2018, 2019, 2020, 2021, 2022]  # the first stream (do not add years here)
NEW_YEARS = [2023, 2024, 2025, 2026]  # Khánh Hòa: 2023-2024 old structure, 2025- merged
MERGER = 2025
ABSORBED = "ninh_thuan"
ABSORBED_YEARS = [2024]
TIERS = ["tot", "kha", "trung_binh", "yeu"]

# Real tier counts (khanhhoa_tier_counts.csv). Commune 2018-2020 are SIMULATED, chosen to
# agree with the notice: 2019 has Yếu units, 2020-2022 have none ("năm thứ 3 liên tiếp").
COUNTS = {
    ("provincial", 2018): (24, 18, 2, 0),
    ("provincial", 2019): (24, 19, 0, 1),
    ("provincial", 2020): (29, 11, 4, 0),
    ("provincial", 2021): (30, 13, 1, 0),
    ("provincial", 2022): (30, 13, 0, 0),
    ("commune", 2018): (41, 78, 15, 2),  # simulated
    ("commune", 2019): (55, 70, 9, 2),  # simulated (at least one Yếu)
    ("commune", 2020): (62, 66, 8, 0),  # simulated (no Yếu)
    ("commune", 2021): (70, 61, 5, 0),
    ("commune", 2022): (73, 63, 0, 0),
}
# SIMULATED counts of the later years (nothing published): 2023-2024 in the old structure
# (43 provincial units, 136 communes), 2025-2026 in the merged one (30 provincial units:
# 14 sở/ngành, 6 ngành dọc, 10 ĐVSN; 65 commune-level units).
NEW_COUNTS = {
    ("provincial", 2023): (31, 12, 0, 0),
    ("commune", 2023): (78, 58, 0, 0),
    ("provincial", 2024): (33, 10, 0, 0),
    ("commune", 2024): (84, 51, 1, 0),
    ("provincial", 2025): (21, 9, 0, 0),
    ("commune", 2025): (29, 34, 2, 0),
    ("provincial", 2026): (23, 7, 0, 0),
    ("commune", 2026): (33, 31, 1, 0),
}
ABSORBED_COUNTS = {  # Ninh Thuận 2024, SIMULATED (34 provincial units, 65 communes)
    ("provincial", 2024): (19, 13, 2, 0),
    ("commune", 2024): (27, 34, 4, 0),
}
# SIMULATED satisfaction of the sở bloc (mean per year); targets in province.yml.
SATISFACTION_NEW = {2023: 83.41, 2024: 84.32, 2025: 84.61, 2026: 85.40}
# SIMULATED national results of 2025: out of 34 provinces (not comparable with x/63).
NATIONAL_2025 = [
    ("PAR_INDEX", 2025, "91.02", "pct", "8", "34"),
    ("SIPAS", 2025, "85.10", "pct", "15", "34"),
]
NATIONAL_2025_BASIS = (
    "simulated: demo value (mô phỏng), not a published result; the 2025 national results "
    "were not available; ranks out of 34 provinces"
)
# 2018 per group (verbatim).
GROUP_COUNTS_2018 = {
    "so_ban_nganh": (12, 9, 0, 0),
    "nganh_doc": (5, 1, 0, 0),
    "ubnd_cap_huyen": (3, 5, 0, 0),
    "don_vi_su_nghiep": (4, 3, 2, 0),
}
# Published per-unit scores (khanhhoa_unit_scores_known.csv): (year, unit_id, score, role)
KNOWN = [
    (2018, "p-so-tttt", 95.20, "max"),
    (2018, "p-so-gddt", 75.71, "min"),
    (2018, "p-nhnn", 91.49, "max"),
    (2018, "p-cong-an", 84.00, "only_kha"),
    (2018, "p-ubnd-khanh-vinh", 91.31, "max"),
    (2018, "p-ubnd-van-ninh", 77.15, "min"),
    (2018, "p-bqlda-pt", 94.59, "max"),
    (2018, "p-dh-khanh-hoa", 65.32, "min"),
    (2020, "p-thanh-tra", 96.86, "max"),
    (2020, "p-nhnn", 96.43, "max"),
    (2020, "p-ubnd-khanh-vinh", 91.04, "max"),
    (2020, "p-bqlda-pt", 94.00, "max"),
]
SATISFACTION_2022 = 82.77  # the sở bloc's result in the notice (target 83%)
BAND_RANGE = {
    "tot": (85.0, 98.5),
    "kha": (70.0, 84.99),
    "trung_binh": (55.0, 69.99),
    "yeu": (38.0, 49.99),
}


def assign(units, counts, latent, rng, fixed):
    """Tiers by rank of latent quality + noise, honouring fixed tiers; returns {id: tier}."""
    order = sorted(
        (u for u in units if u not in fixed), key=lambda u: -(latent[u] + rng.gauss(0, 0.6))
    )
    remaining = list(counts)
    for t in fixed.values():
        remaining[TIERS.index(t)] -= 1
    out = dict(fixed)
    i = 0
    for k, n in enumerate(remaining):
        assert n >= 0, (counts, fixed)
        for u in order[i : i + n]:
            out[u] = TIERS[k]
        i += n
    assert i == len(order), (len(order), counts)
    return out


def draw_scores(units, tiers, rng, bounds):
    """A score in the tier's band, within (lo, hi) bounds from published extremes."""
    scores = {}
    for u in units:
        lo, hi = BAND_RANGE[tiers[u]]
        blo, bhi = bounds.get(u, (None, None))
        lo = max(lo, blo + 0.01) if blo is not None else lo
        hi = min(hi, bhi - 0.01) if bhi is not None else hi
        assert lo <= hi, (u, lo, hi)
        scores[u] = round(rng.uniform(lo, hi), 2)
    return scores


def split_areas(total, areas, rng):
    """Area points (2 decimals) with 0 <= a <= max and sum exactly `total`."""
    maxes = [a.max for a in areas]
    share = total / 100.0
    raw = [m * min(1.0, max(0.0, share + rng.gauss(0, 0.06))) for m in maxes]
    cents = [int(round(x * 100)) for x in raw]
    want = int(round(total * 100))
    caps = [int(round(m * 100)) for m in maxes]
    diff = want - sum(cents)
    guard = 0
    while diff != 0 and guard < 100000:
        k = rng.randrange(len(cents))
        step = 1 if diff > 0 else -1
        if 0 <= cents[k] + step <= caps[k]:
            cents[k] += step
            diff -= step
        guard += 1
    assert sum(cents) == want
    return [c / 100 for c in cents]


def generate(rng):
    paths = Paths.from_root(ROOT)
    cfg = load_config("khanh_hoa", paths)
    reg = load_registry(cfg.dir)
    first = [u for u in reg.units if u.valid_from <= YEARS[-1]]  # the units of the first stream
    latent = {u.unit_id: rng.gauss(0, 1) for u in first}
    # the merged 2022 unit inherits its predecessors' quality
    for u in first:
        if u.successor_of:
            latent[u.unit_id] = sum(latent[p] for p in u.successor_of) / len(u.successor_of)
    data = {}
    for (level, year), counts in sorted(COUNTS.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        roster = [u.unit_id for u in reg.roster(year, level)]
        assert len(roster) == sum(counts), (level, year, len(roster), counts)
        known = {uid: (s, role) for (y, uid, s, role) in KNOWN if y == year and uid in roster}
        fixed = {uid: cfg.tier_for_score(s, year, level) for uid, (s, _) in known.items()}
        for uid in roster:  # persistence: last year's quality drifts a little
            latent[uid] += rng.gauss(0, 0.35)
        if level == "provincial" and year == 2018:
            tiers = {}
            for g, gc in GROUP_COUNTS_2018.items():
                members = [u for u in roster if reg.by_id[u].group == g]
                tiers.update(
                    assign(
                        members, gc, latent, rng, {u: t for u, t in fixed.items() if u in members}
                    )
                )
        else:
            tiers = assign(roster, counts, latent, rng, fixed)
        # bounds: others in a group stay below a published maximum / above a minimum
        bounds = {}
        for uid, (s, role) in known.items():
            g = reg.by_id[uid].group
            for other in roster:
                if other == uid or reg.by_id[other].group != g or other in known:
                    continue
                lo, hi = bounds.get(other, (None, None))
                if role == "max":
                    hi = s if hi is None else min(hi, s)
                elif role == "min":
                    lo = s if lo is None else max(lo, s)
                bounds[other] = (lo, hi)
        scores = draw_scores([u for u in roster if u not in known], tiers, rng, bounds)
        scores.update({uid: s for uid, (s, _) in known.items()})
        areas = cfg.areas(level)
        data[(level, year)] = [
            (uid, scores[uid], split_areas(scores[uid], areas, rng), tiers[uid]) for uid in roster
        ]
    # satisfaction 2022 for the sở bloc: per-unit values whose mean is exactly 82.77
    so = [u.unit_id for u in reg.roster(2022, "provincial") if u.group == "so_ban_nganh"]
    cents = [int(round(min(95.0, max(70.0, rng.gauss(SATISFACTION_2022, 4.0))) * 100)) for _ in so]
    diff = int(round(SATISFACTION_2022 * 100)) * len(so) - sum(cents)
    for k in range(abs(diff)):
        cents[k % len(cents)] += 1 if diff > 0 else -1
    assert sum(cents) == int(round(SATISFACTION_2022 * 100)) * len(so)
    sat = [(uid, rng.randrange(180, 620), c / 100) for uid, c in zip(so, cents, strict=True)]
    return cfg, reg, data, sat, latent


def simulate_year(cfg, reg, level, year, counts, latent, rng):
    """One SIMULATED year of one level: tiers by latent quality, scores in the tier's band,
    area points that add up; rows as the first stream makes them."""
    roster = [u.unit_id for u in reg.roster(year, level)]
    assert len(roster) == sum(counts), (cfg.id, level, year, len(roster), counts)
    for uid in roster:
        latent[uid] += rng.gauss(0, 0.35)
    tiers = assign(roster, counts, latent, rng, {})
    scores = draw_scores(roster, tiers, rng, {})
    areas = cfg.areas(level, year)
    return [(uid, scores[uid], split_areas(scores[uid], areas, rng), tiers[uid]) for uid in roster]


def satisfaction_of(units, mean, rng):
    """Per-unit satisfaction (respondents, %) whose mean is exactly `mean`."""
    cents = [int(round(min(95.0, max(70.0, rng.gauss(mean, 4.0))) * 100)) for _ in units]
    diff = int(round(mean * 100)) * len(units) - sum(cents)
    for k in range(abs(diff)):
        cents[k % len(cents)] += 1 if diff > 0 else -1
    assert sum(cents) == int(round(mean * 100)) * len(units)
    return [(uid, rng.randrange(180, 620), c / 100) for uid, c in zip(units, cents, strict=True)]


def generate_later(cfg, reg, latent):
    """Ninh Thuận 2024 and Khánh Hòa 2023-2026 (all SIMULATED), each from its own stream."""
    paths = Paths.from_root(ROOT)
    nt_cfg = load_config(ABSORBED, paths)
    nt_reg = load_registry(nt_cfg.dir)
    nt_rng = random.Random(SEED + 10)
    nt_latent = {u.unit_id: nt_rng.gauss(-0.2, 1) for u in nt_reg.units}
    nt_data = {
        (level, year): simulate_year(nt_cfg, nt_reg, level, year, counts, nt_latent, nt_rng)
        for (level, year), counts in sorted(ABSORBED_COUNTS.items(), key=lambda kv: kv[0][::-1])
    }
    rng = random.Random(SEED + 2)
    data, sat = {}, {}
    for year in NEW_YEARS:
        if year == MERGER:  # a new unit starts from the mean quality of its predecessors
            for u in reg.units:
                if u.valid_from != MERGER:
                    continue
                preds = [
                    nt_latent[p.split(":", 1)[1]] if ":" in p else latent[p] for p in u.successor_of
                ]
                latent[u.unit_id] = sum(preds) / len(preds) if preds else rng.gauss(0, 1)
        for level in ("provincial", "commune"):
            counts = NEW_COUNTS[(level, year)]
            data[(level, year)] = simulate_year(cfg, reg, level, year, counts, latent, rng)
        so = [u.unit_id for u in reg.roster(year, "provincial") if u.group == "so_ban_nganh"]
        sat[year] = satisfaction_of(so, SATISFACTION_NEW[year], rng)
    return (nt_cfg, nt_reg, nt_data), data, sat


# ---------------------------------------------------------------------------------------
# Shaping: how a Department of Home Affairs sends its appendices.
TIER_VI = {"tot": "Tốt", "kha": "Khá", "trung_binh": "Trung bình", "yeu": "Yếu"}
GROUP_SECTION = {
    "so_ban_nganh": "I. SỞ, BAN, NGÀNH",
    "ubnd_cap_huyen": "II. UBND CÁC HUYỆN, THỊ XÃ, THÀNH PHỐ",
    "nganh_doc": "III. CƠ QUAN NGÀNH DỌC",
    "don_vi_su_nghiep": "IV. ĐƠN VỊ SỰ NGHIỆP",
}
# From 2025: no district committees, and the communes are listed by type, not by district.
GROUP_SECTION_MERGED = {
    "so_ban_nganh": "I. SỞ, BAN, NGÀNH",
    "nganh_doc": "II. CƠ QUAN NGÀNH DỌC",
    "don_vi_su_nghiep": "III. ĐƠN VỊ SỰ NGHIỆP",
    "phuong": "I. PHƯỜNG",
    "xa": "II. XÃ",
    "dac_khu": "III. ĐẶC KHU",
}
PROVINCE_HEADER = {"khanh_hoa": "UBND TỈNH KHÁNH HÒA", "ninh_thuan": "UBND TỈNH NINH THUẬN"}


def merged(year):
    return year >= MERGER


def vi_num(x, pct=False):
    s = f"{x:.2f}".replace(".", ",")
    return s + "%" if pct else s


def name_variant(unit, year, rng):
    """The name as that year's file spells it: aliases, NFD, stray spaces, upper case."""
    name = unit.name
    if year == 2021 and unit.aliases:
        name = unit.aliases[0]
    if year == 2019:
        name = unicodedata.normalize("NFD", name)
    if year == 2020 and rng.random() < 0.15:
        name = name.upper()
    if year in (2020, 2022, 2024, 2026) and rng.random() < 0.1:
        name = "  " + name.replace(" ", "  ", 1) + " "
    return name


def ordered(rows, reg, level, year=None):
    if year is not None and merged(year):
        grp = list(GROUP_SECTION_MERGED)
        return sorted(rows, key=lambda r: (grp.index(reg.by_id[r[0]].group), -r[1]))
    if level == "provincial":
        grp = list(GROUP_SECTION)
        return sorted(rows, key=lambda r: (grp.index(reg.by_id[r[0]].group), -r[1]))
    return sorted(rows, key=lambda r: (reg.by_id[r[0]].district_code, -r[1]))


def write_csv(path, level, year, rows, reg, cfg, rng):
    areas = cfg.areas(level)
    name_col = "Tên cơ quan, đơn vị" if level == "provincial" else "Tên xã, phường, thị trấn"
    header = (
        ["STT", name_col]
        + (["Huyện, thị xã, thành phố"] if level == "commune" else [])
        + [a.label("vi") for a in areas]
        + ["Chỉ số CCHC (%)", "Xếp loại"]
    )
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow([f"KẾT QUẢ XẾP HẠNG CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM {year}"])
        w.writerow(header)
        for i, (uid, score, pts, tier) in enumerate(ordered(rows, reg, level), 1):
            u = reg.by_id[uid]
            label = TIER_VI[tier]
            label = (
                label.upper()
                if (year == 2019 and i % 3 == 0)
                else label.lower()
                if (year == 2019 and i % 3 == 1)
                else label
            )
            w.writerow(
                [i, name_variant(u, year, rng)]
                + ([u.district] if level == "commune" else [])
                + [vi_num(p) for p in pts]
                + [" " + vi_num(score, pct=True) + " ", label]
            )


def write_xlsx(path, level, year, rows, reg, cfg, rng):
    import openpyxl
    from openpyxl.styles import Alignment, Font

    areas = cfg.areas(level, year)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "PL1" if level == "provincial" else "PL2"
    by_district = level == "commune" and not merged(year)
    ncols = 2 + (1 if by_district else 0) + len(areas) + 3
    bold = Font(bold=True)
    ws["A1"] = PROVINCE_HEADER[cfg.id]
    ws["A2"] = "SỞ NỘI VỤ"
    ws["E1"] = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    ws["E2"] = "Độc lập - Tự do - Hạnh phúc"
    what = (
        "CÁC CƠ QUAN, ĐƠN VỊ CẤP TỈNH"
        if level == "provincial"
        else "UBND CÁC XÃ, PHƯỜNG, THỊ TRẤN"
        if by_district
        else "UBND CÁC XÃ, PHƯỜNG, ĐẶC KHU"
    )
    ws["A4"] = f"PHỤ LỤC {'I' if level == 'provincial' else 'II'}"
    ws["A5"] = f"KẾT QUẢ XẾP HẠNG CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM {year} {what}"
    ws["A6"] = "(Dữ liệu mô phỏng / SIMULATED demo data)"
    for r in (4, 5, 6):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
        ws.cell(r, 1).alignment = Alignment(horizontal="center")
        ws.cell(r, 1).font = bold
    h1, h2 = 8, 9
    col = 1
    fixed_cols = [
        "STT",
        "Tên cơ quan, đơn vị"
        if level == "provincial"
        else "Tên xã, phường, thị trấn"
        if by_district
        else "Tên xã, phường, đặc khu",
    ]
    if by_district:
        fixed_cols.append("Huyện, thị xã, thành phố")
    for label in fixed_cols:
        ws.cell(h1, col, label).font = bold
        ws.merge_cells(start_row=h1, start_column=col, end_row=h2, end_column=col)
        col += 1
    ws.cell(h1, col, "Điểm theo lĩnh vực").font = bold
    ws.merge_cells(start_row=h1, start_column=col, end_row=h1, end_column=col + len(areas) - 1)
    for a in areas:
        ws.cell(h2, col, a.label("vi")).font = bold
        col += 1
    for label in ("Tổng điểm", "Chỉ số CCHC (%)", "Xếp loại"):
        ws.cell(h1, col, label).font = bold
        ws.merge_cells(start_row=h1, start_column=col, end_row=h2, end_column=col)
        col += 1
    r = h2 + 1
    current = None
    for i, (uid, score, pts, tier) in enumerate(ordered(rows, reg, level, year), 1):
        u = reg.by_id[uid]
        numbered = not by_district
        section = (
            GROUP_SECTION_MERGED[u.group]
            if merged(year)
            else GROUP_SECTION[u.group]
            if level == "provincial"
            else u.district
        )
        if section != current:
            ws.cell(r, 1, section.split(".")[0] if numbered else None)
            ws.cell(r, 2, section.split(". ", 1)[-1] if numbered else section.upper()).font = bold
            current = section
            r += 1
        values = (
            [i, name_variant(u, year, rng)]
            + ([u.district] if by_district else [])
            + list(pts)
            + [
                score,
                score,
                TIER_VI[tier]
                if year != 2020
                else TIER_VI[tier].replace("ố", "o").replace("á", "a"),
            ]
        )
        for j, v in enumerate(values, 1):
            ws.cell(r, j, v)
        r += 1
    mean = round(sum(x[1] for x in rows) / len(rows), 2)
    ws.cell(r, 2, "Điểm trung bình").font = bold
    ws.cell(r, ncols - 1, mean)
    ws.column_dimensions["B"].width = 48
    wb.properties.creator = "par-review demo generator"
    wb.properties.created = wb.properties.modified = dt.datetime(2023, 1, 15)
    wb.save(path)
    make_reproducible(path)


FIXED_ZIP_TIME = (2023, 1, 15, 0, 0, 0)


def make_reproducible(path):
    """Same bytes on every run: openpyxl stamps the save time into docProps/core.xml
    (dcterms:modified) and into every zip entry; pin both to the dataset's date."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        members = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>2023-01-15T00:00:00Z\g<2>",
                    data,
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            z.writestr(fixed, data)


def write_satisfaction(path, year, sat, reg):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "SIPAS"
    ws["A1"] = "UBND TỈNH KHÁNH HÒA"
    ws["A3"] = f"KẾT QUẢ ĐO LƯỜNG SỰ HÀI LÒNG CỦA NGƯỜI DÂN, TỔ CHỨC NĂM {year} - KHỐI CƠ QUAN SỞ"
    ws["A4"] = (
        "(Dữ liệu mô phỏng / SIMULATED demo data; kết quả chung 82,77% là số liệu thật)"
        if year == 2022
        else "(Dữ liệu mô phỏng / SIMULATED demo data; tất cả số liệu là mô phỏng)"
    )
    ws.append([])
    ws.append(["STT", "Tên cơ quan, đơn vị", "Số phiếu khảo sát", "Chỉ số hài lòng (%)"])
    for i, (uid, n, pct) in enumerate(sorted(sat, key=lambda s: -s[2]), 1):
        ws.append([i, reg.by_id[uid].name, n, pct])
    ws.append(
        [
            None,
            "Chỉ số hài lòng chung khối cơ quan Sở",
            None,
            round(sum(s[2] for s in sat) / len(sat), 2),
        ]
    )
    wb.properties.created = wb.properties.modified = dt.datetime(2023, 1, 15)
    wb.save(path)
    make_reproducible(path)


def write_national(path):
    src = ROOT.parent / "shared" / "reference" / "khanhhoa_national_indices.csv"
    rows = list(csv.DictReader(src.open(encoding="utf-8")))
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["index", "year", "value", "unit", "rank", "rank_of", "basis", "source_url"])
        for r in rows:
            w.writerow(
                [
                    r["index"],
                    r["year"],
                    r["khanhhoa_value"],
                    r["unit"],
                    r["khanhhoa_rank"],
                    r["rank_of"],
                    r["basis"],
                    r["source_url"],
                ]
            )
        for index, year, value, unit, rank, rank_of in NATIONAL_2025:
            w.writerow([index, year, value, unit, rank, rank_of, NATIONAL_2025_BASIS, ""])


def write_components(path):
    """The PAR INDEX 2022 components by area (real figures, copied from the reference with
    their basis); the rank of 63 where the sources give one."""
    src = ROOT.parent / "shared" / "reference" / "khanhhoa_par2022_components.csv"
    rows = list(csv.DictReader(src.open(encoding="utf-8")))
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            ["year", "component_vi", "component_en", "value_pct", "rank", "rank_of", "basis"]
        )
        for r in rows:
            w.writerow(
                [
                    2022,
                    r["component_vi"],
                    r["component_en"],
                    r["khanhhoa_pct"],
                    r["khanhhoa_rank_of_63"],
                    63,
                    r["basis"],
                ]
            )


# ---------------------------------------------------------------------------------------
# Tỉnh Mẫu: the small SIMULATED test province (one level, 3 tiers, no tier column, 2 areas).
TINH_MAU_YEARS = {2023: (4, 4, 1), 2024: (5, 3, 1)}  # Tốt, Khá, Kém
TINH_MAU_RANGE = {"tot": (80.0, 96.0), "kha": (65.0, 79.99), "kem": (48.0, 64.99)}


TINH_MAU = ROOT / "tests" / "fixtures" / "provinces" / "tinh_mau"


def write_tinh_mau(root):
    """<root>/data/raw/tinh_mau/<year>/co_quan.csv, from the committed fixture's config
    (tests/fixtures/provinces/tinh_mau/config/tinh_mau/)."""
    cfg = load_config("tinh_mau", Paths.from_root(TINH_MAU).of("tinh_mau"))
    paths = Paths.from_root(root).of("tinh_mau")
    reg = load_registry(cfg.dir)
    rng = random.Random(SEED + 20)
    (level,) = list(cfg.levels)
    latent = {u.unit_id: rng.gauss(0, 1) for u in reg.units}
    for year, counts in TINH_MAU_YEARS.items():
        roster = [u.unit_id for u in reg.roster(year, level)]
        assert len(roster) == sum(counts), (year, len(roster))
        for uid in roster:
            latent[uid] += rng.gauss(0, 0.35)
        order = sorted(roster, key=lambda u: -latent[u])
        tiers, i = {}, 0
        for tier, n in zip(cfg.tier_ids, counts, strict=True):
            tiers.update({u: tier for u in order[i : i + n]})
            i += n
        areas = cfg.areas(level, year)
        rows = []
        for uid in roster:
            lo, hi = TINH_MAU_RANGE[tiers[uid]]
            score = round(rng.uniform(lo, hi), 2)
            assert cfg.tier_for_score(score, year, level) == tiers[uid]
            rows.append((uid, score, split_areas(score, areas, rng)))
        d = fresh_dir(paths.raw_year(year))
        path = d / f"{cfg.levels[level]['input']}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow([f"KẾT QUẢ CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM {year} (SIMULATED / mô phỏng)"])
            labels = [a.label("vi") for a in areas]
            w.writerow(["STT", "Tên cơ quan, đơn vị", *labels, "Chỉ số CCHC (%)"])
            for k, (uid, score, pts) in enumerate(sorted(rows, key=lambda r: -r[1]), 1):
                w.writerow([k, reg.by_id[uid].name, *[vi_num(x) for x in pts], vi_num(score)])


def fresh_dir(d):
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("*"):
        old.unlink()
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "raw", help="the data/raw folder")
    ap.add_argument(
        "--fixtures",
        type=Path,
        default=ROOT / "tests" / "fixtures" / "provinces",
        help="where the test provinces live (tinh_mau/config, tinh_mau/data/raw)",
    )
    args = ap.parse_args(argv)
    out = args.out / "khanh_hoa"
    rng = random.Random(SEED)
    cfg, reg, data, sat, latent = generate(rng)
    shape_rng = random.Random(SEED + 1)
    for year in YEARS:
        d = fresh_dir(out / str(year))
        for level in ("provincial", "commune"):
            if year <= 2019:
                write_csv(d / f"{level}.csv", level, year, data[(level, year)], reg, cfg, shape_rng)
            else:
                write_xlsx(
                    d / f"{level}.xlsx", level, year, data[(level, year)], reg, cfg, shape_rng
                )
    write_satisfaction(out / "2022" / "satisfaction.xlsx", 2022, sat, reg)
    # the later years, from their own streams (the files above stay as they were)
    (nt_cfg, nt_reg, nt_data), later, later_sat = generate_later(cfg, reg, latent)
    later_shape = random.Random(SEED + 3)
    for year in NEW_YEARS:
        d = fresh_dir(out / str(year))
        for level in ("provincial", "commune"):
            write_xlsx(
                d / f"{level}.xlsx", level, year, later[(level, year)], reg, cfg, later_shape
            )
        write_satisfaction(d / "satisfaction.xlsx", year, later_sat[year], reg)
    nt_shape = random.Random(SEED + 11)
    for year in ABSORBED_YEARS:
        d = fresh_dir(args.out / ABSORBED / str(year))
        for level in ("provincial", "commune"):
            write_xlsx(
                d / f"{level}.xlsx", level, year, nt_data[(level, year)], nt_reg, nt_cfg, nt_shape
            )
    nat = out / "national"
    nat.mkdir(parents=True, exist_ok=True)
    if (ROOT.parent / "shared" / "reference").is_dir():
        write_national(nat / "national_indices.csv")
        write_components(nat / "par_index_components.csv")
    write_tinh_mau(args.fixtures / "tinh_mau")
    print(f"demo data written to {args.out} and {args.fixtures}")


if __name__ == "__main__":
    main()
