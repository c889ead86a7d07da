"""Charts: deterministic PNG bytes, labels and alt text through the formatting layer."""

from __future__ import annotations

import pandas as pd
import pytest

from par_review.fmt import Formatter
from par_review.i18n import Translator
from par_review.report import charts


@pytest.fixture
def history():
    rows = []
    for year, counts in (
        (2021, {"tot": 30, "kha": 13, "trung_binh": 1, "yeu": 0}),
        (2022, {"tot": 30, "kha": 13, "trung_binh": 0, "yeu": 0}),
    ):
        total = sum(counts.values())
        for tier, c in counts.items():
            rows.append(
                {
                    "year": year,
                    "level": "provincial",
                    "tier": tier,
                    "count": c,
                    "share": 100 * c / total,
                }
            )
    return pd.DataFrame(rows)


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


def test_alt_text_and_axis_labels_use_the_locale(cfg, history):
    for lang, share in (("vi", "69,77%"), ("en", "69.77%")):
        ch = charts.tier_shares_chart(history, cfg, Translator(lang), Formatter(lang))
        assert share in ch.alt
        ax = ch.figure.axes[0]
        assert ax.yaxis.get_major_formatter()(50, 0) == "50%"
        texts = {x.get_text() for x in ax.texts}
        assert ("70%" in texts) and ("Tốt" in ch.alt if lang == "vi" else "Good" in ch.alt)
        charts.close(ch)


def test_satisfaction_chart_marks_units_below_target():
    sat = pd.DataFrame(
        {"unit_name": ["Sở A", "Sở B", "Sở C"], "satisfaction_pct": [88.5, 82.1, 83.0]}
    )
    ch = charts.satisfaction_chart(sat, 83.0, Translator("vi"), Formatter("vi"), overall=84.53)
    assert "1 đơn vị chưa đạt mục tiêu" in ch.alt and "mục tiêu 83%" in ch.alt
    labels = [x.get_text() for x in ch.figure.axes[0].texts]
    assert "82,10%" in labels and "Mục tiêu 83%" in labels
    charts.close(ch)
