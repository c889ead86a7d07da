"""The page as a phone shows it, in the Debian headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path


def scroll_width(page: Path, width: int = 390) -> tuple[int, int]:
    """document.documentElement.scrollWidth and innerWidth of `page` in an iframe of
    `width` px (headless Chromium's own window is at least 500 px wide)."""
    import tempfile

    probe = page.parent / f".probe-{page.stem}.html"
    probe.write_text(
        f'<!DOCTYPE html><html><head><title>x</title></head><body style="margin:0">'
        f'<iframe id="f" src="{page.name}" style="width:{width}px;height:900px;border:0"></iframe>'
        "<script>document.getElementById('f').onload=function(){var d=this.contentDocument"
        ".documentElement;document.title='SW:'+d.scrollWidth+'/'+this.contentWindow.innerWidth;};"
        "</script></body></html>",
        encoding="utf-8",
    )
    try:
        with tempfile.TemporaryDirectory() as profile:
            out = subprocess.run(
                [
                    shutil.which("chromium") or "chromium",
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--allow-file-access-from-files",
                    f"--user-data-dir={profile}",
                    "--virtual-time-budget=10000",
                    "--window-size=800,900",
                    "--dump-dom",
                    probe.as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
    finally:
        probe.unlink()
    m = re.search(r"<title>SW:(\d+)/(\d+)", out)
    assert m, "Chromium did not report the page width"
    return int(m.group(1)), int(m.group(2))
