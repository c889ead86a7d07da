"""Audit a published notice: check every figure it prints against the computed metrics.

    par-review audit notice.txt --year 2022 [--format text|json] [--rounding half_up|truncate]

The recipe, one module a step:

    text = read.read_notice(path)                       # .txt, .md, .docx -> NFC text
    statements = claims.extract(text, lexicon, year)    # typed claims, with where they are
    findings = check.check(statements, facts, policy)   # a verdict per figure
    output.format_text(result) / output.format_json(result)

The words notices use are data (`vocabulary.yml`); the facts come from one year's metrics
(`facts.facts_from_metrics`, the metrics.json schema). Verdicts: `ok`, `ok (truncated)`
(`ok (rounded)` under the truncate rule), `WRONG`, `not checked` (with the reason) and
`not comparable` (a change across a structural break, ranks out of different totals, with
the reason). Exit code 1 when any figure is WRONG or not comparable, else 0; 2 when the file
cannot be read or the data is missing. Importing this package imports no data stack.
"""

from __future__ import annotations

from pathlib import Path

from .check import (
    NOT_CHECKED,
    NOT_COMPARABLE,
    OK,
    OK_ROUNDED,
    OK_TRUNCATED,
    VERDICTS,
    WRONG,
    AuditResult,
    Finding,
    check,
)
from .claims import Lexicon, extract
from .facts import Comparison, Facts, LevelYear, SatisfactionFacts, facts_from_metrics, load_facts
from .output import format_json, format_text
from .read import NoticeError, read_notice


def lexicon(facts: Facts) -> Lexicon:
    """The province's names a notice uses: tier labels and aliases, and the provincial
    groups that have figures."""
    groups = {g: label for g, label in facts.groups.items() if f"group:{g}" in facts.history}
    return Lexicon.of(facts.tiers, facts.tier_labels, facts.tier_aliases, groups)


def audit_text(
    text: str, facts: Facts, policy: str = "half_up", year: int | None = None
) -> list[Finding]:
    """The findings of a notice's text against `facts`."""
    if policy not in ("half_up", "truncate"):
        raise ValueError(f"unknown rounding policy {policy!r}")
    year = year or facts.year
    return check(extract(text, lexicon(facts), year), facts, policy, year)


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
    from ..paths import Paths

    paths = (paths or Paths.from_root()).of(province)
    province = paths.province
    text = read_notice(path)
    policy = rounding
    if policy is None:
        try:
            policy = load_config(province, paths).rounding.get("policy", "half_up")
        except Exception:
            policy = "half_up"
    if facts is None:
        facts = load_facts(year, paths, province)
    return AuditResult(
        source=str(path),
        year=year,
        province=province,
        rounding=policy,
        findings=audit_text(text, facts, policy, year),
        tier_labels=dict(facts.tier_labels),
    )


__all__ = [
    "NOT_CHECKED",
    "NOT_COMPARABLE",
    "OK",
    "OK_ROUNDED",
    "OK_TRUNCATED",
    "VERDICTS",
    "WRONG",
    "AuditResult",
    "Comparison",
    "Facts",
    "Finding",
    "LevelYear",
    "NoticeError",
    "SatisfactionFacts",
    "audit_file",
    "audit_text",
    "facts_from_metrics",
    "format_json",
    "format_text",
    "lexicon",
    "load_facts",
    "read_notice",
]
