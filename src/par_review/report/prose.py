"""The report's sentences: plain text (or "rich" text, a list of (text, lang) parts when a
Vietnamese name sits inside an English sentence), every number through `fmt`, every word
from `locales/<lang>.yml` (or the province's wording overrides, `cfg.wording(year, lang)`).

Nothing here builds markup: the templates escape what these functions return.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .context import ReportContext

# bases of a comparison with the previous year (metrics.json levels.*.comparison.basis)
SAME_SET = "same_set"
MATCHED = "matched_units"
COMBINED = "combined_baseline"
NOT_COMPARABLE = "not_comparable"


@dataclass(frozen=True)
class Part:
    """A piece of rich text; `lang` is set for a Vietnamese name on a page in another language."""

    text: str
    lang: str | None = None


Rich = list[Part]


def plain(rich: Rich | str) -> str:
    return rich if isinstance(rich, str) else "".join(p.text for p in rich)


def fill(template: str, **values: Any) -> Rich:
    """str.format for rich text: a value that is a Part keeps its language."""
    out: Rich = []
    for literal, field, spec, _conv in string.Formatter().parse(template):
        if literal:
            out.append(Part(literal))
        if field is None:
            continue
        v = values[field]
        if isinstance(v, Part):
            out.append(v)
        elif isinstance(v, list):
            out.extend(v)
        else:
            out.append(Part(format(v, spec or "")))
    return out


def cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def ordinal_en(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def lower_first(s: str) -> str:
    """A label used mid-sentence: "chỉ số hài lòng …", not "Chỉ số hài lòng …" after a
    colon (acronyms such as "PAR INDEX" stay as they are)."""
    if len(s) > 1 and s[1].isupper():
        return s
    return s[:1].lower() + s[1:]


def sentence(text: str) -> str:
    """End a sentence with a full stop (once)."""
    text = text.rstrip()
    return text if not text or text[-1] in ".!?:" else text + "."


# --------------------------------------------------------------------------- comparisons
def comparison(lv: dict) -> dict:
    """The level's comparison with the previous year; absent means the same set of units."""
    c = lv.get("comparison") or {}
    return {
        "basis": c.get("basis") or SAME_SET,
        "previous_year": c.get("previous_year", lv.get("previous_year")),
        "reason": c.get("reason") or {},
        "baseline": c.get("baseline") or {},
        "method": c.get("method"),
    }


def basis_sentence(ctx: ReportContext, level: str) -> str | None:
    """What a change figure of this level compares, or why there is none (None when the
    structure did not change)."""
    lv = ctx.metrics["levels"][level]
    c = comparison(lv)
    if c["basis"] == SAME_SET or c["previous_year"] is None:
        return None
    reason = c["reason"].get(ctx.lang) or c["reason"].get("vi") or ""
    text = ctx.t(f"comparison.{c['basis']}", prev=str(c["previous_year"]), year=str(ctx.year))
    provinces = [
        ctx.in_sentence(ctx.province_name(p)) for p in (c["baseline"].get("provinces") or [])
    ]
    if c["basis"] == COMBINED and provinces:
        text = ctx.t(
            "comparison.combined_baseline_of",
            prev=str(c["previous_year"]),
            provinces=ctx.t.join(provinces),
            units=ctx.f.int(c["baseline"].get("units")),
        )
    return " ".join(sentence(x) for x in (text, reason) if x)


# --------------------------------------------------------------------------- results
def join_tiers(ctx: ReportContext, tier_ids: Sequence[str]) -> str:
    labels = [ctx.tier_label(x) for x in tier_ids]
    if len(labels) <= 1:
        return "".join(labels)
    return ctx.t("words.tier_join").join(labels[:-1]) + ctx.t("words.tier_join_last") + labels[-1]


def change_clause(ctx: ReportContext, change: int | None, prev: int | None) -> str:
    if change is None or prev is None:
        return ""
    if change > 0:
        return ctx.t("results.change_up", n=ctx.f.count(change), prev=str(prev))
    if change < 0:
        return ctx.t("results.change_down", n=ctx.f.count(-change), prev=str(prev))
    return ctx.t("results.change_same", prev=str(prev))


def _simulated_years(ctx: ReportContext, level: str, first: int, last: int) -> list[int]:
    return [y for y in ctx.simulated_count_years(level) if first <= y <= last]


def _rests_on_simulated(ctx: ReportContext, level: str, first: int, last: int) -> str:
    """ " (this statement also rests on the simulated figures of 2019)" for a statement on
    the years `first`..`last` of which some tier counts are simulated; "based on" when all
    of them are (nothing real for it to rest on "also"); "" when none is."""
    sim = _simulated_years(ctx, level, first, last)
    if not sim:
        return ""
    only = set(sim) == set(range(first, last + 1))
    key = "results.rests_only_on_simulated" if only else "results.rests_on_simulated"
    return " " + ctx.t(key, years=ctx.years_text(sim))


def streak_clauses(ctx: ReportContext, level: str) -> list[str]:
    """The notice's "first year with no Trung bình, Yếu" and "3rd year in a row with no
    Yếu": from the widest set of absent bottom tiers to the narrowest, each streak that is
    longer than the one already said. A streak that stops at a change of structure says
    so; one that rests on simulated tier counts says that too."""
    lv = ctx.metrics["levels"][level]
    streaks = lv.get("streaks") or {}
    out: list[str] = []
    said = 0
    for tier_id in ctx.cfg.tier_ids[1:]:  # widest suffix first: "kha or worse", ...
        s = streaks.get(tier_id)
        if not s or not s.get("none_this_year"):
            continue
        n = int(s.get("years_without") or 0)
        if n <= said:
            continue
        tiers = join_tiers(ctx, s.get("tiers") or [tier_id])
        structure = s.get("bounded_by") == "structure"
        since_structure = s.get("since_structure")
        if n == 1 and not structure:
            if s.get("first_time") is True:
                text = ctx.t("results.first_year_none", tiers=tiers)
                last_with = s.get("last_year_with")
                first = int(s.get("history_first_year") or last_with or ctx.year)
                text += _rests_on_simulated(ctx, level, first, ctx.year - 1)
                out.append(text)
                said = n
            continue
        if structure and since_structure:
            key = "results.streak_since_structure" if n > 1 else "results.none_since_structure"
        else:
            key = "results.streak_none" if s.get("exact", True) else "results.streak_none_min"
        since = s.get("since_year") or since_structure
        text = ctx.t(
            key,
            n=str(n),
            n_ordinal=ordinal_en(n),
            tiers=tiers,
            since=str(since),
            structure=str(since_structure),
        )
        if since:
            text += _rests_on_simulated(ctx, level, int(since), ctx.year)
        out.append(text)
        said = n
    return out


def results_paragraph(ctx: ReportContext, level: str) -> str:
    """The notice's sentence for one level, every number from metrics.json (plain text)."""
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    prev = lv.get("previous_year")
    key = f"results.intro.{level}" if t.has(f"results.intro.{level}") else "results.intro.default"
    scored_by = ctx.scored_by(level)
    if key == "results.intro.default" and scored_by and t.has("results.intro.scored_by"):
        key = "results.intro.scored_by"
    intro = t(key, year=str(ctx.year), level=ctx.level_label(level), scored_by=scored_by)
    clauses = []
    for tier_id, e in lv["tiers"].items():
        change = change_clause(ctx, e.get("change_count"), prev)
        if e["count"] > 0:
            c = t(
                "results.tier_clause",
                count=f.int(e["count"]),
                total=f.int(lv["total"]),
                tier=ctx.tier_label(tier_id),
                share=f.pct(e["share_display"]),
            )
        elif e.get("change_count"):  # none this year, some last year
            c = t("results.zero_clause", tier=ctx.tier_label(tier_id))
        else:
            continue
        clauses.append(f"{c}, {change}" if change else c)
    streaks = streak_clauses(ctx, level)
    if streaks:
        clauses.append(f" {t('words.and')} ".join(streaks))
    sep = t("words.list_sep")
    return sentence(f"{intro} {sep.join(clauses)}")


def total_sentence(ctx: ReportContext, level: str) -> str | None:
    """The number of units against the previous year, or, across a change of structure,
    both numbers and why they are not compared."""
    lv = ctx.metrics["levels"][level]
    prev = lv.get("previous_year")
    if prev is None:
        return None
    t, f = ctx.t, ctx.f
    ch = lv.get("change_total")
    c = comparison(lv)
    if c["basis"] != SAME_SET and ch is None:
        if lv.get("prev_total") is None:
            return None
        return t(
            "results.total_not_compared",
            total=f.int(lv["total"]),
            prev=str(prev),
            prev_total=f.int(lv.get("prev_total")),
        )
    if not ch:
        return None
    change = t("results.total_up" if ch > 0 else "results.total_down", n=f.count(abs(ch)))
    return t(
        "results.total_change",
        total=f.int(lv["total"]),
        change=change,
        prev=str(prev),
        prev_total=f.int(lv["prev_total"]),
    )


def movement_sentence(ctx: ReportContext, level: str) -> str | None:
    lv = ctx.metrics["levels"][level]
    mv = lv.get("movements") or {}
    if not mv.get("available") or lv.get("previous_year") is None:
        return None
    f = ctx.f
    key = "results.movement" if comparison(lv)["basis"] == SAME_SET else "results.movement_matched"

    def n(x):  # Vietnamese pads counts ("02 đơn vị") and says none in words ("không có đơn vị")
        return ctx.t("words.zero_count") if x == 0 else f.count(x)

    return ctx.t(
        key,
        prev=str(lv.get("previous_year")),
        up=n(mv["up_count"]),
        down=n(mv["down_count"]),
        same=n(mv["same_count"]),
    )


def mean_sentence(ctx: ReportContext, level: str) -> str | None:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    s = lv.get("score") or {}
    if s.get("mean") is None:
        return None
    common = {"mean": f.pct(s["mean"]), "max": f.pct(s["max"]), "min": f.pct(s["min"])}
    prev = lv.get("previous_year")
    if s.get("prev_mean") is not None and prev is not None:
        return t(
            "key_figures.mean_score", prev=str(prev), prev_mean=f.pct(s["prev_mean"]), **common
        )
    return t("key_figures.mean_score_noprev", **common)


def satisfaction_paragraph(ctx: ReportContext) -> str:
    t, f = ctx.t, ctx.f
    s = ctx.metrics.get("satisfaction") or {}
    if not s.get("available"):
        return t("results.satisfaction_none", year=str(ctx.year))
    # the label is wording: read from the config as it is now (a label edit re-renders
    # the report but does not run the analysis again, so metrics.json may hold the old one)
    conf = ((ctx.cfg.targets(ctx.year).get("satisfaction") or {}).get("label")) or {}
    label = (
        (conf.get(ctx.lang) or conf.get("vi") if isinstance(conf, dict) else None)
        or s.get("label_en" if ctx.lang == "en" else "label")
        or s.get("label")
        or ""
    )
    label = lower_first(label) if label else t("results.satisfaction_default_label")
    common = {
        "label": label,
        "value": f.pct(s["value_display"]),
        "units": f.int(s["units"]),
        "meeting": f.int(s.get("units_meeting_target")),
    }
    if s.get("target") is None:
        return t("results.satisfaction_no_target", year=str(ctx.year), **common)
    target = f.pct(s["target"], strip_zeros=True)
    if s.get("met"):
        return t(
            "results.satisfaction_met", target=target, gap=f.num(s["gap_pp_display"]), **common
        )
    return t(
        "results.satisfaction_missed", target=target, gap=f.num(s["shortfall_pp_display"]), **common
    )


def index_value(ctx: ReportContext, value: Any, unit: str | None) -> str | None:
    if value is None:
        return None
    if unit == "pct":
        return ctx.f.pct(value)
    return f"{ctx.f.num(value)} {ctx.t('results.points')}"


def rank_text(ctx: ReportContext, rank: Any, rank_of: Any) -> str | None:
    if rank is None:
        return None
    return ctx.f.fraction(rank, rank_of) if rank_of else ctx.f.int(rank)


def national_items(ctx: ReportContext) -> list[str]:
    """One sentence per national index: value, rank, and the rank change only between two
    rankings of the same number of provinces ("10/34 (2025) · 10/63 (2024)" otherwise)."""
    t, f = ctx.t, ctx.f
    out = []
    simulated = ctx.year in ctx.simulated_national_years()
    for idx, n in (ctx.metrics.get("national_indices") or {}).items():
        name = n.get("label_en" if ctx.lang == "en" else "label") or idx
        value = index_value(ctx, n.get("value"), n.get("unit"))
        rank = rank_text(ctx, n.get("rank"), n.get("rank_of"))
        prev = n.get("previous_year")
        rc = n.get("rank_change")
        prev_of = n.get("prev_rank_of", n.get("rank_of"))
        comparable = n.get("rank_comparable", prev_of == n.get("rank_of"))
        other_total = (
            not comparable and n.get("prev_rank") is not None and n.get("rank") is not None
        )
        if other_total:  # "10/34 (2025) · 10/63 (2024)": two rankings, never "up N places"
            rank = (
                f"{f.fraction(n['rank'], n.get('rank_of'))} ({ctx.year}) · "
                f"{f.fraction(n['prev_rank'], prev_of)} ({prev})"
            )
        if value and rank:
            s = t("results.national_value_rank", index=name, value=value, rank=rank)
        elif rank:
            s = t("results.national_rank_only", index=name, rank=rank)
        elif value:
            s = t("results.national_value_only", index=name, value=value)
        else:
            out.append(sentence(t("results.national_missing", index=name)))
            continue
        if rc is not None and comparable:
            key = (
                "results.national_rank_up"
                if rc > 0
                else "results.national_rank_down"
                if rc < 0
                else "results.national_rank_same"
            )
            s += ", " + t(key, n=f.int(abs(rc)), prev=str(prev))
        elif other_total:
            s += " – " + t("results.national_rank_other_total")  # after "(2024)": no ") ("
        if simulated:  # a simulated figure says so where it is shown
            s += "; " + t("results.national_simulated", year=str(ctx.year))
        out.append(sentence(s))
    return out


# --------------------------------------------------------------------------- methodology
def rounding_rule(ctx: ReportContext) -> str:
    r = ctx.metrics.get("rounding") or {}
    return ctx.t(
        f"title.rounding_{r.get('policy', 'half_up')}", decimals=ctx.f.int(r.get("decimals", 2))
    )


def truncation_note(ctx: ReportContext) -> list[str]:
    """Why a share of this report can differ from the province's notice: the notice cuts
    the digits off, this report rounds. The first share of the year where the two rules
    differ is the example. Only a figure the config records as printed in the year's
    notice (`published: {year: {shares}}`) is said to be printed there; for any other year
    or share the sentence says what cutting the digits off would give (there is no notice
    of a simulated year, nor yet of the current one). A recorded figure that neither rule
    gives is a sentence of its own (`published_errors`)."""
    f = ctx.f
    out: list[str] = []
    policy = (ctx.metrics.get("rounding") or {}).get("policy", "half_up")
    printed = (ctx.published().get("shares")) or {}
    for level, lv in ctx.metrics["levels"].items():
        for tier_id, e in lv["tiers"].items():
            hu, tr = e.get("share_half_up"), e.get("share_truncated")
            if hu is None or tr is None or hu == tr or policy != "half_up":
                continue
            shown = (printed.get(level) or {}).get(tier_id)
            in_notice = shown is not None and float(shown) == tr
            out.append(
                ctx.t(
                    "method.truncation" if in_notice else "method.truncation_would",
                    count=f.int(e["count"]),
                    total=f.int(lv["total"]),
                    exact=f.num(e["share_pct"], decimals=4),
                    half_up=f.pct(hu),
                    truncated=f.pct(tr),
                    tier=ctx.tier_label(tier_id),
                    level=ctx.level_label(level),
                )
            )
            break
        if out:
            break
    for item in ctx.published_errors():  # a sentence of its own: "{document} gives ..."
        out.append(cap(ctx.t("method.published_error", **item)))
    return out
