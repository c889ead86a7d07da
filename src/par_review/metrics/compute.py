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
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from ..clean.tables import read_processed
from ..config import LEVELS, ProvinceConfig, load_config
from ..fsutil import write_text_atomic
from ..paths import Paths
from ..rawdata.registry import Registry, load_registry
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


def round_decimal(
    value: float | int | Decimal | Fraction, policy: str = "half_up", decimals: int = 2
) -> Decimal:
    """Round under a policy, exactly: `half_up` (ties away from zero) or `truncate`
    (towards zero, what the province's notices do)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown rounding policy {policy!r}; expected one of {POLICIES}")
    q = Decimal(1).scaleb(-decimals)
    if isinstance(value, Fraction):  # exact integer arithmetic, whatever the denominator
        scaled = abs(value) * 10**decimals
        n = math.floor(scaled + Fraction(1, 2)) if policy == "half_up" else math.floor(scaled)
        return (Decimal(-n if value < 0 else n)).scaleb(-decimals).quantize(q)
    return _to_decimal(value).quantize(
        q, rounding=ROUND_HALF_UP if policy == "half_up" else ROUND_DOWN
    )


def display_share(
    value: float | int | Decimal | Fraction, policy: str = "half_up", decimals: int = 2
) -> float:
    """A share (or any number) as displayed: 69.767.. -> 69.77 (half_up) or 69.76 (truncate)."""
    return float(round_decimal(value, policy, decimals))


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
) -> dict[str, dict]:
    """levels.<level>.tiers: count, exact and displayed shares, changes vs the previous year."""
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
        change_count = counts[t] - prev_counts[t] if prev_counts is not None else None
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
    history: Mapping[int, Mapping[str, int] | None], year: int, tier_ids: Sequence[str]
) -> dict[str, dict]:
    """streaks[t]: no unit ranked t *or worse*, for every tier but the best one.
    streaks["yeu"] = "no Yếu"; streaks["trung_binh"] = "no Trung bình or Yếu"."""
    return {
        t: streak_without(history, year, list(tier_ids[i:]))
        for i, t in enumerate(tier_ids)
        if i > 0
    }


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
        }
        if unit is not None and unit.successor_of:
            rec["predecessors"] = list(unit.successor_of)
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
                )
        out.append(rec)
    return out


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


def _group_key(level_cfg: Mapping[str, Any]) -> str:
    return "district" if level_cfg.get("group_by") == "district" else "group"


def group_summaries(
    units: list[dict],
    prev_df: pd.DataFrame | None,
    cfg: ProvinceConfig,
    level: str,
    n: int = GROUP_TOP_N,
) -> dict[str, dict]:
    """Per group (provincial: registry group; communes: district, keyed by district code)."""
    by = _group_key(cfg.levels[level])
    groups: dict[str, list[dict]] = {}
    labels: dict[str, str] = {}
    for u in units:
        key = (u["district_code"] or u["district"]) if by == "district" else u["group"]
        groups.setdefault(key, []).append(u)
        labels[key] = u["district"] if by == "district" else cfg.group_label(u["group"], "vi")
    if by == "district":
        order = sorted(groups, key=lambda k: vi_sort_key(labels[k]))
    else:
        cfg_order = list(cfg.groups)
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
            "label_en": labels[key] if by == "district" else cfg.group_label(key, "en"),
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
    df: pd.DataFrame, prev_df: pd.DataFrame | None, cfg: ProvinceConfig, level: str
) -> dict[str, dict]:
    """Mean points per area (component), as points and as % of the area's maximum, and
    the change against the previous year's mean (all units of each year)."""
    out = {}
    for a in cfg.areas(level):
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
            gap_pp_display=float(round_decimal(gap, "half_up", decimals)),
            shortfall_pp_display=float(round_decimal(-gap, "half_up", decimals))
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
        out[idx] = {
            "label": cfg.national_index_label(idx, "vi"),
            "label_en": cfg.national_index_label(idx, "en"),
            "year": year,
            "available": value is not None or rank is not None,
            "value": value,
            "unit": (cur.get("unit") if cur else None) or None,
            "rank": rank,
            "rank_of": _int(cur["rank_of"]) if cur else None,
            "basis": (cur.get("basis") if cur else None) or None,
            "source_url": (cur.get("source_url") if cur else None) or None,
            "previous_year": year - 1,
            "prev_value": pvalue,
            "prev_rank": prank,
            "value_change": _diff(value, pvalue),
            "rank_change": prank - rank if rank is not None and prank is not None else None,
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


def level_metrics(
    level: str,
    year: int,
    frames: Mapping[int, pd.DataFrame | None],
    cfg: ProvinceConfig,
    reg: Registry,
    policy: str,
    decimals: int,
    shares_rule: str,
) -> dict[str, Any]:
    """levels.<level> of metrics.json, from the level's table for every available year."""
    df = frames[year]
    prev_df = frames.get(year - 1)
    tier_ids = cfg.tier_ids
    history = {y: tier_counts(f, tier_ids) for y, f in sorted(frames.items()) if f is not None}
    counts, prev_counts = history[year], history.get(year - 1)
    units = unit_records(df, prev_df, reg, tier_ids, [a.id for a in cfg.areas(level)])
    flows = tier_flows(units, prev_df, tier_ids)
    tiers = tier_table(counts, prev_counts, cfg, policy, decimals, shares_rule, flows)
    total = sum(counts.values())
    streaks = streaks_for(history, year, tier_ids)
    first_years = sorted(history)
    return {
        "label": cfg.level_label(level, "vi"),
        "label_en": cfg.level_label(level, "en"),
        "total": total,
        "previous_year": year - 1 if prev_df is not None else None,
        "previous_note": None
        if prev_df is not None
        else f"no processed data for {year - 1}: no year-over-year changes",
        "prev_total": sum(prev_counts.values()) if prev_counts is not None else None,
        "change_total": total - sum(prev_counts.values()) if prev_counts is not None else None,
        "tiers": tiers,
        "shares_sum_pct": _float(sum((exact_share(c, total) for c in counts.values()), Fraction(0)))
        if total
        else None,
        **shares_check((t["share_display"] for t in tiers.values()), decimals),
        "shares_rule": shares_rule,
        "score": score_summary(df, prev_df),
        "streaks": streaks,
        "first_year_without": {t: s["first_time"] for t, s in streaks.items()},
        "history": [{"year": y, "total": sum(c.values()), "counts": c} for y, c in history.items()],
        "history_years": first_years,
        "history_gaps": [y for y in range(first_years[0], year) if y not in history],
        "movements": movements(units, prev_df, reg),
        "top": [_brief(u) for u in units[:TOP_N]],
        "bottom": [_brief(u) for u in units[::-1][:TOP_N]],
        "group_by": _group_key(cfg.levels[level]),
        "by_group": group_summaries(units, prev_df, cfg, level),
        "areas": area_summaries(df, prev_df, cfg, level),
        "checks": roster_check(df, reg, year, level, counts),
        "units": units,
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
    for level in LEVELS:
        if level not in cfg.levels:
            continue
        frames = {y: _read(paths, y, level) for y in years}
        if frames[year] is None:
            raise FileNotFoundError(f"{paths.processed_year(year) / (level + '.csv')} is missing")
        levels[level] = level_metrics(level, year, frames, cfg, reg, policy, decimals, rule)
        sources[level] = paths.rel(paths.processed_year(year) / f"{level}.csv")
    sat = _read(paths, year, "satisfaction")
    nat = _read(paths, year, "national_indices")
    if sat is not None:
        sources["satisfaction"] = paths.rel(paths.processed_year(year) / "satisfaction.csv")
    if nat is not None:
        sources["national_indices"] = paths.rel(paths.processed_year(year) / "national_indices.csv")
    gaps = [y for y in range(years[0], year) if y not in years]
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
        "satisfaction": satisfaction_metrics(sat, cfg, year, policy, decimals),
        "national_indices": national_metrics(nat, cfg, year),
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
                    **{k: v for k, v in u.items() if k not in ("predecessors", "areas")},
                    "predecessors": "|".join(u["predecessors"]),
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
        for kind in ("up", "down", "merged", "split", "new"):
            for u in lv["movements"][kind]:
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
        "metrics_groups": pd.DataFrame(groups),
        "metrics_areas": pd.DataFrame(areas),
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
        "metrics_national": pd.DataFrame(nat),
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
        write_text_atomic(folder / f"{name}.csv", text)
    return target


def load_metrics(path: Path) -> dict:
    """Read a metrics.json written by write_metrics."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
