"""Layout of the report's figures in the printed PDF: a chart and its caption share a page."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess

import pytest

from par_review.report.exporters import html_to_pdf, standalone_page

needs_chromium = pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("pdfimages") and shutil.which("pdftotext")),
    reason="needs the Debian chromium and poppler-utils",
)


def _png(width_in: float, height_in: float, dpi: int = 150) -> str:
    """A chart-sized PNG as the report embeds it (150 dpi: wider than the A4 column)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (int(width_in * dpi), int(height_in * dpi)), "#4a90c2").save(
        buf, "PNG", dpi=(dpi, dpi)
    )
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _image_pages(pdf: bytes, tmp_path) -> list[int]:
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True)
    rows = [ln.split() for ln in out.stdout.splitlines()[2:] if ln.strip()]
    return sorted({int(r[0]) for r in rows if r[2] == "image"})


def _text_pages(pdf: bytes, tmp_path, needle: str) -> list[int]:
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    n = int(
        next(
            ln.split()[-1]
            for ln in subprocess.run(
                ["pdfinfo", str(path)], capture_output=True, text=True
            ).stdout.splitlines()
            if ln.startswith("Pages:")
        )
    )
    found = []
    for p in range(1, n + 1):
        text = subprocess.run(
            ["pdftotext", "-f", str(p), "-l", str(p), str(path), "-"],
            capture_output=True,
            text=True,
        ).stdout
        if needle in " ".join(text.split()):
            found.append(p)
    return found


@needs_chromium
@pytest.mark.parametrize("height_in", [9.4, 6.5])
def test_a_tall_figure_is_printed_on_the_page_of_its_caption(tmp_path, height_in):
    """The 2022-2024 satisfaction chart (21 units with two-line names: 6.5 x 9.4 in, a full
    A4 column) used to fill a page and push its caption onto the next one."""
    intro = "<h2>Biểu đồ</h2>" + "<p>Đoạn văn trước hình.</p>" * 12
    caption = "Hình 4. Chỉ số hài lòng của từng đơn vị; thanh ngang bắt đầu từ 0%."
    figure = (
        f'<figure class="par-figure"><img src="data:image/png;base64,{_png(6.5, height_in)}"'
        f' alt="chart"><figcaption>{caption}</figcaption></figure>'
    )
    pdf = html_to_pdf(standalone_page([intro, figure]))
    images = _image_pages(pdf, tmp_path)
    captions = _text_pages(pdf, tmp_path, "Hình 4. Chỉ số hài lòng")
    assert len(images) == 1 and images == captions, (images, captions)
