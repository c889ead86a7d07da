"""Watching the project by polling modification times (no new dependency), and saying
which steps a change affects.

`Watcher.poll()` returns the files created, changed or deleted since the last poll under
the roots the preview depends on: data/raw/<province>/ (and the raw data of the provinces
it absorbed), config/, notebooks/, validation/gx/ (the suites), src/par_review/ (code and
locales). Editors that save through a temporary file are handled by `settle()`: a change
is acted on once two polls in a row see the same files.

`affected()` answers "which steps does this change touch" from the step table alone: a
step is touched when a changed path is one of its declared inputs, its notebook or under
one of its modules, and so is every step that reads a declared output of a touched step.
The run itself still decides by fingerprint (a re-saved file with the same bytes re-runs
nothing); `affected()` is what the terminal announces.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from ..paths import PACKAGE_DIR, Paths
from ..pipeline.steps import Context, Key, Step

SKIP_DIRS = {"__pycache__", "uncommitted", ".ipynb_checkpoints", ".git", ".pytest_cache"}
INTERVAL = 0.3
SETTLE = 0.15  # a save is complete when a poll this much later sees nothing new

Stamp = tuple[int, int]  # (mtime_ns, size)


def watch_roots(paths: Paths, provinces: Iterable[str] = ()) -> list[Path]:
    """What the preview of `paths.province` watches."""
    roots = [paths.raw]
    roots += [paths.of(p).raw for p in provinces if p != paths.province]
    roots += [paths.config_dir, paths.notebooks, paths.validation / "gx", PACKAGE_DIR]
    return roots


def _skip_file(name: str) -> bool:
    return name.startswith((".", "~$")) or name.endswith((".pyc", ".pyo", ".swp", "~"))


def scan(roots: Iterable[Path]) -> dict[Path, Stamp]:
    """Every watched file -> (mtime_ns, size)."""
    out: dict[Path, Stamp] = {}
    for root in roots:
        if root.is_file():
            _stamp(root, out)
            continue
        for dirpath, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
            for f in files:
                if not _skip_file(f):
                    _stamp(Path(dirpath) / f, out)
    return out


def _stamp(p: Path, out: dict[Path, Stamp]) -> None:
    try:
        st = p.stat()
    except OSError:
        return
    out[p] = (st.st_mtime_ns, st.st_size)


def diff(old: dict[Path, Stamp], new: dict[Path, Stamp]) -> list[Path]:
    """Files created, changed or deleted between two scans (sorted)."""
    changed = {p for p, s in new.items() if old.get(p) != s}
    changed |= {p for p in old if p not in new}
    return sorted(changed)


class Watcher:
    def __init__(self, roots: list[Path], interval: float = INTERVAL):
        self.roots, self.interval = roots, interval
        self.snapshot = scan(roots)

    def poll(self) -> list[Path]:
        """What changed since the last poll (and remember the new state)."""
        new = scan(self.roots)
        changed = diff(self.snapshot, new)
        self.snapshot = new
        return changed

    def settle(self, changed: list[Path], limit: float = 3.0) -> list[Path]:
        """Wait until a poll sees no further change (an editor's save in several writes),
        at most `limit` seconds; returns everything that changed meanwhile."""
        seen = set(changed)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            time.sleep(min(self.interval, SETTLE))
            more = self.poll()
            if not more:
                break
            seen.update(more)
        return sorted(seen)


# ---------------------------------------------------------------- which steps a change touches
def _covers(dep: Path, p: Path) -> bool:
    return p == dep or dep in p.parents


def step_deps(step: Step, key: Key, ctx: Context, report_dir: Path) -> list[Path]:
    """Every path whose change changes the step's fingerprint: its declared inputs, its
    notebook and its modules."""
    inputs = step.inputs(key, ctx, report_dir) if step.name == "report" else step.inputs(key, ctx)
    deps = [Path(p) for p in inputs.values()]
    deps.append(ctx.paths.notebooks / step.notebook)
    deps += step.module_paths()
    return [_abs(p) for p in deps]


def step_outputs(step: Step, key: Key, ctx: Context, report_dir: Path) -> list[Path]:
    return [_abs(o.path(ctx.paths.root, report_dir)) for o in step.outputs(key, ctx)]


def _abs(p: Path) -> Path:
    return Path(os.path.abspath(p))


def affected(
    changed: Iterable[Path],
    tasks: list[tuple[Step, Key]],
    ctx: Context,
    report_dir,
) -> list[tuple[Step, Key]]:
    """The tasks (in table order) that a change of `changed` may re-run: those that
    declare a changed path, then, transitively, those reading what they write.
    `report_dir(key)` is the folder of the key's report-side outputs."""
    changed = [_abs(Path(p)) for p in changed]
    deps = {i: step_deps(s, k, ctx, report_dir(k)) for i, (s, k) in enumerate(tasks)}
    outs = {i: step_outputs(s, k, ctx, report_dir(k)) for i, (s, k) in enumerate(tasks)}
    hit = {i for i in deps if any(_covers(d, p) for d in deps[i] for p in changed)}
    grew = True
    while grew:
        grew = False
        for i in deps:
            if i in hit:
                continue
            if any(_covers(d, o) or _covers(o, d) for j in hit for o in outs[j] for d in deps[i]):
                hit.add(i)
                grew = True
    return [tasks[i] for i in sorted(hit)]


def code_changed(changed: Iterable[Path]) -> bool:
    """A change to the package (code or locales): a warm kernel must import it afresh."""
    pkg = _abs(PACKAGE_DIR)
    return any(_covers(pkg, _abs(Path(p))) for p in changed)


def show(paths: Paths, p: Path) -> str:
    """A watched path as the terminal names it: project-relative, the package as
    src/par_review/..."""
    p = _abs(Path(p))
    pkg = _abs(PACKAGE_DIR)
    if _covers(pkg, p):
        rest = p.relative_to(pkg).as_posix()
        return "src/par_review" + ("/" + rest if rest != "." else "")
    return paths.rel(p)
