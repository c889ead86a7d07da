"""Run axe-core (npm, package-lock.json) on a page in the Debian headless Chromium: the
WCAG 2.1 A and AA rules. Returns the violations as [rule, nodes, first target]."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tests.helpers.chromium import dump_dom

REPO = Path(__file__).resolve().parents[2]
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_js() -> Path | None:
    for p in (os.environ.get("AXE_CORE_JS"), REPO / "node_modules" / "axe-core" / "axe.min.js"):
        if p and Path(p).is_file():
            return Path(p)
    return None


def violations(page: Path, width: int = 1280) -> list:
    js = axe_js()
    assert js is not None, "axe-core is not installed: run `make test` (it runs npm ci)"
    run = (
        "<script>" + js.read_text(encoding="utf-8") + "</script><script>axe.run(document,"
        "{runOnly:{type:'tag',values:" + json.dumps(TAGS) + "}}).then(function(r){"
        "document.title='V:'+JSON.stringify(r.violations.map(function(v){return [v.id,"
        "v.nodes.length,v.nodes[0].target.join(' ')]}))}).catch(function(e){"
        "document.title='ERR:'+e});</script></body>"
    )
    probe = page.with_name(f".axe-{page.name}")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", run, 1), encoding="utf-8")
    try:
        out = dump_dom(probe, width=width, budget_ms=60000, timeout=300)
    finally:
        probe.unlink()
    m = re.search(r"<title>(V:|ERR:)([^<]*)", out)
    assert m, f"{page.name}: axe-core gave no result"
    assert m.group(1) == "V:", f"{page.name}: {m.group(2)}"
    import html

    return json.loads(html.unescape(m.group(2)))
