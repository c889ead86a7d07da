"""`par-review status` (per key: published, stale and why, last attempt) and `par-review
plan` (a dry run: what would run and why, naming the input, code or config that changed,
the way `make -n` and `dvc status` do). Both read the step table and the build state
only: no kernel, no data library.
"""

from __future__ import annotations

import contextlib
import json
import sys

from ..paths import Paths
from . import fingerprint as fpr
from .runner import EXIT_OK, BuildOptions, Runner, Task, lock_owner
from .steps import STEPS, Key


def _published_at(paths: Paths, key: Key) -> tuple[str, list[str]]:
    man = paths.of(key.province).report_year(key.year) / "manifest.json"
    with contextlib.suppress(OSError, ValueError):
        m = json.loads(man.read_text(encoding="utf-8"))
        return m.get("built_at", "yes"), list(m.get("languages") or [])
    return "no", []


def dry_run(paths: Paths, opts: BuildOptions) -> list[tuple[Task, bool, str]]:
    """Every task of a build with these options: (task, would run, why). A task whose
    upstream would run is said to run because of it (its inputs will change)."""
    return _dry_run(_planned(paths, opts))


def _planned(paths: Paths, opts: BuildOptions) -> Runner:
    r = Runner(paths, opts)
    r.dry = True  # plan and status only look: they say nothing and write no log
    r.make_tasks()
    return r


def _dry_run(r: Runner) -> list[tuple[Task, bool, str]]:
    paths = r.paths
    out = []
    will: set[str] = set()
    for tid, task in r.tasks.items():
        if task.key.data in r.results:
            rdir = r.published(task.key.data)
        else:
            rdir = paths.build / "deps" / task.key.province / str(task.key.year)
        needed, why, _, _ = r.decide(task, rdir)
        ups = [d for d in task.deps if d in will]
        if not needed and ups:
            needed, why = True, f"after {ups[0]}"
        if needed:
            will.add(tid)
        out.append((task, needed, why))
    return out


def plan(paths: Paths, opts: BuildOptions, out=None) -> int:
    out = out or sys.stdout
    rows = dry_run(paths, opts)
    todo = [(t, why) for t, needed, why in rows if needed]
    if not todo:
        print("nothing to do: every report is up to date", file=out)
        return EXIT_OK
    print(f"{len(todo)} of {len(rows)} steps would run:", file=out)
    for t, why in todo:
        print(f"  {t.step.name:<9}{str(t.key):<20}{why}", file=out)
    return EXIT_OK


def status(paths: Paths, opts: BuildOptions, out=None) -> int:
    out = out or sys.stdout
    running = lock_owner(paths)
    if running:
        print(f"a build is running: {running}", file=out)
    r = _planned(
        paths,
        BuildOptions(
            provinces=opts.provinces, years=opts.years, langs=opts.langs, rounding=opts.rounding
        ),
    )
    rows = _dry_run(r)
    by_key: dict[Key, list[tuple[Task, bool, str]]] = {}
    for t, needed, why in rows:
        by_key.setdefault(t.key.data, []).append((t, needed, why))
    state = r.state
    print(
        f"{'province/year':<18}{'published':<27}{'languages':<11}{'state':<26}last attempt",
        file=out,
    )
    order = [s.name for s in STEPS]
    for key in r.targets:
        items = sorted(by_key.get(key, []), key=lambda x: order.index(x[0].step.name))
        stale = [(t, why) for t, needed, why in items if needed]
        published, langs = _published_at(paths, key)
        notes = []  # the whys, one line each under the key's line
        if stale:
            t, why = stale[0]
            what = f"stale: {t.step.name}{'/' + t.key.lang if t.key.lang else ''}"
            more = f" (+{len(stale) - 1} more step(s))" if len(stale) > 1 else ""
            notes.append(f"stale because {why}{more}")
        else:
            what = "up to date"
        last = state.key(key).get("last") or {}
        if last.get("status") == "failed":
            lastmsg = f"FAILED at {last.get('step')} ({last.get('at')})"
            notes.append(f"failed: {last.get('reason')}")
        elif last:
            lastmsg = f"{last.get('status')} ({last.get('at')})"
        else:
            lastmsg = "never built"
        print(
            f"{str(key):<18}{published:<27}{','.join(langs) or '-':<11}{what:<26}{lastmsg}",
            file=out,
        )
        for note in notes:
            print(f"{'':<18}  ↳ {note}", file=out)
    fpr._cache.clear()
    fpr.forget()
    return EXIT_OK


def check_outputs(paths: Paths) -> list[str]:
    """Walk the step table over the recorded state: every declared output of every step
    that succeeded exists and matches what it wrote. Returns the problems (tests)."""
    from .state import State
    from .steps import Context, step_id

    state = State(paths)
    ctx = Context(paths)
    problems = []
    for k, rec in state.data["keys"].items():
        p, _, y = k.partition("/")
        key = Key(p, int(y))
        report_dir = paths.of(p).report_year(int(y))
        for step in STEPS:
            langs = ctx.cfg(p).report_languages if step.per_lang else [None]
            for lang in langs:
                sk = Key(p, int(y), lang)
                sr = rec["steps"].get(step_id(step, sk))
                if not sr or (sr.get("scratch") and step.name == "validate"):
                    continue
                outs = step.outputs(sk, Context(paths, formats=_formats(sr)))
                sig = fpr.output_signature(outs, paths.root, report_dir)
                for o, s in sig.items():
                    if s == "missing":
                        problems.append(f"{key} {step.name}: {o} is missing")
                    elif sr.get("outputs", {}).get(o) != s:
                        problems.append(f"{key} {step.name}: {o} differs from what it wrote")
    return problems


def _formats(record: dict) -> tuple[str, ...]:
    f = (record.get("inputs") or {}).get("param:formats")
    return tuple(x for x in f.split(",") if x) if f else ("html", "pdf")
