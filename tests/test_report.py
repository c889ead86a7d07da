"""The report's content: the notice's sentences from metrics.json (vi and en, both rounding
rules), escaping of names that come from data, data quality, the simulated-data notice."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser

import pytest

from par_review.metrics.compute import compute_metrics
from par_review.report.context import (
    SECTIONS,
    build_context,
    render_part,
    render_section,
    simulated_flag,
)
from par_review.report.exporters import standalone_page
from par_review.report.prose import results_paragraph, satisfaction_paragraph, streak_clauses


def title_block(c):
    return render_part(c, "header")


def key_figures(c):
    return render_part(c, "key_figures")


def quality_section(c):
    return render_part(c, "quality")


def rankings_section(c):
    return render_part(c, "rankings")


EVIL = "<img src=x onerror=alert(1)>"


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def metrics_2022(demo_processed):
    return compute_metrics(2022, demo_processed)


@pytest.fixture
def ctx(demo_processed, metrics_2022, tmp_path):
    def make(lang="vi", metrics=None, out_dir=None):
        return build_context(
            2022,
            demo_processed,
            lang=lang,
            out_dir=out_dir or tmp_path,
            metrics=copy.deepcopy(metrics or metrics_2022),
        )

    return make


def test_provincial_sentence_in_the_notices_register(ctx):
    text = results_paragraph(ctx(), "provincial")
    assert text.startswith("Kết quả đánh giá, xếp hạng cải cách hành chính năm 2022")
    assert "30/43 đơn vị xếp hạng Tốt (chiếm tỷ lệ 69,77%)" in text
    # the notice printed "31,24%" here; computed, it is 13/43 = 30,23%
    assert "13/43 đơn vị xếp hạng Khá (chiếm tỷ lệ 30,23%)" in text
    assert "là năm đầu tiên không có đơn vị xếp hạng Trung bình, Yếu" in text
    assert "nan" not in text.lower()


def test_commune_sentence_with_changes_and_streak(ctx):
    text = results_paragraph(ctx(), "commune")
    assert "73/136 đơn vị xếp hạng Tốt (chiếm tỷ lệ 53,68%), tăng 03 đơn vị so với năm 2021" in text
    assert "63/136 đơn vị xếp hạng Khá (chiếm tỷ lệ 46,32%), tăng 02 đơn vị so với năm 2021" in text
    assert "không có đơn vị xếp hạng Trung bình, giảm 05 đơn vị so với năm 2021" in text
    assert "là năm thứ 3 liên tiếp không có đơn vị xếp hạng Yếu" in text


def test_truncate_policy_reproduces_the_notice_and_flags_the_sum(demo_processed, ctx):
    m = compute_metrics(2022, demo_processed, rounding="truncate")
    c = ctx(metrics=m)
    assert "(chiếm tỷ lệ 69,76%)" in results_paragraph(c, "provincial")
    assert "(chiếm tỷ lệ 53,67%)" in results_paragraph(c, "commune")
    html = title_block(c) + key_figures(c)
    assert "bỏ các chữ số sau chữ số thập phân thứ 2, không làm tròn" in html
    # 69,76 + 30,23 = 99,99: the report says so instead of hiding it
    assert "99,99%" in html and "không đúng 100%" in html


def test_english_has_the_same_figures(ctx):
    c = ctx("en")
    prov = results_paragraph(c, "provincial")
    assert "30/43 units ranked Good (69.77%)" in prov
    assert "the first year with no unit ranked Average or Weak" in prov
    com = results_paragraph(c, "commune")
    assert "up 3 on 2021" in com and "the 3rd year in a row with no unit ranked Weak" in com
    sat = satisfaction_paragraph(c)
    assert "82.77%" in sat and "83%" in sat and "missed" in sat


def test_satisfaction_against_target(ctx):
    text = satisfaction_paragraph(ctx())
    assert (
        "Chỉ số hài lòng chung khối cơ quan Sở đạt 82,77% trong khi mục tiêu đề ra là 83%" in text
    )
    assert "chưa đạt mục tiêu, thấp hơn 0,23 điểm phần trăm" in text


def test_streak_wording_edge_cases(ctx, metrics_2022):
    m = copy.deepcopy(metrics_2022)
    s = m["levels"]["commune"]["streaks"]
    # a run that reaches the first year of data is a minimum, and says so
    s["yeu"].update(years_without=5, since_year=2018, exact=False)
    said = streak_clauses(ctx(metrics=m), "commune")
    assert any("năm thứ 5 liên tiếp" in x and "tính từ năm 2018" in x for x in said)
    # "first year" only when metrics knows it is the first time
    s["trung_binh"]["first_time"] = None
    said = streak_clauses(ctx(metrics=m), "commune")
    assert not any("là năm đầu tiên không có" in x for x in said)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_names_from_data_are_escaped(ctx, metrics_2022):
    m = copy.deepcopy(metrics_2022)
    lv = m["levels"]["provincial"]
    lv["units"][0]["unit_name"] = EVIL
    lv["movements"]["up"][0]["unit_name"] = EVIL
    next(iter(lv["by_group"].values()))["top"][0]["unit_name"] = EVIL
    c = ctx(metrics=m)
    fragment = rankings_section(c)
    assert fragment.count("&lt;img src=x onerror=alert(1)&gt;") >= 3
    # the whole page through the exporter's template (charts left out: they carry no names)
    html = standalone_page([render_section(c, s) for s in SECTIONS if s != "charts"], lang="vi")
    assert EVIL not in html
    parser = _Tags()
    parser.feed(html)
    assert not [a for tag, a in parser.tags if "onerror" in a]
    assert not [a for tag, a in parser.tags if tag == "img"]


def test_quality_not_validated_when_absent(ctx):
    c = ctx()
    assert c.validation is None
    assert "Chưa kiểm tra" in quality_section(c)
    assert "Chưa được kiểm tra tự động" in title_block(c)


def test_quality_reads_validation_json_and_links_docs_relatively(ctx, tmp_path):
    out = tmp_path / "work"
    out.mkdir()
    (out / "validation.json").write_text(
        json.dumps(
            {
                "success": False,
                "n_critical": 1,
                "n_warnings": 0,
                "data_docs": "validation/index.html",
                "tables": {"provincial": {"expectations": 12, "status": "validated"}},
                "failures": [
                    {
                        "table": "provincial",
                        "column": "score",
                        "check": "score.range",
                        "description": {
                            "vi": "Điểm trong khoảng 0–100",
                            "en": "Score within 0–100",
                        },
                        "expected": {"vi": "0–100", "en": "0–100"},
                        "found": "120",
                        "n_units": 1,
                        "units": [{"unit_id": "p-x", "unit_name": EVIL, "value": 120}],
                    }
                ],
                "warnings": [],
            }
        ),
        encoding="utf-8",
    )
    c = ctx(out_dir=out)
    html = quality_section(c)
    assert "KHÔNG ĐẠT (12 phép kiểm tra, 1 lỗi, 0 cảnh báo)" in html
    assert "Điểm trong khoảng 0–100" in html and "&lt;img" in html and EVIL not in html
    assert 'href="validation/index.html"' in html
    assert "CHƯA đạt kiểm tra tự động" in title_block(c)


def test_simulated_flag(project):
    assert (
        simulated_flag(project) == "data/raw/khanh_hoa/README.md"
    )  # the demo README says SIMULATED
    (project.raw / "README.md").write_text(
        "# data/raw\nReal files from the Department.\n", encoding="utf-8"
    )
    assert simulated_flag(project) is None
    (project.raw / "DEMO").write_text("simulated\n", encoding="utf-8")
    assert simulated_flag(project) == "data/raw/khanh_hoa/DEMO"


def test_rankings_sorted_and_grouped(ctx):
    c = ctx()
    html = rankings_section(c)
    # communes grouped by district: the districts' captions in Vietnamese alphabetical order
    captions = re.findall(r"<caption>([^<:]+): \d+ đơn vị", html)
    districts = [x for x in captions if x.startswith(("Huyện", "Thành phố", "Thị xã"))]
    from par_review.textnorm import vi_name_sort_key

    assert districts and districts == sorted(districts, key=vi_name_sort_key)
    # the full provincial ranking is by score, best first
    units = c.metrics["levels"]["provincial"]["units"]
    scores = [u["score"] for u in units]
    assert scores == sorted(scores, reverse=True)
    assert squash(html).count("<tr>") > len(units)
    # ranks within the bloc restart at 1 in every bloc
    assert "Hạng trong khối" in html and "Hạng trong huyện" in html


def _wording(lang: str) -> set[str]:
    from par_review.i18n import load_locale

    # sentences without fields, long enough to be unambiguous
    return {
        v
        for v in load_locale(lang).values()
        if isinstance(v, str) and "{" not in v and len(v) >= 12
    }


def test_no_text_in_the_wrong_language(ctx):
    """The English page has none of the Vietnamese wording, and the reverse (unit names
    from data are Vietnamese in both, and are not wording)."""
    vi_only, en_only = _wording("vi") - _wording("en"), _wording("en") - _wording("vi")
    pages = {
        lang: "\n".join(render_section(ctx(lang), s) for s in SECTIONS) for lang in ("vi", "en")
    }
    import html as _html

    for lang, foreign in (("en", vi_only), ("vi", en_only)):
        text = _html.unescape(pages[lang])
        leaked = sorted(w for w in foreign if w in text)
        assert not leaked, f"{lang} page shows {leaked[:5]}"
    # and the check is not vacuous: each page does show its own wording
    assert sum(w in _html.unescape(pages["vi"]) for w in vi_only) > 10
    assert sum(w in _html.unescape(pages["en"]) for w in en_only) > 10
