"""The annual review report's content: HTML fragments built from metrics.json (figures),
the processed tables (charts), validation.json (data quality) and the raw files (provenance).

    ctx = build_context(2022, paths, lang="vi")     # reads or computes metrics.json
    for html in render_sections(ctx): ...           # the notebook displays each one

Rules: every number goes through `fmt` (the reader's locale and the rounding policy),
every sentence comes from `locales/<lang>.yml`, and every string that comes from data
(unit names, districts, validation messages, file names) is escaped here, so a unit named
`<img src=x onerror=alert(1)>` is shown as text. Nothing here reads the clock: the same
inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pandas as pd

from .. import __version__
from ..config import ProvinceConfig, load_config
from ..fmt import Formatter
from ..fsutil import sha256_file
from ..i18n import Translator
from ..paths import Paths, simulated_flag  # noqa: F401 (re-exported)
from ..provenance import code_commit
from ..textnorm import nfc, vi_sort_key

VALIDATION_DOCS = "validation/index.html"  # relative to the report, in the published folder


def h(value: object) -> str:
    """Escape text for HTML (data-derived names, messages, wording)."""
    return html.escape(nfc(value) if isinstance(value, str) else str(value), quote=True)


# =========================================================================== context
@dataclass
class ReportContext:
    year: int
    lang: str
    paths: Paths
    cfg: ProvinceConfig
    metrics: dict
    t: Translator
    f: Formatter
    out_dir: Path
    validation: dict | None = None
    simulated: str | None = None  # where the "simulated" flag was found, or None
    satisfaction: pd.DataFrame | None = None
    national: pd.DataFrame | None = None
    provenance: dict = field(default_factory=dict)

    @property
    def prev(self) -> int:
        return self.year - 1

    def tier_label(self, tier_id: str | None) -> str:
        if not tier_id:
            return "–"
        try:
            return self.cfg.tier(tier_id).label(self.lang)
        except KeyError:
            return tier_id

    def level_label(self, level: str) -> str:
        return self.cfg.level_label(level, self.lang)

    def group_label(self, group: str) -> str:
        return self.cfg.group_label(group, self.lang)


def build_context(
    year: int,
    paths: Paths | None = None,
    province: str | None = None,
    lang: str = "vi",
    rounding: str = "",
    out_dir: str | Path = "",
    metrics: dict | None = None,
) -> ReportContext:
    """Everything the report needs. metrics.json is read from out_dir (the analyse step
    writes it there; the report never computes or writes it); validation.json is read from
    out_dir if present."""
    paths = (paths or Paths.from_root()).of(province)
    province = paths.province
    year = int(year)
    cfg = load_config(province, paths)
    out = Path(out_dir) if out_dir else paths.work_year(year)
    if metrics is None:
        mpath = out / "metrics.json"
        if not mpath.is_file():
            raise FileNotFoundError(
                f"{paths.rel(mpath)} does not exist: run notebooks/30_analyse.ipynb for "
                f"{province} {year} first (the report reads the figures, it never computes them)"
            )
        metrics = json.loads(mpath.read_text(encoding="utf-8"))
    computed_with = (metrics.get("rounding") or {}).get("policy")
    if rounding and computed_with != rounding:
        raise ValueError(
            f"metrics.json was computed with rounding={computed_with!r}, the report asks for "
            f"{rounding!r}: run 30_analyse with rounding={rounding!r} first"
        )
    r = metrics.get("rounding") or {}
    f = Formatter(lang, r.get("policy", "half_up"), int(r.get("decimals", 2)))
    ctx = ReportContext(
        year=year,
        lang=lang,
        paths=paths,
        cfg=cfg,
        metrics=metrics,
        t=Translator(lang),
        f=f,
        out_dir=out,
    )
    ctx.validation = read_validation(out)
    ctx.simulated = simulated_flag(paths)
    ctx.satisfaction = _read_table(paths, year, "satisfaction")
    ctx.national = _read_table(paths, year, "national_indices")
    ctx.provenance = provenance(paths, year, cfg, province, lang, metrics)
    return ctx


def _read_table(paths: Paths, year: int, table: str) -> pd.DataFrame | None:
    from ..clean.tables import read_processed

    if not (paths.processed_year(year) / f"{table}.csv").is_file():
        return None
    return read_processed(paths, year, table)


def read_validation(out_dir: Path) -> dict | None:
    p = Path(out_dir) / "validation.json"
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {
            "success": False,
            "failures": [f"validation.json is unreadable: {p.name}"],
            "warnings": [],
        }


# =========================================================================== provenance
def raw_inputs(paths: Paths, year: int) -> list[Path]:
    files = sorted(
        p for p in paths.raw_year(year).glob("*") if p.is_file() and not p.name.startswith(".")
    )
    if paths.national_raw.is_file():
        files.append(paths.national_raw)
    return files


def xlsx_created(path: Path) -> str | None:
    """The creation date in an Excel file's core properties (docProps/core.xml), ISO."""
    try:
        with zipfile.ZipFile(path) as z:
            root = ElementTree.fromstring(z.read("docProps/core.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return None
    for el in root:
        if el.tag.endswith("}created") and el.text:
            return el.text[:10]
    return None


def data_date(paths: Paths, year: int) -> str | None:
    """The latest creation date recorded in the year's Excel files (CSV files carry none)."""
    dates = [d for p in sorted(paths.raw_year(year).glob("*.xls*")) if (d := xlsx_created(p))]
    return max(dates) if dates else None


def provenance(
    paths: Paths, year: int, cfg: ProvinceConfig, province: str, lang: str, metrics: dict
) -> dict:
    commit = code_commit()
    return {
        "inputs": [
            {"file": paths.rel(p), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in raw_inputs(paths, year)
        ],
        "parameters": {
            "year": year,
            "province": province,
            "lang": lang,
            "rounding": (metrics.get("rounding") or {}).get("policy"),
            "decimals": (metrics.get("rounding") or {}).get("decimals"),
            "shares_rule": (metrics.get("rounding") or {}).get("shares_rule"),
        },
        "config_sha256": cfg.fingerprint(),
        "version": __version__,
        "commit": commit.short,
        "dirty": commit.modified,
        "metrics_schema": metrics.get("schema_version"),
        "data_date": data_date(paths, year),
    }


# =========================================================================== HTML helpers
Cell = str | tuple[str, str]  # text, or (text, css class)


def table_html(
    columns: Sequence[Cell],
    rows: Iterable[Sequence[Cell]],
    caption: str | None = None,
    footer: Sequence[Cell] | None = None,
    cls: str = "par-table",
) -> str:
    """A table; every cell's text is escaped. A cell is text or (text, class)."""

    def cell(tag: str, c: Cell) -> str:
        text, klass = c if isinstance(c, tuple) else (c, "")
        attr = f' class="{h(klass)}"' if klass else ""
        return f"<{tag}{attr}>{h(text)}</{tag}>"

    out = [f'<table class="{h(cls)}">']
    if caption:
        out.append(f"<caption>{h(caption)}</caption>")
    out.append("<thead><tr>" + "".join(cell("th", c) for c in columns) + "</tr></thead>")
    out.append("<tbody>")
    for r in rows:
        out.append("<tr>" + "".join(cell("td", c) for c in r) + "</tr>")
    out.append("</tbody>")
    if footer:
        out.append("<tfoot><tr>" + "".join(cell("td", c) for c in footer) + "</tr></tfoot>")
    out.append("</table>")
    return "\n".join(out)


def para(text: str, cls: str = "") -> str:
    return f'<p class="{h(cls)}">{h(text)}</p>' if cls else f"<p>{h(text)}</p>"


def heading(level: int, text: str, anchor: str | None = None) -> str:
    a = f' id="{h(anchor)}"' if anchor else ""
    return f"<h{level}{a}>{h(text)}</h{level}>"


def section(cls: str, *parts: str) -> str:
    return f'<section class="{h(cls)}">\n' + "\n".join(p for p in parts if p) + "\n</section>"


def _num(text: str) -> tuple[str, str]:
    return (text, "num")


def _change_cls(x: float | int | None) -> str:
    if x is None:
        return "num"
    return "num up" if x > 0 else "num down" if x < 0 else "num"


# =========================================================================== sections
def title_block(ctx: ReportContext) -> str:
    t, f = ctx.t, ctx.f
    status_key, status_cls = validation_status(ctx.validation)
    dd = ctx.provenance.get("data_date")
    date_text = (
        f"{f.date(dd)} ({t('title.data_date_note')})" if dd else t("title.data_date_unknown")
    )
    r = ctx.metrics.get("rounding") or {}
    rounding = t(f"title.rounding_{r.get('policy', 'half_up')}", decimals=str(r.get("decimals", 2)))
    authority = ctx.cfg.data.get("authority") or {}
    auth = authority.get(ctx.lang) or authority.get("vi") or ""
    rows = [
        (t("title.province"), ctx.cfg.name(ctx.lang)),
        (t("title.year"), str(ctx.year)),
        (t("title.data_date"), date_text),
    ]
    dl = "".join(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in rows)
    dl += (
        f'<dt>{h(t("title.status"))}</dt><dd><span class="par-status {status_cls}">'
        f"{h(t(status_key))}</span></dd>"
    )
    dl += f"<dt>{h(t('title.rounding'))}</dt><dd>{h(rounding)}</dd>"
    return (
        f'<header class="par-title" data-par-lang="{h(ctx.lang)}">\n'
        f'<p class="authority">{h(auth)}</p>\n'
        f"<h1>{h(t('title.heading', year=str(ctx.year)))}</h1>\n"
        f'<p class="muted">{h(t("title.subtitle", province=ctx.cfg.name(ctx.lang)))}</p>\n'
        f"<dl>{dl}</dl>\n</header>"
    )


def validation_status(v: dict | None) -> tuple[str, str]:
    if v is None:
        return "title.status_unknown", "unknown"
    return (
        ("title.status_ok", "ok") if _validation_success(v) else ("title.status_failed", "failed")
    )


def _validation_success(v: dict) -> bool:
    if "success" in v:
        return bool(v["success"])
    s = v.get("summary") or {}
    return bool(s.get("success"))


def simulated_notice(ctx: ReportContext) -> str:
    if not ctx.simulated:
        return ""
    t = ctx.t
    return (
        f'<div class="par-simulated" role="note"><p>⚠ {h(t("simulated.heading"))}</p>'
        f'<p class="detail">{h(t("simulated.detail", source=ctx.simulated))}</p></div>'
    )


def key_figures_table(ctx: ReportContext, level: str) -> str:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    prev = lv.get("previous_year")
    cols: list[Cell] = [
        t("key_figures.tier"),
        _num(t("key_figures.count")),
        _num(t("key_figures.share")),
    ]
    if prev is not None:
        cols += [
            _num(t("key_figures.change_count", prev=str(prev))),
            _num(t("key_figures.change_pp")),
        ]
    rows = []
    for tier_id, e in lv["tiers"].items():
        row: list[Cell] = [
            (ctx.tier_label(tier_id), "par-tier"),
            _num(f.int(e["count"])),
            _num(f.pct(e["share_display"])),
        ]
        if prev is not None:
            row += [
                (f.signed(e["change_count"]), _change_cls(e["change_count"])),
                (f.points(e["change_pp_display"]), _change_cls(e["change_pp_display"])),
            ]
        rows.append(row)
    footer: list[Cell] = [
        t("key_figures.total"),
        _num(f.int(lv["total"])),
        _num(f.pct(lv.get("shares_sum_display"))),
    ]
    if prev is not None:
        footer += [
            (f.signed(lv.get("change_total")), _change_cls(lv.get("change_total"))),
            _num(""),
        ]
    parts = [
        table_html(
            cols,
            rows,
            t("key_figures.caption", level=_cap(ctx.level_label(level)), year=str(ctx.year)),
            footer,
        )
    ]
    if prev is None:
        parts.append(para(t("key_figures.no_previous", prev=str(ctx.prev)), "par-note"))
    if lv.get("shares_sum_ok") is False:
        parts.append(
            para(t("key_figures.sum_not_100", sum=f.pct(lv.get("shares_sum_display"))), "par-note")
        )
    s = lv.get("score") or {}
    if s.get("mean") is not None:
        if s.get("prev_mean") is not None and prev is not None:
            parts.append(
                para(
                    t(
                        "key_figures.mean_score",
                        mean=f.pct(s["mean"]),
                        prev=str(prev),
                        prev_mean=f.pct(s["prev_mean"]),
                        max=f.pct(s["max"]),
                        min=f.pct(s["min"]),
                    ),
                    "par-note",
                )
            )
        else:
            parts.append(
                para(
                    t(
                        "key_figures.mean_score_noprev",
                        mean=f.pct(s["mean"]),
                        max=f.pct(s["max"]),
                        min=f.pct(s["min"]),
                    ),
                    "par-note",
                )
            )
    return "<section>\n" + "\n".join(parts) + "\n</section>"


def key_figures(ctx: ReportContext) -> str:
    tables = [key_figures_table(ctx, lv) for lv in ctx.metrics["levels"]]
    return section(
        "par-section",
        heading(2, ctx.t("sections.key_figures"), "key-figures"),
        '<div class="par-keyfigures">' + "\n".join(tables) + "</div>",
    )


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _ordinal_en(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def join_tiers(ctx: ReportContext, tier_ids: Sequence[str]) -> str:
    labels = [ctx.tier_label(x) for x in tier_ids]
    if len(labels) <= 1:
        return "".join(labels)
    return ctx.t("words.tier_join").join(labels[:-1]) + ctx.t("words.tier_join_last") + labels[-1]


def _change_clause(ctx: ReportContext, change: int | None, prev: int | None) -> str:
    if change is None or prev is None:
        return ""
    if change > 0:
        return ctx.t("results.change_up", n=ctx.f.count(change), prev=str(prev))
    if change < 0:
        return ctx.t("results.change_down", n=ctx.f.count(-change), prev=str(prev))
    return ctx.t("results.change_same", prev=str(prev))


def streak_clauses(ctx: ReportContext, level: str) -> list[str]:
    """The notice's "first year with no Trung bình, Yếu" and "3rd year in a row with no
    Yếu": from the widest set of absent bottom tiers to the narrowest, each streak that is
    longer than the one already said."""
    lv = ctx.metrics["levels"][level]
    streaks = lv.get("streaks") or {}
    out: list[str] = []
    said = 0
    for tier_id in ctx.cfg.tier_ids[
        1:
    ]:  # widest suffix first: "kha or worse", "trung_binh or worse", ...
        s = streaks.get(tier_id)
        if not s or not s.get("none_this_year"):
            continue
        n = int(s.get("years_without") or 0)
        if n <= said:
            continue
        tiers = join_tiers(ctx, s.get("tiers") or [tier_id])
        if n == 1:
            if s.get("first_time") is True:
                out.append(ctx.t("results.first_year_none", tiers=tiers))
                said = n
            continue
        key = "results.streak_none" if s.get("exact", True) else "results.streak_none_min"
        out.append(
            ctx.t(
                key, n=str(n), n_ordinal=_ordinal_en(n), tiers=tiers, since=str(s.get("since_year"))
            )
        )
        said = n
    return out


def results_paragraph(ctx: ReportContext, level: str) -> str:
    """The notice's sentence for one level, every number from metrics.json (plain text)."""
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    prev = lv.get("previous_year")
    key = (
        f"results.intro.{level}" if ctx.t.has(f"results.intro.{level}") else "results.intro.default"
    )
    intro = t(key, year=str(ctx.year), level=ctx.level_label(level))
    clauses = []
    for tier_id, e in lv["tiers"].items():
        change = _change_clause(ctx, e.get("change_count"), prev)
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
    return f"{intro} {sep.join(clauses)}."


def total_sentence(ctx: ReportContext, level: str) -> str | None:
    lv = ctx.metrics["levels"][level]
    ch = lv.get("change_total")
    if not ch or lv.get("previous_year") is None:
        return None
    t, f = ctx.t, ctx.f
    change = t("results.total_up" if ch > 0 else "results.total_down", n=f.count(abs(ch)))
    return t(
        "results.total_change",
        total=f.int(lv["total"]),
        change=change,
        prev=str(lv["previous_year"]),
        prev_total=f.int(lv["prev_total"]),
    )


def movement_sentence(ctx: ReportContext, level: str) -> str | None:
    mv = ctx.metrics["levels"][level].get("movements") or {}
    if not mv.get("available"):
        return None
    f = ctx.f
    return ctx.t(
        "results.movement",
        prev=str(ctx.prev),
        up=f.count(mv["up_count"]),
        down=f.count(mv["down_count"]),
        same=f.count(mv["same_count"]),
    )


def satisfaction_paragraph(ctx: ReportContext) -> str:
    t, f = ctx.t, ctx.f
    s = ctx.metrics.get("satisfaction") or {}
    if not s.get("available"):
        return t("results.satisfaction_none", year=str(ctx.year))
    label = s.get("label_en" if ctx.lang == "en" else "label") or s.get("label") or ""
    common = {
        "label": label,
        "value": f.pct(s["value_display"]),
        "units": f.int(s["units"]),
        "meeting": f.int(s.get("units_meeting_target")),
    }
    if s.get("target") is None:
        return t("results.satisfaction_no_target", **common)
    target = f.pct(s["target"], strip_zeros=True)
    if s.get("met"):
        return t(
            "results.satisfaction_met", target=target, gap=f.num(s["gap_pp_display"]), **common
        )
    return t(
        "results.satisfaction_missed", target=target, gap=f.num(s["shortfall_pp_display"]), **common
    )


def national_items(ctx: ReportContext) -> list[str]:
    t, f = ctx.t, ctx.f
    out = []
    for idx, n in (ctx.metrics.get("national_indices") or {}).items():
        name = n.get("label_en" if ctx.lang == "en" else "label") or idx
        value = None
        if n.get("value") is not None:
            value = (
                f.pct(n["value"])
                if n.get("unit") == "pct"
                else f"{f.num(n['value'])} {t('results.points')}"
            )
        rank = (
            f.fraction(n["rank"], n["rank_of"])
            if n.get("rank") is not None and n.get("rank_of")
            else (f.int(n["rank"]) if n.get("rank") is not None else None)
        )
        if value and rank:
            s = t("results.national_value_rank", index=name, value=value, rank=rank)
        elif rank:
            s = t("results.national_rank_only", index=name, rank=rank)
        elif value:
            s = t("results.national_value_only", index=name, value=value)
        else:
            out.append(t("results.national_missing", index=name))
            continue
        rc = n.get("rank_change")
        if rc is not None:
            prev = str(n.get("previous_year"))
            key = (
                "results.national_rank_up"
                if rc > 0
                else "results.national_rank_down"
                if rc < 0
                else "results.national_rank_same"
            )
            s += ", " + t(key, n=f.int(abs(rc)), prev=prev)
        out.append(s + ".")
    return out


def results_section(ctx: ReportContext) -> str:
    parts = [heading(2, ctx.t("sections.results"), "results")]
    for level in ctx.metrics["levels"]:
        parts.append(para(results_paragraph(ctx, level), "par-result"))
        extra = [s for s in (total_sentence(ctx, level), movement_sentence(ctx, level)) if s]
        if extra:
            parts.append(para(" ".join(extra)))
    parts.append(para(satisfaction_paragraph(ctx), "par-result"))
    s = ctx.metrics.get("satisfaction") or {}
    if s.get("available") and s.get("group"):
        group = ctx.group_label(s["group"])
        parts.append(
            para(
                ctx.t("results.satisfaction_method", units=ctx.f.int(s["units"]), group=group),
                "par-note",
            )
        )
    items = national_items(ctx)
    if items:
        parts.append(heading(3, ctx.t("results.national_heading", year=str(ctx.year))))
        parts.append("<ul>" + "".join(f"<li>{h(i)}</li>" for i in items) + "</ul>")
    return section("par-section", *parts)


# --------------------------------------------------------------------------- charts
def figure_html(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure class="par-figure"><img src="data:image/png;base64,{data}" alt="{h(alt)}">'
        f"<figcaption>{h(caption)}</figcaption></figure>"
    )


def history_frame(ctx: ReportContext) -> pd.DataFrame:
    rows = []
    for level, lv in ctx.metrics["levels"].items():
        for entry in lv.get("history") or []:
            total = entry["total"]
            for tier_id, c in entry["counts"].items():
                rows.append(
                    {
                        "year": int(entry["year"]),
                        "level": level,
                        "tier": tier_id,
                        "count": c,
                        "share": 100.0 * c / total if total else 0.0,
                    }
                )
    return pd.DataFrame(rows, columns=["year", "level", "tier", "count", "share"])


def units_frame(ctx: ReportContext) -> pd.DataFrame:
    rows = []
    for level, lv in ctx.metrics["levels"].items():
        for u in lv.get("units") or []:
            rows.append(
                {
                    "level": level,
                    **{
                        k: u.get(k)
                        for k in (
                            "unit_id",
                            "unit_name",
                            "group",
                            "district",
                            "score",
                            "tier",
                            "prev_score",
                            "prev_tier",
                            "movement",
                        )
                    },
                }
            )
    return pd.DataFrame(rows)


def make_charts(ctx: ReportContext) -> list:
    """The five charts (Chart objects; the caller closes them)."""
    from . import charts

    out = []
    hist = history_frame(ctx)
    if not hist.empty:
        out.append(charts.tier_shares_chart(hist, ctx.cfg, ctx.t, ctx.f))
    units = units_frame(ctx)
    if not units.empty:
        out.append(charts.score_distribution_chart(units, ctx.cfg, ctx.year, ctx.t, ctx.f))
        moves = units[units["movement"].isin(["up", "same", "down"])].rename(
            columns={"prev_score": "score_prev", "movement": "move"}
        )
        if not moves.empty:
            out.append(charts.movement_chart(moves, ctx.cfg, ctx.t, ctx.f, ctx.prev))
    s = ctx.metrics.get("satisfaction") or {}
    if ctx.satisfaction is not None and not ctx.satisfaction.empty:
        sat = ctx.satisfaction
        if s.get("group"):
            sat = sat[sat["group"] == s["group"]]
        if not sat.empty:
            out.append(
                charts.satisfaction_chart(
                    sat, s.get("target"), ctx.t, ctx.f, overall=s.get("value")
                )
            )
    if ctx.national is not None and ctx.national["rank"].notna().any():
        out.append(charts.national_ranks_chart(ctx.national, ctx.cfg, ctx.t, ctx.f))
    return out


def charts_section(ctx: ReportContext) -> str:
    from . import charts

    figs = []
    for ch in make_charts(ctx):
        figs.append(figure_html(charts.png_bytes(ch), ch.alt, ch.caption))
        charts.close(ch)
    if not figs:
        figs.append(para(ctx.t("charts.none"), "par-note"))
    return section("par-section", heading(2, ctx.t("sections.charts"), "charts"), *figs)


# --------------------------------------------------------------------------- rankings
def _score_change(ctx: ReportContext, u: dict) -> Cell:
    ch = u.get("score_change")
    return (ctx.f.num(ch, sign=True), _change_cls(ch)) if ch is not None else _num("–")


def ranking_table(
    ctx: ReportContext,
    level: str,
    units: list[dict],
    caption: str | None,
    show_group: bool = True,
    rank_key: str = "rank",
) -> str:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    prev = lv.get("previous_year")
    by_district = lv.get("group_by") == "district"
    cols: list[Cell] = [_num(t("rankings.col_rank")), t("rankings.col_unit")]
    if show_group:
        cols.append(t("rankings.col_district") if by_district else t("rankings.col_group"))
    cols += [_num(t("rankings.col_score")), t("rankings.col_tier")]
    if prev is not None:
        cols += [
            _num(t("rankings.col_prev_score", prev=str(prev))),
            t("rankings.col_prev_tier", prev=str(prev)),
            _num(t("rankings.col_change")),
        ]
    rows = []
    for u in units:
        row: list[Cell] = [_num(f.int(u[rank_key])), u["unit_name"]]
        if show_group:
            row.append(u.get("district") if by_district else ctx.group_label(u.get("group") or ""))
        row += [_num(f.num(u["score"])), (ctx.tier_label(u["tier"]), "par-tier")]
        if prev is not None:
            row += [
                _num(f.num(u.get("prev_score"))),
                (ctx.tier_label(u.get("prev_tier")), "par-tier"),
                _score_change(ctx, u),
            ]
        rows.append(row)
    return table_html(cols, rows, caption)


def rankings_section(ctx: ReportContext) -> str:
    t, f = ctx.t, ctx.f
    parts = [heading(2, t("sections.rankings"), "rankings")]
    for level, lv in ctx.metrics["levels"].items():
        units = lv.get("units") or []
        label = ctx.level_label(level)
        parts.append(heading(3, _cap(t("rankings.full", level=label, year=str(ctx.year)))))
        if lv.get("group_by") == "district":
            # communes grouped by district (districts in Vietnamese alphabetical order)
            parts.append(para(t("rankings.full_note"), "par-note"))
            groups: dict[str, list[dict]] = {}
            for u in units:
                groups.setdefault(u.get("district") or "", []).append(u)
            # the district means computed by metrics (by_group is keyed by district code)
            means = {
                g.get("label"): g.get("mean_score") for g in (lv.get("by_group") or {}).values()
            }
            for district in sorted(groups, key=vi_sort_key):
                members = groups[district]
                mean = means.get(district)
                cap = t(
                    "rankings.district_caption",
                    district=district,
                    n=f.int(len(members)),
                    mean=f.num(mean),
                )
                parts.append(ranking_table(ctx, level, members, cap, show_group=False))
        else:
            parts.append(para(t("rankings.full_note"), "par-note"))
            parts.append(ranking_table(ctx, level, units, None))
        parts.append(top_bottom_table(ctx, level))
        parts.append(movers_block(ctx, level))
    return section("par-section par-rankings", *parts)


def top_bottom_table(ctx: ReportContext, level: str) -> str:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    groups = lv.get("by_group") or {}
    if not groups:
        return ""
    by_district = lv.get("group_by") == "district"

    def names(items: list[dict]) -> str:
        return "; ".join(
            t("rankings.unit_score", name=u["unit_name"], score=f.num(u["score"])) for u in items
        )

    rows = []
    for g in groups.values():
        label = g["label"] if by_district else ctx.group_label(g["key"])
        rows.append(
            [
                label,
                _num(f.int(g["total"])),
                _num(f.num(g.get("mean_score"))),
                names(g.get("top") or []),
                names(g.get("bottom") or []),
            ]
        )
    cols: list[Cell] = [
        t("rankings.col_district") if by_district else t("rankings.col_group"),
        _num(t("rankings.col_units")),
        _num(t("rankings.col_mean")),
        t("rankings.col_top"),
        t("rankings.col_bottom"),
    ]
    return heading(4, f"{_cap(ctx.level_label(level))}: {t('rankings.top_bottom')}") + table_html(
        cols, rows
    )


def _by_name(items: Iterable[dict]) -> list[dict]:
    return sorted(items, key=lambda u: vi_sort_key(u.get("unit_name", "")))


def movers_block(ctx: ReportContext, level: str) -> str:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    mv = lv.get("movements") or {}
    prev = lv.get("previous_year")
    if not mv.get("available") or prev is None:
        return ""
    by_district = lv.get("group_by") == "district"
    cols: list[Cell] = [
        t("rankings.col_unit"),
        t("rankings.col_district") if by_district else t("rankings.col_group"),
        t("rankings.col_prev_tier", prev=str(prev)),
        t("rankings.col_tier"),
        _num(t("rankings.col_prev_score", prev=str(prev))),
        _num(t("rankings.col_score")),
    ]

    def rows(items: list[dict]) -> list[list[Cell]]:
        return [
            [
                u["unit_name"],
                u.get("district") if by_district else ctx.group_label(u.get("group") or ""),
                (ctx.tier_label(u.get("prev_tier")), "par-tier"),
                (ctx.tier_label(u.get("tier")), "par-tier"),
                _num(f.num(u.get("prev_score"))),
                _num(f.num(u.get("score"))),
            ]
            for u in _by_name(items)
        ]

    parts = [
        heading(4, f"{_cap(ctx.level_label(level))}: {t('rankings.movers', prev=str(prev))}"),
        para(t("rankings.movers_note"), "par-note"),
    ]
    for kind in ("up", "down"):
        items = mv.get(kind) or []
        title = t(f"rankings.movers_{kind}", n=f.int(len(items)))
        if items:
            parts.append(table_html(cols, rows(items), title))
        else:
            parts.append(f"<p><strong>{h(title)}</strong>: {h(t('rankings.movers_none'))}</p>")
    if mv.get("merged"):
        mcols: list[Cell] = [
            t("rankings.col_unit"),
            t("rankings.col_predecessors"),
            t("rankings.col_tier"),
            _num(t("rankings.col_score")),
        ]
        mrows = [
            [
                u["unit_name"],
                "; ".join(
                    f"{p['unit_name']} ({ctx.tier_label(p.get('prev_tier'))})"
                    for p in u.get("predecessors") or []
                ),
                (ctx.tier_label(u.get("tier")), "par-tier"),
                _num(f.num(u.get("score"))),
            ]
            for u in _by_name(mv["merged"])
        ]
        parts.append(table_html(mcols, mrows, t("rankings.merged_units")))
    if mv.get("new"):
        ncols: list[Cell] = [
            t("rankings.col_unit"),
            t("rankings.col_tier"),
            _num(t("rankings.col_score")),
        ]
        nrows = [
            [
                u["unit_name"],
                (ctx.tier_label(u.get("tier")), "par-tier"),
                _num(f.num(u.get("score"))),
            ]
            for u in _by_name(mv["new"])
        ]
        parts.append(table_html(ncols, nrows, t("rankings.new_units")))
    if mv.get("left"):
        lcols: list[Cell] = [
            t("rankings.col_unit"),
            t("rankings.col_prev_tier", prev=str(prev)),
            _num(t("rankings.col_prev_score", prev=str(prev))),
        ]
        lrows = [
            [
                u["unit_name"],
                (ctx.tier_label(u.get("prev_tier")), "par-tier"),
                _num(f.num(u.get("prev_score"))),
            ]
            for u in _by_name(mv["left"])
        ]
        parts.append(table_html(lcols, lrows, t("rankings.left_units")))
    return "\n".join(parts)


# --------------------------------------------------------------------------- quality, provenance
def _localized(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("vi") or value.get("en") or "")
    return "" if value is None else str(value)


def _messages(v: dict, key: str, lang: str = "vi") -> list[str]:
    """Failures or warnings of validation.json (par_review.validate) as one line each:
    table · check: description — expected …, found … (n units: names)."""
    raw = v.get(key)
    if raw is None:
        raw = (v.get("summary") or {}).get(key)
    if isinstance(raw, int) or not raw:
        return []
    out = []
    for item in raw:
        if not isinstance(item, dict):
            out.append(str(item))
            continue
        where = " · ".join(str(item[k]) for k in ("table", "column") if item.get(k))
        text = _localized(item.get("description") or item.get("message") or item.get("check"), lang)
        bits = [f"{where}: {text}" if where else text]
        expected = _localized(item.get("expected"), lang)
        if expected:
            bits.append(("expected " if lang == "en" else "cần ") + expected)
        found = _localized(item.get("found"), lang)
        if found:
            bits.append(("found " if lang == "en" else "thấy ") + found)
        units = [
            u.get("unit_name") or u.get("unit_id")
            for u in item.get("units") or []
            if isinstance(u, dict)
        ]
        units = [str(u) for u in units if u]
        if units:
            more = item.get("n_units", len(units)) - len(units[:5])
            bits.append(", ".join(units[:5]) + (f" (+{more})" if more > 0 else ""))
        out.append(" — ".join(b for b in bits if b))
    return out


def _checks(v: dict) -> int | None:
    tables = v.get("tables")
    if isinstance(tables, dict) and tables:
        return sum(
            int(t.get("expectations", 0) or 0) for t in tables.values() if isinstance(t, dict)
        )
    for k in ("evaluated_expectations", "checks", "n_checks"):
        if isinstance(v.get(k), int):
            return v[k]
    return None


def docs_link(v: dict) -> str:
    """The Data Docs page, relative to the report (never an absolute or remote URL)."""
    d = v.get("data_docs")
    if (
        isinstance(d, str)
        and d
        and ":" not in d
        and not d.startswith(("/", "\\"))
        and ".." not in d
    ):
        return d
    return VALIDATION_DOCS


def quality_section(ctx: ReportContext) -> str:
    t, f = ctx.t, ctx.f
    v = ctx.validation
    parts = [heading(2, t("sections.quality"), "quality"), para(t("quality.intro"))]
    if v is None:
        parts.append(
            f'<p><span class="par-status unknown">{h(t("quality.not_validated"))}</span></p>'
        )
    else:
        failures, warnings = _messages(v, "failures", ctx.lang), _messages(v, "warnings", ctx.lang)
        n_fail = v.get("n_failures", v.get("n_critical", len(failures)))
        n_warn = v.get("n_warnings", len(warnings))
        ok = _validation_success(v)
        key, cls = ("quality.passed", "ok") if ok else ("quality.failed", "failed")
        text = t(key, checks=f.int(_checks(v)), failures=f.int(n_fail), warnings=f.int(n_warn))
        parts.append(f'<p><span class="par-status {cls}">{h(text)}</span></p>')
        for label_key, items in (("quality.failures", failures), ("quality.warnings", warnings)):
            if items:
                parts.append(
                    f"<h4>{h(t(label_key))}</h4><ul>"
                    + "".join(f"<li>{h(i)}</li>" for i in items)
                    + "</ul>"
                )
        link = docs_link(v)
        parts.append(
            f'<p><a href="{h(link)}">{h(t("quality.docs_link"))}</a> (<code>{h(link)}</code>)</p>'
        )
    checks_list = []
    for level, lv in ctx.metrics["levels"].items():
        ok = lv.get("shares_sum_ok")
        if ok is None:
            continue
        checks_list.append(
            t(
                "quality.report_checks",
                level=ctx.level_label(level),
                sum=f.pct(lv.get("shares_sum_display")),
                ok=t("quality.sum_ok") if ok else t("quality.sum_not_ok"),
            )
        )
    if checks_list:
        parts.append("<ul>" + "".join(f"<li>{h(c)}</li>" for c in checks_list) + "</ul>")
    return section("par-section par-quality", *parts)


def provenance_footer(ctx: ReportContext) -> str:
    t, f = ctx.t, ctx.f
    p = ctx.provenance
    inputs = table_html(
        [t("provenance.col_file"), _num(t("provenance.col_size")), t("provenance.col_sha256")],
        [[i["file"], _num(f.int(i["bytes"])), (i["sha256"], "hash")] for i in p.get("inputs", [])],
        t("provenance.inputs"),
    )
    par = p.get("parameters") or {}
    rounding = par.get("rounding") or ""
    if par.get("decimals") is not None:
        rounding = f"{rounding} ({par['decimals']})"
    commit = p.get("commit")
    commit_text = (
        (t("provenance.commit_dirty", commit=commit) if p.get("dirty") else commit)
        if commit
        else t("provenance.commit_unknown")
    )
    rows = [
        (t("provenance.param_year"), str(par.get("year"))),
        (t("provenance.param_province"), par.get("province")),
        (t("provenance.param_lang"), par.get("lang")),
        (t("provenance.param_rounding"), rounding),
        (t("provenance.param_shares_rule"), par.get("shares_rule") or "–"),
        (t("provenance.version"), f"par-review {p.get('version')}"),
        (t("provenance.commit"), commit_text),
        (t("provenance.config"), p.get("config_sha256")),
        (t("provenance.metrics_schema"), str(p.get("metrics_schema"))),
    ]
    params = table_html(
        [t("provenance.parameters"), ""],
        [[k, (v or "–", "hash" if len(str(v)) > 30 else "")] for k, v in rows],
    )
    return (
        f'<footer class="par-provenance">\n{heading(2, t("sections.provenance"), "provenance")}\n'
        f"{para(t('provenance.intro'))}\n{params}\n{inputs}\n</footer>"
    )


# =========================================================================== all
SECTIONS = ("header", "key_figures", "results", "charts", "rankings", "quality", "provenance")


def render_section(ctx: ReportContext, name: str) -> str:
    if name == "header":
        return title_block(ctx) + "\n" + simulated_notice(ctx)
    return {
        "key_figures": key_figures,
        "results": results_section,
        "charts": charts_section,
        "rankings": rankings_section,
        "quality": quality_section,
        "provenance": provenance_footer,
    }[name](ctx)


def render_sections(ctx: ReportContext) -> list[str]:
    return [render_section(ctx, s) for s in SECTIONS]


def render_html(ctx: ReportContext) -> str:
    """The whole report as one standalone HTML page (without nbconvert): same template and
    CSS as the exporter. Used by tests and for quick previews."""
    from .exporters import standalone_page

    return standalone_page(render_sections(ctx), lang=ctx.lang)
