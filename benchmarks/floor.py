#!/usr/bin/env python
"""The warm in-process floor: the build's work in ONE warm Python process, one key after
another on one core, calling the package's own functions per step (no kernels, no
papermill, no nbconvert CLI, no fingerprints):

    clean     clean.tables.clean_year
    validate  validation.gate.validate_year (with Data Docs)
    analyse   metrics.compute.compute_metrics + write_metrics
    report    per language: report.context.build_context, write_companions (what the
              40_report notebook does), the sections (charts included) and the page
              (report.context.render_html: the exporter's template), then
              report.exporters.html_to_pdf

    .venv/bin/python benchmarks/floor.py --root PROJECT --out floor.json [--profile DIR]

Imports (and the one-off GX context) are timed apart. Like a build kernel between two
notebooks, the floor collects and freezes its heap after the imports and after each step
(kernels.settle_heap). The order is topological (a year
after the years and absorbed provinces it reads). Written as JSON for bench_build.py,
which computes the 2-core ideal and the ratios. `--profile DIR` then re-runs, warm, one
validation and one report render (khanh_hoa 2022, vi) under cProfile and writes their
summaries (and the raw .prof files) into DIR; the render's own figure is the median of three
warm renders (one render swings by 10-20 % on this machine).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
import time
from pathlib import Path

# What the build's kernels do before anything else (pipeline/kernels.py KERNEL_SETUP): the
# optional rfc3987_syntax grammar is not compiled, and the modules Great Expectations imports
# but no check uses are imported only if used. The floor gets the same start.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
from par_review.pipeline.kernels import defer_imports  # noqa: E402

defer_imports()
os.environ.setdefault("MPLBACKEND", "agg")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

IMPORTS = (
    "pandas",
    "par_review.paths",
    "par_review.config",
    "par_review.clean.tables",
    "great_expectations",
    "par_review.validation.gate",
    "par_review.validation.datadocs",
    "par_review.metrics.compute",
    "matplotlib",
    "par_review.report.charts",
    "par_review.report.context",
    "par_review.report.companions",
    "nbconvert",
    "par_review.report.exporters",
    "par_review.report.chromium",
    "par_review.pipeline.steps",
)


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children, live or reaped: the PDF is printed
    by a warm Chromium, a child process (report/chromium.py), whose CPU is part of the work."""
    import psutil

    me = psutil.Process()
    t = me.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for c in me.children(recursive=True):
        try:
            ct = c.cpu_times()
        except psutil.Error:
            continue
        total += ct.user + ct.system
    return total


def clock():
    return time.perf_counter(), cpu_seconds()


def since(t):
    w, c = clock()
    return w - t[0], c - t[1]


def do_clean(key, paths):
    from par_review.clean.tables import clean_year

    clean_year(key.year, paths, key.province)
    return {}


def do_validate(key, paths, out_dir):
    from par_review.validation.gate import validate_year

    validate_year(key.year, paths, key.province, out_dir, docs=True)
    return {}


def do_analyse(key, paths, out_dir):
    from par_review.metrics.compute import compute_metrics, write_metrics

    parts = {}
    t = clock()
    metrics = compute_metrics(key.year, paths, key.province)
    parts["compute"] = since(t)[0]
    t = clock()
    write_metrics(metrics, out_dir, paths.of(key.province), key.year)
    parts["write"] = since(t)[0]
    return parts


def do_report(key, paths, out_dir):
    from par_review.fsutil import write_text_atomic
    from par_review.report.context import build_context, render_sections, write_companions
    from par_review.report.exporters import html_to_pdf, standalone_page

    parts = {}
    t = clock()
    ctx = build_context(key.year, paths, key.province, lang=key.lang, out_dir=out_dir)
    parts["context"] = since(t)[0]
    t = clock()
    write_companions(ctx, out_dir)
    parts["companions"] = since(t)[0]
    t = clock()
    fragments = render_sections(ctx)  # the notebook's cells: sections, charts included
    parts["sections"] = since(t)[0]
    t = clock()
    html = standalone_page(fragments, lang=key.lang)  # the exporter's template and CSS
    write_text_atomic(out_dir / f"report.{key.lang}.html", html)
    parts["page"] = since(t)[0]
    t = clock()
    pdf = html_to_pdf(html)
    (out_dir / f"report.{key.lang}.pdf").write_bytes(pdf)
    parts["pdf"] = since(t)[0]
    return parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--profile", type=Path, help="folder for the cProfile summaries")
    ap.add_argument("--profile-key", default="khanh_hoa/2022/vi")
    args = ap.parse_args()
    root = args.root.resolve()
    os.environ["PAR_REVIEW_ROOT"] = str(root)

    imports = {}
    t_all = clock()
    for name in IMPORTS:
        t = clock()
        importlib.import_module(name)
        imports[name] = since(t)[0]
    from par_review.paths import Paths, provinces
    from par_review.pipeline.steps import Context, Key, data_keys_read
    from par_review.validation.gate import get_context

    paths = Paths.from_root(root)
    t = clock()
    get_context(paths)
    imports["(GX file context)"] = since(t)[0]
    from par_review.report.chromium import prewarm

    t = clock()
    prewarm()  # the build starts its browser while the first report notebook runs
    imports["(Chromium start)"] = since(t)[0]
    from par_review.report.exporters import warm_up

    t = clock()
    warm_up()  # what an idle build kernel does before its first report (kernels.PREWARM)
    imports["(report templates, XLSX writer)"] = since(t)[0]
    # what a build kernel does between two notebooks (kernels.reset_namespace): collect
    # once, then freeze what survived, so that later collections skip the imported modules
    from par_review.pipeline.kernels import settle_heap

    settle_heap()
    import_wall, import_cpu = since(t_all)

    ctx = Context(paths)
    keys = [Key(p, y) for p in provinces(root) for y in paths.of(p).raw_years()]
    reads = {k: [d for d in data_keys_read(k, ctx) if d != k] for k in keys}
    langs = {p: list(ctx.cfg(p).report_languages) for p in {k.province for k in keys}}

    order: list[Key] = []

    def visit(k, stack=()):
        if k in order or k in stack:
            return
        for d in reads.get(k, []):
            visit(d, (*stack, k))
        order.append(k)

    for k in keys:
        visit(k)

    tasks = []
    for k in order:
        out_dir = root / "build" / "floor" / k.province / str(k.year)
        out_dir.mkdir(parents=True, exist_ok=True)
        p = paths.of(k.province)
        steps = [
            ("clean", k, lambda k=k, p=p: do_clean(k, p)),
            ("validate", k, lambda k=k, p=p, o=out_dir: do_validate(k, p, o)),
            ("analyse", k, lambda k=k, p=p, o=out_dir: do_analyse(k, p, o)),
        ]
        for lang in langs[k.province]:
            lk = Key(k.province, k.year, lang)
            steps.append(("report", lk, lambda lk=lk, p=p, o=out_dir: do_report(lk, p, o)))
        for name, key, fn in steps:
            t = clock()
            error = None
            try:
                parts = fn()
            except Exception as exc:  # noqa: BLE001 - recorded; the floor goes on
                parts, error = {}, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            settle_heap()  # the kernel's reset between notebooks does the same
            wall, cpu = since(t)
            tasks.append(
                {
                    "step": name,
                    "key": str(key),
                    "province": key.province,
                    "year": key.year,
                    "lang": key.lang,
                    "reads": [str(d) for d in reads[k]] if name == "analyse" else [],
                    "wall": wall,
                    "cpu": cpu,
                    "parts": parts,
                    "error": error,
                }
            )
            print(
                f"  floor {name:<8} {key!s:<20} {wall:6.2f} s"
                + (f"  FAILED {error}" if error else ""),
                file=sys.stderr,
                flush=True,
            )

    result = {
        "imports": imports,
        "imports_wall": import_wall,
        "imports_cpu": import_cpu,
        "tasks": tasks,
        "order": [str(k) for k in order],
    }
    if args.profile:
        result["profile"] = profile(paths, args.profile, args.profile_key)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


# ------------------------------------------------------------------------------ profiles
def profile(paths, folder: Path, key_text: str) -> dict:
    """cProfile of one warm validation and one warm report render (HTML + PDF)."""
    import cProfile

    from par_review.pipeline.steps import Key

    folder.mkdir(parents=True, exist_ok=True)
    province, year, lang = key_text.split("/")
    key = Key(province, int(year), lang)
    p = paths.of(province)
    out_dir = paths.root / "build" / "floor" / province / year
    out = {}

    # validation, warm (the GX context exists), with and without Data Docs
    from par_review.validation.gate import _CONTEXTS, get_context, validate_year

    t = clock()
    validate_year(key.year, p, province, out_dir, docs=False)
    out["validate_no_docs_s"], out["validate_no_docs_cpu_s"] = since(t)
    t = clock()
    validate_year(key.year, p, province, out_dir, docs=True)
    out["validate_docs_s"], out["validate_docs_cpu_s"] = since(t)
    saved = dict(_CONTEXTS)
    _CONTEXTS.clear()
    t = clock()
    get_context(p)
    out["gx_context_s"], out["gx_context_cpu_s"] = since(t)
    _CONTEXTS.clear()
    _CONTEXTS.update(saved)
    out["expectations"] = count_expectations(out_dir / "validation.json")
    pr = cProfile.Profile()
    pr.enable()
    validate_year(key.year, p, province, out_dir, docs=True)
    pr.disable()
    pr.dump_stats(folder / "validate.prof")
    out["validate"] = summarize(pr, folder / "validate.txt", VALIDATE_PROBES)

    # report render: sections (charts), page (template), PDF (Chromium)
    from par_review.pipeline.kernels import settle_heap
    from par_review.report.context import build_context, render_sections
    from par_review.report.exporters import html_to_pdf, standalone_page

    ctx = build_context(key.year, p, province, lang=lang, out_dir=out_dir)
    runs = []  # three warm renders; the figures are those of the median (by CPU seconds)
    for _ in range(3):
        # as in a build kernel, where the reset before each notebook settles the heap: else
        # what the previous renders left makes a full collection in one of them (0.08 s)
        settle_heap()
        t = clock()
        html = standalone_page(render_sections(ctx), lang=lang)
        h = since(t)
        t = clock()
        pdf = html_to_pdf(html)
        runs.append((h, since(t)))
    runs.sort(key=lambda r: r[0][1] + r[1][1])
    (out["html_s"], out["html_cpu_s"]), (out["pdf_s"], out["pdf_cpu_s"]) = runs[1]
    out["render_runs_cpu_s"] = [round(h[1] + q[1], 3) for h, q in runs]
    out["html_bytes"] = len(html.encode())
    out["html_images"] = html.count("data:image/")
    out["pdf_bytes"] = len(pdf)
    pr = cProfile.Profile()
    pr.enable()
    html = standalone_page(render_sections(ctx), lang=lang)
    pr.disable()
    pr.dump_stats(folder / "render_html.prof")
    out["html"] = summarize(pr, folder / "render_html.txt", HTML_PROBES)
    pr = cProfile.Profile()
    pr.enable()
    html_to_pdf(html)
    pr.disable()
    pr.dump_stats(folder / "render_pdf.prof")
    out["pdf"] = summarize(pr, folder / "render_pdf.txt", PDF_PROBES)
    out["pdf_pages"] = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    return out


def count_expectations(vjson: Path) -> int:
    try:
        v = json.loads(vjson.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    return sum(int(t.get("expectations") or 0) for t in (v.get("tables") or {}).values())


# (label, file substring, function name): cumulative seconds of the first match
VALIDATE_PROBES = (
    ("read the processed tables", "par_review/validation/gate.py", "read_tables"),
    ("checkpoint.run (all tables)", "checkpoint/checkpoint.py", "run"),
    ("  freshness checks (is_fresh)", "core/validation_definition.py", "is_fresh"),
    ("  validator: graph_validate", "validator/validator.py", "graph_validate"),
    (
        "    per-expectation dependencies",
        "expectations/expectation.py",
        "get_validation_dependencies",
    ),
    ("    Expectation.configuration", "expectations/expectation.py", "configuration"),
    ("    metrics computed (pandas)", "validator/validation_graph.py", "resolve"),
    (
        "    type-list expectations",
        "expect_column_values_to_be_in_type_list.py",
        "get_validation_dependencies",
    ),
    ("  result store (serialise)", "store/validation_results_store.py", "store_validation_results"),
    ("  pydantic v1 .dict()", "pydantic/v1/main.py", "dict"),
    ("findings (ours)", "par_review/validation/gate.py", "_finding"),
    ("Data Docs (build_data_docs)", "par_review/validation/datadocs.py", "build_data_docs"),
    ("  GX site builder", "render/renderer/site_builder.py", "build"),
    ("  make_offline (ours)", "par_review/validation/datadocs.py", "make_offline"),
)
HTML_PROBES = (
    ("sections (all)", "par_review/report/context.py", "render_sections"),
    ("charts: make_charts", "par_review/report/context.py", "make_charts"),
    ("matplotlib savefig", "matplotlib/figure.py", "savefig"),
    ("matplotlib draw", "matplotlib/figure.py", "draw"),
    ("charts: _freeze (layout pass)", "par_review/report/charts.py", "_freeze"),
    ("charts: png_bytes", "par_review/report/charts.py", "png_bytes"),
    ("number formatting (fmt.num)", "par_review/fmt.py", "num"),
    ("page (nbconvert template)", "par_review/report/exporters.py", "standalone_page"),
    ("nbconvert from_notebook_node", "nbconvert/exporters/html.py", "from_notebook_node"),
    ("jinja render", "jinja2/environment.py", "render"),
)
PDF_PROBES = (  # the browser's own CPU is not seen by cProfile: only our side of the pipe
    ("print (total, our side)", "par_review/report/chromium.py", "print_pdf"),
    ("  waiting for the browser", "par_review/report/chromium.py", "_read"),
    ("  normalise_pdf", "par_review/report/chromium.py", "normalise_pdf"),
)


def summarize(pr, path: Path, probes) -> dict:
    """Total, the probes' cumulative seconds, and the top modules by own time."""
    import io
    import pstats

    st = pstats.Stats(pr)
    total = st.total_tt
    stats = st.stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
    found = {}
    for label, fsub, func in probes:
        best = None
        for (fname, _line, fn), (_cc, nc, _tt, ct, _callers) in stats.items():
            if fsub in fname.replace(os.sep, "/") and (not func or fn == func):
                if not func:  # a whole module/package: sum of own time
                    best = best or [0.0, 0]
                    best[0] += _tt
                    best[1] += nc
                elif best is None or ct > best[0]:
                    best = [ct, nc]
        if best:
            found[label] = {"seconds": round(best[0], 4), "calls": best[1]}
    by_module: dict[str, float] = {}
    for (fname, _line, _fn), (_cc, _nc, tt, _ct, _callers) in stats.items():
        f = fname.replace(os.sep, "/")
        mod = f.split("site-packages/")[-1] if "site-packages/" in f else f.split("/src/")[-1]
        if mod.startswith("~") or mod.startswith("<"):
            mod = "(builtins)"
        by_module[mod] = by_module.get(mod, 0.0) + tt
    top_modules = sorted(by_module.items(), key=lambda kv: -kv[1])[:25]
    buf = io.StringIO()
    pstats.Stats(pr, stream=buf).sort_stats("cumulative").print_stats(60)
    buf.write("\n\n---- own time\n")
    pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(40)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return {
        "total_s": round(total, 4),
        "probes": found,
        "top_modules_own_s": [[m, round(s, 4)] for m, s in top_modules],
    }


if __name__ == "__main__":
    main()
