"""reports/index.html (Vietnamese) and reports/index.en.html (English): every province, year
and language, with every tier's count and share per level, the status of the last build
(published, or failed with its reason in the reader's words and the date of the publication
still shown), and links to each language's report, PDF, downloads and validation pages.

Self-contained: inline CSS, no script, no external resource. Markup in a Jinja2 template
with autoescape (templates/site/index.html.j2); words in locales/*.yml under `index.`;
numbers through fmt. Never quotes file contents or absolute paths: a failure is shown by
its kind and step, the technical reason stays in `par-review status` and the build log.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..fmt import fmt_date, fmt_fraction, fmt_pct
from ..fsutil import write_text_atomic
from ..i18n import Translator
from ..paths import Paths, provinces, simulated_flag

LANGS = ("vi", "en")
TEMPLATES = Path(__file__).resolve().parent / "templates" / "site"


def index_name(lang: str) -> str:
    return "index.html" if lang == "vi" else f"index.{lang}.html"


@dataclass
class Row:
    year: int
    levels: list[tuple[str, list[str]]] = field(default_factory=list)  # (level label, tier texts)
    status: str = ""  # published | failed | never
    failed_step: str = ""
    failed_kind: str = ""
    shown_date: str = ""  # the date of the publication whose figures are shown
    detail: str = ""  # a failed validation's one-line summary (check, unit, value, file, row)
    links: list[tuple[str, str, str | None]] = field(default_factory=list)  # (href, text, hreflang)
    no_raw: bool = False  # published, but its raw data is no longer in data/raw/ (kept as is)
    # said after each link's text to a screen reader, which may read a link out of its row
    # ("PDF (Tiếng Việt)" alone does not say which report): " – Tỉnh Khánh Hòa, năm 2025"
    link_context: str = ""


@dataclass
class Section:
    province: str
    name: str
    simulated: bool
    rows: list[Row]


def _read_json(p: Path) -> dict:
    with contextlib.suppress(OSError, ValueError):
        return json.loads(p.read_text(encoding="utf-8"))
    return {}


def _tiers(metrics: dict, lvl: str, lang: str) -> list[str]:
    level = (metrics.get("levels") or {}).get(lvl) or {}
    policy = (metrics.get("rounding") or {}).get("policy", "half_up")
    out = []
    for tid, t in (level.get("tiers") or {}).items():
        label = t.get("label_en" if lang == "en" else "label") or t.get("label") or tid
        out.append(
            f"{label} {fmt_fraction(t.get('count'), level.get('total'), lang)} "
            f"({fmt_pct(t.get('share_pct'), lang, policy)})"
        )
    return out


def _level_label(cfg, lvl: str, year: int, lang: str) -> str:
    levels = cfg.levels_for(year) if hasattr(cfg, "levels_for") else cfg.levels
    spec = levels.get(lvl) or cfg.levels.get(lvl) or {}
    text = (spec.get("label") or {}).get(lang) or (spec.get("label") or {}).get("vi") or lvl
    return text[:1].upper() + text[1:]


def _section(paths: Paths, state: dict, province: str, lang: str, t: Translator) -> Section:
    from ..config import load_config

    p = paths.of(province)
    cfg = load_config(province, p)
    keys = state.get("keys", {})
    raw_years = set(p.raw_years())
    years = set(raw_years)
    years |= {int(k.split("/")[1]) for k in keys if k.startswith(f"{province}/")}
    if p.reports.is_dir():
        years |= {int(d.name) for d in p.reports.iterdir() if d.is_dir() and d.name.isdigit()}
    rows = []
    for y in sorted(years, reverse=True):
        d = p.report_year(y)
        row = Row(y, link_context=t("index.link_context", province=cfg.name(lang), year=str(y)))
        metrics = _read_json(d / "metrics.json")
        manifest = _read_json(d / "manifest.json")
        for lvl in metrics.get("levels") or {}:
            row.levels.append((_level_label(cfg, lvl, y, lang), _tiers(metrics, lvl, lang)))
        # the reader's language first, then the others
        for code in sorted(manifest.get("languages") or [], key=lambda c: c != lang):
            hreflang = None if code == lang else code
            name = t(f"index.lang_{code}") if t.has(f"index.lang_{code}") else code
            for fname, text in ((f"report.{code}.html", "report"), (f"report.{code}.pdf", "pdf")):
                if (d / fname).exists():
                    row.links.append(
                        (f"{province}/{y}/{fname}", f"{t('index.' + text)} ({name})", hreflang)
                    )
            if (d / "downloads" / code).is_dir():
                row.links.append(
                    (
                        f"{province}/{y}/downloads/{code}/tables.xlsx",
                        f"{t('index.downloads')} ({name})",
                        hreflang,
                    )
                )
        if (d / f"validation.{lang}.html").exists():
            row.links.append((f"{province}/{y}/validation.{lang}.html", t("index.docs"), None))
        elif (d / "validation" / "index.html").exists():
            row.links.append((f"{province}/{y}/validation/index.html", t("index.docs"), "en"))
        last = (keys.get(f"{province}/{y}") or {}).get("last") or {}
        if last.get("status") == "failed":
            row.status = "failed"
            row.failed_step = last.get("step", "")
            row.failed_kind = last.get("kind", "error")
            reason = str(last.get("reason", ""))
            if row.failed_kind == "validation" and reason.startswith("ValidationFailed: "):
                # the gate's own bilingual headline: names the check, the unit, the value
                # (one cell) and the raw file and row; never file contents or server paths
                row.detail = reason.removeprefix("ValidationFailed: ")[:400]
            if manifest.get("built_at"):
                row.shown_date = fmt_date(manifest["built_at"][:10], lang)
        elif manifest:
            row.status = "published"
            row.shown_date = fmt_date(str(manifest.get("built_at", ""))[:10], lang)
        else:
            row.status = "never"
        row.no_raw = bool(manifest) and y not in raw_years
        rows.append(row)
    return Section(province, cfg.name(lang), simulated_flag(p) is not None, rows)


def render_index(paths: Paths, state: dict, lang: str) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    t = Translator(lang)
    sections = [_section(paths, state, prov, lang, t) for prov in provinces(paths.root)]
    others = [(index_name(c), t(f"index.lang_{c}"), c) for c in LANGS if c != lang]
    return env.get_template("index.html.j2").render(
        lang=lang, t=t, sections=sections, others=others
    )


def write_index(paths: Paths, state: dict, *_, **__) -> Path:
    """Write reports/index.html and reports/index.en.html. Returns the Vietnamese page."""
    out = paths.reports_root / index_name("vi")
    for lang in LANGS:
        write_text_atomic(paths.reports_root / index_name(lang), render_index(paths, state, lang))
    return out
