"""Rendering an audit: the text a person reads, and JSON for machines.

print(format_text(result))      # each statement, one line per figure, then the summary
print(format_json(result))      # the same, deterministic (no time stamps)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from .check import AuditResult, Finding, level_name

_FIGURE_NAMES = {
    "change_pp": "change (points)",
    "count": "count",
    "total": "total",
    "share": "share",
    "change": "change",
    "change_total": "change of the total",
    "change_mean": "change of the mean",
    "rank": "national rank",
    "rank_change": "rank change",
    "streak": "years in a row",
    "first_year": "first year",
    "satisfaction": "satisfaction",
    "target": "target",
    "target_met": "target met",
    "percentage": "percentage",
    "gap": "gap to target",
    "points": "points",
}
_PERCENT_FIGURES = ("share", "satisfaction", "target", "percentage")


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
            where = level_name(f.level) if f.level else "level unknown"
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


def format_json(result: AuditResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"


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
        if figure in _PERCENT_FIGURES:
            text += "%"
        return text
    return v
