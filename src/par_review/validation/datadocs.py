"""A year's Data Docs, built by GX and made to work with no network.

GX's pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from CDNs and a logo
from S3 whose URL carries the data context id. `make_offline()` rewrites every such reference
to a copy vendored in `par_review/assets/datadocs/` (files of the npm packages named in
`VENDORED`, see `assets/datadocs/README.md`), drops what the pages do not need (the dark-mode
stylesheet), replaces the S3 logo by GX's own local copy, and makes links to external sites
inert (the `href` is removed, the text stays). After it, no `src`, `href`, `url()` or
`action` in the site points outside it.

It also makes the pages pass axe-core's WCAG 2.1 A and AA rules (`accessible_html()`): `lang="en"`
on `<html>`, the tab list's items marked `role="presentation"`, GX's dark-mode overrides (written
for the dark Bootstrap that is not loaded) switched off, and two files of ours, `par-a11y.css`
(darker link, tab and button colours reaching 4.5:1) and `par-a11y.js` (names for the filter
controls that bootstrap-table draws), linked from every page.

When the province's data is simulated, every page opens with the same notice as every other
report page ("DỮ LIỆU MÔ PHỎNG — ..." / "SIMULATED DATA — ..."), written into the HTML by
`simulated_html()` and styled by `par-a11y.css`: text in the page, nothing fetched.

Refresh the vendored files (needs the npm client and the npm registry):

    python -m par_review.validation.datadocs --vendor
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..fsutil import swap_dir
from ..paths import PACKAGE_DIR

ASSETS = PACKAGE_DIR / "assets" / "datadocs"
SITE_NAME = "par_review"
# Our own files (not vendored, not refreshed by --vendor): copied to static/par/.
OWN_ASSETS = ("par-a11y.css", "par-a11y.js")

# npm package -> {file in the package: name under static/vendor/}
VENDORED: dict[str, dict[str, str]] = {
    "bootstrap@4.3.1": {
        "dist/css/bootstrap.min.css": "bootstrap.min.css",
        "dist/js/bootstrap.min.js": "bootstrap.min.js",
    },
    "jquery@3.7.1": {"dist/jquery.min.js": "jquery.min.js"},
    "popper.js@1.12.9": {"dist/umd/popper.min.js": "popper.min.js"},
    "bootstrap-table@1.19.1": {
        "dist/bootstrap-table.min.css": "bootstrap-table.min.css",
        "dist/bootstrap-table.min.js": "bootstrap-table.min.js",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.css": "bootstrap-table-filter-control.min.css",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.js": "bootstrap-table-filter-control.min.js",
    },
    "bootstrap-datepicker@1.9.0": {
        "dist/css/bootstrap-datepicker.min.css": "bootstrap-datepicker.min.css",
        "dist/js/bootstrap-datepicker.min.js": "bootstrap-datepicker.min.js",
    },
    "@fortawesome/fontawesome-free@6.6.0": {
        "css/all.min.css": "fontawesome/css/all.min.css",
        "webfonts/fa-solid-900.woff2": "fontawesome/webfonts/fa-solid-900.woff2",
        "webfonts/fa-regular-400.woff2": "fontawesome/webfonts/fa-regular-400.woff2",
        "webfonts/fa-brands-400.woff2": "fontawesome/webfonts/fa-brands-400.woff2",
        "webfonts/fa-v4compatibility.woff2": "fontawesome/webfonts/fa-v4compatibility.woff2",
    },
    "vega@5.33.1": {"build/vega.min.js": "vega.min.js"},
    "vega-lite@5.23.0": {"build/vega-lite.min.js": "vega-lite.min.js"},
    "vega-embed@6.29.0": {"build/vega-embed.min.js": "vega-embed.min.js"},
}

# What GX 1.24's templates load -> the vendored file (None: drop the tag).
URL_MAP: dict[str, str | None] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": "bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": "bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": "bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": "bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": "bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed.min.js",
    # Dark-mode variant of Bootstrap (880 kB): not vendored, the pages stay light.
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": None,
}

VEGA = (
    "https://cdn.jsdelivr.net/npm/vega@5",
    "https://cdn.jsdelivr.net/npm/vega-lite@5",
    "https://cdn.jsdelivr.net/npm/vega-embed@6",
)
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host, ftp://...
_TAG = re.compile(
    r"<(script|link|img|a|form|iframe|source|embed|object|video|audio)\b([^>]*)>", re.I | re.S
)
_ATTR = re.compile(
    r"""\s(src|href|action|data|poster|srcset)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.I
)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""", re.I)
_SRI = re.compile(r"""\s(integrity|crossorigin)(\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""", re.I)


def is_external(url: str) -> bool:
    url = url.strip()
    return bool(_EXTERNAL.match(url)) and not url.lower().startswith("file:")


def build_data_docs(
    ctx: Any,
    result_ids: list,
    suite_names: list[str],
    target: Path,
    notice: Mapping[str, str] | None = None,
) -> Path:
    """Build the Data Docs of one run (its validation results and suites) into `target`,
    offline, each page opening with `notice` ({lang: text}: the simulated-data mark) when
    given. The folder is staged and swapped in whole."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    try:
        sites = ctx.variables.data_docs_sites or {}
        site_config = copy.deepcopy(
            dict(
                sites.get(SITE_NAME)
                or {
                    "class_name": "SiteBuilder",
                    "show_how_to_buttons": False,
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                }
            )
        )
        site_config["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(staging),
        }
        builder = ctx._init_site_builder_for_data_docs_site_creation(
            site_name=SITE_NAME, site_config=site_config
        )
        ids = [*result_ids, *(ExpectationSuiteIdentifier(name=n) for n in suite_names)]
        builder.build(resource_identifiers=ids, build_index=True)
        make_offline(staging, notice)
        swap_dir(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target / "index.html"


# -- the cache: a site is rendered once per set of inputs --------------------------------------
CACHE_DIR = ("cache", "datadocs")  # under build/
CACHE_KEEP = 16  # sites kept in the cache (the most recently used)
_CODE = (Path(__file__), Path(__file__).with_name("expectations.py"))


def docs_digest(run_name: str, inputs: list, site_config: bytes = b"") -> str:
    """A hash of everything a year's Data Docs are made from: GX's version, this module and
    the wide expectations' code, our page assets, the run's name, and per table the suite
    (its file's sha256), the run-time parameters and the validated table itself (values,
    dtypes, and the Python type of every cell of an `object` column, since a type check sees
    it); `site_config`: the bytes of great_expectations.yml (the site's settings). Same
    digest: the same site."""
    import hashlib

    import great_expectations as gx
    import pandas as pd

    h = hashlib.sha256()

    def put(*parts: Any) -> None:
        for part in parts:
            b = part if isinstance(part, bytes) else str(part).encode("utf-8")
            h.update(len(b).to_bytes(8, "little") + b)

    put("gx", gx.__version__, run_name, site_config)
    for p in _CODE:
        put(p.read_bytes())
    for name in OWN_ASSETS:
        put(name, (ASSETS / name).read_bytes())
    for rel in sorted({v for files in VENDORED.values() for v in files.values()}):
        f = ASSETS / rel
        put(rel, f.stat().st_size if f.is_file() else -1)
    for name, suite_digest, params, view in inputs:
        put(name, suite_digest, json.dumps(params, sort_keys=True, default=str))
        put(json.dumps([[str(c), str(t)] for c, t in view.dtypes.items()]))
        try:
            put(pd.util.hash_pandas_object(view, index=True).to_numpy().tobytes())
        except TypeError:  # a cell pandas cannot hash: its text
            put(view.to_csv(index=True))
        for c in view.columns:
            if view[c].dtype == object:
                put(c, "|".join(type(v).__name__ for v in view[c]))
    return h.hexdigest()


def _copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, copy_function=shutil.copyfile)


def build_data_docs_cached(
    ctx: Any,
    paths: Any,
    run_name: str,
    runs: list,
    inputs: list,
    target: Path,
    notice: Mapping[str, str] | None = None,
) -> tuple[Path, bool]:
    """The Data Docs of one run into `target`: copied from build/cache/datadocs/<digest>/
    when a site of the same inputs was rendered before (`docs_digest`), else rendered by GX
    from the run's results (`runs`: (suite name, suite validation result, batch id)), made
    offline, and kept in the cache. Returns (index.html, whether it was rendered)."""
    target = Path(target)
    yml = paths.validation / "gx" / "great_expectations.yml"
    digest = docs_digest(
        run_name,
        inputs,
        (yml.read_bytes() if yml.is_file() else b"") + _notice_key(notice),
    )
    # the preview keeps its own (it writes only under build/preview)
    own = os.environ.get("PAR_REVIEW_CACHE")
    cache = Path(own).joinpath(CACHE_DIR[-1]) if own else paths.build.joinpath(*CACHE_DIR)
    hit = cache / digest
    target.parent.mkdir(parents=True, exist_ok=True)
    if (hit / "index.html").is_file():
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
        try:
            staging.rmdir()
            _copy_tree(hit, staging)
            swap_dir(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        os.utime(hit)  # recently used
        return target / "index.html", False
    _render(ctx, runs, target, notice)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}.", dir=cache))
    try:
        tmp.rmdir()
        _copy_tree(target, tmp)
        with contextlib.suppress(OSError):  # another process cached the same site meanwhile
            os.rename(tmp, hit)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _prune_cache(cache)
    return target / "index.html", True


def _prune_cache(cache: Path) -> None:
    sites = sorted(
        (d for d in cache.iterdir() if d.is_dir() and not d.name.startswith(".")),
        key=lambda d: d.stat().st_mtime,
        reverse=True,
    )
    for d in sites[CACHE_KEEP:]:
        shutil.rmtree(d, ignore_errors=True)


def _render(ctx: Any, runs: list, target: Path, notice: Mapping[str, str] | None = None) -> None:
    """Render the run's results with GX's site builder: they go into the (in-memory) results
    store for the builder to read, and are taken out again afterwards."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    store = ctx.validation_results_store
    keys = []
    try:
        for name, result, batch_id in runs:
            suite_id = ExpectationSuiteIdentifier(name=name)
            key = ValidationResultIdentifier(
                expectation_suite_identifier=suite_id,
                run_id=result.meta["run_id"],
                batch_identifier=batch_id,
            )
            store.store_validation_results(
                suite_validation_result=result,
                suite_validation_result_identifier=key,
                expectation_suite_identifier=suite_id,
            )
            keys.append(key)
        build_data_docs(ctx, keys, [name for name, _, _ in runs], target, notice)
    finally:
        for key in keys:  # the in-memory store must not grow with every run
            with contextlib.suppress(Exception):
                store.remove_key(key)


def make_offline(site: Path, notice: Mapping[str, str] | None = None) -> None:
    """Rewrite the site so that opening it makes no network request; with `notice`
    ({lang: text}), every page opens with it (`simulated_html`)."""
    vendor = site / "static" / "vendor"
    for rel in sorted({v for files in VENDORED.values() for v in files.values()}):
        src = ASSETS / rel
        if not src.is_file():
            raise FileNotFoundError(
                f"{src} is missing: run python -m par_review.validation.datadocs --vendor"
            )
        (vendor / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, vendor / rel)
    own = site / "static" / "par"
    own.mkdir(parents=True, exist_ok=True)
    for name in OWN_ASSETS:
        shutil.copyfile(ASSETS / name, own / name)
    local_logo = site / "static" / "images" / "logo-long.png"
    pages = sorted(site.rglob("*.html"))
    # Vega renders charts; the pages of our suites have none, so they do not load it then.
    drop = set() if any("vegaEmbed" in p.read_text(encoding="utf-8") for p in pages) else set(VEGA)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        new = offline_html(
            text,
            Path(os.path.relpath(vendor, page.parent)).as_posix(),
            Path(os.path.relpath(local_logo, page.parent)).as_posix()
            if local_logo.is_file()
            else None,
            drop=drop,
        )
        new = _fix_static_paths(new, page, site)
        new = accessible_html(new, Path(os.path.relpath(own, page.parent)).as_posix())
        if notice:
            new = simulated_html(new, notice)
        if new != text:
            page.write_text(new, encoding="utf-8")
    for css in sorted(site.rglob("*.css")):
        text = css.read_text(encoding="utf-8")
        new = offline_css(text)
        if new != text:
            css.write_text(new, encoding="utf-8")
    prune_unreferenced(site)


def _fix_static_paths(text: str, page: Path, site: Path) -> str:
    """GX 1.24 puts the favicon of validation-result pages one folder too high
    (../../../static/...): point every static/ reference that does not exist at the site's
    static/ folder."""

    def fix(m: re.Match) -> str:
        url = m.group(2)
        if is_external(url) or "static/" not in url or (page.parent / url).exists():
            return m.group(0)
        rest = url[url.index("static/") :]
        return f'{m.group(1)}="{Path(os.path.relpath(site / rest, page.parent)).as_posix()}"'

    return re.sub(r'\b(src|href)="([^"]*)"', fix, text)


def _local_refs(path: Path, text: str) -> set[Path]:
    refs = set()
    urls = [
        m.group(2)[1:-1]
        for m in re.finditer(r"""\b(src|href)\s*=\s*("[^"]*"|'[^']*')""", text, re.I)
    ]
    urls += [m.group(2) for m in _CSS_URL.finditer(text)]
    for url in urls:
        url = url.split("#")[0].split("?")[0].strip()
        if not url or is_external(url) or url.startswith(("data:", "javascript:", "mailto:")):
            continue
        refs.add((path.parent / url).resolve())
    return refs


def prune_unreferenced(site: Path) -> None:
    """Delete static files that no page or stylesheet uses (GX copies animated GIFs for its
    how-to panels, fonts in every weight, ...)."""
    seen: set[Path] = set()
    todo = [p.resolve() for p in site.rglob("*.html")]
    while todo:
        p = todo.pop()
        if p in seen or not p.is_file():
            continue
        seen.add(p)
        if p.suffix.lower() in (".html", ".css"):
            todo.extend(_local_refs(p, p.read_text(encoding="utf-8", errors="replace")))
    for f in sorted((site / "static").rglob("*")):
        if f.is_file() and f.resolve() not in seen:
            f.unlink()
    for d in sorted((site / "static").rglob("*"), key=lambda x: len(x.parts), reverse=True):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()


def offline_css(text: str) -> str:
    """External url(...) in CSS -> none; drop the .ttf fallbacks of Font Awesome (woff2 only)."""
    text = re.sub(
        r""",\s*url\(\s*['"]?[^'")]*\.ttf['"]?\s*\)\s*format\(\s*['"]truetype['"]\s*\)""", "", text
    )
    text = re.sub(r"""@import\s+url\(\s*['"]?(?:https?:)?//[^)]*\)\s*;?""", "", text, flags=re.I)
    return _CSS_URL.sub(lambda m: "none" if is_external(m.group(2)) else m.group(0), text)


def offline_html(
    text: str, vendor_rel: str, logo_rel: str | None, drop: set[str] | frozenset = frozenset()
) -> str:
    """Rewrite one page: CDN assets -> the vendored copies under `vendor_rel`; S3 logo -> the
    local copy; external links inert; URLs in `drop` and unknown external scripts removed."""

    def fix_tag(m: re.Match) -> str:
        tag, attrs = m.group(1), m.group(2)
        low = tag.lower()
        urls = [(a.group(1).lower(), a.group(2).strip("'\"")) for a in _ATTR.finditer(attrs)]
        ext = [(name, url) for name, url in urls if is_external(url)]
        if not ext:
            return m.group(0)
        if low in ("script", "link"):
            name, url = ext[0]
            base = url.split("?")[0].split("#")[0]
            local = URL_MAP.get(base, URL_MAP.get(url))
            if local is None or base in drop:
                return "<!-- removed (offline) -->" + ("<script>" if low == "script" else "")
            attrs = _SRI.sub("", attrs)
            attrs = _ATTR.sub(
                lambda a: (
                    f' {a.group(1)}="{vendor_rel}/{local}"'
                    if is_external(a.group(2).strip("'\""))
                    else a.group(0)
                ),
                attrs,
            )
            return f"<{tag}{attrs}>"
        if low == "img":
            if logo_rel and any("logo" in url for _, url in ext):
                return (
                    "<"
                    + tag
                    + _ATTR.sub(
                        lambda a: (
                            f' src="{logo_rel}"' if a.group(1).lower() == "src" else a.group(0)
                        ),
                        attrs,
                    )
                    + ">"
                )
            return f'<{tag} alt="">'
        # a, form, iframe, ...: keep the element, make it inert
        attrs = _ATTR.sub(
            lambda a: "" if is_external(a.group(2).strip("'\"")) else a.group(0), attrs
        )
        if low == "a":
            attrs = re.sub(r"""\s(target|rel)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", "", attrs)
        return f"<{tag}{attrs}>"

    text = _TAG.sub(fix_tag, text)
    # GX's newsletter footer: an advertisement, and its link would go out.
    text = re.sub(r"<footer>\s*<p>Stay current on everything GX.*?</footer>", "", text, flags=re.S)
    # inline styles
    text = re.sub(
        r"""style\s*=\s*"([^"]*)\"""", lambda m: 'style="' + offline_css(m.group(1)) + '"', text
    )
    text = re.sub(
        r"(<style[^>]*>)(.*?)(</style>)",
        lambda m: m.group(1) + offline_css(m.group(2)) + m.group(3),
        text,
        flags=re.S | re.I,
    )
    return text


_TABLIST = re.compile(r"""(<ul\b[^>]*\brole=["']?tablist\b[^>]*>)(.*?)(</ul>)""", re.I | re.S)


def accessible_html(text: str, own_rel: str) -> str:
    """Fix what axe-core finds on GX 1.24's pages (WCAG 2.1 A/AA); `own_rel` is the page's
    relative path to the folder holding OWN_ASSETS. Idempotent."""
    # html-has-lang (3.1.1): GX writes the pages in English.
    text = re.sub(
        r"<html\b(?![^>]*\blang=)([^>]*)>", r'<html lang="en"\1>', text, count=1, flags=re.I
    )

    # aria-required-children / aria-required-parent / listitem (1.3.1): the <li> between
    # role="tablist" and role="tab" is presentation only.
    def tablist(m: re.Match) -> str:
        items = re.sub(r"<li\b(?![^>]*\brole=)", '<li role="presentation"', m.group(2), flags=re.I)
        return m.group(1) + items + m.group(3)

    text = _TABLIST.sub(tablist, text)
    # GX's inline "dark mode" overrides assume the dark Bootstrap, which is not loaded: in a
    # dark-mode browser they would put light text and dark tables into a light page.
    text = re.sub(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)", "@media not all", text)
    if "par-a11y.css" not in text:
        css = f'<link rel="stylesheet" href="{own_rel}/par-a11y.css">\n'
        text = re.sub(r"</head>", lambda m: css + m.group(0), text, count=1, flags=re.I)
    if "par-a11y.js" not in text:
        # at the end of <body>: after GX's inline scripts have drawn the tables
        js = f'<script src="{own_rel}/par-a11y.js"></script>\n'
        text = re.sub(r"</body>", lambda m: js + m.group(0), text, count=1, flags=re.I)
    return text


NOTICE_CLASS = "par-simulated-band"


def _notice_key(notice: Mapping[str, str] | None) -> bytes:
    return json.dumps(dict(notice or {}), sort_keys=True, ensure_ascii=False).encode("utf-8")


def simulated_html(text: str, notice: Mapping[str, str]) -> str:
    """`text` (a Data Docs page) opening with the simulated-data notice, one line per
    language ({lang: text}, each marked with its `lang`, English last: the pages are
    English), as the first thing in <body>. Idempotent."""
    if NOTICE_CLASS in text or not notice:
        return text
    langs = sorted(notice, key=lambda lang: lang == "en")
    parts = " · ".join(
        f'<span lang="{html.escape(lang)}">{html.escape(notice[lang])}</span>' for lang in langs
    )
    band = f'\n<div class="{NOTICE_CLASS}" role="note">{parts}</div>'
    return re.sub(r"<body\b[^>]*>", lambda m: m.group(0) + band, text, count=1, flags=re.I)


def external_references(site: Path) -> list[str]:
    """Every reference in the site's HTML/CSS that a browser would fetch from outside the site,
    or that points outside it (for tests and checks): 'file: attribute=url'."""
    found = []
    for p in sorted(site.rglob("*")):
        if p.suffix.lower() not in (".html", ".htm", ".css", ".svg"):
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        for m in re.finditer(
            r"""\b(src|href|action|data|poster|srcset)\s*=\s*("[^"]*"|'[^']*')""", text, re.I
        ):
            url = m.group(2)[1:-1].strip()
            if is_external(url):
                found.append(f"{p.relative_to(site)}: {m.group(1)}={url}")
        for m in _CSS_URL.finditer(text):
            if is_external(m.group(2)):
                found.append(f"{p.relative_to(site)}: url({m.group(2)})")
    return found


# -- vendoring ------------------------------------------------------------------------------------
def vendor_assets(dest: Path = ASSETS) -> list[Path]:
    """Fetch the npm packages with `npm pack` and copy the files the pages need into dest."""
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec, files in VENDORED.items():
            out = subprocess.run(
                ["npm", "pack", spec, "--silent"],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
            )
            tgz = Path(tmp) / out.stdout.strip().splitlines()[-1]
            with tarfile.open(tgz) as tar:
                for member, name in files.items():
                    fh = tar.extractfile(f"package/{member}")
                    if fh is None:
                        raise FileNotFoundError(f"{spec}: {member}")
                    data = fh.read()
                    if name.endswith(".css"):
                        data = offline_css(data.decode("utf-8")).encode("utf-8")
                    (dest / name).parent.mkdir(parents=True, exist_ok=True)
                    (dest / name).write_bytes(data)
                    written.append(dest / name)
                lic = next(
                    (m for m in tar.getnames() if re.fullmatch(r"package/LICEN[CS]E(\.\w+)?", m)),
                    None,
                )
                if lic:
                    safe = spec.rsplit("@", 1)[0].replace("/", "__").lstrip("@")
                    (dest / "licenses").mkdir(parents=True, exist_ok=True)
                    (dest / "licenses" / f"{safe}.txt").write_bytes(tar.extractfile(lic).read())
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Vendored assets of the offline Data Docs.")
    ap.add_argument(
        "--vendor", action="store_true", help="refresh assets/datadocs/ from the npm registry"
    )
    args = ap.parse_args(argv)
    if args.vendor:
        for p in vendor_assets():
            print(f"wrote {p.relative_to(PACKAGE_DIR)}")
        return 0
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
