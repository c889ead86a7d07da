"""The published Data Docs work with no network: every src/href is local and exists, no S3
logo or context id, and (slow) headless Chromium shows styled pages with no request. They are
accessible: (slow) axe-core finds no WCAG 2.1 A/AA violation on the index, a suite page and a
validation-result page (passed and failed), at 1280 and 390 px."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from par_review.validation.datadocs import accessible_html, external_references, offline_html
from par_review.validation.gate import validate_tables, validate_year

YEAR = 2022
CHROMIUM = Path("/usr/bin/chromium")
URL_ATTRS = {"src", "href", "action", "data", "poster", "srcset", "formaction", "background"}


@pytest.fixture(scope="module")
def site(demo_processed, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("work")
    report = validate_year(YEAR, demo_processed, out_dir=out)
    assert report.success and report.data_docs == "validation/index.html"
    return out / "validation"


class Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in URL_ATTRS and value is not None:
                self.refs.append((tag, name, value))


def page_refs(page: Path) -> list[tuple[str, str, str]]:
    p = Refs()
    p.feed(page.read_text(encoding="utf-8"))
    return p.refs


def test_site_has_the_year_and_its_suites(site):
    assert (site / "index.html").is_file()
    names = sorted(p.name for p in (site / "expectations").glob("*.html"))
    assert names == [
        f"khanh_hoa-{t}.html" for t in ("commune", "national_indices", "provincial", "satisfaction")
    ]
    results = sorted(site.glob("validations/*/*/*/*.html"))
    assert len(results) == 4
    assert all(f"khanh_hoa-{YEAR}" in str(p) for p in results)


def test_every_reference_is_local_and_exists(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 9
    for page in pages:
        for tag, attr, url in page_refs(page):
            assert not re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, re.I), (
                f"{page}: <{tag} {attr}={url}>"
            )
            if url.startswith(("#", "javascript:", "data:")) or not url:
                continue
            target = (page.parent / url.split("#")[0].split("?")[0]).resolve()
            assert target.exists(), f"{page.relative_to(site)}: <{tag} {attr}={url}> does not exist"
            assert site.resolve() in target.parents, f"{url} leaves the site"
    assert external_references(site) == []


def test_no_s3_logo_no_context_id_no_cdn(site):
    context_id = None
    yml = Path(__file__).resolve().parents[1] / "validation/gx/great_expectations.yml"
    m = re.search(r"^data_context_id: (\S+)", yml.read_text(encoding="utf-8"), re.M)
    context_id = m.group(1)
    for p in site.rglob("*"):
        if p.suffix in (".html", ".css", ".js"):
            text = p.read_text(encoding="utf-8", errors="replace")
            for bad in (
                "amazonaws",
                "cdn.jsdelivr",
                "unpkg.com",
                "cdnjs",
                "bootstrapcdn",
                "code.jquery",
                context_id,
            ):
                assert bad not in text, f"{p}: {bad}"
    assert (site / "static/vendor/bootstrap.min.css").is_file()
    assert (site / "static/vendor/fontawesome/webfonts/fa-solid-900.woff2").is_file()


def test_offline_html_rewrites_what_gx_loads():
    html = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
        '<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" '
        'integrity="sha384-x" crossorigin="anonymous"></script>'
        '<script src="https://cdn.example.org/tracker.js"></script>'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d_id=abc">'
        '<a href="https://greatexpectations.io" target="_blank">GX</a>'
        "<div style=\"background: url('https://x.org/a.png')\"></div>"
    )
    out = offline_html(html, "static/vendor", "static/images/logo-long.png")
    assert 'href="static/vendor/bootstrap.min.css"' in out
    assert (
        'src="static/vendor/bootstrap.min.js"' in out
        and "integrity" not in out
        and "crossorigin" not in out
    )
    assert "tracker" not in out
    assert 'src="static/images/logo-long.png"' in out
    assert "<a>GX</a>" in out
    assert "http" not in out


def test_a_failed_year_has_data_docs_too(demo_processed, tmp_path):
    from par_review.validation.gate import read_tables

    prov = read_tables(demo_processed, YEAR)["provincial"]
    prov.loc[0, "score"] = 101.0
    report = validate_tables(
        YEAR, {"provincial": prov}, demo_processed, out_dir=tmp_path, only=["provincial"]
    )
    assert not report.success
    page = next(tmp_path.glob("validation/validations/khanh_hoa-provincial/*/*/*.html"))
    text = page.read_text(encoding="utf-8")
    assert prov.loc[0, "unit_id"] in text  # the offending unit is on the page
    assert external_references(tmp_path / "validation") == []
    saved = json.loads((tmp_path / "validation.json").read_text(encoding="utf-8"))
    assert saved["data_docs"] == "validation/index.html" and saved["success"] is False


# -- in a browser --------------------------------------------------------------------------------
PROBE = """<script>
window.addEventListener('load', function () {
  var probe = document.createElement('div'); probe.className = 'd-none'; document.body.appendChild(probe);
  var icon = document.createElement('i'); icon.className = 'fas fa-check'; document.body.appendChild(icon);
  setTimeout(function () {
    document.body.setAttribute('data-probe', JSON.stringify({
      bootstrap_css: getComputedStyle(probe).display,
      fa_font: getComputedStyle(icon).fontFamily,
      fa_loaded: document.fonts.check('900 16px "Font Awesome 6 Free"'),
      jquery: typeof window.jQuery,
      bootstrap_table: !!(window.jQuery && window.jQuery.fn.bootstrapTable)
    }));
  }, 500);
});
</script>"""


def chromium(url: str, tmp: Path, *args: str) -> tuple[str, list[str]]:
    """Open url headless with the network cut off; return the DOM and the URLs the page requested."""
    netlog = tmp / "net.json"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp / 'profile'}",
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--log-net-log={netlog}",
        "--virtual-time-budget=5000",
        *args,
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    shutil.rmtree(tmp / "profile", ignore_errors=True)
    return out.stdout, page_requests(netlog)


def page_requests(netlog: Path) -> list[str]:
    """URLs that the page (a file:// document) asked the network for; Chromium's own
    background requests have no page as initiator."""
    data = json.loads(netlog.read_text(encoding="utf-8"))
    types = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    urls = []
    for e in data["events"]:
        p = e.get("params") or {}
        page_asked = p.get("initiator") == "null" or "file://" in str(
            p.get("network_isolation_key", "")
        )
        if types.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in p and page_asked:
            urls.append(p["url"])
    return urls


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_chromium_offline_styled_and_no_request(site, tmp_path):
    # The detector sees a page's requests (so that "none" below means something).
    control = tmp_path / "control.html"
    control.write_text(
        '<link rel="stylesheet" href="https://cdn.example.org/x.css">'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo.png">'
    )
    _, requested = chromium(control.as_uri(), tmp_path / "c")
    assert len(requested) == 2, requested

    for page in [
        site / "index.html",
        *sorted(site.glob("validations/*/*/*/*.html")),
        *sorted(site.glob("expectations/*.html")),
    ]:
        _, requested = chromium(page.as_uri(), tmp_path / page.stem)
        assert requested == [], f"{page.relative_to(site)} requested {requested}"

    # Styled: Bootstrap's CSS, Font Awesome's font, jQuery and bootstrap-table are all live.
    probe = site / "index.probe.html"
    probe.write_text(
        (site / "index.html").read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
        encoding="utf-8",
    )
    try:
        dom, requested = chromium(probe.as_uri(), tmp_path / "probe", "--dump-dom")
    finally:
        probe.unlink()
    assert requested == []
    state = json.loads(re.search(r"data-probe=\"([^\"]*)\"", dom).group(1).replace("&quot;", '"'))
    assert state == {
        "bootstrap_css": "none",
        "fa_font": '"Font Awesome 6 Free"',
        "fa_loaded": True,
        "jquery": "function",
        "bootstrap_table": True,
    }, state
    shot = tmp_path / "index.png"
    chromium(
        (site / "index.html").as_uri(),
        tmp_path / "shot",
        f"--screenshot={shot}",
        "--window-size=1200,900",
    )
    assert shot.is_file() and shot.stat().st_size > 20_000


# -- accessibility -------------------------------------------------------------------------------
GX_PAGE = """<!DOCTYPE html>
<html>
  <head><style>@media (prefers-color-scheme: dark) { .table { color: #f1f1f1 !important; } }</style>
  </head>
  <body>
  <ul class="nav nav-tabs" id=section-1-content-block-2-tabs-nav role="tablist">
      <li class="nav-item"><a class="nav-link active" role="tab" href="#A">A</a></li>
      <li class="nav-item"><a class="nav-link" role="tab" href="#B">B</a></li>
  </ul>
  <ul class="nav nav-pills"><li class="nav-item"><a class="nav-link" href="#s1">s1</a></li></ul>
  </body>
</html>"""


def test_accessible_html_fixes_what_axe_finds_on_gx_pages():
    out = accessible_html(GX_PAGE, "../static/par")
    assert out.count('<html lang="en">') == 1
    tablist = re.search(r'role="tablist">(.*?)</ul>', out, re.S).group(1)
    assert tablist.count('<li role="presentation" class="nav-item">') == 2
    assert '<li class="nav-item"><a class="nav-link" href="#s1">' in out  # other lists untouched
    assert "prefers-color-scheme" not in out  # GX's half dark mode is off: the pages stay light
    head, body = out.split("</head>")
    assert '<link rel="stylesheet" href="../static/par/par-a11y.css">' in head
    assert body.count('<script src="../static/par/par-a11y.js"></script>') == 1
    assert body.index("par-a11y.js") > body.index("tablist")  # after the page's own scripts
    assert accessible_html(out, "../static/par") == out  # idempotent
    assert accessible_html('<html lang="vi"><head></head><body></body></html>', "x").startswith(
        '<html lang="vi">'
    )


def test_every_page_links_the_accessibility_files(site):
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert text.count("par-a11y.css") == 1 and text.count("par-a11y.js") == 1, page
        assert re.search(r"<html lang=\"en\"", text), page
    assert (site / "static/par/par-a11y.css").is_file()
    assert (site / "static/par/par-a11y.js").is_file()


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_axe_no_wcag21_aa_violation(site, demo_processed, tmp_path):
    from par_review.validation.gate import read_tables
    from tests.helpers.axe import violations

    prov = read_tables(demo_processed, YEAR)["provincial"]
    prov.loc[0, "score"] = 101.0
    prov.loc[1, "unit_id"] = None
    failed = validate_tables(
        YEAR, {"provincial": prov}, demo_processed, out_dir=tmp_path, only=["provincial"]
    )
    assert not failed.success
    pages = {
        "index": site / "index.html",
        "suite": site / "expectations/khanh_hoa-provincial.html",
        "result": next(site.glob("validations/khanh_hoa-provincial/*/*/*.html")),
        "failed index": tmp_path / "validation/index.html",
        "failed result": next(tmp_path.glob("validation/validations/*/*/*/*.html")),
    }
    found = {
        f"{name} @{width}px": violations(page, width=width)
        for name, page in pages.items()
        for width in (1280, 390)
    }
    assert all(v == [] for v in found.values()), {k: v for k, v in found.items() if v}


# -- the cache: rendered once per set of inputs --------------------------------------------------
def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_data_docs_are_rendered_once_per_set_of_inputs(demo_processed, tmp_path, monkeypatch):
    from par_review.validation import datadocs
    from par_review.validation.gate import read_tables

    rendered = []
    real = datadocs._render
    monkeypatch.setattr(datadocs, "_render", lambda *a: (rendered.append(1), real(*a))[1])
    prov = read_tables(demo_processed, YEAR)["provincial"]
    prov.loc[1, "score"] = 102.5  # inputs no other test validates
    run = lambda out: validate_tables(  # noqa: E731
        YEAR, {"provincial": prov}, demo_processed, out_dir=tmp_path / out, only=["provincial"]
    )
    first = run("a")
    assert rendered == [1]
    second = run("b")  # nothing changed: copied from the cache, not rendered
    assert rendered == [1]
    assert first.to_dict() == second.to_dict()
    assert _tree(tmp_path / "a/validation") == _tree(tmp_path / "b/validation")
    assert external_references(tmp_path / "b/validation") == []
    again = run("a")  # into the same folder: swapped in whole
    assert rendered == [1] and again.data_docs == "validation/index.html"
    # a result changed: rendered again, and the page shows the new value
    prov.loc[1, "score"] = 103.5
    run("c")
    assert rendered == [1, 1]
    page = next((tmp_path / "c").glob("validation/validations/khanh_hoa-provincial/*/*/*.html"))
    assert "103.5" in page.read_text(encoding="utf-8")
    # a --force rebuild of the same inputs renders none
    run("d")
    assert rendered == [1, 1]
    cached = [d for d in (demo_processed.build / "cache/datadocs").iterdir() if d.is_dir()]
    assert 2 <= len(cached) <= datadocs.CACHE_KEEP


def test_the_cache_key_sees_what_a_check_sees():
    import pandas as pd

    from par_review.validation.datadocs import docs_digest

    df = pd.DataFrame({"unit_id": ["a", "b"], "unit_name": ["12345", "x"]})
    key = lambda d, p=None: docs_digest("khanh_hoa-2022", [("s", "sha", p or {"year": 2022}, d)])  # noqa: E731
    same = key(df.copy())
    assert key(df) == same
    as_int = df.astype(object)
    as_int.loc[0, "unit_name"] = 12345  # the same text, another type: a type check differs
    assert key(as_int) != same
    assert key(df, {"year": 2023}) != same  # a run-time parameter
    assert docs_digest("khanh_hoa-2023", [("s", "sha", {"year": 2022}, df)]) != same
    assert docs_digest("khanh_hoa-2022", [("s", "sha2", {"year": 2022}, df)]) != same
    # the site's settings in great_expectations.yml
    assert docs_digest("khanh_hoa-2022", [("s", "sha", {"year": 2022}, df)], b"x") != same


def test_every_data_docs_page_carries_the_simulated_data_notice(site):
    """Every other report page says the demo data is simulated; the Data Docs did not."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 1
    for page in pages:
        text = page.read_text(encoding="utf-8")
        body = text[text.index("<body") :]
        band = re.search(r'<div class="par-simulated-band" role="note">(.*?)</div>', body, re.S)
        assert band, page
        assert '<span lang="vi">DỮ LIỆU MÔ PHỎNG' in band.group(1), page
        assert '<span lang="en">SIMULATED DATA' in band.group(1), page
        assert band.start() < body.index("<nav"), page  # the first thing on the page
    css = (site / "static" / "par" / "par-a11y.css").read_text(encoding="utf-8")
    assert ".par-simulated-band" in css


def test_the_notice_is_escaped_idempotent_and_absent_for_real_data():
    from par_review.validation.datadocs import simulated_html

    page = '<html><head></head><body class="x"><nav></nav></body></html>'
    out = simulated_html(page, {"en": "SIMULATED <data>", "vi": "MÔ PHỎNG & thử"})
    assert out.index('<span lang="vi">MÔ PHỎNG &amp; thử</span>') < out.index(
        '<span lang="en">SIMULATED &lt;data&gt;</span>'
    )
    assert out.startswith('<html><head></head><body class="x">\n<div class="par-simulated-band"')
    assert simulated_html(out, {"en": "again"}) == out
    assert simulated_html(page, {}) == page
