"""The annual review report's content, as data: what each section shows, built from
metrics.json (figures), the processed tables (charts), validation.json (data quality),
the province's config and the raw files (provenance).

    ctx = build_context(2022, paths, lang="vi")     # reads metrics.json, never computes it
    html = render_section(ctx, "results")           # the notebook displays each section
    write_companions(ctx, out_dir)                  # data notes, validation page, downloads

Three layers: this module gathers the data of every section (tables as `Table` objects,
sentences from `prose`), `prose.py` words the sentences, and the Jinja2 templates in
`templates/par/sections/` hold the markup, with autoescape on: a unit named
`<img src=x onerror=alert(1)>` is shown as text. Nothing here reads the clock: the same
inputs give the same bytes.
"""

from __future__ import annotations

import functools
import json
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pandas as pd

from .. import __version__
from ..config import ProvinceConfig, load_config
from ..fmt import Formatter, is_missing, round_decimal
from ..fsutil import sha256_file
from ..i18n import Translator
from ..paths import Paths, simulated_flag  # noqa: F401 (re-exported)
from ..provenance import code_commit
from ..textnorm import names_province, nfc, vi_name_sort_key
from . import prose
from .prose import Part, Rich, cap

VALIDATION_DOCS = "validation/index.html"  # relative to the report, in the published folder
LANG_NAMES = {"vi": "Tiếng Việt", "en": "English"}


# =========================================================================== wording
class Wording:
    """The locale, with the province's overrides for the year (`cfg.wording(year, lang)`)
    on top: "Đối với UBND cấp xã do UBND cấp huyện đánh giá…" can change from 2025 on in
    config alone."""

    def __init__(self, translator: Translator, overrides: dict[str, str] | None = None):
        self.tr = translator
        self.lang = translator.lang
        self.overrides = dict(overrides or {})

    def has(self, key: str) -> bool:
        return key in self.overrides or self.tr.has(key)

    def raw(self, key: str) -> Any:
        return self.overrides[key] if key in self.overrides else self.tr.raw(key)

    def __call__(self, key: str, **values: object) -> str:
        template = str(self.raw(key))
        if not values:
            return template
        import string

        return string.Formatter().vformat(template, (), values)

    def rich(self, key: str, **values: object) -> Rich:
        return prose.fill(str(self.raw(key)), **values)

    plural = Translator.plural  # the same rule, on this wording's texts (overrides first)

    def __getattr__(self, name: str) -> Any:  # anything else a Translator offers
        return getattr(self.tr, name)

    def join(self, items: list[str]) -> str:
        items = [i for i in items if i]
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {self('words.and')} {items[-1]}"


# =========================================================================== tables
@dataclass
class Cell:
    """One table cell: its text (or rich parts), a CSS class, the value a download gets
    (a number for numeric cells), whether it is the row's header, and what a download
    says of the value where the page marks it (the footnote of a `*`): the download's
    number carries no mark, so its meaning goes in a column beside it."""

    text: str | Rich = ""
    cls: str = ""
    value: Any = None
    row_header: bool = False
    note: str = ""

    @property
    def plain(self) -> str:
        return prose.plain(self.text)

    @property
    def rich(self) -> Rich:
        return self.text if isinstance(self.text, list) else [Part(self.text)]


@dataclass
class Table:
    id: str
    caption: str | Rich | None
    columns: list[Cell]
    rows: list[list[Cell]]
    footer: list[Cell] | None = None
    download: bool = True  # offered as CSV and in tables.xlsx
    notes: list[str | Rich] = field(default_factory=list)  # under the table (footnotes)

    @property
    def small(self) -> bool:
        return len(self.rows) < 12  # printed on one page (never split)

    @property
    def label(self) -> str:
        return prose.plain(self.caption) if self.caption else ""

    @property
    def row_header_col(self) -> int | None:
        """The column whose cells head their rows (a unit, a tier, a year), if any: on a
        phone it stays in view while the table scrolls sideways, its heading with it."""
        for row in self.rows:
            return next((i for i, c in enumerate(row) if c.row_header), None)
        return None


def num(text: str, value: Any = None, cls: str = "") -> Cell:
    return Cell(text, f"num {cls}".strip(), value)


def head(text: str, numeric: bool = False) -> Cell:
    return Cell(text, "num" if numeric else "")


def companion_link(ctx: ReportContext, href: str, key: str) -> dict:
    """A link to a page beside the report (`href`, relative), its text the wording `key`;
    `where` names the file for print, where a link cannot be followed (the PDF)."""
    return {"href": href, "text": ctx.t(key), "where": ctx.t("downloads.file_where", file=href)}


# =========================================================================== context
@dataclass
class ReportContext:
    year: int
    lang: str
    paths: Paths
    cfg: ProvinceConfig
    metrics: dict
    t: Wording
    f: Formatter
    out_dir: Path
    validation: dict | None = None
    simulated: str | None = None  # where the "simulated" flag was found, or None
    satisfaction: pd.DataFrame | None = None
    national: pd.DataFrame | None = None
    provenance: dict = field(default_factory=dict)
    # the numbered sections (`numbered`), worked out once: every section asks for its own
    # number, and whether some sections are present costs building their tables
    _numbered: list | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def prev(self) -> int:
        return self.year - 1

    @property
    def languages(self) -> list[str]:
        langs = list(getattr(self.cfg, "report_languages", None) or [self.lang])
        return langs if self.lang in langs else [self.lang, *langs]

    def name(self, text: Any) -> Part:
        """A Vietnamese proper name (unit, district): marked lang="vi" on other pages."""
        return Part(nfc(text) if text is not None else "", None if self.lang == "vi" else "vi")

    def tier_label(self, tier_id: str | None) -> str:
        if not tier_id:
            return "–"
        try:
            return self.cfg.tier(tier_id).label(self.lang)
        except KeyError:
            return tier_id

    def _call(self, method: str, *args: Any, **kw: Any) -> Any:
        fn = getattr(self.cfg, method)
        try:
            return fn(*args, year=self.year, **kw)
        except TypeError:  # an older config without per-year answers
            return fn(*args, **kw)

    def level_label(self, level: str) -> str:
        return self._call("level_label", level, self.lang)

    def group_label(self, group: str) -> str:
        return self._call("group_label", group, self.lang)

    def level_spec(self, level: str) -> dict:
        levels = getattr(self.cfg, "levels_for", None)
        spec = levels(self.year).get(level) if levels else None
        return spec or self.cfg.levels.get(level) or {}

    def scored_by(self, level: str) -> str:
        fn = getattr(self.cfg, "scored_by", None)
        if fn is not None:
            try:
                s = fn(level, self.year, self.lang)
            except KeyError:
                s = None
            if s:
                return s
        key = f"method.scored_by.{level}"
        return self.t(key) if self.t.has(key) else ""

    def unit_column(self, level: str) -> str:
        """The header of the units' column: "Xã, phường, thị trấn" for communes (the
        level's `unit_column` in config, or the wording for the level), not "Cơ quan"."""
        spec = self.level_spec(level)
        d = spec.get("unit_column") or {}
        if d.get(self.lang) or d.get("vi"):
            return d.get(self.lang) or d["vi"]
        title = spec.get("title") or {}
        vi_title = str(title.get("vi") or "")
        for prefix in ("UBND các ", "Ủy ban nhân dân các "):
            if vi_title.startswith(prefix):  # "UBND các xã, phường, đặc khu"
                short = cap(vi_title[len(prefix) :])
                return short if self.lang == "vi" else str(title.get(self.lang) or short)
        key = f"rankings.col_unit_level.{level}"
        return self.t(key) if self.t.has(key) else self.t("rankings.col_unit")

    def province_name(self, province: str) -> str:
        if province == self.cfg.id:
            return self.cfg.name(self.lang)
        try:
            return load_config(province, self.paths).name(self.lang)
        except Exception:  # noqa: BLE001 - a missing config still gets a readable name
            return province

    def province_short(self, province: str, lang: str | None = None) -> str:
        """The province's short name in `lang` (default: the report's); "vi" is how unit
        names carry it ("Sở Tư pháp tỉnh Ninh Thuận")."""
        try:
            cfg = self.cfg if province == self.cfg.id else load_config(province, self.paths)
            return cfg.short_name(lang or self.lang)
        except Exception:  # noqa: BLE001
            return province

    def in_sentence(self, name: str) -> str:
        """ "tỉnh Khánh Hòa" mid-sentence (not "Tỉnh Khánh Hòa")."""
        return name[:1].lower() + name[1:] if self.lang == "vi" else name

    def province_in_sentence(self) -> str:
        return self.in_sentence(self.cfg.name(self.lang))

    def years_text(self, years: Sequence[int]) -> str:
        ys = sorted(set(int(y) for y in years))
        if not ys:
            return ""
        runs: list[tuple[int, int]] = []
        for y in ys:
            if runs and y == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], y)
            else:
                runs.append((y, y))
        return self.t.join([str(a) if a == b else f"{a}–{b}" for a, b in runs])

    # -- what the province says about its data ------------------------------------------
    def data_notes(self) -> list[dict]:
        """`data_notes:` in province.yml: [{status: real|derived|simulated|assumed,
        what: {vi, en}, level?, kind?, years?: [..], source?: {vi, en}}]."""
        out = []
        for n in self.cfg.data.get("data_notes") or []:
            if isinstance(n, dict) and n.get("status") and n.get("what"):
                out.append(n)
        return out

    def simulated_count_years(self, level: str) -> list[int]:
        """Years whose tier counts of `level` are simulated (data_notes kind tier_counts)."""
        years: list[int] = []
        for n in self.data_notes():
            if (
                n.get("status") == "simulated"
                and n.get("kind") == "tier_counts"
                and n.get("level") in (None, level)
            ):
                years += [int(y) for y in n.get("years") or []]
        return sorted(set(years))

    def simulated_national_years(self) -> list[int]:
        """Years whose national index results are simulated: a data note (status simulated,
        kind national) says so, or the raw table's `basis` starts with "simulated"."""
        years: set[int] = set()
        for n in self.data_notes():
            if n.get("status") == "simulated" and n.get("kind") == "national":
                years |= {int(y) for y in n.get("years") or []}
        df = self.national
        if df is not None and not df.empty and {"basis", "year"} <= set(df.columns):
            sim = df["basis"].astype(str).str.strip().str.lower().str.startswith("simulated")
            years |= {int(y) for y in df.loc[sim, "year"]}
        for n in (self.metrics.get("national_indices") or {}).values():
            if str(n.get("basis") or "").strip().lower().startswith("simulated"):
                years.add(int(n.get("year") or self.year))
        return sorted(years)

    @functools.cached_property
    def keep_words(self) -> tuple[str, ...]:
        """Words of several syllables that a table heading never breaks inside
        (`tables.keep_together` of the language: "đơn vị|xếp hạng|…"; none in English)."""
        return tuple(w.strip() for w in self.t("tables.keep_together").split("|") if w.strip())

    def published(self) -> dict:
        """`published: {<year>: {document: {vi, en}, date, shares: {level: {tier: pct}}}}`:
        the province's own notice of the year, when the config names it."""
        p = self.cfg.data.get("published") or {}
        return p.get(self.year) or p.get(str(self.year)) or {}

    def published_errors(self) -> list[dict]:
        """Shares the notice printed that neither rounding rule gives (31,24% for 13/43)."""
        pub = self.published()
        doc = _localized(pub.get("document"), self.lang) or self.t("method.the_notice")
        out = []
        for level, shares in (pub.get("shares") or {}).items():
            lv = self.metrics["levels"].get(level)
            if not lv:
                continue
            for tier_id, printed in (shares or {}).items():
                e = lv["tiers"].get(tier_id)
                if not e or printed is None:
                    continue
                if float(printed) in (e.get("share_half_up"), e.get("share_truncated")):
                    continue
                out.append(
                    {
                        "document": doc,
                        "printed": self.f.pct(float(printed)),
                        "correct": self.f.pct(e["share_display"]),
                        "count": self.f.int(e["count"]),
                        "total": self.f.int(lv["total"]),
                        "tier": self.tier_label(tier_id),
                        "level": self.level_label(level),
                    }
                )
        return out

    def bands_assumed(self) -> bool:
        b = self.cfg.data.get("bands") or {}
        return bool(b.get("assumed", bool(b.get("note"))))


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
    wording = getattr(cfg, "wording", None)
    tr = Translator(lang)
    overrides = wording(year, lang, known=tr.texts.keys() | tr.fallback.keys()) if wording else {}
    ctx = ReportContext(
        year=year,
        lang=lang,
        paths=paths,
        cfg=cfg,
        metrics=metrics,
        t=Wording(tr, overrides),
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
    """The latest creation date recorded in the year's Excel files (CSV files carry none).
    Kept for analysts; the report shows the date of the province's notice instead."""
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
    }


# =========================================================================== helpers
def _localized(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("vi") or value.get("en") or "")
    return "" if value is None else str(value)


def levels(ctx: ReportContext) -> list[str]:
    return list(ctx.metrics.get("levels") or {})


def good_direction(ctx: ReportContext, tier_id: str) -> int:
    """+1 when more units in this tier is good news (the best tier), -1 when it is bad
    news (the lower half of the tiers), 0 when it says nothing by itself."""
    ids = ctx.cfg.tier_ids
    i = ids.index(tier_id) if tier_id in ids else -1
    if i == 0:
        return 1
    if i >= len(ids) / 2:
        return -1
    return 0


def change_cls(x: float | int | None, direction: int = 1) -> str:
    """The colour of a change: good or bad news, not up or down (neutral when 0)."""
    if x is None or not x or not direction:
        return ""
    return "good" if (x > 0) == (direction > 0) else "bad"


def competition_rank(units: list[dict], key: str = "score") -> dict[int, int]:
    """Rank by score, best first, ties share a rank ("1, 2, 2, 4")."""
    order = sorted(range(len(units)), key=lambda i: -(units[i].get(key) or 0))
    ranks: dict[int, int] = {}
    last, last_rank = None, 0
    for pos, i in enumerate(order, start=1):
        s = units[i].get(key)
        if s != last:
            last, last_rank = s, pos
        ranks[i] = last_rank
    return ranks


def group_key(lv: dict) -> str | None:
    gb = lv.get("group_by")
    return "district" if gb == "district" else "group" if gb == "group" else None


def group_name(ctx: ReportContext, lv: dict, u: dict) -> str | Rich:
    if lv.get("group_by") == "district":
        return [ctx.name(u.get("district") or "")]
    return ctx.group_label(u.get("group") or "")


def ranks_in_group(lv: dict) -> dict[str, int]:
    """unit_id -> rank within its bloc (provincial groups) or district (communes)."""
    key = group_key(lv)
    if not key:
        return {}
    groups: dict[str, list[dict]] = {}
    for u in lv.get("units") or []:
        groups.setdefault(str(u.get(key) or ""), []).append(u)
    out: dict[str, int] = {}
    for members in groups.values():
        for i, r in competition_rank(members).items():
            out[members[i]["unit_id"]] = r
    return out


def by_name(items: Iterable[dict]) -> list[dict]:
    return sorted(items, key=lambda u: vi_name_sort_key(u.get("unit_name", "")))


# =========================================================================== sections
def header_data(ctx: ReportContext) -> dict:
    t, f = ctx.t, ctx.f
    status_key, status_cls = validation_status(ctx.validation)
    authority = _localized(ctx.cfg.data.get("authority"), ctx.lang)
    pub = ctx.published()
    rows: list[tuple[str, str]] = [(t("title.year"), str(ctx.year))]
    doc = _localized(pub.get("document"), ctx.lang)
    if pub.get("date"):
        text = f.date(pub["date"])
        rows.append(
            (t("title.data_date"), t("title.data_date_doc", doc=doc, date=text) if doc else text)
        )
    rows.append((t("title.rounding"), prose.rounding_rule(ctx)))
    others = [
        {"lang": lang, "href": f"report.{lang}.html", "name": LANG_NAMES.get(lang, lang)}
        for lang in ctx.languages
        if lang != ctx.lang
    ]
    return {
        "lang": ctx.lang,
        "authority": authority,
        "heading": t("title.heading", year=str(ctx.year)),
        "subtitle": t("title.subtitle", province=ctx.province_in_sentence()),
        "rows": rows,
        "status_label": t("title.status"),
        "status": t(status_key),
        "status_cls": status_cls,
        "other_languages": others,
        "other_languages_label": t("title.other_languages"),
        "pdf": {"href": f"report.{ctx.lang}.pdf", "text": t("title.pdf")},
        "simulated": simulated_data(ctx),
        "contents": contents(ctx),
        "contents_label": t("sections.contents"),
    }


def simulated_data(ctx: ReportContext) -> dict | None:
    if not ctx.simulated:
        return None
    return {
        "heading": ctx.t("simulated.heading"),
        "detail": ctx.t("simulated.detail"),
        "link": companion_link(ctx, f"data-notes.{ctx.lang}.html", "simulated.link"),
        "running": ctx.t("simulated.running"),
    }


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


# --------------------------------------------------------------------------- structure
def structure_changed(ctx: ReportContext) -> bool:
    return any(
        prose.comparison(lv)["basis"] != prose.SAME_SET and lv.get("previous_year") is not None
        for lv in ctx.metrics["levels"].values()
    ) or bool(_structure_break(ctx))


def _structure_break(ctx: ReportContext) -> dict | None:
    fn = getattr(ctx.cfg, "structure_break", None)
    return fn(ctx.year) if fn else None


def structure_data(ctx: ReportContext) -> dict | None:
    """What ended, what merged and what started, with counts, when the structure of the
    units changed this year (metrics.json levels.*.comparison: basis, baseline, lineage)."""
    if not structure_changed(ctx):
        return None
    t, f = ctx.t, ctx.f
    e = _structure_break(ctx) or {}
    label = _localized(e.get("label"), ctx.lang)
    items: list[str | Rich] = []
    absorbed = list(getattr(ctx.cfg, "baseline_provinces", lambda y: [])(ctx.year))
    if absorbed:
        items.append(
            cap(
                t(
                    "structure.absorbed",
                    provinces=t.join([ctx.in_sentence(ctx.province_name(p)) for p in absorbed]),
                    province=ctx.province_in_sentence(),
                )
            )
        )
    for level in levels(ctx):
        lv = ctx.metrics["levels"][level]
        c = prose.comparison(lv)
        if c["basis"] == prose.SAME_SET:
            continue
        raw = lv.get("comparison") or {}
        prev = c["previous_year"]
        lineage = raw.get("lineage") or {}
        roster = lineage.get("previous_roster") or c["baseline"].get("by_province") or {}
        prev_total = c["baseline"].get("units", lv.get("prev_total"))
        name = cap(ctx.level_label(level))
        if prev is not None and prev_total is not None:
            by = ""
            if len(roster) > 1:
                by = (
                    " ("
                    + ", ".join(f"{ctx.province_short(p)} {f.int(n)}" for p, n in roster.items())
                    + ")"
                )
            items.append(
                t(
                    "structure.level_counts",
                    level=name,
                    prev=str(prev),
                    prev_total=f.int(prev_total),
                    by=by,
                    year=str(ctx.year),
                    total=f.int(lv["total"]),
                )
            )
        else:
            items.append(
                t("structure.level_new", level=name, year=str(ctx.year), total=f.int(lv["total"]))
            )
        for g, before, now in _group_changes(ctx, lv, c):
            if now:
                items.append(
                    t(
                        "structure.group_change",
                        group=g,
                        prev=str(prev),
                        before=f.int(before),
                        year=str(ctx.year),
                        now=f.int(now),
                    )
                )
            else:
                items.append(t("structure.group_ended", group=g, n=f.int(before), year=str(prev)))
        for kind in ("merged", "split", "renamed", "new"):
            n = lineage.get(kind)
            if n:
                items.append(
                    t.plural(f"structure.{kind}", n, n=f.int(n), level=ctx.level_label(level))
                )
        basis = prose.basis_sentence(ctx, level)
        if basis:
            items.append(basis)
    for level, lv in ctx.metrics["levels"].items():
        if lv.get("spans_structures"):
            items.append(t("structure.spans", level=ctx.level_label(level), year=str(ctx.year)))
    eff = e.get("effective")  # the date the new structure took effect, when mid-year
    if eff and str(eff)[5:10] != "01-01":
        items.append(t("structure.year_spans", year=str(ctx.year), date=ctx.f.date(eff)))
    return {
        "heading": t("sections.structure"),
        "label": prose.sentence(label) if label else "",
        "items": items,
    }


def _group_changes(ctx: ReportContext, lv: dict, c: dict) -> list[tuple[str, int, int]]:
    """(bloc, units the year before, units now) for every bloc whose size changed: "21 sở
    became 14", "8 district committees ended"."""
    if lv.get("group_by") != "group":
        return []
    before = c["baseline"].get("by_group") or {}
    if not before:
        return []
    now: dict[str, int] = {}
    for u in lv.get("units") or []:
        now[u.get("group")] = now.get(u.get("group"), 0) + 1
    out = []
    for g in sorted(set(before) | set(now)):
        b, n = int(before.get(g, 0)), now.get(g, 0)
        if b != n and b:
            out.append((ctx.group_label(g), b, n))
    return out


# --------------------------------------------------------------------------- key figures
def key_figures_table(ctx: ReportContext, level: str) -> Table:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    prev = lv.get("previous_year")
    tiers = lv["tiers"]
    # a change column only where the comparison allows it (never counts across a break)
    show_count = prev is not None and any(e.get("change_count") is not None for e in tiers.values())
    show_pp = prev is not None and any(
        e.get("change_pp_display") is not None for e in tiers.values()
    )
    cols = [head(t("key_figures.tier")), head(t("key_figures.count"), True)]
    cols.append(head(t("key_figures.share"), True))
    if show_count:
        cols.append(head(t("key_figures.change_count", prev=str(prev)), True))
    if show_pp:
        cols.append(head(t("key_figures.change_pp_prev", prev=str(prev)), True))
    rows = []
    for tier_id, e in tiers.items():
        d = good_direction(ctx, tier_id)
        row = [
            Cell(ctx.tier_label(tier_id), "par-tier", row_header=True),
            num(f.int(e["count"]), e["count"]),
            num(f.pct(e["share_display"]), e["share_display"]),
        ]
        cc, pp = e.get("change_count"), e.get("change_pp_display")
        if show_count:
            row.append(num(f.signed(cc) if cc is not None else "–", cc, change_cls(cc, d)))
        if show_pp:
            row.append(num(f.points(pp) if pp is not None else "–", pp, change_cls(pp, d)))
        rows.append(row)
    footer = [
        Cell(t("key_figures.total"), row_header=True),
        num(f.int(lv["total"]), lv["total"]),
        num(f.pct(lv.get("shares_sum_display")), lv.get("shares_sum_display")),
    ]
    if show_count:
        ct = lv.get("change_total")
        footer.append(num(f.signed(ct) if ct is not None else "–", ct))
    if show_pp:
        footer.append(num(""))
    return Table(
        f"key-figures-{level}",
        t("key_figures.caption", level=cap(ctx.level_label(level)), year=str(ctx.year)),
        cols,
        rows,
        footer,
    )


def key_figures_data(ctx: ReportContext) -> dict:
    t, f = ctx.t, ctx.f
    blocks = []
    for level in levels(ctx):
        lv = ctx.metrics["levels"][level]
        notes: list[str] = []
        if lv.get("previous_year") is None:
            notes.append(t("key_figures.no_previous", prev=str(ctx.prev)))
        basis = prose.basis_sentence(ctx, level)
        if basis:
            notes.append(basis)
        if lv.get("shares_sum_ok") is False:
            notes.append(t("key_figures.sum_not_100", sum=f.pct(lv.get("shares_sum_display"))))
        mean = prose.mean_sentence(ctx, level)
        if mean:
            notes.append(mean)
        blocks.append({"table": key_figures_table(ctx, level), "notes": notes})
    return {"id": "key-figures", "heading": t("sections.key_figures"), "blocks": blocks}


# --------------------------------------------------------------------------- results
def results_data(ctx: ReportContext) -> dict:
    t = ctx.t
    paras: list[dict] = []
    for level in levels(ctx):
        paras.append({"text": prose.results_paragraph(ctx, level), "cls": "par-result"})
        extra = [
            s for s in (prose.total_sentence(ctx, level), prose.movement_sentence(ctx, level)) if s
        ]
        if extra:
            paras.append({"text": " ".join(prose.sentence(x) for x in extra), "cls": ""})
    paras.append({"text": prose.satisfaction_paragraph(ctx), "cls": "par-result"})
    s = ctx.metrics.get("satisfaction") or {}
    if s.get("available") and s.get("group"):
        paras.append(
            {
                "text": t(
                    "results.satisfaction_method",
                    units=ctx.f.int(s["units"]),
                    group=ctx.group_label(s["group"]),
                ),
                "cls": "par-note",
            }
        )
    items = prose.national_items(ctx)
    return {
        "id": "results",
        "heading": t("sections.results"),
        "paragraphs": paras,
        "national_heading": t("results.national_heading", year=str(ctx.year)) if items else "",
        "national": items,
    }


# --------------------------------------------------------------------------- areas
def areas_table(ctx: ReportContext, level: str) -> Table | None:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    areas = lv.get("areas") or {}
    if not areas:
        return None
    prev = lv.get("previous_year")
    show_change = prev is not None and any(a.get("change") is not None for a in areas.values())
    cols = [
        head(t("areas.col_area")),
        head(t("areas.col_max"), True),
        head(t("areas.col_mean"), True),
        head(t("areas.col_pct"), True),
    ]
    if show_change:
        c = prose.comparison(lv)
        pooled = c["baseline"].get("provinces") or [] if c["basis"] == prose.COMBINED else []
        if len(pooled) > 1:  # the previous year's mean is of two provinces' units, pooled
            names = t.join([ctx.province_short(p) for p in pooled])
            pooled_head = t("areas.col_prev_pct_pooled", prev=str(prev), provinces=names)
            # its numbers stay on one line; the heading wraps (it widened the table past a
            # 1280 px screen, the change column cut off)
            cols += [Cell(pooled_head, "num par-wrap")]
        else:
            cols += [head(t("areas.col_prev_pct", prev=str(prev)), True)]
        cols += [head(t("areas.col_change"), True)]
    rows = []
    for a in areas.values():
        label = a.get("label_en" if ctx.lang == "en" else "label") or a.get("label") or ""
        row = [
            Cell(label, "par-area", row_header=True),
            num(f.num(a.get("max"), decimals=1), a.get("max")),
            num(f.num(a.get("mean")), _round(a.get("mean"))),
            num(f.pct(a.get("mean_pct_of_max")), _round(a.get("mean_pct_of_max"))),
        ]
        if show_change:
            ch = a.get("change_pct_of_max")
            row += [
                num(f.pct(a.get("prev_mean_pct_of_max")), _round(a.get("prev_mean_pct_of_max"))),
                num(f.points(ch) if ch is not None else "–", _round(ch), change_cls(ch, 1)),
            ]
        rows.append(row)
    return Table(
        f"areas-{level}",
        t("areas.caption", level=cap(ctx.level_label(level)), year=str(ctx.year)),
        cols,
        rows,
    )


def _round(x: Any, d: int = 2) -> Any:
    return None if x is None else round(float(x), d)


def areas_data(ctx: ReportContext) -> dict | None:
    tables = [tb for level in levels(ctx) if (tb := areas_table(ctx, level))]
    if not tables:
        return None
    notes = [ctx.t("areas.note")]
    return {"id": "areas", "heading": ctx.t("sections.areas"), "tables": tables, "notes": notes}


# --------------------------------------------------------------------------- blocs
def blocs_table(ctx: ReportContext, level: str) -> Table | None:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    groups = lv.get("by_group") or {}
    if not groups:
        return None
    by_district = lv.get("group_by") == "district"
    tier_ids = list(lv["tiers"])
    cols = [head(t("rankings.col_district") if by_district else t("rankings.col_group"))]
    cols += [head(ctx.tier_label(x), True) for x in tier_ids]
    cols += [head(t("rankings.col_units"), True), head(t("rankings.col_mean"), True)]
    entries = list(groups.values())
    if by_district:
        entries.sort(key=lambda g: vi_name_sort_key(g.get("label") or ""))
    rows = []
    for g in entries:
        label: str | Rich = [ctx.name(g["label"])] if by_district else ctx.group_label(g["key"])
        counts = g.get("counts") or {}
        row = [Cell(label, "par-group", row_header=True)]
        row += [num(f.int(counts.get(x, 0)), counts.get(x, 0)) for x in tier_ids]
        row += [
            num(f.int(g["total"]), g["total"]),
            num(f.num(g.get("mean_score")), _round(g.get("mean_score"))),
        ]
        rows.append(row)
    return Table(
        f"tiers-by-group-{level}",
        t(
            "blocs.caption_district" if by_district else "blocs.caption_group",
            level=cap(ctx.level_label(level)),
            year=str(ctx.year),
        ),
        cols,
        rows,
    )


def blocs_data(ctx: ReportContext) -> dict | None:
    tables = [tb for level in levels(ctx) if (tb := blocs_table(ctx, level))]
    if not tables:
        return None
    return {"id": "blocs", "heading": ctx.t("sections.blocs"), "tables": tables}


# --------------------------------------------------------------------------- national
def national_table(ctx: ReportContext) -> Table | None:
    """The national indices over the years: one row per year, value and rank per index
    (a rank keeps the number of provinces ranked that year: 10/63, then 8/34)."""
    t = ctx.t
    df = ctx.national
    if df is None or df.empty or "index" not in df.columns:
        return None
    df = df[df["year"] <= ctx.year] if "year" in df.columns else df
    indices = list(dict.fromkeys(df["index"]))
    years = sorted({int(y) for y in df["year"]})
    cols = [head(t("national.col_year"))]
    cols += [head(ctx.cfg.national_index_label(idx, ctx.lang), True) for idx in indices]
    simulated = set(ctx.simulated_national_years())
    rows = []
    for y in years:
        if y in simulated:  # the year says it, in the table and in its downloads
            label = t("national.simulated_year", year=str(y))
            row = [Cell(label, row_header=True, value=label)]
        else:
            row = [Cell(str(y), row_header=True, value=y)]
        for idx in indices:
            r = df[(df["index"] == idx) & (df["year"] == y)]
            if r.empty:
                row.append(num("–"))
                continue
            r0 = r.iloc[0]
            value = None if pd.isna(r0.get("value")) else float(r0["value"])
            unit = r0.get("unit") if "unit" in r.columns else None
            rank = None if pd.isna(r0.get("rank")) else int(r0["rank"])
            rank_of = r0.get("rank_of") if "rank_of" in r.columns else None
            rank_of = None if rank_of is None or pd.isna(rank_of) else int(rank_of)
            v = prose.index_value(ctx, value, unit) if value is not None else None
            rk = prose.rank_text(ctx, rank, rank_of)
            text = " · ".join(x for x in (v, rk) if x) or "–"
            row.append(num(text, text if text != "–" else None))
        rows.append(row)
    shown = sorted(simulated & set(years))
    notes: list[str | Rich] = []
    if shown:
        notes.append(t("national.simulated_note", years=ctx.years_text(shown)))
    return Table("national-indices", t("national.caption"), cols, rows, notes=notes)


def components_table(ctx: ReportContext) -> Table | None:
    """The PAR INDEX components (lĩnh vực) of the province, where the province's data
    has them (data/raw/<province>/national/par_index_components.csv)."""
    t, f = ctx.t, ctx.f
    p = ctx.paths.national_raw.parent / "par_index_components.csv"
    if not p.is_file():
        return None
    df = pd.read_csv(p, encoding="utf-8")
    if "year" in df.columns:
        df = df[df["year"] <= ctx.year]
    if df.empty:
        return None
    cols = [head(t("national.col_year"), True), head(t("national.col_component"))]
    cols += [head(t("national.col_value"), True), head(t("national.col_rank"), True)]
    rows = []
    for _, r in df.iterrows():
        label = r.get("component_en" if ctx.lang == "en" else "component_vi")
        value = None if pd.isna(r.get("value_pct")) else float(r["value_pct"])
        rank = None if pd.isna(r.get("rank")) else int(r["rank"])
        rank_of = None if pd.isna(r.get("rank_of")) else int(r["rank_of"])
        rows.append(
            [
                num(str(int(r["year"])), int(r["year"])),
                Cell(nfc(label), "par-area", row_header=True),
                num(f.pct(value) if value is not None else "–", value),
                num(prose.rank_text(ctx, rank, rank_of) or "–"),
            ]
        )
    return Table("par-index-components", t("national.components_caption"), cols, rows)


def national_data(ctx: ReportContext) -> dict | None:
    tables = [tb for tb in (national_table(ctx), components_table(ctx)) if tb]
    if not tables:
        return None
    return {
        "id": "national",
        "heading": ctx.t("sections.national"),
        "tables": tables,
        "notes": [ctx.t("national.note")],
    }


# --------------------------------------------------------------------------- charts
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
    """The charts (Chart objects; the caller closes them)."""
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
            totals = units.groupby("level", sort=False).size().to_dict()  # levels in order
            out.append(
                charts.movement_chart(
                    moves, ctx.cfg, ctx.t, ctx.f, ctx.prev, year=ctx.year, totals=totals
                )
            )
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
        ch = charts.national_ranks_chart(ctx.national, ctx.cfg, ctx.t, ctx.f)
        drawn = ctx.national[ctx.national["rank"].notna()]
        if "year" in drawn.columns:
            drawn = drawn[drawn["year"] <= ctx.year]
        sim = sorted(set(ctx.simulated_national_years()) & {int(y) for y in drawn["year"]})
        if sim:
            note = ctx.t("charts.national.simulated", years=ctx.years_text(sim))
            ch.caption, ch.alt = f"{ch.caption} {note}", f"{ch.alt} {note}"
        out.append(ch)
    return out


def charts_data(ctx: ReportContext) -> dict:
    import base64

    from . import charts

    def uri(ch) -> str:
        return "data:image/png;base64," + base64.b64encode(charts.png_bytes(ch)).decode("ascii")

    # each chart twice: at the printed column width (the PDF, wider screens) and narrower,
    # for phones (a <picture> source), where the same point sizes read larger; the live
    # preview (PAR_REVIEW_PHONE_CHARTS=0) draws the wide one only: half the charts' time
    phone = {}
    if os.environ.get("PAR_REVIEW_PHONE_CHARTS", "1") != "0":
        with charts.figure_width(charts.PHONE_WIDTH_IN):
            for ch in make_charts(ctx):
                phone[ch.key] = uri(ch)
                charts.close(ch)
    figures = []
    for ch in make_charts(ctx):
        figures.append(
            {"src": uri(ch), "src_phone": phone.get(ch.key), "alt": ch.alt, "caption": ch.caption}
        )
        charts.close(ch)
    return {
        "id": "charts",
        "heading": ctx.t("sections.charts"),
        "figures": figures,
        "none": ctx.t("charts.none") if not figures else "",
    }


# --------------------------------------------------------------------------- rankings
MEAN_MARK = "*"  # marks a previous-year score that is the mean of the predecessor units


def _shown(ctx: ReportContext, x: Any) -> Any:
    """`x` as the report shows it (the display rounding rule and precision), as a number."""
    if is_missing(x):
        return None
    return round_decimal(x, ctx.f.decimals, ctx.f.policy)


def _score_change(ctx: ReportContext, u: dict, before: Any) -> Cell:
    """The change between the two scores as shown (`before`: the previous score as the
    table shows it): a reader who subtracts the shown previous score from the shown score
    gets the shown change (the baseline of a merged unit, a mean of its predecessors, has
    more decimals than the table shows)."""
    if u.get("score_change") is None:
        return num("–")
    now = _shown(ctx, u.get("score"))
    if now is None or before is None:
        return num("–")
    ch = float(now - before)
    return num(ctx.f.num(ch, sign=True), ch, change_cls(ch, 1))


def _is_mean_baseline(u: dict) -> bool:
    return u.get("comparison_method") == "mean_of_predecessors"


def ranking_table(
    ctx: ReportContext,
    level: str,
    units: list[dict],
    caption: str | Rich | None,
    table_id: str,
    show_group: bool = True,
) -> Table:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    prev = lv.get("previous_year")
    by_district = lv.get("group_by") == "district"
    has_groups = group_key(lv) is not None
    in_group = ranks_in_group(lv)
    cols = [head(t("rankings.col_rank"), True)]
    if has_groups:
        cols.append(
            head(
                t("rankings.col_rank_district" if by_district else "rankings.col_rank_group"), True
            )
        )
    cols.append(head(ctx.unit_column(level)))
    if show_group and has_groups:
        cols.append(head(t("rankings.col_district") if by_district else t("rankings.col_group")))
    cols += [head(t("rankings.col_score"), True), head(t("rankings.col_tier"))]
    show_prev = prev is not None and any(u.get("prev_score") is not None for u in units)
    if show_prev:
        cols += [
            head(t("rankings.col_prev_score", prev=str(prev)), True),
            head(t("rankings.col_prev_tier", prev=str(prev))),
            head(t("rankings.col_change"), True),
        ]
    rows = []
    marked = False
    for u in units:
        row = [num(f.int(u["rank"]), u["rank"])]
        if has_groups:
            g = in_group.get(u["unit_id"])
            row.append(num(f.int(g) if g is not None else "–", g))
        row.append(Cell([ctx.name(u["unit_name"])], "par-unit", u["unit_name"], row_header=True))
        if show_group and has_groups:
            gname = group_name(ctx, lv, u)
            row.append(Cell(gname, "par-group", prose.plain(gname)))
        row += [num(f.num(u["score"]), u["score"]), Cell(ctx.tier_label(u["tier"]), "par-tier")]
        if show_prev:
            before = _shown(ctx, u.get("prev_score"))
            prev_cell = num(
                f.num(u.get("prev_score")), float(before) if before is not None else None
            )
            if _is_mean_baseline(u):
                prev_cell.text = f"{prev_cell.text}{MEAN_MARK}"
                prev_cell.note = t("rankings.mean_baseline_flag", prev=str(prev))
                marked = True
            row += [
                prev_cell,
                Cell(ctx.tier_label(u.get("prev_tier")), "par-tier"),
                _score_change(ctx, u, before),
            ]
        rows.append(row)
    notes: list[str | Rich] = []
    if marked:
        notes.append(t("rankings.mean_baseline_note", mark=MEAN_MARK, prev=str(prev)))
    return Table(table_id, caption, cols, rows, notes=notes)


def rankings_data(ctx: ReportContext) -> dict:
    t, f = ctx.t, ctx.f
    blocks = []
    for level in levels(ctx):
        lv = ctx.metrics["levels"][level]
        units = lv.get("units") or []
        label = ctx.level_label(level)
        tables: list[Table] = []
        if lv.get("group_by") == "district":
            groups: dict[str, list[dict]] = {}
            for u in units:
                groups.setdefault(u.get("district") or "", []).append(u)
            means = {
                g.get("label"): g.get("mean_score") for g in (lv.get("by_group") or {}).values()
            }
            for i, district in enumerate(sorted(groups, key=vi_name_sort_key)):
                members = groups[district]
                cap_ = t.rich(
                    "rankings.district_caption",
                    district=ctx.name(district),
                    n=f.int(len(members)),
                    mean=f.num(means.get(district)),
                )
                tables.append(
                    ranking_table(
                        ctx, level, members, cap_, f"ranking-{level}-{i + 1:02d}", show_group=False
                    )
                )
        else:
            tables.append(
                ranking_table(
                    ctx,
                    level,
                    units,
                    cap(t("rankings.full", level=label, year=str(ctx.year))),
                    f"ranking-{level}",
                )
            )
        blocks.append(
            {
                # one table: its caption is the heading; district tables get one above them
                "heading": cap(t("rankings.full", level=label, year=str(ctx.year)))
                if len(tables) > 1
                else None,
                "note": t("rankings.full_note"),
                "tables": tables,
                "top_bottom": top_bottom_table(ctx, level),
                "movers": movers_data(ctx, level),
            }
        )
    return {"id": "rankings", "heading": t("sections.rankings"), "blocks": blocks}


def top_bottom_table(ctx: ReportContext, level: str) -> Table | None:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    groups = lv.get("by_group") or {}
    if not groups:
        return None
    by_district = lv.get("group_by") == "district"

    def names(items: list[dict]) -> Cell:
        parts: Rich = []
        for i, u in enumerate(items):
            if i:
                parts.append(Part("; "))
            parts += t.rich(
                "rankings.unit_score", name=ctx.name(u["unit_name"]), score=f.num(u["score"])
            )
        return Cell(parts, "par-names", value=prose.plain(parts))

    entries = list(groups.values())
    if by_district:
        entries.sort(key=lambda g: vi_name_sort_key(g.get("label") or ""))
    rows = []
    for g in entries:
        label: str | Rich = [ctx.name(g["label"])] if by_district else ctx.group_label(g["key"])
        rows.append(
            [
                Cell(label, "par-group", row_header=True, value=prose.plain(label)),
                num(f.int(g["total"]), g["total"]),
                num(f.num(g.get("mean_score")), _round(g.get("mean_score"))),
                names(g.get("top") or []),
                names(g.get("bottom") or []),
            ]
        )
    cols = [
        head(t("rankings.col_district") if by_district else t("rankings.col_group")),
        head(t("rankings.col_units"), True),
        head(t("rankings.col_mean"), True),
        head(t("rankings.col_top")),
        head(t("rankings.col_bottom")),
    ]
    return Table(
        f"top-bottom-{level}",
        f"{cap(ctx.level_label(level))}: {t('rankings.top_bottom')}",
        cols,
        rows,
    )


def movers_data(ctx: ReportContext, level: str) -> dict | None:
    t, f = ctx.t, ctx.f
    lv = ctx.metrics["levels"][level]
    mv = lv.get("movements") or {}
    prev = lv.get("previous_year")
    if not mv.get("available") or prev is None:
        return None
    has_groups = group_key(lv) is not None
    by_district = lv.get("group_by") == "district"
    unit_col = ctx.unit_column(level)
    cols = [head(unit_col)]
    if has_groups:
        cols.append(head(t("rankings.col_district") if by_district else t("rankings.col_group")))
    cols += [
        head(t("rankings.col_prev_tier", prev=str(prev))),
        head(t("rankings.col_tier")),
        head(t("rankings.col_prev_score", prev=str(prev)), True),
        head(t("rankings.col_score"), True),
    ]

    def unit_cell(u: dict) -> Cell:
        return Cell([ctx.name(u["unit_name"])], "par-unit", u["unit_name"], row_header=True)

    def rows(items: list[dict]) -> list[list[Cell]]:
        out = []
        for u in by_name(items):
            row = [unit_cell(u)]
            if has_groups:
                g = group_name(ctx, lv, u)
                row.append(Cell(g, "par-group", prose.plain(g)))
            row += [
                Cell(ctx.tier_label(u.get("prev_tier")), "par-tier"),
                Cell(ctx.tier_label(u.get("tier")), "par-tier"),
                num(f.num(u.get("prev_score")), u.get("prev_score")),
                num(f.num(u.get("score")), u.get("score")),
            ]
            out.append(row)
        return out

    label = cap(ctx.level_label(level))
    tables: list[Table] = []
    empty: list[str] = []
    for kind in ("up", "down"):
        items = mv.get(kind) or []
        title = t.plural(f"rankings.movers_{kind}", len(items), n=f.int(len(items)))
        if items:
            tables.append(Table(f"movers-{kind}-{level}", f"{label}: {title}", cols, rows(items)))
        else:
            empty.append(f"{cap(title)}: {t('rankings.movers_none')}")
    if mv.get("merged"):
        mcols = [
            head(unit_col),
            head(t("rankings.col_predecessors")),
            head(t("rankings.col_tier")),
            head(t("rankings.col_score"), True),
        ]
        mrows = []
        for u in by_name(mv["merged"]):
            parts: Rich = []
            for i, p in enumerate(u.get("predecessors") or []):
                if i:
                    parts.append(Part("; "))
                parts.append(ctx.name(p.get("unit_name") or p.get("unit_id")))
                province = p.get("province")
                if (
                    province
                    and province != ctx.cfg.id
                    and not names_province(
                        p.get("unit_name") or "", ctx.province_short(province, "vi")
                    )
                ):
                    parts.append(Part(f" ({ctx.in_sentence(ctx.province_name(province))})"))
                if p.get("prev_tier"):
                    parts.append(Part(f", {ctx.tier_label(p.get('prev_tier'))}"))
            mrows.append(
                [
                    unit_cell(u),
                    Cell(parts, "par-names", value=prose.plain(parts)),
                    Cell(ctx.tier_label(u.get("tier")), "par-tier"),
                    num(f.num(u.get("score")), u.get("score")),
                ]
            )
        tables.append(
            Table(f"merged-{level}", f"{label}: {t('rankings.merged_units')}", mcols, mrows)
        )
    if mv.get("new"):
        ncols = [head(unit_col), head(t("rankings.col_tier")), head(t("rankings.col_score"), True)]
        nrows = [
            [
                unit_cell(u),
                Cell(ctx.tier_label(u.get("tier")), "par-tier"),
                num(f.num(u.get("score")), u.get("score")),
            ]
            for u in by_name(mv["new"])
        ]
        tables.append(Table(f"new-{level}", f"{label}: {t('rankings.new_units')}", ncols, nrows))
    if mv.get("left"):
        lcols = [
            head(unit_col),
            head(t("rankings.col_prev_tier", prev=str(prev))),
            head(t("rankings.col_prev_score", prev=str(prev)), True),
        ]
        lrows = [
            [
                unit_cell(u),
                Cell(ctx.tier_label(u.get("prev_tier")), "par-tier"),
                num(f.num(u.get("prev_score")), u.get("prev_score")),
            ]
            for u in by_name(mv["left"])
        ]
        tables.append(
            Table(
                f"left-{level}",
                f"{label}: {t('rankings.left_units', prev=str(prev))}",
                lcols,
                lrows,
            )
        )
    return {
        "heading": f"{label}: {t('rankings.movers', prev=str(prev))}",
        "note": t("rankings.movers_note"),
        "tables": tables,
        "empty": empty,
    }


# --------------------------------------------------------------------------- methodology
def methodology_data(ctx: ReportContext) -> dict:
    t, f = ctx.t, ctx.f
    items: list[str] = []
    for level in levels(ctx):
        by = ctx.scored_by(level)
        key = "method.scored_by_sentence" if by else "method.scored_sentence"
        items.append(prose.sentence(t(key, level=cap(ctx.level_label(level)), scored_by=by)))
    bands = []
    for level in levels(ctx):
        try:
            bl = ctx.cfg.bands(ctx.year, level)
        except Exception:  # noqa: BLE001 - a level without bands: tiers come from the data
            continue
        parts = []
        for b in bl:
            parts.append(
                t("method.band", tier=ctx.tier_label(b.tier), min=f.num(b.min_score, decimals=0))
            )
        if parts:
            bands.append(
                prose.sentence(
                    t("method.bands", level=cap(ctx.level_label(level)), bands="; ".join(parts))
                )
            )
    if bands and ctx.bands_assumed():
        bands.append(t("method.bands_assumed"))
    rounding = [prose.sentence(t("method.rounding", rule=prose.rounding_rule(ctx)))]
    rounding += [prose.sentence(x) for x in prose.truncation_note(ctx)]
    return {
        "id": "methodology",
        "heading": t("sections.methodology"),
        "scored": items,
        "bands_heading": t("method.bands_heading"),
        "bands": bands,
        "rounding_heading": t("method.rounding_heading"),
        "rounding": rounding,
    }


# --------------------------------------------------------------------------- quality
def _messages(v: dict, key: str, lang: str = "vi") -> list[str]:
    """Failures or warnings of validation.json as one line each:
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


def docs_link(v: dict | None) -> str:
    """The Data Docs page, relative to the report (never an absolute or remote URL)."""
    d = (v or {}).get("data_docs")
    if (
        isinstance(d, str)
        and d
        and ":" not in d
        and not d.startswith(("/", "\\"))
        and ".." not in d
    ):
        return d
    return VALIDATION_DOCS


def quality_data(ctx: ReportContext) -> dict:
    t, f = ctx.t, ctx.f
    v = ctx.validation
    out: dict[str, Any] = {
        "id": "quality",
        "heading": t("sections.quality"),
        "intro": t("quality.intro"),
        "status": None,
        "lists": [],
        "page": companion_link(ctx, f"validation.{ctx.lang}.html", "quality.page_link"),
        "docs": None,
    }
    if v is None:
        out["status"] = {"text": t("quality.not_validated"), "cls": "unknown"}
    else:
        failures, warnings = _messages(v, "failures", ctx.lang), _messages(v, "warnings", ctx.lang)
        n_fail = v.get("n_failures", v.get("n_critical", len(failures)))
        n_warn = v.get("n_warnings", len(warnings))
        ok = _validation_success(v)
        key, cls = ("quality.passed", "ok") if ok else ("quality.failed", "failed")
        out["status"] = {
            "text": t(
                key, checks=f.int(_checks(v)), failures=f.int(n_fail), warnings=f.int(n_warn)
            ),
            "cls": cls,
        }
        for label_key, items in (("quality.failures", failures), ("quality.warnings", warnings)):
            if items:
                out["lists"].append({"heading": t(label_key), "items": items})
        link = docs_link(v)
        out["docs"] = {
            "href": link,
            "text": t("quality.docs_link"),
            "where": t("quality.docs_where"),
        }
    checks = []
    for level, lv in ctx.metrics["levels"].items():
        ok = lv.get("shares_sum_ok")
        if ok is None:
            continue
        checks.append(
            t(
                "quality.report_checks",
                level=ctx.level_label(level),
                sum=f.pct(lv.get("shares_sum_display")),
                ok=t("quality.sum_ok") if ok else t("quality.sum_not_ok"),
            )
        )
    out["checks"] = checks
    return out


# --------------------------------------------------------------------------- downloads
def report_tables(ctx: ReportContext) -> list[Table]:
    """Every table of the report, in reading order (the downloads)."""
    out: list[Table] = []
    kf = key_figures_data(ctx)
    out += [b["table"] for b in kf["blocks"]]
    for d in (areas_data(ctx), blocs_data(ctx), national_data(ctx)):
        if d:
            out += d["tables"]
    for b in rankings_data(ctx)["blocks"]:
        out += b["tables"]
        if b["top_bottom"]:
            out.append(b["top_bottom"])
        if b["movers"]:
            out += b["movers"]["tables"]
    return [tb for tb in out if tb.download]


def download_name(table: Table) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", table.id.lower()).strip("-") + ".csv"


def downloads_data(ctx: ReportContext) -> dict:
    t = ctx.t
    base = f"downloads/{ctx.lang}"
    tables = [
        {"href": f"{base}/{download_name(tb)}", "text": tb.label or tb.id}
        for tb in report_tables(ctx)
    ]
    return {
        "id": "downloads",
        "heading": t("sections.downloads"),
        "intro": t("downloads.intro"),
        "xlsx": {"href": f"{base}/tables.xlsx", "text": t("downloads.xlsx")},
        "tables_label": t("downloads.csv"),
        "tables": tables,
        "pages": [
            companion_link(ctx, f"data-notes.{ctx.lang}.html", "downloads.data_notes"),
            companion_link(ctx, f"validation.{ctx.lang}.html", "quality.page_link"),
        ],
        "pages_label": t("downloads.pages"),
    }


# --------------------------------------------------------------------------- provenance
def provenance_data(ctx: ReportContext) -> dict:
    t, f = ctx.t, ctx.f
    p = ctx.provenance
    commit = p.get("commit")
    commit_text = (
        (t("provenance.commit_dirty", commit=commit) if p.get("dirty") else commit)
        if commit
        else t("provenance.commit_unknown")
    )
    files = [
        t(
            "provenance.file",
            file=Path(i["file"]).name,
            folder=Path(i["file"]).parent.name,
            kb=f.num(i["bytes"] / 1024, decimals=1),
            hash=i["sha256"][:12],
        )
        for i in p.get("inputs", [])
    ]
    rows = [
        (t("provenance.version"), f"par-review {p.get('version')}"),
        (t("provenance.commit"), commit_text),
        (t("provenance.config"), str(p.get("config_sha256") or "")[:12]),
    ]
    return {
        "id": "provenance",
        "heading": t("sections.provenance"),
        "intro": t("provenance.intro"),
        "files_label": t("provenance.inputs"),
        "files": files,
        "rows": rows,
    }


# =========================================================================== rendering
# The notebook's cells (one per name). Each renders one or more parts, in this order.
SECTIONS = ("header", "key_figures", "results", "charts", "rankings", "quality", "provenance")
PARTS: dict[str, tuple[str, ...]] = {
    "header": ("header",),
    "key_figures": ("structure", "key_figures"),
    "results": ("results", "areas", "blocs", "national"),
    "charts": ("charts",),
    "rankings": ("rankings",),
    "quality": ("methodology", "quality", "downloads"),
    "provenance": ("provenance",),
}
BUILDERS = {
    "header": header_data,
    "structure": structure_data,
    "key_figures": key_figures_data,
    "results": results_data,
    "areas": areas_data,
    "blocs": blocs_data,
    "national": national_data,
    "charts": charts_data,
    "rankings": rankings_data,
    "methodology": methodology_data,
    "quality": quality_data,
    "downloads": downloads_data,
    "provenance": provenance_data,
}
NUMBERED = (
    "structure",
    "key_figures",
    "results",
    "areas",
    "blocs",
    "national",
    "charts",
    "rankings",
    "methodology",
    "quality",
    "downloads",
)
_ANCHOR = {"key_figures": "key-figures"}


def _present(ctx: ReportContext, part: str) -> bool:
    if part == "structure":
        return structure_changed(ctx)
    if part == "areas":
        return any(ctx.metrics["levels"][lv].get("areas") for lv in levels(ctx))
    if part == "blocs":
        return any(ctx.metrics["levels"][lv].get("by_group") for lv in levels(ctx))
    if part == "national":
        return national_table(ctx) is not None or components_table(ctx) is not None
    return True


def _section_title(ctx: ReportContext, part: str) -> str:
    """The section's title; the blocs section says what its tables group by (from 2025 the
    district level is gone: no "by district" over tables by bloc only)."""
    if part == "blocs":
        lvs = [ctx.metrics["levels"][lv] for lv in levels(ctx)]
        kinds = {lv.get("group_by") == "district" for lv in lvs if lv.get("by_group")}
        if kinds == {True}:
            return ctx.t("sections.blocs_district")
        if kinds == {False}:
            return ctx.t("sections.blocs_group")
    return ctx.t(f"sections.{part}")


def _numeral(ctx: ReportContext, n: int) -> str:
    if ctx.lang != "vi":
        return f"{n}."
    romans = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII"]
    return f"{romans[n - 1]}."


def numbered(ctx: ReportContext) -> list[tuple[str, str, str]]:
    """(part, anchor, numbered heading) of every section present, in reading order (once
    per context: a context is not changed after `build_context`)."""
    if ctx._numbered is not None:
        return ctx._numbered
    out = []
    for part in NUMBERED:
        if not _present(ctx, part):
            continue
        n = len(out) + 1
        title = _section_title(ctx, part)
        out.append((part, _ANCHOR.get(part, part), f"{_numeral(ctx, n)} {title}"))
    ctx._numbered = out
    return out


def contents(ctx: ReportContext) -> list[dict]:
    return [{"href": f"#{a}", "text": h} for _, a, h in numbered(ctx)]


def section_data(ctx: ReportContext, part: str) -> dict | None:
    data = BUILDERS[part](ctx)
    if data is None:
        return None
    for p, anchor, title in numbered(ctx):
        if p == part:
            data["heading"], data["id"] = title, anchor
    return data


def render_part(ctx: ReportContext, part: str) -> str:
    from .render import render

    data = section_data(ctx, part)
    if data is None:
        return ""
    return render(
        f"sections/{part}.html.j2",
        s=data,
        lang=ctx.lang,
        scroll_hint=ctx.t("tables.scroll_hint"),
        keep_words=ctx.keep_words,
    )


def render_section(ctx: ReportContext, name: str) -> str:
    """One notebook cell's HTML (see SECTIONS): its parts, each from its template."""
    return "\n".join(x for x in (render_part(ctx, p) for p in PARTS[name]) if x)


def render_sections(ctx: ReportContext) -> list[str]:
    return [render_section(ctx, s) for s in SECTIONS]


def render_html(ctx: ReportContext) -> str:
    """The whole report as one standalone HTML page (without nbconvert): same template and
    CSS as the exporter. Used by tests and for quick previews."""
    from .exporters import standalone_page

    return standalone_page(render_sections(ctx), lang=ctx.lang)


def write_companions(ctx: ReportContext, out_dir: str | Path | None = None) -> list[Path]:
    """The report step's other outputs for this language: data-notes.<lang>.html,
    validation.<lang>.html and downloads/<lang>/ (CSV per table, tables.xlsx)."""
    from .companions import write_companions as _write

    return _write(ctx, Path(out_dir) if out_dir else ctx.out_dir)
