#!/usr/bin/env python
"""Benchmark the pipeline on the demo data, in one run, and print figures and ratios.

    .venv/bin/python benchmarks/bench_build.py [--years 2018 2019 ...] [--skip-naive]

Measures, on a temporary copy of the project (the checkout is not touched):
  1. a full build (`par-review build --force`) against the naive chain on the same data and
     notebooks: `papermill` CLI per notebook, then `jupyter nbconvert` CLI per format,
     one after the other;
  2. a no-op build (nothing changed);
  3. a build after one year's raw file changed (the latest year: one unit's score +0.01);
  4. peak memory (sum of RSS over the process tree, sampled every 50 ms).
Targets (issue 6): full >= 2x faster than naive; no-op < 1 s; one-year change <= that
year's share of a full build. Tests never assert timings; this script only reports them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
NOTEBOOKS = ["10_clean.ipynb", "20_validate.ipynb", "30_analyse.ipynb", "40_report.ipynb"]


def copy_project(dest: Path) -> Path:
    for rel in ("config", "data/raw", "notebooks", "validation"):
        shutil.copytree(
            REPO / rel,
            dest / rel,
            ignore=shutil.ignore_patterns("uncommitted", ".ipynb_checkpoints"),
        )
    return dest


class PeakRSS:
    """Peak of the summed RSS of a process and all its children."""

    def __init__(self, proc: subprocess.Popen):
        self.proc, self.peak, self._stop = proc, 0, threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            root = psutil.Process(self.proc.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
            except psutil.Error:
                break
            self.peak = max(self.peak, total)
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self.t.join()
        return self.peak


def timed(cmd: list[str], env: dict, cwd: Path, check: bool = True) -> tuple[float, int]:
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    mon = PeakRSS(proc)
    _, err = proc.communicate()
    peak = mon.stop()
    dt = time.perf_counter() - t
    if check and proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return dt, peak


def naive_chain(root: Path, years: list[int], env: dict) -> tuple[float, int]:
    total, peak = 0.0, 0
    for y in years:
        out = root / "build" / "naive" / str(y)
        out.mkdir(parents=True, exist_ok=True)
        for nb in NOTEBOOKS:
            params = ["-p", "year", str(y), "-p", "root", str(root)]
            if nb != "10_clean.ipynb":
                params += ["-p", "out_dir", str(out)]
            dt, pk = timed(
                [
                    str(VENV_BIN / "papermill"),
                    "-k",
                    "par-review",
                    "--no-progress-bar",
                    str(root / "notebooks" / nb),
                    str(out / nb),
                    *params,
                ],
                env,
                root / "notebooks",
            )
            total, peak = total + dt, max(peak, pk)
        for fmt in ("parhtml", "parpdf"):
            dt, pk = timed(
                [
                    str(VENV_BIN / "jupyter"),
                    "nbconvert",
                    "--to",
                    fmt,
                    str(out / "40_report.ipynb"),
                    "--output-dir",
                    str(out),
                ],
                env,
                root,
            )
            total, peak = total + dt, max(peak, pk)
    return total, peak


def change_one_year(root: Path, year: int) -> None:
    """A real change: one unit's score and first area +0.01 (same tier, sums still agree)."""
    import openpyxl

    path = root / "data" / "raw" / str(year) / "provincial.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    for row in ws.iter_rows(min_row=1):
        vals = [c.value for c in row]
        if isinstance(vals[0], int) and isinstance(vals[-2], float) and 86 < vals[-2] < 99:
            row[2].value = round(row[2].value + 0.01, 2) if row[2].value < 9.9 else row[2].value
            if row[2].value != vals[2]:
                row[-3].value = round(vals[-3] + 0.01, 2)
                row[-2].value = round(vals[-2] + 0.01, 2)
                break
    wb.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--years", type=int, nargs="*", help="years to build (default: all demo years)")
    ap.add_argument("--skip-naive", action="store_true", help="do not run the naive chain")
    args = ap.parse_args()
    env = dict(os.environ)
    env.pop("PAR_REVIEW_ROOT", None)
    cli = [str(VENV_BIN / "par-review")]
    with tempfile.TemporaryDirectory(prefix="par-bench-") as tmp:
        tmp = Path(tmp)
        fast = copy_project(tmp / "fast")
        years = args.years or sorted(
            int(p.name) for p in (fast / "data" / "raw").iterdir() if p.name.isdigit()
        )
        ysel = [a for y in years for a in ("--year", str(y))] if args.years else []
        print(
            f"benchmark on {len(years)} years ({years[0]}–{years[-1]}), {os.cpu_count()} cores",
            flush=True,
        )

        full, full_peak = timed(
            [*cli, "--root", str(fast), "build", "--force", "--quiet", *ysel], env, fast
        )
        print(
            f"full build (par-review build --force): {full:7.2f} s   peak RSS {full_peak / 2**20:6.0f} MiB",
            flush=True,
        )
        noop, _ = timed([*cli, "--root", str(fast), "build", "--quiet", *ysel], env, fast)
        print(f"no-op build:                           {noop:7.2f} s", flush=True)
        change_one_year(fast, years[-1])
        one, _ = timed([*cli, "--root", str(fast), "build", "--quiet", *ysel], env, fast)
        share = full / len(years)
        print(
            f"one year's raw file changed ({years[-1]}):     {one:7.2f} s   (a year's share of the full build: {share:.2f} s)",
            flush=True,
        )
        if not args.skip_naive:
            naive_root = copy_project(tmp / "naive")
            naive, naive_peak = naive_chain(naive_root, years, env)
            print(
                f"naive chain (papermill + nbconvert CLI): {naive:7.2f} s   peak RSS {naive_peak / 2**20:6.0f} MiB",
                flush=True,
            )
        print("\nratios")
        if not args.skip_naive:
            print(f"  naive / full build         = {naive / full:5.2f}x   (target >= 2x)")
        print(f"  no-op build                = {noop:5.2f} s   (target < 1 s)")
        print(f"  one-year change / share    = {one / share:5.2f}    (target <= 1)")


if __name__ == "__main__":
    main()
