"""Charts: deterministic PNG bytes, labels and alt text through the formatting layer, and
charts that read right: no overlapping labels, no line through a label, every text at least
4.5:1 against what is behind it and legible on a phone, series broken at structural breaks,
and no global matplotlib state touched on import."""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import PIL.Image
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

from par_review.fmt import Formatter
from par_review.i18n import Translator
from par_review.report import charts

REPO = Path(__file__).resolve().parents[1]
DEMO_KEYS = (
    "tier_shares",
    "score_distribution",
    "movement",
    "satisfaction",
    "national_ranks",
    "areas",
)


# --------------------------------------------------------------------------- helpers
def drawn_texts(fig) -> list:
    """(Text, window extent) of every text the renderer actually draws (ticks outside the
    view, empty and invisible texts are not drawn, so they are not listed)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    seen: list = []
    original = renderer.draw_text

    def record(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if mtext is not None and s.strip() and all(mtext is not o for o in seen):
            seen.append(mtext)
        return original(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = record
    try:
        with charts.theme():
            fig.draw(renderer)
    finally:
        del renderer.draw_text
    return [(t, t.get_window_extent(renderer)) for t in seen]


def shrunk(bb: Bbox, px: float = 1.0) -> Bbox:
    return Bbox.from_extents(bb.x0 + px, bb.y0 + px, bb.x1 - px, bb.y1 - px)


def overlapping_texts(items) -> list[tuple[str, str]]:
    out = []
    for i, (a, ba) in enumerate(items):
        for b, bb in items[i + 1 :]:
            if shrunk(ba).overlaps(shrunk(bb)):
                out.append((a.get_text(), b.get_text()))
    return out


def texts_crossed_by_lines(fig, items) -> list[str]:
    """Texts that a plotted line (data or reference line) runs through."""
    out = []
    for ax in fig.axes:
        for line in ax.lines:
            if not line.get_visible() or line.get_linestyle() in ("None", "none", " ", ""):
                continue
            xy = line.get_xydata().astype(float)
            trans = line.get_transform()
            pts = trans.transform(xy)
            pts = pts[np.isfinite(pts).all(axis=1)]
            dense = [pts]
            for p, q in zip(pts[:-1], pts[1:], strict=True):
                dense.append(p + np.linspace(0, 1, 200)[:, None] * (q - p))
            allp = np.vstack(dense)
            clip = ax.get_window_extent()
            allp = allp[
                (allp[:, 0] >= clip.x0)
                & (allp[:, 0] <= clip.x1)
                & (allp[:, 1] >= clip.y0)
                & (allp[:, 1] <= clip.y1)
            ]
            for t, bb in items:
                s = shrunk(bb)
                inside = (
                    (allp[:, 0] > s.x0)
                    & (allp[:, 0] < s.x1)
                    & (allp[:, 1] > s.y0)
                    & (allp[:, 1] < s.y1)
                )
                if inside.any():
                    out.append(t.get_text())
    return out


def text_contrasts(fig, items) -> list[tuple[str, float]]:
    """For each drawn text, the lowest contrast between its colour and the colours behind
    it (the figure rendered without the texts; colours under 3% of the box are antialiasing
    fringes and are ignored)."""
    canvas = fig.canvas
    colours = [(t, t.get_color()) for t, _ in items]
    for t, _ in items:
        t.set_color((0, 0, 0, 0))
    try:
        with charts.theme():
            canvas.draw()
        buf = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    finally:
        for t, c in colours:
            t.set_color(c)
    h, w = buf.shape[:2]
    out = []
    for (t, bb), (_, colour) in zip(items, colours, strict=True):
        c0, c1 = max(int(np.floor(bb.x0)), 0), min(int(np.ceil(bb.x1)), w)
        r0, r1 = max(h - int(np.ceil(bb.y1)), 0), min(h - int(np.floor(bb.y0)), h)
        patch = buf[r0:r1, c0:c1].reshape(-1, 3)
        if not len(patch):
            out.append((t.get_text(), 0.0))
            continue
        cols, counts = np.unique(patch, axis=0, return_counts=True)
        keep = cols[counts >= 0.03 * counts.sum()]
        worst = min(charts.contrast_ratio(colour, c / 255.0) for c in keep)
        out.append((t.get_text(), worst))
    return out


_AUDITS: dict[int, dict] = {}


def audit(chart) -> dict:
    """Draw a chart for the checks once (four renderings) and keep the findings."""
    key = id(chart.figure)
    if key not in _AUDITS:
        fig = chart.figure
        png = charts.png_bytes(chart)
        items = drawn_texts(fig)
        _AUDITS[key] = {
            "items": items,
            "overlaps": overlapping_texts(items),
            "crossed": texts_crossed_by_lines(fig, items),
            "contrast": text_contrasts(fig, items),
            "png": png,
            "png_after": charts.png_bytes(chart),
        }
    return _AUDITS[key]


class WithBreak:
    """A config whose structure changes in `year` (as cfg.structure_break reports it)."""

    def __init__(self, cfg, year: int, label: dict):
        self._cfg, self._year, self._label = cfg, year, label

    def __getattr__(self, name):
        return getattr(self._cfg, name)

    def structure_break(self, year: int):
        return {"from": year, "label": self._label} if year == self._year else None

    def comparability(self, year: int, level: str):
        return {"basis": "same_set" if year != self._year else "matched_units", "reason": None}


# --------------------------------------------------------------------------- data
def history_rows(years_counts, level="provincial"):
    rows = []
    for year, counts in years_counts:
        total = sum(counts.values())
        for tier, c in counts.items():
            rows.append(
                {"year": year, "level": level, "tier": tier, "count": c, "share": 100 * c / total}
            )
    return rows


@pytest.fixture
def history():
    return pd.DataFrame(
        history_rows(
            [
                (2021, {"tot": 30, "kha": 13, "trung_binh": 1, "yeu": 0}),
                (2022, {"tot": 30, "kha": 13, "trung_binh": 0, "yeu": 0}),
            ]
        )
    )


@pytest.fixture
def merger_history():
    rows = []
    for level in ("provincial", "commune"):
        rows += history_rows(
            [
                (2023, {"tot": 30, "kha": 12, "trung_binh": 1, "yeu": 0}),
                (2024, {"tot": 31, "kha": 12, "trung_binh": 0, "yeu": 0}),
                (2025, {"tot": 20, "kha": 7, "trung_binh": 0, "yeu": 0}),
                (2026, {"tot": 22, "kha": 5, "trung_binh": 0, "yeu": 0}),
            ],
            level,
        )
    return pd.DataFrame(rows)


def national_frame():
    rows = [
        ("PAR_INDEX", 2022, 25, 63),
        ("PAR_INDEX", 2023, 16, 63),
        ("PAR_INDEX", 2024, 16, 63),
        ("PAR_INDEX", 2025, 10, 34),
        ("PAR_INDEX", 2026, 8, 34),
        ("PAPI", 2022, 16, 61),
        ("PAPI", 2023, 16, 63),
        ("PCI", 2022, 16, 63),
        ("PCI", 2023, 1, 63),
    ]
    return pd.DataFrame(rows, columns=["index", "year", "rank", "rank_of"])


SAT = pd.DataFrame({"unit_name": ["Sở A", "Sở B", "Sở C"], "satisfaction_pct": [88.5, 82.1, 83.0]})


def _report_charts(
    paths, year: int, tmp_path_factory, langs=("vi", "en"), width: float | None = None
) -> dict:
    """The charts of the report of `year`; `width`: drawn that many inches wide (the phone
    rendering), inside `charts.figure_width`."""
    if width is not None:
        with charts.figure_width(width):
            return _report_charts(paths, year, tmp_path_factory, langs)
    from par_review.metrics.compute import compute_metrics
    from par_review.report.context import build_context, make_charts

    metrics = compute_metrics(year, paths)
    out = {}
    for lang in langs:
        ctx = build_context(
            year,
            paths,
            lang=lang,
            out_dir=tmp_path_factory.mktemp(f"out-{year}-{lang}"),
            metrics=copy.deepcopy(metrics),
        )
        for ch in make_charts(ctx):
            out[(lang, ch.key)] = ch
        areas = charts.areas_frame(metrics, lang)
        if not areas.empty and (lang, "areas") not in out:  # until make_charts draws it
            out[(lang, "areas")] = charts.areas_chart(
                areas, ctx.cfg, year, ctx.t, ctx.f, prev_year=ctx.prev
            )
    return out


@pytest.fixture(scope="module")
def demo_charts(demo_processed, tmp_path_factory):
    """Every chart the 2022 report draws on the demo data, in both languages."""
    return _report_charts(demo_processed, 2022, tmp_path_factory)


@pytest.fixture(scope="module")
def demo_phone_charts(demo_processed, tmp_path_factory):
    """The 2022 charts as the HTML shows them on a phone (`PHONE_WIDTH_IN` wide)."""
    return _report_charts(demo_processed, 2022, tmp_path_factory, width=charts.PHONE_WIDTH_IN)


@pytest.fixture(scope="module")
def merger_paths(demo_processed, tmp_path_factory):
    """A copy of the cleaned demo, with the absorbed province's 2024 cleaned as the 2025
    baseline."""
    from par_review.clean.tables import clean_year
    from par_review.config import load_config
    from par_review.paths import Paths

    root = tmp_path_factory.mktemp("merger") / "proj"
    shutil.copytree(demo_processed.root, root)
    paths = Paths.from_root(root).of(demo_processed.province)
    cfg = load_config(paths.province, paths)
    for prov in getattr(cfg, "baseline_provinces", lambda _y: [])(2025):
        clean_year(2024, paths.of(prov))
    return paths


@pytest.fixture(scope="module")
def merger_charts(merger_paths, tmp_path_factory):
    """Every chart the 2025 report draws (the year of the merger), in both languages."""
    return _report_charts(merger_paths, 2025, tmp_path_factory)


@pytest.fixture(scope="module")
def merger_phone_charts(merger_paths, tmp_path_factory):
    """The 2025 charts as the HTML shows them on a phone."""
    return _report_charts(merger_paths, 2025, tmp_path_factory, width=charts.PHONE_WIDTH_IN)


@pytest.fixture(scope="module")
def tinh_mau_charts(tmp_path_factory):
    """The charts of the small test province (one level, three tiers), 2024, Vietnamese."""
    from conftest import make_project_copy

    from par_review.clean.tables import clean_year

    fixture = REPO / "tests" / "fixtures" / "provinces" / "tinh_mau"
    paths = make_project_copy(tmp_path_factory.mktemp("tinh_mau") / "proj")
    shutil.copytree(fixture / "config" / "tinh_mau", paths.root / "config" / "tinh_mau")
    shutil.copytree(fixture / "data" / "raw" / "tinh_mau", paths.root / "data" / "raw" / "tinh_mau")
    tm = paths.of("tinh_mau")
    for year in tm.raw_years():
        clean_year(year, tm)
    return _report_charts(tm, 2024, tmp_path_factory, langs=("vi",))


@pytest.fixture(scope="module")
def synthetic_charts():
    """Charts of cases the 2022 demo does not reach: a merger, ranks out of 34 after 63,
    a rank of 1, no target."""
    from par_review.config import load_config
    from par_review.paths import Paths

    cfg = load_config("khanh_hoa", Paths.from_root(REPO))
    label = {"vi": "hợp nhất tỉnh, bỏ cấp huyện", "en": "provinces merged, districts ended"}
    hist = []
    for level in ("provincial", "commune"):
        hist += history_rows(
            [
                (2023, {"tot": 30, "kha": 12, "trung_binh": 1, "yeu": 0}),
                (2024, {"tot": 31, "kha": 12, "trung_binh": 0, "yeu": 0}),
                (2025, {"tot": 20, "kha": 7, "trung_binh": 0, "yeu": 0}),
                (2026, {"tot": 22, "kha": 5, "trung_binh": 0, "yeu": 0}),
            ],
            level,
        )
    out = {}
    for lang in ("vi", "en"):
        t, f = Translator(lang), Formatter(lang)
        out[(lang, "merger")] = charts.tier_shares_chart(
            pd.DataFrame(hist), WithBreak(cfg, 2025, label), t, f
        )
        out[(lang, "national_34")] = charts.national_ranks_chart(national_frame(), cfg, t, f)
        out[(lang, "sat_no_target")] = charts.satisfaction_chart(SAT, None, t, f, year=2022)
        out[(lang, "sat_target")] = charts.satisfaction_chart(
            SAT, 83.0, t, f, overall=84.53, year=2022
        )
    return out


ALL = [(lang, k) for lang in ("vi", "en") for k in DEMO_KEYS]
SYN = [
    (lang, k)
    for lang in ("vi", "en")
    for k in ("merger", "national_34", "sat_no_target", "sat_target")
]


@pytest.fixture(
    params=[("demo", *p) for p in ALL]
    + [("merger", *p) for p in ALL]
    + [("demo_phone", *p) for p in ALL]
    + [("merger_phone", *p) for p in ALL]
    + [("synthetic", *p) for p in SYN]
    + [("tinh_mau", "vi", k) for k in ("tier_shares", "score_distribution", "movement", "areas")],
    ids=str,
)
def any_chart(request, synthetic_charts, tinh_mau_charts):
    src, lang, key = request.param
    pool = {
        "demo": lambda: request.getfixturevalue("demo_charts"),
        "merger": lambda: request.getfixturevalue("merger_charts"),
        "demo_phone": lambda: request.getfixturevalue("demo_phone_charts"),
        "merger_phone": lambda: request.getfixturevalue("merger_phone_charts"),
        "synthetic": lambda: synthetic_charts,
        "tinh_mau": lambda: tinh_mau_charts,
    }[src]()
    assert (lang, key) in pool, f"the {src} data did not draw {key} ({lang})"
    return pool[(lang, key)]


# --------------------------------------------------------------------------- every chart
def test_no_two_labels_overlap(any_chart):
    assert audit(any_chart)["overlaps"] == []


def test_no_line_runs_through_a_label(any_chart):
    assert audit(any_chart)["crossed"] == []


def test_every_text_inside_the_figure_and_legible_on_a_phone(any_chart):
    fig = any_chart.figure
    assert fig.get_figwidth() <= charts.WIDTH_IN
    phone = fig.get_figwidth() <= charts.PHONE_WIDTH_IN
    w, h = fig.get_figwidth() * fig.dpi, fig.get_figheight() * fig.dpi
    for t, bb in audit(any_chart)["items"]:
        assert t.get_fontsize() >= charts.MIN_FONT_PT, t.get_text()
        # scaled to a 390 px screen, a letter stays at least 7.5 px tall
        assert t.get_fontsize() / 72 * 390 / fig.get_figwidth() >= 7.5
        if phone:  # the HTML's phone rendering: at least 11 px on a phone's 366 px column
            px = t.get_fontsize() / 72 * charts.PHONE_COLUMN_PX / fig.get_figwidth()
            assert px >= charts.PHONE_MIN_PX, (t.get_text(), px)
        assert bb.x0 >= -1 and bb.y0 >= -1 and bb.x1 <= w + 1 and bb.y1 <= h + 1, t.get_text()


def test_every_text_has_contrast_4_5(any_chart):
    low = [(s, round(c, 2)) for s, c in audit(any_chart)["contrast"] if c < 4.5]
    assert low == []


def test_png_is_deterministic_after_the_checks(any_chart):
    a = audit(any_chart)
    assert a["png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert a["png_after"] == a["png"]


def test_the_phone_rendering_is_phone_wide(demo_phone_charts, merger_phone_charts):
    """On a 390 px phone the 6.5 in chart's 9 pt text was 7 px; the phone rendering is
    4 in wide, so the same text is 11.4 px."""
    for ch in [*demo_phone_charts.values(), *merger_phone_charts.values()]:
        assert ch.figure.get_figwidth() == charts.PHONE_WIDTH_IN
        assert 9 / 72 * charts.PHONE_COLUMN_PX / ch.figure.get_figwidth() >= charts.PHONE_MIN_PX
    assert charts.width_in() == charts.WIDTH_IN  # the context is left as it was


def test_demo_captions_name_the_year_and_alts_start_properly(demo_charts, merger_charts):
    for (_lang, key), ch in [*demo_charts.items(), *merger_charts.items()]:
        for text in (ch.caption, ch.alt):
            assert "năm nay" not in text and "this year" not in text, (key, text)
            assert not text.startswith((".", " ")) and ". ." not in text and " . " not in text
            assert "2018–2018" not in text
        assert ch.alt[:1].isupper()
    assert "năm 2022" in demo_charts[("vi", "score_distribution")].caption
    cap = demo_charts[("vi", "movement")].caption
    assert "năm 2021" in cap and "năm 2022" in cap and "phía trên đường chéo" in cap
    assert "above the diagonal" in demo_charts[("en", "movement")].caption


# --------------------------------------------------------------------------- basics
def test_png_bytes_are_deterministic_and_carry_no_metadata(cfg, history):
    t, f = Translator("vi"), Formatter("vi")
    a = charts.tier_shares_chart(history, cfg, t, f)
    b = charts.tier_shares_chart(history, cfg, t, f)
    pa, pb = charts.png_bytes(a), charts.png_bytes(b)
    charts.close(a)
    charts.close(b)
    assert pa[:8] == b"\x89PNG\r\n\x1a\n"
    assert pa == pb
    assert b"Software" not in pa and b"matplotlib" not in pa.lower()


def _png_chunks(png: bytes) -> list[str]:
    kinds, i = [], 8
    while i < len(png):
        (n,) = struct.unpack(">I", png[i : i + 4])
        kinds.append(png[i + 4 : i + 8].decode("ascii"))
        i += 12 + n
    return kinds


def test_png_is_rgb_with_exactly_the_drawn_pixels_and_only_a_resolution(cfg, history):
    ch = charts.tier_shares_chart(history, cfg, Translator("vi"), Formatter("vi"))
    png = charts.png_bytes(ch)
    fig = ch.figure
    img = PIL.Image.open(io.BytesIO(png))
    img.load()
    # opaque (white background): no alpha channel for the PDF to split off
    assert img.mode == "RGB"
    assert img.size == (round(fig.get_figwidth() * 150), round(fig.get_figheight() * 150))
    assert img.info["dpi"] == pytest.approx((150, 150), abs=0.05)
    assert _png_chunks(png) == ["IHDR", "pHYs", "IDAT", "IEND"]  # no text, no time
    drawn = np.asarray(fig.canvas.buffer_rgba())
    assert (drawn[..., 3] == 255).all()
    assert (np.asarray(img) == drawn[..., :3]).all()  # lossless
    # another resolution: the same chart scaled, and the figure left as it was
    small = PIL.Image.open(io.BytesIO(charts.png_bytes(ch, dpi=75)))
    assert small.size == (img.size[0] // 2, img.size[1] // 2) and small.info["dpi"][0] < 76
    assert fig.dpi == charts.DPI and charts.png_bytes(ch) == png
    # a transparent figure keeps its alpha channel
    fig.patch.set_alpha(0)
    see_through = PIL.Image.open(io.BytesIO(charts.png_bytes(ch)))
    assert see_through.mode == "RGBA"
    charts.close(ch)
    assert fig.axes == [] and fig.legends == []


def test_charts_are_laid_out_without_a_draw_and_drawn_once_for_the_png(
    demo_processed, tmp_path, monkeypatch
):
    """The layout is arithmetic (measured texts, no layout engine, no trial draws): making
    the report's charts draws nothing, and each PNG is its figure's only draw."""
    from matplotlib.figure import Figure

    from par_review.metrics.compute import compute_metrics
    from par_review.report.context import build_context, make_charts

    ctx = build_context(
        2022,
        demo_processed,
        lang="vi",
        out_dir=tmp_path,
        metrics=compute_metrics(2022, demo_processed),
    )
    draws: list = []
    original = Figure.draw

    def counted(self, renderer):
        draws.append(self)
        return original(self, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    made = make_charts(ctx)
    assert len(made) == 5 and draws == []
    for ch in made:
        assert ch.figure.get_layout_engine() is None
        charts.png_bytes(ch)
    assert [id(fig) for fig in draws] == [id(ch.figure) for ch in made]


def test_legend_has_as_many_columns_as_fit_computed_from_its_texts(demo_charts, merger_charts):
    """The legend's width follows from its entries' text widths (no trial draws): the
    computation matches matplotlib's own layout of the legend, the legend fits the figure,
    and one more column would not."""
    seen = 0
    for ch in [*demo_charts.values(), *merger_charts.values()]:
        fig = ch.figure
        audit(ch)  # drawn: the legend's texts are in place
        r = fig.canvas.get_renderer()
        for leg in fig.legends:
            seen += 1
            texts = leg.get_texts()
            size = texts[0].get_fontsize()
            widths = [charts._text_size_px(fig, t.get_text(), size)[0] for t in texts]
            ncols = len({round(t.get_window_extent(r).x0) for t in texts if t.get_text()})
            width = leg.get_window_extent(r).width
            assert charts._legend_width_px(widths, ncols, size, fig.dpi) == pytest.approx(
                width, abs=1.5
            )
            assert width <= 0.96 * fig.bbox.width
            if ncols < len(texts):
                more = charts._legend_width_px(widths, ncols + 1, size, fig.dpi)
                assert more > 0.96 * fig.bbox.width
    assert seen >= 6


def test_alt_text_and_axis_labels_use_the_locale(cfg, history):
    for lang, share in (("vi", "69,77%"), ("en", "69.77%")):
        ch = charts.tier_shares_chart(history, cfg, Translator(lang), Formatter(lang))
        assert share in ch.alt
        ax = ch.figure.axes[0]
        assert ax.yaxis.get_major_formatter()(50, 0) == "50%"
        texts = {x.get_text() for x in ax.texts}
        assert ("70%" in texts) and ("Tốt" in ch.alt if lang == "vi" else "Good" in ch.alt)
        charts.close(ch)


def test_one_year_alt_names_the_year_once(cfg):
    hist = pd.DataFrame(history_rows([(2018, {"tot": 3, "kha": 1, "trung_binh": 0, "yeu": 0})]))
    ch = charts.tier_shares_chart(hist, cfg, Translator("vi"), Formatter("vi"))
    assert "2018–2018" not in ch.alt and ch.alt.count("2018") == 1, ch.alt
    assert "Cơ quan, đơn vị cấp tỉnh: có 75,00% xếp hạng Tốt" in ch.alt
    charts.close(ch)


@pytest.mark.parametrize(
    "lang, series, one", [("vi", "qua các năm", "năm 2024"), ("en", "over the years", "in 2024")]
)
def test_one_year_of_data_is_not_called_a_series(cfg, lang, series, one):
    # Ninh Thuận 2024, its only year: "Hình 1. Tỷ lệ đơn vị theo mức xếp hạng qua các năm."
    rows = history_rows([(2024, {"tot": 19, "kha": 14, "trung_binh": 1, "yeu": 0})])
    rows += history_rows([(2024, {"tot": 27, "kha": 36, "trung_binh": 2, "yeu": 0})], "commune")
    ch = charts.tier_shares_chart(pd.DataFrame(rows), cfg, Translator(lang), Formatter(lang))
    for text in (ch.caption, ch.alt):
        assert series not in text and one in text, text
    charts.close(ch)
    two = history_rows([(2023, {"tot": 1, "kha": 1}), (2024, {"tot": 2, "kha": 0})])
    ch = charts.tier_shares_chart(pd.DataFrame(two), cfg, Translator(lang), Formatter(lang))
    assert series in ch.caption and series in ch.alt
    charts.close(ch)


def test_contrast_ratio_is_wcag():
    assert charts.contrast_ratio("white", "black") == pytest.approx(21.0)
    assert charts.contrast_ratio("#777777", "white") == pytest.approx(4.48, abs=0.01)
    # the labels the issue measured: white on the Trung bình and Khá segments
    assert charts.contrast_ratio("white", charts.TIER_COLOURS[2]) == pytest.approx(2.27, abs=0.01)
    assert charts.contrast_ratio("white", charts.TIER_COLOURS[1]) == pytest.approx(3.47, abs=0.01)
    for colour in charts.TIER_COLOURS:
        assert charts.contrast_ratio(charts.label_colour(colour), colour) >= 4.5
        assert (
            charts.contrast_ratio(charts.readable(colour, charts.tint(colour)), charts.tint(colour))
            >= 4.5
        )


# --------------------------------------------------------------------------- Hình 1
def _bar_years(ax) -> dict[int, float]:
    """x centre of each year's bar, from the tick labels."""
    return {
        int(lab.get_text()): x for x, lab in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)
    }


def test_tier_shares_break_at_the_structure_change(cfg, merger_history):
    label = {"vi": "hợp nhất tỉnh, bỏ cấp huyện", "en": "provinces merged"}
    ch = charts.tier_shares_chart(
        merger_history, WithBreak(cfg, 2025, label), Translator("vi"), Formatter("vi")
    )
    for ax in ch.figure.axes:
        xs = _bar_years(ax)
        assert xs[2024] - xs[2023] == 1 and xs[2026] - xs[2025] == 1
        assert xs[2025] - xs[2024] >= 2  # an empty slot: nothing runs across the merger
        refs = [ln for ln in ax.lines if ln.get_gid() == "refline"]
        assert len(refs) == 1 and xs[2024] < refs[0].get_xdata()[0] < xs[2025]
        assert "2025: hợp nhất tỉnh, bỏ cấp huyện" in {t.get_text() for t in ax.texts}
    assert "2025: hợp nhất tỉnh, bỏ cấp huyện" in ch.caption
    assert "2025: hợp nhất tỉnh, bỏ cấp huyện" in ch.alt


def test_demo_2025_charts_break_at_the_merger(cfg, merger_charts):
    entry = cfg.structure_break(2025)
    assert entry, "the demo config has a structure starting in 2025"
    for lang in ("vi", "en"):
        ch = merger_charts[(lang, "tier_shares")]
        short = charts.short_break_label(entry["label"][lang])
        for ax in ch.figure.axes:
            xs = _bar_years(ax)
            assert xs[2025] - xs[2024] >= 2
            refs = [ln.get_xdata()[0] for ln in ax.lines if ln.get_gid() == "refline"]
            assert len(refs) == 1 and xs[2024] < refs[0] < xs[2025]
            label = " ".join(t.get_text().replace("\n", " ") for t in ax.texts if t.get_gid())
            assert label == f"2025: {short}"
        assert f"2025: {short}" in ch.caption
    # national ranks: where the number ranked changes, a break and a second axis
    nat = merger_charts[("vi", "national_ranks")]
    par = next(
        a
        for a in nat.figure.axes
        if a.get_title(loc="left") == cfg.national_index_label("PAR_INDEX", "vi")
    )
    twins = [a for a in nat.figure.axes if a is not par and a.bbox.bounds == par.bbox.bounds]
    assert twins and any(ln.get_gid() == "refline" for ln in par.lines)


def test_tier_shares_break_from_metrics_comparison(cfg, merger_history):
    metrics = {"year": 2025, "levels": {"provincial": {"comparison": {"basis": "matched_units"}}}}
    ch = charts.tier_shares_chart(
        merger_history, cfg, Translator("en"), Formatter("en"), metrics=metrics
    )
    prov = ch.figure.axes[0]
    assert _bar_years(prov)[2025] - _bar_years(prov)[2024] >= 2
    assert "2025" in ch.caption


def test_tier_shares_explicit_breaks(cfg, merger_history):
    ch = charts.tier_shares_chart(
        merger_history, cfg, Translator("vi"), Formatter("vi"), breaks={2025: None}
    )
    texts = {t.get_text() for t in ch.figure.axes[0].texts}
    assert "2025: thay đổi cơ cấu" in texts


# --------------------------------------------------------------------------- Hình 3
def test_movement_up_and_down_differ_in_shape_not_only_colour(cfg):
    moves = pd.DataFrame(
        {
            "level": ["provincial"] * 3,
            "score_prev": [70.0, 80.0, 90.0],
            "score": [86.0, 80.5, 75.0],
            "move": ["up", "same", "down"],
        }
    )
    ch = charts.movement_chart(moves, cfg, Translator("vi"), Formatter("vi"), 2021, year=2022)
    leg = ch.figure.legends[0]
    markers = {
        t.get_text(): h.get_marker()
        for t, h in zip(leg.get_texts(), leg.legend_handles, strict=True)
    }
    assert markers["Tăng mức xếp hạng"] == "^" and markers["Giảm mức xếp hạng"] == "v"
    assert len(set(markers.values())) == 3
    assert "phía trên đường chéo" in ch.caption and "năm 2022" in ch.caption


# --------------------------------------------------------------------------- Hình 4
def test_satisfaction_chart_marks_units_below_target():
    ch = charts.satisfaction_chart(SAT, 83.0, Translator("vi"), Formatter("vi"), overall=84.53)
    assert "1 đơn vị chưa đạt mục tiêu" in ch.alt and "mục tiêu 83%" in ch.alt
    labels = [x.get_text() for x in ch.figure.axes[0].texts]
    assert "82,10% · chưa đạt" in labels and "88,50% · đạt" in labels
    assert "Mục tiêu 83%" not in labels  # 1.5 points apart: named in the legend instead
    legend = [x.get_text() for x in ch.figure.legends[0].get_texts()]
    assert "Mục tiêu 83%" in legend and "Chỉ số chung 84,53%" in legend
    charts.close(ch)


def test_satisfaction_target_and_overall_lines_far_apart_are_labelled_above_the_plot():
    ch = charts.satisfaction_chart(SAT, 75.0, Translator("vi"), Formatter("vi"), overall=84.53)
    labels = [x.get_text() for x in ch.figure.axes[0].texts]
    assert "Mục tiêu 75%" in labels and "Chỉ số chung 84,53%" in labels
    legend = {x.get_text() for x in ch.figure.legends[0].get_texts()}
    assert legend == {"Đạt mục tiêu", "Chưa đạt mục tiêu"}
    charts.close(ch)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_satisfaction_lines_that_nearly_coincide_are_told_apart_in_the_legend(lang):
    """2025: target 85%, overall 84,61%: the two lines are 1.5 px apart and their labels,
    placed either side of them above the plot, met there and read as one text."""
    t, f = Translator(lang), Formatter(lang)
    ch = charts.satisfaction_chart(SAT, 85.0, t, f, overall=84.61)
    target = t("charts.satisfaction.target", value=f.pct(85.0, strip_zeros=True))
    overall = t("charts.satisfaction.overall", value=f.pct(84.61))
    above = [x.get_text() for x in ch.figure.axes[0].texts]
    assert target not in above and overall not in above
    leg = ch.figure.legends[0]
    styles = {
        x.get_text(): (h.get_linestyle(), h.get_linewidth())
        for x, h in zip(leg.get_texts(), leg.legend_handles, strict=True)
        if isinstance(h, Line2D)
    }
    assert set(styles) == {target, overall}
    assert styles[target][0] != styles[overall][0]  # dashed against solid
    items = drawn_texts(ch.figure)
    assert not overlapping_texts(items) and not texts_crossed_by_lines(ch.figure, items)
    charts.close(ch)


def test_satisfaction_bars_start_at_zero_in_their_own_palette():
    ch = charts.satisfaction_chart(
        SAT, 83.0, Translator("en"), Formatter("en"), overall=84.53, year=2022
    )
    ax = ch.figure.axes[0]
    assert ax.get_xlim()[0] == 0
    tiers = {c.lower() for c in charts.TIER_COLOURS}
    bars = list(ax.patches)
    assert len(bars) == 3
    from matplotlib.colors import to_hex

    assert all(to_hex(b.get_facecolor()) not in tiers for b in bars)
    by_width = {round(b.get_width(), 1): b for b in bars}
    assert by_width[82.1].get_hatch() and not by_width[88.5].get_hatch()
    assert "2022" in ch.caption
    leg = {t.get_text() for t in ch.figure.legends[0].get_texts()}
    assert leg == {"Met the target", "Below the target", "Target 83%", "Overall 84.53%"}


# --------------------------------------------------------------------------- Hình 5
def test_national_ranks_one_panel_per_index_axis_1_to_total_no_zero(cfg):
    ch = charts.national_ranks_chart(national_frame(), cfg, Translator("vi"), Formatter("vi"))
    panels = {ax.get_title(loc="left"): ax for ax in ch.figure.axes if ax.get_title(loc="left")}
    assert len(panels) == 3
    par = panels[cfg.national_index_label("PAR_INDEX", "vi")]
    for ax in ch.figure.axes:  # every rank axis: inverted, from 1 to its total, no 0
        lo, hi = ax.get_ylim()
        assert lo > hi
        ticks = [int(t) for t in ax.get_yticks()]
        assert ticks[0] == 1 and ticks[-1] in (61, 63, 34)
        assert "0" not in [t.get_text() for t in ax.get_yticklabels()]
    # 2022-2024 out of 63 on the panel's own axis, 2025-2026 out of 34 on a second axis
    twins = [a for a in ch.figure.axes if a is not par and a.bbox.bounds == par.bbox.bounds]
    assert len(twins) == 1 and max(twins[0].get_yticks()) == 34 and max(par.get_yticks()) == 63
    for a, years in ((par, [2022, 2023, 2024]), (twins[0], [2025, 2026])):
        data = [ln for ln in a.lines if ln.get_gid() != "refline"]
        assert sorted(int(x) for ln in data for x in ln.get_xdata()) == years
    refs = [ln for ln in par.lines if ln.get_gid() == "refline"]
    assert [ln.get_xdata()[0] for ln in refs] == [pytest.approx(2024.5)]
    assert "34" in par.get_title(loc="right")
    assert "trục bên phải" in ch.caption
    texts = [t.get_text() for a in (par, *twins) for t in a.texts]
    assert texts.count("16/63") == 2 and "10/34" in texts and "8/34" in texts


# --------------------------------------------------------------------------- Hình 6
def test_areas_chart_from_zero_with_the_previous_year(demo_charts):
    ch = demo_charts[("vi", "areas")]
    axes = [ax for ax in ch.figure.axes if ax.get_title(loc="left")]
    assert len(axes) == 2 and all(ax.get_xlim()[0] == 0 for ax in axes)
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert any("Cải cách thể chế" in x for x in labels)
    assert "86,47%" in [t.get_text() for t in axes[0].texts]  # chỉ đạo, điều hành 2022
    assert "năm 2022" in ch.caption and "năm 2021" in ch.caption
    assert "lĩnh vực" in ch.alt


# --------------------------------------------------------------------------- no side effects
def test_import_does_not_switch_the_backend_or_touch_global_state():
    code = r"""
import json, os, sys
import matplotlib
calls = []
matplotlib.use = lambda *a, **k: calls.append(a)
before = matplotlib.rcParams.copy()
import pandas as pd
from par_review.report import charts
from par_review.config import load_config
from par_review.paths import Paths
from par_review.i18n import Translator
from par_review.fmt import Formatter
cfg = load_config("khanh_hoa", Paths.from_root(sys.argv[1]))
hist = pd.DataFrame([{"year": 2022, "level": "provincial", "tier": "tot", "count": 1,
                      "share": 100.0}])
ch = charts.tier_shares_chart(hist, cfg, Translator("vi"), Formatter("vi"))
png = charts.png_bytes(ch)
after = matplotlib.rcParams.copy()
changed = sorted(k for k in before if k != "backend" and before[k] != after[k])
shown = None
try:
    from IPython.core.interactiveshell import InteractiveShell
except ImportError:
    pass
else:  # what a notebook cell ending in `chart.figure` (or `chart`) displays
    fmt = InteractiveShell.instance().display_formatter
    shown = all(
        fmt.format(obj)[0].get("image/png", b"")[:8] == b"\x89PNG\r\n\x1a\n"
        for obj in (ch.figure, ch)
    )
print(json.dumps({
    "calls": calls,
    "backend": dict.__getitem__(matplotlib.rcParams, "backend"),
    "pyplot": "matplotlib.pyplot" in sys.modules,
    "changed": changed,
    "png": png[:8] == b"\x89PNG\r\n\x1a\n",
    "repr_png": ch._repr_png_() == png,
    "shown": shown,
}))
"""
    inline = "module://matplotlib_inline.backend_inline"
    env = {**os.environ, "MPLBACKEND": inline}
    res = subprocess.run(
        [sys.executable, "-c", code, str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["calls"] == []
    assert out["backend"] == inline
    assert out["pyplot"] is False
    assert out["changed"] == []
    assert out["png"] and out["repr_png"]
    assert out["shown"] is True
