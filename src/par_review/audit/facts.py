"""The facts a notice is checked against, taken from one year's metrics (the metrics.json
schema, docs/metrics.md): tier counts per level and year, the comparison basis of each level
(issue 12: `levels.<level>.comparison`), mean scores, national ranks and satisfaction.

    facts = facts_from_metrics(metrics, cfg)      # or load_facts(year, paths, province)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

SAME_SET = "same_set"


@dataclass(frozen=True)
class LevelYear:
    """Tier counts of one level in one year (every configured tier present, zeros included)."""

    total: int
    counts: Mapping[str, int]


@dataclass(frozen=True)
class SatisfactionFacts:
    value: float | None  # the satisfaction index of `group` (%)
    target: float | None  # the target for that year (%)
    met: bool | None
    group: str | None = None  # config group id the value and target are for (e.g. so_ban_nganh)
    group_label: str | None = None


@dataclass(frozen=True)
class Comparison:
    """How a level's year compares with an earlier one (`levels.<level>.comparison`):
    `basis` same_set | matched_units | combined_baseline | not_comparable, against
    `previous_year`, with the reason in Vietnamese and English. `since_structure` is the
    first year of the current structure (streaks and firsts stop there)."""

    basis: str = SAME_SET
    previous_year: int | None = None
    reason: Mapping[str, str] = field(default_factory=dict)
    since_structure: int | None = None

    @property
    def same_set(self) -> bool:
        return self.basis == SAME_SET


@dataclass(frozen=True)
class MeanScore:
    mean: float | None
    previous_year: int | None
    change: float | None  # null where the basis does not allow a change


@dataclass(frozen=True)
class NationalRank:
    """One national index in the audited year (`national_indices.<id>`)."""

    label: str
    rank: int | None
    rank_of: int | None
    previous_year: int | None
    prev_rank: int | None
    prev_rank_of: int | None
    rank_change: int | None
    rank_comparable: bool | None = None

    @property
    def comparable(self) -> bool:
        if self.rank_comparable is False:
            return False
        return not (self.prev_rank_of and self.rank_of and self.prev_rank_of != self.rank_of)


@dataclass(frozen=True)
class Facts:
    """What the audit needs to know: tiers (best first) with their Vietnamese labels and
    aliases, tier counts per level per year (the whole history available), the comparison
    basis per level, and the satisfaction result of the audited year."""

    year: int
    tiers: tuple[str, ...]
    tier_labels: Mapping[str, str]
    history: Mapping[str, Mapping[int, LevelYear]]
    satisfaction: SatisfactionFacts | None = None
    tier_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)  # group id -> Vietnamese label
    comparisons: Mapping[str, Comparison] = field(default_factory=dict)
    means: Mapping[str, MeanScore] = field(default_factory=dict)
    national: Mapping[str, NationalRank] = field(default_factory=dict)
    # level -> the years a new structure began (the year is not comparable with the one before)
    breaks: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def level_year(self, level: str, year: int) -> LevelYear | None:
        return (self.history.get(level) or {}).get(year)

    def years(self, level: str) -> list[int]:
        return sorted(self.history.get(level) or {})

    def comparison(self, level: str) -> Comparison:
        """The level's comparison basis in the audited year (a provincial group's is the
        provincial level's); `same_set` when the metrics say nothing (metrics from before
        issue 12)."""
        return self.comparisons.get(_level_of(level)) or Comparison()

    def structure_start(self, level: str, year: int | None = None) -> int | None:
        """The first year of the structure `level` is in in `year` (default: the audited
        year), when a break lies within the data; None when there was no break."""
        year = self.year if year is None else year
        starts = [b for b in self.breaks.get(_level_of(level), ()) if b <= year]
        return max(starts) if starts else None

    def break_between(self, level: str, since: int, year: int) -> Comparison | None:
        """Why `year` cannot be compared with `since` (a structural break lies between them,
        `since` < break <= `year`), else None."""
        found = [b for b in self.breaks.get(_level_of(level), ()) if since < b <= year]
        if not found:
            return None
        c = self.comparison(level)
        b = max(found)
        if b == c.since_structure or (b == self.year and not c.same_set):
            return c
        return Comparison(
            basis="structure_break",
            previous_year=b - 1,
            reason={
                "vi": f"Cơ cấu đơn vị thay đổi từ năm {b}.",
                "en": f"the structure of the units changed in {b}",
            },
            since_structure=b,
        )


def _level_of(level: str) -> str:
    return "provincial" if level.startswith("group:") else level


def facts_from_metrics(metrics: Mapping, cfg=None) -> Facts:
    """Build Facts from one year's metrics (the `compute_metrics` / metrics.json schema,
    docs/metrics.md): `levels.<level>.history` (tier counts of every processed year, for
    changes, streaks and firsts), `levels.<level>.tiers.<tier>.label`,
    `levels.<level>.by_group.<group>.{total,counts}` (provincial groups, this year only),
    `levels.<level>.comparison` (absent: same_set), `levels.<level>.score`,
    `national_indices` and `satisfaction.{available,value,target,met,group,group_label}`.
    `cfg` (a ProvinceConfig) adds the tier aliases and group labels used to read the text."""
    year = int(metrics["year"])
    tiers: list[str] = []
    labels: dict[str, str] = {}
    history: dict[str, dict[int, LevelYear]] = {}
    groups: dict[str, str] = {}
    comparisons: dict[str, Comparison] = {}
    breaks: dict[str, tuple[int, ...]] = {}
    means: dict[str, MeanScore] = {}
    for level, lv in (metrics.get("levels") or {}).items():
        for tid, t in (lv.get("tiers") or {}).items():
            if tid not in tiers:
                tiers.append(tid)
            if t.get("label"):
                labels.setdefault(tid, t["label"])
        hist = {
            int(h["year"]): LevelYear(int(h["total"]), {k: int(v) for k, v in h["counts"].items()})
            for h in lv.get("history") or []
        }
        if year not in hist and lv.get("tiers"):
            counts = {tid: int(t["count"]) for tid, t in lv["tiers"].items()}
            hist[year] = LevelYear(int(lv.get("total", sum(counts.values()))), counts)
        history[level] = hist
        comparisons[level] = _comparison(lv)
        breaks[level] = _breaks(lv, year, comparisons[level])
        score = lv.get("score") or {}
        if score:
            means[level] = MeanScore(
                _float_or_none(score.get("mean")),
                _int_or_none(lv.get("previous_year")),
                _float_or_none(score.get("change_mean")),
            )
        if level == "provincial" and (lv.get("group_by") or "group") == "group":
            for gid, g in (lv.get("by_group") or {}).items():
                history[f"group:{gid}"] = {
                    year: LevelYear(int(g["total"]), {k: int(v) for k, v in g["counts"].items()})
                }
                groups[gid] = g.get("label") or gid
    aliases: dict[str, tuple[str, ...]] = {}
    if cfg is not None:
        tiers = list(cfg.tier_ids)
        for t in cfg.tiers:
            labels[t.id] = t.label("vi")
            aliases[t.id] = tuple(t.aliases)
        groups = {g: cfg.group_label(g, "vi") for g in cfg.groups}
    sat = metrics.get("satisfaction") or {}
    sat_facts = None
    if sat.get("available", True) and sat.get("value") is not None:
        group = sat.get("group")
        sat_facts = SatisfactionFacts(
            value=_float_or_none(sat.get("value")),
            target=_float_or_none(sat.get("target")),
            met=sat.get("met"),
            group=group,
            group_label=sat.get("group_label") or (groups.get(group) if group else None),
        )
    national = {
        nid: NationalRank(
            label=n.get("label") or nid,
            rank=_int_or_none(n.get("rank")),
            rank_of=_int_or_none(n.get("rank_of")),
            previous_year=_int_or_none(n.get("previous_year")),
            prev_rank=_int_or_none(n.get("prev_rank")),
            prev_rank_of=_int_or_none(n.get("prev_rank_of")),
            rank_change=_int_or_none(n.get("rank_change")),
            rank_comparable=n.get("rank_comparable"),
        )
        for nid, n in (metrics.get("national_indices") or {}).items()
        if isinstance(n, Mapping)
    }
    return Facts(
        year=year,
        tiers=tuple(tiers),
        tier_labels=labels,
        history=history,
        satisfaction=sat_facts,
        tier_aliases=aliases,
        groups=groups,
        comparisons=comparisons,
        means=means,
        national=national,
        breaks=breaks,
    )


def _comparison(lv: Mapping) -> Comparison:
    """`levels.<level>.comparison` (absent: same_set)."""
    c = lv.get("comparison") or {}
    reason = c.get("reason") or {}
    if isinstance(reason, str):
        reason = {"en": reason}
    return Comparison(
        basis=c.get("basis") or SAME_SET,
        previous_year=_int_or_none(c.get("previous_year", lv.get("previous_year"))),
        reason=dict(reason),
        since_structure=_int_or_none(c.get("since_structure")),
    )


def _breaks(lv: Mapping, year: int, c: Comparison) -> tuple[int, ...]:
    """The years a new structure began, from every place the metrics say so: the audited
    year's basis (not same_set: a break this year), `comparison.since_structure`,
    `history_breaks`, `history[].since_structure` and `streaks.*.since_structure`."""
    found = set(lv.get("history_breaks") or ())
    if not c.same_set:
        found.add(year)
    if c.since_structure is not None:
        found.add(c.since_structure)
    for h in lv.get("history") or ():
        if h.get("since_structure") is not None:
            found.add(h["since_structure"])
    for st in (lv.get("streaks") or {}).values():
        if isinstance(st, Mapping) and st.get("since_structure") is not None:
            found.add(st["since_structure"])
    return tuple(sorted(int(y) for y in found))


def _float_or_none(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def _int_or_none(x) -> int | None:
    try:
        return None if x is None else int(x)
    except (TypeError, ValueError):
        return None


def load_facts(
    year: int, paths=None, province: str | None = None, rounding: str | None = None
) -> Facts:
    """Facts for `year` from `par_review.metrics.compute_metrics` (which reads every
    processed year up to `year`; the same numbers metrics.json holds). Raises
    FileNotFoundError when `year` is not processed."""
    from ..config import load_config
    from ..metrics.compute import compute_metrics
    from ..paths import Paths

    paths = (paths or Paths.from_root()).of(province)
    province = paths.province
    cfg = load_config(province, paths)
    return facts_from_metrics(compute_metrics(year, paths, province, rounding), cfg)
