"""What a notice claims: typed claims, and how they are read from its text.

A notice is read paragraph by paragraph, sentence by sentence. A *statement* is one thing the
notice says ("30/43 đơn vị xếp hạng Tốt (chiếm tỷ lệ 69,76%), tăng 03 đơn vị so với năm
2021"): where it is (`Where`: line, fragment, the level and year it speaks of) and the claims
it makes (`TierCount`, `CountChange`, ...). A statement that cannot be read for sure carries
the reason (`Statement.reason`) and is reported `not checked`; so is every other figure-like
fragment no statement accounts for (`Unrecognised`). Nothing here looks at the data: the
words come from vocabulary.yml, the tier and group names from the caller (`Lexicon`).

    statements = extract(text, Lexicon(tier_names, group_labels), default_year=2022)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache

from .vocabulary import any_rx, number_words, number_words_rx, phrase_rx, vocabulary, words


# ---------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Where:
    """Where a statement is, and what it speaks of."""

    offset: int  # character offset of the statement in the (NFC) text
    line: int
    fragment: str  # the statement as printed (white space collapsed)
    statement: int  # statement number (text order after `extract`)
    level: str | None = None  # provincial | commune | group:<id> | group | other | None
    level_cue: str | None = None  # the words the level was taken from
    year: int | None = None  # the year it speaks of


@dataclass(frozen=True)
class Figure:
    """A figure as printed, for the report of a claim that is not checked."""

    figure: str
    text: str
    claimed: str | None
    tier: str | None = None


@dataclass(frozen=True)
class TierCount:
    """ "30/43 đơn vị xếp hạng Tốt (chiếm tỷ lệ 69,76%)": count, total (optional), share
    (optional)."""

    tier: str
    n: int
    n_text: str
    of: int | None = None
    of_text: str | None = None
    pct_text: str | None = None


@dataclass(frozen=True)
class TierShare:
    """ "tỷ lệ đơn vị xếp hạng Tốt đạt 53,67%"."""

    tier: str
    pct_text: str


@dataclass(frozen=True)
class NoneRanked:
    """ "không có đơn vị xếp hạng Trung bình, Yếu": a zero count per tier."""

    tiers: tuple[str, ...]


@dataclass(frozen=True)
class Streak:
    """ "năm thứ 3 liên tiếp không có đơn vị xếp hạng Yếu"."""

    tiers: tuple[str, ...]
    n: int
    text: str


@dataclass(frozen=True)
class FirstYear:
    """ "là năm đầu tiên không có đơn vị xếp hạng Trung bình, Yếu"."""

    tiers: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class CountChange:
    """ "tăng 03 đơn vị so với năm 2021" after a tier's count (or "tăng 03 đơn vị xếp hạng
    Tốt"). `claimed` is None when the change is in percent or points (not checked)."""

    tiers: tuple[str, ...]
    text: str
    claimed: int | None
    since: str | None  # "2021", "năm trước", ... or None (no year printed)
    after: str  # the kind of statement it follows: count, zero, streak, first


@dataclass(frozen=True)
class ShareChange:
    """ "tỷ lệ đơn vị xếp hạng Tốt tăng 2,21 điểm phần trăm so với năm 2021"."""

    tier: str
    text: str
    pp_text: str
    sign: int
    since: str | None


@dataclass(frozen=True)
class TotalCount:
    """ "Tổng số đơn vị được đánh giá là 27, giảm 16 đơn vị so với năm 2024"."""

    n: int
    n_text: str
    change: int | None = None
    change_text: str | None = None
    since: str | None = None


@dataclass(frozen=True)
class MeanChange:
    """ "điểm trung bình tăng 1,55 điểm so với năm 2021"."""

    text: str
    value_text: str
    sign: int
    since: str | None


@dataclass(frozen=True)
class NationalRank:
    """ "Chỉ số CCHC (PAR INDEX) năm 2025 xếp hạng 10/34, tăng 20 bậc so với năm 2024"."""

    index: str  # national index id (PAR_INDEX, SIPAS, PAPI, PCI)
    rank: int
    rank_of: int | None
    text: str
    change: int | None = None
    change_text: str | None = None
    since: str | None = None


@dataclass(frozen=True)
class SatValue:
    """ "chỉ số hài lòng … đạt 82,77 %" (figure "satisfaction") or "mục tiêu đề ra là 83%"
    (figure "target")."""

    figure: str  # satisfaction | target
    pct_text: str


@dataclass(frozen=True)
class SatGap:
    """ "thấp hơn mục tiêu 0,23 điểm phần trăm"."""

    text: str
    pp_text: str
    sign: int


@dataclass(frozen=True)
class TargetMet:
    """ "chưa đạt mục tiêu" / "đạt mục tiêu"."""

    text: str
    claimed: bool


@dataclass(frozen=True)
class Unrecognised:
    """A figure-like fragment that no statement accounts for."""

    figure: str
    text: str
    claimed: str | None


Claim = (
    TierCount
    | TierShare
    | NoneRanked
    | Streak
    | FirstYear
    | CountChange
    | ShareChange
    | TotalCount
    | MeanChange
    | NationalRank
    | SatValue
    | SatGap
    | TargetMet
    | Unrecognised
)


@dataclass
class Statement:
    """One statement: where it is, its claims, and how it prints when it is not checked.

    `reason` is set when the text alone says the statement cannot be checked (a total, a
    movement, an approximate figure); `keep_level` then says whether the level found stays in
    the report. `group` is the satisfaction group named ("so_ban_nganh"), for satisfaction
    statements."""

    where: Where
    claims: list[Claim]
    unchecked: list[Figure]
    reason: str = ""
    keep_level: bool = False
    kind: str = (
        ""  # count, share, pp, zero, streak, first, total, mean, rank, satisfaction, leftover
    )
    group: str | None = None
    noun: str = ""  # the statement's own noun as printed ("cán bộ, công chức")


# ---------------------------------------------------------------------------------------
# The words, compiled
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lexicon:
    """The names a notice uses that come from the province: tier names (every spelling, to
    the tier id) and the labels of the provincial groups that have figures."""

    tier_names: Mapping[str, str]  # casefolded spelling -> tier id
    tier_labels: Mapping[str, str] = field(default_factory=dict)  # tier id -> Vietnamese label
    groups: Mapping[str, str] = field(default_factory=dict)  # group id -> Vietnamese label

    @classmethod
    def of(cls, tiers, labels, aliases=None, groups=None) -> Lexicon:
        extra = vocabulary().get("tier_words") or {}
        names: dict[str, str] = {}
        for tid in tiers:
            label = labels.get(tid, tid)
            for s in (label, *(aliases or {}).get(tid, ()), *extra.get(label, ())):
                names[unicodedata.normalize("NFC", s).casefold()] = tid
        return cls(names, dict(labels), dict(groups or {}))

    def tier_id(self, s: str) -> str:
        return self.tier_names[s.casefold()]

    def label(self, tid: str) -> str:
        return self.tier_labels.get(tid, tid)

    @property
    def rx(self) -> Patterns:
        return patterns(tuple(sorted(self.tier_names)))


@lru_cache(maxsize=32)
def patterns(tier_names: tuple[str, ...]) -> Patterns:
    """The compiled patterns for a set of tier names (compiled once per process)."""
    return Patterns(tier_names)


_I = re.IGNORECASE
_PCT = r"(?P<pct>\d{1,3}(?:[.,]\d+)?)\s*%"
_DEC = r"\d{1,3}(?:[.,]\d+)?"


def _opt_words(key: tuple[str, ...], trailing=r"\s+") -> str:
    return "(?:" + "|".join(f"{phrase_rx(w)}{trailing}" for w in words(*key)) + ")?"


class Patterns:
    """Every regular expression of the reader, built from vocabulary.yml and the tier names:
    the shared pieces first, then the statements about tiers, the statements added for the
    2025 structure, the context (levels, years, qualifiers), satisfaction and leftovers."""

    def __init__(self, tier_names: Iterable[str]):
        v = vocabulary()
        self._pieces(v, tier_names)
        self._tier_statements(v)
        self._structure_statements(v)
        self._context(v)
        self._satisfaction(v["satisfaction"])
        self._leftovers(v)

    def _pieces(self, v: dict, tier_names: Iterable[str]) -> None:
        tier_alt = "|".join(re.escape(n) for n in sorted(tier_names, key=len, reverse=True))
        self.tier = rf"(?:{tier_alt})(?!\w)"
        self._tier_list = rf"(?P<tiers>{self.tier}(?:\s*(?:,|và|hoặc|/)\s*{self.tier})*)"
        stops = "|".join(re.escape(w) for w in v["noun_stops"])
        self._noun = rf"(?P<noun>(?:(?!(?:{stops})\s)[^\d;:()%.\n]){{0,45}}?)"
        after = "|".join(phrase_rx(w) for w in v["ranked"]["after"])
        self._ranked = (
            _opt_words(("ranked", "before"))
            + any_rx(v["ranked"]["verbs"])
            + rf"\s+(?:(?:{after})\s+)?[\"“]?"
        )
        self._share_words = any_rx(v["share"]["words"])
        self._share = rf"{self._share_words}\s+(?:{any_rx(v['share']['of_count'])}\s+)?"
        self._since_prev = "|".join(phrase_rx(p) for p in v["since"]["previous"])
        since_lead = any_rx(v["since"]["lead"])
        self._since = rf"(?:\s*{since_lead}\s+(?P<cy>\d{{4}}|{self._since_prev}))?"
        self._up, self._down = any_rx(v["change"]["up"]), any_rx(v["change"]["down"])
        self._extra = any_rx(v["change"]["extra"])
        self.up_words = {w.casefold() for w in v["change"]["up"]}
        self._direction = rf"(?P<dir>{self._up}|{self._down})\s+(?:{self._extra}\s+)?"
        self._units = any_rx(v["change"]["units"])
        self._zero = (
            rf"{any_rx(v['zero']['lead'])}\s+{self._noun}\s*"
            rf"(?:{any_rx(v['zero']['after_noun'])}\s+)?{self._ranked}{self._tier_list}"
        )
        self._streak = "|".join(
            [phrase_rx(p, "n") for p in v["streak"]["ordinal"]]
            + [phrase_rx(p, "n2") for p in v["streak"]["cardinal"]]
        )

    def _tier_statements(self, v: dict) -> None:
        noun, ranked, tier, since = self._noun, self._ranked, self.tier, self._since
        share_lead = any_rx(v["share"]["lead"])
        self.count = re.compile(
            rf"(?<![\w/.,])(?P<n>\d{{1,4}})(?:\s*/\s*(?P<of>\d{{1,4}}))?(?![\w/.,]\d)"
            rf"\s+{noun}\s*{ranked}(?P<tier>{tier})"
            rf"(?:\s*[(,]?\s*(?:{share_lead}\s+(?:{self._share_words}\s+)?"
            rf"|{self._share_words}\s+|=\s*)?{_PCT}\s*\)?)?",
            _I,
        )
        self.zero = re.compile(self._zero, _I)
        then = any_rx(v["streak"]["then"])
        self.streak = re.compile(rf"(?:{self._streak})\s+(?:{then}\s+)?{self._zero}", _I)
        self.first = re.compile(rf"{any_rx(v['first'])}\s+(?:{then}\s+)?{self._zero}", _I)
        self.pp = re.compile(
            rf"{self._share}{noun}\s*{ranked}(?P<tier>{tier})[^;:.\d%]{{0,30}}?"
            rf"{self._direction}(?P<pp>{_DEC})\s*{any_rx(v['change']['points'])}{since}",
            _I,
        )
        self.share = re.compile(
            rf"{self._share}{noun}\s*{ranked}(?P<tier>{tier})\s*(?:năm\s+\d{{4}}\s*)?"
            rf"{any_rx(v['share']['verbs'])}\s+{_PCT}",
            _I,
        )
        # the change after a statement, and the year after a change stated before its tier
        equal = any_rx(v["change"]["equal"])
        self.change = re.compile(
            rf"{self._direction}(?P<n>\d{{1,4}}(?:[.,]\d+)?|{number_words_rx()})\s*"
            rf"(?P<unit>{self._units})?{since}"
            rf"|(?P<same>{any_rx(v['change']['same'])}|{equal}\s+(?P<cy2>\d{{4}}|{self._since_prev}))"
            rf"{since.replace('cy', 'cy3')}",
            _I,
        )
        self.since_tail = re.compile(rf"[^;:.]{{0,40}}?{since[:-1]}", _I)

    def _structure_statements(self, v: dict) -> None:
        """Totals, mean scores and national ranks: what a notice says about a new structure."""
        since, direction = self._since, self._direction
        self.total = re.compile(
            rf"{any_rx(v['total']['lead'])}\s+{self._noun}\s*"
            rf"(?:{any_rx(v['total']['scored'])}\s+)?{any_rx(v['total']['verbs'])}\s+"
            rf"(?P<n>\d{{1,4}})(?![\w/.,]\d)(?:\s+[^\d;:.,()%]{{0,30}}?)??"
            rf"(?:\s*,\s*{direction}(?P<cn>\d{{1,4}})(?:\s*{self._units})?{since})?",
            _I,
        )
        self.mean = re.compile(
            rf"{any_rx(v['mean']['words'])}[^;:.\d%]{{0,60}}?{direction}"
            rf"(?P<pp>{_DEC})\s*{any_rx(v['mean']['unit'])}(?!\s+phần)(?!\s*%){since}",
            _I,
        )
        national = {k: any_rx(n) for k, n in v["national"].items() if k != "rank_words"}
        names = "|".join(f"(?P<idx_{k}>{rx})" for k, rx in national.items())
        self.rank = re.compile(
            rf"(?:{names})[^;:.]{{0,80}}?{any_rx(v['national']['rank_words'])}\s+(?:thứ\s+)?"
            rf"(?P<rank>\d{{1,2}})(?:\s*/\s*(?P<of>\d{{2}}))?(?![\d/])"
            rf"(?:[^;:.\d]{{0,40}}?{direction}(?P<cn>\d{{1,2}})\s*{any_rx(v['change']['rank'])}"
            rf"{since})?",
            _I,
        )

    def _context(self, v: dict) -> None:
        """Level cues and nouns, who scored a level, the year, and the words around a count
        that make it something else (a total, a movement, an approximation, a change)."""
        levels = v["levels"]
        self.cue = re.compile(
            "|".join(f"(?P<{lv}>{any_rx(spec['cues'])})" for lv, spec in levels.items()), _I
        )
        agent = v["agent"]
        self.agent = re.compile(
            rf"\b{any_rx(agent['lead'])}\s+[^,;:.\n]{{0,40}}?{any_rx(agent['verbs'])}", _I
        )
        self.level_nouns = {
            lv: re.compile(rf"^{any_rx(spec['nouns'])}$", _I) for lv, spec in levels.items()
        }
        self.generic_nouns = {n.casefold() for n in v["generic_nouns"]}
        self.noun_lead = re.compile(rf"^{any_rx(v['noun_lead'])}\s+", _I)
        self.group_noun = re.compile(any_rx(v["group_words"]), _I)
        self.year = re.compile(
            rf"(?<!với\s){phrase_rx(v['year_word'])}\s+(?P<y>(?:19|20)\d{{2}})\b", _I
        )
        self.qualifier = re.compile(rf"{any_rx(v['approximate'])}\s*$", _I)
        self.total_before = re.compile(rf"{any_rx(v['total_before'])}\s*$", _I)
        self.movement_after = re.compile(
            rf"\s*(?:năm\s+\d{{4}}\s*)?(?:{any_rx(v['movement']['helpers'])}\s+)?"
            rf"{any_rx(v['movement']['verbs'])}\b",
            _I,
        )
        self.change_before = re.compile(
            rf"(?P<dir>{self._up}|{self._down})\s+(?:{self._extra}\s+)?$", _I
        )

    def _satisfaction(self, s: dict) -> None:
        self.sat_cue = re.compile(any_rx(s["cue"]), _I)
        self.sat_lead = re.compile(any_rx(s["lead"]), _I)
        self.target = re.compile(
            rf"{any_rx(s['target'])}(?:\s+{any_rx(s['target_verbs'])})?\s*{_PCT}", _I
        )
        self.value = re.compile(rf"{any_rx(s['value_verbs'])}\s+(?:mức\s+)?{_PCT}", _I)
        between = "".join(f"(?:{phrase_rx(w)}\\s+)?" for w in s["gap_between"])
        self.gap_above = {w.casefold() for w in s["gap_above"]}
        self.gap = re.compile(
            rf"(?P<dir>{any_rx(s['gap_below'] + s['gap_above'])})\s+{between}"
            rf"(?P<pp>\d{{1,2}}(?:[.,]\d+)?)\s*{any_rx(s['gap_units'])}",
            _I,
        )
        self.met = re.compile(
            rf"(?P<neg>{any_rx(s['met_not'])}\s+)?{any_rx(s['met_verbs'])}\s+"
            rf"{any_rx(s['met_objects'])}",
            _I,
        )
        self.sat_groups = [(gid, re.compile(any_rx(p), _I)) for gid, p in s["groups"].items()]

    def _leftovers(self, v: dict) -> None:
        """Figure-like fragments that no statement accounts for (reported `not checked`)."""
        not_year = r"(?<!năm\s)(?<![\w/.,])(?!(?:19|20)\d\d\b)"
        streak = self._streak.replace("(?P<n>", "(?:").replace("(?P<n2>", "(?:")
        self.leftovers = [
            ("percentage", re.compile(r"(?<![\w/.,])\d{1,3}(?:[.,]\d+)?\s*%")),
            (
                "count",
                re.compile(
                    rf"(?<![\w/.,])\d{{1,4}}\s*/\s*\d{{1,4}}(?![\w/.,]\d)"
                    rf"(?=\s+{any_rx(v['unit_nouns'])})",
                    _I,
                ),
            ),
            (
                "count",
                re.compile(
                    rf"{not_year}\d{{1,4}}\s+(?:cơ\s+quan,\s*)?đơn\s+vị"
                    rf"(?!\s+{any_rx(v['not_unit_after'])})",
                    _I,
                ),
            ),
            (
                "count",
                re.compile(rf"{not_year}\d{{1,4}}\s+{any_rx(v['count_nouns'])}(?!\w)", _I),
            ),
            (
                "change",
                re.compile(
                    rf"(?:{self._up}|{self._down})\s+(?:{self._extra}\s+)?\d{{1,4}}(?:[.,]\d+)?"
                    rf"(?:\s*%|\s+đơn\s+vị|\s+điểm)?",
                    _I,
                ),
            ),
            ("streak", re.compile(streak, _I)),
            ("first_year", re.compile(any_rx(v["first"]), _I)),
            ("points", re.compile(rf"(?<![\w/.,]){_DEC}\s*điểm(?:\s+phần\s+trăm)?", _I)),
        ]

    def tier_ids(self, lex: Lexicon, s: str) -> tuple[str, ...]:
        return tuple(lex.tier_id(x.group(0)) for x in re.finditer(self.tier, s, _I))


# ---------------------------------------------------------------------------------------
# Reading: document -> paragraphs -> sentences -> statements
# ---------------------------------------------------------------------------------------
_SENTENCE_END = re.compile(r"[.!?](?=\s+(?P<next>\S))")
_LIST_ITEM = re.compile(r"\s*(?:[-+•–]\s|\d+[.)]\s|[a-zđ]\)\s)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:[-+•]\s|\d+[.)]\s))")
_MARKUP = re.compile(r"[*_#>`]")


@dataclass
class Document:
    """The notice being read: its text, the names, and what has been read so far."""

    text: str
    lex: Lexicon
    default_year: int
    statements: list[Statement] = field(default_factory=list)
    consumed: list[tuple[int, int]] = field(default_factory=list)

    @property
    def rx(self) -> Patterns:
        return self.lex.rx

    def line(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def where(self, start: int, fragment: str, **kw) -> Where:
        return Where(start, self.line(start), collapse(fragment), len(self.statements) + 1, **kw)

    def add(self, where: Where, claims, unchecked, **kw) -> Statement:
        st = Statement(where, list(claims), list(unchecked), **kw)
        self.statements.append(st)
        return st

    def is_consumed(self, pos: int) -> bool:
        return any(a <= pos < b for a, b in self.consumed)


@dataclass
class Paragraph:
    """One paragraph: where it starts, its text, its level cues and sentences, and the level
    handed down from the paragraph before ("Đối với UBND cấp xã, kết quả như sau:")."""

    base: int
    text: str
    cues: list[tuple[int, str, str]]  # (position, level, words)
    sentences: list[tuple[int, int]]
    carried: tuple[str, str] | None = None

    def sentence_of(self, pos: int) -> tuple[int, int]:
        for s, e in self.sentences:
            if s <= pos < e:
                return s, e
        return self.sentences[-1]

    def clause_end(self, pos: int) -> int:
        m = re.compile(r"[;:]").search(self.text, pos)
        return m.start() if m else len(self.text)


def extract(text: str, lex: Lexicon, default_year: int) -> list[Statement]:
    """Every statement of a notice, in text order (numbered 1, 2, ...)."""
    text = unicodedata.normalize("NFC", text)
    # Markdown emphasis and heading marks out, keeping every offset (line numbers stay right)
    doc = Document(_MARKUP.sub(" ", text), lex, default_year)
    carried: tuple[str, str] | None = None
    for start, end in paragraphs(doc.text):
        para = paragraph(doc, start, end, carried)
        read_tier_statements(doc, para)
        read_satisfaction(doc, para)
        # a paragraph ending with ":" hands its last level cue to the list items under it
        if para.text.rstrip().endswith(":") and para.cues:
            carried = (para.cues[-1][1], collapse(para.cues[-1][2]))
        elif not _LIST_ITEM.match(para.text):
            carried = None
    read_leftovers(doc)
    order = sorted(doc.statements, key=lambda st: (st.where.offset, st.where.statement))
    for i, st in enumerate(order, start=1):
        st.where = replace(st.where, statement=i)
    return order


def paragraphs(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each paragraph: blocks separated by blank lines; list items
    ("- ", "+ ", "1. ") on their own lines are paragraphs of their own."""
    pos = 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        if text[pos : m.start()].strip():
            yield pos, m.start()
        pos = m.end()
    if text[pos:].strip():
        yield pos, len(text)


def sentences(para: str) -> list[tuple[int, int]]:
    """Sentence spans: a full stop followed by a capital letter, a digit or an opening mark
    ends a sentence ("69,76%." and "TT. Tỉnh ủy" alike; decimal commas never do)."""
    out, pos = [], 0
    for m in _SENTENCE_END.finditer(para):
        nxt = m.group("next")
        if not (nxt.isupper() or nxt.isdigit() or nxt in '"“(*-'):
            continue
        out.append((pos, m.end()))
        pos = m.end()
    out.append((pos, len(para)))
    return out


def paragraph(doc: Document, start: int, end: int, carried) -> Paragraph:
    text = doc.text[start:end]
    agents = [(m.start(), m.end()) for m in doc.rx.agent.finditer(text)]
    cues = [
        (m.start(), m.lastgroup, m.group(0))
        for m in doc.rx.cue.finditer(text)
        if not any(a <= m.start() < b for a, b in agents)
    ]
    return Paragraph(start, text, cues, sentences(text), carried)


# -- tier statements ----------------------------------------------------------------------
_TIER_KINDS = ("pp", "share", "streak", "first", "zero", "count", "total", "mean", "rank")
_CHANGE_FOLLOWS = ("count", "zero", "streak", "first")


def read_tier_statements(doc: Document, para: Paragraph) -> None:
    """The statements about tiers, totals, mean scores and ranks in one paragraph: each
    pattern in turn (the most specific first), never two over the same words."""
    found: list[tuple[int, int, str, re.Match]] = []
    for kind in _TIER_KINDS:
        for m in getattr(doc.rx, kind).finditer(para.text):
            if kind == "total" and re.search(doc.rx.tier, m.group("noun"), _I):
                continue  # "tổng số đơn vị xếp hạng Tốt là 30" is a count, not the total
            if not any(a < m.end() and m.start() < e for a, e, _, _ in found):
                found.append((m.start(), m.end(), kind, m))
    found.sort(key=lambda f: f[0])
    for i, (_, _, kind, m) in enumerate(found):
        nxt = found[i + 1][0] if i + 1 < len(found) else len(para.text)
        read_statement(doc, para, kind, m, nxt)


def read_statement(doc: Document, para: Paragraph, kind: str, m: re.Match, nxt: int) -> None:
    s, e = m.start(), m.end()
    sent_start, sent_end = para.sentence_of(s)
    if kind == "rank":
        level, cue = "national", None
    else:
        level, cue = level_of(doc, para, m.groupdict().get("noun"), s, e)
    year = year_of(doc, para.text, sent_start, s)
    # a change belongs to the statement just before it, within its clause
    change = None
    if kind in _CHANGE_FOLLOWS:
        change = doc.rx.change.search(para.text, e, min(nxt, sent_end, para.clause_end(e)))
    frag_end = change.end() if change else e
    doc.consumed.append((para.base + s, para.base + frag_end))
    ctx = dict(level=level, level_cue=cue, year=year)
    noun = collapse(m.groupdict().get("noun") or "")
    if kind == "count" and _read_count_context(doc, para, m, change, frag_end, ctx, noun):
        return
    claims, figures = READERS[kind](doc, m)
    if change:
        c = change_claim(doc, change, claims, kind)
        claims.append(c)
        figures.append(Figure("change", c.text, None))
    where = doc.where(para.base + s, para.text[s:frag_end], **ctx)
    doc.add(where, claims, figures, kind=kind, noun=noun)


def _read_count_context(doc, para, m, change, frag_end, ctx, noun) -> bool:
    """A count preceded by "tổng số" (a total), followed by "lên/xuống" (a movement),
    preceded by "trên/khoảng" (approximate) or by "tăng/giảm" (a change): read as such.
    Returns True when the statement was read here."""
    s, e = m.start(), m.end()
    before = para.text[max(0, s - 25) : s]
    odd = (
        doc.rx.total_before.search(before)
        and "reads as a total ('tổng số …'), not a count of a tier"
    ) or (
        doc.rx.movement_after.match(para.text, e)
        and "a movement between tiers, not a count of a tier"
    )
    if odd:
        claims, figures = read_count(doc, m)
        if change:
            figures.append(Figure("change", collapse(change.group(0)), None))
        where = doc.where(para.base + s, para.text[s:frag_end], **ctx)
        doc.add(where, claims, figures, reason=odd, kind="count", noun=noun)
        return True
    q = doc.rx.qualifier.search(before)
    cb = doc.rx.change_before.search(before)
    if not (q or cb):
        return False
    # "trên 30 đơn vị" is not a count; "tăng 03 đơn vị xếp hạng Tốt" is a change
    start = s - len((q or cb).group(0))
    doc.consumed.append((para.base + start, para.base + frag_end))
    where = doc.where(para.base + start, para.text[start:frag_end], **ctx)
    claims, figures = read_count(doc, m)
    if q:
        if change:
            figures.append(Figure("change", collapse(change.group(0)), None))
        reason = f"an approximate figure ('{collapse(q.group(0))} {m.group('n')}')"
        doc.add(where, claims, figures, reason=reason, keep_level=True, kind="count", noun=noun)
        return True
    tail = doc.rx.since_tail.match(para.text, e)
    sign = -1 if _is_down(doc, cb.group("dir")) else 1
    c = CountChange(
        tiers=(claims[0].tier,),
        text=where.fragment,
        claimed=to_int(m.group("n")) * sign,
        since=tail.group("cy") if tail and tail.group("cy") else None,
        after="count",
    )
    doc.add(where, [c], figures, kind="change", noun=noun)
    return True


def read_count(doc: Document, m: re.Match):
    tier = doc.lex.tier_id(m.group("tier"))
    claim = TierCount(
        tier=tier,
        n=to_int(m.group("n")),
        n_text=m.group("n"),
        of=to_int(m.group("of")) if m.group("of") else None,
        of_text=m.group("of"),
        pct_text=m.group("pct"),
    )
    figures = [Figure("count", claim.n_text, str(claim.n), tier)]
    if claim.of_text:
        figures.append(Figure("total", claim.of_text, str(claim.of)))
    if claim.pct_text:
        figures.append(Figure("share", claim.pct_text + "%", str(pct(claim.pct_text)), tier))
    return [claim], figures


def read_share(doc: Document, m: re.Match):
    tier = doc.lex.tier_id(m.group("tier"))
    c = TierShare(tier, m.group("pct"))
    return [c], [Figure("share", c.pct_text + "%", str(pct(c.pct_text)), tier)]


def read_share_change(doc: Document, m: re.Match):
    tier = doc.lex.tier_id(m.group("tier"))
    sign = -1 if _is_down(doc, m.group("dir")) else 1
    text = collapse(m.group(0)[m.start("dir") - m.start() :])
    c = ShareChange(tier, text, m.group("pp"), sign, m.group("cy"))
    shown = ("-" if sign < 0 else "+") + str(pct(c.pp_text))
    return [c], [Figure("change_pp", text, shown, tier)]


def read_zero(doc: Document, m: re.Match):
    tiers = doc.rx.tier_ids(doc.lex, m.group("tiers"))
    figures = [Figure("count", f"không có … {doc.lex.label(t)}", "0", t) for t in tiers]
    return [NoneRanked(tiers)], figures


def read_streak(doc: Document, m: re.Match):
    tiers = doc.rx.tier_ids(doc.lex, m.group("tiers"))
    n = to_int(m.group("n") or m.group("n2"))
    text = collapse(m.group(0)[: m.start("noun") - m.start()].rsplit("không", 1)[0])
    shown = collapse(m.group(0).split("liên")[0]) + " liên tiếp"
    return [Streak(tiers, n, text)], [Figure("streak", shown, str(n), "+".join(tiers))]


def read_first(doc: Document, m: re.Match):
    tiers = doc.rx.tier_ids(doc.lex, m.group("tiers"))
    text = "năm đầu tiên" if "năm" in m.group(0)[:5].lower() else "lần đầu tiên"
    return [FirstYear(tiers, text)], [Figure("first_year", "năm đầu tiên", None, "+".join(tiers))]


def read_total(doc: Document, m: re.Match):
    n = to_int(m.group("n"))
    figures = [Figure("total", m.group("n"), str(n))]
    change = change_text = None
    if m.group("cn"):
        change = to_int(m.group("cn")) * (-1 if _is_down(doc, m.group("dir")) else 1)
        change_text = collapse(m.group(0)[m.start("dir") - m.start() :])
        figures.append(Figure("change_total", change_text, _signed(change)))
    c = TotalCount(n, m.group("n"), change, change_text, m.group("cy"))
    return [c], figures


def read_mean(doc: Document, m: re.Match):
    sign = -1 if _is_down(doc, m.group("dir")) else 1
    text = collapse(m.group(0)[m.start("dir") - m.start() :])
    c = MeanChange(text, m.group("pp"), sign, m.group("cy"))
    return [c], [Figure("change_mean", text, str(sign * pct(c.value_text)))]


def read_rank(doc: Document, m: re.Match):
    index = next(k[4:] for k, v in m.groupdict().items() if k.startswith("idx_") and v)
    rank = int(m.group("rank"))
    of = int(m.group("of")) if m.group("of") else None
    text = collapse(m.group(0)[m.start("rank") - m.start() : m.end("of") if of else m.end("rank")])
    figures = [Figure("rank", text, f"{rank}/{of}" if of else str(rank), None)]
    change = change_text = None
    if m.group("cn"):
        change = int(m.group("cn")) * (-1 if _is_down(doc, m.group("dir")) else 1)
        change_text = collapse(m.group(0)[m.start("dir") - m.start() :])
        figures.append(Figure("rank_change", change_text, _signed(change)))
    return [NationalRank(index, rank, of, text, change, change_text, m.group("cy"))], figures


READERS = {
    "count": read_count,
    "share": read_share,
    "pp": read_share_change,
    "zero": read_zero,
    "streak": read_streak,
    "first": read_first,
    "total": read_total,
    "mean": read_mean,
    "rank": read_rank,
}


def change_claim(doc: Document, change: re.Match, claims: list, kind: str) -> CountChange:
    """The change after a statement: "tăng 03 đơn vị so với năm 2021", "không thay đổi"."""
    text = collapse(change.group(0))
    since = change.group("cy") or change.group("cy2") or change.group("cy3")
    tiers = _tiers_of(claims[0])
    if change.group("same"):
        claimed: int | None = 0
    else:
        unit = (change.group("unit") or "").lower()
        n_text = change.group("n")
        if unit in ("%", "điểm") or "phần trăm" in unit or re.search(r"[.,]", n_text):
            claimed = None  # a change in percent or points: not checked
        else:
            claimed = to_int(n_text) * (-1 if _is_down(doc, change.group("dir")) else 1)
    return CountChange(tiers, text, claimed, since, kind)


def _tiers_of(claim) -> tuple[str, ...]:
    if isinstance(claim, TierCount):
        return (claim.tier,)
    return tuple(claim.tiers)


def _is_down(doc: Document, direction: str) -> bool:
    return collapse(direction).casefold() not in doc.rx.up_words


# -- level and year -------------------------------------------------------------------------
def level_of(doc: Document, para: Paragraph, noun: str | None, pos: int, end: int):
    """The level a statement speaks of, and the words it was taken from: its own noun
    ("13 cơ quan, đơn vị …"), else the nearest cue before it in the paragraph, else the level
    handed down to a list item, else a cue inside the statement itself."""
    rx = doc.rx
    n = collapse(noun or "").casefold()
    n = rx.noun_lead.sub("", n, count=1)
    if n not in rx.generic_nouns:
        for level, noun_rx in rx.level_nouns.items():
            if noun_rx.match(n):
                return level, n
        gid = group_of(doc.lex, n)
        if gid:
            return f"group:{gid}", n
        if rx.group_noun.search(n):
            return "group", n
        return "other", n
    before = [c for c in para.cues if c[0] < pos]
    if before:
        return before[-1][1], collapse(before[-1][2])
    if para.carried:
        return para.carried
    own = [c for c in para.cues if pos <= c[0] < end]  # "13 cơ quan, đơn vị xếp hạng Khá"
    if own:
        return own[0][1], collapse(own[0][2])
    return None, None


def group_of(lex: Lexicon, noun: str) -> str | None:
    """The provincial group a noun names ("sở, ban, ngành" -> so_ban_nganh)."""
    words_ = set(re.findall(r"\w+", noun))
    for gid, label in lex.groups.items():
        lw = re.findall(r"\w+", label.casefold())
        if noun == label.casefold() or (lw and set(lw) <= words_ and len(words_) <= len(lw) + 1):
            return gid
    return None


def year_of(doc: Document, para: str, sent_start: int, pos: int) -> int:
    """The last "năm YYYY" before `pos` in its sentence (not "so với năm …"), else the year
    the notice reports on."""
    years = [int(m.group("y")) for m in doc.rx.year.finditer(para, sent_start, pos)]
    return years[-1] if years else doc.default_year


# -- satisfaction ---------------------------------------------------------------------------
def read_satisfaction(doc: Document, para: Paragraph) -> None:
    """Satisfaction statements: sentences with "hài lòng" and a value, a target, a gap or
    "(chưa) đạt mục tiêu"; one statement per "chỉ số / mức độ hài lòng …"."""
    rx = doc.rx
    for s0, s1 in para.sentences:
        sent = para.text[s0:s1]
        if not rx.sat_cue.search(sent):
            continue
        year = year_of(doc, para.text, s0, s1)
        targets = list(rx.target.finditer(sent))
        in_target = [(t.start(), t.end()) for t in targets]
        values = [v for v in rx.value.finditer(sent) if not _within(v.start("pct"), in_target)]
        gaps = list(rx.gap.finditer(sent))
        in_gap = [(g.start(), g.end()) for g in gaps]
        values = [v for v in values if not _within(v.start("pct"), in_gap)]
        targets = [t for t in targets if not _within(t.start("pct"), in_gap)]
        mets = list(rx.met.finditer(sent))
        if not (targets or values or mets or gaps):
            continue
        for x in (*targets, *values, *gaps):
            doc.consumed.append((para.base + s0 + x.start(), para.base + s0 + x.end()))
        # a figure belongs to the nearest "chỉ số / mức độ hài lòng" before it
        leads = [c.start() for c in rx.sat_lead.finditer(sent)]
        items = sorted(
            [("value", v) for v in values]
            + [("target", t) for t in targets]
            + [("gap", g) for g in gaps]
            + [("met", x) for x in mets],
            key=lambda it: it[1].start(),
        )
        parts: dict[int, list] = {}
        for kind, x in items:
            lead = max((p for p in leads if p <= x.start()), default=None)
            parts.setdefault(lead if lead is not None else items[0][1].start(), []).append(
                (kind, x)
            )
        whole = sat_group(doc, sent)
        for f0, part in sorted(parts.items()):
            last = max(x.end() for _, x in part)
            own = sat_group(doc, sent[f0:last])
            group, cue = own if own[0] else whole
            where = doc.where(
                para.base + s0 + f0, sent[f0:last], level="satisfaction", level_cue=cue, year=year
            )
            claims = [sat_claim(doc, kind, x) for kind, x in part]
            doc.add(where, claims, [], kind="satisfaction", group=group)


def sat_claim(doc: Document, kind: str, x: re.Match):
    if kind in ("value", "target"):
        return SatValue("satisfaction" if kind == "value" else "target", x.group("pct"))
    if kind == "gap":
        sign = 1 if collapse(x.group("dir")).casefold() in doc.rx.gap_above else -1
        return SatGap(collapse(x.group(0)), x.group("pp"), sign)
    return TargetMet(collapse(x.group(0)), not x.group("neg"))


def sat_group(doc: Document, sent: str) -> tuple[str | None, str | None]:
    """The group a satisfaction sentence names; the last (most specific) cue wins."""
    found = sorted(
        (m.start(), gid, collapse(m.group(0)))
        for gid, rx in doc.rx.sat_groups
        for m in rx.finditer(sent)
    )
    if not found:
        return None, None
    return found[-1][1], found[-1][2]


def _within(pos: int, spans) -> bool:
    return any(a <= pos < b for a, b in spans)


# -- everything else that looks like a figure ------------------------------------------------
def read_leftovers(doc: Document) -> None:
    hits: list[tuple[int, int, str]] = []
    for figure, rx in doc.rx.leftovers:
        for m in rx.finditer(doc.text):
            if doc.is_consumed(m.start()) or any(a < m.end() and m.start() < b for a, b, _ in hits):
                continue
            hits.append((m.start(), m.end(), figure))
    for s, e, figure in sorted(hits):
        num = re.search(r"\d+(?:[.,]\d+)?(?:\s*/\s*\d+)?", doc.text[s:e])
        claimed = re.sub(r"\s+", "", num.group(0)).replace(",", ".") if num else None
        text = collapse(doc.text[s:e])
        where = Where(s, doc.line(s), surrounding(doc.text, s, e), len(doc.statements) + 1)
        doc.add(
            where,
            [Unrecognised(figure, text, claimed)],
            [Figure(figure, text, claimed)],
            reason="not a recognised statement",
            kind="leftover",
        )


# -- small text helpers ----------------------------------------------------------------------
def to_int(s: str) -> int:
    """A whole number as printed: "03" -> 3, "ba" -> 3."""
    s = s.strip().lower()
    return int(s) if s.isdigit() else number_words()[s]


def pct(s: str) -> Decimal:
    """A printed decimal, comma or point: "69,76" -> Decimal("69.76")."""
    return Decimal(s.replace(",", "."))


def decimals_of(s: str) -> int:
    return len(s.replace(",", ".").partition(".")[2])


def collapse(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip(" ,;:")


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def surrounding(text: str, s: int, e: int, width: int = 60) -> str:
    a = max(text.rfind("\n", 0, s) + 1, s - width)
    b_nl = text.find("\n", e)
    b = min(b_nl if b_nl >= 0 else len(text), e + width)
    return (
        ("…" if a > 0 and text[a - 1] != "\n" else "")
        + collapse(text[a:b])
        + ("…" if b < len(text) and text[b] != "\n" else "")
    )
