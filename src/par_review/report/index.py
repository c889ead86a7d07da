"""reports/index.html: every year with its headline figures, status (published, or failed
with the reason) and links to the HTML, PDF, Data Docs and metrics.json. Self-contained:
inline CSS, no script, no external resource."""

from __future__ import annotations

import contextlib
import html
import json
from pathlib import Path

from ..config import load_config
from ..fmt import fmt_fraction, fmt_pct
from ..fsutil import write_text_atomic
from ..i18n import Translator
from ..paths import Paths, simulated_flag

CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2rem auto;max-width:60rem;color:#1b1b1b;padding:0 1rem}
h1{font-size:1.5rem;border-bottom:3px solid #a51c30;padding-bottom:.4rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ccc;padding:.45rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f0ea}.ok{color:#1a7f37;font-weight:bold}.fail{color:#b42318;font-weight:bold}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:.5rem .8rem;margin:1rem 0}
.reason{font-size:.9em;color:#555}a{color:#0b5cad}
@media print{a{color:inherit;text-decoration:none}}
"""


def _headline(metrics: dict, lvl: str, lang: str, level_label: str) -> str:
    try:
        level = metrics["levels"][lvl]
        tiers = level["tiers"]
        first = next(iter(tiers))
        t = tiers[first]
        policy = (metrics.get("rounding") or {}).get("policy", "half_up")
        return (
            f"{html.escape(level_label)}: {fmt_fraction(t['count'], level['total'], lang)} "
            f"{html.escape(t.get('label' if lang == 'vi' else 'label_en', t.get('label', first)))} "
            f"({fmt_pct(t['share_pct'], lang, policy)})"
        )
    except (KeyError, TypeError, StopIteration):
        return ""


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def write_index(paths: Paths, state: dict, province: str = "khanh_hoa", lang: str = "vi") -> Path:
    cfg = load_config(province, paths)
    t = Translator(lang)

    def w(key: str) -> str:
        return t(f"index.{key}")

    years = sorted(
        set(paths.raw_years())
        | {int(y) for y in state.get("years", {})}
        | set(int(p.name) for p in paths.reports.glob("[0-9][0-9][0-9][0-9]") if p.is_dir()),
        reverse=True,
    )
    rows = []
    for y in years:
        d = paths.report_year(y)
        last = (state.get("years", {}).get(str(y)) or {}).get("last") or {}
        metrics = {}
        with contextlib.suppress(OSError, ValueError):
            metrics = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
        heads = [
            _headline(metrics, lvl, lang, _capitalised(cfg.level_label(lvl, lang)))
            for lvl in cfg.levels
        ]
        links = []
        for name, label in (
            ("report.html", w("report")),
            ("report.pdf", w("pdf")),
            ("validation/index.html", w("docs")),
            ("metrics.json", w("metrics")),
        ):
            if (d / name).exists():
                links.append(f'<a href="{y}/{name}">{html.escape(label)}</a>')
        if last.get("status") == "failed":
            status = (
                f'<span class="fail">{w("failed")} {html.escape(str(last.get("step")))}</span>'
                f'<div class="reason">{html.escape(str(last.get("reason", "")))}'
                f"{'; ' + w('kept') if links else ''}</div>"
            )
        elif links:
            status = f'<span class="ok">{w("published")}</span>'
        else:
            status = w("never")
        rows.append(
            f"<tr><td><b>{y}</b></td><td>{'<br>'.join(h for h in heads if h)}</td>"
            f"<td>{status}</td><td>{' · '.join(links)}</td></tr>"
        )
    demo = simulated_flag(paths) is not None
    body = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(w('title'))} — {html.escape(cfg.name(lang))}</title><style>{CSS}</style></head>\n<body>\n"
        f"<h1>{html.escape(w('title'))} — {html.escape(cfg.name(lang))}</h1>\n"
        + (f'<p class="note">{html.escape(w("simulated"))}</p>\n' if demo else "")
        + f"<table><thead><tr><th>{w('year')}</th><th>{w('good')}</th><th>{w('status')}</th>"
        f"<th>{w('links')}</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table>\n</body></html>\n"
    )
    out = paths.reports / "index.html"
    write_text_atomic(out, body)
    return out
