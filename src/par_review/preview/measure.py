"""Measure how long the preview takes to show a change (a measurement, not a test).

It EDITS the project it runs on (locales, charts code, config, a raw file), so it refuses
the checkout that holds the installed package unless that checkout is a throw-away copy:

    mkdir -p /tmp/pvm && cp -r src /tmp/pvm/ && \\
      .venv/bin/python -c "from tests.conftest import make_project_copy as m; m(__import__('pathlib').Path('/tmp/pvm'))"
    PYTHONPATH=/tmp/pvm/src .venv/bin/python -m par_review.preview.measure \\
      --province khanh_hoa --year 2022 --lang vi

(PYTHONPATH makes both this process and the kernel import the copy's package, so its
locales and chart code are what gets edited.) For each change it records the time from
the moment the file is written to the moment the refreshed page (or the error page) has
been fetched over HTTP, polling the version the page's own script polls.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..paths import PACKAGE_DIR, Paths
from ..pipeline.steps import Key
from .server import Preview


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read().decode("utf-8")


def _sub(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    if old not in text:
        raise SystemExit(f"cannot edit {path}: {old!r} not found")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _xlsx_number(path: Path, sheet_cell: tuple[int, int], value) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    ws.cell(*sheet_cell).value = value
    wb.save(path)


def scenarios(paths: Paths, key: Key) -> list[tuple[str, Callable[[], None], str | None]]:
    """(name, edit, text the refreshed page must contain) in the order they are run."""
    loc = PACKAGE_DIR / "locales" / f"{key.lang}.yml"
    charts = PACKAGE_DIR / "report" / "charts.py"
    cfg = paths.config / "province.yml"
    raw = paths.raw_year(key.year)
    sat = raw / "satisfaction.xlsx"
    out = [
        (
            "chart code (report/charts.py)",
            lambda: charts.write_text(
                charts.read_text("utf-8") + "\n# preview measure\n", encoding="utf-8"
            ),
            None,
        ),
        (
            "locale wording (locales/vi.yml)",
            lambda: _sub(loc, 'key_figures: "Số liệu chính"', 'key_figures: "Số liệu chính (1)"'),
            "Số liệu chính (1)",
        ),
        (
            "config wording (province.yml `wording:`)",
            lambda: cfg.write_text(
                cfg.read_text("utf-8")
                + '\nwording: {vi: {"sections.key_figures": "Số liệu chính (2)"}}\n',
                encoding="utf-8",
            ),
            "Số liệu chính (2)",
        ),
    ]
    if sat.is_file():
        out += [
            ("raw value (satisfaction.xlsx)", lambda: _xlsx_number(sat, (7, 4), 88.78), None),
            ("bad raw value (error page)", lambda: _xlsx_number(sat, (7, 4), "abc"), "abc"),
            ("raw value fixed again", lambda: _xlsx_number(sat, (7, 4), 88.77), None),
        ]
    return out


def measure(paths: Paths, key: Key, out=sys.stdout, show_log: bool = False) -> list[dict]:
    log = io.StringIO()
    pv = Preview(paths, key, port=0, out=log)
    th = threading.Thread(target=pv.serve, daemon=True)
    th.start()
    results = []
    try:
        t0 = time.perf_counter()
        while pv.snapshot()["ok"] is None:
            time.sleep(0.05)
        results.append({"change": "first start (cold kernel)", "seconds": time.perf_counter() - t0})
        report = pv.url + pv.session.report_name()
        for name, edit, expect in scenarios(paths, key):
            v = pv.snapshot()["version"]
            t0 = time.perf_counter()
            edit()
            while True:
                s = pv.snapshot()
                if s["version"] != v and not s["running"]:
                    body = _get(report)
                    if expect is None or expect in body:
                        break
                    v = s["version"]  # another change landed first: keep waiting
                time.sleep(0.02)
            secs = time.perf_counter() - t0
            results.append({"change": name, "seconds": secs, "ran": s["ran"], "ok": s["ok"]})
            print(f"{name:<42} {secs:6.2f} s  ran: {', '.join(s['ran']) or '-'}", file=out)
            time.sleep(1.0)  # let the watcher settle between changes
    finally:
        pv.stop()
        th.join(timeout=120)
    if show_log:
        print(re.sub(r"^", "  | ", log.getvalue(), flags=re.MULTILINE), file=out)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m par_review.preview.measure")
    ap.add_argument("--province", default="khanh_hoa")
    ap.add_argument("--year", type=int, default=2022)
    ap.add_argument("--lang", default="vi")
    ap.add_argument("--log", action="store_true", help="print the preview's own log at the end")
    args = ap.parse_args(argv)
    paths = Paths.from_root(None, args.province)
    if (paths.root / ".git").exists():
        print(f"refusing to edit {paths.root}: run it on a copy (see the module's docstring)")
        return 2
    results = measure(paths, Key(args.province, args.year, args.lang), show_log=args.log)
    print(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
