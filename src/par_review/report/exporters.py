"""nbconvert exporters for the reader-facing report, and the in-process renderer.

    jupyter nbconvert --to parhtml build/work/2022/40_report.ipynb    # HTML
    jupyter nbconvert --to parpdf  build/work/2022/40_report.ipynb    # A4 PDF (WeasyPrint)
    render_report(executed_nb, out_dir, lang="vi")
        -> {"html": .../report.vi.html, "pdf": .../report.vi.pdf}

The HTML keeps the outputs only (no code, prompts, analyst Markdown notes or stderr),
embeds its images and CSS, loads nothing from the network (no require.js, MathJax or web
fonts), sets `<html lang>` from the notebook's `lang` parameter and carries no cell ids or
timestamps: the same executed notebook gives the same bytes. The PDF is WeasyPrint run on
that HTML with the template's print CSS (A4, page numbers, charts never split), fonts
embedded (DejaVu Sans: every Vietnamese letter, selectable text). docs/report.md says why
WeasyPrint rather than headless Chromium.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters import HTMLExporter
from traitlets import default

from .. import __version__

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "par"
DEFAULT_LANG = "vi"
_LANG_ATTR = re.compile(r'data-par-lang="([a-z]{2})"')
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
_TAG = re.compile(r"<[^>]+>")


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
        html, resources = super().from_notebook_node(nb, resources, **kw)
        return html, resources


def _title(nb: nbformat.NotebookNode) -> str:
    """The text of the first <h1> among the outputs (the report's heading)."""
    import html as _html

    for cell in nb.cells:
        for out in cell.get("outputs", []):
            m = _H1.search(str((out.get("data") or {}).get("text/html", "")))
            if m:
                return _html.unescape(_TAG.sub("", m.group(1))).strip()
    return ""


# --------------------------------------------------------------------------- PDF
_FONT_CONFIG = None


def _weasyprint():
    global _FONT_CONFIG
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    if _FONT_CONFIG is None:
        _FONT_CONFIG = FontConfiguration()
    return weasyprint, _FONT_CONFIG


def _offline_fetcher():
    """A URL fetcher that serves data: and file: URLs only (a report never loads from the
    network, even if a unit name smuggles in a URL)."""
    try:
        from weasyprint.urls import URLFetcher  # WeasyPrint >= 66

        return URLFetcher(allowed_protocols=("data", "file"))
    except ImportError:  # pragma: no cover - older WeasyPrint: a function fetcher
        from weasyprint import default_url_fetcher

        def fetch(url: str, *a: Any, **kw: Any):
            if not url.startswith(("data:", "file:")):
                raise ValueError(f"network access refused: {url}")
            return default_url_fetcher(url, *a, **kw)

        return fetch


def html_to_pdf(html: str, base_dir: str | Path | None = None) -> bytes:
    """Render report HTML to PDF bytes with WeasyPrint (print CSS, A4, fonts embedded,
    tagged for accessibility).

    No base URL by default: WeasyPrint would turn the relative link to the Data Docs
    (validation/index.html) into an absolute file:// URL of the staging folder, which is
    wrong once published and makes the bytes depend on where the build ran. Without one,
    that link is left out of the PDF (its path is printed next to it) and the same HTML
    always gives the same PDF. Images are data: URIs, so nothing else needs resolving."""
    weasyprint, font_config = _weasyprint()
    base_url = Path(base_dir).resolve().as_uri() + "/" if base_dir else None
    doc = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=_offline_fetcher())
    options: dict[str, Any] = {"pdf_identifier": b"par-review-report"}
    if "pdf_tags" in getattr(weasyprint, "DEFAULT_OPTIONS", {}):
        # a tagged PDF: headings, tables and figures with their alt text for screen readers
        options["pdf_tags"] = True
    return doc.write_pdf(font_config=font_config, **options)


class ParPDFExporter(ParHTMLExporter):
    """The annual review report as an A4 PDF (the HTML above, printed by WeasyPrint)."""

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
    printed from the very HTML that is written (one exporter, one WeasyPrint pass). Files
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
