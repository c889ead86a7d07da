"""The report's charts: one theme, labels in the reader's language through i18n (wording)
and fmt (numbers), each returned with its alt text and caption.

Every chart function takes tidy DataFrames and returns a `Chart`; `png_bytes(chart)` gives
the same bytes for the same data (fixed size and dpi, no software/date metadata, Agg
renderer, fonts from the system: DejaVu Sans has every Vietnamese letter).

Speed: a chart is laid out once, without drawing (`_freeze`: the figure sizes are fixed,
so the panels are placed from the measured sizes of the tick labels, axis labels, titles,
texts outside the axes and the legend, whose column count follows from its texts' widths);
the PNG is its only draw, written as RGB (no alpha channel for the PDF to split off).
Most of what remains is matplotlib drawing the texts, glyph by glyph.

Importing this module changes no global state: it never calls `matplotlib.use()` and never
touches pyplot or `rcParams`. Each chart is an explicit `matplotlib.figure.Figure` on an Agg
canvas, drawn inside `theme()` (a `matplotlib.rc_context`). In JupyterLab `chart.figure`
(or `chart` itself) displays inline with whatever backend the kernel uses.

Readability rules every chart follows (tests/test_charts.py checks them on the demo data):
- every text is at least `MIN_FONT_PT` on a figure `WIDTH_IN` wide (the PDF); the HTML
  shows phones the chart drawn `PHONE_WIDTH_IN` wide, where the same sizes are at least
  `PHONE_MIN_PX` px on a 390 px screen;
- every text has a contrast of at least 4.5:1 with what is behind it (`contrast_ratio`,
  WCAG 2.1 relative luminance); labels on coloured segments pick their colour with
  `label_colour`;
- no two texts overlap, and no reference line runs through a text;
- a series is not drawn across a structural break (`structure_breaks`) or across a change
  of the number of provinces ranked (national indices).
"""

from __future__ import annotations

import re
import struct
import textwrap
import zlib
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache, wraps

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox, ScaledTranslation

from ..config import ProvinceConfig
from ..fmt import Formatter
from ..i18n import Translator

DPI = 150
PNG_COMPRESSION = 4  # zlib level (of 9): twice as fast as 6, 5 % larger
WIDTH_IN = 6.5  # the printed column width (the PDF, and the HTML on a wider screen)
MIN_FONT_PT = 9.0  # 9 pt at 6.5 in scaled to 390 px is 7.5 px: too small for a phone, so
# the HTML also carries each chart drawn PHONE_WIDTH_IN wide, for screens up to 40rem (a
# <picture> source; print never picks it): 9 pt at 4 in on a phone's 366 px column is 11.4 px
PHONE_WIDTH_IN = 4.0
PHONE_COLUMN_PX = 366  # a 390 px screen less the page's padding (2 x 0.8rem at 14 px)
PHONE_MIN_PX = 11.0
_WIDTH_IN: ContextVar[float] = ContextVar("par_review_chart_width_in", default=WIDTH_IN)
MIN_CONTRAST = 4.5
INK = "#1d2733"  # text
MUTED = "#4a5561"  # secondary text (7.5:1 on white)
GRID = "#dde1e5"
# one palette for the tiers, best first (green -> red), used by every chart and table legend
TIER_COLOURS = ["#2e7d4f", "#4a90c2", "#e0a030", "#c0392b", "#7f8c8d", "#8e44ad"]
# movements: colour-blind safe (Okabe-Ito blue / vermillion) and told apart by marker shape
MOVE_COLOURS = {"up": "#0072b2", "same": "#8a949e", "down": "#d55e00", "new": "#8e44ad"}
MOVE_MARKERS = {"up": "^", "same": "o", "down": "v", "new": "s"}
# satisfaction against its target: neither the tiers' green nor their red, and a pattern
SAT_MET = {"color": "#3d5a80", "edgecolor": "#3d5a80", "hatch": None}
SAT_MISSED = {"color": "#f3e3d3", "edgecolor": "#8a4b0f", "hatch": "////"}
SAT_NEUTRAL = {"color": "#7d8b99", "edgecolor": "#7d8b99", "hatch": None}
TARGET_COLOUR = INK
OVERALL_COLOUR = "#8a4b0f"
# target and overall lines closer than this (percentage points) are named in the legend
CLOSE_LINES_PP = 5.0
NATIONAL_COLOUR = "#2b5c8a"
BREAK_COLOUR = "#6b4f8a"
RC = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlecolor": INK,
    "axes.titlepad": 6,
    "axes.titley": 1.0,  # titles right above the axes (no top ticks): not re-measured per draw
    "axes.labelsize": 10,
    "axes.labelcolor": INK,
    "axes.facecolor": "white",
    "axes.edgecolor": "#9aa3ad",
    "axes.linewidth": 0.8,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.color": GRID,
    "grid.linewidth": 0.7,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.major.size": 0,
    "ytick.major.size": 0,
    "xtick.bottom": False,  # the tick marks have no length: not drawn at all (labels stay)
    "ytick.left": False,
    "xtick.major.pad": 7,
    "ytick.major.pad": 4,
    "legend.fontsize": 9.5,
    "legend.title_fontsize": 9.5,
    "legend.frameon": False,
    "text.color": INK,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "hatch.linewidth": 0.9,
    "svg.hashsalt": "par-review",
    "path.simplify": True,
    # glyphs as drawn by the font, without hinting: the same look at 150 dpi, and FreeType
    # lays text out in half the time (most of a chart's time goes to its texts)
    "text.hinting": "no_hinting",
}


class ChartFigure(Figure):
    """A Figure that shows itself in a notebook as PNG (`_repr_png_`), whatever the backend
    and even when pyplot was never imported (no backend registered a display for it)."""

    def _repr_png_(self) -> bytes:
        return png_bytes(self)


@dataclass
class Chart:
    key: str
    figure: Figure
    alt: str
    caption: str

    def _repr_png_(self) -> bytes:  # a Chart shows itself in a notebook, any backend
        return png_bytes(self)


@contextmanager
def figure_width(inches: float):
    """Charts drawn inside are `inches` wide (the phone rendering: `PHONE_WIDTH_IN`); the
    heights, font sizes and dpi stay, so the texts are larger relative to the figure."""
    token = _WIDTH_IN.set(float(inches))
    try:
        yield
    finally:
        _WIDTH_IN.reset(token)


def width_in() -> float:
    """The width of the charts drawn now (`figure_width`), in inches."""
    return _WIDTH_IN.get()


def narrow() -> bool:
    """Whether the charts drawn now are narrower than the printed column (the phone
    rendering: panels stacked, shorter lines, fewer ticks)."""
    return width_in() < WIDTH_IN


def theme():
    """The report's single theme, as a context: `with theme(): ...` (no global change)."""
    return mpl.rc_context(RC)


def _themed(fn: Callable) -> Callable:
    @wraps(fn)
    def inner(*args, **kwargs):
        with theme():
            return fn(*args, **kwargs)

    return inner


def png_bytes(chart: Chart | Figure, dpi: int = DPI) -> bytes:
    """The chart as PNG, from one draw: the same figure gives the same bytes (`_png`)."""
    fig = chart.figure if isinstance(chart, Chart) else chart
    with theme():
        canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        own = fig.dpi
        fig.dpi = dpi  # what savefig(dpi=...) does: every size is in points or inches
        try:
            canvas.draw()
            return _png(np.asarray(canvas.buffer_rgba()), dpi)
        finally:
            fig.dpi = own


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(rgba: np.ndarray, dpi: float) -> bytes:
    """A PNG of an RGBA pixel buffer: RGB when every pixel is opaque (the charts' background
    is white), so that a PDF embeds it without splitting off an alpha mask; no row filter
    (the charts' flat areas compress well without one, and encoding is three times faster
    than with adaptive filters); the resolution as its only metadata (no software, no
    date)."""
    h, w = rgba.shape[:2]
    pixels = rgba[..., :3] if (rgba[..., 3] == 255).all() else rgba
    rows = np.zeros((h, 1 + w * pixels.shape[2]), np.uint8)  # byte 0: filter type 0
    rows[:, 1:] = pixels.reshape(h, -1)
    colour_type = 2 if pixels.shape[2] == 3 else 6
    per_metre = int(dpi / 0.0254 + 0.5)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)),
            _png_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
            _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_COMPRESSION)),
            _png_chunk(b"IEND", b""),
        ]
    )


def close(chart: Chart) -> None:
    """Free the figure's artists: detach them from the figure, for the garbage collector (no
    pyplot registry holds it: dropping it also works). Unlike `Figure.clear`, the axes are
    not re-initialised first."""
    fig = chart.figure
    for ax in tuple(fig.axes):
        fig.delaxes(ax)
    fig.legends, fig.texts, fig.lines, fig.patches, fig.artists = [], [], [], [], []


def tier_palette(cfg: ProvinceConfig) -> dict[str, str]:
    return {t: TIER_COLOURS[i % len(TIER_COLOURS)] for i, t in enumerate(cfg.tier_ids)}


# -- colour and contrast (WCAG 2.1) -------------------------------------------------------
def relative_luminance(colour) -> float:
    """WCAG 2.1 relative luminance of a colour (any matplotlib colour spec), 0..1."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in to_rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a, b) -> float:
    """WCAG 2.1 contrast ratio of two colours, 1..21."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def label_colour(background, ratio: float = MIN_CONTRAST) -> str:
    """The text colour for a label on `background`: white, else the ink, else black (the
    first that reaches `ratio`; the best of them if none does)."""
    options = ("white", INK, "#000000")
    for c in options:
        if contrast_ratio(c, background) >= ratio:
            return c
    return max(options, key=lambda c: contrast_ratio(c, background))


def readable(colour, background="white", ratio: float = MIN_CONTRAST) -> str:
    """`colour`, darkened just enough to reach `ratio` against `background`."""
    rgb = np.array(to_rgb(colour))
    for k in np.linspace(0, 1, 41):
        c = rgb * (1 - k)
        if contrast_ratio(c, background) >= ratio:
            return mpl.colors.to_hex(c)
    return "#000000"


def _darker(a, b) -> str:
    return a if relative_luminance(a) <= relative_luminance(b) else b


def tint(colour, amount: float = 0.12) -> str:
    """`colour` mixed with white (an opaque tint: its contrast can be measured)."""
    rgb = np.array(to_rgb(colour))
    return mpl.colors.to_hex(1 - amount * (1 - rgb))


# -- structural breaks --------------------------------------------------------------------
def _label_of(value, lang: str) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        for key in ("short_label", "label"):
            if key in value:
                return _label_of(value[key], lang)
        v = value.get(lang) or value.get("vi")
        return str(v) if v else None
    return None


_FROM_YEAR = re.compile(r"^\s*(?:từ\s+năm|từ|from|since)\s+\d{4}\s*[:,.]?\s*", re.IGNORECASE)


def short_break_label(label: str | None) -> str | None:
    """A chart-sized version of a structure label: without its leading "Từ năm 2025:" /
    "From 2025:" (the chart prints the year), its parentheses, and anything after the
    first ";"."""
    if not label:
        return None
    s = _FROM_YEAR.sub("", str(label))
    s = s.split(";")[0]
    s = re.sub(r"\s*\([^)]*\)", "", s)
    s = re.sub(r"\s+", " ", s).strip(" ,.")
    return s or None


def structure_breaks(
    cfg: ProvinceConfig,
    years: Iterable[int],
    lang: str = "vi",
    level: str | None = None,
    metrics: Mapping | None = None,
) -> dict[int, str | None]:
    """The years in `years` (after the first) that start a new structure, with the config's
    label of the change (None when it has none). A year is a break when the config has a
    structure entry starting then (`cfg.structure_break`), when `level`'s comparison with the
    year before is not `same_set` (`cfg.comparability`), or when `metrics` (metrics.json)
    says so for its own year (`levels.<level>.comparison.basis`)."""
    years = sorted({int(y) for y in years})
    out: dict[int, str | None] = {}
    brk = getattr(cfg, "structure_break", None)
    comp = getattr(cfg, "comparability", None)
    for y in years[1:]:
        entry = None
        if callable(brk):
            try:
                entry = brk(y)
            except Exception:  # a config that cannot say: no break from it
                entry = None
        is_break = bool(entry)
        if not is_break and level is not None and callable(comp):
            try:
                is_break = (comp(y, level) or {}).get("basis", "same_set") != "same_set"
            except Exception:  # a config that cannot say: no break from it
                is_break = False
        if is_break:
            out[y] = short_break_label(_label_of(entry, lang)) if entry else None
    if metrics:
        my = metrics.get("year")
        lvs = metrics.get("levels") or {}
        for lv, spec in lvs.items():
            if level is not None and lv != level:
                continue
            c = (spec or {}).get("comparison") or {}
            if my is not None and c.get("basis", "same_set") != "same_set":
                y = int(my)
                if y in years[1:] and y not in out:
                    entry = brk(y) if callable(brk) else None
                    out[y] = short_break_label(_label_of(entry, lang)) if entry else None
    return out


def _break_text(t: Translator, year: int, label: str | None) -> str:
    return (
        t("charts.break.label", year=str(year), label=label)
        if label
        else t("charts.break.unlabelled", year=str(year))
    )


# -- layout helpers -----------------------------------------------------------------------
def _fit(text: str, chars: int) -> str:
    """`text` as it is on a figure of the printed width; wrapped at `chars` on a narrower
    one (the phone rendering), where a title beside another or beside long labels would
    run out of room."""
    if not narrow():
        return text
    return textwrap.fill(text, chars, break_long_words=False)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _pct_axis(f: Formatter):
    return FuncFormatter(lambda v, _pos: f.pct(v, decimals=0))


# -- layout: once, arithmetically, without a figure draw ---------------------------------
# The figure sizes are fixed, so each chart's axes are placed once from the sizes of what
# sits around them (tick labels, axis labels, titles, texts outside the axes, the legend
# below), measured without drawing; the PNG is then the figure's only draw. (A layout
# engine lays out, and so draws, every chart at least twice.)
PAD_W = 0.04 * DPI  # px around the figure and each panel, left and right
PAD_H = 0.06 * DPI  # px around the figure and each panel, top and bottom
GAP_W = 2 * PAD_W + 8  # px between what surrounds two panels side by side
GAP_H = 2 * PAD_H  # px between what surrounds two panels one above the other


def _new_figure(nrows: int = 1, ncols: int = 1, height: float = 3.4, grid="both", **kw):
    """A figure of `nrows` x `ncols` panels, gridlines along `grid` ("x", "y" or "both"),
    laid out later by `_freeze`."""
    fig = ChartFigure(figsize=(width_in(), height), dpi=DPI)
    FigureCanvasAgg(fig)
    with mpl.rc_context({"axes.grid.axis": grid}):  # set before any tick exists: cheaper
        axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _renderer(fig: Figure):
    return fig.canvas.get_renderer()


def _margins(box: Bbox, boxes: list) -> np.ndarray:
    """How far `boxes` reach beyond `box`: left, bottom, right, top (px, at least 0)."""
    if not boxes:
        return np.zeros(4)
    ext = np.array([b.extents for b in boxes])
    return np.maximum(
        [
            box.x0 - ext[:, 0].min(),
            box.y0 - ext[:, 1].min(),
            ext[:, 2].max() - box.x1,
            ext[:, 3].max() - box.y1,
        ],
        0,
    )


def _fixed_decorations(ax, r) -> np.ndarray:
    """Margins of what is drawn around `ax` at a fixed distance from its edges: tick labels,
    axis labels and titles. The axis labels are fixed where matplotlib would put them
    (beyond the tick labels), so the draw does not measure the tick labels again."""
    box = ax.get_window_extent(r)
    fig = ax.figure
    out = []
    for axis, is_x in ((ax.xaxis, True), (ax.yaxis, False)):
        if not axis.get_visible():
            continue
        labels = [
            lab.get_window_extent(r)
            for tick in axis._update_ticks()  # the ticks the draw draws (those in view)
            for lab in (tick.label1, tick.label2)
            if lab.get_visible() and lab.get_text()
        ]
        out += labels
        label = axis.label
        if not (label.get_visible() and label.get_text()):  # fixed too: not placed per draw
            axis.set_label_coords(*((0.5, 0) if is_x else (0, 0.5)))
            continue
        pad = axis.labelpad * fig.dpi / 72
        bb = label.get_window_extent(r)
        if is_x:  # under the tick labels below the axes, centred, its top against them
            off = box.y0 - min([b.y0 for b in labels if b.y1 <= box.y0 + 1] + [box.y0]) + pad
            shift = ScaledTranslation(0, -off / fig.dpi, fig.dpi_scale_trans)
            axis.set_label_coords(0.5, 0, ax.transAxes + shift)
            cx = box.x0 + box.width / 2
            out.append(
                Bbox.from_extents(
                    cx - bb.width / 2, box.y0 - off - bb.height, cx + bb.width / 2, box.y0 - off
                )
            )
        else:  # left of the tick labels, rotated, its bottom against them
            off = box.x0 - min([b.x0 for b in labels if b.x1 <= box.x0 + 1] + [box.x0]) + pad
            shift = ScaledTranslation(-off / fig.dpi, 0, fig.dpi_scale_trans)
            axis.set_label_coords(0, 0.5, ax.transAxes + shift)
            cy = box.y0 + box.height / 2
            out.append(
                Bbox.from_extents(
                    box.x0 - off - bb.width, cy - bb.height / 2, box.x0 - off, cy + bb.height / 2
                )
            )
    for title in (ax.title, ax._left_title, ax._right_title):
        if title.get_visible() and title.get_text():
            out.append(title.get_window_extent(r))
    return _margins(box, out)


def _text_decorations(ax, r) -> np.ndarray:
    """Margins of the texts of `ax` that are part of the layout (value columns beside the
    axes, marks above them): where they are depends on the axes' size."""
    texts = [t for t in ax.texts if t.get_visible() and t.get_in_layout() and t.get_text()]
    return _margins(ax.get_window_extent(r), [t.get_window_extent(r) for t in texts])


def _place(fig: Figure, margins: dict, legend_h: float) -> None:
    """Set the figure's subplot parameters so that every panel's margins fit."""
    w, h = fig.bbox.width, fig.bbox.height
    gs = next(iter(margins))[0]
    nrows, ncols = gs.get_geometry()
    left, bottom = np.zeros(ncols), np.zeros(nrows)
    right, top = np.zeros(ncols), np.zeros(nrows)
    for (_gs, ss), (ml, mb, mr, mt) in margins.items():
        r0, r1 = ss.rowspan.start, ss.rowspan.stop - 1
        c0, c1 = ss.colspan.start, ss.colspan.stop - 1
        left[c0], right[c1] = max(left[c0], ml), max(right[c1], mr)
        top[r0], bottom[r1] = max(top[r0], mt), max(bottom[r1], mb)
    left_px, right_px = left[0] + PAD_W, right[-1] + PAD_W
    top_px = top[0] + PAD_H
    bottom_px = bottom[-1] + PAD_H + (legend_h + 2 * PAD_H if legend_h else 0)
    gap_h = max((bottom[i] + top[i + 1] for i in range(nrows - 1)), default=0) + GAP_H
    gap_w = max((right[j] + left[j + 1] for j in range(ncols - 1)), default=0) + GAP_W
    tot_w, tot_h = w - left_px - right_px, h - top_px - bottom_px
    fig.subplots_adjust(
        left=left_px / w,
        right=1 - right_px / w,
        bottom=bottom_px / h,
        top=1 - top_px / h,
        wspace=gap_w * ncols / (tot_w - gap_w * (ncols - 1)) if ncols > 1 else 0,
        hspace=gap_h * nrows / (tot_h - gap_h * (nrows - 1)) if nrows > 1 else 0,
    )
    for ax in fig.axes:
        ax.apply_aspect()


def _freeze(fig: Figure) -> None:
    """Lay the figure out once and keep it: the panels placed so that their tick labels,
    axis labels, titles, outside texts and the legend below fit, measured without drawing.
    Texts placed afterwards (inside the axes) are positioned on the final geometry."""
    r = _renderer(fig)
    for ax in fig.axes:
        ax.viewLim  # noqa: B018 -- apply pending autoscaling before measuring
        ax.apply_aspect()
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_subplotspec() is not None]
    if not panels:
        return
    legend_h = sum(leg.get_window_extent(r).height for leg in fig.legends)
    key = {ax: (ax.get_subplotspec().get_gridspec(), ax.get_subplotspec()) for ax in panels}
    fixed = {ax: _fixed_decorations(ax, r) for ax in panels}

    def margins(texts: bool) -> dict:
        out: dict = {}
        for ax in panels:
            m = np.maximum(fixed[ax], _text_decorations(ax, r)) if texts else fixed[ax]
            k = key[ax]  # a twin shares its panel's cell
            out[k] = np.maximum(out.get(k, m), m)
        return out

    texts = any(t.get_in_layout() and t.get_text() for ax in panels for t in ax.texts)
    if texts:  # where the outside texts reach depends on the axes: measured on axes placed
        _place(fig, margins(False), legend_h)  # for everything else (close to the final)
    _place(fig, margins(texts), legend_h)


def _text_size_px(fig: Figure, text: str, size: float, weight: str = "normal"):
    """Width and height (display px) of `text` set in `size` pt."""
    return _text_size(text, float(size), weight, float(fig.dpi))


@lru_cache(maxsize=4096)
def _text_size(text: str, size: float, weight: str, dpi: float) -> tuple[float, float]:
    fig, renderer = _scratch(dpi)
    t = fig.text(0, 0, text, fontsize=size, fontweight=weight, fontfamily=RC["font.family"])
    bb = t.get_window_extent(renderer)
    t.remove()
    return bb.width, bb.height


@lru_cache(maxsize=4)
def _scratch(dpi: float):
    """A figure (never drawn) and its renderer, to measure texts on."""
    fig = Figure(figsize=(1, 1), dpi=dpi)
    return fig, FigureCanvasAgg(fig).get_renderer()


def _wrap_to(fig: Figure, text: str, size: float, room_px: float) -> str:
    """`text` wrapped on spaces so that no line is wider than `room_px`."""
    if _text_size_px(fig, text, size)[0] <= room_px:
        return text
    for width in range(len(text) - 1, 7, -1):
        wrapped = textwrap.fill(text, width, break_long_words=False)
        if max(_text_size_px(fig, ln, size)[0] for ln in wrapped.split("\n")) <= room_px:
            return wrapped
    return textwrap.fill(text, 8, break_long_words=False)


def _legend_width_px(widths: list[float], ncols: int, fontsize: float, dpi: float) -> float:
    """The width of a legend of entries whose texts are `widths` px wide, in `ncols`
    columns (matplotlib's arrangement: consecutive entries fill a column)."""
    rc, em = mpl.rcParams, fontsize * dpi / 72
    cols = [c for c in np.array_split(np.asarray(widths, dtype=float), ncols) if len(c)]
    entry = (rc["legend.handlelength"] + rc["legend.handletextpad"]) * em
    return (
        sum(c.max() + entry for c in cols)
        + rc["legend.columnspacing"] * em * (len(cols) - 1)
        + 2 * rc["legend.borderpad"] * em
    )


def _legend_below(fig: Figure, handles, labels, **kw) -> None:
    """One legend for all panels, in rows under them, as many columns as fit the width
    (computed from the entries' text widths; `_freeze` keeps room for it)."""
    width = fig.bbox.width
    size = FontProperties(size=mpl.rcParams["legend.fontsize"]).get_size_in_points()
    widths = [_text_size_px(fig, str(lab), size)[0] for lab in labels]
    ncols = next(
        (
            n
            for n in range(len(labels), 1, -1)
            if _legend_width_px(widths, n, size, fig.dpi) <= 0.96 * width
        ),
        1,
    )
    fig.legend(
        handles,
        labels,
        loc="lower center",
        bbox_to_anchor=(0.5, PAD_H / fig.bbox.height),
        borderaxespad=0,
        ncols=ncols,
        **kw,
    )


def _ref_line(
    ax, x=None, y=None, colour=INK, ls="--", lw=1.4, halo: float = 1.2, zorder=4, **kw
) -> Line2D:
    """A reference line (target, break...): gid "refline" — no text may sit on it. A thin
    white halo keeps it visible over bars."""
    stroke = [patheffects.withStroke(linewidth=lw + halo, foreground="white")] if halo else []
    draw = ax.axvline if x is not None else ax.axhline
    line = draw(
        x if x is not None else y,
        color=colour,
        ls=ls,
        lw=lw,
        zorder=zorder,
        path_effects=stroke,
        **kw,
    )
    line.set_gid("refline")
    return line


def _sentences(parts: list[str]) -> str:
    return " ".join(_cap(p.strip()) for p in parts if p and p.strip())


def _year_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


# -- 1. tier shares over the years, per level -------------------------------------------
@_themed
def tier_shares_chart(
    history: pd.DataFrame,
    cfg: ProvinceConfig,
    t: Translator,
    f: Formatter,
    *,
    breaks: Mapping[int, str | None] | None = None,
    metrics: Mapping | None = None,
) -> Chart:
    """`history`: year, level, tier, count, share (share in %), every year up to the report year.

    The bars of each level are split at a structural break (a gap and a labelled line):
    `breaks` maps the first year of a new structure to its label; by default they come from
    the config and from `metrics` (metrics.json) through `structure_breaks`."""
    present = set(history["level"])
    order = list(getattr(cfg, "all_levels", lambda: list(cfg.levels))())
    levels = [lv for lv in order if lv in present] + sorted(present - set(order))
    n = max(len(levels), 1)
    breaks_of = {}
    for level in levels:
        years = sorted(int(y) for y in history[history["level"] == level]["year"].unique())
        breaks_of[level] = (
            {y: lab for y, lab in breaks.items() if y in years[1:]}
            if breaks is not None
            else structure_breaks(cfg, years, t.lang, level=level, metrics=metrics)
        )
    panel = 2.35 + (0.55 if any(breaks_of.values()) else 0.0)  # room for the break's label
    fig, axes = _new_figure(n, 1, height=0.55 + panel * n, grid="y")
    pal = tier_palette(cfg)
    tiers = [x for x in cfg.tier_ids if x in set(history["tier"])] or cfg.tier_ids
    alt_parts, cap_breaks = [], {}
    seg_labels = []
    # one year of data is no series: the caption and the alt text name that year
    all_years = sorted({int(y) for y in history["year"].unique()})
    one_year = all_years[0] if len(all_years) == 1 else None
    for ax, level in zip(axes[:, 0], levels, strict=False):
        h = history[history["level"] == level]
        years = sorted(int(y) for y in h["year"].unique())
        brk = breaks_of[level]
        cap_breaks.update(brk)
        # x slots: one per year, one empty slot before each break
        xs, slot = [], 0
        for y in years:
            if y in brk:
                slot += 1
            xs.append(slot)
            slot += 1
        xs = np.array(xs, dtype=float)
        bottom = np.zeros(len(years))
        shares = h.groupby(["tier", "year"])["share"].sum()
        for tier in tiers:
            vals = np.array([float(shares.get((tier, y), 0.0)) for y in years])
            some = vals > 0  # an empty segment draws nothing but its edge
            if some.any():
                ax.bar(
                    xs[some],
                    vals[some],
                    bottom=bottom[some],
                    color=pal[tier],
                    width=0.72,
                    label=cfg.tier(tier).label(t.lang),
                    edgecolor="white",
                    linewidth=0.6,
                )
            seg_labels += [
                (ax, x, b, v, pal[tier]) for x, b, v in zip(xs, bottom, vals, strict=True)
            ]
            bottom += vals
        ax.set_xticks(xs, [str(y) for y in years])
        ax.set_xlim(-0.6, slot - 0.4)
        ax.yaxis.set_major_locator(FixedLocator([0, 25, 50, 75, 100]))
        ax.yaxis.set_major_formatter(_pct_axis(f))
        ax.set_ylabel(t("charts.share"))
        ax.set_title(_cap(cfg.level_label(level, t.lang)), loc="left")
        # the break: a line in the empty slot, its label in a strip above the 100% line
        slot_px = (width_in() - 1.0) * DPI / slot  # estimate: the y labels take about an inch
        placed, lines = [], 0
        for y, lab in brk.items():
            x = xs[years.index(y)] - 1
            right = x > (slot - 1) / 2  # label on the side with more room
            room = ((x - 0.12 + 0.6) if right else (slot - 0.4 - x - 0.12)) * slot_px - 8
            text = _wrap_to(fig, _break_text(t, y, lab), 9, room)
            placed.append((x, right, text))
            lines = max(lines, text.count("\n") + 1)
        top = 100.0 if not brk else 100 / (1 - (lines * 12.5 + 10) / (72 * (panel - 0.65)))
        ax.set_ylim(0, top)
        for x, right, text in placed:
            _ref_line(ax, x=x, colour=BREAK_COLOUR, ls=(0, (4, 2)), lw=1.3)
            ax.text(
                x - 0.12 if right else x + 0.12,
                (100 + top) / 2,
                text,
                ha="right" if right else "left",
                va="center",
                fontsize=9,
                color=readable(BREAK_COLOUR),
                gid="break-label",
                linespacing=1.15,
            ).set_in_layout(False)
        last = years[-1]
        best = cfg.tier_ids[0]
        best_share = float(shares.get((best, last), 0.0))
        alt_parts.append(
            t(
                "charts.tier_shares.alt_level"
                if one_year is None
                else "charts.tier_shares.alt_level_one",
                level=cfg.level_label(level, t.lang),
                years=_year_range(years[0], last),
                last=str(last),
                tier=cfg.tier(best).label(t.lang),
                share=f.pct(best_share),
            )
        )
    axes[-1][0].set_xlabel(t("charts.year"))
    handles = [Patch(color=pal[x]) for x in tiers]
    _legend_below(fig, handles, [cfg.tier(x).label(t.lang) for x in tiers])
    _freeze(fig)
    # the share inside each segment that is tall and wide enough for it
    for ax, x, b, v, colour in seg_labels:
        if v <= 0:
            continue
        text = f.pct(v, decimals=0)
        _place_inside_bar(ax, x, b, v, text, colour, width=0.72)
    for y, lab in sorted(cap_breaks.items()):
        alt_parts.append(t("charts.tier_shares.alt_break", text=_break_text(t, y, lab)))
    if one_year is None:
        caption, alt = t("charts.tier_shares.caption"), t("charts.tier_shares.alt")
    else:
        caption = t("charts.tier_shares.caption_one", year=str(one_year))
        alt = t("charts.tier_shares.alt_one", year=str(one_year))
    if cap_breaks:
        caption += " " + t(
            "charts.tier_shares.caption_break",
            breaks=t.join([_break_text(t, y, lab) for y, lab in sorted(cap_breaks.items())]),
        )
    return Chart(
        "tier_shares",
        fig,
        _sentences([alt, *alt_parts]),
        caption,
    )


def _place_inside_bar(ax, x, bottom, value, text, colour, width, size=9.0) -> bool:
    """Write `text` centred in a vertical bar segment if it fits (with a margin)."""
    fig = ax.figure
    tw, th = _text_size_px(fig, text, size, "bold")
    (x0, y0), (x1, y1) = ax.transData.transform(
        [(x - width / 2, bottom), (x + width / 2, bottom + value)]
    )
    if (x1 - x0) < tw + 4 or (y1 - y0) < th + 3:
        return False
    ax.text(
        x,
        bottom + value / 2,
        text,
        ha="center",
        va="center",
        fontsize=size,
        fontweight="bold",
        color=label_colour(colour),
        zorder=5,
    )
    return True


# -- 2. score distribution with the tier bands ------------------------------------------
@_themed
def score_distribution_chart(
    units: pd.DataFrame, cfg: ProvinceConfig, year: int, t: Translator, f: Formatter
) -> Chart:
    """`units`: level, score, tier for the report year (every level)."""
    present = set(units["level"])
    order = list(getattr(cfg, "all_levels", lambda: list(cfg.levels))())
    levels = [lv for lv in order if lv in present] + sorted(present - set(order))
    n = max(len(levels), 1)
    fig, axes = _new_figure(n, 1, height=0.35 + 2.25 * n, grid="y")
    pal = tier_palette(cfg)
    alt_parts, band_labels = [], []
    for ax, level in zip(axes[:, 0], levels, strict=False):
        u = units[units["level"] == level]
        lo = min(float(u["score"].min()), 60.0)
        lo = 10 * np.floor(lo / 10)
        bands = cfg.bands(year, level)
        for band in bands:
            a, b = max(band.min_score, lo), min(band.max_score, 100.0)
            if b > a:
                bg = tint(pal[band.tier])
                ax.axvspan(a, b, color=bg, zorder=0, lw=0)
                band_labels.append(
                    (ax, a, b, cfg.tier(band.tier).label(t.lang), pal[band.tier], bg)
                )
            if lo < band.min_score < 100:
                ax.axvline(band.min_score, color=pal[band.tier], lw=1, ls="--", zorder=1)
        bins = np.arange(lo, 100.0001, 2.5)  # edges fall on the band limits (70, 85, ...)
        bottom = np.zeros(len(bins) - 1)
        for tier in [x for x in cfg.tier_ids if x in set(u["tier"])]:
            counts, _ = np.histogram(u[u["tier"] == tier]["score"].astype(float), bins=bins)
            some = counts > 0  # an empty bin draws nothing but its edge
            ax.bar(
                bins[:-1][some],
                counts[some],
                width=np.diff(bins)[some],
                bottom=bottom[some],
                align="edge",
                color=pal[tier],
                edgecolor="white",
                linewidth=0.5,
                zorder=2,
            )
            bottom += counts
        top = max(float(bottom.max()), 1.0)
        ax.set_ylim(0, top * 1.3 + 0.5)  # the band names sit above the highest bar
        ax.set_xlim(lo, 100)
        ax.set_title(_cap(cfg.level_label(level, t.lang)), loc="left")
        ax.set_ylabel(t("charts.units"))
        ax.xaxis.set_major_formatter(_pct_axis(f))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        alt_parts.append(
            t(
                "charts.distribution.alt_level",
                level=cfg.level_label(level, t.lang),
                n=f.int(len(u)),
                low=f.pct(u["score"].min()),
                high=f.pct(u["score"].max()),
                median=f.pct(float(u["score"].median())),
            )
        )
    axes[-1][0].set_xlabel(t("charts.score"))
    _freeze(fig)
    for ax, a, b, label, colour, bg in band_labels:
        tw, _ = _text_size_px(fig, label, 9.5, "bold")
        (x0, _), (x1, _) = ax.transData.transform([(a, 0), (b, 0)])
        if x1 - x0 >= tw + 6:
            ax.text(
                (a + b) / 2,
                0.96,
                label,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=9.5,
                color=readable(colour, _darker(bg, GRID)),
                fontweight="bold",
            )
    bands_text = ", ".join(
        f"{cfg.tier(b.tier).label(t.lang)} ≥ {f.num(b.min_score, strip_zeros=True)}"
        for b in cfg.bands(year, levels[0])[:-1]
    )
    return Chart(
        "score_distribution",
        fig,
        _sentences([t("charts.distribution.alt", year=str(year)), *alt_parts]),
        t("charts.distribution.caption", bands=bands_text, year=str(year)),
    )


# -- 3. movement since the previous year --------------------------------------------------
@_themed
def movement_chart(
    moves: pd.DataFrame,
    cfg: ProvinceConfig,
    t: Translator,
    f: Formatter,
    prev_year: int,
    *,
    year: int | None = None,
    totals: Mapping[str, int] | None = None,
) -> Chart:
    """`moves`: level, score_prev, score, move ("up"/"same"/"down") for units scored both years.
    `year` is the report year (default: prev_year + 1). `totals`: the units of each level
    scored in `year`; where the figure shows fewer (merged and new units, units that cannot
    be matched with `prev_year`), its caption says how many it shows."""
    year = int(year) if year is not None else int(prev_year) + 1
    present = set(moves["level"])
    order = list(getattr(cfg, "all_levels", lambda: list(cfg.levels))())
    levels = [lv for lv in order if lv in present] + sorted(present - set(order))
    n = max(len(levels), 1)
    # two levels side by side; one above the other on a narrow (phone) figure
    ncols = 2 if n == 2 and not narrow() else 1
    nrows = int(np.ceil(n / ncols))
    side = (width_in() - 0.3) / ncols
    fig, axes = _new_figure(
        nrows, ncols, height=min(side, 4.2 if ncols > 1 else 3.7) * nrows + 0.55
    )
    alt_parts = []
    order = ["up", "same", "down"]
    flat = list(axes.flat)
    for ax, level in zip(flat, levels, strict=False):
        m = moves[moves["level"] == level]
        lo = 10 * np.floor(min(float(m["score_prev"].min()), float(m["score"].min())) / 10)
        ax.plot([lo, 100], [lo, 100], color="#7b8794", lw=1, ls=":", zorder=1)
        for mv in ["same", "up", "down"]:  # up and down drawn over the many "same"
            sub = m[m["move"] == mv]
            if len(sub):
                ax.scatter(
                    sub["score_prev"],
                    sub["score"],
                    s=30 if mv != "same" else 14,
                    marker=MOVE_MARKERS[mv],
                    color=MOVE_COLOURS[mv],
                    alpha=0.9 if mv != "same" else 0.7,
                    edgecolor="white" if mv == "same" else "#1d2733",
                    linewidth=0.3 if mv == "same" else 0.4,
                    zorder=3 if mv != "same" else 2,
                )
        ax.set_xlim(lo, 100)
        ax.set_ylim(lo, 100)
        ax.set_aspect("equal", adjustable="box")
        title = _cap(cfg.level_label(level, t.lang))
        ax.set_title(textwrap.fill(title, 24) if ncols > 1 else title, loc="left")
        ax.set_xlabel(t("charts.movement.x", year=str(prev_year)))
        ax.set_ylabel(t("charts.movement.y", year=str(year)))
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
            axis.set_major_formatter(_pct_axis(f))
        counts = {mv: int((m["move"] == mv).sum()) for mv in order}
        alt_parts.append(
            t(
                "charts.movement.alt_level",
                level=cfg.level_label(level, t.lang),
                up=f.int(counts["up"]),
                same=f.int(counts["same"]),
                down=f.int(counts["down"]),
            )
        )
    for ax in flat[len(levels) :]:
        ax.set_visible(False)
    shown = [mv for mv in order if (moves["move"] == mv).any()]
    handles = [
        Line2D(
            [],
            [],
            ls="none",
            marker=MOVE_MARKERS[mv],
            markersize=7 if mv != "same" else 5,
            color=MOVE_COLOURS[mv],
            markeredgecolor="#1d2733" if mv != "same" else "white",
            markeredgewidth=0.4,
        )
        for mv in shown
    ]
    _legend_below(fig, handles, [t(f"charts.movement.{mv}") for mv in shown])
    _freeze(fig)
    caption = t("charts.movement.caption", prev=str(prev_year), year=str(year))
    drawn = moves.groupby("level").size()
    partial = [
        t(
            "charts.movement.shown_level",
            shown=f.int(int(drawn.get(level, 0))),
            total=f.int(int(total)),
            level=cfg.level_label(level, t.lang),
        )
        for level, total in (totals or {}).items()
        if int(drawn.get(level, 0)) < int(total)
    ]
    if partial:
        caption = _sentences(
            [caption, t("charts.movement.partial", prev=str(prev_year), shown=t.join(partial))]
        )
    return Chart(
        "movement",
        fig,
        _sentences([t("charts.movement.alt", prev=str(prev_year), year=str(year)), *alt_parts]),
        caption,
    )


# -- 4. satisfaction per unit against the target ------------------------------------------
@_themed
def satisfaction_chart(
    sat: pd.DataFrame,
    target: float | None,
    t: Translator,
    f: Formatter,
    overall: float | None = None,
    *,
    year: int | None = None,
) -> Chart:
    """`sat`: unit_name, satisfaction_pct (one row per unit), sorted here (best first).

    Bars start at 0. A unit that met the target is a solid bar, one below it a hatched
    light bar, and the value column beside the bars says "met"/"below" in words. The target
    (dashed) and the overall index (solid) are labelled above the bars, clear of them."""
    s = sat.sort_values(["satisfaction_pct", "unit_name"], ascending=[False, True]).reset_index(
        drop=True
    )
    thin = narrow()  # the phone rendering: shorter name lines, fewer ticks
    names = [
        textwrap.fill(str(nm), 18 if thin else 24, break_long_words=False) for nm in s["unit_name"]
    ]
    lines = max((nm.count("\n") + 1 for nm in names), default=1)
    row = 0.24 if lines == 1 else 0.38
    fig, axes = _new_figure(1, 1, height=max(2.4, row * len(s) + 1.45), grid="x")
    ax = axes[0][0]
    ax.tick_params(axis="y", labelsize=9)  # before the ticks exist: applied once
    vals = s["satisfaction_pct"].astype(float).to_numpy()
    met = [target is None or v >= target for v in vals]
    ys = np.arange(len(s))
    for flag in (True, False):
        idx = [i for i, m in enumerate(met) if m == flag]
        if not idx:
            continue
        style = SAT_NEUTRAL if target is None else (SAT_MET if flag else SAT_MISSED)
        ax.barh(
            ys[idx],
            vals[idx],
            height=0.68,
            color=style["color"],
            edgecolor=style["edgecolor"],
            hatch=style["hatch"],
            linewidth=0.8,
            zorder=2,
        )
    ax.set_yticks(ys, names)
    ax.set_ylim(len(s) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_locator(FixedLocator([0, 50, 100] if thin else [0, 25, 50, 75, 100]))
    ax.xaxis.set_major_formatter(_pct_axis(f))
    ax.set_xlabel(t("charts.satisfaction.x"))
    # the values, in a column right of the plot (no line can cross them)
    for i, v in enumerate(vals):
        if target is None:
            text = f.pct(v)
        else:
            word = t("charts.satisfaction.met" if met[i] else "charts.satisfaction.missed")
            text = t("charts.satisfaction.value", value=f.pct(v), status=word)
        ax.annotate(
            text,
            (1, i),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=9,
            color=INK,
            annotation_clip=False,
        )
    marks = []
    if target is not None:
        # dashed, on top of the overall line: both stay visible when they nearly coincide
        _ref_line(ax, x=target, colour=TARGET_COLOUR, ls=(0, (4, 2.5)), lw=1.5, halo=0, zorder=6)
        marks.append(
            (target, t("charts.satisfaction.target", value=f.pct(target, strip_zeros=True)), INK)
        )
    if overall is not None:
        _ref_line(ax, x=overall, colour=OVERALL_COLOUR, ls="-", lw=2.6, zorder=5)
        marks.append(
            (
                overall,
                t("charts.satisfaction.overall", value=f.pct(overall)),
                readable(OVERALL_COLOUR),
            )
        )
    # Two lines closer than CLOSE_LINES_PP percentage points (2025: target 85%, overall
    # 84,61%, 1.5 px apart) cannot each carry a label above the plot: the two labels would
    # meet at the lines and read as one. They are then told apart in the legend, each with a
    # sample of its line (dashed target, solid overall). Lines further apart keep their
    # labels above the plot: the higher value's label to the right of its line, the lower
    # value's to the left of its own, so they never meet.
    marks.sort(key=lambda m: m[0])
    close = len(marks) == 2 and abs(marks[1][0] - marks[0][0]) < CLOSE_LINES_PP
    for k, (x, text, colour) in enumerate([] if close else marks):
        left_side = len(marks) == 2 and k == 0
        ax.annotate(
            text,
            (x, 1),
            xycoords=("data", "axes fraction"),
            xytext=(-3 if left_side else 3, 4),
            textcoords="offset points",
            ha="right" if left_side else "left",
            va="bottom",
            fontsize=9,
            fontweight="bold",
            color=colour,
            annotation_clip=False,
        )
    handles, labels = [], []
    if target is not None:
        handles += [
            Patch(facecolor=SAT_MET["color"], edgecolor=SAT_MET["edgecolor"]),
            Patch(
                facecolor=SAT_MISSED["color"],
                edgecolor=SAT_MISSED["edgecolor"],
                hatch=SAT_MISSED["hatch"],
            ),
        ]
        labels += [t("charts.satisfaction.legend_met"), t("charts.satisfaction.legend_missed")]
    if close:
        handles += [
            Line2D([], [], color=TARGET_COLOUR, ls=(0, (4, 2.5)), lw=1.5),
            Line2D([], [], color=OVERALL_COLOUR, ls="-", lw=2.6),
        ]
        labels += [
            t("charts.satisfaction.target", value=f.pct(target, strip_zeros=True)),
            t("charts.satisfaction.overall", value=f.pct(overall)),
        ]
    if handles:
        _legend_below(fig, handles, labels)
    below = int((vals < target).sum()) if target is not None else 0
    alt = t(
        "charts.satisfaction.alt",
        n=f.int(len(s)),
        low=f.pct(s["satisfaction_pct"].min()),
        high=f.pct(s["satisfaction_pct"].max()),
        target=f.pct(target, strip_zeros=True) if target is not None else "–",
        below=f.int(below),
    )
    if target is None:
        alt = t(
            "charts.satisfaction.alt_no_target",
            n=f.int(len(s)),
            low=f.pct(s["satisfaction_pct"].min()),
            high=f.pct(s["satisfaction_pct"].max()),
        )
    parts = [
        t("charts.satisfaction.caption", year=str(year))
        if year is not None
        else t("charts.satisfaction.caption_any_year")
    ]
    if target is not None:
        parts.append(t("charts.satisfaction.caption_target"))
    if overall is not None:
        parts.append(t("charts.satisfaction.caption_overall", overall=f.pct(overall)))
    _freeze(fig)
    return Chart("satisfaction", fig, alt, " ".join(parts))


def _rank_axis(a, total: int, f: Formatter, twin: int, fig: Figure) -> None:
    """A rank axis from 1 (top) to `total` (bottom), with no 0; twin axes on the right."""
    pad = max(total * 0.12, 2.5)
    a.set_ylim(total + pad, 1 - pad)
    mids = MaxNLocator(nbins=3, integer=True).tick_values(1, total)
    ticks = [1] + [v for v in mids if 1 + total * 0.25 < v < total - total * 0.25] + [total]
    a.yaxis.set_major_locator(FixedLocator(ticks))
    a.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f.int(int(round(v)))))
    if twin:
        a.grid(False)
        a.spines["right"].set_visible(True)
        a.spines["right"].set_position(("outward", 34 * (twin - 1)))
        a.spines["right"].set_linestyle((0, (4, 2)))
        a.spines["right"].set_color(BREAK_COLOUR)


def _line_points_px(axes) -> np.ndarray:
    """Every line of `axes` (data and reference lines) as dense display points."""
    pts = []
    for line in [ln for ax in axes for ln in ax.lines]:
        ax = line.axes
        xy = ax.transData.transform(np.column_stack(line.get_data()).astype(float))
        for a, b in zip(xy[:-1], xy[1:], strict=True):
            if np.isfinite(a).all() and np.isfinite(b).all():
                pts.append(a + np.linspace(0, 1, 40)[:, None] * (b - a))
        pts.append(xy[np.isfinite(xy).all(axis=1)])
    return np.vstack(pts) if pts else np.zeros((0, 2))


def _place_point_label(
    ax, x, y, text, placed: list, group=None, size: float = 9.0, line_pts=None
) -> None:
    """Label a point above, below, right or left of it: the first place inside the axes
    that touches no line, marker or label already placed. `line_pts`: the panel's lines as
    display points (`_line_points_px(group)`), computed once for all its labels."""
    r = _renderer(ax.figure)
    box = ax.get_window_extent(r)
    if line_pts is None:
        line_pts = _line_points_px(group or [ax])
    options = [
        ((0, 7), "center", "bottom"),
        ((0, -7), "center", "top"),
        ((8, 0), "left", "center"),
        ((-8, 0), "right", "center"),
    ]
    ann = ax.annotate(
        text,
        (x, y),
        xytext=options[0][0],
        textcoords="offset points",
        fontsize=size,
        color=INK,
        zorder=5,
    )

    def put(offset, ha, va) -> Bbox:
        ann.xyann = offset
        ann.set_horizontalalignment(ha)
        ann.set_verticalalignment(va)
        return ann.get_window_extent(r)

    best = None
    for offset, ha, va in options:
        bb = put(offset, ha, va)
        grown = bb.expanded(1.0, 1.0).padded(2)
        inside = box.x0 <= bb.x0 and bb.x1 <= box.x1 and box.y0 <= bb.y0 and bb.y1 <= box.y1
        hits_line = bool(
            len(line_pts)
            and (
                (line_pts[:, 0] >= grown.x0)
                & (line_pts[:, 0] <= grown.x1)
                & (line_pts[:, 1] >= grown.y0)
                & (line_pts[:, 1] <= grown.y1)
            ).any()
        )
        hits_label = any(bb.overlaps(o) for o in placed)
        if inside and not hits_line and not hits_label:
            placed.append(bb)
            return
        if best is None and inside and not hits_label:
            best = (offset, ha, va)
    placed.append(put(*(best or options[0])))


# -- 5. national index ranks over time ----------------------------------------------------
@_themed
def national_ranks_chart(
    national: pd.DataFrame, cfg: ProvinceConfig, t: Translator, f: Formatter
) -> Chart:
    """`national`: index, year, rank, rank_of (rows without a rank are skipped).

    One panel per index, each with its own axis from 1 (top) to the number of provinces
    ranked; the line is broken at a year without a rank and where the number ranked
    changes (a rank out of 34 is not compared with one out of 63)."""
    n = national.dropna(subset=["rank"]).copy()
    n["rank"] = n["rank"].astype(int)
    n["year"] = n["year"].astype(int)
    configured = list((cfg.data.get("national_indices") or {}).keys())
    present = list(n["index"].unique())
    indices = [i for i in configured if i in present] + sorted(set(present) - set(configured))
    k = max(len(indices), 1)
    fig, axes = _new_figure(k, 1, height=0.3 + 1.75 * k, grid="y")
    all_years = list(range(int(n["year"].min()), int(n["year"].max()) + 1)) if len(n) else []
    colour = NATIONAL_COLOUR
    parts, points = [], []
    for ax, idx in zip(axes[:, 0], indices, strict=False):
        d = n[n["index"] == idx].sort_values("year").to_dict("records")

        def total_of(r) -> int | None:
            return None if pd.isna(r["rank_of"]) else int(r["rank_of"])

        # one rank axis per number of provinces ranked (1 at the top, the total at the
        # bottom): the first on the left, each later one on the right
        axis_of: dict = {}
        for r in d:
            key = total_of(r)
            if key in axis_of:
                continue
            j = len(axis_of)
            a = ax if j == 0 else ax.twinx()
            worst = max(int(x["rank"]) for x in d if total_of(x) == key)
            _rank_axis(a, max(key or 0, worst), f, twin=j, fig=fig)
            axis_of[key] = a
        group = list(axis_of.values())
        # segments: consecutive years with a rank and the same total
        segs, cur = [], []
        for i, r in enumerate(d):
            if cur:
                p = d[cur[-1]]
                same_total = total_of(p) == total_of(r)
                if not same_total or r["year"] != p["year"] + 1:
                    segs.append(cur)
                    cur = []
                    if not same_total:
                        _ref_line(
                            ax, x=r["year"] - 0.5, colour=BREAK_COLOUR, ls=(0, (4, 2)), lw=1.2
                        )
                        ax.set_title(
                            _fit(
                                t(
                                    "charts.national.total_change",
                                    year=str(int(r["year"])),
                                    total=f.int(total_of(r)) if total_of(r) is not None else "–",
                                ),
                                16,
                            ),
                            loc="right",
                            fontsize=9,
                            fontweight="normal",
                            color=readable(BREAK_COLOUR),
                        )
            cur.append(i)
        if cur:
            segs.append(cur)
        for seg in segs:
            axis_of[total_of(d[seg[0]])].plot(
                [d[i]["year"] for i in seg],
                [d[i]["rank"] for i in seg],
                marker="o",
                ms=5.5,
                lw=1.8,
                color=colour,
                zorder=3,
            )
        for r in d:
            points.append((axis_of[total_of(r)], group, r))
        ax.set_xticks(all_years, [str(y) for y in all_years])
        if all_years:
            ax.set_xlim(all_years[0] - 0.5, all_years[-1] + 0.5)
        ax.set_title(_fit(cfg.national_index_label(idx, t.lang), 16), loc="left")
        ax.set_ylabel(t("charts.national.y_short"))
        last = d[-1]
        parts.append(
            t(
                "charts.national.alt_index",
                index=cfg.national_index_label(idx, t.lang),
                year=str(int(last["year"])),
                rank=f.fraction(last["rank"], last["rank_of"])
                if not pd.isna(last["rank_of"])
                else f.int(last["rank"]),
            )
        )
    _freeze(fig)
    placed: dict = {}
    line_pts: dict = {}
    for a, group, r in points:
        label = (
            f.fraction(r["rank"], r["rank_of"]) if not pd.isna(r["rank_of"]) else f.int(r["rank"])
        )
        key = id(group[0])
        if key not in line_pts:
            line_pts[key] = _line_points_px(group)
        _place_point_label(
            a,
            r["year"],
            r["rank"],
            label,
            placed.setdefault(key, []),
            group,
            line_pts=line_pts[key],
        )
    caption = t("charts.national.caption")
    if len(fig.axes) > len(indices):  # a second rank axis: the number ranked changed
        caption += " " + t("charts.national.caption_total_change")
    return Chart(
        "national_ranks",
        fig,
        _sentences([t("charts.national.alt"), *parts]),
        caption,
    )


# -- 6. reform areas (lĩnh vực): mean as % of the area's maximum ---------------------------
def areas_frame(metrics: Mapping, lang: str = "vi") -> pd.DataFrame:
    """metrics.json `levels.*.areas` as a tidy frame: level, area, label, mean_pct, prev_pct
    (prev_pct is None where the comparison basis gives no previous figure)."""
    rows = []
    for level, lv in (metrics.get("levels") or {}).items():
        for area, a in ((lv or {}).get("areas") or {}).items():
            label = a.get(f"label_{lang}") if lang != "vi" else None
            rows.append(
                {
                    "level": level,
                    "area": area,
                    "label": label or a.get("label") or area,
                    "mean_pct": a.get("mean_pct_of_max"),
                    "prev_pct": a.get("prev_mean_pct_of_max"),
                }
            )
    return pd.DataFrame(rows, columns=["level", "area", "label", "mean_pct", "prev_pct"])


@_themed
def areas_chart(
    areas: pd.DataFrame,
    cfg: ProvinceConfig,
    year: int,
    t: Translator,
    f: Formatter,
    *,
    prev_year: int | None = None,
) -> Chart:
    """`areas`: level, area, label, mean_pct, prev_pct (`areas_frame`). One panel per level,
    bars from 0 to 100% of each area's maximum, in config order; the previous year's
    figure (where comparable) is a diamond on the bar."""
    a = areas.dropna(subset=["mean_pct"])
    present = set(a["level"])
    order = list(getattr(cfg, "all_levels", lambda: list(cfg.levels))())
    levels = [lv for lv in order if lv in present] + sorted(present - set(order))
    rows = [len(a[a["level"] == lv]) for lv in levels]
    names = {
        r.Index: textwrap.fill(str(r.label), 18 if narrow() else 26, break_long_words=False)
        for r in a.itertuples()
    }
    lines = max((nm.count("\n") + 1 for nm in names.values()), default=1)
    row = 0.26 if lines == 1 else 0.4
    fig, axes = _new_figure(
        max(len(levels), 1),
        1,
        height=0.6 + sum(row * n + 0.75 for n in rows),
        gridspec_kw={"height_ratios": [max(n, 1) for n in rows] or [1]},
    )
    has_prev = prev_year is not None and a["prev_pct"].notna().any()
    alt_parts = []
    for ax, level in zip(axes[:, 0], levels, strict=False):
        d = a[a["level"] == level]
        ys = np.arange(len(d))
        ax.barh(ys, d["mean_pct"].astype(float), height=0.66, color=NATIONAL_COLOUR, zorder=2)
        if has_prev:
            p = d["prev_pct"].astype(float)
            ax.scatter(
                p,
                ys,
                marker="D",
                s=30,
                color="white",
                edgecolor=INK,
                linewidth=1.1,
                zorder=3,
            )
        ax.set_yticks(ys, [names[i] for i in d.index])
        ax.set_ylim(len(d) - 0.5, -0.5)
        ax.set_xlim(0, 100)
        ax.xaxis.set_major_locator(FixedLocator([0, 25, 50, 75, 100]))
        ax.xaxis.set_major_formatter(_pct_axis(f))
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", labelsize=9)
        ax.set_title(_fit(_cap(cfg.level_label(level, t.lang)), 20), loc="left")
        for i, v in enumerate(d["mean_pct"].astype(float)):
            ax.annotate(
                f.pct(v),
                (1, i),
                xycoords=("axes fraction", "data"),
                xytext=(6, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=9,
                color=INK,
                annotation_clip=False,
            )
        best, worst = d.loc[d["mean_pct"].idxmax()], d.loc[d["mean_pct"].idxmin()]
        alt_parts.append(
            t(
                "charts.areas.alt_level",
                level=cfg.level_label(level, t.lang),
                n=f.int(len(d)),
                best=best["label"],
                best_pct=f.pct(best["mean_pct"]),
                worst=worst["label"],
                worst_pct=f.pct(worst["mean_pct"]),
            )
        )
    axes[-1][0].set_xlabel(t("charts.areas.x"))
    if has_prev:
        handles = [
            Patch(color=NATIONAL_COLOUR),
            Line2D([], [], ls="none", marker="D", markersize=6, color="white", markeredgecolor=INK),
        ]
        _legend_below(
            fig,
            handles,
            [
                t("charts.areas.legend_year", year=str(year)),
                t("charts.areas.legend_year", year=str(prev_year)),
            ],
        )
    _freeze(fig)
    caption = t("charts.areas.caption", year=str(year))
    if has_prev:
        caption += " " + t("charts.areas.caption_prev", prev=str(prev_year))
    return Chart(
        "areas",
        fig,
        _sentences([t("charts.areas.alt", year=str(year)), *alt_parts]),
        caption,
    )
