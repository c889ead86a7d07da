"""The nbconvert exporters and the rendered demo report (HTML and PDF).

Fast tests use a hand-made executed notebook; the slow ones execute notebooks/40_report.ipynb
with papermill on a copy of the demo project and check what a reader gets."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from par_review.report.exporters import ParHTMLExporter, ParPDFExporter, render_report

REPO = Path(__file__).resolve().parents[1]
DATA_URI = re.compile(r"data:[a-z/+.-]+;base64,[A-Za-z0-9+/=\s]+")
# anything a browser would fetch: src/href/srcset/action attributes, CSS url() and @import
REMOTE = re.compile(
    r"""(?:\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+["']?(?:url\()?\s*["']?(?:https?:)?//)""",
    re.I,
)


def executed_like(lang: str | None = "vi") -> nbformat.NotebookNode:
    nb = new_notebook()
    if lang:
        nb.metadata["papermill"] = {"parameters": {"lang": lang, "year": 2022}}
    nb.cells.append(new_markdown_cell("ANALYST NOTE: not for readers", id="md-0"))
    c = new_code_cell("SECRET_CODE = 42\nprint('hi')", id="code-1")
    c.execution_count = 1
    c.outputs = [
        new_output("stream", name="stderr", text="WARNING_TEXT from a library\n"),
        new_output(
            "display_data",
            data={
                "text/html": '<header class="par-title"><h1>Báo cáo &amp; năm</h1></header>',
                "text/plain": "<HTML>",
            },
        ),
    ]
    nb.cells.append(c)
    return nb


def test_entry_points_register_the_exporters():
    from nbconvert.exporters import get_exporter

    assert get_exporter("parhtml") is ParHTMLExporter
    assert get_exporter("parpdf") is ParPDFExporter


def test_html_has_outputs_only_no_network_and_a_language():
    html, _ = ParHTMLExporter().from_notebook_node(executed_like("vi"))
    for hidden in (
        "SECRET_CODE",
        "print(",
        "ANALYST NOTE",
        "WARNING_TEXT",
        "In&nbsp;[",
        "jp-CodeCell",
    ):
        assert hidden not in html
    assert '<html lang="vi">' in html
    assert "<title>Báo cáo &amp; năm</title>" in html
    assert "<script" not in html.lower()
    assert not REMOTE.search(html)
    assert "cell-id" not in html  # no per-cell ids (papermill's are random)


def test_html_is_deterministic_and_language_follows_the_parameter():
    a, _ = ParHTMLExporter().from_notebook_node(executed_like("en"))
    b, _ = ParHTMLExporter().from_notebook_node(executed_like("en"))
    assert a == b and '<html lang="en">' in a
    c, _ = ParHTMLExporter().from_notebook_node(executed_like(None))
    assert '<html lang="vi">' in c  # default


def test_render_report_refuses_a_notebook_with_an_error(tmp_path):
    nb = executed_like("vi")
    nb.cells[1].outputs.append(new_output("error", ename="ValueError", evalue="boom", traceback=[]))
    p = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(p))
    with pytest.raises(RuntimeError, match="ValueError"):
        render_report(p, tmp_path / "out", formats=("html",))
    assert not (tmp_path / "out" / "report.vi.html").exists()


# --------------------------------------------------------------------------- the demo report
def _execute(project_root: Path, out_dir: Path, dst: Path, lang: str = "vi") -> Path:
    import papermill as pm

    pm.execute_notebook(
        str(REPO / "notebooks" / "40_report.ipynb"),
        str(dst),
        kernel_name="par-review",
        parameters={"year": 2022, "root": str(project_root), "out_dir": str(out_dir), "lang": lang},
        progress_bar=False,
        cwd=str(project_root),
        execution_timeout=300,
    )
    return dst


@pytest.fixture(scope="module")
def demo_report(demo_processed, tmp_path_factory):
    """The 2022 demo report: Vietnamese executed twice (two kernels) and rendered twice,
    English once; the companion pages and downloads of both languages."""
    from conftest import make_project_copy

    from par_review.metrics.compute import compute_metrics, write_metrics
    from par_review.report.context import build_context, write_companions

    base = tmp_path_factory.mktemp("report")
    paths = make_project_copy(base / "proj")
    shutil.copytree(demo_processed.processed, paths.processed)
    out = paths.work_year(2022)
    out.mkdir(parents=True)
    write_metrics(compute_metrics(2022, paths), out, paths, 2022)  # the analyse step's output
    # a passed validation (the gate's summary format): the report links its Data Docs
    (out / "validation.json").write_text(
        json.dumps(
            {
                "success": True,
                "status": "passed",
                "n_critical": 0,
                "n_warnings": 0,
                "failures": [],
                "warnings": [],
                "tables": {"provincial": {"expectations": 10}, "commune": {"expectations": 7}},
                "data_docs": "validation/index.html",
            }
        ),
        encoding="utf-8",
    )
    nb1 = _execute(paths.root, out, base / "run1.ipynb")
    nb2 = _execute(paths.root, out, base / "run2.ipynb")
    nb_en = _execute(paths.root, out, base / "run_en.ipynb", lang="en")
    first = render_report(nb1, base / "a", lang="vi")
    second = render_report(nb2, base / "b", lang="vi")
    english = render_report(nb_en, base / "a", lang="en")
    for lang in ("vi", "en"):
        write_companions(build_context(2022, paths, lang=lang, out_dir=out), base / "a")
    return {
        "nb": nb1,
        "html": first["html"],
        "pdf": first["pdf"],
        "html2": second["html"],
        "pdf2": second["pdf"],
        "html_en": english["html"],
        "pdf_en": english["pdf"],
        "dir": base / "a",
        "paths": paths,
    }


@pytest.mark.slow
def test_demo_html_is_clean(demo_report):
    nb = nbformat.read(str(demo_report["nb"]), as_version=4)
    assert not [
        o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert demo_report["html"].name == "report.vi.html"
    html = demo_report["html"].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="vi">' in html
    text = DATA_URI.sub("data:", html)
    assert not re.search(r"\bnan\b", text, re.I)
    assert not REMOTE.search(text)
    assert "<script" not in text.lower()
    for code in (
        "build_context(",
        "render_section(",
        "import warnings",
        "jp-InputArea",
        "Traceback",
    ):
        assert code not in text
    n_img = html.count("<img ")
    assert n_img >= 5 and html.count('src="data:image/png;base64,') == n_img
    assert 'alt=""' not in text
    for alt in re.findall(r'alt="([^"]*)"', text):
        assert alt[:1].isupper(), alt  # an alt text starts properly (not ". cơ quan")
    assert "DỮ LIỆU MÔ PHỎNG" in text
    assert 'href="validation/index.html"' in text  # the Data Docs, relative to the report
    assert 'href="report.en.html"' in text and 'href="validation.vi.html"' in text
    assert "Đã qua kiểm tra tự động" in text and "ĐẠT (17 phép kiểm tra, 0 lỗi, 0 cảnh báo)" in text


@pytest.mark.slow
def test_every_link_of_the_published_pages_resolves(demo_report):
    folder = demo_report["dir"]
    pages = sorted(folder.glob("*.html"))
    assert {p.name for p in pages} >= {
        "report.vi.html",
        "report.en.html",
        "data-notes.vi.html",
        "data-notes.en.html",
        "validation.vi.html",
        "validation.en.html",
    }
    for page in pages:
        for href in re.findall(r'href="([^"#]+)', page.read_text(encoding="utf-8")):
            assert not re.match(r"^[a-z]+:|^/", href), (page.name, href)
            if href.startswith("validation/") or href.endswith(".pdf"):
                continue  # the Data Docs are the validate step's; the PDF is written beside
            assert (folder / href).is_file(), (page.name, href)


@pytest.mark.slow
def test_demo_report_is_byte_identical_across_runs(demo_report):
    # two kernels, two output folders: same bytes (no ids, timestamps or paths inside)
    assert demo_report["html"].read_bytes() == demo_report["html2"].read_bytes()
    assert demo_report["pdf"].read_bytes() == demo_report["pdf2"].read_bytes()


def _pdftotext(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(pdf), "-"]
    return re.sub(
        r"\s+", " ", subprocess.run(args, capture_output=True, text=True, check=True).stdout
    )


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


@pytest.mark.slow
def test_demo_pdf_has_the_headlines_fonts_and_a4(demo_report):
    pdf = demo_report["pdf"]
    text = _pdftotext(pdf)
    for sentence in (
        "30/43 đơn vị xếp hạng Tốt (chiếm tỷ lệ 69,77%)",
        "13/43 đơn vị xếp hạng Khá (chiếm tỷ lệ 30,23%)",
        "73/136 đơn vị xếp hạng Tốt (chiếm tỷ lệ 53,68%), tăng 03 đơn vị so với năm 2021",
        "là năm thứ 3 liên tiếp không có đơn vị xếp hạng Yếu",
        "đạt 82,77% trong khi mục tiêu đề ra là 83%",
    ):
        assert sentence in text, sentence
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    pages = _pages(pdf)
    assert pages > 2 and f"1 / {pages}" in text and f"{pages} / {pages}" in text
    assert re.search(r"Tagged:\s+yes", info)  # structure and alt text for screen readers
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts)  # every font embedded
    assert "SHA-256" not in text and "validation" in text  # says where the Data Docs are


@pytest.mark.slow
@pytest.mark.parametrize("key,mark", [("pdf", "DỮ LIỆU MÔ PHỎNG"), ("pdf_en", "SIMULATED DATA")])
def test_the_simulated_mark_is_on_every_pdf_page(demo_report, key, mark):
    pdf = demo_report[key]
    for page in range(1, _pages(pdf) + 1):
        assert mark in _pdftotext(pdf, page), f"page {page} has no simulated-data mark"


HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


def _last_content(page) -> tuple[list[str], str] | None:
    """The element tags above the last text (or image) laid out on a WeasyPrint page,
    running headers and footers left out."""
    last = None

    def walk(box, stack):
        nonlocal last
        tag = getattr(box, "element_tag", None)
        stack = [*stack, tag] if tag else stack
        kind = type(box).__name__
        if kind == "TextBox" and box.text.strip():
            last = (stack, box.text)
        elif kind in ("InlineReplacedBox", "BlockReplacedBox"):
            last = (stack, "<img>")
        for child in getattr(box, "children", None) or []:
            walk(child, stack)

    for child in page._page_box.children:
        if type(child).__name__ != "MarginBox":
            walk(child, [])
    return last


@pytest.mark.slow
@pytest.mark.parametrize("key", ["html", "html_en"])
def test_no_pdf_page_ends_with_a_heading(demo_report, key):
    from par_review.report.exporters import _offline_fetcher, _weasyprint

    weasyprint, fonts = _weasyprint()
    html = demo_report[key].read_text(encoding="utf-8")
    doc = weasyprint.HTML(string=html, url_fetcher=_offline_fetcher()).render(font_config=fonts)
    assert len(doc.pages) > 2
    for i, page in enumerate(doc.pages[:-1], start=1):
        last = _last_content(page)
        assert last is not None, f"page {i} is empty"
        stack, text = last
        assert not HEADINGS & set(stack), f"page {i} ends with the heading {text!r}"


from tests.helpers.chromium import scroll_width as _chromium_scroll_width  # noqa: E402


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="needs the Debian chromium")
def test_no_sideways_scroll_on_a_phone(demo_report):
    for name in ("report.vi.html", "report.en.html", "data-notes.vi.html", "validation.en.html"):
        scroll, inner = _chromium_scroll_width(demo_report["dir"] / name)
        assert scroll <= inner, f"{name}: {scroll} px wide in a {inner} px window"


@pytest.mark.slow
@pytest.mark.skipif(
    not shutil.which("chromium"), reason="needs the Debian chromium (make test installs it)"
)
def test_axe_core_finds_no_wcag_a_or_aa_violation(demo_report):
    from tests.helpers.axe import violations

    folder = demo_report["dir"]
    for name in ("report.vi.html", "report.en.html", "data-notes.vi.html", "validation.en.html"):
        assert violations(folder / name) == [], name
