#!/usr/bin/env python
"""Profile a no-op `par-review build` on a project that is up to date, worker threads
included (cProfile alone sees only the main thread; the runner's decisions happen in its
worker threads).

    .venv/bin/python benchmarks/profile_noop.py --root PROJECT --out noop.prof [--text noop.txt]

Each worker thread runs under its own profiler; the main thread's and the workers' stats
are merged into one file. Prints the wall time and the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--text", type=Path)
    args = ap.parse_args()

    t0 = time.perf_counter()
    main_prof = cProfile.Profile()
    main_prof.enable()
    from par_review import cli
    from par_review.pipeline import runner

    dumps: list[str] = []
    lock = threading.Lock()
    folder = Path(tempfile.mkdtemp(prefix="par-noop-prof-"))
    original = runner.Runner._worker

    def profiled_worker(self, *args):
        pr = cProfile.Profile()
        pr.enable()
        try:
            return original(self, *args)
        finally:
            pr.disable()
            with lock:
                path = folder / f"worker-{len(dumps)}.prof"
                pr.dump_stats(path)
                dumps.append(str(path))

    runner.Runner._worker = profiled_worker
    rc = cli.main(["--root", str(args.root), "build", "--quiet"])
    main_prof.disable()
    wall = time.perf_counter() - t0
    main_path = folder / "main.prof"
    main_prof.dump_stats(main_path)
    st = pstats.Stats(str(main_path), *dumps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    st.dump_stats(args.out)
    buf = io.StringIO()
    st.stream = buf
    st.sort_stats("cumulative").print_stats(45)
    buf.write("\n---- own time\n")
    st.sort_stats("tottime").print_stats(30)
    if args.text:
        args.text.write_text(buf.getvalue(), encoding="utf-8")
    print(f"no-op build: exit {rc}, {wall:.3f} s under the profiler ({len(dumps)} worker threads)")
    sys.exit(0 if rc == 0 else 1)


if __name__ == "__main__":
    main()
