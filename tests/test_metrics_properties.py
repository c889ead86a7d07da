"""Property tests (hypothesis) of the metrics on random rosters."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from par_review.metrics.compute import (
    display_share,
    exact_share,
    largest_remainder,
    shares_check,
    streak_without,
    tier_counts,
    tier_flows,
    tier_table,
    unit_records,
)
from par_review.rawdata.registry import Registry, Unit

TIERS = ["tot", "kha", "trung_binh", "yeu"]

rosters = st.lists(
    st.tuples(st.sampled_from(TIERS), st.decimals(min_value=0, max_value=100, places=2)),
    min_size=1,
    max_size=60,
)


def roster_frame(roster) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                "year": 2022,
                "level": "provincial",
                "unit_id": f"u{i:03d}",
                "unit_name": f"Đơn vị {i}",
                "group": "so_ban_nganh",
                "district": "",
                "score": float(score),
                "tier": tier,
            }
            for i, (tier, score) in enumerate(roster)
        ]
    )


def registry_for(df: pd.DataFrame) -> Registry:
    return Registry(
        [
            Unit(u, "provincial", "so_ban_nganh", "", "", f"Đơn vị {u}", (), 2018, None, (), "test")
            for u in df["unit_id"]
        ]
    )


def _sum(values) -> Decimal:
    return sum((Decimal(repr(v)) for v in values), Decimal(0))


@settings(deadline=None)
@given(rosters)
def test_counts_add_up_to_the_total(roster):
    counts = tier_counts(roster_frame(roster), TIERS)
    assert list(counts) == TIERS
    assert sum(counts.values()) == len(roster)
    assert all(c >= 0 for c in counts.values())


@settings(deadline=None)
@given(rosters, st.sampled_from(["half_up", "truncate"]))
def test_shares_add_up_to_100_at_full_precision(cfg, roster, policy):
    counts = tier_counts(roster_frame(roster), TIERS)
    total = sum(counts.values())
    assert sum(exact_share(c, total) for c in counts.values()) == Fraction(100)
    table = tier_table(counts, None, cfg, policy, 2, "report")
    # share_pct is the float of the exact share
    assert all(table[t]["share_pct"] == float(exact_share(counts[t], total)) for t in TIERS)


@settings(deadline=None)
@given(rosters, st.sampled_from(["half_up", "truncate"]), st.integers(min_value=0, max_value=3))
def test_displayed_shares_follow_the_report_rule(cfg, roster, policy, decimals):
    """Rule 'report': each share rounded on its own, never adjusted; the sum is reported
    and flagged, and it can miss 100 by at most half a unit (half_up) or one unit
    (truncate) of the last decimal per tier."""
    counts = tier_counts(roster_frame(roster), TIERS)
    total = sum(counts.values())
    table = tier_table(counts, None, cfg, policy, decimals, "report")
    shown = [table[t]["share_display"] for t in TIERS]
    unit = Decimal(1).scaleb(-decimals)
    for t, s in zip(TIERS, shown, strict=True):
        exact = exact_share(counts[t], total)
        assert s == display_share(exact, policy, decimals)
        err = Fraction(Decimal(repr(s))) - exact
        if policy == "truncate":
            assert -Fraction(unit) < err <= 0
        else:
            assert abs(err) <= Fraction(unit) / 2
    check = shares_check(shown, decimals)
    s = _sum(shown)
    assert check["shares_sum_display"] == float(s)
    assert check["shares_sum_ok"] == (s == 100)
    assert abs(s - 100) <= unit * len(TIERS)


@settings(deadline=None)
@given(rosters, st.integers(min_value=0, max_value=3))
def test_largest_remainder_adds_up_to_exactly_100(cfg, roster, decimals):
    counts = tier_counts(roster_frame(roster), TIERS)
    total = sum(counts.values())
    shown = largest_remainder([counts[t] for t in TIERS], total, decimals)
    assert _sum(shown) == 100
    unit = Fraction(Decimal(1).scaleb(-decimals))
    for t, s in zip(TIERS, shown, strict=True):
        assert abs(Fraction(Decimal(repr(s))) - exact_share(counts[t], total)) < unit
    table = tier_table(counts, None, cfg, "half_up", decimals, "largest_remainder")
    assert (
        shares_check([table[t]["share_display"] for t in TIERS], decimals)["shares_sum_ok"] is True
    )


@settings(deadline=None)
@given(rosters)
def test_a_year_against_itself_changes_nothing(cfg, roster):
    df = roster_frame(roster)
    counts = tier_counts(df, TIERS)
    table = tier_table(counts, counts, cfg, "half_up", 2, "report")
    assert all(table[t]["change_count"] == 0 and table[t]["change_pp"] == 0 for t in TIERS)
    assert all(table[t]["change_pp_display"] == 0 for t in TIERS)
    units = unit_records(df, df, registry_for(df), TIERS)
    assert all(u["movement"] == "same" and u["score_change"] == 0 for u in units)
    flows = tier_flows(units, df, TIERS)
    assert all(flows[t]["stayed"] == counts[t] for t in TIERS)
    assert all(v == 0 for t in TIERS for k, v in flows[t].items() if k != "stayed")


@settings(deadline=None)
@given(
    rosters,
    rosters,
    st.integers(min_value=0, max_value=30),
    st.lists(st.lists(st.integers(min_value=0, max_value=59), max_size=3), max_size=60),
)
def test_flows_explain_the_count_changes(cfg, before, after, shift, successors):
    """Whatever the renames, mergers and splits (random successor_of links), the flows of
    every tier add up to its change in count."""
    prev = roster_frame(before)
    cur = roster_frame(after)
    cur["unit_id"] = [f"u{i + shift:03d}" for i in range(len(cur))]  # partial overlap with prev
    prev_ids = list(prev["unit_id"])
    units = []
    for i, uid in enumerate(cur["unit_id"]):
        links = successors[i] if i < len(successors) else []
        succ = tuple(
            dict.fromkeys(
                prev_ids[j % len(prev_ids)] for j in links if prev_ids[j % len(prev_ids)] != uid
            )
        )
        units.append(
            Unit(uid, "provincial", "so_ban_nganh", "", "", uid, (), 2018, None, succ, "test")
        )
    known = {u.unit_id for u in units}
    units += [
        Unit(u, "provincial", "so_ban_nganh", "", "", u, (), 2018, None, (), "test")
        for u in prev_ids
        if u not in known
    ]
    records = unit_records(cur, prev, Registry(units), TIERS)
    flows = tier_flows(records, prev, TIERS)
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
    compared = [r["compared_with"] for r in records if r["compared_with"]]
    assert len(compared) == len(set(compared))  # no previous unit is compared twice


histories = st.dictionaries(
    st.integers(min_value=2010, max_value=2022), st.integers(min_value=0, max_value=2), min_size=1
)


@settings(deadline=None)
@given(histories)
def test_streak_is_consistent_with_the_history(hist):
    year = max(hist)
    h = {y: {"yeu": n} for y, n in hist.items()}
    s = streak_without(h, year, ["yeu"])
    n = s["years_without"]
    # every year of the run is known and has none
    assert all(y in hist and hist[y] == 0 for y in range(year - n + 1, year + 1))
    if not s["none_this_year"]:
        assert n == 0 and s["bounded_by"] == "this_year" and hist[year] > 0
    elif s["exact"]:
        assert hist.get(year - n, 0) > 0 and s["last_year_with"] == year - n
    else:
        assert (year - n) not in hist
    if s["first_time"] is True:
        assert hist[year] == 0 and all(hist[y] > 0 for y in hist if y < year)
