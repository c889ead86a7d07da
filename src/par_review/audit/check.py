"""Checking claims against the facts: one `Finding` (a figure and its verdict) per figure.

Verdicts: `ok`; `ok (truncated)` when a share matches only when cut (not rounded) to the
printed decimals, as the province's notices do (`ok (rounded)` is the mirror case under the
truncate rule); `WRONG`; `not checked` (with the reason); `not comparable` when the claim
compares years the structure does not let us compare (a change "so với năm 2024" across the
2025 merger, national ranks out of 34 and out of 63), with the reason.

    findings = check(statements, facts, policy="half_up")

Shares, changes, streaks and firsts are recomputed from the counts exactly (fractions, not
floats), so a truncated share is told from a rounded one reliably.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal, localcontext

from ..fmt import round_decimal
from .claims import (
    CountChange,
    FirstYear,
    MeanChange,
    NationalRank,
    NoneRanked,
    SatGap,
    SatValue,
    ShareChange,
    Statement,
    Streak,
    TargetMet,
    TierCount,
    TierShare,
    TotalCount,
    Unrecognised,
    decimals_of,
    pct,
)
from .facts import Comparison, Facts, SatisfactionFacts

OK, OK_TRUNCATED, OK_ROUNDED, WRONG, NOT_CHECKED, NOT_COMPARABLE = (
    "ok",
    "ok (truncated)",
    "ok (rounded)",
    "WRONG",
    "not checked",
    "not comparable",
)
VERDICTS = (OK, OK_TRUNCATED, OK_ROUNDED, WRONG, NOT_CHECKED, NOT_COMPARABLE)
FAILING = (WRONG, NOT_COMPARABLE)  # verdicts that make `par-review audit` exit 1
LEVEL_NAMES = {
    "provincial": "provincial-level units",
    "commune": "communes",
    "satisfaction": "satisfaction",
    "national": "national indices",
}
POLICIES = ("half_up", "truncate")


@dataclass
class Finding:
    """One figure of the notice and its verdict."""

    line: int  # line where the statement starts (.docx: of the extracted text,
    #                              one paragraph every two lines)
    fragment: str  # the statement as printed (white space collapsed)
    figure: str  # what the figure is: "count", "total", "share", "change", ...
    text: str  # the figure as printed ("69,76%", "03", "năm thứ 3")
    claimed: str | None  # the claimed value, normalised ("69.76", "3", "-5")
    computed: str | None  # the computed value in the same form, when known
    verdict: str
    note: str = ""
    level: str | None = None  # provincial | commune | group:<id> | satisfaction | None (unknown)
    level_cue: str | None = None  # the words the level was taken from
    year: int | None = None
    tier: str | None = None  # tier id (or ids joined by "+")
    statement: int = 0  # index of the statement the figure belongs to
    offset: int = 0  # character offset of the statement in the (NFC) text
    # not comparable only: {basis, previous_year, reason: {vi, en}} (left out of JSON when None)
    comparison: dict | None = None

    @property
    def is_wrong(self) -> bool:
        return self.verdict == WRONG

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["comparison"] is None:
            del d["comparison"]
        return d


@dataclass
class AuditResult:
    source: str
    year: int
    province: str
    rounding: str
    findings: list[Finding]
    tier_labels: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = {v: 0 for v in VERDICTS}
        for f in self.findings:
            out[f.verdict] += 1
        return out

    @property
    def has_wrong(self) -> bool:
        return any(f.is_wrong for f in self.findings)

    @property
    def fails(self) -> bool:
        """Exit 1: a figure is WRONG or not comparable."""
        return any(f.verdict in FAILING for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 1 if self.fails else 0

    def summary(self) -> str:
        c = self.counts()
        parts = [f"{c[v]} {v}" for v in VERDICTS if c[v] or v in (OK, WRONG, NOT_CHECKED)]
        n = len(self.findings)
        return (
            f"Summary: {n} figure{'s' if n != 1 else ''}: "
            + ", ".join(parts)
            + f" → exit {self.exit_code}"
        )

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "year": self.year,
            "province": self.province,
            "rounding": self.rounding,
            "tier_labels": dict(self.tier_labels),
            "findings": [f.to_dict() for f in self.findings],
            "summary": {"figures": len(self.findings), **self.counts(), "wrong": self.has_wrong},
        }


# ---------------------------------------------------------------------------------------
# The rules a check follows
# ---------------------------------------------------------------------------------------
@dataclass
class Rules:
    """The facts, the expected rounding rule and the year the notice reports on."""

    facts: Facts
    policy: str
    default_year: int

    def rounding_verdict(self, claimed: Decimal, exact, decimals: int) -> tuple[str, Decimal]:
        """ok under the expected rule; ok (truncated/rounded) under the other one; else WRONG.
        Returns the verdict and the value under the expected rule."""
        other = "truncate" if self.policy == "half_up" else "half_up"
        main = round_decimal(exact, decimals, self.policy)
        if claimed == main:
            return OK, main
        if claimed == round_decimal(exact, decimals, other):
            return (OK_TRUNCATED if self.policy == "half_up" else OK_ROUNDED), main
        return WRONG, main

    def label(self, tid: str) -> str:
        return self.facts.tier_labels.get(tid, tid)

    def year_note(self, year: int | None) -> str:
        if year is None or year == self.default_year:
            return ""
        if any(self.facts.level_year(lv, year) for lv in self.facts.history):
            return ""
        return f"speaks of {year}; no data for that year"

    def checkable(self, level: str | None) -> bool:
        return level is not None and level in self.facts.history


class _Out:
    """The findings of one statement."""

    def __init__(self, st: Statement, rules: Rules):
        self.st, self.rules, self.findings = st, rules, []
        w = st.where
        self.common = dict(level=w.level, level_cue=w.level_cue, year=w.year)

    def add(self, figure, text, claimed, computed, verdict, note="", tier=None, **kw) -> Finding:
        w = self.st.where
        f = Finding(
            line=w.line,
            fragment=w.fragment,
            figure=figure,
            text=text,
            claimed=claimed,
            computed=computed,
            verdict=verdict,
            note=note,
            tier=tier,
            statement=w.statement,
            offset=w.offset,
            **{**self.common, **kw},
        )
        self.findings.append(f)
        return f

    def not_checked(self, note: str, **kw) -> list[Finding]:
        for fig in self.st.unchecked:
            self.add(fig.figure, fig.text, fig.claimed, None, NOT_CHECKED, note, fig.tier, **kw)
        return self.findings

    def not_comparable(self, figure, text, claimed, tier, c: Comparison, since: int, detail=""):
        reason = c.reason.get("en") or ""
        if not reason and c.since_structure:
            reason = f"the structure changed in {c.since_structure}"
        note = f"{self.common['year']} is not comparable with {since} (basis {c.basis})"
        note += f": {reason.rstrip('. ')}" if reason else ""
        note += f"; {detail}" if detail else ""
        comparison = {
            "basis": c.basis,
            "previous_year": c.previous_year,
            "since_structure": c.since_structure,
            "reason": dict(c.reason),
        }
        return self.add(
            figure, text, claimed, None, NOT_COMPARABLE, note, tier, comparison=comparison
        )


# ---------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------
def check(statements: list[Statement], facts: Facts, policy: str = "half_up", year=None):
    """The findings of every statement, in text order."""
    if policy not in POLICIES:
        raise ValueError(f"unknown rounding policy {policy!r}")
    rules = Rules(facts, policy, year or facts.year)
    findings: list[Finding] = []
    for st in statements:
        findings += check_statement(st, rules)
    note_share_sums(findings, facts)
    # statements numbered in text order, counting those with figures
    renum: dict[int, int] = {}
    for f in findings:
        f.statement = renum.setdefault(f.statement, len(renum) + 1)
    return findings


def check_statement(st: Statement, rules: Rules) -> list[Finding]:
    out = _Out(st, rules)
    level = st.where.level
    if st.kind == "leftover":
        return out.not_checked(st.reason)
    if st.kind == "satisfaction":
        return check_satisfaction(out, rules)
    if st.reason:
        keep = st.keep_level and rules.checkable(level)
        return out.not_checked(st.reason, level=level if keep else None)
    if st.kind == "change":  # "tăng 03 đơn vị xếp hạng Tốt": the level decides first
        if not rules.checkable(level):
            return out.not_checked(unresolved_reason(level, st), level=None)
        check_change(out, st.claims[0], rules, rules.year_note(st.where.year))
        return out.findings
    note = rules.year_note(st.where.year)
    if note:
        return out.not_checked(note)
    if st.kind == "rank":
        return check_rank(out, st.claims[0], rules)
    if not rules.checkable(level):
        return out.not_checked(unresolved_reason(level, st), level=None)
    for claim in st.claims:
        CHECKS[type(claim)](out, claim, rules)
    return out.findings


def unresolved_reason(level: str | None, st: Statement) -> str:
    noun = st.noun
    if level == "group":
        return f"about a group of units ('{noun}') for which no figures are computed"
    if level == "other":
        return f"'{noun}' are not units ranked in the PAR index"
    if level is not None:
        return f"no figures for {level_name(level)}"
    return "level not clear from the text (no 'cơ quan, đơn vị' / 'cấp xã' cue before it)"


def level_name(level: str | None) -> str:
    if level and level.startswith("group:"):
        return f"group {level[6:]}"
    return LEVEL_NAMES.get(level or "", "level unknown")


def _no_data(level, year) -> str:
    return f"no {level_name(level)} data for {year}"


# ---------------------------------------------------------------------------------------
# Tier figures
# ---------------------------------------------------------------------------------------
def check_count(out: _Out, c: TierCount, rules: Rules) -> None:
    level, year = out.common["level"], out.common["year"]
    ly = rules.facts.level_year(level, year)
    if ly is None:
        out.add("count", c.n_text, str(c.n), None, NOT_CHECKED, _no_data(level, year), c.tier)
        return
    actual = ly.counts.get(c.tier, 0)
    ok = c.n == actual
    note = "" if ok else f"{actual} units ranked {rules.label(c.tier)}"
    out.add("count", c.n_text, str(c.n), str(actual), OK if ok else WRONG, note, c.tier)
    if c.of is not None:
        ok = c.of == ly.total
        note = "" if ok else f"{ly.total} units ranked in {year}"
        out.add("total", c.of_text, str(c.of), str(ly.total), OK if ok else WRONG, note)
    if c.pct_text:
        printed = (c.n, c.of if c.of is not None else ly.total)
        check_share_of(out, c.pct_text, actual, ly.total, c.tier, rules, printed)


def check_share(out: _Out, c: TierShare, rules: Rules) -> None:
    level, year = out.common["level"], out.common["year"]
    ly = rules.facts.level_year(level, year)
    if ly is None:
        claimed = str(pct(c.pct_text))
        out.add(
            "share", c.pct_text + "%", claimed, None, NOT_CHECKED, _no_data(level, year), c.tier
        )
        return
    check_share_of(out, c.pct_text, ly.counts.get(c.tier, 0), ly.total, c.tier, rules)


def check_share_of(out, pct_text, count, total, tier, rules: Rules, printed=None) -> None:
    claimed = pct(pct_text)
    decimals = decimals_of(pct_text)
    exact = _ratio_pct(count, total)
    verdict, main = rules.rounding_verdict(claimed, exact, decimals)
    exact_s = vi_num(round_decimal(exact, decimals + 3, "truncate")) + "…"
    if verdict == OK:
        note = ""
    elif verdict != WRONG:
        how = "truncated" if rules.policy == "half_up" else "rounded half-up"
        note = f"{count}/{total} = {exact_s}%, {how} to {decimals} decimals"
    else:
        note = f"{count}/{total} = {exact_s}%"
        if printed and printed != (count, total) and printed[1]:
            p_exact = _ratio_pct(*printed)
            if claimed in (
                round_decimal(p_exact, decimals, "half_up"),
                round_decimal(p_exact, decimals, "truncate"),
            ):
                note += (
                    f"; {vi_num(claimed)}% is the share of the printed {printed[0]}/{printed[1]}"
                )
    out.add("share", pct_text + "%", str(claimed), str(main), verdict, note, tier)


def _ratio_pct(count, total) -> Decimal:
    with localcontext() as lc:
        lc.prec = 40
        return Decimal(count) * 100 / Decimal(total) if total else Decimal(0)


def check_none_ranked(out: _Out, c: NoneRanked, rules: Rules) -> None:
    level, year = out.common["level"], out.common["year"]
    ly = rules.facts.level_year(level, year)
    for tier in c.tiers:
        if ly is None:
            out.add("count", "không có", "0", None, NOT_CHECKED, _no_data(level, year), tier)
            continue
        actual = ly.counts.get(tier, 0)
        label = rules.label(tier)
        note = "" if actual == 0 else f"{actual} units ranked {label}"
        verdict = OK if actual == 0 else WRONG
        out.add("count", f"không có … {label}", "0", str(actual), verdict, note, tier)


def check_share_change(out: _Out, c: ShareChange, rules: Rules) -> None:
    """ "tỷ lệ đơn vị xếp hạng Tốt tăng 2,21 điểm phần trăm so với năm 2021": the change of a
    tier's share in percentage points, exactly, compared at the printed decimals."""
    level, year = out.common["level"], out.common["year"]
    claimed = c.sign * pct(c.pp_text)
    decimals = decimals_of(c.pp_text)
    since = int(c.since) if c.since and c.since.isdigit() else year - 1
    brk = rules.facts.break_between(level, since, year)
    if brk is not None:
        out.not_comparable("change_pp", c.text, str(claimed), c.tier, brk, since)
        return
    facts = rules.facts
    now, before = facts.level_year(level, year), facts.level_year(level, since)
    if now is None or before is None or not now.total or not before.total:
        note = _no_data(level, year if now is None else since)
        out.add("change_pp", c.text, str(claimed), None, NOT_CHECKED, note, c.tier)
        return
    with localcontext() as lc:
        lc.prec = 40
        exact = Decimal(now.counts.get(c.tier, 0)) * 100 / Decimal(now.total) - Decimal(
            before.counts.get(c.tier, 0)
        ) * 100 / Decimal(before.total)
    verdict, main = rules.rounding_verdict(claimed, exact, decimals)
    note = (
        f"{now.counts.get(c.tier, 0)}/{now.total} in {year} − "
        f"{before.counts.get(c.tier, 0)}/{before.total} in {since} = "
        f"{vi_num(round_decimal(exact, decimals + 3, 'truncate'))}… points"
    )
    out.add("change_pp", c.text, str(claimed), str(main), verdict, note, c.tier)


def _zero_years(facts: Facts, level: str, tiers) -> dict[int, bool]:
    return {
        y: sum(ly.counts.get(t, 0) for t in tiers) == 0
        for y, ly in (facts.history.get(level) or {}).items()
    }


def check_streak(out: _Out, c: Streak, rules: Rules) -> None:
    level, year = out.common["level"], out.common["year"]
    zero = _zero_years(rules.facts, level, c.tiers)
    labels = ", ".join(rules.label(t) for t in c.tiers)
    tier_key = "+".join(c.tiers)
    if year not in zero:
        out.add("streak", c.text, str(c.n), None, NOT_CHECKED, _no_data(level, year), tier_key)
        return
    streak, y = 0, year
    start = rules.facts.structure_start(level, year)  # streaks stop at a structural break
    while zero.get(y) and (start is None or y >= start):
        streak += 1
        y -= 1
    crossed = start is not None and y < start and bool(zero.get(y))  # none before it either
    bounded = y in zero and not crossed  # the streak ends at a year with data (that had some)
    first_data = min(zero)
    years = f"{year - streak + 1}–{year}" if streak > 1 else str(year)
    since_structure = f"none ranked {labels} in {years}, since the structure of {start}"
    if crossed and c.n > streak:
        c_ = rules.facts.comparison(level)
        out.not_comparable("streak", c.text, str(c.n), tier_key, c_, y, since_structure)
        return
    if c.n == streak and (bounded or crossed):
        verdict = OK
        note = (
            since_structure
            if crossed
            else f"none ranked {labels} in {year - streak + 1}–{year}; {y} had some"
        )
    elif c.n == streak or (c.n > streak and not bounded):
        verdict = NOT_CHECKED
        note = (
            f"the data start in {first_data}: at least {streak} years without {labels}, "
            "earlier years unknown"
        )
    elif crossed:
        verdict, note = WRONG, since_structure
    else:
        verdict = WRONG
        note = (
            f"{year} has units ranked {labels}"
            if streak == 0
            else f"none ranked {labels} in {year - streak + 1}–{year}"
            + (f"; {y} had some" if bounded else f" (data start in {first_data})")
        )
    out.add("streak", c.text, str(c.n), str(streak), verdict, note, tier_key)


def check_first(out: _Out, c: FirstYear, rules: Rules) -> None:
    level, year = out.common["level"], out.common["year"]
    zero = _zero_years(rules.facts, level, c.tiers)
    labels = ", ".join(rules.label(t) for t in c.tiers)
    tier_key = "+".join(c.tiers)
    if year not in zero:
        out.add("first_year", c.text, str(year), None, NOT_CHECKED, _no_data(level, year), tier_key)
        return
    start = rules.facts.structure_start(level, year)
    in_structure = {y: z for y, z in zero.items() if start is None or y >= start}
    earlier_zero = sorted(y for y, z in in_structure.items() if z and y < year)
    first = earlier_zero[0] if earlier_zero else (year if zero[year] else None)
    earlier = sorted(y for y in in_structure if y < year)
    if not zero[year]:
        verdict, note = WRONG, f"{year} has units ranked {labels}"
    elif earlier_zero:
        verdict = WRONG
        note = f"also none ranked {labels} in {', '.join(map(str, earlier_zero))}"
    elif not earlier and start is not None and any(y < start for y in zero):
        c_ = rules.facts.comparison(level)
        detail = f"the current structure began in {start}"
        out.not_comparable("first_year", c.text, str(year), tier_key, c_, start - 1, detail)
        return
    elif not earlier:
        verdict, note = NOT_CHECKED, f"no data before {year}"
    else:
        verdict = OK
        note = (
            f"every year {earlier[0]}–{earlier[-1]} had units ranked {labels} "
            f"(data start in {earlier[0]})"
        )
    computed = str(first) if first is not None else "none"
    out.add("first_year", c.text, str(year), computed, verdict, note, tier_key)


# ---------------------------------------------------------------------------------------
# Changes: of a tier's count, of the total, of the mean score, of a national rank
# ---------------------------------------------------------------------------------------
def _since(since_text: str | None, year: int) -> tuple[int, str]:
    if since_text and since_text.isdigit():
        return int(since_text), ""
    return year - 1, "" if since_text else f"against {year - 1} (no year printed)"


def check_change(out: _Out, c: CountChange, rules: Rules, year_note: str = "") -> None:
    level, year = out.common["level"], out.common["year"]
    tier_key = "+".join(c.tiers)
    if c.claimed is None:
        note = "changes in percent or points are not checked, only changes in units"
        out.add("change", c.text, None, None, NOT_CHECKED, note, tier_key)
        return
    claimed = signed(c.claimed)
    if len(c.tiers) != 1 or c.after not in ("count", "zero"):
        note = "a change must follow a single tier's count"
        out.add("change", c.text, claimed, None, NOT_CHECKED, note, tier_key)
        return
    tier = c.tiers[0]
    since, since_note = _since(c.since, year)
    if year_note:
        out.add("change", c.text, claimed, None, NOT_CHECKED, year_note, tier)
        return
    brk = rules.facts.break_between(level, since, year)
    if brk is not None:
        out.not_comparable("change", c.text, claimed, tier, brk, since)
        return
    now, before = rules.facts.level_year(level, year), rules.facts.level_year(level, since)
    if now is None or before is None:
        note = _no_data(level, year if now is None else since)
        out.add("change", c.text, claimed, None, NOT_CHECKED, note, tier)
        return
    actual = now.counts.get(tier, 0) - before.counts.get(tier, 0)
    detail = f"{before.counts.get(tier, 0)} in {since} → {now.counts.get(tier, 0)} in {year}"
    note = "; ".join(x for x in (detail, since_note) if x)
    out.add(
        "change", c.text, claimed, signed(actual), OK if c.claimed == actual else WRONG, note, tier
    )


def check_total(out: _Out, c: TotalCount, rules: Rules) -> None:
    level, year = out.common["level"], out.common["year"]
    ly = rules.facts.level_year(level, year)
    if ly is None:
        out.add("total", c.n_text, str(c.n), None, NOT_CHECKED, _no_data(level, year))
    else:
        ok = c.n == ly.total
        note = "" if ok else f"{ly.total} units ranked in {year}"
        out.add("total", c.n_text, str(c.n), str(ly.total), OK if ok else WRONG, note)
    if c.change is None:
        return
    since, since_note = _since(c.since, year)
    claimed = signed(c.change)
    brk = rules.facts.break_between(level, since, year)
    if brk is not None:
        out.not_comparable("change_total", c.change_text, claimed, None, brk, since)
        return
    before = rules.facts.level_year(level, since)
    if ly is None or before is None:
        note = _no_data(level, year if ly is None else since)
        out.add("change_total", c.change_text, claimed, None, NOT_CHECKED, note)
        return
    actual = ly.total - before.total
    note = "; ".join(
        x for x in (f"{before.total} in {since} → {ly.total} in {year}", since_note) if x
    )
    verdict = OK if c.change == actual else WRONG
    out.add("change_total", c.change_text, claimed, signed(actual), verdict, note)


def check_mean(out: _Out, c: MeanChange, rules: Rules) -> None:
    level, year = out.common["level"], out.common["year"]
    claimed = c.sign * pct(c.value_text)
    since, _ = _since(c.since, year)
    brk = rules.facts.break_between(level, since, year)
    if brk is not None:
        out.not_comparable("change_mean", c.text, str(claimed), None, brk, since)
        return
    m = rules.facts.means.get(level)
    if m is None or m.change is None or year != rules.facts.year or m.previous_year != since:
        note = f"no mean-score change of {level_name(level)} from {since} to {year} in the data"
        out.add("change_mean", c.text, str(claimed), None, NOT_CHECKED, note)
        return
    verdict, main = rules.rounding_verdict(claimed, m.change, decimals_of(c.value_text))
    note = f"mean score {vi_num(m.mean, 2)} in {year}; change {vi_num(m.change, 4)} points"
    out.add("change_mean", c.text, str(claimed), str(main), verdict, note)


def check_rank(out: _Out, c: NationalRank, rules: Rules) -> list[Finding]:
    """A national rank ("xếp hạng 10/34") of the audited year or the year before, and its
    change ("tăng 20 bậc"), compared only between rankings out of the same total."""
    n = rules.facts.national.get(c.index)
    year = out.common["year"]
    shown = f"{c.rank}/{c.rank_of}" if c.rank_of else str(c.rank)
    if n is not None and year == rules.facts.year:
        rank, rank_of = n.rank, n.rank_of
    elif n is not None and year == n.previous_year:
        rank, rank_of = n.prev_rank, n.prev_rank_of
    else:
        rank = rank_of = None
    if rank is None:
        out.add("rank", c.text, shown, None, NOT_CHECKED, f"no {c.index} rank for {year}")
        return out.findings
    ok = c.rank == rank and (c.rank_of is None or c.rank_of == rank_of)
    computed = f"{rank}/{rank_of}" if c.rank_of else str(rank)
    note = "" if ok else f"{n.label}: {rank}/{rank_of} in {year}"
    out.add("rank", c.text, shown, computed, OK if ok else WRONG, note)
    if c.change is not None:
        check_rank_change(out, c, n, rules)
    return out.findings


def check_rank_change(out: _Out, c: NationalRank, n, rules: Rules) -> None:
    year = out.common["year"]
    since, _ = _since(c.since, year)
    claimed = signed(c.change)
    if year != rules.facts.year or n.previous_year != since:
        note = f"no {c.index} rank change from {since} to {year} in the data"
        out.add("rank_change", c.change_text, claimed, None, NOT_CHECKED, note)
        return
    if not n.comparable:
        why = Comparison(
            basis="not_comparable",
            previous_year=n.previous_year,
            reason={
                "vi": f"Năm {year} xếp hạng trên {n.rank_of} tỉnh, thành phố, năm "
                f"{n.previous_year} trên {n.prev_rank_of}: không so sánh thứ bậc.",
                "en": f"ranked out of {n.rank_of} in {year} and out of {n.prev_rank_of} "
                f"in {n.previous_year}: ranks out of different totals are not compared",
            },
        )
        out.not_comparable("rank_change", c.change_text, claimed, None, why, since)
        return
    if n.rank_change is None:
        note = f"no {c.index} rank change from {since} to {year} in the data"
        out.add("rank_change", c.change_text, claimed, None, NOT_CHECKED, note)
        return
    of = n.prev_rank_of or n.rank_of
    note = f"{n.prev_rank}/{of} in {since} → {n.rank}/{n.rank_of} in {year}"
    verdict = OK if c.change == n.rank_change else WRONG
    out.add("rank_change", c.change_text, claimed, signed(n.rank_change), verdict, note)


# ---------------------------------------------------------------------------------------
# Satisfaction
# ---------------------------------------------------------------------------------------
def check_satisfaction(out: _Out, rules: Rules) -> list[Finding]:
    st = out.st
    year = st.where.year
    year_note = rules.year_note(year)
    if year != rules.default_year:
        year_note = (
            year_note or f"speaks of {year}; satisfaction is checked for {rules.default_year} only"
        )
    sat = rules.facts.satisfaction
    cue = st.where.level_cue
    for c in st.claims:
        if isinstance(c, SatValue):
            actual = (
                None if sat is None else (sat.value if c.figure == "satisfaction" else sat.target)
            )
            what = "target" if c.figure == "target" else "value"
            check_pct(out, c, actual, year_note or sat_unavailable(rules, sat, st.group, what, cue))
        elif isinstance(c, SatGap):
            check_gap(
                out, c, sat, year_note or sat_unavailable(rules, sat, st.group, "met", cue), rules
            )
        elif isinstance(c, TargetMet):
            claimed = yesno(c.claimed)
            note = year_note or sat_unavailable(rules, sat, st.group, "met", cue)
            if note:
                out.add("target_met", c.text, claimed, None, NOT_CHECKED, note)
                continue
            verdict = OK if c.claimed == sat.met else WRONG
            note = f"{vi_num(sat.value, 2)}% against a target of {vi_num(sat.target)}%"
            out.add("target_met", c.text, claimed, yesno(sat.met), verdict, note)
    return out.findings


def check_pct(out: _Out, c: SatValue, actual, note: str) -> None:
    claimed = pct(c.pct_text)
    decimals = decimals_of(c.pct_text)
    if note or actual is None:
        out.add(c.figure, c.pct_text + "%", str(claimed), None, NOT_CHECKED, note or "no value")
        return
    verdict, main = out.rules.rounding_verdict(claimed, actual, decimals)
    note = ""
    if verdict not in (OK, WRONG):
        cut = vi_num(round_decimal(actual, decimals + 3, "truncate"))
        note = f"{cut}… cut to {decimals} decimals"
    out.add(c.figure, c.pct_text + "%", str(claimed), str(main), verdict, note)


def check_gap(out: _Out, c: SatGap, sat, note: str, rules: Rules) -> None:
    claimed = c.sign * pct(c.pp_text)
    if note:
        out.add("gap", c.text, str(claimed), None, NOT_CHECKED, note)
        return
    gap = Decimal(repr(sat.value)) - Decimal(repr(sat.target))
    verdict, main = rules.rounding_verdict(claimed, gap, decimals_of(c.pp_text))
    note = f"{vi_num(sat.value, 2)}% − {vi_num(sat.target)}% (points)"
    out.add("gap", c.text, str(claimed), str(main), verdict, note)


def sat_unavailable(
    rules: Rules, sat: SatisfactionFacts | None, group, what: str, cue: str | None = None
) -> str:
    if sat is None:
        return "no satisfaction data for this year"
    if what in ("target", "met") and sat.target is None:
        return "no satisfaction target configured for this year"
    if what == "met" and sat.met is None:
        return "whether the target was met is not known"
    if group is None:
        return (
            f"which units' satisfaction is meant is not clear (the data give "
            f"{sat.group_label or sat.group or 'one group'})"
        )
    if sat.group and group != sat.group:
        named = rules.facts.groups.get(group) or cue or group
        return f"satisfaction of '{named}' is not computed (only {sat.group_label or sat.group})"
    return ""


def _unrecognised(out: _Out, c: Unrecognised, rules: Rules) -> None:  # pragma: no cover
    out.add(c.figure, c.text, c.claimed, None, NOT_CHECKED, "not a recognised statement")


CHECKS = {
    TierCount: check_count,
    TierShare: check_share,
    NoneRanked: check_none_ranked,
    ShareChange: check_share_change,
    Streak: check_streak,
    FirstYear: check_first,
    CountChange: check_change,
    TotalCount: check_total,
    MeanChange: check_mean,
    Unrecognised: _unrecognised,
}


# ---------------------------------------------------------------------------------------
# Across statements
# ---------------------------------------------------------------------------------------
def note_share_sums(findings: list[Finding], facts: Facts) -> None:
    """When a notice prints the share of every tier that has units, and one of them is
    wrong, say what the printed shares add up to (69,76 + 31,24 = 101)."""
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        if f.figure == "share" and f.verdict != NOT_CHECKED and f.level:
            groups.setdefault((f.level, f.year), []).append(f)
    for (level, year), fs in groups.items():
        ly = facts.level_year(level, year)
        tiers = [f.tier for f in fs]
        if ly is None or len(set(tiers)) != len(tiers):
            continue
        if {t for t, c in ly.counts.items() if c} - set(tiers) or not any(
            f.verdict == WRONG for f in fs
        ):
            continue
        total = sum(Decimal(f.claimed) for f in fs)
        for f in fs:
            if f.verdict == WRONG:
                f.note += f"; the printed shares of this level add up to {vi_num(total)}%"


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------
def vi_num(d: Decimal | float | int, decimals: int | None = None) -> str:
    """Vietnamese decimal comma, as printed in notices ("69,77")."""
    if isinstance(d, int):
        return str(d)
    dd = d if isinstance(d, Decimal) else Decimal(repr(d))
    if decimals is not None:
        dd = round_decimal(dd, decimals)
    s = format(dd, "f")
    if decimals is None and "." in s:
        s = s.rstrip("0").rstrip(".")
    return s.replace(".", ",")


def signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def yesno(b: bool | None) -> str:
    return "met" if b else "not met"
