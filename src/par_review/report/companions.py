"""The report step's companion outputs for one language, written beside the report:

    data-notes.<lang>.html     which figures are real, derived or simulated, in plain words
    validation.<lang>.html     the data checks in the reader's language (Data Docs stay English)
    downloads/<lang>/*.csv     every table of the report, one CSV each (UTF-8 with BOM, for Excel)
    downloads/<lang>/tables.xlsx   the same tables, one sheet each

Same inputs, same bytes: the XLSX gets fixed zip timestamps and document dates.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..fsutil import write_text_atomic
from .render import css, render

if TYPE_CHECKING:  # pragma: no cover
    from .context import ReportContext, Table

STATUSES = ("real", "derived", "assumed", "simulated")
FIXED_DATE = (2000, 1, 1, 0, 0, 0)


def _page(ctx: ReportContext, kind: str, title: str, body: str) -> str:
    from .context import LANG_NAMES

    return render(
        "pages/page.html.j2",
        lang=ctx.lang,
        version=__version__,
        title=title,
        css=css(),
        body=body,
        simulated=ctx.t("simulated.running") if ctx.simulated else "",
        back={"href": f"report.{ctx.lang}.html", "text": ctx.t("data_notes.back")},
        others=[
            {"lang": lang, "href": f"{kind}.{lang}.html", "name": LANG_NAMES.get(lang, lang)}
            for lang in ctx.languages
            if lang != ctx.lang
        ],
    )


def data_notes_page(ctx: ReportContext) -> str:
    t = ctx.t
    groups = []
    notes = ctx.data_notes()
    for status in STATUSES:
        items = []
        for n in notes:
            if n.get("status") != status:
                continue
            what = _loc(n.get("what"), ctx.lang)
            years = n.get("years") or []
            if years:
                what = f"{what} ({t('data_notes.years', years=ctx.years_text(years))})"
            src = _loc(n.get("source"), ctx.lang)
            items.append(what + (f" — {src}" if src else ""))
        if items:
            groups.append(
                {"id": status, "heading": t(f"data_notes.status.{status}"), "items": items}
            )
    body = render(
        "pages/data_notes.html.j2",
        intro=t("data_notes.intro", year=str(ctx.year), province=ctx.province_in_sentence()),
        summary=t("data_notes.simulated_all") if ctx.simulated else t("data_notes.real_all"),
        simulated=bool(ctx.simulated),
        groups=groups,
        none_listed=t("data_notes.none_listed") if ctx.simulated else "",
    )
    return _page(ctx, "data-notes", t("data_notes.title", year=str(ctx.year)), body)


def validation_page(ctx: ReportContext) -> str:
    from .context import Cell, Table, head, num, quality_data

    t, f = ctx.t, ctx.f
    q = quality_data(ctx)
    v = ctx.validation or {}
    table = None
    tables = v.get("tables")
    if isinstance(tables, dict) and tables:
        rows = []
        for name, info in tables.items():
            info = info if isinstance(info, dict) else {}
            rows.append(
                [
                    Cell(_table_label(ctx, name), row_header=True),
                    num(f.int(info.get("expectations")), info.get("expectations")),
                    Cell(t(f"quality.table_{_table_status(info)}")),
                ]
            )
        table = Table(
            "validation-tables",
            t("quality.tables_caption"),
            [head(t("quality.col_table")), head(t("quality.col_checks"), True)]
            + [head(t("quality.col_status"))],
            rows,
            download=False,
        )
    body = render(
        "pages/validation.html.j2",
        intro=t("quality.page_intro", year=str(ctx.year), province=ctx.province_in_sentence()),
        q=q,
        table=table,
    )
    return _page(ctx, "validation", t("quality.page_title", year=str(ctx.year)), body)


def _table_status(info: dict) -> str:
    """What the gate said of one table (validation.json `tables`): its checks passed or
    failed; or it was not there, and was not required that year ("absent": a year without
    satisfaction data), or was required ("missing"); or it was not checked ("skipped").
    An absent table has no check, and is not a failed one."""
    status = info.get("status")
    if status in ("absent", "missing", "skipped"):
        return status
    if "success" in info:
        return "ok" if info["success"] else "failed"
    if status in (None, "validated", "passed"):
        n, passed = info.get("expectations"), info.get("passed")
        return "failed" if isinstance(n, int) and isinstance(passed, int) and passed < n else "ok"
    return "failed"


def _table_label(ctx: ReportContext, name: str) -> str:
    """A table's name for readers: its level's label, or the locale's name of the table."""
    if name in ctx.metrics.get("levels", {}):
        return ctx.level_label(name)
    key = f"quality.table_names.{name}"
    return ctx.t(key) if ctx.t.has(key) else name


def _loc(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("vi") or "")
    return "" if value is None else str(value)


# --------------------------------------------------------------------------- downloads
def _cell_value(c: Any) -> Any:
    return c.value if c.value is not None and not isinstance(c.value, str) else c.plain


def _note_heading(column: str) -> str:
    return f"{column}: note"


def download_rows(table: Table, note_heading: Callable[[str], str] = _note_heading) -> list:
    """The table as a download's rows: the headings, then the rows (and the footer), with
    numbers as numbers. After a column whose values the page marks (`Cell.note`: a mean
    of predecessors shown as "91,10*"), a column that says what each marked value is."""
    body = [*table.rows, *([table.footer] if table.footer else [])]
    noted = {j for r in body for j, c in enumerate(r) if c.note}

    def line(cells: list, heading: bool) -> list:
        out: list = []
        for j, c in enumerate(cells):
            out.append(c.plain if heading else _cell_value(c))
            if j in noted:
                out.append(note_heading(c.plain) if heading else c.note)
        return out

    return [line(table.columns, True), *(line(r, False) for r in body)]


def table_csv(table: Table, note_heading: Callable[[str], str] = _note_heading) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerows(download_rows(table, note_heading))
    return "\ufeff" + buf.getvalue()


def _sheet_name(table: Table, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "-", table.id)[:31]
    name, i = base, 2
    while name in used:
        suffix = f"-{i}"
        name, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(name)
    return name


def tables_xlsx(tables: list[Table], note_heading: Callable[[str], str] = _note_heading) -> bytes:
    """One sheet per table: its caption, the rows of `download_rows`, then its footnotes
    (as the page prints them under the table)."""
    import datetime as dt

    from openpyxl import Workbook

    from . import prose

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for tb in tables:
        ws = wb.create_sheet(_sheet_name(tb, used))
        if tb.caption:
            ws.append([tb.label])
        for row in download_rows(tb, note_heading):
            ws.append(row)
        if tb.notes:
            ws.append([])
            for n in tb.notes:
                ws.append([prose.plain(n)])
    fixed = dt.datetime(*FIXED_DATE)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "par-review"
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue(), fixed)


_W3CDTF = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _fixed_zip(data: bytes, fixed: Any) -> bytes:
    """The same workbook gives the same bytes: fixed entry times and document dates."""
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _W3CDTF.sub(rb"\g<1>" + stamp + rb"\g<2>", body)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            z.writestr(zi, body)
    return out.getvalue()


def write_downloads(ctx: ReportContext, out_dir: Path) -> list[Path]:
    from .context import download_name, report_tables

    folder = out_dir / "downloads" / ctx.lang
    folder.mkdir(parents=True, exist_ok=True)
    tables = report_tables(ctx)
    written = []
    wanted = {download_name(tb) for tb in tables} | {"tables.xlsx"}
    for p in folder.iterdir():  # nothing stale of an earlier build stays
        if p.is_file() and p.name not in wanted:
            p.unlink()

    def note_heading(column: str) -> str:
        return ctx.t("downloads.note_column", column=column)

    for tb in tables:
        p = folder / download_name(tb)
        write_text_atomic(p, table_csv(tb, note_heading))
        written.append(p)
    p = folder / "tables.xlsx"
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_bytes(tables_xlsx(tables, note_heading))
    tmp.replace(p)
    written.append(p)
    return written


def write_companions(ctx: ReportContext, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = {
        f"data-notes.{ctx.lang}.html": data_notes_page(ctx),
        f"validation.{ctx.lang}.html": validation_page(ctx),
    }
    written = []
    for name, html in pages.items():
        write_text_atomic(out_dir / name, html + "\n")
        written.append(out_dir / name)
    return written + write_downloads(ctx, out_dir)
