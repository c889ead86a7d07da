"""The report's charts: seaborn on one theme, labels in the reader's language through
i18n (wording) and fmt (numbers), each returned with its alt text and caption.

Every chart function takes tidy DataFrames and returns a `Chart`; `png_bytes(chart)` gives
the same bytes for the same data (fixed size and dpi, no software/date metadata, Agg
renderer, fonts from the system: DejaVu Sans has every Vietnamese letter).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from ..config import ProvinceConfig  # noqa: E402
from ..fmt import Formatter  # noqa: E402
from ..i18n import Translator  # noqa: E402

DPI = 130
WIDTH_IN = 8.6
# one palette for the tiers, best first (green -> red), used by every chart and table legend
TIER_COLOURS = ["#2e7d4f", "#4a90c2", "#e0a030", "#c0392b", "#7f8c8d", "#8e44ad"]
MOVE_COLOURS = {"up": "#2e7d4f", "same": "#9aa5b1", "down": "#c0392b", "new": "#8e44ad"}
RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "legend.fontsize": 8.5,
    "legend.title_fontsize": 9,
    "svg.hashsalt": "par-review",
    "path.simplify": True,
}


@dataclass
class Chart:
    key: str
    figure: Figure
    alt: str
    caption: str


def _legend_below(fig: Figure, handles, labels, bottom: float) -> None:
    """One legend for all panels, in a row under them, leaving `bottom` of the figure for it."""
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=len(labels),
        frameon=False,
        bbox_to_anchor=(0.5, -0.01),
    )
    fig.tight_layout(rect=(0, bottom, 1, 1))


def theme() -> None:
    """The report's single theme (call before drawing; charts.py calls it itself)."""
    sns.set_theme(style="whitegrid", context="paper", rc=RC)


def png_bytes(chart: Chart | Figure, dpi: int = DPI) -> bytes:
    fig = chart.figure if isinstance(chart, Chart) else chart
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches=None)
    return buf.getvalue()


def close(chart: Chart) -> None:
    plt.close(chart.figure)


def tier_palette(cfg: ProvinceConfig) -> dict[str, str]:
    return {t: TIER_COLOURS[i % len(TIER_COLOURS)] for i, t in enumerate(cfg.tier_ids)}


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _pct_axis(f: Formatter):
    return FuncFormatter(lambda v, _pos: f.pct(v, decimals=0))


def _new_figure(nrows: int = 1, ncols: int = 1, height: float = 3.4, **kw):
    theme()
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH_IN, height), dpi=DPI, squeeze=False, **kw)
    return fig, axes


# -- 1. tier shares over the years, per level -------------------------------------------
def tier_shares_chart(
    history: pd.DataFrame, cfg: ProvinceConfig, t: Translator, f: Formatter
) -> Chart:
    """`history`: year, level, tier, count, share (share in %), every year up to the report year."""
    levels = [lv for lv in cfg.levels if lv in set(history["level"])]
    fig, axes = _new_figure(1, max(len(levels), 1), height=3.5, sharey=True)
    pal = tier_palette(cfg)
    alt_parts = []
    for ax, level in zip(axes[0], levels, strict=False):
        h = history[history["level"] == level]
        years = sorted(h["year"].unique())
        bottom = np.zeros(len(years))
        for tier in cfg.tier_ids:
            vals = np.array(
                [float(h[(h["year"] == y) & (h["tier"] == tier)]["share"].sum()) for y in years]
            )
            ax.bar(
                [str(y) for y in years],
                vals,
                bottom=bottom,
                color=pal[tier],
                width=0.7,
                label=cfg.tier(tier).label(t.lang),
                edgecolor="white",
                linewidth=0.6,
            )
            for i, v in enumerate(vals):
                if v >= 8:
                    ax.text(
                        i,
                        bottom[i] + v / 2,
                        f.pct(v, decimals=0),
                        ha="center",
                        va="center",
                        fontsize=7.5,
                        color="white",
                        fontweight="bold",
                    )
            bottom += vals
        ax.set_title(_cap(cfg.level_label(level, t.lang)))
        ax.set_ylim(0, 100)
        ax.yaxis.set_major_formatter(_pct_axis(f))
        ax.set_xlabel(t("charts.year"))
        ax.grid(axis="x", visible=False)
        last = years[-1]
        best = cfg.tier_ids[0]
        best_share = float(h[(h["year"] == last) & (h["tier"] == best)]["share"].sum())
        alt_parts.append(
            t(
                "charts.tier_shares.alt_level",
                level=cfg.level_label(level, t.lang),
                first=str(years[0]),
                last=str(last),
                tier=cfg.tier(best).label(t.lang),
                share=f.pct(best_share),
            )
        )
    axes[0][0].set_ylabel(t("charts.share"))
    handles, labels = axes[0][0].get_legend_handles_labels()
    _legend_below(fig, handles, labels, bottom=0.07)
    return Chart(
        "tier_shares",
        fig,
        t("charts.tier_shares.alt", details=" ".join(alt_parts)),
        t("charts.tier_shares.caption"),
    )


# -- 2. score distribution with the tier bands ------------------------------------------
def score_distribution_chart(
    units: pd.DataFrame, cfg: ProvinceConfig, year: int, t: Translator, f: Formatter
) -> Chart:
    """`units`: level, score, tier for the report year (both levels)."""
    levels = [lv for lv in cfg.levels if lv in set(units["level"])]
    fig, axes = _new_figure(1, max(len(levels), 1), height=3.3)
    pal = tier_palette(cfg)
    alt_parts = []
    for ax, level in zip(axes[0], levels, strict=False):
        u = units[units["level"] == level]
        lo = min(float(u["score"].min()), 60.0)
        lo = 10 * np.floor(lo / 10)
        bands = cfg.bands(year, level)
        for band in bands:
            a, b = max(band.min_score, lo), min(band.max_score, 100.0)
            if b > a:
                ax.axvspan(a, b, color=pal[band.tier], alpha=0.10, zorder=0)
                ax.text(
                    (a + b) / 2,
                    0.97,
                    cfg.tier(band.tier).label(t.lang),
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="top",
                    fontsize=8,
                    color=pal[band.tier],
                    fontweight="bold",
                )
            if lo < band.min_score < 100:
                ax.axvline(band.min_score, color=pal[band.tier], lw=1, ls="--", zorder=1)
        bins = np.arange(lo, 100.0001, 2.5)  # edges fall on the band limits (70, 85, ...)
        sns.histplot(
            u,
            x="score",
            hue="tier",
            hue_order=[x for x in cfg.tier_ids if x in set(u["tier"])],
            palette=pal,
            bins=bins,
            multiple="stack",
            ax=ax,
            legend=False,
            edgecolor="white",
            linewidth=0.5,
            zorder=2,
        )
        ax.set_xlim(lo, 100)
        ax.set_title(_cap(cfg.level_label(level, t.lang)))
        ax.set_xlabel(t("charts.score"))
        ax.set_ylabel(t("charts.units"))
        ax.xaxis.set_major_formatter(_pct_axis(f))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
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
    fig.tight_layout()
    bands_text = ", ".join(
        f"{cfg.tier(b.tier).label(t.lang)} ≥ {f.num(b.min_score, strip_zeros=True)}"
        for b in cfg.bands(year, levels[0])[:-1]
    )
    return Chart(
        "score_distribution",
        fig,
        t("charts.distribution.alt", details=" ".join(alt_parts)),
        t("charts.distribution.caption", bands=bands_text),
    )


# -- 3. movement since the previous year --------------------------------------------------
def movement_chart(
    moves: pd.DataFrame, cfg: ProvinceConfig, t: Translator, f: Formatter, prev_year: int
) -> Chart:
    """`moves`: level, score_prev, score, move ("up"/"same"/"down") for units scored both years."""
    levels = [lv for lv in cfg.levels if lv in set(moves["level"])]
    fig, axes = _new_figure(1, max(len(levels), 1), height=3.6)
    alt_parts = []
    order = ["up", "same", "down"]
    for ax, level in zip(axes[0], levels, strict=False):
        m = moves[moves["level"] == level]
        lo = 10 * np.floor(min(float(m["score_prev"].min()), float(m["score"].min())) / 10)
        ax.plot([lo, 100], [lo, 100], color="#9aa5b1", lw=1, ls=":", zorder=1)
        for mv in order:
            sub = m[m["move"] == mv]
            if len(sub):
                ax.scatter(
                    sub["score_prev"],
                    sub["score"],
                    s=16,
                    color=MOVE_COLOURS[mv],
                    alpha=0.85,
                    label=t(f"charts.movement.{mv}"),
                    edgecolor="white",
                    linewidth=0.3,
                    zorder=2,
                )
        ax.set_xlim(lo, 100)
        ax.set_ylim(lo, 100)
        ax.set_aspect("equal", adjustable="box")
        ax.set_title(_cap(cfg.level_label(level, t.lang)))
        ax.set_xlabel(t("charts.movement.x", year=str(prev_year)))
        ax.set_ylabel(t("charts.movement.y", year=str(prev_year + 1)))
        ax.xaxis.set_major_formatter(_pct_axis(f))
        ax.yaxis.set_major_formatter(_pct_axis(f))
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
    handles, labels = [], []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    _legend_below(fig, handles, labels, bottom=0.06)
    return Chart(
        "movement",
        fig,
        t("charts.movement.alt", details=" ".join(alt_parts)),
        t("charts.movement.caption", prev=str(prev_year)),
    )


# -- 4. satisfaction per unit against the target ------------------------------------------
def satisfaction_chart(
    sat: pd.DataFrame,
    target: float | None,
    t: Translator,
    f: Formatter,
    overall: float | None = None,
) -> Chart:
    """`sat`: unit_name, satisfaction_pct (one row per unit), sorted by the caller or here."""
    s = sat.sort_values(["satisfaction_pct", "unit_name"], ascending=[False, True]).reset_index(
        drop=True
    )
    height = max(2.6, 0.24 * len(s) + 1.0)
    fig, axes = _new_figure(1, 1, height=height)
    ax = axes[0][0]
    colours = [
        MOVE_COLOURS["up"] if (target is None or v >= target) else MOVE_COLOURS["down"]
        for v in s["satisfaction_pct"]
    ]
    ax.barh(s["unit_name"], s["satisfaction_pct"], color=colours, height=0.7, zorder=2)
    ax.invert_yaxis()
    lo = 10 * np.floor(min(float(s["satisfaction_pct"].min()), target or 100) / 10) - 5
    ax.set_xlim(max(lo, 0), 100)
    for i, v in enumerate(s["satisfaction_pct"]):  # inside the bar's end: clear of the lines
        ax.text(
            v - 0.3,
            i,
            f.pct(v),
            va="center",
            ha="right",
            fontsize=7,
            color="white",
            fontweight="bold",
        )
    if target is not None:
        ax.axvline(target, color="#1d2733", lw=1.4, ls="--", zorder=3)
        ax.text(
            target,
            -0.9,
            t("charts.satisfaction.target", value=f.pct(target, strip_zeros=True)),
            ha="center",
            va="bottom",
            fontsize=8,
            fontweight="bold",
        )
    if overall is not None:
        ax.axvline(overall, color="#4a90c2", lw=1.2, zorder=3)
    ax.xaxis.set_major_formatter(_pct_axis(f))
    ax.set_xlabel(t("charts.satisfaction.x"))
    ax.set_ylabel("")
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    below = int((s["satisfaction_pct"] < target).sum()) if target is not None else 0
    alt = t(
        "charts.satisfaction.alt",
        n=f.int(len(s)),
        low=f.pct(s["satisfaction_pct"].min()),
        high=f.pct(s["satisfaction_pct"].max()),
        target=f.pct(target, strip_zeros=True) if target is not None else "–",
        below=f.int(below),
    )
    cap_key = (
        "charts.satisfaction.caption_overall"
        if overall is not None
        else "charts.satisfaction.caption"
    )
    return Chart(
        "satisfaction", fig, alt, t(cap_key, overall=f.pct(overall) if overall is not None else "")
    )


# -- 5. national index ranks over time ----------------------------------------------------
def national_ranks_chart(
    national: pd.DataFrame, cfg: ProvinceConfig, t: Translator, f: Formatter
) -> Chart:
    """`national`: index, year, rank, rank_of (rows without a rank are skipped)."""
    n = national.dropna(subset=["rank"]).copy()
    n["rank"] = n["rank"].astype(int)
    fig, axes = _new_figure(1, 1, height=3.3)
    ax = axes[0][0]
    indices = sorted(n["index"].unique())
    palette = dict(zip(indices, sns.color_palette("deep", len(indices)).as_hex(), strict=False))
    all_years = list(range(int(n["year"].min()), int(n["year"].max()) + 1)) if len(n) else []
    for idx in indices:
        d = n[n["index"] == idx].sort_values("year")
        # a year without a rank breaks the line (no slope drawn across unknown years)
        full = d.set_index("year")["rank"].reindex(all_years)
        ax.plot(
            full.index,
            full.values.astype(float),
            marker="o",
            ms=5,
            lw=1.6,
            color=palette[idx],
            label=cfg.national_index_label(idx, t.lang),
        )
        for _, r in d.iterrows():
            ax.annotate(
                f.fraction(r["rank"], r["rank_of"])
                if not pd.isna(r["rank_of"])
                else f.int(r["rank"]),
                (r["year"], r["rank"]),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=7,
                color=palette[idx],
            )
    ax.invert_yaxis()
    ymax = int(max(63, n["rank_of"].max() if n["rank_of"].notna().any() else 63))
    ax.set_ylim(ymax + 2, -2)
    years = sorted(n["year"].unique())
    ax.set_xticks(years)
    ax.set_xticklabels([str(y) for y in years])
    if years:
        ax.set_xlim(years[0] - 0.4, years[-1] + 0.4)
    ax.set_ylabel(t("charts.national.y"))
    ax.set_xlabel(t("charts.year"))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    parts = []
    for idx in indices:
        d = n[n["index"] == idx].sort_values("year")
        last = d.iloc[-1]
        parts.append(
            t(
                "charts.national.alt_index",
                index=cfg.national_index_label(idx, t.lang),
                year=str(int(last["year"])),
                rank=f.fraction(last["rank"], last["rank_of"]),
            )
        )
    return Chart(
        "national_ranks",
        fig,
        t("charts.national.alt", details=" ".join(parts)),
        t("charts.national.caption"),
    )
