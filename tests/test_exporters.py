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


def test_the_pdf_pages_get_the_running_header_and_title_as_literal_css():
    nb = executed_like("vi")
    nb.cells[1].outputs[1]["data"]["text/html"] = (
        '<div class="par-simulated-band"><span class="par-running">DỮ LIỆU "MÔ PHỎNG" '
        "&lt;/style&gt;\\</span> <a href=x>x</a></div>"
        + nb.cells[1].outputs[1]["data"]["text/html"]
    )
    html, _ = ParHTMLExporter().from_notebook_node(nb)
    style = html[html.index("<style>") : html.index("</style>")]
    assert '@top-center { content: "DỮ LIỆU \\"MÔ PHỎNG\\" \\3c /style\\3e \\\\"; }' in style
    assert '@bottom-left { content: "Báo cáo \\26  năm"; }' in style  # CSS eats one space
    assert "string-set" not in html  # WeasyPrint's; Chromium prints literal strings


def test_css_string_escapes_what_would_end_the_string_or_the_style():
    from par_review.report.exporters import css_string

    assert css_string("Tốt 69,77%") == '"Tốt 69,77%"'
    assert css_string('a"b\\c\nd<e') == '"a\\"b\\\\c\\a d\\3c e"'


def _fake_chromium_pdf(node_ids: list[int], stamp: str) -> bytes:
    """A small PDF laid out as Chromium writes one: Info first, struct ids, a stream,
    a classic xref table."""
    objs = [
        b"<</Title (T)\n/Creator (HeadlessChrome \\(X11\\))\n/Producer (Skia/PDF m156)\n"
        b"/CreationDate (D:%s+00'00')\n/ModDate (D:%s+00'00')>>" % (stamp.encode(), stamp.encode()),
        b"<</Type /Catalog /Pages 3 0 R>>",
        b"<</Type /Pages /Kids [] /Count 0>>",
        b"<</Length 12>> stream\n(node00000007)\nendstream",  # content: left alone
    ] + [b"<</Type /StructElem /ID (node%08d)>>" % n for n in node_ids]
    out, offsets = [b"%PDF-1.4\n"], []
    for i, body in enumerate(objs, start=1):
        offsets.append(sum(map(len, out)))
        out.append(b"%d 0 obj\n%s\nendobj\n" % (i, body))
    xref = sum(map(len, out))
    out.append(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    out += [b"%010d 00000 n \n" % o for o in offsets]
    out.append(b"trailer\n<</Size %d\n/Root 2 0 R\n/Info 1 0 R>>\n" % (len(objs) + 1))
    out.append(b"startxref\n%d\n%%%%EOF\n" % xref)
    return b"".join(out)


def _xref_is_valid(pdf: bytes) -> bool:
    start = pdf.rindex(b"startxref")
    at = int(pdf[start + 9 :].split()[0])
    rows = pdf[at:start].split(b"\n")
    assert rows[0] == b"xref"
    n = int(rows[1].split()[1])
    for i, row in enumerate(rows[2 : 2 + n]):
        offset, _, kind = row.split()[:3]
        if kind == b"n" and not pdf[int(offset) :].startswith(b"%d 0 obj" % i):
            return False
    return True


def test_normalise_pdf_drops_the_time_and_numbers_the_node_ids():
    from par_review.report.chromium import normalise_pdf

    a = _fake_chromium_pdf([68, 74, 68, 9999], "20261202010808")
    b = _fake_chromium_pdf([123456789, 123456795, 123456789, 7], "20270101235959")
    assert _xref_is_valid(a) and a != b
    na, nb_ = normalise_pdf(a, creator="par-review 1.0"), normalise_pdf(b, creator="par-review 1.0")
    assert na == nb_  # another time, another renderer history: the same bytes
    assert _xref_is_valid(na)
    assert b"CreationDate" not in na and b"ModDate" not in na
    assert b"/Creator (par-review 1.0)" in na and b"HeadlessChrome" not in na
    ids = re.findall(rb"/ID \(node(\d+)\)", na)
    assert ids == [b"00000001", b"00000002", b"00000001", b"00000003"]
    assert b"stream\n(node00000007)\nendstream" in na  # stream data is never rewritten
    assert normalise_pdf(na, creator="par-review 1.0") == na


PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _group_alive(pgid: int) -> list[int]:
    """Processes still in process group `pgid` (zombies included)."""
    alive = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                alive.append(int(d.name))
    return alive


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _gone(pgid: int, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs the Debian chromium")
def test_the_warm_chromium_prints_offline_the_same_bytes_and_survives_a_crash(
    tmp_path, monkeypatch
):
    import os
    import signal

    from par_review.report.chromium import Chromium, PrinterError, normalise_pdf

    page = (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>t</title><style>'
        "@page { size: A4; @top-center { content: 'DỮ LIỆU MÔ PHỎNG'; } }"
        "body { font-family: 'DejaVu Sans'; }</style></head><body><h1>Kết quả</h1>"
        "<p>30/43 đơn vị xếp hạng Tốt (chiếm tỷ lệ 69,77%)</p>"
        f'<figure><img src="data:image/png;base64,{PNG_1PX}" alt="Biểu đồ"></figure>'
        '<a href="validation/index.html">validation</a></body></html>'
    )
    remote = page.replace(f"data:image/png;base64,{PNG_1PX}", "http://example.com/x.png")
    browser = Chromium(timeout=60)
    try:
        first = normalise_pdf(browser.print_pdf(page))
        with pytest.raises(PrinterError, match="image"):
            browser.print_pdf(remote)
        assert browser.refused == ["http://example.com/x.png"]  # refused, never fetched
        pgid = browser.pid
        main = [p for p in _group_alive(pgid) if _parent(p) == pgid]  # under its reaper
        os.kill(main[0], signal.SIGKILL)  # the browser dies between two reports
        again = normalise_pdf(browser.print_pdf(page))
        assert browser.pid != pgid and _gone(pgid)  # restarted; nothing left of the old one
        assert again == first
    finally:
        pgid = browser.pid
        browser.close()
    assert _gone(pgid)  # closed and reaped: no process, no zombie
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")  # another browser, another time zone
    other = Chromium(timeout=60)
    try:
        assert normalise_pdf(other.print_pdf(page)) == first
    finally:
        other.close()
    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(first)
    assert "30/43 đơn vị xếp hạng Tốt (chiếm tỷ lệ 69,77%)" in _pdftotext(pdf)
    assert "DỮ LIỆU MÔ PHỎNG" in _pdftotext(pdf)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"Tagged:\s+yes", info) and "CreationDate" not in info
    assert b"file:" not in first and str(tmp_path).encode() not in first
    from par_review.report.chromium import browser_version

    assert re.match(r"(Chromium|Google Chrome|HeadlessChrome)\S* \d+\.", browser_version())


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


def test_the_printer_turns_only_the_screen_rendering_off():
    from par_review.report.chromium import SCREEN_OFF, screen_off

    page = (
        '<!DOCTYPE html><html lang="vi"><head lang="vi"><title>t</title></head><body></body></html>'
    )
    off = screen_off(page)
    assert off.startswith('<!DOCTYPE html><html lang="vi"><head lang="vi">' + SCREEN_OFF)
    assert off.replace(SCREEN_OFF, "") == page
    assert "@media screen" in SCREEN_OFF and "print" not in SCREEN_OFF
    assert screen_off("<p>no head</p>") == "<p>no head</p>" + SCREEN_OFF  # never before a doctype
    fonts = page.replace(
        "<title>", "<style>@font-face{font-family:x;src:url(data:,)}</style><title>"
    )
    assert screen_off(fonts) == fonts  # web fonts load when laid out: the screen stays on


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="needs the Debian chromium")
def test_the_report_printed_without_its_screen_rendering_has_the_same_bytes(
    demo_report, monkeypatch
):
    from par_review.report import chromium

    browser = chromium.Chromium(timeout=120)
    try:
        for page in (demo_report["html"], demo_report["html_en"]):
            html = page.read_text(encoding="utf-8")
            assert chromium.screen_off(html) != html
            off = chromium.normalise_pdf(browser.print_pdf(html))
            with monkeypatch.context() as m:
                m.setattr(chromium, "screen_off", lambda h: h)
                on = chromium.normalise_pdf(browser.print_pdf(html))
            assert off == on, page.name
    finally:
        browser.close()


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
def test_demo_report_is_byte_identical_across_runs(demo_report, tmp_path):
    from par_review.report.exporters import print_report_pdf

    # two kernels, two output folders: same bytes (no ids, timestamps or paths inside)
    assert demo_report["html"].read_bytes() == demo_report["html2"].read_bytes()
    assert demo_report["pdf"].read_bytes() == demo_report["pdf2"].read_bytes()
    # printed again from the written page (what a build printing in one process does)
    again = print_report_pdf(demo_report["html"], tmp_path / "report.vi.pdf")
    assert again.read_bytes() == demo_report["pdf"].read_bytes()


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
    assert re.search(r"Page size:\s+59\d\.\d+ x 841\.\d+ pts \(A4\)", info)  # pdfinfo: A4
    pages = _pages(pdf)
    assert pages > 2 and f"1 / {pages}" in text and f"{pages} / {pages}" in text
    assert re.search(r"Tagged:\s+yes", info)  # structure and alt text for screen readers
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts)  # every font embedded
    assert "SHA-256" not in text and "validation" in text  # says where the Data Docs are
    # and where the pages beside it are: a link cannot be followed in a PDF
    squashed = re.sub(r"\s+", " ", text)
    for page in ("data-notes.vi.html", "validation.vi.html"):
        assert f"(tệp {page} trong thư mục của báo cáo)" in squashed, page


@pytest.mark.slow
@pytest.mark.parametrize("key,mark", [("pdf", "DỮ LIỆU MÔ PHỎNG"), ("pdf_en", "SIMULATED DATA")])
def test_the_simulated_mark_is_on_every_pdf_page(demo_report, key, mark):
    pdf = demo_report[key]
    for page in range(1, _pages(pdf) + 1):
        assert mark in _pdftotext(pdf, page), f"page {page} has no simulated-data mark"


_HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1>", re.S)


def _layout_lines(pdf: Path, page: int) -> list[str]:
    """The text lines of one PDF page as laid out (pdftotext -layout), blank ones left out."""
    out = subprocess.run(
        ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [" ".join(line.split()) for line in out.splitlines() if line.strip()]


@pytest.mark.slow
@pytest.mark.parametrize("key", ["pdf", "pdf_en"])
def test_no_pdf_page_ends_with_a_heading(demo_report, key):
    """The last line above each page's footer (the page number) is never a heading or the
    end of one, nor the note under a ranking's heading that says how the table below it is
    sorted: a heading, and that note, always stay with what follows them."""
    import html as _html

    pdf = demo_report[key]
    page_html = demo_report[key.replace("pdf", "html")].read_text(encoding="utf-8")
    headings = [
        " ".join(_html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).split())
        for m in _HEADING.finditer(page_html)
    ]
    assert len(headings) > 10
    leads = re.findall(
        r'<div class="par-keep par-lead">.*?<p class="par-note">(.*?)</p>', page_html, re.S
    )
    assert leads
    headings += [" ".join(_html.unescape(re.sub(r"<[^>]+>", "", x)).split()) for x in leads]
    pages = _pages(pdf)
    assert pages > 2
    for i in range(1, pages):
        lines = _layout_lines(pdf, i)
        footer = [n for n, line in enumerate(lines) if re.search(rf"\b{i} / {pages}\b", line)]
        assert footer, f"page {i} has no page number"
        body = lines[1 : footer[-1]]  # the running header above, the footer below
        if not body:  # a page of charts only
            images = subprocess.run(
                ["pdfimages", "-list", "-f", str(i), "-l", str(i), str(pdf)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()[2:]
            assert images, f"page {i} is empty"
            continue
        last = body[-1]
        assert not [h for h in headings if h.endswith(last)], f"page {i} ends with {last!r}"


from tests.helpers.chromium import scroll_width as _chromium_scroll_width  # noqa: E402


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="needs the Debian chromium")
def test_no_sideways_scroll_on_a_phone(demo_report):
    for name in ("report.vi.html", "report.en.html", "data-notes.vi.html", "validation.en.html"):
        scroll, inner = _chromium_scroll_width(demo_report["dir"] / name)
        assert scroll <= inner, f"{name}: {scroll} px wide in a {inner} px window"


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="needs the Debian chromium")
def test_a_table_wider_than_a_phone_says_so_in_words_and_one_that_fits_does_not(demo_report):
    """A wide table scrolls in its own box; besides the shadow, a line above it says
    "scroll sideways" (a reader may not notice a shadow), and only where the box scrolls.
    On a 1280 px screen every table fits (numeric headings wrap: on one line they pushed
    the 2025 ranking past its column and cut off the change column)."""
    from tests.helpers.chromium import scroll_hints

    for name in ("report.vi.html", "report.en.html"):
        for width in (390, 1280):
            boxes = scroll_hints(demo_report["dir"] / name, width=width)
            assert boxes and all(o >= 0 for _, o in boxes), name  # every box has its hint
            assert all(o > 0.9 for scrolls, o in boxes if scrolls), (name, width, boxes)
            assert all(o == 0 for scrolls, o in boxes if not scrolls), (name, width, boxes)
            if width == 390:  # most tables are wider than a phone
                assert sum(scrolls for scrolls, _ in boxes) > len(boxes) / 2, boxes
            else:  # and every one fits a wide screen
                assert not any(scrolls for scrolls, _ in boxes), (name, boxes)


@pytest.mark.slow
@pytest.mark.skipif(
    not shutil.which("chromium"), reason="needs the Debian chromium (make test installs it)"
)
def test_on_a_phone_a_table_scrolled_sideways_keeps_its_row_headers_in_view(demo_report):
    """At 390 px a ranking is wider than the screen: scrolled to its last column (the
    change of score), each row still shows its unit's name, and the names' heading sits
    right above them; the name covers none of the last column. Before, the names scrolled
    out of view with the ranks, and the scores were read without the unit they belong to.
    And the columns are narrow (headings and names wrap): no table is more than about two
    and a half screens wide (the leaders of each bloc were six, every name on one line)."""
    from tests.helpers.chromium import sticky_row_heads

    for name in ("report.vi.html", "report.en.html"):
        boxes = sticky_row_heads(demo_report["dir"] / name, width=390)
        assert any(b["table"] == "ranking-provincial" for b in boxes), (name, boxes)
        for b in boxes:
            assert abs(b["head_left"]) <= 1, (name, b)  # the name at the box's left edge
            assert abs(b["heading_dx"]) <= 1 and abs(b["heading_dw"]) <= 1, (name, b)
            assert b["last_inside"] >= -1 and b["last_clear"] >= -1, (name, b)
            assert b["screens"] <= 250, (name, b)


@pytest.mark.slow
@pytest.mark.skipif(
    not shutil.which("chromium"), reason="needs the Debian chromium (make test installs it)"
)
def test_axe_core_finds_no_wcag_a_or_aa_violation(demo_report):
    from tests.helpers.axe import violations

    folder = demo_report["dir"]
    for name in ("report.vi.html", "report.en.html", "data-notes.vi.html", "validation.en.html"):
        assert violations(folder / name) == [], name


def test_the_report_warm_up_compiles_the_templates_and_writes_nothing(tmp_path, monkeypatch):
    import sys

    from par_review.report.exporters import warm_up
    from par_review.report.render import environment

    monkeypatch.chdir(tmp_path)
    warm_up()
    env = environment()
    wanted = set(env.list_templates(filter_func=lambda n: n.startswith(("sections/", "pages/"))))
    assert wanted and wanted <= {t.name for t in env.cache.values()}
    assert "openpyxl.writer.excel" in sys.modules  # the first report's XLSX pays no import
    assert not list(tmp_path.iterdir())
