"""nbconvert exporters for the reader-facing report, and the in-process renderer.

    jupyter nbconvert --to parhtml build/work/2022/40_report.ipynb    # HTML
    jupyter nbconvert --to parpdf  build/work/2022/40_report.ipynb    # A4 PDF (Chromium)
    render_report(executed_nb, out_dir, lang="vi")
        -> {"html": .../report.vi.html, "pdf": .../report.vi.pdf}

The HTML keeps the outputs only (no code, prompts, analyst Markdown notes or stderr),
embeds its images and CSS, loads nothing from the network (no require.js, MathJax or web
fonts), sets `<html lang>` from the notebook's `lang` parameter and carries no cell ids or
timestamps: the same executed notebook gives the same bytes. The PDF is that HTML printed by
a warm headless Chromium (report/chromium.py: one browser per process, no network, its
variable metadata normalised, so the same HTML gives the same bytes) with the template's
print CSS (A4, running header and page numbers in @page margin boxes, charts never split),
tagged, fonts embedded (DejaVu Sans: every Vietnamese letter, selectable text).
docs/report.md ("PDF route") says why Chromium rather than WeasyPrint.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from traitlets import default

from .. import __version__

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "par"
DEFAULT_LANG = "vi"
_LANG_ATTR = re.compile(r'data-par-lang="([a-z]{2})"')
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
_TAG = re.compile(r"<[^>]+>")
_RUNNING = re.compile(r'<span class="par-running">(.*?)</span>', re.S)


def notebook_lang(nb: nbformat.NotebookNode, fallback: str = DEFAULT_LANG) -> str:
    """The report language: papermill's `lang` parameter, else the title block's
    data-par-lang attribute, else `fallback`."""
    params = (nb.metadata.get("papermill") or {}).get("parameters") or {}
    lang = params.get("lang")
    if isinstance(lang, str) and lang:
        return lang
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            m = _LANG_ATTR.search(str((out.get("data") or {}).get("text/html", "")))
            if m:
                return m.group(1)
    return fallback


class ParHTMLExporter(HTMLExporter):
    """The annual review report as one self-contained HTML page."""

    export_from_notebook = "PAR review report (HTML)"

    @default("template_name")
    def _template_name_default(self) -> str:
        return TEMPLATE_NAME

    @default("extra_template_basedirs")
    def _extra_template_basedirs_default(self) -> list[str]:
        return [str(TEMPLATES_DIR)]

    @default("exclude_input")
    def _exclude_input_default(self) -> bool:
        return True

    @default("exclude_input_prompt")
    def _exclude_input_prompt_default(self) -> bool:
        return True

    @default("exclude_output_prompt")
    def _exclude_output_prompt_default(self) -> bool:
        return True

    @default("exclude_markdown")
    def _exclude_markdown_default(self) -> bool:
        return True  # Markdown cells are notes for analysts; report wording lives in locales/

    @default("exclude_raw")
    def _exclude_raw_default(self) -> bool:
        return True

    @default("embed_images")
    def _embed_images_default(self) -> bool:
        return True

    def from_notebook_node(
        self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        lang = notebook_lang(nb, DEFAULT_LANG)
        self.language_code = lang
        resources = dict(resources or {})
        resources["par_version"] = __version__
        resources["par_title"] = _title(nb) or "par-review"
        # the running header and footer of the PDF pages: literal @page margin-box content
        # (string-set is WeasyPrint's; Chromium prints only literal strings and counters)
        resources["par_page_css"] = _page_css(_first_text(nb, _RUNNING), _title(nb))
        # HTMLExporter's own from_notebook_node, without its last step: a BeautifulSoup
        # parse and re-serialisation of the whole page (to give alt text to images that
        # lack one and tabindex to JupyterLab cells): half the page's cost for a report
        # whose images all carry an alt text and that has no JupyterLab cells.
        self.register_filter("highlight_code", Highlight2HTML(parent=self))
        resources = self._init_resources(resources)
        self.register_filter(
            "filter_data_type",
            WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            ),
        )
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


def _title(nb: nbformat.NotebookNode) -> str:
    """The text of the first <h1> among the outputs (the report's heading)."""
    return _first_text(nb, _H1)


def _first_text(nb: nbformat.NotebookNode, pattern: re.Pattern) -> str:
    """The text (tags dropped, entities decoded) of the first match of `pattern` in the
    HTML outputs."""
    import html as _html

    for cell in nb.cells:
        for out in cell.get("outputs", []):
            m = pattern.search(str((out.get("data") or {}).get("text/html", "")))
            if m:
                return " ".join(_html.unescape(_TAG.sub("", m.group(1))).split())
    return ""


def css_string(text: str) -> str:
    """`text` as a double-quoted CSS string, safe inside <style> (no quote, backslash,
    line break or `<` left raw)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "<>&" or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _page_css(running: str, title: str) -> str:
    """The @page rule giving every page its running header (the simulated-data mark) and,
    after the first, the report's title at the foot."""
    boxes = []
    if running:
        boxes.append(f"@top-center {{ content: {css_string(running)}; }}")
    if title:
        boxes.append(f"@bottom-left {{ content: {css_string(title)}; }}")
    return f"@page {{ {' '.join(boxes)} }}" if boxes else ""


# --------------------------------------------------------------------------- PDF
def html_to_pdf(html: str) -> bytes:
    """Render report HTML to PDF bytes: printed by this process's warm headless Chromium
    (report/chromium.py) with the print CSS (A4, margin boxes, page numbers), tagged
    (headings, tables, figures with their alt text), fonts embedded, bookmarks from the
    headings; the time of printing and the renderer's node numbers are normalised away, so
    the same HTML gives the same bytes.

    The page is given to the browser as a string, without a base URL: the relative link to
    the Data Docs (validation/index.html) resolves to nothing, so the PDF carries no path of
    the build machine (the path is printed next to it). Images are data: URIs; any other
    request is refused."""
    from .chromium import print_pdf

    return print_pdf(html)


class ParPDFExporter(ParHTMLExporter):
    """The annual review report as an A4 PDF (the HTML above, printed by Chromium)."""

    export_from_notebook = "PAR review report (PDF)"

    @default("file_extension")
    def _file_extension_default(self) -> str:
        return ".pdf"

    @default("template_extension")
    def _template_extension_default(self) -> str:
        return ".html.j2"  # the HTML template, printed

    def from_notebook_node(
        self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[bytes, dict[str, Any]]:  # type: ignore[override]
        html, resources = super().from_notebook_node(nb, resources, **kw)
        pdf = html_to_pdf(html)
        resources["output_extension"] = ".pdf"
        return pdf, resources


# --------------------------------------------------------------------------- in-process
_HTML_EXPORTER: ParHTMLExporter | None = None


def html_exporter() -> ParHTMLExporter:
    """One exporter per process: its Jinja environment and templates are built once."""
    global _HTML_EXPORTER
    if _HTML_EXPORTER is None:
        _HTML_EXPORTER = ParHTMLExporter()
    return _HTML_EXPORTER


def render_report(
    executed_nb_path: str | Path,
    out_dir: str | Path,
    formats: tuple[str, ...] | list[str] = ("html", "pdf"),
    lang: str | None = None,
) -> dict[str, Path]:
    """Render an executed 40_report notebook into out_dir/report.<lang>.html and/or
    report.<lang>.pdf (lang: the notebook's `lang` parameter when not given). The PDF is
    printed from the very HTML that is written (one exporter, one print by the warm browser). Files
    are written atomically. Returns {format: path}."""
    from ..fsutil import write_text_atomic

    unknown = set(formats) - {"html", "pdf"}
    if unknown:
        raise ValueError(f"unknown report formats {sorted(unknown)}: expected html and/or pdf")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(str(executed_nb_path), as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        e = errors[0]
        raise RuntimeError(
            f"{executed_nb_path}: the notebook has an error output ({e.get('ename')}: "
            f"{e.get('evalue')}); not rendering a report from it"
        )
    lang = lang or notebook_lang(nb, DEFAULT_LANG)
    if not re.fullmatch(r"[a-z]{2,3}", lang):
        raise ValueError(f"report language {lang!r}: expected a code such as vi or en")
    html, _ = html_exporter().from_notebook_node(nb)
    written: dict[str, Path] = {}
    if "html" in formats:
        written["html"] = out / f"report.{lang}.html"
        write_text_atomic(written["html"], html)
    if "pdf" in formats:
        pdf = html_to_pdf(html)
        target = out / f"report.{lang}.pdf"
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        tmp.write_bytes(pdf)
        os.replace(tmp, target)
        written["pdf"] = target
    return written


def print_report_pdf(html_path: str | Path, pdf_path: str | Path | None = None) -> Path:
    """Print a written report page to its PDF: the same bytes as render_report's PDF (see
    chromium.print_file; the build prints in its own process, one browser for all kernels)."""
    from .chromium import print_file

    return print_file(html_path, pdf_path)


def standalone_page(fragments: list[str], lang: str = DEFAULT_LANG) -> str:
    """Wrap report HTML fragments in the report template, exactly as the exporter does
    for an executed notebook (tests and previews without a kernel)."""
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    nb = new_notebook()
    nb.metadata["papermill"] = {"parameters": {"lang": lang}}
    for i, frag in enumerate(fragments):
        cell = new_code_cell("", id=f"fragment-{i:02d}")
        cell.outputs = [
            new_output("display_data", data={"text/html": frag, "text/plain": "<HTML>"})
        ]
        nb.cells.append(cell)
    html, _ = html_exporter().from_notebook_node(nb)
    return html


def warm_up() -> None:
    """Pay a process's one-off costs of its first report now: the section and page
    templates compiled (Jinja), nbconvert's exporter and its template, and the XLSX
    writer's modules imported (about 0.25 s in all, which the first report of each build
    kernel paid on top of its work). Called by a build kernel that is idle and will render
    reports (pipeline/kernels.py PREWARM), and by the benchmark's floor with its imports.
    Writes nothing."""
    from .companions import tables_xlsx
    from .context import Cell, Table
    from .render import environment

    env = environment()
    for name in env.list_templates(filter_func=lambda n: n.startswith(("sections/", "pages/"))):
        env.get_template(name)
    standalone_page([""])  # the exporter's own environment: index.html.j2
    tables_xlsx([Table("warm-up", None, [Cell("a")], [[Cell("1", value=1)]])])
