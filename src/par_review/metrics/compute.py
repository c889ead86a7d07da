"""Metrics: every figure of the annual review, computed from data/processed/.

`compute_metrics(year)` returns the metrics.json structure documented in docs/metrics.md
(the schema is a contract: dashboards, the report and the audit read it). `write_metrics`
writes it byte-deterministically, plus tidy CSV tables in data/processed/<year>/.

Numbers only: shares are computed exactly (fractions of counts), kept at full precision and
rounded for display with Decimal under the configured policy. Formatting for a locale
("69,77%") is the report's job (par_review.fmt).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from ..clean.tables import read_processed
from ..config import ConfigError, ProvinceConfig, load_config
from ..fmt import round_decimal
from ..fsutil import write_text_atomic
from ..paths import Paths
from ..rawdata.registry import Registry, load_registry, split_ref
from ..textnorm import nfc, vi_sort_key

SCHEMA_VERSION = 1
POLICIES = ("half_up", "truncate")
SHARES_RULES = ("report", "largest_remainder")
TOP_N = 5  # units listed in levels.<level>.top / bottom
GROUP_TOP_N = 3  # units listed per group

SHARES_RULE_TEXT = {
    "report": (
        "Each share is rounded on its own under the rounding policy; the displayed shares "
        "are not adjusted. shares_sum_display reports their sum and shares_sum_ok says "
        "whether it equals 100 exactly; when it does not, the report must say so."
    ),
    "largest_remainder": (
        "Displayed shares are adjusted by the largest-remainder method so that "
        "they add up to exactly 100: each share is truncated to the stated "
        "decimals and the missing hundredths go to the largest remainders "
        "(ties: better tier first)."
    ),
}
SATISFACTION_METHOD = (
    "Unweighted mean of the per-unit satisfaction_pct of the units in the "
    "target's group (all units when the target names no group). ASSUMPTION: "
    "the province's exact aggregation rule was not found; the unweighted mean "
    "reproduces the notice's 82,77% on the 2022 data."
)
MERGER_RULE = (
    "Units are matched to the previous year by unit id. A unit whose previous-year "
    "record is missing but which succeeds exactly one unit of the previous year "
    "(registry successor_of; that unit no longer scored and succeeded by no other "
    "unit) is compared with it (a rename). A unit that succeeds several units (a "
    "merger) or shares its predecessor with another unit (a split) is not counted as "
    "moving up or down: it is listed under movements.merged / movements.split with "
    "its predecessors; it counts as 'entered' and its predecessors as 'left'."
)


MATCHED_RULE = (
    "Across a change of structure (basis matched_units) units are matched to the previous "
    "year through the registry's lineage, never by position or name: a unit with the same "
    "id is compared with itself; a unit with one predecessor (a rename, or one part of a "
    "split) with that predecessor, and counts as moving up, down or staying; a unit with "
    "several predecessors (a merger) is compared by score with the unweighted mean of its "
    "predecessors' scores (all of them must have been scored) and is listed under merged, "
    "not counted as moving; a unit with no predecessor is new. Predecessors may be units "
    "of an absorbed province (<province>:<unit_id>). Counts and shares are not compared."
)
BASIS_METHOD = {
    "same_set": "The same set of units as the previous year (registry-matched): every "
    "change figure is given.",
    "matched_units": MATCHED_RULE,
    "combined_baseline": "The previous year of this province and of every province merged "
    "into it this year, pooled at the same level: shares and the mean score are compared "
    "with the pooled previous year; counts (and the total) are never compared.",
    "not_comparable": "No comparison with the previous year: every change figure is null.",
}


# --------------------------------------------------------------------------- rounding
def _to_decimal(value: float | int | Decimal | Fraction) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)  # 28 significant digits
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot round {value!r}")
    # repr() is the shortest string that round-trips: 69.76744186046511, 0.145 (not 0.14499..)
    return Decimal(repr(float(value)))


def _round(value: float | int | Decimal | Fraction, policy: str, decimals: int) -> Decimal:
    """Round under a policy, exactly: `half_up` (ties away from zero) or `truncate`
    (towards zero, what the province's notices do). A Fraction (an exact share) is rounded
    with integer arithmetic, whatever its denominator; anything else by
    par_review.fmt.round_decimal (the one decimal rounding of the project)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown rounding policy {policy!r}; expected one of {POLICIES}")
    if isinstance(value, Fraction):
        scaled = abs(value) * 10**decimals
        n = math.floor(scaled + Fraction(1, 2)) if policy == "half_up" else math.floor(scaled)
        q = Decimal(1).scaleb(-decimals)
        return (Decimal(-n if value < 0 else n)).scaleb(-decimals).quantize(q)
    return round_decimal(_to_decimal(value), decimals, policy)


def display_share(
    value: float | int | Decimal | Fraction, policy: str = "half_up", decimals: int = 2
) -> float:
    """A share (or any number) as displayed: 69.767.. -> 69.77 (half_up) or 69.76 (truncate)."""
    return float(_round(value, policy, decimals))


def exact_share(count: int, total: int) -> Fraction | None:
    """count/total in percent, exactly (None when total is 0)."""
    if total <= 0:
        return None
    return Fraction(100 * int(count), int(total))


def largest_remainder(counts: Sequence[int], total: int, decimals: int = 2) -> list[float]:
    """Shares in percent rounded so that they add up to exactly 100 (Hamilton's method):
    truncate every share to `decimals`, then give one unit of the last decimal to the
    largest remainders; ties go to the earlier entry (the better tier)."""
    if total <= 0:
        return [math.nan] * len(counts)
    if sum(counts) != total:
        raise ValueError(f"counts {list(counts)} do not add up to the total {total}")
    scale = 10**decimals
    exact = [Fraction(100 * scale * c, total) for c in counts]
    floors = [math.floor(e) for e in exact]
    missing = 100 * scale - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:missing]:
        floors[i] += 1
    return [float(Decimal(f).scaleb(-decimals)) for f in floors]


def _float(x: Any) -> float | None:
    """A JSON-safe number: None for None/NaN/inf/pd.NA."""
    if x is None or x is pd.NA:
        return None
    if isinstance(x, Fraction):
        return float(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _int(x: Any) -> int | None:
    f = _float(x)
    return None if f is None else int(round(f))


# --------------------------------------------------------------------------- tiers
def tier_counts(df: pd.DataFrame | None, tier_ids: Sequence[str]) -> dict[str, int] | None:
    """Units per tier (every configured tier, zeros included). None for no table."""
    if df is None:
        return None
    unknown = set(df["tier"]) - set(tier_ids)
    if unknown:
        raise ValueError(f"tiers {sorted(unknown)} are not configured tiers {list(tier_ids)}")
    vc = df["tier"].value_counts()
    return {t: int(vc.get(t, 0)) for t in tier_ids}


def tier_flows(
    units: list[dict], prev_df: pd.DataFrame | None, tier_ids: Sequence[str]
) -> dict[str, dict[str, int]] | None:
    """Per tier: where this year's units came from and where last year's went.
    Identity: count - prev_count = in_from_below + in_from_above + entered
                                   - out_to_above - out_to_below - left."""
    if prev_df is None:
        return None
    rank = {t: i for i, t in enumerate(tier_ids)}
    flows = {
        t: dict.fromkeys(
            (
                "stayed",
                "in_from_below",
                "in_from_above",
                "entered",
                "out_to_above",
                "out_to_below",
                "left",
            ),
            0,
        )
        for t in tier_ids
    }
    compared_prev: set[str] = set()
    for u in units:
        t = u["tier"]
        if u["movement"] in ("up", "down", "same"):
            p = u["prev_tier"]
            compared_prev.add(u["compared_with"])
            if rank[t] == rank[p]:
                flows[t]["stayed"] += 1
            elif rank[t] < rank[p]:
                flows[t]["in_from_below"] += 1
                flows[p]["out_to_above"] += 1
            else:
                flows[t]["in_from_above"] += 1
                flows[p]["out_to_below"] += 1
        else:
            flows[t]["entered"] += 1
    for row in prev_df.itertuples(index=False):
        if row.unit_id not in compared_prev:
            flows[row.tier]["left"] += 1
    return flows


def tier_table(
    counts: Mapping[str, int],
    prev_counts: Mapping[str, int] | None,
    cfg: ProvinceConfig,
    policy: str,
    decimals: int,
    shares_rule: str,
    flows: Mapping[str, Mapping[str, int]] | None = None,
    count_changes: bool = True,
) -> dict[str, dict]:
    """levels.<level>.tiers: count, exact and displayed shares, changes vs the previous year.
    `count_changes=False` (a pooled baseline): shares are compared, counts never."""
    tier_ids = cfg.tier_ids
    total = sum(counts.values())
    prev_total = sum(prev_counts.values()) if prev_counts is not None else None
    lr = largest_remainder([counts[t] for t in tier_ids], total, decimals) if total else None
    out: dict[str, dict] = {}
    for i, t in enumerate(tier_ids):
        share = exact_share(counts[t], total)
        prev_share = exact_share(prev_counts[t], prev_total) if prev_counts is not None else None
        change_pp = (share - prev_share) if share is not None and prev_share is not None else None
        if share is None:
            shown = None
        elif shares_rule == "largest_remainder":
            shown = lr[i]
        else:
            shown = display_share(share, policy, decimals)
        change_count = (
            counts[t] - prev_counts[t] if prev_counts is not None and count_changes else None
        )
        entry = {
            "label": cfg.tier(t).label("vi"),
            "label_en": cfg.tier(t).label("en"),
            "rank": i,
            "count": int(counts[t]),
            "share_pct": _float(share),
            "share_display": shown,
            "share_half_up": display_share(share, "half_up", decimals)
            if share is not None
            else None,
            "share_truncated": display_share(share, "truncate", decimals)
            if share is not None
            else None,
            "share_largest_remainder": lr[i] if lr else None,
            "prev_count": int(prev_counts[t]) if prev_counts is not None else None,
            "prev_share_pct": _float(prev_share),
            "change_count": change_count,
            "change_direction": (
                None
                if change_count is None
                else "up"
                if change_count > 0
                else "down"
                if change_count < 0
                else "same"
            ),
            "change_pp": _float(change_pp),
            "change_pp_display": display_share(change_pp, policy, decimals)
            if change_pp is not None
            else None,
            "flows": dict(flows[t]) if flows is not None else None,
        }
        out[t] = entry
    return out


def shares_check(shown: Iterable[float | None], decimals: int = 2) -> dict[str, Any]:
    """Sum of the displayed shares (exact decimal arithmetic) and whether it is 100."""
    vals = [v for v in shown if v is not None]
    if not vals:
        return {"shares_sum_display": None, "shares_sum_ok": None}
    s = sum((Decimal(repr(v)) for v in vals), Decimal(0))
    s = s.quantize(Decimal(1).scaleb(-decimals))
    return {"shares_sum_display": float(s), "shares_sum_ok": s == Decimal(100)}


# --------------------------------------------------------------------------- streaks
def streak_without(
    history: Mapping[int, Mapping[str, int] | None], year: int, tiers: Sequence[str]
) -> dict[str, Any]:
    """Run of consecutive years, ending at `year`, with no unit in any of `tiers`.

    `history` maps year -> tier counts for the years with processed data (None or a
    missing key = no data: a gap). A run that reaches a gap or the first year of data
    is a minimum (`exact` false), never a guess."""
    known = {y: c for y, c in history.items() if c is not None and y <= year}
    if year not in known:
        raise ValueError(f"no tier counts for {year}")
    first = min(known)
    gaps = [y for y in range(first, year) if y not in known]

    def n_in(y: int) -> int:
        return sum(int(known[y].get(t, 0)) for t in tiers)

    count_now = n_in(year)
    res: dict[str, Any] = {
        "tiers": list(tiers),
        "count_this_year": count_now,
        "none_this_year": count_now == 0,
        "years_without": 0,
        "since_year": None,
        "last_year_with": None,
        "exact": True,
        "bounded_by": "year_with",
        "first_time": False,
        "history_first_year": first,
        "gap_years": gaps,
    }
    # the most recent earlier year (with data) that had a unit in these tiers
    for y in range(year - 1, first - 1, -1):
        if y in known and n_in(y) > 0:
            res["last_year_with"] = y
            break
    if count_now > 0:
        res["bounded_by"] = "this_year"
        return res
    y = year
    while y in known and n_in(y) == 0:
        y -= 1
    res["years_without"] = year - y
    res["since_year"] = y + 1
    if y < first:
        res["exact"], res["bounded_by"] = False, "start_of_data"
    elif y not in known:
        res["exact"], res["bounded_by"] = False, "gap"
    earlier = [z for z in known if z < year]
    if any(n_in(z) == 0 for z in earlier):
        res["first_time"] = False
    elif not earlier or gaps:
        res["first_time"] = None  # unknown: nothing to compare with, or a year is missing
    else:
        res["first_time"] = True
    return res


def streaks_for(
    history: Mapping[int, Mapping[str, int] | None],
    year: int,
    tier_ids: Sequence[str],
    since_structure: int | None = None,
) -> dict[str, dict]:
    """streaks[t]: no unit ranked t *or worse*, for every tier but the best one.
    streaks["yeu"] = "no Yếu"; streaks["trung_binh"] = "no Trung bình or Yếu".

    `since_structure`: the first year of the current structure (a structural break). The
    years before it score other units: a run or a "first year" claim never reaches across
    it. A run that reaches it has `bounded_by: "structure"` and `exact: false`."""
    if since_structure is not None:
        history = {y: c for y, c in history.items() if y >= since_structure}
    out = {}
    for i, t in enumerate(tier_ids):
        if i == 0:
            continue
        st = streak_without(history, year, list(tier_ids[i:]))
        if (
            since_structure is not None
            and st["bounded_by"] == "start_of_data"
            and st["history_first_year"] == since_structure
        ):
            st["bounded_by"] = "structure"
        st["since_structure"] = since_structure
        out[t] = st
    return out


# --------------------------------------------------------------------------- units
def _sorted_units(df: pd.DataFrame) -> pd.DataFrame:
    key = df["unit_name"].map(vi_sort_key)
    return (
        df.assign(_k=key)
        .sort_values(["score", "_k"], ascending=[False, True], kind="mergesort")
        .drop(columns="_k")
    )


def unit_records(
    df: pd.DataFrame,
    prev_df: pd.DataFrame | None,
    reg: Registry,
    tier_ids: Sequence[str],
    area_ids: Sequence[str] = (),
) -> list[dict]:
    """One record per unit, best score first (ties: Vietnamese name order): rank,
    score, tier, the previous year's tier and score, its movement (see MERGER_RULE) and
    its points per area (`area_ids`, columns area_<id>)."""
    rank = {t: i for i, t in enumerate(tier_ids)}
    df = df.reset_index(drop=True)
    prev = {r.unit_id: r for r in prev_df.itertuples(index=False)} if prev_df is not None else None
    ranks = df["score"].rank(method="min", ascending=False)
    current = set(df["unit_id"])
    # how many of this year's units claim each previous unit as predecessor (2+ = a split)
    claims: dict[str, int] = {}
    for uid in current:
        u = reg.by_id.get(uid)
        for p in u.successor_of if u is not None and uid not in (prev or {}) else ():
            claims[p] = claims.get(p, 0) + 1
    out = []
    for idx, r in _sorted_units(df).iterrows():
        unit = reg.by_id.get(r.unit_id)
        district_code = unit.district_code if unit is not None else ""
        rec = {
            "unit_id": r.unit_id,
            "unit_name": nfc(r.unit_name),
            "group": r.group,
            "district": nfc(r.district) if isinstance(r.district, str) else "",
            "district_code": district_code,
            "rank": _int(ranks[idx]),
            "score": _float(r.score),
            "tier": r.tier,
            "prev_tier": None,
            "prev_score": None,
            "score_change": None,
            "movement": None,
            "tier_steps": None,
            "compared_with": None,
            "predecessors": [],
            "areas": {a: _float(getattr(r, f"area_{a}", None)) for a in area_ids},
            "comparison_method": None,
            "predecessor_names": [],
        }
        if unit is not None and unit.successor_of:
            rec["predecessors"] = list(unit.successor_of)
            rec["predecessor_names"] = reg.lineage_names(r.unit_id)
        if prev is not None:
            cmp_id = None
            if r.unit_id in prev:
                cmp_id = r.unit_id
            else:
                # a predecessor still scored this year is not "gone": it is not a rename
                present = [p for p in rec["predecessors"] if p in prev and p not in current]
                if len(present) > 1:
                    rec["movement"] = "merged"
                elif len(present) == 1 and claims.get(present[0], 0) > 1:
                    rec["movement"] = "split"
                elif len(present) == 1:
                    cmp_id = present[0]
                else:
                    rec["movement"] = "new"
            if cmp_id is not None:
                p = prev[cmp_id]
                steps = rank[p.tier] - rank[r.tier]  # > 0: moved up
                rec.update(
                    prev_tier=p.tier,
                    prev_score=_float(p.score),
                    compared_with=cmp_id,
                    score_change=_float(
                        Decimal(repr(float(r.score))) - Decimal(repr(float(p.score)))
                    ),
                    tier_steps=steps,
                    movement="up" if steps > 0 else "down" if steps < 0 else "same",
                    comparison_method="same_unit" if cmp_id == r.unit_id else "renamed",
                )
        out.append(rec)
    return out


def matched_unit_records(
    df: pd.DataFrame,
    pool: pd.DataFrame,
    reg: Registry,
    tier_ids: Sequence[str],
    area_ids: Sequence[str] = (),
) -> list[dict]:
    """Unit records across a change of structure (basis matched_units, see MATCHED_RULE).
    `pool`: every previous-year unit of this province and of the provinces merged into it
    this year (ids of absorbed units written `<province>:<unit_id>`)."""
    base = unit_records(df, None, reg, tier_ids, area_ids)
    rank = {t: i for i, t in enumerate(tier_ids)}
    prev = {r.unit_id: r for r in pool.itertuples(index=False)}
    current = {u["unit_id"] for u in base}
    claims: dict[str, int] = {}
    for uid in current:
        u = reg.by_id.get(uid)
        for p in u.successor_of if u is not None and uid not in prev else ():
            claims[p] = claims.get(p, 0) + 1
    for rec in base:
        uid = rec["unit_id"]
        preds = rec["predecessors"]
        rec["compared_with_units"] = []
        cmp_id = None
        if uid in prev:
            cmp_id, method = uid, "same_unit"
        elif len(preds) >= 2:
            rec["movement"] = "merged"
            scored = [p for p in preds if p in prev]
            rec["compared_with_units"] = scored
            if len(scored) == len(preds):
                mean = sum((Decimal(repr(float(prev[p].score))) for p in preds), Decimal(0))
                mean = mean / Decimal(len(preds))
                rec.update(
                    prev_score=float(mean),
                    score_change=_float(Decimal(repr(float(rec["score"]))) - mean),
                    comparison_method="mean_of_predecessors",
                )
            else:
                rec["comparison_method"] = "predecessors_not_scored"
        elif len(preds) == 1 and preds[0] in prev:
            cmp_id = preds[0]
            method = "split_from" if claims.get(cmp_id, 0) > 1 else "renamed"
        elif len(preds) == 1:
            rec["movement"], rec["comparison_method"] = "unmatched", "predecessors_not_scored"
        else:
            rec["movement"] = "new"
        if cmp_id is not None:
            p = prev[cmp_id]
            steps = rank[p.tier] - rank[rec["tier"]] if p.tier in rank else None
            rec.update(
                prev_tier=p.tier,
                prev_score=_float(p.score),
                compared_with=cmp_id,
                compared_with_units=[cmp_id],
                score_change=_float(
                    Decimal(repr(float(rec["score"]))) - Decimal(repr(float(p.score)))
                ),
                tier_steps=steps,
                movement="compared"
                if steps is None
                else "up"
                if steps > 0
                else "down"
                if steps < 0
                else "same",
                comparison_method=method,
            )
    return base


def matched_movements(units: list[dict], pool: pd.DataFrame, reg: Registry) -> dict[str, Any]:
    """levels.<level>.movements across a change of structure (basis matched_units)."""
    prev = {r.unit_id: r for r in pool.itertuples(index=False)}

    def brief_prev(ref: str) -> dict:
        province, _ = split_ref(ref)
        r = prev.get(ref)
        return {
            "unit_id": ref,
            "province": province,
            "unit_name": nfc(r.unit_name) if r is not None else (reg.ref_name(ref)),
            "prev_tier": r.tier if r is not None else None,
            "prev_score": _float(r.score) if r is not None else None,
        }

    def with_steps(u: dict) -> dict:
        return _brief(u) | {"tier_steps": u["tier_steps"], "compared_with": u["compared_with"]}

    up = [with_steps(u) for u in units if u["movement"] == "up"]
    down = [with_steps(u) for u in units if u["movement"] == "down"]
    merged = [
        _brief(u)
        | {
            "predecessors": [brief_prev(p) for p in u["predecessors"]],
            "comparison_method": u["comparison_method"],
        }
        for u in units
        if u["movement"] == "merged"
    ]
    split = [
        with_steps(u) | {"predecessors": list(u["predecessors"])}
        for u in units
        if u["comparison_method"] == "split_from"
    ]
    new = [_brief(u) for u in units if u["movement"] == "new"]
    unmatched = [
        _brief(u) | {"predecessors": list(u["predecessors"])}
        for u in units
        if u["movement"] == "unmatched"
    ]
    compared = {u["compared_with"] for u in units if u["compared_with"]}
    merged_into = {
        p: u["unit_id"] for u in units if u["movement"] == "merged" for p in u["predecessors"]
    }
    current = {u["unit_id"] for u in units}
    left = []
    for r in _sorted_units(pool).itertuples(index=False):
        if r.unit_id in compared:
            continue
        succ = [
            u.unit_id for u in reg.units if r.unit_id in u.successor_of and u.unit_id in current
        ]
        left.append(
            {
                "unit_id": r.unit_id,
                "province": split_ref(r.unit_id)[0],
                "unit_name": nfc(r.unit_name),
                "group": r.group,
                "prev_tier": r.tier,
                "prev_score": _float(r.score),
                "merged_into": merged_into.get(r.unit_id),
                "successors": succ,
            }
        )
    return {
        "available": True,
        "rule": MATCHED_RULE,
        "up_count": len(up),
        "down_count": len(down),
        "same_count": sum(1 for u in units if u["movement"] == "same"),
        "up": up,
        "down": down,
        "merged": merged,
        "split": split,
        "new": new,
        "unmatched": unmatched,
        "left": left,
        "ended_count": sum(1 for x in left if not x["successors"]),
    }


def _brief(u: Mapping[str, Any]) -> dict:
    keys = (
        "unit_id",
        "unit_name",
        "group",
        "district",
        "rank",
        "score",
        "tier",
        "prev_tier",
        "prev_score",
        "score_change",
    )
    return {k: u[k] for k in keys}


def movements(units: list[dict], prev_df: pd.DataFrame | None, reg: Registry) -> dict[str, Any]:
    """Units that moved up or down a tier since last year, with names (best score first)."""
    if prev_df is None:
        return {
            "available": False,
            "rule": MERGER_RULE,
            "up_count": None,
            "down_count": None,
            "same_count": None,
            "up": [],
            "down": [],
            "merged": [],
            "split": [],
            "new": [],
            "left": [],
        }
    prev = {r.unit_id: r for r in prev_df.itertuples(index=False)}
    up = [_brief(u) | {"tier_steps": u["tier_steps"]} for u in units if u["movement"] == "up"]
    down = [_brief(u) | {"tier_steps": u["tier_steps"]} for u in units if u["movement"] == "down"]
    merged = []
    for u in units:
        if u["movement"] == "merged":
            preds = [
                {
                    "unit_id": p,
                    "unit_name": nfc(prev[p].unit_name),
                    "prev_tier": prev[p].tier,
                    "prev_score": _float(prev[p].score),
                }
                for p in u["predecessors"]
                if p in prev
            ]
            merged.append(_brief(u) | {"predecessors": preds})
    new = [_brief(u) for u in units if u["movement"] == "new"]
    split = [
        _brief(u) | {"predecessors": [p for p in u["predecessors"] if p in prev]}
        for u in units
        if u["movement"] == "split"
    ]
    compared = {u["compared_with"] for u in units if u["compared_with"]}
    merged_into = {
        p: u["unit_id"] for u in units if u["movement"] == "merged" for p in u["predecessors"]
    }
    current = {u["unit_id"] for u in units}
    left = []
    for r in _sorted_units(prev_df).itertuples(index=False):
        if r.unit_id in compared:
            continue
        succ = [
            u.unit_id for u in reg.units if r.unit_id in u.successor_of and u.unit_id in current
        ]
        left.append(
            {
                "unit_id": r.unit_id,
                "unit_name": nfc(r.unit_name),
                "group": r.group,
                "prev_tier": r.tier,
                "prev_score": _float(r.score),
                "merged_into": merged_into.get(r.unit_id),
                "successors": succ,
            }
        )
    return {
        "available": True,
        "rule": MERGER_RULE,
        "up_count": len(up),
        "down_count": len(down),
        "same_count": sum(1 for u in units if u["movement"] == "same"),
        "up": up,
        "down": down,
        "merged": merged,
        "split": split,
        "new": new,
        "left": left,
    }


# --------------------------------------------------------------------------- groups, areas
def _mean(series: pd.Series) -> float | None:
    s = series.dropna()
    if s.empty:
        return None
    total = sum((Decimal(repr(float(v))) for v in s), Decimal(0))
    return float(total / Decimal(len(s)))


def _diff(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return float(Decimal(repr(a)) - Decimal(repr(b)))


def _group_key(level_cfg: Mapping[str, Any]) -> str | None:
    if "group_by" in level_cfg and level_cfg["group_by"] is None:
        return None  # the level is not grouped (e.g. communes after districts were abolished)
    return "district" if level_cfg.get("group_by") == "district" else "group"


def group_summaries(
    units: list[dict],
    prev_df: pd.DataFrame | None,
    cfg: ProvinceConfig,
    level: str,
    n: int = GROUP_TOP_N,
    year: int | None = None,
) -> dict[str, dict]:
    """Per group (provincial: registry group; communes: district, keyed by district code);
    empty when the level is not grouped in `year` (`group_by: null`)."""
    spec = cfg.levels_for(year).get(level, {}) if year is not None else cfg.levels[level]
    by = _group_key(spec)
    if by is None:
        return {}
    groups: dict[str, list[dict]] = {}
    labels: dict[str, str] = {}
    for u in units:
        key = (u["district_code"] or u["district"]) if by == "district" else u["group"]
        groups.setdefault(key, []).append(u)
        labels[key] = u["district"] if by == "district" else cfg.group_label(u["group"], "vi", year)
    if by == "district":
        order = sorted(groups, key=lambda k: vi_sort_key(labels[k]))
    else:
        cfg_order = list(cfg.groups_for(year) if year is not None else cfg.groups)
        order = sorted(
            groups, key=lambda k: (cfg_order.index(k) if k in cfg_order else len(cfg_order), k)
        )
    out = {}
    for key in order:
        members = groups[key]
        scores = pd.Series([u["score"] for u in members], dtype=float)
        prev_scores = pd.Series(
            [u["prev_score"] for u in members if u["prev_score"] is not None], dtype=float
        )
        mean = _mean(scores)
        prev_mean = _mean(prev_scores) if prev_df is not None else None
        out[key] = {
            "key": key,
            "label": labels[key],
            "label_en": labels[key] if by == "district" else cfg.group_label(key, "en", year),
            "by": by,
            "total": len(members),
            "counts": {t: sum(1 for u in members if u["tier"] == t) for t in cfg.tier_ids},
            "mean_score": mean,
            "prev_mean_score_same_units": prev_mean,
            "change_mean_score": _diff(mean, prev_mean),
            "up_count": sum(1 for u in members if u["movement"] == "up")
            if prev_df is not None
            else None,
            "down_count": sum(1 for u in members if u["movement"] == "down")
            if prev_df is not None
            else None,
            "top": [_brief(u) for u in members[:n]],
            "bottom": [_brief(u) for u in members[::-1][:n]],
        }
    return out


def area_summaries(
    df: pd.DataFrame,
    prev_df: pd.DataFrame | None,
    cfg: ProvinceConfig,
    level: str,
    year: int | None = None,
) -> dict[str, dict]:
    """Mean points per area (component), as points and as % of the area's maximum, and
    the change against the previous year's mean (all units of each year)."""
    out = {}
    for a in cfg.areas(level, year):
        mean = _mean(df[a.column]) if a.column in df else None
        prev = _mean(prev_df[a.column]) if prev_df is not None and a.column in prev_df else None
        pct = (
            float(Decimal(repr(mean)) * 100 / Decimal(repr(a.max)))
            if mean is not None and a.max
            else None
        )
        prev_pct = (
            float(Decimal(repr(prev)) * 100 / Decimal(repr(a.max)))
            if prev is not None and a.max
            else None
        )
        out[a.id] = {
            "label": a.label("vi"),
            "label_en": a.label("en"),
            "max": a.max,
            "mean": mean,
            "mean_pct_of_max": pct,
            "prev_mean": prev,
            "prev_mean_pct_of_max": prev_pct,
            "change": _diff(mean, prev),
            "change_pct_of_max": _diff(pct, prev_pct),
        }
    return out


def score_summary(df: pd.DataFrame, prev_df: pd.DataFrame | None) -> dict[str, Any]:
    mean = _mean(df["score"])
    prev = _mean(prev_df["score"]) if prev_df is not None else None
    return {
        "mean": mean,
        "median": _float(df["score"].median()),
        "min": _float(df["score"].min()),
        "max": _float(df["score"].max()),
        "prev_mean": prev,
        "change_mean": _diff(mean, prev),
    }


# --------------------------------------------------------------------------- satisfaction, national
def satisfaction_metrics(
    sat: pd.DataFrame | None,
    cfg: ProvinceConfig,
    year: int,
    policy: str = "half_up",
    decimals: int = 2,
) -> dict[str, Any]:
    """The bloc satisfaction result against its target (see SATISFACTION_METHOD)."""
    target = cfg.targets(year).get("satisfaction") or {}
    group = target.get("group")
    base = {
        "available": False,
        "method": SATISFACTION_METHOD,
        "group": group,
        "group_label": cfg.group_label(group, "vi") if group else None,
        "group_label_en": cfg.group_label(group, "en") if group else None,
        "label": (target.get("label") or {}).get("vi"),
        "label_en": (target.get("label") or {}).get("en"),
        "units": 0,
        "value": None,
        "value_display": None,
        "target": _float(target.get("value")),
        "target_source": target.get("source"),
        "met": None,
        "gap_pp": None,
        "gap_pp_display": None,
        "shortfall_pp_display": None,
        "weighted_value": None,
        "units_meeting_target": None,
        "min": None,
        "max": None,
        "unit_list": [],
    }
    if sat is None or sat.empty:
        return base
    rows = sat[sat["group"] == group] if group else sat
    if rows.empty:
        return base
    vals = [Decimal(repr(float(v))) for v in rows["satisfaction_pct"] if _float(v) is not None]
    value = sum(vals, Decimal(0)) / Decimal(len(vals))
    res = dict(
        base,
        available=True,
        units=len(vals),
        value=float(value),
        value_display=display_share(value, policy, decimals),
        min=_float(rows["satisfaction_pct"].min()),
        max=_float(rows["satisfaction_pct"].max()),
    )
    t = Decimal(repr(float(target["value"]))) if target.get("value") is not None else None
    ordered = rows.assign(_k=rows["unit_name"].map(vi_sort_key)).sort_values(
        ["satisfaction_pct", "_k"], ascending=[False, True], kind="mergesort"
    )
    res["unit_list"] = [
        {
            "unit_id": r.unit_id,
            "unit_name": nfc(r.unit_name),
            "group": r.group,
            "respondents": _int(getattr(r, "respondents", None)),
            "satisfaction_pct": _float(r.satisfaction_pct),
            "meets_target": None
            if t is None
            else bool(Decimal(repr(float(r.satisfaction_pct))) >= t),
        }
        for r in ordered.itertuples(index=False)
    ]
    if (
        "respondents" in rows
        and rows["respondents"].notna().all()
        and rows["respondents"].sum() > 0
    ):
        w = sum(
            (
                Decimal(repr(float(v))) * int(n)
                for v, n in zip(rows["satisfaction_pct"], rows["respondents"], strict=True)
            ),
            Decimal(0),
        )
        res["weighted_value"] = float(w / int(rows["respondents"].sum()))
    if target.get("value") is not None:
        t = Decimal(repr(float(target["value"])))
        gap = value - t
        res.update(
            met=bool(value >= t),
            gap_pp=float(gap),
            gap_pp_display=float(round_decimal(gap, decimals, "half_up")),
            shortfall_pp_display=float(round_decimal(-gap, decimals, "half_up"))
            if gap < 0
            else 0.0,
            units_meeting_target=int(sum(1 for v in vals if v >= t)),
        )
    return res


def national_metrics(nat: pd.DataFrame | None, cfg: ProvinceConfig, year: int) -> dict[str, dict]:
    """Per configured national index: this year's value and rank, last year's, and the
    change (rank_change > 0 = moved up the ranking). Missing values are null."""
    out = {}
    indices = list((cfg.data.get("national_indices") or {}).keys())
    if nat is not None:
        indices += sorted(set(nat["index"]) - set(indices))
    for idx in indices:
        rows = nat[nat["index"] == idx] if nat is not None else pd.DataFrame()

        def row(y: int, rows: pd.DataFrame = rows) -> dict | None:
            r = rows[rows["year"] == y] if not rows.empty else rows
            return None if r.empty else r.iloc[0].to_dict()

        cur, prev = row(year), row(year - 1)
        value, rank = (_float(cur["value"]), _int(cur["rank"])) if cur else (None, None)
        pvalue, prank = (_float(prev["value"]), _int(prev["rank"])) if prev else (None, None)
        rank_of = _int(cur["rank_of"]) if cur else None
        prev_rank_of = _int(prev["rank_of"]) if prev else None
        # a rank moves only within one ranking: 10/34 and 30/63 are not compared
        comparable = (
            None
            if rank is None or prank is None
            else (rank_of is not None and rank_of == prev_rank_of)
        )
        out[idx] = {
            "label": cfg.national_index_label(idx, "vi"),
            "label_en": cfg.national_index_label(idx, "en"),
            "year": year,
            "available": value is not None or rank is not None,
            "value": value,
            "unit": (cur.get("unit") if cur else None) or None,
            "rank": rank,
            "rank_of": rank_of,
            "basis": (cur.get("basis") if cur else None) or None,
            "source_url": (cur.get("source_url") if cur else None) or None,
            "previous_year": year - 1,
            "prev_value": pvalue,
            "prev_rank": prank,
            "value_change": _diff(value, pvalue),
            "rank_change": prank - rank if comparable else None,
            "prev_rank_of": prev_rank_of,
            "rank_comparable": comparable,
        }
        for k in ("unit", "basis", "source_url"):
            if isinstance(out[idx][k], float):  # NaN read from an empty cell
                out[idx][k] = None
    return out


# --------------------------------------------------------------------------- assembly
def _read(paths: Paths, year: int, table: str) -> pd.DataFrame | None:
    if not (paths.processed_year(year) / f"{table}.csv").is_file():
        return None
    return read_processed(paths, year, table)


def _qualified(df: pd.DataFrame, province: str | None) -> pd.DataFrame:
    """A previous-year table with its unit ids as lineage writes them (`<province>:<id>`
    for an absorbed province) and a `province` column."""
    out = df.copy()
    if province is not None:
        out["unit_id"] = province + ":" + out["unit_id"].astype(str)
    out["province"] = province or ""
    return out


def prepare_comparison(
    level: str,
    year: int,
    cfg: ProvinceConfig,
    paths: Paths,
    prev_df: pd.DataFrame | None,
) -> dict[str, Any]:
    """What `level` in `year` is compared with: the configured basis
    (cfg.comparability), the previous-year tables it needs (this province's and, across a
    merger, those of the provinces merged in this year), and the basis actually used (a
    pooled or lineage baseline whose tables are missing falls back to not_comparable,
    with the missing files named)."""
    conf = cfg.comparability(year, level)
    basis, reason = conf["basis"], conf["reason"]
    out: dict[str, Any] = {
        "basis": basis,
        "requested_basis": basis,
        "reason": reason,
        "frames": {cfg.id: prev_df},  # same level, year - 1, by province
        "pool": None,  # the same-level frames pooled (ids qualified)
        "lookup": None,  # every level of year - 1 pooled (lineage matching)
        "sources": [],  # the baseline's tables (same level)
        "read": [],  # every table read (lineage may reach other levels)
        "missing": [],
    }
    if basis == "same_set":
        return out
    others = cfg.baseline_provinces(year)
    lookup = []
    for province in [cfg.id, *others]:
        pp = paths.of(province)
        try:
            pcfg = cfg if province == cfg.id else load_config(province, paths)
            prev_levels = list(pcfg.levels_for(year - 1))
        except ConfigError:
            prev_levels = [level]
        if province != cfg.id:
            out["frames"][province] = _read(pp, year - 1, level)
        f = pp.processed_year(year - 1) / f"{level}.csv"
        if out["frames"][province] is None:
            out["missing"].append(paths.rel(f))
        else:
            out["sources"].append(paths.rel(f))
        for lv in prev_levels:
            other = out["frames"][province] if lv == level else _read(pp, year - 1, lv)
            if other is not None:
                lookup.append(_qualified(other, None if province == cfg.id else province))
                out["read"].append(paths.rel(pp.processed_year(year - 1) / f"{lv}.csv"))
    present = [
        _qualified(f, None if p == cfg.id else p) for p, f in out["frames"].items() if f is not None
    ]
    out["pool"] = pd.concat(present, ignore_index=True) if present else None
    out["lookup"] = pd.concat(lookup, ignore_index=True) if lookup else None
    problem = None
    if basis in ("matched_units", "combined_baseline") and out["missing"]:
        problem = (
            f"Thiếu kết quả năm {year - 1} ({', '.join(out['missing'])}).",
            f"The {year - 1} results needed for the comparison are not in the project "
            f"({', '.join(out['missing'])}).",
        )
    elif basis == "combined_baseline" and out["pool"] is not None:
        unknown = sorted(set(out["pool"]["tier"]) - set(cfg.tier_ids))
        if unknown:
            problem = (
                f"Kết quả năm {year - 1} dùng các mức xếp loại khác ({', '.join(unknown)}).",
                f"The {year - 1} results use other tiers ({', '.join(unknown)}).",
            )
    if problem is not None:
        out["basis"] = "not_comparable"
        vi, en = problem
        base = reason or {}
        out["reason"] = {
            "vi": " ".join(x for x in (base.get("vi"), vi) if x),
            "en": " ".join(x for x in (base.get("en") or base.get("vi"), en) if x),
        }
    return out


def lineage_summary(
    df: pd.DataFrame, reg: Registry, cfg: ProvinceConfig, year: int, level: str
) -> dict[str, Any]:
    """How this year's units of a level came to be (registry lineage), and how many of the
    previous year's units of the level (this province's and those merged in this year)
    ended with no successor: the counts of the report's structure section."""
    rel = {k: 0 for k in ("continued", "renamed", "merged", "split", "new")}
    for uid in df["unit_id"]:
        if uid in reg.by_id:
            rel[reg.relation(uid, year)] += 1
    now = {u.unit_id for u in reg.roster(year, level)} | set(df["unit_id"])
    ended, previous = [], {}
    sources = [(None, reg)] + [
        (p, reg.absorbed[p]) for p in cfg.baseline_provinces(year) if p in reg.absorbed
    ]
    for province, r in sources:
        roster = r.roster(year - 1, level)
        previous[province or cfg.id] = len(roster)
        for u in roster:
            if u.valid_to is not None and u.valid_to < year:
                ref = f"{province}:{u.unit_id}" if province else u.unit_id
                if not any(s in now for s in reg.successors(ref)):
                    ended.append(ref)
    return {**rel, "ended": len(ended), "ended_units": sorted(ended), "previous_roster": previous}


def level_metrics(
    level: str,
    year: int,
    frames: Mapping[int, pd.DataFrame | None],
    cfg: ProvinceConfig,
    reg: Registry,
    policy: str,
    decimals: int,
    shares_rule: str,
    comparison: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """levels.<level> of metrics.json, from the level's table for every available year.
    `comparison` (prepare_comparison): what the year is compared with; None = the same set
    of units as the previous year."""
    df = frames[year]
    prev_df = frames.get(year - 1)
    comp = dict(comparison or {"basis": "same_set", "reason": None, "frames": {}})
    basis = comp["basis"]
    tier_ids = cfg.tier_ids
    area_ids = [a.id for a in cfg.areas(level, year)]
    history = {y: tier_counts(f, tier_ids) for y, f in sorted(frames.items()) if f is not None}
    counts = history[year]
    total = sum(counts.values())
    pool = comp.get("pool")
    pool_counts = (
        tier_counts(pool, tier_ids) if basis == "combined_baseline" and pool is not None else None
    )
    if basis == "same_set":
        prev_counts = history.get(year - 1)
        units = unit_records(df, prev_df, reg, tier_ids, area_ids)
        flows = tier_flows(units, prev_df, tier_ids)
        tiers = tier_table(counts, prev_counts, cfg, policy, decimals, shares_rule, flows)
        score = score_summary(df, prev_df)
        moves = movements(units, prev_df, reg)
        group_prev, area_prev = prev_df, prev_df
        previous_year = year - 1 if prev_df is not None else None
        prev_total = sum(prev_counts.values()) if prev_counts is not None else None
        change_total = total - prev_total if prev_total is not None else None
        note = (
            None
            if prev_df is not None
            else f"no processed data for {year - 1}: no year-over-year changes"
        )
        baseline_frames = {cfg.id: prev_df} if prev_df is not None else {}
    else:
        baseline_frames = {p: f for p, f in comp["frames"].items() if f is not None}
        previous_year = year - 1 if baseline_frames else None
        prev_total = sum(len(f) for f in baseline_frames.values()) if baseline_frames else None
        change_total = None
        reason_en = (comp.get("reason") or {}).get("en") or ""
        group_prev = area_prev = None
        if basis == "matched_units":
            units = matched_unit_records(df, comp["lookup"], reg, tier_ids, area_ids)
            tiers = tier_table(counts, None, cfg, policy, decimals, shares_rule)
            score = score_summary(df, None) | {"matched": matched_score(units)}
            moves = matched_movements(units, pool, reg)
            group_prev = comp["lookup"]
            note = f"compared through lineage with {year - 1}; counts and shares are not compared. {reason_en}"
        elif basis == "combined_baseline":
            units = unit_records(df, None, reg, tier_ids, area_ids)
            tiers = tier_table(
                counts, pool_counts, cfg, policy, decimals, shares_rule, count_changes=False
            )
            score = score_summary(df, pool)
            moves = movements(units, None, reg)
            same_areas = [(a.id, a.max) for a in cfg.areas(level, year)] == [
                (a.id, a.max) for a in cfg.areas(level, year - 1)
            ]
            # every pooled table must have every area: a mean over some provinces is not one
            columns = [a.column for a in cfg.areas(level, year)]
            complete = all(
                c in f.columns and f[c].notna().all()
                for f in comp["frames"].values()
                if f is not None
                for c in columns
            )
            area_prev = pool if same_areas and complete else None
            note = f"shares and the mean compared with the pooled {year - 1}; counts are not compared. {reason_en}"
        else:
            units = unit_records(df, None, reg, tier_ids, area_ids)
            tiers = tier_table(counts, None, cfg, policy, decimals, shares_rule)
            score = score_summary(df, None)
            moves = movements(units, None, reg)
            note = f"not comparable with {year - 1}: {reason_en}".strip()
        note = note.strip()
    since = cfg.structure_start(year, level)
    streaks = streaks_for(history, year, tier_ids, since)
    first_years = sorted(history)
    breaks = [y for y in first_years if cfg.structure_start(y, level) == y]
    base_counts = None
    if baseline_frames:
        pooled = pd.concat(list(baseline_frames.values()), ignore_index=True)
        try:
            base_counts = tier_counts(pooled, tier_ids)
        except ValueError:
            base_counts = None
        by_group_prev = {
            str(k): int(v) for k, v in pooled["group"].value_counts().sort_index().items()
        }
    else:
        by_group_prev = {}
    comparison_out = {
        "basis": basis,
        "requested_basis": comp.get("requested_basis", basis),
        "previous_year": previous_year,
        "reason": comp.get("reason"),
        "method": BASIS_METHOD[basis],
        "baseline": {
            "units": prev_total,
            "provinces": list(baseline_frames),
            "by_province": {p: len(f) for p, f in baseline_frames.items()},
            "counts": base_counts,
            "by_group": by_group_prev,
            "sources": list(comp.get("sources") or []),
            "missing": list(comp.get("missing") or []),
        },
        "since_structure": since,
        "structure_break": cfg.structure_start(year, level) == year,
        "lineage": lineage_summary(df, reg, cfg, year, level),
    }
    return {
        "label": cfg.level_label(level, "vi", year),
        "label_en": cfg.level_label(level, "en", year),
        "total": total,
        "previous_year": previous_year,
        "previous_note": note,
        "prev_total": prev_total,
        "change_total": change_total,
        "tiers": tiers,
        "shares_sum_pct": _float(sum((exact_share(c, total) for c in counts.values()), Fraction(0)))
        if total
        else None,
        **shares_check((t["share_display"] for t in tiers.values()), decimals),
        "shares_rule": shares_rule,
        "score": score,
        "streaks": streaks,
        "first_year_without": {t: s["first_time"] for t, s in streaks.items()},
        "history": [
            {
                "year": y,
                "total": sum(c.values()),
                "counts": c,
                "since_structure": cfg.structure_start(y, level),
            }
            for y, c in history.items()
        ],
        "history_years": first_years,
        "history_gaps": [y for y in range(first_years[0], year) if y not in history],
        "history_breaks": breaks,
        "movements": moves,
        "top": [_brief(u) for u in units[:TOP_N]],
        "bottom": [_brief(u) for u in units[::-1][:TOP_N]],
        "group_by": _group_key(cfg.levels_for(year)[level]),
        "by_group": group_summaries(units, group_prev, cfg, level, year=year),
        "areas": area_summaries(df, area_prev, cfg, level, year),
        "checks": roster_check(df, reg, year, level, counts),
        "units": units,
        "scored_by": cfg.scored_by(level, year, "vi"),
        "scored_by_en": cfg.scored_by(level, year, "en"),
        "comparison": comparison_out,
    }


def matched_score(units: list[dict]) -> dict[str, Any]:
    """The mean score change of the units compared through lineage (a merged unit against
    the mean of its predecessors, a split part or a renamed unit against its predecessor)."""
    both = [u for u in units if u["prev_score"] is not None and u["score"] is not None]
    mean = _mean(pd.Series([u["score"] for u in both], dtype=float)) if both else None
    prev = _mean(pd.Series([u["prev_score"] for u in both], dtype=float)) if both else None
    return {
        "units": len(both),
        "of": len(units),
        "mean": mean,
        "prev_mean": prev,
        "change_mean": _diff(mean, prev),
    }


def roster_check(
    df: pd.DataFrame, reg: Registry, year: int, level: str, counts: Mapping[str, int]
) -> dict[str, Any]:
    """Do the scored units match the registry's roster for the year and level?"""
    roster = {u.unit_id for u in reg.roster(year, level)}
    scored = set(df["unit_id"])
    return {
        "counts_sum_to_total": sum(counts.values()) == len(df),
        "roster_size": len(roster),
        "roster_matches": roster == scored,
        "missing_from_table": sorted(roster - scored),
        "not_in_roster": sorted(scored - roster),
    }


def compare_with_previous(
    metrics: Mapping[str, Any], previous: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Back-test: do this year's `prev_count`s and `prev_total`s agree with the previous
    year's metrics (e.g. the published reports/<year-1>/metrics.json)? Returns
    {available, agrees, differences: [{level, key, here, previous}]}."""
    if previous is None:
        return {"available": False, "agrees": None, "differences": []}
    if int(previous["year"]) != int(metrics["year"]) - 1:
        raise ValueError(
            f"previous metrics are for {previous['year']}, expected {int(metrics['year']) - 1}"
        )
    diffs = []
    for level, lv in metrics["levels"].items():
        plv = (previous.get("levels") or {}).get(level)
        if plv is None or lv.get("previous_year") is None:
            continue
        if (lv.get("comparison") or {}).get("basis", "same_set") != "same_set":
            continue  # a pooled or lineage baseline is not the previous year's own figures
        if lv["prev_total"] != plv["total"]:
            diffs.append(
                {"level": level, "key": "total", "here": lv["prev_total"], "previous": plv["total"]}
            )
        for t, e in lv["tiers"].items():
            pc = ((plv.get("tiers") or {}).get(t) or {}).get("count")
            if e["prev_count"] != pc:
                diffs.append(
                    {
                        "level": level,
                        "key": f"tiers.{t}.count",
                        "here": e["prev_count"],
                        "previous": pc,
                    }
                )
    return {"available": True, "agrees": not diffs, "differences": diffs}


def resolve_rounding(
    cfg: ProvinceConfig, rounding: str | None, shares_rule: str | None
) -> tuple[str, int, str]:
    conf = cfg.rounding
    policy = rounding or conf.get("policy") or "half_up"
    if policy not in POLICIES:
        raise ValueError(f"unknown rounding policy {policy!r}; expected one of {POLICIES}")
    rule = shares_rule or conf.get("shares_rule") or "report"
    if rule not in SHARES_RULES:
        raise ValueError(f"unknown shares rule {rule!r}; expected one of {SHARES_RULES}")
    return policy, int(conf.get("decimals", 2)), rule


def structure_metrics(cfg: ProvinceConfig, year: int) -> dict[str, Any]:
    """The structure in force (for the report's structure section): its first year, its
    label, whether `year` is that first year, the provinces absorbed."""
    entry = cfg.structure_for(year)
    label = (entry or {}).get("label") or {}
    return {
        "since": entry["from"] if entry else None,
        "break_this_year": cfg.structure_break(year) is not None,
        "label": label.get("vi"),
        "label_en": label.get("en") or label.get("vi"),
        "absorbed": cfg.absorbed_in(year),
        "merged_this_year": cfg.baseline_provinces(year),
        "levels": list(cfg.levels_for(year)),
        "previous_levels": list(cfg.levels_for(year - 1)),
        "ended_levels": [lv for lv in cfg.levels_for(year - 1) if lv not in cfg.levels_for(year)],
        "new_levels": [lv for lv in cfg.levels_for(year) if lv not in cfg.levels_for(year - 1)],
    }


def compute_metrics(
    year: int,
    paths: Paths | None = None,
    province: str | None = None,
    rounding: str | None = None,
    shares_rule: str | None = None,
) -> dict:
    """Every figure of the year's review, as the metrics.json structure (docs/metrics.md).

    Reads data/processed/<y>/ for every y <= year (history for streaks). `rounding`
    overrides the config's policy ("half_up" or "truncate"); `shares_rule` the config's
    rule for displayed shares that do not add up to 100 ("report" or "largest_remainder")."""
    paths = (paths or Paths.from_root()).of(province)
    province = paths.province
    year = int(year)
    cfg = load_config(province, paths)
    reg = load_registry(cfg.dir)
    policy, decimals, rule = resolve_rounding(cfg, rounding, shares_rule)
    years = [y for y in paths.processed_years() if y <= year]
    if year not in years:
        raise FileNotFoundError(
            f"no processed data for {year} in {paths.processed_year(year)}: run the cleaning first"
        )
    sources: dict[str, str] = {}
    levels: dict[str, Any] = {}
    baseline_sources: list[str] = []
    warnings: list[dict[str, Any]] = []
    for level in cfg.levels_for(year):
        frames = {y: _read(paths, y, level) for y in years}
        if frames[year] is None:
            raise FileNotFoundError(f"{paths.processed_year(year) / (level + '.csv')} is missing")
        comp = prepare_comparison(level, year, cfg, paths, frames.get(year - 1))
        if comp["basis"] != comp["requested_basis"]:
            warnings.append(
                {
                    "code": "baseline_missing",
                    "level": level,
                    "key": f"structure (from: {year}).comparability.{level}",
                    "file": None,
                    "message": f"{level}: the {comp['requested_basis']} comparison with "
                    f"{year - 1} needs {', '.join(comp['missing']) or 'tables with the same tiers'}; "
                    "no change figure is given",
                }
            )
        levels[level] = level_metrics(
            level, year, frames, cfg, reg, policy, decimals, rule, comparison=comp
        )
        sources[level] = paths.rel(paths.processed_year(year) / f"{level}.csv")
        baseline_sources += [p for p in comp["sources"] + comp["read"] if p not in baseline_sources]
    sat = _read(paths, year, "satisfaction")
    nat = _read(paths, year, "national_indices")
    if sat is not None:
        sources["satisfaction"] = paths.rel(paths.processed_year(year) / "satisfaction.csv")
    if nat is not None:
        sources["national_indices"] = paths.rel(paths.processed_year(year) / "national_indices.csv")
    gaps = [y for y in range(years[0], year) if y not in years]
    satisfaction = satisfaction_metrics(sat, cfg, year, policy, decimals)
    if sat is not None and satisfaction["target"] is None:
        warnings.append(
            {
                "code": "no_target",
                "level": None,
                "key": f"targets.{year}.satisfaction",
                "file": cfg.rel_source,
                "message": f"no satisfaction target for {year}: add "
                f"`targets: {{{year}: {{satisfaction: {{value: <percent>, group: <group id>}}}}}}` "
                f"to {cfg.rel_source}; the report says that no target was set",
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "year": year,
        "province": {
            "id": cfg.id,
            "name": cfg.name("vi"),
            "name_en": cfg.name("en"),
            "short_name": cfg.short_name("vi"),
            "short_name_en": cfg.short_name("en"),
        },
        "rounding": {
            "policy": policy,
            "decimals": decimals,
            "shares_rule": rule,
            "shares_rule_text": SHARES_RULE_TEXT[rule],
        },
        "history": {"years": years, "first_year": years[0], "gap_years": gaps},
        "sources": sources,
        "levels": levels,
        "satisfaction": satisfaction,
        "national_indices": national_metrics(nat, cfg, year),
        "structure": structure_metrics(cfg, year),
        "baseline_sources": baseline_sources,
        "warnings": warnings,
    }


# --------------------------------------------------------------------------- output
def json_safe(obj: Any) -> Any:
    """Replace NaN/inf by None and numpy/Fraction/Decimal numbers by Python numbers."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if hasattr(obj, "item") and not isinstance(obj, (Fraction, Decimal)):  # numpy scalars
        return json_safe(obj.item())
    return _float(obj)


def metrics_json(metrics: Mapping[str, Any]) -> str:
    """The byte-deterministic text of metrics.json (no NaN, UTF-8, stable key order)."""
    return json.dumps(json_safe(metrics), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


GROUP_COLUMNS = [
    "year",
    "level",
    "group_by",
    "group_key",
    "label",
    "label_en",
    "total",
    "mean_score",
    "prev_mean_score_same_units",
    "change_mean_score",
    "up_count",
    "down_count",
]
AREA_COLUMNS = [
    "year",
    "level",
    "area",
    "label",
    "label_en",
    "max",
    "mean",
    "mean_pct_of_max",
    "prev_mean",
    "prev_mean_pct_of_max",
    "change",
    "change_pct_of_max",
]
NATIONAL_COLUMNS = [
    "year",
    "index",
    "label",
    "label_en",
    "available",
    "value",
    "unit",
    "rank",
    "rank_of",
    "basis",
    "source_url",
    "previous_year",
    "prev_value",
    "prev_rank",
    "value_change",
    "rank_change",
    "prev_rank_of",
    "rank_comparable",
]


def metrics_tables(metrics: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The tidy CSV tables (name -> frame) written next to the processed data."""
    year = metrics["year"]
    tiers, units, groups, areas, streaks, hist, moves = [], [], [], [], [], [], []
    for level, lv in metrics["levels"].items():
        for t, e in lv["tiers"].items():
            flows = e.get("flows") or {}
            tiers.append(
                {
                    "year": year,
                    "level": level,
                    "tier": t,
                    "tier_rank": e["rank"],
                    "label": e["label"],
                    "label_en": e["label_en"],
                    "total": lv["total"],
                    "count": e["count"],
                    "share_pct": e["share_pct"],
                    "share_display": e["share_display"],
                    "share_half_up": e["share_half_up"],
                    "share_truncated": e["share_truncated"],
                    "share_largest_remainder": e["share_largest_remainder"],
                    "previous_year": lv["previous_year"],
                    "prev_total": lv["prev_total"],
                    "prev_count": e["prev_count"],
                    "prev_share_pct": e["prev_share_pct"],
                    "change_count": e["change_count"],
                    "change_pp": e["change_pp"],
                    "change_pp_display": e["change_pp_display"],
                    **{
                        f"flow_{k}": flows.get(k)
                        for k in (
                            "stayed",
                            "in_from_below",
                            "in_from_above",
                            "entered",
                            "out_to_above",
                            "out_to_below",
                            "left",
                        )
                    },
                }
            )
        for u in lv["units"]:
            units.append(
                {
                    "year": year,
                    "level": level,
                    **{
                        k: v
                        for k, v in u.items()
                        if k
                        not in ("predecessors", "areas", "predecessor_names", "compared_with_units")
                    },
                    "predecessors": "|".join(u["predecessors"]),
                    "predecessor_names": "|".join(u.get("predecessor_names") or []),
                    **{f"area_{a}": v for a, v in u["areas"].items()},
                }
            )
        for g in lv["by_group"].values():
            groups.append(
                {
                    "year": year,
                    "level": level,
                    "group_by": g["by"],
                    "group_key": g["key"],
                    "label": g["label"],
                    "label_en": g["label_en"],
                    "total": g["total"],
                    **{f"count_{t}": c for t, c in g["counts"].items()},
                    "mean_score": g["mean_score"],
                    "prev_mean_score_same_units": g["prev_mean_score_same_units"],
                    "change_mean_score": g["change_mean_score"],
                    "up_count": g["up_count"],
                    "down_count": g["down_count"],
                }
            )
        for a, e in lv["areas"].items():
            areas.append({"year": year, "level": level, "area": a, **e})
        for t, s in lv["streaks"].items():
            streaks.append(
                {
                    "year": year,
                    "level": level,
                    "key": t,
                    **{k: v for k, v in s.items() if k not in ("tiers", "gap_years")},
                    "tiers": "|".join(s["tiers"]),
                    "gap_years": "|".join(map(str, s["gap_years"])),
                }
            )
        for h in lv["history"]:
            for t, c in h["counts"].items():
                hist.append(
                    {"level": level, "year": h["year"], "tier": t, "count": c, "total": h["total"]}
                )
        for kind in ("up", "down", "merged", "split", "new", "unmatched"):
            for u in lv["movements"].get(kind, []):
                moves.append(
                    {
                        "year": year,
                        "level": level,
                        "movement": kind,
                        "unit_id": u["unit_id"],
                        "unit_name": u["unit_name"],
                        "prev_tier": u["prev_tier"],
                        "tier": u["tier"],
                        "prev_score": u["prev_score"],
                        "score": u["score"],
                        "predecessors": "|".join(
                            p if isinstance(p, str) else p["unit_id"]
                            for p in u.get("predecessors", [])
                        ),
                    }
                )
        for u in lv["movements"]["left"]:
            moves.append(
                {
                    "year": year,
                    "level": level,
                    "movement": "left",
                    "unit_id": u["unit_id"],
                    "unit_name": u["unit_name"],
                    "prev_tier": u["prev_tier"],
                    "tier": None,
                    "prev_score": u["prev_score"],
                    "score": None,
                    "predecessors": "",
                    "successors": "|".join(u["successors"]),
                }
            )
    sat = metrics["satisfaction"]
    sat_row = {"year": year, **{k: v for k, v in sat.items() if k not in ("method", "unit_list")}}
    nat = [
        {"year": year, "index": k, **{kk: vv for kk, vv in v.items() if kk != "year"}}
        for k, v in metrics["national_indices"].items()
    ]
    return {
        "metrics_tiers": pd.DataFrame(tiers),
        "metrics_units": pd.DataFrame(units),
        "metrics_movements": pd.DataFrame(
            moves,
            columns=[
                "year",
                "level",
                "movement",
                "unit_id",
                "unit_name",
                "prev_tier",
                "tier",
                "prev_score",
                "score",
                "predecessors",
                "successors",
            ],
        ),
        # the same columns when a level has no groups or areas (group_by null, no areas)
        "metrics_groups": pd.DataFrame(groups) if groups else pd.DataFrame(columns=GROUP_COLUMNS),
        "metrics_areas": pd.DataFrame(areas) if areas else pd.DataFrame(columns=AREA_COLUMNS),
        "metrics_streaks": pd.DataFrame(streaks),
        "metrics_history": pd.DataFrame(hist),
        "metrics_satisfaction": pd.DataFrame([sat_row]),
        "metrics_satisfaction_units": pd.DataFrame(
            [{"year": year, **u} for u in sat.get("unit_list", [])],
            columns=[
                "year",
                "unit_id",
                "unit_name",
                "group",
                "respondents",
                "satisfaction_pct",
                "meets_target",
            ],
        ),
        "metrics_national": pd.DataFrame(nat) if nat else pd.DataFrame(columns=NATIONAL_COLUMNS),
    }


def write_metrics(metrics: dict, out_dir: Path, paths: Paths, year: int) -> Path:
    """Write out_dir/metrics.json (byte-deterministic) and the tidy tables
    data/processed/<province>/metrics/<year>/metrics_*.csv. Returns the path of metrics.json."""
    if int(metrics["year"]) != int(year):
        raise ValueError(f"metrics are for {metrics['year']}, not {year}")
    out_dir = Path(out_dir)
    target = out_dir / "metrics.json"
    write_text_atomic(target, metrics_json(metrics))
    prov = metrics.get("province")
    folder = paths.of(prov.get("id") if isinstance(prov, dict) else prov).metrics_tables_year(year)
    for name, df in metrics_tables(metrics).items():
        text = df.to_csv(index=False, lineterminator="\n")  # floats at full precision (repr)
        write_text_atomic(folder / f"{name}.csv", text, keep_same=True)
    return target


def load_metrics(path: Path) -> dict:
    """Read a metrics.json written by write_metrics."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
