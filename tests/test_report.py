"""The report's content: the notice's sentences from metrics.json (vi and en, both rounding
rules), escaping of names that come from data, data quality, the simulated-data notice."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path

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
from par_review.report.prose import plain as prose_plain
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


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_figure_is_said_to_be_printed_only_where_the_notice_recorded_it(ctx, lang, monkeypatch):
    """The rounding note quotes the notice (69,76%) only for a year whose notice the config
    records with that figure; for a year without one (every simulated year, the current
    one) it says what cutting the digits off would give, never that a document printed it."""
    from par_review.report.context import ReportContext

    quote = {"vi": "văn bản của tỉnh ghi 69,76%", "en": "printed 69.76% in the notice"}[lang]
    would = {"vi": "bỏ các chữ số thừa thì thành 69,76%", "en": "cut off to 69.76%"}[lang]
    page = _text(render_part(ctx(lang), "methodology"))
    assert quote in page and would not in page
    monkeypatch.setattr(ReportContext, "published", lambda self: {})
    page = _text(render_part(ctx(lang), "methodology"))
    assert would in page and quote not in page
    assert "30/43" in page and {"vi": "69,7674%", "en": "69.7674%"}[lang] in page


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_link_to_a_page_beside_the_report_names_its_file_for_print_only(ctx, lang):
    """A PDF's reader cannot follow "Which figures are real…": each link to a companion page
    is followed by its file name in a span that only print shows (report.css). The running
    band's link is not: print hides the band's link."""
    c = ctx(lang)
    html = title_block(c) + render_part(c, "quality") + render_part(c, "downloads")
    html = re.sub(r'<div class="par-simulated-band".*?</div>', "", html, flags=re.S)
    where = {
        "vi": "(tệp {} trong thư mục của báo cáo)",
        "en": "(the file {}, in the report&#39;s folder)",
    }
    for page in (f"data-notes.{lang}.html", f"validation.{lang}.html"):
        spans = re.findall(
            rf'<a href="{re.escape(page)}">[^<]*</a>(<span[^>]*>[^<]*</span>)?', html
        )
        wanted = f'<span class="par-print-only"> {where[lang].format(page)}</span>'
        assert spans and all(s == wanted for s in spans), (page, spans)
    css = (Path(__file__).parents[1] / "src/par_review/report/templates/par/report.css").read_text()
    assert re.search(r"^\.par-print-only \{ display: none; \}", css, re.M)
    assert re.search(r"@media print \{\s*\.par-print-only \{ display: inline; \}", css)


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
        "tổ chức: chỉ số hài lòng chung khối cơ quan Sở đạt 82,77% trong khi mục tiêu đề ra là 83%"
        in text
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


# --------------------------------------------------------------------------- issue 13: a publishable report
from par_review.report.context import report_tables, write_companions  # noqa: E402
from par_review.textnorm import vi_name_sort_key  # noqa: E402


class _Cells(HTMLParser):
    """Every table cell with its tag and attributes, and the language of every span."""

    def __init__(self):
        super().__init__()
        self.cells: list[tuple[str, dict]] = []
        self.rows: list[list[tuple[str, dict]]] = []
        self.spans: list[dict] = []
        self.links: list[str] = []
        self.in_row = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        if tag in ("th", "td"):
            self.cells.append((tag, a))
            self.rows[-1].append((tag, a))
        if tag == "span":
            self.spans.append(a)
        if tag == "a":
            self.links.append(a.get("href", ""))


def _page(c) -> str:
    return "\n".join(render_section(c, s) for s in SECTIONS if s != "charts")


def _text(html: str) -> str:
    import html as _html

    return squash(_html.unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_header_cell_has_a_scope_and_every_row_a_row_header(ctx, lang):
    p = _Cells()
    p.feed(_page(ctx(lang)))
    ths = [a for tag, a in p.cells if tag == "th"]
    assert len(ths) > 100
    assert all(a.get("scope") in ("col", "row") for a in ths)
    body_rows = [r for r in p.rows if r and r[0][1].get("scope") != "col"]
    assert body_rows and all(any(a.get("scope") == "row" for _, a in r) for r in body_rows)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_heading_of_the_row_header_column_is_marked_for_phones(ctx, lang):
    """On a phone the row headers (units, tiers, years) stay in view while a table scrolls
    sideways, and their column's heading with them (`par-row-head`): the mark must sit on
    the heading of exactly the column the rows' headers are in (the unit name is the third
    column of a ranking, after the two ranks)."""
    html = _page(ctx(lang))
    tables = re.findall(r"<table\b.*?</table>", html, flags=re.S)
    assert len(tables) > 10
    columns = []
    for tab in tables:
        heads = re.findall(r"<th\b[^>]*>", re.search(r"<thead>.*?</thead>", tab, re.S).group(0))
        marked = [i for i, h in enumerate(heads) if "par-row-head" in h]
        body = re.search(r"<tbody>(.*?)</tbody>", tab, re.S).group(1)
        at = {
            [i for i, c in enumerate(re.findall(r"<t[hd]\b[^>]*>", row)) if 'scope="row"' in c][0]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
        }
        assert len(at) <= 1, tab[:200]  # one column heads every row
        assert marked == sorted(at), tab[:200]
        columns += marked
    assert 0 in columns and 2 in columns  # tier tables and rankings


def test_vietnamese_names_carry_lang_vi_on_the_english_page(ctx):
    en, vi = _Cells(), _Cells()
    en.feed(_page(ctx("en")))
    vi.feed(_page(ctx("vi")))
    marked = [a for a in en.spans if a.get("lang") == "vi"]
    n_units = sum(len(lv["units"]) for lv in ctx().metrics["levels"].values())
    assert len(marked) >= n_units  # every unit in the rankings at least
    assert not [a for a in vi.spans if a.get("lang") == "vi"]  # the page is already Vietnamese
    html = render_part(ctx("en"), "rankings")
    assert '<span lang="vi">Phường Ngọc Hiệp</span>' in html


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_raw_codes_or_jargon_for_readers(ctx, lang):
    text = _text(_page(ctx(lang)))
    for raw in (
        "half_up",
        "truncate",
        "khanh_hoa",
        "so_ban_nganh",
        "trung_binh",
        "manifest.json",
        "metrics.json",
        "SHA-256",
        "data/raw",
        "README",
        "Tỉnh, thành phố:",
        "hạt giống",
        " vi ",
        "None",
    ):
        assert raw not in text, raw
    assert not re.search(r"\bnan\b", text, re.I)
    # sentences end with a full stop
    for para in re.findall(r'<p class="par-result">(.*?)</p>', _page(ctx(lang)), re.S):
        assert _text(para).rstrip().endswith(".")


def test_changes_are_coloured_as_good_or_bad_news(ctx):
    html = render_part(ctx(), "key_figures")
    # communes: Trung bình fell by 5 (good news), Tốt rose by 3 (good news)
    row = re.search(r"<tr><th scope=\"row\" class=\"par-tier\">Trung bình</th>.*?</tr>", html)
    assert (
        row
        and 'class="num good">−05' in row.group(0).replace("-05", "−05")
        or "good" in row.group(0)
    )
    assert "bad" not in row.group(0)
    foot = re.findall(r"<tfoot>.*?</tfoot>", html, re.S)
    assert foot and not any("good" in f or "bad" in f for f in foot)  # a total's change is neutral


def test_contents_methodology_areas_blocs_and_national_sections(ctx):
    c = ctx()
    html = _page(c)
    for anchor in ("key-figures", "results", "areas", "blocs", "national", "rankings"):
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html
    text = _text(html)
    assert "Lĩnh vực" in text and "Cải cách thủ tục hành chính" in text
    assert "Hạng trong khối" in text and "Hạng trong huyện" in text
    assert "UBND cấp huyện đánh giá" in text  # who scores the communes (config scored_by)
    # the rounding rule: 30/43 = 69,7674%, rounded 69,77%, the notice's 69,76%
    assert "69,7674%" in text and "69,77%" in text and "69,76%" in text
    # commune tables are headed by the level's own units
    assert "Xã, phường, thị trấn" in _text(render_part(c, "rankings"))
    # the national indices over the years, with ranks out of the year's total
    assert "25/63" in render_part(c, "national")


def test_ranks_within_bloc_start_at_one_in_every_bloc(ctx):
    from par_review.report.context import ranks_in_group

    lv = ctx().metrics["levels"]["provincial"]
    ranks = ranks_in_group(lv)
    by_group: dict[str, list[int]] = {}
    for u in lv["units"]:
        by_group.setdefault(u["group"], []).append(ranks[u["unit_id"]])
    assert len(by_group) > 1 and all(min(r) == 1 for r in by_group.values())


def test_names_sort_without_their_type_word_and_numbers_numerically():
    names = ["Phường 10", "Thành phố Nha Trang", "Phường 2", "Huyện Cam Lâm", "Thị xã Ninh Hòa"]
    assert sorted(names, key=vi_name_sort_key) == [
        "Huyện Cam Lâm",
        "Thành phố Nha Trang",
        "Thị xã Ninh Hòa",
        "Phường 2",
        "Phường 10",
    ]


def test_language_links_and_companion_links_are_relative(ctx):
    p = _Cells()
    p.feed(render_section(ctx("vi"), "header") + render_section(ctx("vi"), "quality"))
    assert "report.en.html" in p.links and "report.vi.pdf" in p.links
    assert "data-notes.vi.html" in p.links and "validation.vi.html" in p.links
    assert "downloads/vi/tables.xlsx" in p.links
    assert all(not re.match(r"^[a-z]+:|^/", h) for h in p.links), p.links


def test_companions_are_written_byte_identical_and_the_links_resolve(ctx, tmp_path):
    import openpyxl

    c = ctx()
    a = write_companions(c, tmp_path / "a")
    b = write_companions(c, tmp_path / "b")
    names = sorted(p.relative_to(tmp_path / "a").as_posix() for p in a)
    assert "data-notes.vi.html" in names and "validation.vi.html" in names
    assert (
        "downloads/vi/tables.xlsx" in names and "downloads/vi/key-figures-provincial.csv" in names
    )
    for pa, pb in zip(sorted(a), sorted(b), strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    # every download the report links to exists
    p = _Cells()
    p.feed(render_section(c, "quality"))
    for href in p.links:
        if href.startswith("downloads/"):
            assert (tmp_path / "a" / href).is_file(), href
    wb = openpyxl.load_workbook(tmp_path / "a" / "downloads/vi/tables.xlsx")
    assert len(wb.sheetnames) == len(report_tables(c))
    csv_text = (tmp_path / "a" / "downloads/vi/key-figures-provincial.csv").read_text("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Mức xếp hạng,Số đơn vị,Tỷ lệ")
    assert "Tốt,30,69.77" in csv_text  # numbers stay numbers in the downloads
    notes = (tmp_path / "a" / "data-notes.vi.html").read_text("utf-8")
    assert "DỮ LIỆU MÔ PHỎNG" in notes and 'href="report.vi.html"' in notes


def test_the_validation_page_says_a_table_absent_that_year_is_no_failure(ctx, tmp_path):
    """A year without satisfaction data: the gate records the table as absent (not
    required). The page said "0 không đạt" under "Kết quả kiểm tra: ĐẠT"."""
    from par_review.report.companions import validation_page

    for lang, absent, ok, name in [
        ("vi", "không có số liệu năm này", "đạt", "Chỉ số hài lòng"),
        ("en", "no data this year", "passed", "Satisfaction index"),
    ]:
        c = ctx(lang)
        c.validation = {
            "success": True,
            "tables": {
                "provincial": {"status": "validated", "rows": 43, "expectations": 40, "passed": 40},
                "satisfaction": {"status": "absent", "rows": 0, "expectations": 0, "passed": 0},
                "commune": {"status": "validated", "rows": 136, "expectations": 9, "passed": 8},
            },
        }
        page = validation_page(c)
        body = page[page.index('id="validation-tables"') :]
        body = body[: body.index("</table>")]
        rows = {
            cells[0]: cells[2]
            for tr in re.findall(r"<tr.*?</tr>", body, re.S)
            if len(cells := [_text(x).strip() for x in re.findall(r"<t[hd].*?</t[hd]>", tr, re.S)])
            == 3
        }
        assert rows[name] == absent + (" (không bắt buộc)" if lang == "vi" else " (not required)")
        assert rows[c.level_label("provincial")] == ok
        assert rows[c.level_label("commune")] != ok  # one check of nine failed
        assert "satisfaction" not in rows


def _with_config(project, extra: str) -> None:
    cfg = project.config / "province.yml"
    text = cfg.read_text(encoding="utf-8")
    text = text.replace("\nbands:\n", "\nbands:\n  assumed: true\n", 1)
    cfg.write_text(text + "\n" + extra, encoding="utf-8")


PUBLISHED = """
published:
  2022:
    document: {vi: "Thông báo kết quả năm 2022", en: "The 2022 results notice"}
    date: 2023-02-28
    shares: {provincial: {tot: 69.76, kha: 31.24}}
data_notes:
  - {status: simulated, kind: tier_counts, level: commune, years: [2018, 2019, 2020],
     what: {vi: "Số UBND cấp xã theo mức xếp hạng", en: "Commune tier counts"}}
  - {status: derived, kind: tier_counts, level: provincial, years: [2019],
     what: {vi: "Số cơ quan, đơn vị cấp tỉnh theo mức xếp hạng", en: "Provincial tier counts"}}
"""


def test_methodology_from_config_bands_assumed_notice_errors_and_simulated_claims(
    project, metrics_2022, tmp_path
):
    _with_config(project, PUBLISHED)
    c = build_context(
        2022, project, lang="vi", out_dir=tmp_path, metrics=copy.deepcopy(metrics_2022)
    )
    text = _text(render_part(c, "methodology"))
    assert "giả định" in text
    assert "ghi tỷ lệ cơ quan, đơn vị cấp tỉnh xếp hạng Khá là 31,24%" in text
    assert "tỷ lệ đúng là 13/43 = 30,23%" in text
    assert "69,76%" not in [m for m in re.findall(r"\d+,\d+%", text) if m == "31,24%"]
    header = _text(render_part(c, "header"))
    assert "Thông báo kết quả năm 2022 ngày 28/02/2023" in header
    # the commune claims rest on simulated tier counts, and say so; provincial ones do not
    com = results_paragraph(c, "commune")
    assert "dựa cả vào số liệu mô phỏng của năm 2018–2020" in com
    assert "mô phỏng" not in results_paragraph(c, "provincial")
    notes = write_companions(c, tmp_path / "pub")
    page = (tmp_path / "pub" / "data-notes.vi.html").read_text("utf-8")
    assert "Số liệu mô phỏng" in page and "năm 2018–2020" in page and "Số liệu suy ra" in page
    assert notes


# --------------------------------------------------------------------------- issue 12: structure
def _across_a_break(m: dict) -> dict:
    """2022 as if the communes had been reorganised in 2022: the figures metrics.json then
    gives (PLAN.md "Structure over time")."""
    m = copy.deepcopy(m)
    lv = m["levels"]["commune"]
    lv["comparison"] = {
        "basis": "combined_baseline",
        "previous_year": 2021,
        "reason": {"vi": "Các xã được sắp xếp lại.", "en": "The communes were reorganised."},
        "baseline": {"units": 201, "provinces": ["khanh_hoa"], "by_province": {"khanh_hoa": 201}},
        "lineage": {"merged": 61, "new": 1, "previous_roster": {"khanh_hoa": 201}},
    }
    lv["change_total"] = None
    for e in lv["tiers"].values():
        e["change_count"] = None
    for s in lv["streaks"].values():
        s.update(bounded_by="structure", since_structure=2022, years_without=1, first_time=None)
    n = m["national_indices"]["PAR_INDEX"]
    n.update(rank=10, rank_of=34, prev_rank=10, prev_rank_of=63, rank_change=None)
    n["rank_comparable"] = False
    return m


def test_no_count_change_across_a_break_and_the_basis_is_said(ctx, metrics_2022):
    c = ctx(metrics=_across_a_break(metrics_2022))
    para = results_paragraph(c, "commune")
    assert not re.search(r"(tăng|giảm) \d+ đơn vị so với năm", para)
    assert "trong năm 2022, năm đầu tiên của cơ cấu hiện nay" in para
    assert "năm thứ 3 liên tiếp" not in para and "là năm đầu tiên" not in para
    results = _text(render_part(c, "results"))
    assert "Tổng số đơn vị được đánh giá là 136 (năm 2021 là 136 đơn vị theo tổ chức cũ)" in results
    assert "8/34" not in results and "10/34 (2022) · 10/63 (2021)" in results
    assert "tăng 23 bậc" not in results
    kf = render_part(c, "key_figures").replace("\u00a0", " ")  # headings' no-break spaces
    assert "gộp chung của tỉnh Khánh Hòa (201 đơn vị)" in _text(kf)
    assert "Tăng, giảm so với năm 2021 (đơn vị)" in kf  # provincial still same set
    com = kf[kf.index("UBND cấp xã: số đơn vị") :]
    assert "Tăng, giảm so với năm 2021 (đơn vị)" not in com  # no count column for communes
    s = _text(render_part(c, "structure"))
    assert "UBND cấp xã: 201 đơn vị năm 2021, 136 đơn vị năm 2022" in s
    assert "61 đơn vị hình thành từ việc hợp nhất" in s


def test_no_structure_section_when_nothing_changed(ctx):
    assert render_part(ctx(), "structure") == ""
    assert 'href="#structure"' not in render_part(ctx(), "header")


def test_wording_overrides_from_config_replace_the_locale(ctx):
    c = ctx()
    c.t.overrides["results.intro.commune"] = (
        "Đối với UBND cấp xã do UBND tỉnh đánh giá, năm {year} có"
    )
    para = results_paragraph(c, "commune")
    assert para.startswith("Đối với UBND cấp xã do UBND tỉnh đánh giá, năm 2022 có 73/136")
    assert "UBND cấp huyện đánh giá và xếp hạng" not in para


def test_the_report_has_phone_charts_and_the_preview_skips_them(ctx, monkeypatch):
    """Every chart has a phone-width drawing for the page's <picture>; the live preview's
    kernel (PAR_REVIEW_PHONE_CHARTS=0) draws the wide one only, in half the time."""
    from par_review.report.context import charts_data

    figures = charts_data(ctx("vi"))["figures"]
    assert figures and all(f["src_phone"] and f["src_phone"] != f["src"] for f in figures)
    monkeypatch.setenv("PAR_REVIEW_PHONE_CHARTS", "0")
    wide_only = charts_data(ctx("vi"))["figures"]
    assert [f["src"] for f in wide_only] == [f["src"] for f in figures]
    assert not any(f["src_phone"] for f in wide_only)


def test_a_movement_count_of_none_is_said_in_words_in_vietnamese(ctx, metrics_2022):
    """'0 đơn vị tăng mức xếp hạng, 02 đơn vị giảm…' mixed a bare 0 with padded counts; the
    Vietnamese says 'không có đơn vị tăng mức xếp hạng'. English keeps the digit."""
    from par_review.report.prose import movement_sentence

    m = copy.deepcopy(metrics_2022)
    mv = m["levels"]["provincial"]["movements"]
    mv.update(available=True, up_count=0, down_count=2, same_count=7)
    vi = movement_sentence(ctx("vi", metrics=m), "provincial")
    assert "không có đơn vị tăng mức xếp hạng, 02 đơn vị giảm mức xếp hạng, 07 đơn vị" in vi
    assert not re.search(r"(^|\D)0 đơn vị", vi)
    en = movement_sentence(ctx("en", metrics=m), "provincial")
    assert "0 units moved up" in en and "không" not in en


def test_merged_units_name_predecessors_of_the_absorbed_province(ctx, metrics_2022):
    m = copy.deepcopy(metrics_2022)
    mv = m["levels"]["provincial"]["movements"]
    mv["merged"] = [
        {
            "unit_id": "p-new",
            "unit_name": "Sở Nông nghiệp và Môi trường",
            "group": "so_ban_nganh",
            "tier": "tot",
            "score": 97.3,
            "predecessors": [
                {
                    "unit_id": "p-a",
                    "province": None,
                    "unit_name": "Sở Tài nguyên và Môi trường",
                    "prev_tier": "tot",
                },
                {
                    "unit_id": "ninh_thuan:nt-b",
                    "province": "ninh_thuan",
                    "unit_name": "Sở Tài nguyên và Môi trường tỉnh Ninh Thuận",
                    "prev_tier": "kha",
                },
                {
                    "unit_id": "ninh_thuan:nt-c",
                    "province": "ninh_thuan",
                    "unit_name": "Chi cục Thủy lợi",
                    "prev_tier": "kha",
                },
            ],
        }
    ]
    html = render_part(ctx("en", metrics=m), "rankings")
    assert "Merged from" in html
    # a name that says its province is not followed by it again; one that does not, is
    assert '<span lang="vi">Sở Tài nguyên và Môi trường tỉnh Ninh Thuận</span>, Fair' in html
    assert re.search(r'<span lang="vi">Chi cục Thủy lợi</span> \(Ninh Thuận[^)]*\), Fair', html)


# --------------------------------------------------------------------------- the 2025 merger, end to end
@pytest.fixture(scope="module")
def merged_2025(tmp_path_factory):
    """The demo's 2025 report contexts (Khánh Hòa with Ninh Thuận absorbed), both languages."""
    from conftest import make_project_copy

    from par_review.clean.tables import clean_year

    paths = make_project_copy(tmp_path_factory.mktemp("merger") / "proj")
    for year in (2023, 2024, 2025):
        clean_year(year, paths)
    nt = paths.of("ninh_thuan")
    for year in nt.raw_years():
        clean_year(year, nt)
    m = compute_metrics(2025, paths)
    out = tmp_path_factory.mktemp("merger-out")
    return {
        lang: build_context(2025, paths, lang=lang, out_dir=out, metrics=copy.deepcopy(m))
        for lang in ("vi", "en")
    }


@pytest.mark.slow
def test_a_pooled_baseline_is_named_in_the_area_table(merged_2025, ctx):
    """2025's communes are compared with both provinces' 2024 communes pooled: the area
    table's 2024 column says so (it read 'Năm 2024', as if Khánh Hòa's own)."""
    from par_review.report.context import areas_table

    for lang, words in (
        ("vi", "Năm 2024 (Khánh Hòa và Ninh Thuận gộp chung)"),
        ("en", "2024 (Khánh Hòa and Ninh Thuận pooled)"),
    ):
        cols = areas_table(merged_2025[lang], "commune").columns
        heads = [col.text for col in cols]
        assert words in heads, heads
        # the long heading wraps over its numbers (on one line it pushed the table past a
        # 1280 px screen)
        assert "par-wrap" in cols[heads.index(words)].cls.split()
    same_set = areas_table(ctx("vi"), "commune")  # 2022 against 2021: the province's own
    assert not any("gộp" in col.text for col in same_set.columns)


@pytest.mark.slow
def test_the_2025_report_states_the_break_and_compares_no_counts(merged_2025):
    c = merged_2025["vi"]
    text = _text(_page(c))
    assert not re.search(r"(tăng|giảm) \d+ đơn vị so với năm 2024", text)
    s = _text(render_part(c, "structure"))
    assert "Ninh Thuận hợp nhất vào tỉnh Khánh Hòa" in s
    assert "đơn vị năm 2024 (Khánh Hòa 43, Ninh Thuận 34)" in s
    assert "UBND cấp huyện" in s  # the district committees ended
    assert "Sở, ban, ngành: 40 đơn vị năm 2024, 14 đơn vị năm 2025" in s
    # national ranks of two different totals side by side, never "tăng N bậc"
    res = _text(render_part(c, "results"))
    assert re.search(r"\d+/34 \(2025\) · \d+/63 \(2024\)", res)
    assert "bậc so với năm 2024" not in res
    # the streaks say since when the current structure began, in one parenthesis at most,
    # and a claim on simulated figures only is "based on" them, not "also" resting on them
    assert "trong năm 2025, năm đầu tiên của cơ cấu hiện nay" in res
    assert ") (" not in res and "dựa cả vào số liệu mô phỏng của năm 2025)" not in res
    assert "(nhận định này dựa trên số liệu mô phỏng của năm 2025)" in res
    en = _text(render_part(merged_2025["en"], "results"))
    assert "in 2025, the first year of the current structure" in en and ") (" not in en
    assert "(a statement based on the simulated figures of 2025)" in en
    # lineage names the absorbed province's predecessors
    rk = render_part(merged_2025["en"], "rankings")
    assert "Merged from" in rk and "tỉnh Ninh Thuận</span>" in rk
    # the communes' column follows the 2025 title
    assert "Xã, phường, đặc khu" in render_part(c, "rankings")


def test_english_counts_of_one_are_singular(merged_2025):
    # the 2025 lineage has counts of 1 (one commune renamed, one new): "1 units were" is
    # wrong English; Vietnamese has no plural, its one text serves every count
    en = _text(_page(merged_2025["en"]))
    assert not re.search(r"(?<![\d.,])1 units\b", en), re.findall(r".{40}\b1 units\b.{20}", en)
    assert "1 unit was renamed or converted from one former unit." in en
    assert "1 unit is new." in en
    assert re.search(r"\b([2-9]|\d\d+) units were formed by merging", en)
    from par_review.i18n import Translator

    for lang in ("vi", "en"):
        tr = Translator(lang)
        for key in ("structure.merged", "rankings.movers_up", "rankings.movers_down"):
            assert tr.plural(key, 1, n="1") and tr.plural(key, 2, n="2")
    vi = Translator("vi")
    assert vi.plural("structure.new", 1, n="1") == "1 đơn vị mới thành lập."


def test_the_blocs_title_says_what_its_tables_group_by(ctx, merged_2025):
    # 2022: provincial units by bloc and communes by district; 2025: no district level left
    assert "Tiers by bloc and by district" in _text(render_part(ctx("en"), "blocs"))
    c = merged_2025["en"]
    s = _text(render_part(c, "blocs"))
    assert "Tiers by bloc" in s and "district" not in s.split(".")[0].lower()
    assert "Tiers by bloc and by district" not in _text(_page(c))
    assert "Mức xếp hạng theo khối" in _text(render_part(merged_2025["vi"], "blocs"))
    assert "theo địa bàn" not in _text(_page(merged_2025["vi"]))


def test_par_index_components_when_the_data_has_them(project, metrics_2022, tmp_path):
    (project.national_raw.parent / "par_index_components.csv").write_text(
        "year,component_vi,component_en,value_pct,rank,rank_of\n"
        "2022,Cải cách thể chế,Institutional reform,100.00,10,63\n"
        "2022,Cải cách thủ tục hành chính,Administrative procedure reform,,53,63\n",
        encoding="utf-8",
    )
    c = build_context(
        2022, project, lang="vi", out_dir=tmp_path, metrics=copy.deepcopy(metrics_2022)
    )
    html = render_part(c, "national")
    assert "Cải cách thể chế" in html and "100,00%" in html and "10/63" in html and "53/63" in html
    assert any(t.id == "par-index-components" for t in report_tables(c))


def _shown_number(text: str) -> tuple[float, str]:
    """A number as the report prints it ("91,10" vi, "91.10" en, "−2,08", "+6,22") and
    the footnote mark after it, if any."""
    m = re.fullmatch(r"([\u2212+-]?[\d.,]*\d)(\S*)", text.strip())
    assert m, text
    t = m[1].replace("\u2212", "-").replace("+", "")
    return float(t.replace(".", "").replace(",", ".") if "," in t else t), m[2]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_ranking_change_is_the_shown_score_minus_the_shown_baseline(merged_2025, lang):
    # a merged unit's 2024 score is the mean of its predecessors (91.095 for the Sở Nông
    # nghiệp và Môi trường): it showed 91,10 and a change of +6,23 from 97,32, and did not
    # say it is a mean
    from par_review.report.context import rankings_data

    c = merged_2025[lang]
    tables = [tb for b in rankings_data(c)["blocks"] for tb in b["tables"]]
    merged = {
        u["unit_name"]
        for lv in c.metrics["levels"].values()
        for u in lv["units"]
        if u.get("comparison_method") == "mean_of_predecessors"
    }
    assert len(merged) >= 8
    seen = set()
    for tb in tables:
        cols = [col.plain for col in tb.columns]
        if c.t("rankings.col_change") not in cols:
            continue
        i_now = cols.index(c.t("rankings.col_score"))
        i_prev = cols.index(c.t("rankings.col_prev_score", prev="2024"))
        i_ch = cols.index(c.t("rankings.col_change"))
        marks = set()
        for r in tb.rows:
            name = next(x.plain for x in r if x.row_header)
            if r[i_ch].plain == "–":
                continue
            now, _ = _shown_number(r[i_now].plain)
            before, mark = _shown_number(r[i_prev].plain)
            change, _ = _shown_number(r[i_ch].plain)
            assert round(now - before, 2) == change, (name, r[i_now].plain, r[i_prev].plain)
            assert r[i_ch].value == pytest.approx(change)
            assert bool(mark) == (name in merged), (name, r[i_prev].plain)
            if mark:
                seen.add(name)
                marks.add(mark)
        notes = [prose_plain(n) for n in tb.notes]
        for mark in marks:  # every mark is explained under its table
            assert any(n.startswith(mark) for n in notes), notes
    assert seen == merged
    html = _text(render_part(c, "rankings"))
    key = {"vi": "của các đơn vị tiền thân", "en": "Mean of the predecessor units"}[lang]
    assert key in html


def test_a_download_says_what_a_marked_value_is_in_a_column_beside_it(tmp_path):
    """The page marks a merged unit's previous score, a mean of its predecessors, with `*`
    and a footnote; the download's number carries no mark, so it read as the unit's own
    score. A column after it says what each marked value is; the XLSX also prints the
    table's footnotes under it."""
    import csv
    import io

    import openpyxl

    from par_review.report.companions import table_csv, tables_xlsx
    from par_review.report.context import Cell, Table, head, num

    mean = num("91,10*", 91.1)
    mean.note = "mean of the predecessors"
    tb = Table(
        "ranking-x",
        "Ranking",
        [head("Unit"), head("Score 2024", True), head("Score", True)],
        [
            [Cell("A", row_header=True), mean, num("97,32", 97.32)],
            [Cell("B", row_header=True), num("86,90", 86.9), num("90,00", 90.0)],
        ],
        notes=["* Mean of the predecessor units."],
    )
    rows = list(csv.reader(io.StringIO(table_csv(tb, lambda c: f"{c}: note").lstrip("\ufeff"))))
    assert rows == [
        ["Unit", "Score 2024", "Score 2024: note", "Score"],
        ["A", "91.1", "mean of the predecessors", "97.32"],
        ["B", "86.9", "", "90.0"],
    ]
    (tmp_path / "t.xlsx").write_bytes(tables_xlsx([tb], lambda c: f"{c}: note"))
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    got = [[v for v in r if v is not None] for r in ws.iter_rows(values_only=True)]
    assert got[1] == ["Unit", "Score 2024", "Score 2024: note", "Score"]
    assert got[2] == ["A", 91.1, "mean of the predecessors", 97.32]  # numbers stay numbers
    assert got[-1] == ["* Mean of the predecessor units."]
    plain = Table("t", None, [head("Unit")], [[Cell("A")]])  # nothing marked: no extra column
    assert table_csv(plain).splitlines() == ["\ufeffUnit", "A"]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_2025_ranking_download_names_every_mean_baseline(merged_2025, lang, tmp_path):
    import csv

    from par_review.report.companions import write_downloads

    c = merged_2025[lang]
    write_downloads(c, tmp_path)
    path = tmp_path / "downloads" / lang / "ranking-provincial.csv"
    rows = list(csv.reader(path.read_text("utf-8-sig").splitlines()))
    prev_col = c.t("rankings.col_prev_score", prev="2024")
    i = rows[0].index(prev_col)
    assert rows[0][i + 1] == c.t("downloads.note_column", column=prev_col)
    flag = c.t("rankings.mean_baseline_flag", prev="2024")
    merged = {
        u["unit_name"]
        for u in c.metrics["levels"]["provincial"]["units"]
        if u.get("comparison_method") == "mean_of_predecessors"
    }
    name = rows[0].index(c.unit_column("provincial"))
    flagged = {r[name] for r in rows[1:] if r[i + 1] == flag}
    assert flagged == merged and all(r[i + 1] in ("", flag) for r in rows[1:])
    assert all(float(r[i]) for r in rows[1:] if r[name] in merged)  # a number, unmarked


def _heading_levels(html: str) -> list[tuple[int, str]]:
    return [
        (int(m[1]), _text(m[2])) for m in re.finditer(r"<h([1-6])\b[^>]*>(.*?)</h\1>", html, re.S)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("which", ["2022", "2025"])
def test_the_outline_is_h1_then_h2_then_h3_without_skipped_levels(ctx, merged_2025, lang, which):
    # the rankings section went from its h2 to an h4 (the movers), skipping h3
    c = ctx(lang) if which == "2022" else merged_2025[lang]
    levels = _heading_levels("\n".join(render_section(c, s) for s in SECTIONS))
    assert levels and levels[0][0] == 1 and [lv for lv, _ in levels].count(1) == 1, levels[:3]
    for (before, _), (level, text) in zip(levels, levels[1:], strict=False):
        assert level <= before + 1, f"h{before} then h{level}: {text}"
    assert any(lv == 3 for lv, _ in levels)


def _glue_errors(html: str) -> list[str]:
    """Template glue seen in a page's text: doubled spaces, doubled brackets, empty list
    items (", ,"), a space before a comma or full stop, a sentence begun in lower case."""
    import html as _html

    bad = []
    for node in re.findall(r">([^<]+)<", html):
        if re.search(r"\S {2,}\S", _html.unescape(node)):
            bad.append(node.strip())
    inline = r"</?(?:span|a|strong|em|b|i|sup|sub|abbr|code|small)\b[^>]*>"
    text = _text(re.sub(inline, "", html))
    for pat in (r"\(\s*\(", r"\)\s*\)", r",\s*,", r"\s[,.;](?!\d)", r"[.!?] [a-z]"):
        bad += [text[max(0, m.start() - 50) : m.end() + 20] for m in re.finditer(pat, text)]
    return bad


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("which", ["2022", "2025"])
def test_pages_have_no_template_glue_errors(ctx, merged_2025, which, lang):
    # "…, printed 69.76% in the notice. the notice of the conclusions … gives": the
    # document's name began a sentence in lower case
    c = ctx(lang) if which == "2022" else merged_2025[lang]
    assert _glue_errors(_page(c)) == []


def test_the_english_satisfaction_sentence_has_one_subject(ctx):
    # "the overall satisfaction index, departments was 82.77%": the configured label read
    # as a list of two subjects with a singular verb
    c = ctx("en")
    labels = {
        str(c.cfg.targets(y)["satisfaction"]["label"]["en"])
        for y in range(2015, 2031)
        if (c.cfg.targets(y).get("satisfaction") or {}).get("label")
    }
    assert labels
    for label in labels:
        c.metrics["satisfaction"]["label_en"] = label
        text = satisfaction_paragraph(c)
        m = re.search(r": the (.+?) was \d", text)
        assert m, text
        assert "," not in m[1], text


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_simulated_national_results_say_so_where_they_are_shown(ctx, merged_2025, lang):
    # the 2025 PAR INDEX and SIPAS (8/34, 15/34) are demo values (basis "simulated: ...")
    # and the data-notes page said so, but the report showed them as results
    import pandas as pd

    from par_review.report.context import make_charts, national_table
    from par_review.report.prose import national_items

    word = {"vi": "mô phỏng", "en": "simulated"}[lang]
    c = merged_2025[lang]
    raw = pd.read_csv(c.paths.national_raw, encoding="utf-8")
    sim = raw["basis"].astype(str).str.startswith("simulated")
    sim_years = {int(y) for y in raw.loc[sim, "year"]}
    assert c.year in sim_years
    # the results section: every index with a 2025 figure
    shown = [s for s in national_items(c) if "/34" in s]
    assert shown and all(word in s for s in shown), shown
    # the table of the years: the simulated years' rows, and a note under it
    tb = national_table(c)
    for row in tb.rows:
        year = int(re.match(r"\d{4}", row[0].plain)[0])
        assert (word in row[0].plain) == (year in sim_years), row[0].plain
    assert any(word in prose_plain(n) for n in tb.notes)
    # the chart of the ranks: caption and alt text
    charts = {ch.key: ch for ch in make_charts(c)}
    ch = charts["national_ranks"]
    assert word in ch.caption and word in ch.alt
    # a year of real results says nothing of the kind
    c22 = ctx(lang)
    assert not any(word in s for s in national_items(c22))
    assert all(word not in r[0].plain for r in national_table(c22).rows)
    assert not national_table(c22).notes


def test_the_satisfaction_label_follows_the_config_without_a_new_analysis(ctx, metrics_2022):
    # the analysis step's fingerprint leaves labels out (a wording edit re-renders only the
    # report), but the sentence took the label from metrics.json: an edited label stayed
    # old in the rebuilt report
    m = copy.deepcopy(metrics_2022)
    m["satisfaction"]["label_en"] = "Stale label, from an old analysis"
    c = ctx("en", metrics=m)
    label = c.cfg.targets(2022)["satisfaction"]["label"]["en"]
    text = satisfaction_paragraph(c)
    assert "stale label" not in text.lower() and label[1:] in text, text


def _movement_caption(c) -> str:
    from par_review.report import charts
    from par_review.report.context import make_charts

    out = ""
    for ch in make_charts(c):
        if ch.key == "movement":
            out = ch.caption
        charts.close(ch)
    return out


def test_the_movement_figure_says_how_many_units_it_shows(ctx):
    """The scatter of last year's score against this year's shows only the units matched
    with last year: its caption says how many of the year's units that is (2022: the one
    merged unit of 43 is not on it; every commune is)."""
    vi, en = _movement_caption(ctx("vi")), _movement_caption(ctx("en"))
    assert vi.endswith("không có trên hình: hình có 42/43 cơ quan, đơn vị cấp tỉnh.")
    assert en.endswith("are not shown: the figure shows 42 of the 43 provincial-level units.")
    assert "136" not in vi  # the communes are all on it: not named


@pytest.mark.slow
def test_the_2025_movement_figure_says_it_shows_9_of_30_units(merged_2025):
    """2025: 21 of the 30 provincial-level units are merged (no tier compared) and no
    commune can be matched with 2024; the caption says the figure shows 9 and none."""
    caption = _movement_caption(merged_2025["vi"])
    assert caption.endswith("hình có 9/30 cơ quan, đơn vị cấp tỉnh và 0/65 UBND cấp xã.")


def test_a_heading_never_breaks_inside_a_vietnamese_word():
    """The spaces inside a word of several syllables become no-break in a table heading:
    "Số đơn vị" may wrap as "Số / đơn vị", never "Số đơn / vị". Matched as whole words,
    any case; only spaces change, so escaped markup stays escaped."""
    from markupsafe import Markup

    from par_review.report.render import keep_words

    words = ("đơn vị", "xếp hạng", "điểm %")
    assert keep_words("Số đơn vị", words) == "Số đơn\u00a0vị"
    assert keep_words("Xếp hạng năm 2021 (điểm %)", words) == "Xếp\u00a0hạng năm 2021 (điểm\u00a0%)"
    assert keep_words("Số đơn vịt", words) == "Số đơn vịt"  # not inside a longer word
    assert keep_words("<b> đơn vị", words) == "&lt;b&gt; đơn\u00a0vị"  # a plain string is escaped
    assert keep_words(Markup("<b>đơn vị</b>"), words) == "<b>đơn\u00a0vị</b>"  # markup kept
    assert keep_words("Số đơn vị", ()) == "Số đơn vị"


def test_vietnamese_table_headings_keep_their_words_and_the_downloads_do_not(ctx, tmp_path):
    from par_review.report.companions import table_csv
    from par_review.report.context import key_figures_data

    html = key_figures(ctx("vi"))
    heads = re.findall(r"<th scope=\"col\"[^>]*>([^<]*)</th>", html)
    assert "Số đơn\u00a0vị" in heads and "Mức xếp\u00a0hạng" in heads
    assert "\u00a0" not in re.sub(r"<thead>.*?</thead>", "", html, flags=re.S)  # headings only
    assert "\u00a0" not in key_figures(ctx("en"))
    table = key_figures_data(ctx("vi"))["blocks"][0]["table"]
    assert "Số đơn vị" in table_csv(table) and "\u00a0" not in table_csv(table)
