"""The report as a phone (390 px) shows it, in headless Chromium: a wide table says it scrolls."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from par_review.report.context import Cell, Table, num
from par_review.report.exporters import standalone_page
from par_review.report.render import environment
from tests.helpers.chromium import dump_dom

needs_chromium = pytest.mark.skipif(
    not shutil.which("chromium"), reason="needs the Debian chromium"
)

PROBE = """<!DOCTYPE html><html><head><title>x</title></head><body style="margin:0">
<iframe id="f" src="{src}" style="width:{width}px;height:900px;border:0"></iframe>
<script>document.getElementById('f').onload=function(){{
var d=this.contentDocument, w=this.contentWindow, out=[];
d.querySelectorAll('.par-table-wrap').forEach(function(e){{
  var s=w.getComputedStyle(e), even=e.querySelector('tbody tr:nth-child(2) td');
  out.push({{scroll: e.scrollWidth, client: e.clientWidth, image: s.backgroundImage,
    attach: s.backgroundAttachment, even: w.getComputedStyle(even).backgroundColor,
    role: e.getAttribute('role'), tabindex: e.getAttribute('tabindex'),
    label: e.getAttribute('aria-label')}});
}});
document.title='OUT:'+JSON.stringify(out);}};</script></body></html>"""


def _table(ncols: int) -> str:
    cols = [Cell("Đơn vị")] + [num(f"Lĩnh vực cải cách {i}") for i in range(ncols)]
    rows = [
        [Cell(f"Sở số {r}", row_header=True)] + [num(f"{r + i},00") for i in range(ncols)]
        for r in range(4)
    ]
    t = Table(f"t{ncols}", f"Bảng {ncols} cột", cols, rows)
    return environment().get_template("sections/_macros.html.j2").module.table(t)


def _probe(tmp_path, width: int = 390) -> list[dict]:
    page = tmp_path / "report.html"
    page.write_text(standalone_page([_table(9), _table(1)]), encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(PROBE.format(src=page.name, width=width), encoding="utf-8")
    out = dump_dom(probe, width=800)
    m = re.search(r"<title>OUT:(.*?)</title>", out, re.S)
    assert m, "Chromium did not report the tables"
    import html

    return json.loads(html.unescape(m.group(1)))


@needs_chromium
def test_a_wide_table_on_a_phone_shows_a_scroll_shadow_and_is_a_focusable_region(tmp_path):
    wide, narrow = _probe(tmp_path)
    assert wide["scroll"] > wide["client"]  # it does scroll sideways
    assert narrow["scroll"] <= narrow["client"]
    for t in (wide, narrow):
        # the shadows (scroll) and the white covers that move with the table (local): a
        # table that fits has its shadows covered, one that scrolls shows the far one
        assert t["image"].count("radial-gradient") == 2, t["image"]
        assert t["image"].count("linear-gradient") == 2, t["image"]
        assert t["attach"].split(", ").count("local") == 2, t["attach"]
        assert t["attach"].split(", ").count("scroll") >= 2, t["attach"]
        # the band of the even rows lets the shadow through
        alpha = re.match(r"rgba\([^)]*,\s*([0-9.]+)\)", t["even"])
        assert alpha and float(alpha.group(1)) < 1, t["even"]
        assert t["role"] == "region" and t["tabindex"] == "0" and t["label"].startswith("Bảng")


@needs_chromium
def test_the_scroll_shadow_is_for_phones_only(tmp_path):
    wide, _ = _probe(tmp_path, width=1280)
    assert "gradient" not in wide["image"]


FIG_PROBE = """<!DOCTYPE html><html><head><title>x</title></head><body style="margin:0">
<iframe id="f" src="{src}" style="width:{width}px;height:900px;border:0"></iframe>
<script>document.getElementById('f').onload=function(){{
var i=this.contentDocument.querySelector('figure img');
document.title='FIG:'+i.naturalWidth+'/'+Math.round(i.getBoundingClientRect().width);}};
</script></body></html>"""


def _chart_png(width_in: float) -> str:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (int(width_in * 150), 300), "#4a90c2").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure_page(tmp_path) -> Path:
    from par_review.report import charts
    from par_review.report.render import render

    fig = {
        "src": _chart_png(charts.WIDTH_IN),
        "src_phone": _chart_png(charts.PHONE_WIDTH_IN),
        "alt": "chart",
        "caption": "Hình 1.",
    }
    section = render(
        "sections/charts.html.j2",
        s={"id": "charts", "heading": "Biểu đồ", "number": "", "figures": [fig], "none": ""},
    )
    page = tmp_path / "report.html"
    page.write_text(standalone_page([section]), encoding="utf-8")
    return page


@needs_chromium
@pytest.mark.parametrize("width,natural", [(390, 600), (1280, 975)])
def test_a_phone_gets_the_narrow_chart_whose_text_is_11_px(tmp_path, width, natural):
    """The 6.5 in chart scaled to a phone's 366 px column made its 9 pt text 7 px; below
    40rem the page shows the chart drawn 4 in wide: 9 pt is then 11.4 px."""
    from par_review.report import charts

    page = _figure_page(tmp_path)
    probe = tmp_path / "probe.html"
    probe.write_text(FIG_PROBE.format(src=page.name, width=width), encoding="utf-8")
    m = re.search(r"<title>FIG:(\d+)/(\d+)</title>", dump_dom(probe, width=1400))
    assert m, "Chromium did not report the figure"
    shown, drawn = int(m.group(2)), int(m.group(1))
    assert drawn == natural
    if width == 390:
        px = 9 / 72 * charts.DPI * shown / drawn  # a 9 pt text as the reader sees it
        assert px >= 11, px


@needs_chromium
def test_the_pdf_prints_the_chart_of_the_printed_width(tmp_path):
    import subprocess

    from par_review.report.exporters import html_to_pdf

    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(html_to_pdf(_figure_page(tmp_path).read_text(encoding="utf-8")))
    out = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True).stdout
    widths = [int(ln.split()[3]) for ln in out.splitlines()[2:] if ln.strip()]
    assert widths == [975]
