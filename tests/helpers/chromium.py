"""Pages as readers see them, in the Debian headless Chromium (no network is needed: every
page is self-contained)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path


def dump_dom(page: Path, width: int = 1280, budget_ms: int = 10000, timeout: int = 120) -> str:
    """The page's DOM after its scripts ran (a fresh profile, no background traffic)."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                shutil.which("chromium") or "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--allow-file-access-from-files",
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                f"--window-size={width},900",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        ).stdout


def _title_in_iframe(page: Path, width: int, onload: str) -> str:
    """The title that `onload` (JavaScript, `w` the iframe's window) gives a probe page that
    shows `page` in an iframe `width` px wide (headless Chromium's own window is at least
    500 px wide)."""
    probe = page.parent / f".probe-{page.stem}.html"
    probe.write_text(
        f'<!DOCTYPE html><html><head><title>x</title></head><body style="margin:0">'
        f'<iframe id="f" src="{page.name}" style="width:{width}px;height:900px;border:0"></iframe>'
        "<script>document.getElementById('f').onload=function(){var w=this.contentWindow;"
        f"{onload}}};</script></body></html>",
        encoding="utf-8",
    )
    try:
        out = dump_dom(probe, width=800)
    finally:
        probe.unlink()
    m = re.search(r"<title>([^<]*)</title>", out)
    return m.group(1) if m else ""


def scroll_width(page: Path, width: int = 390) -> tuple[int, int]:
    """document.documentElement.scrollWidth and innerWidth of `page` in an iframe of
    `width` px."""
    title = _title_in_iframe(
        page,
        width,
        "document.title='SW:'+w.document.documentElement.scrollWidth+'/'+w.innerWidth;",
    )
    m = re.fullmatch(r"SW:(\d+)/(\d+)", title)
    assert m, "Chromium did not report the page width"
    return int(m.group(1)), int(m.group(2))


def scroll_hints(page: Path, width: int = 390) -> list[tuple[bool, float]]:
    """For each table box of `page` in an iframe of `width` px: whether it scrolls sideways
    (its content is wider than the box), and the opacity of its "scroll sideways" hint
    (read half a second after the load: at the load itself the scroll-driven animations of
    the boxes far below have not been sampled yet)."""
    title = _title_in_iframe(
        page,
        width,
        "setTimeout(function(){var out=[];"
        "w.document.querySelectorAll('.par-table-wrap').forEach(function(b){"
        "var h=b.querySelector('.par-scroll-hint');"
        "out.push((b.scrollWidth>b.clientWidth+1?'1':'0')+':'+"
        "(h?w.getComputedStyle(h).opacity:'none'));});"
        "document.title='HINTS:'+out.join(',');},500);",
    )
    assert title.startswith("HINTS:"), "Chromium did not report the tables"
    rows = [x.split(":") for x in title[len("HINTS:") :].split(",") if x]
    return [(s == "1", float(o) if o != "none" else -1.0) for s, o in rows]


def sticky_row_heads(page: Path, width: int = 390) -> list[dict]:
    """For each table box of `page` (in an iframe of `width` px) that scrolls sideways and
    has row headers: the box scrolled to its right end, then where its first row's header,
    that column's heading (`th.par-row-head`) and the row's last cell are (px, rounded):
    `head_left` (the row header's left edge from the box's), `heading_dx` / `heading_dw`
    (the heading's left edge and width from the row header's), `last_inside` (the box's
    right edge less the last cell's), `last_clear` (the last cell's left edge less the
    row header's right: negative when the header covers it) and `screens` (how many box
    widths the table is wide, in hundredths)."""
    title = _title_in_iframe(
        page,
        width,
        "setTimeout(function(){var out=[];"
        "w.document.querySelectorAll('.par-table-wrap').forEach(function(b){"
        "var th=b.querySelector('tbody th[scope=row]');"
        "if(!th||b.scrollWidth<=b.clientWidth+1)return;"
        "var hd=b.querySelector('thead th.par-row-head');"
        "b.scrollLeft=b.scrollWidth;"
        "var br=b.getBoundingClientRect(),r=th.getBoundingClientRect();"
        "var h=hd?hd.getBoundingClientRect():{left:-1e4,width:-1e4};"
        "var cs=th.parentNode.cells,last=cs[cs.length-1].getBoundingClientRect();"
        "out.push([b.querySelector('table').id,r.left-br.left,h.left-r.left,h.width-r.width,"
        "br.right-last.right,last.left-r.right,100*b.scrollWidth/b.clientWidth].map(function(x){"
        "return typeof x==='number'?Math.round(x):x;}).join(':'));});"
        "document.title='STICKY:'+out.join(',');},500);",
    )
    assert title.startswith("STICKY:"), "Chromium did not report the tables"
    keys = ("head_left", "heading_dx", "heading_dw", "last_inside", "last_clear", "screens")
    out = []
    for item in filter(None, title[len("STICKY:") :].split(",")):
        table_id, *numbers = item.split(":")
        out.append({"table": table_id, **dict(zip(keys, map(int, numbers), strict=True))})
    return out
