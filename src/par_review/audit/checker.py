"""Audit a published notice: check every figure it prints against the computed metrics.

    par-review audit notice.txt --year 2022 [--format text|json] [--rounding half_up|truncate]

A notice (Thông báo) is written by people; this reads its text (.txt, .md or .docx), finds
the statements that notices make about the yearly PAR review and checks each figure:

- "30/43 đơn vị xếp hạng Tốt (chiếm tỷ lệ 69,76%)"     count, total and share of a tier
- "13 cơ quan, đơn vị xếp hạng Khá (chiếm tỷ lệ 31,24%)" count and share
- "tăng 03 đơn vị so với năm 2021" / "giảm 05 đơn vị"   change of the preceding tier's count
- "không có đơn vị xếp hạng Trung bình"                 a zero count
- "năm thứ 3 liên tiếp không có đơn vị xếp hạng Yếu"    a streak of years with zero
- "là năm đầu tiên không có đơn vị xếp hạng Trung bình, Yếu"  a first
- "tỷ lệ đơn vị xếp hạng Tốt đạt 53,67%"                 a share on its own
- "tỷ lệ ... Tốt tăng 2,21 điểm phần trăm so với năm 2021" a change of a share in points
- "15/21 sở, ban, ngành xếp hạng Tốt"                   a provincial group's count
- "chỉ số hài lòng ... đạt 82,77 % trong khi mục tiêu đề ra là 83%", "chưa đạt mục tiêu",
  "thấp hơn mục tiêu 0,23 điểm phần trăm"               satisfaction, target, met, gap

The level a statement speaks of (provincial-level units or communes) comes from its own
noun ("13 cơ quan, đơn vị ...") or else from the nearest level cue before it in the same
paragraph ("Đối với UBND cấp xã ...", "các cơ quan, đơn vị ..."). A statement whose level,
year or meaning cannot be worked out is reported `not checked` with the reason, and so is
every other figure-like fragment (a percentage, "N/M đơn vị", "tăng N", "năm thứ N") that
no recognised statement accounts for: nothing is guessed silently.

Verdicts: `ok`; `ok (truncated)` when a share matches only when cut (not rounded) to the
printed decimals, as the province's notices do (`ok (rounded)` is the mirror case under
`--rounding truncate`); `WRONG`; `not checked` (with a reason). Exit code 1 when any figure
is WRONG, else 0; 2 when the file cannot be read or the data is missing.

The checks run against a small `Facts` object (tier counts per level and year, and the
satisfaction result) built from `par_review.metrics.compute_metrics` by `facts_from_metrics`;
shares, changes, streaks and firsts are recomputed from the counts exactly (fractions, not
floats), so a truncated share is told from a rounded one reliably.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal, localcontext
from pathlib import Path

from ..fmt import round_decimal

OK, OK_TRUNCATED, OK_ROUNDED, WRONG, NOT_CHECKED = (
    "ok",
    "ok (truncated)",
    "ok (rounded)",
    "WRONG",
    "not checked",
)
VERDICTS = (OK, OK_TRUNCATED, OK_ROUNDED, WRONG, NOT_CHECKED)
LEVEL_NAMES = {
    "provincial": "provincial-level units",
    "commune": "communes",
    "satisfaction": "satisfaction",
}


# ---------------------------------------------------------------------------------------
# The facts the audit checks against
# ---------------------------------------------------------------------------------------
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
class Facts:
    """What the audit needs to know: tiers (best first) with their Vietnamese labels and
    aliases, tier counts per level per year (the whole history available), and the
    satisfaction result of the audited year."""

    year: int
    tiers: tuple[str, ...]
    tier_labels: Mapping[str, str]
    history: Mapping[str, Mapping[int, LevelYear]]
    satisfaction: SatisfactionFacts | None = None
    tier_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)  # group id -> Vietnamese label

    def level_year(self, level: str, year: int) -> LevelYear | None:
        return (self.history.get(level) or {}).get(year)

    def years(self, level: str) -> list[int]:
        return sorted(self.history.get(level) or {})


def facts_from_metrics(metrics: Mapping, cfg=None) -> Facts:
    """Build Facts from one year's metrics (the `compute_metrics` / metrics.json schema,
    docs/metrics.md): `levels.<level>.history` (tier counts of every processed year, for
    changes, streaks and firsts), `levels.<level>.tiers.<tier>.label`,
    `levels.<level>.by_group.<group>.{total,counts}` (provincial groups, this year only) and
    `satisfaction.{available,value,target,met,group,group_label}`. `cfg` (a ProvinceConfig)
    adds the tier aliases and group labels used to read the text."""
    year = int(metrics["year"])
    tiers: list[str] = []
    labels: dict[str, str] = {}
    history: dict[str, dict[int, LevelYear]] = {}
    groups: dict[str, str] = {}
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
    return Facts(
        year=year,
        tiers=tuple(tiers),
        tier_labels=labels,
        history=history,
        satisfaction=sat_facts,
        tier_aliases=aliases,
        groups=groups,
    )


def _float_or_none(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


# ---------------------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------------------
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

    @property
    def is_wrong(self) -> bool:
        return self.verdict == WRONG


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

    def summary(self) -> str:
        c = self.counts()
        parts = [f"{c[v]} {v}" for v in VERDICTS if c[v] or v in (OK, WRONG, NOT_CHECKED)]
        n = len(self.findings)
        return (
            f"Summary: {n} figure{'s' if n != 1 else ''}: "
            + ", ".join(parts)
            + (" → exit 1" if self.has_wrong else " → exit 0")
        )

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "year": self.year,
            "province": self.province,
            "rounding": self.rounding,
            "tier_labels": dict(self.tier_labels),
            "findings": [asdict(f) for f in self.findings],
            "summary": {"figures": len(self.findings), **self.counts(), "wrong": self.has_wrong},
        }


# ---------------------------------------------------------------------------------------
# Reading a notice
# ---------------------------------------------------------------------------------------
class NoticeError(ValueError):
    """The notice cannot be read (names the file and why)."""


def read_notice(path: str | Path) -> str:
    """The text of a notice (.txt, .md or .docx), NFC-normalised; paragraphs separated by a
    blank line. Raises NoticeError when the file cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise NoticeError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".doc":
        raise NoticeError(f"{p}: old Word .doc files are not supported; save it as .docx")
    if suffix == ".docx":
        text = _read_docx(p)
    else:
        raw = p.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise NoticeError(
                f"{p}: not UTF-8 text (byte {exc.start}); save the notice as UTF-8"
            ) from exc
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def _read_docx(p: Path) -> str:
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as exc:  # pragma: no cover - python-docx is a declared dependency
        raise NoticeError(f"{p}: reading .docx needs the python-docx package") from exc
    try:
        document = docx.Document(str(p))
    except Exception as exc:  # python-docx raises several kinds on a broken package
        raise NoticeError(
            f"{p}: not a readable .docx file ({exc.__class__.__name__}: {exc})"
        ) from exc
    blocks: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            blocks.append(Paragraph(child, document).text)
        elif tag == "tbl":
            for row in Table(child, document).rows:
                blocks.append(" | ".join(cell.text for cell in row.cells))
    return "\n\n".join(blocks)


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------
_WORD_NUMBERS = {
    "một": 1,
    "nhất": 1,
    "hai": 2,
    "ba": 3,
    "bốn": 4,
    "tư": 4,
    "năm": 5,
    "sáu": 6,
    "bảy": 7,
    "tám": 8,
    "chín": 9,
    "mười": 10,
}
_WORDNUM = "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True))
_INT = rf"(?:\d{{1,4}}|{_WORDNUM})"
_PCT = r"(?P<pct>\d{1,3}(?:[.,]\d+)?)\s*%"
_RANKED = r"(?:được\s+|đều\s+|bị\s+)?(?:xếp\s+(?:hạng|loại)|đạt\s+(?:mức|loại)|ở\s+mức)\s+(?:mức\s+|loại\s+)?[\"“]?"
_NOUN = r"(?P<noun>(?:(?!không\s|tăng\s|giảm\s)[^\d;:()%.\n]){0,45}?)"
_SINCE = (
    r"(?:\s*so\s+với\s+(?:năm\s+)?(?P<cy>\d{4}|năm\s+trước|cùng\s+kỳ(?:\s+năm\s+trước)?|trước))?"
)

# Level cues: words that set the level of the statements that follow in a paragraph.
_LEVEL_CUES = [
    ("commune", r"cấp\s+xã|xã,\s*phường,\s*thị\s+trấn|ubnd\s+(?:các\s+)?xã|các\s+xã|xã,\s*phường"),
    (
        "provincial",
        r"cơ\s+quan,\s*đơn\s+vị|sở,\s*ban,\s*ngành|sở,\s*ngành|cấp\s+tỉnh|đơn\s+vị\s+cấp\s+tỉnh",
    ),
]
_CUE_RE = re.compile("|".join(f"(?P<{lv}>{rx})" for lv, rx in _LEVEL_CUES), re.IGNORECASE)

# The noun of a statement ("30/43 <noun> xếp hạng Tốt"): generic, a level, a group, or not a unit.
_GENERIC_NOUNS = {
    "",
    "đơn vị",
    "cơ quan",
    "cơ quan, đơn vị",
    "cơ quan, đơn vị, địa phương",
    "địa phương",
    "đơn vị, địa phương",
    "cơ quan, địa phương",
}
_COMMUNE_NOUN = re.compile(
    r"^(?:ubnd\s+)?(?:cấp\s+xã|xã|xã,\s*phường,\s*thị\s+trấn|xã,\s*phường|"
    r"đơn\s+vị\s+cấp\s+xã|ubnd\s+các\s+xã)$",
    re.IGNORECASE,
)
_PROVINCIAL_NOUN = re.compile(
    r"^(?:cơ\s+quan,\s*đơn\s+vị\s+cấp\s+tỉnh|đơn\s+vị\s+cấp\s+tỉnh)$", re.IGNORECASE
)
_GROUP_NOUN = re.compile(r"sở|ngành|huyện|ngành\s+dọc|sự\s+nghiệp|trung\s+ương", re.IGNORECASE)

_YEAR_RE = re.compile(r"(?<!với\s)năm\s+(?P<y>(?:19|20)\d{2})\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?=\s+(?P<next>\S))")
_LIST_ITEM = re.compile(r"\s*(?:[-+•–]\s|\d+[.)]\s|[a-zđ]\)\s)")
_QUALIFIER = re.compile(
    r"(?:hơn|trên|gần|khoảng|dưới|ít\s+nhất|tối\s+thiểu|gần\s+như|xấp\s+xỉ)\s*$", re.IGNORECASE
)
_TOTAL_BEFORE = re.compile(
    r"(?:tổng\s+số|trong\s+số|trong\s+tổng\s+số|trên\s+tổng\s+số)\s*$", re.IGNORECASE
)
_MOVEMENT_AFTER = re.compile(
    r"\s*(?:năm\s+\d{4}\s*)?(?:đã\s+|được\s+)?(?:lên|xuống|chuyển|nâng|tụt|hạ)\b", re.IGNORECASE
)
_CHANGE_BEFORE = re.compile(r"(?P<dir>tăng|giảm)\s+(?:thêm\s+)?$", re.IGNORECASE)


def _num(s: str) -> int:
    s = s.strip().lower()
    return int(s) if s.isdigit() else _WORD_NUMBERS[s]


def _pct_decimal(s: str) -> Decimal:
    return Decimal(s.replace(",", "."))


def _collapse(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip(" ,;:")


def _vi_num(d: Decimal | float | int, decimals: int | None = None) -> str:
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


@dataclass
class _Ctx:
    text: str
    facts: Facts
    policy: str
    default_year: int
    findings: list[Finding] = field(default_factory=list)
    consumed: list[tuple[int, int]] = field(default_factory=list)
    statement: int = 0

    def line(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def is_consumed(self, pos: int) -> bool:
        return any(a <= pos < b for a, b in self.consumed)

    def add(self, start: int, fragment: str, **kw) -> Finding:
        f = Finding(
            line=self.line(start),
            fragment=_collapse(fragment),
            statement=self.statement,
            offset=start,
            **kw,
        )
        self.findings.append(f)
        return f


class NoticeParser:
    """Finds the statements of a notice and checks them against Facts."""

    def __init__(self, facts: Facts, policy: str = "half_up"):
        if policy not in ("half_up", "truncate"):
            raise ValueError(f"unknown rounding policy {policy!r}")
        self.facts = facts
        self.policy = policy
        names: dict[str, str] = {}
        for tid in facts.tiers:
            for s in (facts.tier_labels.get(tid, tid), *facts.tier_aliases.get(tid, ())):
                names[s.casefold()] = tid
        self._tier_names = names
        tier_alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        self._tier = rf"(?:{tier_alt})(?!\w)"
        tier_list = rf"(?P<tiers>{self._tier}(?:\s*(?:,|và|hoặc|/)\s*{self._tier})*)"
        zero = rf"không\s+có\s+{_NOUN}\s*(?:nào\s+)?{_RANKED}{tier_list}"
        flags = re.IGNORECASE
        self.re_count = re.compile(
            rf"(?<![\w/.,])(?P<n>\d{{1,4}})(?:\s*/\s*(?P<of>\d{{1,4}}))?(?![\w/.,]\d)\s+{_NOUN}\s*{_RANKED}"
            rf"(?P<tier>{self._tier})"
            rf"(?:\s*[(,]?\s*(?:chiếm\s+(?:t[ỷỉ]\s*lệ\s+)?|t[ỷỉ]\s*lệ\s+|=\s*)?{_PCT}\s*\)?)?",
            flags,
        )
        self.re_zero = re.compile(zero, flags)
        self.re_streak = re.compile(
            rf"(?:năm\s+thứ\s+(?P<n>{_INT})\s+liên\s+tiếp|(?P<n2>{_INT})\s+năm\s+liên\s+tiếp)\s+(?:mà\s+)?{zero}",
            flags,
        )
        self.re_pp = re.compile(
            rf"t[ỷỉ]\s*lệ\s+(?:số\s+)?{_NOUN}\s*{_RANKED}(?P<tier>{self._tier})[^;:.\d%]{{0,30}}?"
            rf"(?P<dir>tăng|giảm)\s+(?:thêm\s+)?(?P<pp>\d{{1,3}}(?:[.,]\d+)?)\s*(?:điểm\s+phần\s+trăm|điểm\s*%)"
            rf"{_SINCE}",
            flags,
        )
        self.re_share = re.compile(
            rf"t[ỷỉ]\s*lệ\s+(?:số\s+)?{_NOUN}\s*{_RANKED}(?P<tier>{self._tier})\s*(?:năm\s+\d{{4}}\s*)?"
            rf"(?:đạt|là|chiếm|bằng|ở\s+mức)\s+{_PCT}",
            flags,
        )
        self.re_first = re.compile(rf"(?:năm|lần)\s+đầu\s+tiên\s+(?:mà\s+)?{zero}", flags)
        self.re_since = re.compile(rf"[^;:.]{{0,40}}?{_SINCE[:-1]}", flags)
        self.re_change = re.compile(
            rf"(?P<dir>tăng|giảm)\s+(?:thêm\s+)?(?P<n>\d{{1,4}}(?:[.,]\d+)?|{_WORDNUM})\s*"
            rf"(?P<unit>điểm\s+phần\s+trăm|%|đơn\s+vị|cơ\s+quan|xã|điểm)?{_SINCE}"
            rf"|(?P<same>không\s+thay\s+đổi|giữ\s+nguyên|bằng\s+(?:với\s+)?(?:năm\s+)?(?P<cy2>\d{{4}}|năm\s+trước))"
            rf"{_SINCE.replace('cy', 'cy3')}",
            flags,
        )

    # -- entry point --------------------------------------------------------------------
    def audit_text(self, text: str, year: int | None = None) -> list[Finding]:
        text = unicodedata.normalize("NFC", text)
        # Markdown emphasis and heading marks out, keeping every offset (line numbers stay right)
        text = re.sub(r"[*_#>`]", " ", text)
        ctx = _Ctx(text, self.facts, self.policy, year or self.facts.year)
        carried: tuple[str, str] | None = None
        for start, end in _paragraphs(text):
            para = text[start:end]
            handed = self._paragraph(ctx, start, para, carried)
            # "Đối với UBND cấp xã:" sets the level of the list items under it, until the list ends
            if handed is not None:
                carried = handed
            elif not _LIST_ITEM.match(para):
                carried = None
        self._leftovers(ctx)
        self._note_share_sums(ctx.findings)
        # text order; figures of one statement stay together in the order they were checked
        order = {id(f): i for i, f in enumerate(ctx.findings)}
        ctx.findings.sort(key=lambda f: (f.offset, f.statement, order[id(f)]))
        # renumber statements in text order (stable output)
        renum: dict[int, int] = {}
        for f in ctx.findings:
            f.statement = renum.setdefault(f.statement, len(renum) + 1)
        return ctx.findings

    def _note_share_sums(self, findings: list[Finding]) -> None:
        """When a notice prints the share of every tier that has units, and one of them is
        wrong, say what the printed shares add up to (69,76 + 31,24 = 101)."""
        groups: dict[tuple, list[Finding]] = {}
        for f in findings:
            if f.figure == "share" and f.verdict != NOT_CHECKED and f.level:
                groups.setdefault((f.level, f.year), []).append(f)
        for (level, year), fs in groups.items():
            ly = self.facts.level_year(level, year)
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
                    f.note += f"; the printed shares of this level add up to {_vi_num(total)}%"

    # -- one paragraph ------------------------------------------------------------------
    def _paragraph(self, ctx: _Ctx, base: int, para: str, carried):
        # level cues with their positions (relative to the paragraph)
        cues = [(m.start(), m.lastgroup, m.group(0)) for m in _CUE_RE.finditer(para)]
        sentences = _sentences(para)
        statements = []  # (start, end, kind, match)
        taken: list[tuple[int, int]] = []

        def free(m):
            return not any(a < m.end() and m.start() < b for a, b in taken)

        for kind, rx in (
            ("pp", self.re_pp),
            ("share", self.re_share),
            ("streak", self.re_streak),
            ("first", self.re_first),
            ("zero", self.re_zero),
            ("count", self.re_count),
        ):
            for m in rx.finditer(para):
                if free(m):
                    statements.append((m.start(), m.end(), kind, m))
                    taken.append((m.start(), m.end()))
        statements.sort(key=lambda s: s[0])
        for i, (s, e, kind, m) in enumerate(statements):
            ctx.statement += 1
            nxt = statements[i + 1][0] if i + 1 < len(statements) else len(para)
            sent_start, sent_end = _sentence_of(sentences, s)
            level, cue = self._level(m.group("noun"), cues, s, e, carried)
            year, year_note = self._year(para, sent_start, s, ctx.default_year)
            # a change belongs to the statement just before it, within its clause
            clause_end = min(nxt, sent_end, _clause_end(para, e))
            change = (
                self.re_change.search(para, e, clause_end) if kind not in ("pp", "share") else None
            )
            frag_end = change.end() if change else e
            fragment = para[s:frag_end]
            ctx.consumed.append((base + s, base + frag_end))
            common = dict(level=level, level_cue=cue, year=year)
            abs_s = base + s
            if kind == "count":
                before = para[max(0, s - 25) : s]
                odd = (
                    _TOTAL_BEFORE.search(before)
                    and "reads as a total ('tổng số …'), not a count of a tier"
                ) or (
                    _MOVEMENT_AFTER.match(para, e)
                    and "a movement between tiers, not a count of a tier"
                )
                if odd:
                    self._not_checked(
                        ctx, abs_s, fragment, m, kind, change, dict(common, level=None), odd
                    )
                    continue
                q = _QUALIFIER.search(before)
                cb = _CHANGE_BEFORE.search(before)
                if q or cb:
                    # "trên 30 đơn vị" is not a count; "tăng 03 đơn vị xếp hạng Tốt" is a change
                    start = s - len((q or cb).group(0))
                    ctx.consumed.append((base + start, base + frag_end))
                    abs_s, fragment = base + start, para[start:frag_end]
                    if q or level not in self._checkable_levels():
                        reason = (
                            f"an approximate figure ('{_collapse(q.group(0))} {m.group('n')}')"
                            if q
                            else self._unresolved_reason(level, m)
                        )
                        known = level in self._checkable_levels()
                        self._not_checked(
                            ctx,
                            abs_s,
                            fragment,
                            m,
                            kind,
                            None if cb else change,
                            dict(common, level=level if known else None),
                            reason,
                        )
                        continue
                    tier = self._tier_id(m.group("tier"))
                    claimed = _num(m.group("n")) * (-1 if cb.group("dir").lower() == "giảm" else 1)
                    tail = self.re_since.match(para, e)
                    cy = tail.group("cy") if tail and tail.group("cy") else None
                    self._check_change(
                        ctx,
                        abs_s,
                        fragment,
                        _collapse(fragment),
                        claimed,
                        cy,
                        [tier],
                        kind,
                        common,
                        year_note,
                    )
                    continue
            if year_note:
                self._not_checked(ctx, abs_s, fragment, m, kind, change, common, year_note)
                continue
            if level is None or level not in self._checkable_levels():
                self._not_checked(
                    ctx,
                    abs_s,
                    fragment,
                    m,
                    kind,
                    change,
                    dict(common, level=None),
                    self._unresolved_reason(level, m),
                )
                continue
            if kind == "pp":
                self._check_pp(ctx, abs_s, fragment, m, common)
                continue
            if kind == "share":
                tier = self._tier_id(m.group("tier"))
                ly = self.facts.level_year(level, year)
                if ly is None:
                    self._not_checked(
                        ctx,
                        abs_s,
                        fragment,
                        m,
                        kind,
                        None,
                        common,
                        f"no {_level_name(level)} data for {year}",
                    )
                else:
                    self._check_share(
                        ctx,
                        abs_s,
                        fragment,
                        m.group("pct"),
                        ly.counts.get(tier, 0),
                        ly.total,
                        tier,
                        common,
                    )
                continue
            if kind == "count":
                tier = self._tier_id(m.group("tier"))
                self._check_count(ctx, abs_s, fragment, m, tier, common)
                tiers = [tier]
            elif kind == "zero":
                tiers = self._tier_ids(m.group("tiers"))
                for t in tiers:
                    self._check_zero(ctx, abs_s, fragment, t, m.group(0), common)
            else:
                tiers = self._tier_ids(m.group("tiers"))
                if kind == "streak":
                    self._check_streak(ctx, abs_s, fragment, m, tiers, common)
                else:
                    self._check_first(ctx, abs_s, fragment, m, tiers, common)
            if change:
                self._change_from_match(ctx, abs_s, fragment, change, tiers, kind, common)
        self._satisfaction(ctx, base, para, sentences)
        # a paragraph ending with ":" hands its last level cue to the next paragraph (lists)
        if para.rstrip().endswith(":") and cues:
            last = cues[-1]
            return (last[1], _collapse(last[2]))
        return None

    def _figure_texts(self, m, kind, change) -> list[tuple[str, str, str | None, str | None]]:
        """(figure, text as printed, claimed value, tier) of every figure of a statement, for
        statements that cannot be checked."""
        out: list[tuple[str, str, str | None, str | None]] = []
        if kind == "count":
            tier = self._tier_id(m.group("tier"))
            out.append(("count", m.group("n"), str(_num(m.group("n"))), tier))
            if m.group("of"):
                out.append(("total", m.group("of"), str(_num(m.group("of"))), None))
            if m.group("pct"):
                out.append(("share", m.group("pct") + "%", str(_pct_decimal(m.group("pct"))), tier))
        elif kind == "share":
            out.append(
                (
                    "share",
                    m.group("pct") + "%",
                    str(_pct_decimal(m.group("pct"))),
                    self._tier_id(m.group("tier")),
                )
            )
        elif kind == "pp":
            sign = "-" if m.group("dir").lower() == "giảm" else "+"
            out.append(
                (
                    "change_pp",
                    _collapse(m.group(0)[m.start("dir") - m.start() :]),
                    sign + str(_pct_decimal(m.group("pp"))),
                    self._tier_id(m.group("tier")),
                )
            )
        elif kind == "zero":
            out += [
                ("count", f"không có … {self._label(t)}", "0", t)
                for t in self._tier_ids(m.group("tiers"))
            ]
        elif kind == "streak":
            n_text = m.group("n") or m.group("n2")
            out.append(
                (
                    "streak",
                    _collapse(m.group(0).split("liên")[0]) + " liên tiếp",
                    str(_num(n_text)),
                    "+".join(self._tier_ids(m.group("tiers"))),
                )
            )
        else:
            out.append(
                ("first_year", "năm đầu tiên", None, "+".join(self._tier_ids(m.group("tiers"))))
            )
        if change:
            out.append(("change", _collapse(change.group(0)), None, None))
        return out

    def _not_checked(self, ctx, abs_s, fragment, m, kind, change, common, reason):
        for figure, text, claimed, tier in self._figure_texts(m, kind, change):
            ctx.add(
                abs_s,
                fragment,
                figure=figure,
                text=text,
                claimed=claimed,
                computed=None,
                verdict=NOT_CHECKED,
                note=reason,
                tier=tier,
                **common,
            )

    def _checkable_levels(self) -> set[str]:
        return set(self.facts.history)

    def _unresolved_reason(self, level, m) -> str:
        noun = _collapse(m.group("noun") or "")
        if level == "group":
            return f"about a group of units ('{noun}') for which no figures are computed"
        if level == "other":
            return f"'{noun}' are not units ranked in the PAR index"
        if level is not None:
            return f"no figures for {_level_name(level)}"
        return "level not clear from the text (no 'cơ quan, đơn vị' / 'cấp xã' cue before it)"

    # -- level and year -----------------------------------------------------------------
    def _level(self, noun: str | None, cues, pos: int, end: int, carried):
        n = _collapse(noun or "").casefold()
        n = re.sub(r"^(?:các|có|gồm|trong đó|với|và)\s+", "", n)
        if n not in _GENERIC_NOUNS:
            if _COMMUNE_NOUN.match(n):
                return "commune", n
            if _PROVINCIAL_NOUN.match(n):
                return "provincial", n
            gid = self._group_of(n)
            if gid:
                return f"group:{gid}", n
            if _GROUP_NOUN.search(n):
                return "group", n
            return "other", n
        before = [c for c in cues if c[0] < pos]
        if before:
            return before[-1][1], _collapse(before[-1][2])
        if carried:
            return carried
        own = [c for c in cues if pos <= c[0] < end]  # "13 cơ quan, đơn vị xếp hạng Khá" on its own
        if own:
            return own[0][1], _collapse(own[0][2])
        return None, None

    def _group_of(self, noun: str) -> str | None:
        """The provincial group a noun names ("sở, ban, ngành" -> so_ban_nganh), when the
        metrics have tier counts for it."""
        words = set(re.findall(r"\w+", noun))
        for gid, label in self.facts.groups.items():
            if f"group:{gid}" not in self.facts.history:
                continue
            lw = re.findall(r"\w+", label.casefold())
            if noun == label.casefold() or (lw and set(lw) <= words and len(words) <= len(lw) + 1):
                return gid
        return None

    def _year(self, para: str, sent_start: int, pos: int, default: int) -> tuple[int, str]:
        years = [int(m.group("y")) for m in _YEAR_RE.finditer(para, sent_start, pos)]
        year = years[-1] if years else default
        if year != default and not any(
            self.facts.level_year(lv, year) for lv in self.facts.history
        ):
            return year, f"speaks of {year}; no data for that year"
        return year, ""

    def _tier_id(self, s: str) -> str:
        return self._tier_names[s.casefold()]

    def _tier_ids(self, s: str) -> list[str]:
        return [self._tier_id(x.group(0)) for x in re.finditer(self._tier, s, re.IGNORECASE)]

    def _label(self, tid: str) -> str:
        return self.facts.tier_labels.get(tid, tid)

    # -- checks -------------------------------------------------------------------------
    def _rounding_verdict(
        self, claimed: Decimal, exact: Decimal, decimals: int
    ) -> tuple[str, Decimal]:
        """ok under the expected rule; ok (truncated/rounded) under the other one; else WRONG.
        Returns the verdict and the value under the expected rule."""
        other_policy = "truncate" if self.policy == "half_up" else "half_up"
        main = round_decimal(exact, decimals, self.policy)
        if claimed == main:
            return OK, main
        if claimed == round_decimal(exact, decimals, other_policy):
            return (OK_TRUNCATED if self.policy == "half_up" else OK_ROUNDED), main
        return WRONG, main

    def _check_count(self, ctx, abs_s, fragment, m, tier, common):
        ly = self.facts.level_year(common["level"], common["year"])
        if ly is None:
            ctx.add(
                abs_s,
                fragment,
                figure="count",
                text=m.group("n"),
                claimed=str(_num(m.group("n"))),
                computed=None,
                verdict=NOT_CHECKED,
                note=f"no {_level_name(common['level'])} data for {common['year']}",
                tier=tier,
                **common,
            )
            return
        claimed = _num(m.group("n"))
        actual = ly.counts.get(tier, 0)
        ctx.add(
            abs_s,
            fragment,
            figure="count",
            text=m.group("n"),
            claimed=str(claimed),
            computed=str(actual),
            verdict=OK if claimed == actual else WRONG,
            note="" if claimed == actual else f"{actual} units ranked {self._label(tier)}",
            tier=tier,
            **common,
        )
        if m.group("of"):
            of = _num(m.group("of"))
            ctx.add(
                abs_s,
                fragment,
                figure="total",
                text=m.group("of"),
                claimed=str(of),
                computed=str(ly.total),
                verdict=OK if of == ly.total else WRONG,
                note="" if of == ly.total else f"{ly.total} units ranked in {common['year']}",
                tier=None,
                **common,
            )
        if m.group("pct"):
            printed = (claimed, _num(m.group("of")) if m.group("of") else ly.total)
            self._check_share(
                ctx, abs_s, fragment, m.group("pct"), actual, ly.total, tier, common, printed
            )

    def _check_share(
        self, ctx, abs_s, fragment, pct_text, count, total, tier, common, printed=None
    ):
        claimed = _pct_decimal(pct_text)
        decimals = len(pct_text.replace(",", ".").partition(".")[2])
        with localcontext() as lc:
            lc.prec = 40
            exact = Decimal(count) * 100 / Decimal(total) if total else Decimal(0)
        verdict, main = self._rounding_verdict(claimed, exact, decimals)
        exact_s = _vi_num(round_decimal(exact, decimals + 3, "truncate")) + "…"
        if verdict == OK:
            note = ""
        elif verdict != WRONG:
            how = "truncated" if self.policy == "half_up" else "rounded half-up"
            note = f"{count}/{total} = {exact_s}%, {how} to {decimals} decimals"
        else:
            note = f"{count}/{total} = {exact_s}%"
            if printed and printed != (count, total) and printed[1]:
                with localcontext() as lc:
                    lc.prec = 40
                    p_exact = Decimal(printed[0]) * 100 / Decimal(printed[1])
                if claimed in (
                    round_decimal(p_exact, decimals, "half_up"),
                    round_decimal(p_exact, decimals, "truncate"),
                ):
                    note += f"; {_vi_num(claimed)}% is the share of the printed {printed[0]}/{printed[1]}"
        ctx.add(
            abs_s,
            fragment,
            figure="share",
            text=pct_text + "%",
            claimed=str(claimed),
            computed=str(main),
            verdict=verdict,
            note=note,
            tier=tier,
            **common,
        )

    def _check_pp(self, ctx, abs_s, fragment, m, common):
        """ "tỷ lệ đơn vị xếp hạng Tốt tăng 2,21 điểm phần trăm so với năm 2021": the change of a
        tier's share in percentage points, exactly, compared at the printed decimals."""
        level, year = common["level"], common["year"]
        tier = self._tier_id(m.group("tier"))
        pp_text = m.group("pp")
        sign = -1 if m.group("dir").lower() == "giảm" else 1
        claimed = sign * _pct_decimal(pp_text)
        decimals = len(pp_text.replace(",", ".").partition(".")[2])
        cy = m.group("cy")
        since = int(cy) if cy and cy.isdigit() else year - 1
        text = _collapse(m.group(0)[m.start("dir") - m.start() :])
        now, before = self.facts.level_year(level, year), self.facts.level_year(level, since)
        if now is None or before is None or not now.total or not before.total:
            ctx.add(
                abs_s,
                fragment,
                figure="change_pp",
                text=text,
                claimed=str(claimed),
                computed=None,
                verdict=NOT_CHECKED,
                note=f"no {_level_name(level)} data for {year if now is None else since}",
                tier=tier,
                **common,
            )
            return
        with localcontext() as lc:
            lc.prec = 40
            exact = Decimal(now.counts.get(tier, 0)) * 100 / Decimal(now.total) - Decimal(
                before.counts.get(tier, 0)
            ) * 100 / Decimal(before.total)
        verdict, main = self._rounding_verdict(claimed, exact, decimals)
        note = (
            f"{now.counts.get(tier, 0)}/{now.total} in {year} − {before.counts.get(tier, 0)}/{before.total} "
            f"in {since} = {_vi_num(round_decimal(exact, decimals + 3, 'truncate'))}… points"
        )
        ctx.add(
            abs_s,
            fragment,
            figure="change_pp",
            text=text,
            claimed=str(claimed),
            computed=str(main),
            verdict=verdict,
            note=note,
            tier=tier,
            **common,
        )

    def _check_zero(self, ctx, abs_s, fragment, tier, text, common):
        ly = self.facts.level_year(common["level"], common["year"])
        if ly is None:
            ctx.add(
                abs_s,
                fragment,
                figure="count",
                text="không có",
                claimed="0",
                computed=None,
                verdict=NOT_CHECKED,
                note=f"no {_level_name(common['level'])} data for {common['year']}",
                tier=tier,
                **common,
            )
            return
        actual = ly.counts.get(tier, 0)
        ctx.add(
            abs_s,
            fragment,
            figure="count",
            text=f"không có … {self._label(tier)}",
            claimed="0",
            computed=str(actual),
            verdict=OK if actual == 0 else WRONG,
            note="" if actual == 0 else f"{actual} units ranked {self._label(tier)}",
            tier=tier,
            **common,
        )

    def _zero_years(self, level: str, tiers: list[str]) -> dict[int, bool]:
        return {
            y: sum(ly.counts.get(t, 0) for t in tiers) == 0
            for y, ly in (self.facts.history.get(level) or {}).items()
        }

    def _check_streak(self, ctx, abs_s, fragment, m, tiers, common):
        n_text = m.group("n") or m.group("n2")
        claimed = _num(n_text)
        level, year = common["level"], common["year"]
        zero = self._zero_years(level, tiers)
        labels = ", ".join(self._label(t) for t in tiers)
        tier_key = "+".join(tiers)
        text = _collapse(m.group(0)[: m.start("noun") - m.start()].rsplit("không", 1)[0])
        if year not in zero:
            ctx.add(
                abs_s,
                fragment,
                figure="streak",
                text=text,
                claimed=str(claimed),
                computed=None,
                verdict=NOT_CHECKED,
                note=f"no {_level_name(level)} data for {year}",
                tier=tier_key,
                **common,
            )
            return
        streak, y = 0, year
        while zero.get(y):
            streak += 1
            y -= 1
        bounded = y in zero  # the streak ends at a year with data (not at the start of the data)
        first_data = min(zero)
        if claimed == streak and bounded:
            verdict, note = OK, f"none ranked {labels} in {year - streak + 1}–{year}; {y} had some"
        elif claimed == streak or (claimed > streak and not bounded):
            verdict = NOT_CHECKED
            note = f"the data start in {first_data}: at least {streak} years without {labels}, earlier years unknown"
        else:
            verdict = WRONG
            note = (
                f"{year} has units ranked {labels}"
                if streak == 0
                else f"none ranked {labels} in {year - streak + 1}–{year}"
                + (f"; {y} had some" if bounded else f" (data start in {first_data})")
            )
        ctx.add(
            abs_s,
            fragment,
            figure="streak",
            text=text,
            claimed=str(claimed),
            computed=str(streak),
            verdict=verdict,
            note=note,
            tier=tier_key,
            **common,
        )

    def _check_first(self, ctx, abs_s, fragment, m, tiers, common):
        level, year = common["level"], common["year"]
        zero = self._zero_years(level, tiers)
        labels = ", ".join(self._label(t) for t in tiers)
        tier_key = "+".join(tiers)
        text = "năm đầu tiên" if "năm" in m.group(0)[:5].lower() else "lần đầu tiên"
        if year not in zero:
            ctx.add(
                abs_s,
                fragment,
                figure="first_year",
                text=text,
                claimed=str(year),
                computed=None,
                verdict=NOT_CHECKED,
                note=f"no {_level_name(level)} data for {year}",
                tier=tier_key,
                **common,
            )
            return
        earlier_zero = sorted(y for y, z in zero.items() if z and y < year)
        first = earlier_zero[0] if earlier_zero else (year if zero[year] else None)
        earlier = sorted(y for y in zero if y < year)
        if not zero[year]:
            verdict, note = WRONG, f"{year} has units ranked {labels}"
        elif earlier_zero:
            verdict, note = (
                WRONG,
                f"also none ranked {labels} in {', '.join(map(str, earlier_zero))}",
            )
        elif not earlier:
            verdict, note = NOT_CHECKED, f"no data before {year}"
        else:
            verdict, note = (
                OK,
                f"every year {earlier[0]}–{earlier[-1]} had units ranked {labels} (data start in {earlier[0]})",
            )
        ctx.add(
            abs_s,
            fragment,
            figure="first_year",
            text=text,
            claimed=str(year),
            computed=str(first) if first is not None else "none",
            verdict=verdict,
            note=note,
            tier=tier_key,
            **common,
        )

    def _change_from_match(self, ctx, abs_s, fragment, change, tiers, kind, common):
        text = _collapse(change.group(0))
        cy = change.group("cy") or change.group("cy2") or change.group("cy3")
        if change.group("same"):
            claimed = 0
        else:
            unit = (change.group("unit") or "").lower()
            n_text = change.group("n")
            if unit in ("%", "điểm") or "phần trăm" in unit or re.search(r"[.,]", n_text):
                ctx.add(
                    abs_s,
                    fragment,
                    figure="change",
                    text=text,
                    claimed=None,
                    computed=None,
                    verdict=NOT_CHECKED,
                    note="changes in percent or points are not checked, only changes in units",
                    tier="+".join(tiers),
                    **common,
                )
                return
            claimed = _num(n_text) * (-1 if change.group("dir").lower() == "giảm" else 1)
        self._check_change(ctx, abs_s, fragment, text, claimed, cy, tiers, kind, common)

    def _check_change(
        self, ctx, abs_s, fragment, text, claimed, cy_text, tiers, kind, common, year_note=""
    ):
        level, year = common["level"], common["year"]
        if cy_text and cy_text.isdigit():
            since, since_note = int(cy_text), ""
        else:
            since, since_note = year - 1, "" if cy_text else f"against {year - 1} (no year printed)"
        tier_key = "+".join(tiers)
        if len(tiers) != 1 or kind not in ("count", "zero"):
            ctx.add(
                abs_s,
                fragment,
                figure="change",
                text=text,
                claimed=_signed(claimed),
                computed=None,
                verdict=NOT_CHECKED,
                note="a change must follow a single tier's count",
                tier=tier_key,
                **common,
            )
            return
        tier = tiers[0]
        now, before = self.facts.level_year(level, year), self.facts.level_year(level, since)
        if year_note or now is None or before is None:
            missing = year if now is None else since
            ctx.add(
                abs_s,
                fragment,
                figure="change",
                text=text,
                claimed=_signed(claimed),
                computed=None,
                verdict=NOT_CHECKED,
                note=year_note or f"no {_level_name(level)} data for {missing}",
                tier=tier,
                **common,
            )
            return
        actual = now.counts.get(tier, 0) - before.counts.get(tier, 0)
        detail = f"{before.counts.get(tier, 0)} in {since} → {now.counts.get(tier, 0)} in {year}"
        ctx.add(
            abs_s,
            fragment,
            figure="change",
            text=text,
            claimed=_signed(claimed),
            computed=_signed(actual),
            verdict=OK if claimed == actual else WRONG,
            note="; ".join(x for x in (detail, since_note) if x),
            tier=tier,
            **common,
        )

    # -- satisfaction -------------------------------------------------------------------
    _SAT_CUE = re.compile(r"hài\s+lòng", re.IGNORECASE)
    _SAT_LEAD = re.compile(
        r"(?:chỉ\s+số|mức\s+độ|tỷ\s+lệ|tỉ\s+lệ)\s+(?:sự\s+)?hài\s+lòng", re.IGNORECASE
    )
    _TARGET = re.compile(
        rf"mục\s+tiêu(?:\s+(?:đề\s+ra|đặt\s+ra|của\s+tỉnh|năm\s+\d{{4}}))?(?:\s+(?:là|đạt|ở\s+mức))?\s*{_PCT}",
        re.IGNORECASE,
    )
    _VALUE = re.compile(rf"(?:đạt|là|bằng|ở\s+mức)\s+(?:mức\s+)?{_PCT}", re.IGNORECASE)
    _GAP = re.compile(
        r"(?P<dir>thấp\s+hơn|cao\s+hơn|thiếu|hụt|vượt|chưa\s+đạt)\s+(?:so\s+với\s+)?(?:mục\s+tiêu\s+)?"
        r"(?:đề\s+ra\s+)?(?P<pp>\d{1,2}(?:[.,]\d+)?)\s*(?:điểm\s+phần\s+trăm|điểm\s*%|điểm|%)",
        re.IGNORECASE,
    )
    _MET = re.compile(
        r"(?P<neg>chưa\s+|không\s+)?(?:đạt|vượt)(?:\s+và\s+vượt)?\s+(?:chỉ\s+tiêu|mục\s+tiêu)",
        re.IGNORECASE,
    )
    _SAT_GROUPS = [
        ("so_ban_nganh", r"khối\s+(?:các\s+)?(?:cơ\s+quan\s+)?sở|sở,\s*ban,\s*ngành|các\s+sở"),
        ("ubnd_cap_huyen", r"cấp\s+huyện|khối\s+(?:ubnd\s+)?huyện"),
        ("xa", r"cấp\s+xã|khối\s+(?:ubnd\s+)?xã"),
    ]

    def _satisfaction(self, ctx: _Ctx, base: int, para: str, sentences):
        for s0, s1 in sentences:
            sent = para[s0:s1]
            if not self._SAT_CUE.search(sent):
                continue
            year, year_note = self._year(para, s0, s1, ctx.default_year)
            if year != ctx.default_year:
                year_note = (
                    year_note
                    or f"speaks of {year}; satisfaction is checked for {ctx.default_year} only"
                )
            targets = list(self._TARGET.finditer(sent))
            in_target = [(t.start(), t.end()) for t in targets]
            values = [
                v
                for v in self._VALUE.finditer(sent)
                if not any(a <= v.start("pct") < b for a, b in in_target)
            ]
            gaps = list(self._GAP.finditer(sent))
            in_gap = [(g.start(), g.end()) for g in gaps]
            values = [v for v in values if not any(a <= v.start("pct") < b for a, b in in_gap)]
            targets = [t for t in targets if not any(a <= t.start("pct") < b for a, b in in_gap)]
            mets = list(self._MET.finditer(sent))
            if not (targets or values or mets or gaps):
                continue
            for t in targets:
                ctx.consumed.append((base + s0 + t.start(), base + s0 + t.end()))
            for v in (*values, *gaps):
                ctx.consumed.append((base + s0 + v.start(), base + s0 + v.end()))
            # one statement per "chỉ số / mức độ hài lòng ...": a figure belongs to the nearest before it
            leads = [c.start() for c in self._SAT_LEAD.finditer(sent)]
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
            whole_group = self._sat_group(sent)
            for f0, part in sorted(parts.items()):
                last = max(x.end() for _, x in part)
                own_group = self._sat_group(sent[f0:last])
                group, cue = own_group if own_group[0] else whole_group
                self._sat_statement(
                    ctx, base + s0 + f0, sent[f0:last], part, group, cue, year, year_note
                )

    def _sat_statement(self, ctx, abs_s, fragment, part, group, cue, year, year_note):
        sat = self.facts.satisfaction
        ctx.statement += 1
        common = dict(level="satisfaction", level_cue=cue, year=year)
        for kind, x in part:
            if kind == "value":
                self._check_pct(
                    ctx,
                    abs_s,
                    fragment,
                    "satisfaction",
                    x.group("pct"),
                    None if sat is None else sat.value,
                    group,
                    sat,
                    year_note,
                    common,
                )
            elif kind == "target":
                self._check_pct(
                    ctx,
                    abs_s,
                    fragment,
                    "target",
                    x.group("pct"),
                    None if sat is None else sat.target,
                    group,
                    sat,
                    year_note,
                    common,
                )
            elif kind == "gap":
                self._check_gap(ctx, abs_s, fragment, x, sat, group, year_note, common)
            else:
                claimed = not x.group("neg")
                text = _collapse(x.group(0))
                note = year_note or self._sat_unavailable(sat, group, "met", cue)
                if note:
                    ctx.add(
                        abs_s,
                        fragment,
                        figure="target_met",
                        text=text,
                        claimed=_yesno(claimed),
                        computed=None,
                        verdict=NOT_CHECKED,
                        note=note,
                        **common,
                    )
                    continue
                ctx.add(
                    abs_s,
                    fragment,
                    figure="target_met",
                    text=text,
                    claimed=_yesno(claimed),
                    computed=_yesno(sat.met),
                    verdict=OK if claimed == sat.met else WRONG,
                    note=f"{_vi_num(sat.value, 2)}% against a target of {_vi_num(sat.target)}%",
                    **common,
                )

    def _check_gap(self, ctx, abs_s, fragment, g, sat, group, year_note, common):
        pp_text = g.group("pp")
        sign = 1 if g.group("dir").lower() in ("cao hơn", "vượt") else -1
        claimed = sign * _pct_decimal(pp_text)
        decimals = len(pp_text.replace(",", ".").partition(".")[2])
        text = _collapse(g.group(0))
        note = year_note or self._sat_unavailable(sat, group, "met", common["level_cue"])
        if note:
            ctx.add(
                abs_s,
                fragment,
                figure="gap",
                text=text,
                claimed=str(claimed),
                computed=None,
                verdict=NOT_CHECKED,
                note=note,
                **common,
            )
            return
        gap = Decimal(repr(sat.value)) - Decimal(repr(sat.target))
        verdict, main = self._rounding_verdict(claimed, gap, decimals)
        ctx.add(
            abs_s,
            fragment,
            figure="gap",
            text=text,
            claimed=str(claimed),
            computed=str(main),
            verdict=verdict,
            note=f"{_vi_num(sat.value, 2)}% − {_vi_num(sat.target)}% (points)",
            **common,
        )

    def _sat_group(self, sent: str) -> tuple[str | None, str | None]:
        found = []
        for gid, rx in self._SAT_GROUPS:
            for m in re.finditer(rx, sent, re.IGNORECASE):
                found.append((m.start(), gid, _collapse(m.group(0))))
        if not found:
            return None, None
        found.sort()
        gid, cue = found[-1][1], found[-1][2]
        # "cơ quan hành chính nhà nước ... khối cơ quan Sở": the most specific (last) cue wins
        return gid, cue

    def _sat_unavailable(
        self, sat: SatisfactionFacts | None, group: str | None, what: str, cue: str | None = None
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
            return (
                f"satisfaction of '{self.facts.groups.get(group) or cue or group}' is not computed "
                f"(only {sat.group_label or sat.group})"
            )
        return ""

    def _check_pct(
        self, ctx, abs_s, fragment, figure, pct_text, actual, group, sat, year_note, common
    ):
        claimed = _pct_decimal(pct_text)
        decimals = len(pct_text.replace(",", ".").partition(".")[2])
        note = year_note or self._sat_unavailable(
            sat, group, "target" if figure == "target" else "value", common["level_cue"]
        )
        if note or actual is None:
            ctx.add(
                abs_s,
                fragment,
                figure=figure,
                text=pct_text + "%",
                claimed=str(claimed),
                computed=None,
                verdict=NOT_CHECKED,
                note=note or "no value",
                **common,
            )
            return
        verdict, main = self._rounding_verdict(claimed, actual, decimals)
        note = ""
        if verdict not in (OK, WRONG):
            note = f"{_vi_num(round_decimal(actual, decimals + 3, 'truncate'))}… cut to {decimals} decimals"
        ctx.add(
            abs_s,
            fragment,
            figure=figure,
            text=pct_text + "%",
            claimed=str(claimed),
            computed=str(main),
            verdict=verdict,
            note=note,
            **common,
        )

    # -- everything else that looks like a figure ----------------------------------------
    _LEFTOVERS = [
        ("percentage", re.compile(r"(?<![\w/.,])\d{1,3}(?:[.,]\d+)?\s*%")),
        (
            "count",
            re.compile(
                r"(?<![\w/.,])\d{1,4}\s*/\s*\d{1,4}(?![\w/.,]\d)(?=\s+(?:cơ\s+quan|đơn\s+vị|xã|sở|ubnd|"
                r"phường|huyện|địa\s+phương))",
                re.IGNORECASE,
            ),
        ),
        (
            "count",
            re.compile(
                r"(?<!năm\s)(?<![\w/.,])(?!(?:19|20)\d\d\b)\d{1,4}\s+(?:cơ\s+quan,\s*)?đơn\s+vị(?!\s+(?:hành\s+chính|sự\s+nghiệp))",
                re.IGNORECASE,
            ),
        ),
        (
            "count",
            re.compile(
                r"(?<!năm\s)(?<![\w/.,])(?!(?:19|20)\d\d\b)\d{1,4}\s+(?:xã|phường|sở|cơ\s+quan|ubnd|huyện)(?!\w)",
                re.IGNORECASE,
            ),
        ),
        (
            "change",
            re.compile(
                r"(?:tăng|giảm)\s+(?:thêm\s+)?\d{1,4}(?:[.,]\d+)?(?:\s*%|\s+đơn\s+vị|\s+điểm)?",
                re.IGNORECASE,
            ),
        ),
        (
            "streak",
            re.compile(
                rf"năm\s+thứ\s+{_INT}\s+liên\s+tiếp|{_INT}\s+năm\s+liên\s+tiếp", re.IGNORECASE
            ),
        ),
        ("first_year", re.compile(r"(?:năm|lần)\s+đầu\s+tiên", re.IGNORECASE)),
        (
            "points",
            re.compile(r"(?<![\w/.,])\d{1,3}(?:[.,]\d+)?\s*điểm(?:\s+phần\s+trăm)?", re.IGNORECASE),
        ),
    ]

    def _leftovers(self, ctx: _Ctx):
        hits: list[tuple[int, int, str]] = []
        for figure, rx in self._LEFTOVERS:
            for m in rx.finditer(ctx.text):
                if ctx.is_consumed(m.start()) or any(
                    a < m.end() and m.start() < b for a, b, _ in hits
                ):
                    continue
                hits.append((m.start(), m.end(), figure))
        for s, e, figure in sorted(hits):
            ctx.statement += 1
            frag = _surrounding(ctx.text, s, e)
            num = re.search(r"\d+(?:[.,]\d+)?(?:\s*/\s*\d+)?", ctx.text[s:e])
            claimed = re.sub(r"\s+", "", num.group(0)).replace(",", ".") if num else None
            ctx.add(
                s,
                frag,
                figure=figure,
                text=_collapse(ctx.text[s:e]),
                claimed=claimed,
                computed=None,
                verdict=NOT_CHECKED,
                note="not a recognised statement",
            )


def _level_name(level: str | None) -> str:
    if level and level.startswith("group:"):
        return f"group {level[6:]}"
    return LEVEL_NAMES.get(level or "", "level unknown")


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def _yesno(b: bool | None) -> str:
    return "met" if b else "not met"


def _paragraphs(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each paragraph: blocks separated by blank lines; list items
    ("- ", "+ ", "1. ") on their own lines are paragraphs of their own."""
    pos = 0
    for m in re.finditer(r"\n[ \t]*\n|\n(?=[ \t]*(?:[-+•]\s|\d+[.)]\s))", text):
        if text[pos : m.start()].strip():
            yield pos, m.start()
        pos = m.end()
    if text[pos:].strip():
        yield pos, len(text)


def _sentences(para: str) -> list[tuple[int, int]]:
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


def _sentence_of(sentences, pos: int) -> tuple[int, int]:
    for s, e in sentences:
        if s <= pos < e:
            return s, e
    return sentences[-1]


def _clause_end(para: str, pos: int) -> int:
    m = re.compile(r"[;:]").search(para, pos)
    return m.start() if m else len(para)


def _surrounding(text: str, s: int, e: int, width: int = 60) -> str:
    a = max(text.rfind("\n", 0, s) + 1, s - width)
    b_nl = text.find("\n", e)
    b = min(b_nl if b_nl >= 0 else len(text), e + width)
    frag = text[a:b]
    return (
        ("…" if a > 0 and text[a - 1] != "\n" else "")
        + _collapse(frag)
        + ("…" if b < len(text) and text[b] != "\n" else "")
    )


# ---------------------------------------------------------------------------------------
# Facts from the project's data
# ---------------------------------------------------------------------------------------
def load_facts(
    year: int, paths=None, province: str | None = None, rounding: str | None = None
) -> Facts:
    """Facts for `year` from `par_review.metrics.compute_metrics` (which reads every
    processed year up to `year`). Raises FileNotFoundError when `year` is not processed."""
    from ..config import load_config
    from ..metrics.compute import compute_metrics
    from ..paths import Paths

    paths = (paths or Paths.from_root()).of(province)
    province = paths.province
    cfg = load_config(province, paths)
    return facts_from_metrics(compute_metrics(year, paths, province, rounding), cfg)


def audit_text(
    text: str, facts: Facts, policy: str = "half_up", year: int | None = None
) -> list[Finding]:
    return NoticeParser(facts, policy).audit_text(text, year)


def audit_file(
    path: str | Path,
    year: int,
    paths=None,
    province: str | None = None,
    rounding: str | None = None,
    facts: Facts | None = None,
) -> AuditResult:
    """Read a notice and check its figures against the data for `year`."""
    from ..config import load_config

    text = read_notice(path)
    policy = rounding
    if policy is None:
        try:
            policy = load_config(province, paths).rounding.get("policy", "half_up")
        except Exception:
            policy = "half_up"
    if facts is None:
        facts = load_facts(year, paths, province)
    findings = audit_text(text, facts, policy, year)
    return AuditResult(
        source=str(path),
        year=year,
        province=province,
        rounding=policy,
        findings=findings,
        tier_labels=dict(facts.tier_labels),
    )


# ---------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------
def format_text(result: AuditResult, width: int = 110) -> str:
    """The report a person reads: each statement with its line and level, then one line per
    figure (claimed, computed, verdict, why), then the summary line."""
    rule = "rounded half-up" if result.rounding == "half_up" else "truncated"
    out = [
        f"Audit of {result.source} against the {result.year} data ({result.province}; "
        f"shares expected {rule} to the printed decimals)",
        "",
    ]
    current = None
    for f in result.findings:
        if f.statement != current:
            current = f.statement
            if current != result.findings[0].statement:
                out.append("")
            where = _level_name(f.level) if f.level else "level unknown"
            cue = f" (from “{f.level_cue}”)" if f.level_cue else ""
            yr = f", {f.year}" if f.year and f.year != result.year else ""
            out.append(f"line {f.line} · {where}{yr}{cue}")
            frag = f.fragment if len(f.fragment) <= width else f.fragment[: width - 1] + "…"
            out.append(f"  “{frag}”")
        claimed = "–" if f.claimed is None else _show(f.claimed, f.figure)
        computed = "–" if f.computed is None else _show(f.computed, f.figure)
        label = _figure_label(f, result.tier_labels)
        line = f"    {label:<30} claimed {claimed:<10} computed {computed:<10} {f.verdict}"
        if f.note:
            line += f" — {f.note}"
        out.append(line.rstrip())
    if not result.findings:
        out.append("no figures found")
    out += ["", result.summary()]
    return "\n".join(out) + "\n"


_FIGURE_NAMES = {
    "change_pp": "change (points)",
    "count": "count",
    "total": "total",
    "share": "share",
    "change": "change",
    "streak": "years in a row",
    "first_year": "first year",
    "satisfaction": "satisfaction",
    "target": "target",
    "target_met": "target met",
    "percentage": "percentage",
    "gap": "gap to target",
    "points": "points",
    "zero": "count",
    "first": "first year",
}


def _figure_label(f: Finding, tier_labels: Mapping[str, str]) -> str:
    name = _FIGURE_NAMES.get(f.figure, f.figure)
    if not f.tier:
        return name
    tiers = ", ".join(tier_labels.get(t, t) for t in f.tier.split("+"))
    if f.figure in ("streak", "first_year"):
        return f"{name}, no {tiers}"
    return f"{name} {tiers}"


def _show(v: str, figure: str) -> str:
    """A claimed/computed value as a Vietnamese reader expects it: "69,76%", "+3", "−5"."""
    if re.fullmatch(r"[+-]?\d+(?:\.\d+)?", v):
        text = v.replace(".", ",").replace("-", "−")
        if figure in ("share", "satisfaction", "target", "percentage"):
            text += "%"
        return text
    return v


def format_json(result: AuditResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------------------------
# CLI (wired by par_review.cli)
# ---------------------------------------------------------------------------------------
def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the notice: .txt, .md or .docx (Vietnamese)")
    parser.add_argument(
        "--year", type=int, required=True, help="the year the notice reports on (e.g. 2022)"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    parser.add_argument(
        "--rounding",
        choices=("half_up", "truncate"),
        default=None,
        help="the rounding rule the notice is expected to follow for shares (default: the "
        "province config's; a share that matches only under the other rule is "
        "'ok (truncated)' / 'ok (rounded)')",
    )


def _ensure_processed(paths, year: int, province: str) -> None:
    """Clean every raw year up to `year` whose processed tables are missing."""
    from ..clean.tables import clean_year

    for y in paths.raw_years():
        if y <= year and not (paths.processed_year(y) / "provincial.csv").is_file():
            print(
                f"audit: {paths.rel(paths.processed_year(y))} is missing; cleaning {paths.rel(paths.raw_year(y))} first",
                file=sys.stderr,
            )
            clean_year(y, paths, province)


def cli_main(args: argparse.Namespace) -> int:
    from ..config import ConfigError
    from ..errors import InputError
    from ..paths import Paths

    paths = Paths.from_root(getattr(args, "root", None), getattr(args, "province", None))
    province = paths.province
    try:
        text_ok = read_notice(args.file)  # fail early on an unreadable file
        del text_ok
    except NoticeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.year not in paths.raw_years() and args.year not in paths.processed_years():
        print(
            f"error: no data for {args.year}: neither {paths.raw_year(args.year)} nor "
            f"{paths.processed_year(args.year)} exists",
            file=sys.stderr,
        )
        return 2
    try:
        _ensure_processed(paths, args.year, province)
        result = audit_file(args.file, args.year, paths, province, args.rounding)
    except (InputError, FileNotFoundError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(format_json(result) if args.format == "json" else format_text(result))
    return 1 if result.has_wrong else 0
