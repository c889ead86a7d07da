"""Unit tests of par_review.metrics.compute, and the 'Done when' figures of issue 4 on the demo data."""

from __future__ import annotations

import json
import math
import shutil
import time
import unicodedata
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest

from par_review.metrics.compute import (
    area_summaries,
    compare_with_previous,
    compute_metrics,
    display_share,
    exact_share,
    group_summaries,
    json_safe,
    largest_remainder,
    metrics_json,
    metrics_tables,
    movements,
    national_metrics,
    resolve_rounding,
    roster_check,
    satisfaction_metrics,
    score_summary,
    shares_check,
    streak_without,
    streaks_for,
    tier_counts,
    tier_flows,
    tier_table,
    unit_records,
    write_metrics,
)
from par_review.paths import Paths
from par_review.rawdata.registry import Registry, Unit

TIERS = ["tot", "kha", "trung_binh", "yeu"]


# --------------------------------------------------------------------------- rounding
@pytest.mark.parametrize(
    ("value", "policy", "expected"),
    [
        (Fraction(3000, 43), "half_up", 69.77),
        (Fraction(3000, 43), "truncate", 69.76),
        (Fraction(7300, 136), "half_up", 53.68),
        (Fraction(7300, 136), "truncate", 53.67),
        (Fraction(6300, 136), "half_up", 46.32),
        (Fraction(1300, 43), "half_up", 30.23),
        (30 / 43 * 100, "half_up", 69.77),
        (30 / 43 * 100, "truncate", 69.76),
        (0.145, "half_up", 0.15),  # float round() gives 0.14: the binary value is below .145
        (0.145, "truncate", 0.14),
        (-0.225, "half_up", -0.23),  # ties away from zero
        (-0.229, "truncate", -0.22),  # towards zero
        (100, "truncate", 100.0),
        (Decimal("82.765"), "half_up", 82.77),
    ],
)
def test_display_share(value, policy, expected):
    assert display_share(value, policy) == expected


def test_display_share_decimals_and_bad_policy():
    assert display_share(Fraction(200, 3), "half_up", 1) == 66.7
    assert display_share(Fraction(200, 3), "truncate", 0) == 66.0
    assert display_share(Fraction(1, 3) * 100, "half_up", 3) == 33.333
    with pytest.raises(ValueError, match="rounding policy"):
        display_share(1.0, "banker")
    with pytest.raises(ValueError):
        display_share(math.nan)


def test_exact_share():
    assert exact_share(30, 43) == Fraction(3000, 43)
    assert exact_share(0, 5) == 0
    assert exact_share(3, 0) is None


def test_largest_remainder():
    assert largest_remainder([1, 1, 1], 3) == [33.34, 33.33, 33.33]
    assert largest_remainder([30, 13, 0, 0], 43) == [69.77, 30.23, 0.0, 0.0]
    assert largest_remainder([2, 1], 3, decimals=0) == [67.0, 33.0]
    assert sum(Decimal(repr(x)) for x in largest_remainder([1, 1, 1, 1, 1, 1, 1], 7)) == 100
    with pytest.raises(ValueError, match="do not add up"):
        largest_remainder([1, 2], 4)
    assert all(math.isnan(x) for x in largest_remainder([0, 0], 0))


def test_shares_check_flags_the_notice_error():
    # the 2023 notice printed 69,76% and 31,24%: they add up to 101
    assert shares_check([69.76, 31.24, 0.0, 0.0]) == {
        "shares_sum_display": 101.0,
        "shares_sum_ok": False,
    }
    assert shares_check([33.33, 33.33, 33.33]) == {
        "shares_sum_display": 99.99,
        "shares_sum_ok": False,
    }
    assert shares_check([69.77, 30.23]) == {"shares_sum_display": 100.0, "shares_sum_ok": True}
    assert shares_check([None, None]) == {"shares_sum_display": None, "shares_sum_ok": None}


def test_resolve_rounding(cfg):
    assert resolve_rounding(cfg, None, None) == ("half_up", 2, "report")
    assert resolve_rounding(cfg, "", "") == ("half_up", 2, "report")
    assert resolve_rounding(cfg, "truncate", "largest_remainder") == (
        "truncate",
        2,
        "largest_remainder",
    )
    with pytest.raises(ValueError):
        resolve_rounding(cfg, "ceil", None)
    with pytest.raises(ValueError):
        resolve_rounding(cfg, None, "fudge")


# --------------------------------------------------------------------------- tiers
def _frame(rows, level="provincial", year=2022):
    """rows: (unit_id, tier, score[, group])"""
    recs = [
        {
            "year": year,
            "level": level,
            "unit_id": r[0],
            "unit_name": f"Đơn vị {r[0]}",
            "group": r[3] if len(r) > 3 else "so_ban_nganh",
            "district": "",
            "score": r[2],
            "tier": r[1],
        }
        for r in rows
    ]
    return pd.DataFrame.from_records(recs)


def _unit(uid, successor_of=(), valid_from=2018, valid_to=None, group="so_ban_nganh"):
    return Unit(
        uid,
        "provincial",
        group,
        "",
        "",
        f"Đơn vị {uid}",
        (),
        valid_from,
        valid_to,
        tuple(successor_of),
        "test",
    )


def test_tier_counts():
    df = _frame([("a", "tot", 90), ("b", "tot", 88), ("c", "yeu", 40)])
    assert tier_counts(df, TIERS) == {"tot": 2, "kha": 0, "trung_binh": 0, "yeu": 1}
    assert tier_counts(None, TIERS) is None
    with pytest.raises(ValueError, match="not configured"):
        tier_counts(_frame([("a", "xuat_sac", 99)]), TIERS)


def test_tier_table_changes_and_shares(cfg):
    cur = {"tot": 73, "kha": 63, "trung_binh": 0, "yeu": 0}
    prev = {"tot": 70, "kha": 61, "trung_binh": 5, "yeu": 0}
    t = tier_table(cur, prev, cfg, "half_up", 2, "report")
    assert list(t) == TIERS
    assert [t[k]["change_count"] for k in TIERS] == [3, 2, -5, 0]
    assert [t[k]["change_direction"] for k in TIERS] == ["up", "up", "down", "same"]
    assert t["tot"]["share_pct"] == pytest.approx(7300 / 136)
    assert t["tot"]["share_display"] == 53.68 and t["tot"]["share_truncated"] == 53.67
    assert t["tot"]["change_pp"] == pytest.approx(7300 / 136 - 7000 / 136)
    assert t["trung_binh"]["change_pp_display"] == display_share(-500 / 136)
    assert t["tot"]["label"] == "Tốt" and t["tot"]["label_en"] == "Good"
    assert t["tot"]["flows"] is None
    tt = tier_table(cur, prev, cfg, "truncate", 2, "report")
    assert tt["tot"]["share_display"] == 53.67
    no_prev = tier_table(cur, None, cfg, "half_up", 2, "report")
    assert no_prev["tot"]["change_count"] is None and no_prev["tot"]["change_pp"] is None


def test_tier_table_largest_remainder_rule(cfg):
    cur = {"tot": 1, "kha": 1, "trung_binh": 1, "yeu": 0}
    rep = tier_table(cur, None, cfg, "half_up", 2, "report")
    assert [rep[k]["share_display"] for k in TIERS] == [33.33, 33.33, 33.33, 0.0]
    lr = tier_table(cur, None, cfg, "half_up", 2, "largest_remainder")
    assert [lr[k]["share_display"] for k in TIERS] == [33.34, 33.33, 33.33, 0.0]


def test_streak_without_exact_run():
    # communes: Yếu in 2018 and 2019, none since (the notice: "3rd consecutive year")
    h = {2018: {"yeu": 2}, 2019: {"yeu": 2}, 2020: {"yeu": 0}, 2021: {"yeu": 0}, 2022: {"yeu": 0}}
    s = streak_without(h, 2022, ["yeu"])
    assert (s["years_without"], s["since_year"], s["last_year_with"]) == (3, 2020, 2019)
    assert s["exact"] and s["bounded_by"] == "year_with" and s["first_time"] is False
    assert streak_without(h, 2020, ["yeu"])["first_time"] is True


def test_streak_without_stops_at_gap_and_start():
    h = {2018: {"yeu": 1}, 2020: {"yeu": 0}, 2021: {"yeu": 0}}
    s = streak_without(h, 2021, ["yeu"])
    assert (s["years_without"], s["exact"], s["bounded_by"]) == (2, False, "gap")
    assert s["gap_years"] == [2019] and s["first_time"] is False  # 2020 already had none
    s = streak_without({2018: {"yeu": 1}, 2020: {"yeu": 0}}, 2020, ["yeu"])
    assert s["first_time"] is None  # 2019 is missing: it may have had none
    s = streak_without({2020: {"yeu": 0}, 2021: {"yeu": 0}}, 2021, ["yeu"])
    assert (s["years_without"], s["exact"], s["bounded_by"], s["first_time"]) == (
        2,
        False,
        "start_of_data",
        False,
    )
    s = streak_without({2021: {"yeu": 0}}, 2021, ["yeu"])
    assert s["first_time"] is None  # nothing to compare with
    s = streak_without({2020: {"yeu": 0}, 2021: {"yeu": 3}}, 2021, ["yeu"])
    assert (s["years_without"], s["none_this_year"], s["bounded_by"], s["count_this_year"]) == (
        0,
        False,
        "this_year",
        3,
    )
    with pytest.raises(ValueError):
        streak_without({2020: {"yeu": 0}}, 2021, ["yeu"])


def test_streaks_for_combines_worse_tiers():
    h = {
        2021: {"tot": 30, "kha": 13, "trung_binh": 1, "yeu": 0},
        2022: {"tot": 30, "kha": 13, "trung_binh": 0, "yeu": 0},
    }
    s = streaks_for(h, 2022, TIERS)
    assert list(s) == ["kha", "trung_binh", "yeu"]
    assert s["trung_binh"]["tiers"] == ["trung_binh", "yeu"]
    assert s["trung_binh"]["first_time"] is True and s["trung_binh"]["years_without"] == 1
    assert s["yeu"]["first_time"] is False
    assert s["kha"]["none_this_year"] is False


# --------------------------------------------------------------------------- units and movements
@pytest.fixture
def small_registry():
    return Registry(
        [
            _unit("a"),
            _unit("b"),
            _unit("c"),
            _unit("old1", valid_to=2021),
            _unit("old2", valid_to=2021),
            _unit("merged", successor_of=("old1", "old2"), valid_from=2022),
            _unit("oldname", valid_to=2021),
            _unit("newname", successor_of=("oldname",), valid_from=2022),
            _unit("fresh", valid_from=2022),
            _unit("gone", valid_to=2021),
        ]
    )


def test_unit_records_and_movements(small_registry):
    prev = _frame(
        [
            ("a", "kha", 80),
            ("b", "tot", 90),
            ("c", "tot", 86),
            ("old1", "kha", 75),
            ("old2", "tot", 88),
            ("oldname", "trung_binh", 60),
            ("gone", "yeu", 30),
        ],
        year=2021,
    )
    cur = _frame(
        [
            ("a", "tot", 91),
            ("b", "kha", 84),
            ("c", "tot", 87.5),
            ("merged", "tot", 89),
            ("newname", "kha", 72),
            ("fresh", "trung_binh", 55),
        ]
    )
    units = unit_records(cur, prev, small_registry, TIERS)
    by = {u["unit_id"]: u for u in units}
    assert [u["unit_id"] for u in units] == ["a", "merged", "c", "b", "newname", "fresh"]
    assert [u["rank"] for u in units] == [1, 2, 3, 4, 5, 6]
    assert (
        by["a"]["movement"] == "up"
        and by["a"]["tier_steps"] == 1
        and by["a"]["score_change"] == 11.0
    )
    assert by["b"]["movement"] == "down" and by["b"]["prev_tier"] == "tot"
    assert by["c"]["movement"] == "same" and by["c"]["score_change"] == 1.5
    assert by["merged"]["movement"] == "merged" and by["merged"]["prev_tier"] is None
    assert by["newname"]["movement"] == "up" and by["newname"]["compared_with"] == "oldname"
    assert by["fresh"]["movement"] == "new"
    m = movements(units, prev, small_registry)
    assert (m["up_count"], m["down_count"], m["same_count"]) == (2, 1, 1)
    assert [u["unit_id"] for u in m["up"]] == ["a", "newname"]
    assert [u["unit_id"] for u in m["down"]] == ["b"]
    assert [p["unit_id"] for p in m["merged"][0]["predecessors"]] == ["old1", "old2"]
    assert [p["prev_tier"] for p in m["merged"][0]["predecessors"]] == ["kha", "tot"]
    left = {u["unit_id"]: u for u in m["left"]}
    assert set(left) == {"old1", "old2", "gone"}
    assert left["old1"]["merged_into"] == "merged" and left["gone"]["merged_into"] is None
    # flows: the count change of every tier is explained by the flows
    flows = tier_flows(units, prev, TIERS)
    cur_c, prev_c = tier_counts(cur, TIERS), tier_counts(prev, TIERS)
    for t in TIERS:
        f = flows[t]
        assert cur_c[t] - prev_c[t] == (
            f["in_from_below"]
            + f["in_from_above"]
            + f["entered"]
            - f["out_to_above"]
            - f["out_to_below"]
            - f["left"]
        )
    assert flows["tot"]["in_from_below"] == 1 and flows["tot"]["out_to_below"] == 1
    assert flows["tot"]["entered"] == 1 and flows["tot"]["left"] == 1  # merged in, old2 merged away


def test_movements_without_previous_year(small_registry):
    cur = _frame([("a", "tot", 91)])
    units = unit_records(cur, None, small_registry, TIERS)
    assert units[0]["movement"] is None
    m = movements(units, None, small_registry)
    assert m["available"] is False and m["up_count"] is None
    assert tier_flows(units, None, TIERS) is None


def test_rank_ties_share_a_rank_and_sort_by_vietnamese_name(small_registry):
    cur = _frame([("a", "tot", 90), ("b", "tot", 90), ("c", "kha", 80)])
    cur.loc[cur.unit_id == "a", "unit_name"] = "Đông"
    cur.loc[cur.unit_id == "b", "unit_name"] = "Dương"
    units = unit_records(cur, None, small_registry, TIERS)
    assert [(u["unit_name"], u["rank"]) for u in units] == [
        ("Dương", 1),
        ("Đông", 1),
        ("Đơn vị c", 3),
    ]


def test_area_summaries(cfg):
    df = pd.DataFrame({"area_chi_dao": [10.0, 8.0], "score": [90, 80]})
    prev = pd.DataFrame({"area_chi_dao": [7.0, 8.0]})
    a = area_summaries(df, prev, cfg, "provincial")
    assert a["chi_dao"]["mean"] == 9.0 and a["chi_dao"]["prev_mean"] == 7.5
    assert a["chi_dao"]["change"] == 1.5 and a["chi_dao"]["mean_pct_of_max"] == 90.0
    assert a["the_che"]["mean"] is None  # no column: null, not NaN


# --------------------------------------------------------------------------- satisfaction, national
def _sat(values, groups=None, respondents=None):
    n = len(values)
    return pd.DataFrame(
        {
            "year": 2022,
            "unit_id": [f"u{i}" for i in range(n)],
            "unit_name": [f"Sở {i}" for i in range(n)],
            "group": groups or ["so_ban_nganh"] * n,
            "respondents": respondents or [100] * n,
            "satisfaction_pct": values,
        }
    )


def test_satisfaction_missed_by_exact_points(cfg):
    s = satisfaction_metrics(
        _sat([82.1, 83.44, 50.0], groups=["so_ban_nganh", "so_ban_nganh", "xa"]), cfg, 2022
    )
    assert s["available"] and s["units"] == 2 and s["group"] == "so_ban_nganh"
    assert s["value"] == 82.77 and s["target"] == 83.0
    assert s["met"] is False
    assert s["gap_pp"] == -0.23  # exact decimal arithmetic, not -0.22999999999999687
    assert s["gap_pp_display"] == -0.23 and s["shortfall_pp_display"] == 0.23
    assert s["units_meeting_target"] == 1


def test_satisfaction_met_at_equality_and_weighted(cfg):
    s = satisfaction_metrics(_sat([82.9, 83.1], respondents=[100, 300]), cfg, 2022)
    assert s["met"] is True and s["gap_pp"] == 0.0 and s["shortfall_pp_display"] == 0.0
    assert s["weighted_value"] == pytest.approx(83.05)


def test_satisfaction_without_table_or_target(cfg):
    assert satisfaction_metrics(None, cfg, 2022)["available"] is False
    s = satisfaction_metrics(_sat([80.0]), cfg, 2019)  # no target for 2019
    assert s["available"] and s["value"] == 80.0 and s["target"] is None and s["met"] is None


def test_national_metrics_nan_is_null_and_rank_change(cfg):
    nat = pd.DataFrame(
        {
            "index": ["PAR_INDEX", "PAR_INDEX", "SIPAS", "SIPAS"],
            "year": [2021, 2022, 2021, 2022],
            "value": [85.11, 86.19, 84.4, float("nan")],
            "unit": ["pct"] * 4,
            "rank": [48, 25, 56, float("nan")],
            "rank_of": [63] * 4,
            "basis": ["verbatim", "verbatim", "verbatim", "not found"],
            "source_url": ["u"] * 4,
        }
    )
    n = national_metrics(nat, cfg, 2022)
    assert list(n)[:4] == ["PAR_INDEX", "SIPAS", "PAPI", "PCI"]
    p = n["PAR_INDEX"]
    assert (p["value"], p["rank"], p["prev_rank"], p["rank_change"]) == (86.19, 25, 48, 23)
    assert p["value_change"] == 1.08
    s = n["SIPAS"]
    assert (
        s["value"] is None
        and s["rank"] is None
        and s["rank_change"] is None
        and s["available"] is False
    )
    assert n["PCI"]["available"] is False and n["PCI"]["value"] is None
    assert "NaN" not in metrics_json({"x": n})


def test_json_safe_and_text():
    import numpy as np

    obj = {
        "a": float("nan"),
        "b": np.int64(3),
        "c": np.float64(1.5),
        "d": Fraction(1, 4),
        "e": [np.bool_(True)],
        "f": "Tốt",
        "g": Decimal("0.1"),
    }
    assert json_safe(obj) == {
        "a": None,
        "b": 3,
        "c": 1.5,
        "d": 0.25,
        "e": [True],
        "f": "Tốt",
        "g": 0.1,
    }
    text = metrics_json(obj)
    assert "Tốt" in text and text.endswith("\n")


# --------------------------------------------------------------------------- the demo data (issue 4: "Done when")
@pytest.fixture(scope="module")
def m2022(demo_processed):
    return compute_metrics(2022, demo_processed)


def test_done_when_provincial(m2022):
    p = m2022["levels"]["provincial"]
    tot, kha = p["tiers"]["tot"], p["tiers"]["kha"]
    assert p["total"] == 43 and (tot["count"], kha["count"]) == (30, 13)
    assert tot["share_pct"] == pytest.approx(30 / 43 * 100, abs=1e-12)
    assert (tot["share_display"], tot["share_truncated"]) == (69.77, 69.76)
    assert kha["share_display"] == 30.23 and kha["share_truncated"] == 30.23 != 31.24
    assert p["shares_sum_display"] == 100.0 and p["shares_sum_ok"] is True
    assert p["first_year_without"]["trung_binh"] is True
    assert (
        p["streaks"]["trung_binh"]["none_this_year"]
        and p["streaks"]["trung_binh"]["years_without"] == 1
    )
    assert p["previous_year"] == 2021 and p["prev_total"] == 44 and p["change_total"] == -1


def test_done_when_communes(m2022):
    c = m2022["levels"]["commune"]
    t = c["tiers"]
    assert c["total"] == 136 and (t["tot"]["count"], t["kha"]["count"]) == (73, 63)
    assert (t["tot"]["share_display"], t["tot"]["share_truncated"]) == (53.68, 53.67)
    assert t["kha"]["share_display"] == 46.32
    assert [t[k]["change_count"] for k in TIERS] == [3, 2, -5, 0]
    yeu = c["streaks"]["yeu"]
    assert (yeu["years_without"], yeu["since_year"], yeu["last_year_with"], yeu["exact"]) == (
        3,
        2020,
        2019,
        True,
    )
    assert c["first_year_without"]["yeu"] is False


def test_done_when_satisfaction(m2022):
    s = m2022["satisfaction"]
    assert s["value_display"] == 82.77 and s["target"] == 83.0
    assert s["met"] is False and s["gap_pp_display"] == -0.23 and s["shortfall_pp_display"] == 0.23


def test_truncate_policy_reproduces_the_notice(demo_processed):
    m = compute_metrics(2022, demo_processed, rounding="truncate")
    assert m["rounding"]["policy"] == "truncate"
    assert m["levels"]["provincial"]["tiers"]["tot"]["share_display"] == 69.76
    assert m["levels"]["commune"]["tiers"]["tot"]["share_display"] == 53.67
    # 69,76 + 30,23 = 99,99: reported, not silently fixed
    assert m["levels"]["provincial"]["shares_sum_display"] == 99.99
    assert m["levels"]["provincial"]["shares_sum_ok"] is False
    lr = compute_metrics(2022, demo_processed, rounding="truncate", shares_rule="largest_remainder")
    assert lr["levels"]["provincial"]["shares_sum_ok"] is True


def test_demo_merger_and_flows(m2022):
    p = m2022["levels"]["provincial"]
    merged = p["movements"]["merged"]
    assert [u["unit_id"] for u in merged] == ["p-bqlda-gtnn"]
    assert sorted(x["unit_id"] for x in merged[0]["predecessors"]) == ["p-bqlda-gt", "p-bqlda-nn"]
    for level in m2022["levels"].values():
        for tier in level["tiers"].values():
            f = tier["flows"]
            assert tier["change_count"] == (
                f["in_from_below"]
                + f["in_from_above"]
                + f["entered"]
                - f["out_to_above"]
                - f["out_to_below"]
                - f["left"]
            )
        assert len(level["units"]) == level["total"]
        assert level["movements"]["up_count"] == len(level["movements"]["up"])
        names = [u["unit_name"] for u in level["units"]]
        assert all(unicodedata.is_normalized("NFC", n) for n in names)


def test_demo_groups_and_national(m2022):
    p = m2022["levels"]["provincial"]
    assert p["group_by"] == "group"
    assert sum(g["total"] for g in p["by_group"].values()) == 43
    c = m2022["levels"]["commune"]
    assert c["group_by"] == "district"
    assert sum(g["total"] for g in c["by_group"].values()) == 136
    assert all(g["top"][0]["score"] >= g["bottom"][0]["score"] for g in c["by_group"].values())
    assert p["top"][0]["score"] == max(u["score"] for u in p["units"])
    par = m2022["national_indices"]["PAR_INDEX"]
    assert (par["value"], par["rank"], par["rank_change"]) == (86.19, 25, 23)
    assert m2022["national_indices"]["SIPAS"]["value"] is None


def _copy_processed(src: Paths, dest) -> Paths:
    shutil.copytree(src.config_dir, dest / "config")
    shutil.copytree(src.processed, dest / "data" / "processed" / src.province)
    return Paths.from_root(dest)


def test_missing_years_are_gaps_not_guesses(demo_processed, tmp_path):
    paths = _copy_processed(demo_processed, tmp_path)
    shutil.rmtree(paths.processed_year(2020))
    m = compute_metrics(2022, paths)
    c = m["levels"]["commune"]
    assert m["history"]["gap_years"] == [2020]
    assert c["streaks"]["yeu"]["years_without"] == 2
    assert c["streaks"]["yeu"]["exact"] is False and c["streaks"]["yeu"]["bounded_by"] == "gap"
    # provincial 2018, 2019 and 2021 had Trung bình or Yếu; 2020 unknown: cannot claim "first"
    assert m["levels"]["provincial"]["first_year_without"]["trung_binh"] is None
    shutil.rmtree(paths.processed_year(2021))
    m = compute_metrics(2022, paths)
    p = m["levels"]["provincial"]
    assert p["previous_year"] is None and p["tiers"]["tot"]["change_count"] is None
    assert p["movements"]["available"] is False
    with pytest.raises(FileNotFoundError):
        compute_metrics(2021, paths)


def test_write_metrics_is_deterministic(demo_processed, tmp_path):
    paths = _copy_processed(demo_processed, tmp_path / "p")
    m1 = compute_metrics(2022, paths)
    out = write_metrics(m1, tmp_path / "out1", paths, 2022)
    first = out.read_bytes()
    csvs = {p.name: p.read_bytes() for p in paths.metrics_tables_year(2022).glob("metrics_*.csv")}
    mtimes = {p.name: p.stat().st_mtime_ns for p in paths.metrics_tables_year(2022).iterdir()}
    time.sleep(0.01)
    out2 = write_metrics(compute_metrics(2022, paths), tmp_path / "out2", paths, 2022)
    assert out2.read_bytes() == first
    # the same tables again are left alone, mtimes included: the build knows its outputs
    # by size and mtime, and a preview re-running the analysis made the next build re-run
    # the analysis and the reports
    assert {
        p.name: p.stat().st_mtime_ns for p in paths.metrics_tables_year(2022).iterdir()
    } == mtimes
    assert {
        p.name: p.read_bytes() for p in paths.metrics_tables_year(2022).glob("metrics_*.csv")
    } == csvs
    text = first.decode("utf-8")
    assert "NaN" not in text and "Infinity" not in text and "Tốt" in text
    assert json.loads(text)["levels"]["provincial"]["tiers"]["tot"]["count"] == 30
    assert set(csvs) == {f"{n}.csv" for n in metrics_tables(m1)}
    tiers = pd.read_csv(paths.metrics_tables_year(2022) / "metrics_tiers.csv")
    assert (
        len(tiers) == 8
        and tiers.query("level == 'commune' and tier == 'tot'")["count"].item() == 73
    )
    with pytest.raises(ValueError):
        write_metrics(m1, tmp_path / "out3", paths, 2021)


def test_roster_check(small_registry):
    df = _frame([("a", "tot", 90), ("b", "kha", 80), ("zzz", "kha", 75)])
    r = roster_check(df, small_registry, 2022, "provincial", tier_counts(df, TIERS))
    assert r["counts_sum_to_total"] is True and r["roster_matches"] is False
    assert r["missing_from_table"] == ["c", "fresh", "merged", "newname"] and r[
        "not_in_roster"
    ] == ["zzz"]
    assert r["roster_size"] == 6


def test_demo_roster_and_backtest(demo_processed, m2022):
    assert all(
        lv["checks"]["roster_matches"] and lv["checks"]["counts_sum_to_total"]
        for lv in m2022["levels"].values()
    )
    m2021 = compute_metrics(2021, demo_processed)
    assert compare_with_previous(m2022, m2021) == {
        "available": True,
        "agrees": True,
        "differences": [],
    }
    tampered = json.loads(metrics_json(m2021))
    tampered["levels"]["commune"]["tiers"]["trung_binh"]["count"] = 4
    res = compare_with_previous(m2022, tampered)
    assert res["agrees"] is False
    assert res["differences"] == [
        {"level": "commune", "key": "tiers.trung_binh.count", "here": 5, "previous": 4}
    ]
    assert compare_with_previous(m2022, None)["available"] is False
    with pytest.raises(ValueError):
        compare_with_previous(m2022, m2022)


def test_score_summary():
    df = pd.DataFrame({"score": [90.1, 80.2, 70.3]})
    prev = pd.DataFrame({"score": [80.0, 80.0]})
    s = score_summary(df, prev)
    assert (s["mean"], s["median"], s["min"], s["max"]) == (80.2, 80.2, 70.3, 90.1)
    assert s["prev_mean"] == 80.0 and s["change_mean"] == pytest.approx(0.2)
    assert score_summary(df, None)["change_mean"] is None


def test_group_summaries(cfg, small_registry):
    prev = _frame([("a", "kha", 80), ("b", "tot", 90), ("c", "tot", 86)], year=2021)
    cur = _frame(
        [("a", "tot", 91, "nganh_doc"), ("b", "kha", 84), ("c", "tot", 88), ("fresh", "yeu", 20)]
    )
    units = unit_records(cur, prev, small_registry, TIERS)
    g = group_summaries(units, prev, cfg, "provincial", n=1)
    assert list(g) == ["so_ban_nganh", "nganh_doc"]  # the config's group order
    sb = g["so_ban_nganh"]
    assert sb["total"] == 3 and sb["counts"] == {"tot": 1, "kha": 1, "trung_binh": 0, "yeu": 1}
    assert sb["label"] == "Sở, ban, ngành" and sb["by"] == "group"
    assert sb["mean_score"] == pytest.approx((84 + 88 + 20) / 3)
    assert sb["prev_mean_score_same_units"] == 88.0  # b and c; 'fresh' has no previous score
    assert (sb["up_count"], sb["down_count"]) == (0, 1)
    assert [u["unit_id"] for u in sb["top"]] == ["c"] and [u["unit_id"] for u in sb["bottom"]] == [
        "fresh"
    ]
    assert g["nganh_doc"]["up_count"] == 1


def test_other_tier_scheme(tmp_path):
    """Another province with five tiers and other names: nothing assumes Khánh Hòa's four."""
    from par_review.config import ProvinceConfig

    tiers = ["xuat_sac", "tot", "kha", "trung_binh", "kem"]
    data = {
        "id": "x",
        "name": {"vi": "Tỉnh X"},
        "tiers": [{"id": t, "label": {"vi": t.replace("_", " ").title()}} for t in tiers],
        "levels": {"provincial": {"label": {"vi": "cấp tỉnh"}}},
        "bands": {"default": {"xuat_sac": 90, "tot": 80, "kha": 70, "trung_binh": 50, "kem": 0}},
    }
    other = ProvinceConfig(data, tmp_path / "province.yml")
    counts = {"xuat_sac": 1, "tot": 2, "kha": 0, "trung_binh": 0, "kem": 1}
    t = tier_table(counts, counts, other, "truncate", 1, "report")
    assert (
        list(t) == tiers
        and t["xuat_sac"]["share_display"] == 25.0
        and t["tot"]["share_display"] == 50.0
    )
    h = {2021: dict.fromkeys(tiers, 1), 2022: counts}
    st = streaks_for(h, 2022, tiers)
    assert list(st) == ["tot", "kha", "trung_binh", "kem"]
    assert (
        st["kha"]["tiers"] == ["kha", "trung_binh", "kem"] and st["kha"]["none_this_year"] is False
    )


def test_split_and_surviving_predecessor_are_not_renames():
    reg = Registry(
        [
            _unit("p", valid_to=2021),
            _unit("s1", ("p",), 2022),
            _unit("s2", ("p",), 2022),
            _unit("q"),
            _unit("q2", ("q",), 2022),
        ]
    )
    prev = _frame([("p", "kha", 80), ("q", "tot", 90)], year=2021)
    cur = _frame([("s1", "tot", 91), ("s2", "kha", 75), ("q", "tot", 92), ("q2", "yeu", 30)])
    units = {u["unit_id"]: u for u in unit_records(cur, prev, reg, TIERS)}
    assert units["s1"]["movement"] == units["s2"]["movement"] == "split"
    assert units["q"]["movement"] == "same"
    assert units["q2"]["movement"] == "new"  # q is still scored: q2 is not its rename
    m = movements(list(units.values()), prev, reg)
    assert [u["unit_id"] for u in m["split"]] == ["s1", "s2"] and m["split"][0]["predecessors"] == [
        "p"
    ]
    assert m["left"] == [
        {
            "unit_id": "p",
            "unit_name": "Đơn vị p",
            "group": "so_ban_nganh",
            "prev_tier": "kha",
            "prev_score": 80.0,
            "merged_into": None,
            "successors": ["s1", "s2"],
        }
    ]
    flows = tier_flows(list(units.values()), prev, TIERS)
    c, p = tier_counts(cur, TIERS), tier_counts(prev, TIERS)
    for t in TIERS:
        f = flows[t]
        assert c[t] - p[t] == (
            f["in_from_below"]
            + f["in_from_above"]
            + f["entered"]
            - f["out_to_above"]
            - f["out_to_below"]
            - f["left"]
        )


def test_fractions_round_exactly_whatever_the_denominator():
    # 1/3 - 1e-30 is below 1/3: 28-digit Decimal division would round it up to 0.3333...
    tiny = Fraction(1, 3) - Fraction(1, 10**30)
    assert display_share(tiny * 3, "truncate", 2) == 0.99
    assert display_share(Fraction(-1, 8), "half_up", 2) == -0.13
    assert display_share(Fraction(-1, 8), "truncate", 2) == -0.12
    assert display_share(Fraction(5, 1000), "half_up", 2) == 0.01
    assert display_share(Fraction(0), "half_up", 2) == 0.0


def test_one_rounding_for_everything_but_exact_fractions():
    """metrics has no rounding of its own for decimals: it is par_review.fmt's."""
    import par_review.metrics.compute as compute
    from par_review.fmt import round_decimal

    assert compute.round_decimal is round_decimal
    assert not hasattr(compute, "ROUND_HALF_UP")
    for v in (0.145, -0.225, 2.675, 69.76744186046511, Decimal("82.765")):
        for policy in ("half_up", "truncate"):
            assert display_share(v, policy) == float(round_decimal(v, 2, policy))


# --------------------------------------------------------------------------- structure over time
# A province (tinh_a) absorbs tinh_b in 2025: provincial units are compared through lineage,
# communes against the pooled 2024 of both provinces. Written straight into data/processed.
def _structure_project(root, *, with_b_communes=True, years=(2023, 2024, 2025)):
    import csv as _csv

    import yaml

    from par_review.rawdata.registry import COLUMNS

    tiers = [{"id": t, "label": {"vi": t}} for t in TIERS]
    base = {
        "tiers": tiers,
        "bands": {"default": {"tot": 85, "kha": 70, "trung_binh": 50, "yeu": 0}},
        "levels": {
            "provincial": {"label": {"vi": "cấp tỉnh"}, "group_by": "group"},
            "commune": {"label": {"vi": "cấp xã"}, "group_by": "district"},
        },
        "groups": {"so": {"vi": "Sở"}, "huyen": {"vi": "Huyện"}, "xa": {"vi": "Xã"}},
        "national_indices": {"PAR_INDEX": {"vi": "PAR"}, "SIPAS": {"vi": "SIPAS"}},
    }
    a = {
        **base,
        "id": "tinh_a",
        "name": {"vi": "Tỉnh A"},
        "absorbed": [{"province": "tinh_b", "from": 2025}],
        "targets": {2024: {"satisfaction": {"value": 80.0, "group": "so"}}},
        "structure": [
            {
                "from": 2025,
                "label": {"vi": "Hợp nhất", "en": "Merger"},
                "levels": {
                    "provincial": {"label": {"vi": "cấp tỉnh"}, "group_by": "group"},
                    "commune": {"label": {"vi": "cấp xã"}, "group_by": None},
                },
                "groups": {"so": {"vi": "Sở"}, "xa": {"vi": "Xã"}},
                "comparability": {
                    "provincial": {"basis": "matched_units", "reason": {"vi": "qua nguồn gốc"}},
                    "commune": {
                        "basis": "combined_baseline",
                        "reason": {"vi": "gộp hai tỉnh", "en": "both provinces pooled"},
                    },
                },
            }
        ],
    }
    b = {**base, "id": "tinh_b", "name": {"vi": "Tỉnh B"}, "short_name": {"vi": "B"}}
    units_a = [
        ("s1", "provincial", "so", "", 2023, 2024, ""),
        ("s2", "provincial", "so", "", 2023, 2024, ""),
        ("s3", "provincial", "so", "", 2023, 2024, ""),
        ("h1", "provincial", "huyen", "", 2023, 2024, ""),  # a district committee: ends
        ("x1", "commune", "xa", "H1", 2023, 2024, ""),
        ("x2", "commune", "xa", "H1", 2023, 2024, ""),
        ("x3", "commune", "xa", "H2", 2023, 2024, ""),
        ("x4", "commune", "xa", "H2", 2023, 2024, ""),
        ("s12", "provincial", "so", "", 2025, "", "s1|s2"),  # merged
        ("s3a", "provincial", "so", "", 2025, "", "s3"),  # split
        ("s3b", "provincial", "so", "", 2025, "", "s3"),
        ("s4", "provincial", "so", "", 2025, "", "tinh_b:bs1"),  # renamed, from tinh_b
        ("y1", "commune", "xa", "", 2025, "", "x1|x2"),
        ("y2", "commune", "xa", "", 2025, "", "x3|x4|tinh_b:bx1"),
        ("y3", "commune", "xa", "", 2025, "", "tinh_b:bx2"),
    ]
    units_b = [
        ("bs1", "provincial", "so", "", 2023, 2024, ""),
        ("bx1", "commune", "xa", "B1", 2023, 2024, ""),
        ("bx2", "commune", "xa", "B1", 2023, 2024, ""),
    ]
    for pid, data, units in (("tinh_a", a, units_a), ("tinh_b", b, units_b)):
        d = root / "config" / pid
        d.mkdir(parents=True, exist_ok=True)
        (d / "province.yml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
        with (d / "units.csv").open("w", encoding="utf-8", newline="") as fh:
            w = _csv.writer(fh)
            w.writerow(COLUMNS)
            for uid, level, group, district, vf, vt, succ in units:
                w.writerow(
                    [
                        uid,
                        level,
                        group,
                        "",
                        district,
                        f"Đơn vị {uid}",
                        "",
                        vf,
                        vt,
                        succ,
                        "assumed",
                        "",
                    ]
                )
    scores = {
        ("tinh_a", 2023, "provincial"): [("s1", 80), ("s2", 90), ("s3", 72), ("h1", 60)],
        ("tinh_a", 2024, "provincial"): [("s1", 80), ("s2", 90), ("s3", 72), ("h1", 65)],
        ("tinh_a", 2025, "provincial"): [("s12", 88), ("s3a", 86), ("s3b", 71), ("s4", 84)],
        ("tinh_a", 2023, "commune"): [("x1", 86), ("x2", 80), ("x3", 75), ("x4", 60)],
        ("tinh_a", 2024, "commune"): [("x1", 90), ("x2", 80), ("x3", 75), ("x4", 60)],
        ("tinh_a", 2025, "commune"): [("y1", 91), ("y2", 78), ("y3", 86)],
        ("tinh_b", 2024, "provincial"): [("bs1", 87)],
        ("tinh_b", 2024, "commune"): [("bx1", 88), ("bx2", 72)],
    }
    if not with_b_communes:
        del scores[("tinh_b", 2024, "commune")]
    district = {"x1": "H1", "x2": "H1", "x3": "H2", "x4": "H2", "bx1": "B1", "bx2": "B1"}
    group = {"h1": "huyen"}
    paths = Paths.from_root(root, "tinh_a")
    for (pid, year, level), rows in scores.items():
        if year not in years:
            continue
        df = _frame(
            [
                (
                    u,
                    "tot" if s >= 85 else "kha" if s >= 70 else "trung_binh" if s >= 50 else "yeu",
                    s,
                    group.get(u, "so" if level == "provincial" else "xa"),
                )
                for u, s in rows
            ],
            level=level,
            year=year,
        )
        df["district"] = [district.get(u, "") for u in df["unit_id"]]
        d = paths.of(pid).processed_year(year)
        d.mkdir(parents=True, exist_ok=True)
        df.to_csv(d / f"{level}.csv", index=False)
    nat = pd.DataFrame(
        {
            "index": ["PAR_INDEX", "PAR_INDEX", "SIPAS", "SIPAS"],
            "year": [2024, 2025, 2024, 2025],
            "value": [90.49, 91.0, 83.66, 84.0],
            "unit": ["pct"] * 4,
            "rank": [30, 10, 20, 15],
            "rank_of": [63, 34, 34, 34],
            "basis": ["verbatim"] * 4,
            "source_url": ["u"] * 4,
        }
    )
    for year in years:
        nat[nat["year"] <= year].to_csv(
            paths.processed_year(year) / "national_indices.csv", index=False
        )
    sat = _sat([82.0, 79.0])
    sat["unit_id"], sat["group"] = ["s12", "s4"], "so"
    sat.assign(year=max(years)).to_csv(
        paths.processed_year(max(years)) / "satisfaction.csv", index=False
    )
    return paths


@pytest.fixture
def merged(tmp_path):
    paths = _structure_project(tmp_path)
    return compute_metrics(2025, paths)


def test_no_count_change_is_ever_given_across_the_break(merged):
    for level, lv in merged["levels"].items():
        assert lv["comparison"]["basis"] != "same_set", level
        assert lv["change_total"] is None
        assert all(t["change_count"] is None for t in lv["tiers"].values()), level
        assert all(
            t["change_direction"] is None and t["flows"] is None for t in lv["tiers"].values()
        )
        assert lv["comparison"]["structure_break"] is True
        assert lv["comparison"]["since_structure"] == 2025
    # and compare_with_previous does not read a pooled baseline as last year's own figures
    assert compare_with_previous(merged, {"year": 2024, "levels": {}})["agrees"] is True


def test_combined_baseline_compares_shares_and_mean_with_both_provinces_pooled(merged):
    c = merged["levels"]["commune"]
    comp = c["comparison"]
    assert comp["basis"] == "combined_baseline" and comp["previous_year"] == 2024
    assert comp["reason"] == {"vi": "gộp hai tỉnh", "en": "both provinces pooled"}
    assert comp["baseline"]["provinces"] == ["tinh_a", "tinh_b"]
    assert comp["baseline"]["by_province"] == {"tinh_a": 4, "tinh_b": 2}
    assert comp["baseline"]["units"] == c["prev_total"] == 6 and c["total"] == 3
    assert comp["baseline"]["sources"] == [
        "data/processed/tinh_a/2024/commune.csv",
        "data/processed/tinh_b/2024/commune.csv",
    ]
    # 2024 pooled: tot x1, bx1; kha x2, x3, bx2; trung_binh x4 -> 2/6, 3/6, 1/6
    tot = c["tiers"]["tot"]
    assert tot["prev_count"] == 2 and tot["count"] == 2  # both shown, never subtracted
    assert tot["change_pp"] == pytest.approx(100 * 2 / 3 - 100 * 2 / 6)
    assert c["tiers"]["trung_binh"]["change_pp"] == pytest.approx(-100 / 6)
    assert c["score"]["prev_mean"] == pytest.approx((90 + 80 + 75 + 60 + 88 + 72) / 6)
    assert c["score"]["change_mean"] == pytest.approx((91 + 78 + 86) / 3 - 77.5)
    # no per-unit movement against a pooled set, and no district groups any more
    assert c["movements"]["available"] is False
    assert c["group_by"] is None and c["by_group"] == {}
    assert "data/processed/tinh_b/2024/commune.csv" in merged["baseline_sources"]
    assert "data/processed/tinh_b/2024/provincial.csv" in merged["baseline_sources"]


def test_a_merged_unit_is_compared_with_the_mean_of_its_predecessors(merged):
    p = merged["levels"]["provincial"]
    assert p["comparison"]["basis"] == "matched_units"
    units = {u["unit_id"]: u for u in p["units"]}
    m = units["s12"]
    assert m["movement"] == "merged" and m["comparison_method"] == "mean_of_predecessors"
    assert m["prev_score"] == 85.0 and m["score_change"] == 3.0  # 88 vs (80 + 90) / 2
    assert m["prev_tier"] is None and m["tier_steps"] is None  # no tier was its own
    # a split part against its one predecessor; a rename across provinces
    assert units["s3a"]["comparison_method"] == "split_from" and units["s3a"]["movement"] == "up"
    assert units["s3b"]["movement"] == "same" and units["s3b"]["compared_with"] == "s3"
    assert units["s4"]["compared_with"] == "tinh_b:bs1" and units["s4"]["movement"] == "down"
    assert units["s4"]["predecessor_names"] == ["Đơn vị bs1 (B)"]
    mv = p["movements"]
    assert (mv["up_count"], mv["down_count"], mv["same_count"]) == (1, 1, 1)
    assert [u["unit_id"] for u in mv["merged"]] == ["s12"]
    assert [x["unit_id"] for x in mv["merged"][0]["predecessors"]] == ["s1", "s2"]
    assert [u["unit_id"] for u in mv["split"]] == ["s3a", "s3b"]
    ended = [x["unit_id"] for x in mv["left"] if not x["successors"]]
    assert ended == ["h1"] and mv["ended_count"] == 1
    assert p["comparison"]["lineage"]["ended_units"] == ["h1"]
    assert p["comparison"]["lineage"]["merged"] == 1 and p["comparison"]["lineage"]["split"] == 2
    # counts and shares: not compared; totals: both given
    assert all(t["change_pp"] is None and t["prev_count"] is None for t in p["tiers"].values())
    assert (p["total"], p["prev_total"], p["change_total"]) == (4, 5, None)
    assert p["score"]["change_mean"] is None
    assert p["score"]["matched"]["units"] == 4
    assert p["score"]["matched"]["prev_mean"] == pytest.approx((85 + 72 + 72 + 87) / 4)
    # group means: matched units only
    assert p["by_group"]["so"]["prev_mean_score_same_units"] == pytest.approx(79.0)


def test_streaks_stop_at_the_structure(merged, tmp_path):
    # no Yếu in 2023, 2024 or 2025: 3 years, but the units of 2025 are others
    yeu = merged["levels"]["commune"]["streaks"]["yeu"]
    assert yeu["years_without"] == 1 and yeu["since_year"] == 2025
    assert yeu["bounded_by"] == "structure" and yeu["since_structure"] == 2025
    assert yeu["exact"] is False and yeu["first_time"] is None
    assert merged["levels"]["commune"]["history_breaks"] == [2025]
    assert [h["since_structure"] for h in merged["levels"]["commune"]["history"]] == [
        None,
        None,
        2025,
    ]
    # the year before the break still counts across its own years
    m24 = compute_metrics(2024, _structure_project(tmp_path / "p24", years=(2023, 2024)))
    y24 = m24["levels"]["commune"]["streaks"]["yeu"]
    assert y24["years_without"] == 2 and y24["since_structure"] is None
    assert y24["bounded_by"] == "start_of_data"
    assert m24["levels"]["commune"]["comparison"]["basis"] == "same_set"


def test_ranks_out_of_34_and_63_are_not_compared(merged):
    par = merged["national_indices"]["PAR_INDEX"]
    assert (par["rank"], par["rank_of"], par["prev_rank"], par["prev_rank_of"]) == (10, 34, 30, 63)
    assert par["rank_change"] is None and par["rank_comparable"] is False
    sipas = merged["national_indices"]["SIPAS"]  # both out of 34: compared
    assert sipas["rank_change"] == 5 and sipas["rank_comparable"] is True


def test_a_year_without_target_is_a_warning_naming_the_key(merged):
    s = merged["satisfaction"]
    assert s["available"] is True and s["target"] is None and s["met"] is None
    w = [x for x in merged["warnings"] if x["code"] == "no_target"]
    assert len(w) == 1 and w[0]["key"] == "targets.2025.satisfaction"
    assert "config/tinh_a/province.yml" in w[0]["message"] and "targets: {2025:" in w[0]["message"]


def test_a_missing_baseline_is_not_comparable_and_named(tmp_path):
    paths = _structure_project(tmp_path, with_b_communes=False)
    m = compute_metrics(2025, paths)
    c = m["levels"]["commune"]
    comp = c["comparison"]
    assert comp["basis"] == "not_comparable" and comp["requested_basis"] == "combined_baseline"
    assert comp["baseline"]["missing"] == ["data/processed/tinh_b/2024/commune.csv"]
    assert "data/processed/tinh_b/2024/commune.csv" in comp["reason"]["en"]
    assert all(t["change_pp"] is None and t["change_count"] is None for t in c["tiers"].values())
    assert c["score"]["change_mean"] is None and c["change_total"] is None
    assert all(a["change"] is None for a in c["areas"].values())
    assert any(w["code"] == "baseline_missing" for w in m["warnings"])


def test_the_year_after_the_break_is_the_same_set_again(tmp_path):
    paths = _structure_project(tmp_path)
    d = paths.processed_year(2026)
    d.mkdir()
    for level in ("provincial", "commune"):
        df = pd.read_csv(paths.processed_year(2025) / f"{level}.csv")
        df.assign(year=2026).to_csv(d / f"{level}.csv", index=False)
    m = compute_metrics(2026, paths)
    c = m["levels"]["commune"]
    assert c["comparison"]["basis"] == "same_set" and c["change_total"] == 0
    assert [c["tiers"][t]["change_count"] for t in TIERS] == [0, 0, 0, 0]
    yeu = c["streaks"]["yeu"]
    assert (yeu["years_without"], yeu["bounded_by"], yeu["since_structure"]) == (
        2,
        "structure",
        2025,
    )


def test_a_one_level_three_tier_province(tmp_path):
    import yaml

    d = tmp_path / "config" / "tinh_nho"
    d.mkdir(parents=True)
    data = {
        "id": "tinh_nho",
        "name": {"vi": "Tỉnh Nhỏ"},
        "tiers": [{"id": t, "label": {"vi": t}} for t in ("tot", "kha", "kem")],
        "bands": {"default": {"tot": 80, "kha": 60, "kem": 0}},
        "levels": {"xa": {"label": {"vi": "cấp xã"}, "group_by": None}},
    }
    (d / "province.yml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    (d / "units.csv").write_text(
        "unit_id,level,group,district_code,district,name,aliases,valid_from,valid_to,"
        "successor_of,name_basis,source\n"
        + "".join(f"u{i},xa,xa,,,Xã {i},,2023,,,assumed,\n" for i in range(3)),
        encoding="utf-8",
    )
    paths = Paths.from_root(tmp_path, "tinh_nho")
    for year, tiers in ((2023, ["kem", "kha", "tot"]), (2024, ["kha", "kha", "tot"])):
        df = _frame(
            [(f"u{i}", t, {"tot": 90, "kha": 70, "kem": 40}[t], "xa") for i, t in enumerate(tiers)],
            level="xa",
            year=year,
        )
        paths.processed_year(year).mkdir(parents=True)
        df.to_csv(paths.processed_year(year) / "xa.csv", index=False)
    m = compute_metrics(2024, paths)
    assert list(m["levels"]) == ["xa"]
    lv = m["levels"]["xa"]
    assert list(lv["tiers"]) == ["tot", "kha", "kem"] and lv["by_group"] == {}
    assert [lv["tiers"][t]["change_count"] for t in ("tot", "kha", "kem")] == [0, 1, -1]
    assert lv["streaks"]["kem"]["first_time"] is True
    assert m["national_indices"] == {} and m["warnings"] == []
    tables = metrics_tables(m)  # no groups, areas or national indices: the columns stay
    assert tables["metrics_groups"].empty and "mean_score" in tables["metrics_groups"]
    assert tables["metrics_areas"].empty and "change" in tables["metrics_areas"]
    assert tables["metrics_national"].empty and "rank_change" in tables["metrics_national"]
    assert len(tables["metrics_tiers"]) == 3


def test_pooled_areas_only_when_every_province_has_them(tmp_path):
    import yaml

    paths = _structure_project(tmp_path)
    yml = paths.config_dir / "tinh_a" / "province.yml"
    data = yaml.safe_load(yml.read_text("utf-8"))
    data["areas"] = {"commune": [{"id": "a", "label": {"vi": "A"}, "max": 100}]}
    yml.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    for pid, year in (("tinh_a", 2024), ("tinh_a", 2025), ("tinh_b", 2024)):
        f = paths.of(pid).processed_year(year) / "commune.csv"
        df = pd.read_csv(f)
        df.assign(area_a=df["score"]).to_csv(f, index=False)
    a = compute_metrics(2025, paths)["levels"]["commune"]["areas"]["a"]
    assert a["prev_mean"] == pytest.approx(77.5) and a["change"] == pytest.approx(85 - 77.5)
    f = paths.of("tinh_b").processed_year(2024) / "commune.csv"
    pd.read_csv(f).drop(columns="area_a").to_csv(f, index=False)
    a = compute_metrics(2025, paths)["levels"]["commune"]["areas"]["a"]
    assert a["mean"] == pytest.approx(85) and a["prev_mean"] is None and a["change"] is None
