"""The runner: turns the step table into tasks for the selected keys and runs them on warm
kernels, both cores busy, publishing each (province, year) only when all its steps passed.

    select keys -> tasks (clean, validate per data key; analyse per target year;
    report per target year and language) -> run ready tasks on `jobs` warm kernels
    -> publish each target year by an atomic swap -> reports/index.html

- A task is skipped when its fingerprint (steps.py + fingerprint.py) is unchanged and its
  declared outputs exist as recorded. A no-op build starts no kernel.
- The gate: a year's figures are computed only from tables that passed validation as
  they are now (the validated fingerprint of every (province, year) it reads), whichever
  years the run selected. An earlier year that is stale is cleaned and validated first.
- `--year Y` builds Y and, when stale, the data steps of the earlier years Y reads; it
  says so and publishes nothing else.
- Publish only on success, in build/staging/<p>/<y>/ seeded with the last published copy;
  a failed year keeps its previous report; nothing stale of another language or format
  stays published and the manifest lists exactly the files that are there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import queue
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..fsutil import recover, swap_dir, write_text_atomic
from ..paths import PROVINCE_NAME, Paths, provinces
from ..provenance import code_commit
from . import fingerprint as fpr
from .kernels import (
    EXIT_INPUT,
    EXIT_STEP,
    EXIT_VALIDATION,
    StepFailed,
    Worker,
    _first_line,
    fast_imports,
)
from .state import State, now
from .steps import BY_NAME, STEPS, Context, Key, Output, Step, data_keys_read, step_id

EXIT_OK, EXIT_LOCKED = 0, 3
LANGS = ("vi", "en")
HEARTBEAT = float(os.environ.get("PAR_REVIEW_HEARTBEAT", "60"))  # seconds between "still running"


class UsageError(Exception):
    """Bad usage (exit 2): an unknown province, year or language, a bad option."""


@dataclass
class BuildOptions:
    provinces: list[str] | None = None
    years: list[int] | None = None
    langs: list[str] | None = None
    force: bool = False
    jobs: int = 0
    rounding: str = ""
    formats: tuple[str, ...] = ("html", "pdf")
    wait: float = 0.0
    quiet: bool = False
    timeout: int = 600
    dry_run: bool = False


@dataclass
class Task:
    step: Step
    key: Key
    deps: list[str]
    target: bool  # part of a year that is published in this run
    status: str = "pending"  # pending | running | done | skipped | failed
    reason: str = ""  # why it ran (plan) or why it failed
    error: StepFailed | None = None
    seconds: float = 0.0
    started: float = 0.0
    printing: bool = False  # its kernel is done; the PDF is printed apart (Runner._printer)

    @property
    def id(self) -> str:
        return f"{self.step.name} {self.key}"


@dataclass
class _Slot:
    """One worker thread as the scheduler sees it (read and written with Runner.cv held):
    its kernel, whether it runs a task, and the stack it is importing ahead of need."""

    worker: Worker | None = None
    busy: bool = False
    warming: str | None = None

    def has(self, tag: str, warming: bool = False) -> bool:
        """Its kernel has imported `tag` (or, with `warming`, is importing it)."""
        return (warming and self.warming == tag) or (
            self.worker is not None and tag in self.worker.warm
        )

    def takes(self, tag: str) -> bool:
        """A task that needs `tag` is better left to it: it is importing `tag`, or its
        kernel has it and is free."""
        return self.warming == tag or (self.has(tag) and not self.busy)


@dataclass
class YearResult:
    key: Key
    status: str = "up-to-date"  # up-to-date | published | failed
    ran: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: StepFailed | None = None
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------- selection
def select(paths: Paths, opts: BuildOptions) -> tuple[list[Key], dict[str, list[str]]]:
    """The target (province, year) keys and each province's languages, or UsageError."""
    known = provinces(paths.root)
    chosen = opts.provinces or known
    for p in chosen:
        if not PROVINCE_NAME.match(p):
            raise UsageError(
                f"--province {p!r} is not a name (letters, digits and _ only): "
                f"provinces here: {', '.join(known) or 'none'}"
            )
        if p not in known:
            raise UsageError(
                f"no province {p!r}: config/{p}/province.yml does not exist "
                f"(provinces here: {', '.join(known) or 'none'})"
            )
    if not chosen:
        raise UsageError("no province configured: add config/<province>/province.yml")
    from ..config import ConfigError, load_config

    targets: list[Key] = []
    langs: dict[str, list[str]] = {}
    for p in chosen:
        try:
            cfg = load_config(p, paths)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        have = paths.of(p).raw_years()
        if opts.years:
            missing = [y for y in opts.years if y not in have]
            if missing and (opts.provinces or len(chosen) == 1):
                raise UsageError(
                    f"no raw data for {p} {', '.join(map(str, missing))}: "
                    f"the data/raw/{p}/<year>/ folders are {', '.join(map(str, have)) or 'none'}"
                )
            years = [y for y in opts.years if y in have]
        else:
            years = have
        configured = cfg.report_languages
        want = opts.langs or configured
        bad = [lang for lang in want if lang not in LANGS]
        if bad:
            raise UsageError(f"unknown language {bad}: expected one of {', '.join(LANGS)}")
        langs[p] = [lang for lang in want if lang in configured] or want
        targets += [Key(p, y) for y in years]
    if opts.years and not targets:
        raise UsageError(f"no raw data for {', '.join(map(str, opts.years))} in any province")
    return sorted(targets), langs


# ------------------------------------------------------------------------- the runner
class Runner:
    def __init__(self, paths: Paths, opts: BuildOptions, out=None):
        self.paths, self.opts = paths, opts
        self.out = out or sys.stdout
        self.ctx = Context(paths, rounding=opts.rounding or "", formats=tuple(opts.formats))
        self.state = State(paths)
        self.jobs = opts.jobs or os.cpu_count() or 1
        self.t0 = time.perf_counter()
        self._print_lock = threading.Lock()
        self.cv = threading.Condition()
        self.tasks: dict[str, Task] = {}
        self.targets: list[Key] = []
        self.langs: dict[str, list[str]] = {}
        self.results: dict[Key, YearResult] = {}
        self._staging_lock = threading.Lock()
        self._console_gone = False  # the terminal or pipe we printed to was closed
        self.dry = False  # a plan or status: it looks only (no console line, no log)
        self._interrupted = False  # Ctrl-C ended the run
        # held while a year is swapped in and while a stop is noted: once the build is
        # stopped no year is published (a worker thread between its last step and its
        # swap published after "interrupted", and status then called that year stale)
        self._publishing = threading.RLock()  # re-entered if a stop comes while main publishes
        self._browser_started = False
        self._prints: queue.Queue | None = None  # PDFs to print (Runner._printer)
        self._staged: set[Key] = set()
        self._validate_fp: dict[Key, tuple[str, dict]] = {}
        self.kernels_started = 0
        self._died: list[str] = []  # internal errors that stopped a worker thread
        self._slots: list[_Slot] = []  # one per worker thread (run)
        self._threads: list[threading.Thread] = []  # theirs (run, _start_others)
        self._threads_lock = threading.Lock()
        self._trash: list[Path] = []  # published folders replaced, to delete (_ended)
        self.log_path = paths.build / "logs" / "build.log"

    # -- output ---------------------------------------------------------------------
    def say(self, msg: str) -> None:
        if self.dry:
            return
        stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
        line = f"{stamp} [{time.perf_counter() - self.t0:6.1f}s] {msg}"
        with self._print_lock:
            if not self.opts.quiet and not self._console_gone:
                try:
                    print(line, file=self.out, flush=True)
                except (BrokenPipeError, ValueError):  # `build | head` ended: build on, log only
                    self._console_gone = True
            with contextlib.suppress(OSError):
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                with self.log_path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")

    # -- folders ------------------------------------------------------------------------
    def staging(self, key: Key) -> Path:
        return self.paths.build / "staging" / key.province / str(key.year)

    def published(self, key: Key) -> Path:
        return self.paths.of(key.province).report_year(key.year)

    def report_dir(self, key: Key) -> Path:
        """Where the report-side outputs of a key go in this run: its staging folder when
        the year is published in this run, else a scratch folder (an earlier year that is
        only validated because a later one reads it)."""
        k = key.data
        if k in self.results:
            with self._staging_lock:
                if k not in self._staged:
                    st = self.staging(k)
                    if st.exists():
                        shutil.rmtree(st)
                    st.parent.mkdir(parents=True, exist_ok=True)
                    pub = self.published(k)
                    if pub.is_dir():
                        shutil.copytree(pub, st, copy_function=_link_or_copy, symlinks=True)
                    else:
                        st.mkdir()
                    self._staged.add(k)
            return self.staging(k)
        return self.paths.build / "deps" / k.province / str(k.year)

    def decision_dir(self, key: Key) -> Path:
        """Where a task's report-side inputs and outputs are looked at to decide whether it
        runs: the staging folder once one exists, else the published folder it would be
        copied from (the same files, hard-linked: the same hashes and signatures). A build
        that runs nothing for a key then stages nothing (a no-op build copied and deleted
        every published folder)."""
        k = key.data
        if k in self.results and k not in self._staged:
            pub = self.published(k)
            if pub.is_dir():
                return pub
        return self.report_dir(key)

    # -- planning -------------------------------------------------------------------------
    def make_tasks(self) -> None:
        self.targets, self.langs = select(self.paths, self.opts)
        self.results = {k: YearResult(k) for k in self.targets}
        data_keys: set[Key] = set()
        reads: dict[Key, list[Key]] = {}
        for t in self.targets:
            reads[t] = data_keys_read(t, self.ctx)
            data_keys.update(reads[t])
            data_keys.add(t)
        for k in sorted(data_keys):
            target = k in self.results
            self._add(BY_NAME["clean"], k, [], target)
            self._add(BY_NAME["validate"], k, [f"clean {k}"], target)
        for t in self.targets:
            deps = [f"validate {k}" for k in reads[t]] + [f"validate {t}"]
            self._add(BY_NAME["analyse"], t, sorted(set(deps)), True)
            for lang in self.langs[t.province]:
                lk = Key(t.province, t.year, lang)
                self._add(BY_NAME["report"], lk, [f"analyse {t}", f"validate {t}"], True)
        self.reads = reads
        extra = sorted(k for k in data_keys if k not in self.results)
        if extra and self.opts.years:
            self.say(
                "also checking the data of "
                + ", ".join(map(str, extra))
                + " (read by the years asked for; cleaned and validated only if stale, "
                "never published in this run)"
            )

    def _add(self, step: Step, key: Key, deps: list[str], target: bool) -> None:
        t = Task(step, key, deps, target)
        self.tasks[t.id] = t

    # -- decisions --------------------------------------------------------------------------
    def decide(self, task: Task, report_dir: Path) -> tuple[bool, str, dict, dict]:
        """(needed, why, input manifest, output signature) for a task, from hashes only."""
        step, key = task.step, task.key
        manifest = fpr.input_manifest(step, key, self.ctx, report_dir)
        outs = step.outputs(key, self.ctx)
        sig = fpr.output_signature(outs, self.paths.root, report_dir)
        rec = self.state.step(key, step_id(step, key))
        if step.name == "validate":
            self._validate_fp[key.data] = (fpr.fingerprint(manifest), manifest)
        if self.opts.force:
            return True, "--force", manifest, sig
        if not rec:
            return True, "never built", manifest, sig
        if rec.get("fp") != fpr.fingerprint(manifest):
            return True, "; ".join(fpr.explain(rec.get("inputs"), manifest)), manifest, sig
        if step.name == "validate":
            # the verdict the gate reads must be of these very inputs: a run that failed on
            # other tables (since restored) left a verdict the step record does not show
            v = self.state.key(key).get("validated") or {}
            if v.get("fp") != rec.get("fp") or not v.get("ok"):
                why = v.get("reason") or "no verdict recorded"
                return True, f"its last verdict was a failure ({why})", manifest, sig
            if not task.target:
                return False, "", manifest, sig  # its report outputs are not needed here
        missing = [o for o, s in sig.items() if s == "missing"]
        if missing:
            return True, f"output missing: {missing[0]}", manifest, sig
        changed = [o for o in sig if rec.get("outputs", {}).get(o) != sig[o]]
        if changed:
            return True, f"output changed since it was written: {changed[0]}", manifest, sig
        return False, "", manifest, sig

    def gate(self, task: Task) -> None:
        """Analysis only from tables that passed validation as they are now."""
        vstep = BY_NAME["validate"]
        for k in self.reads.get(task.key.data, []):
            v = self.state.key(k).get("validated") or {}
            if not v.get("ok"):
                why = v.get("reason") or "it has not passed validation"
                raise StepFailed(
                    "analyse",
                    "validation",
                    f"the {k} tables failed validation ({why}); figures of {task.key} "
                    f"compare with them, so {task.key} is not published (fix {k} first)",
                )
            known = self._validate_fp.get(k)  # computed when its validate task was decided
            current = (
                known[1] if known else fpr.input_manifest(vstep, k, self.ctx, self.decision_dir(k))
            )
            if v.get("fp") != (known[0] if known else fpr.fingerprint(current)):
                rec = self.state.step(k, "validate") or {}
                what = "; ".join(fpr.explain(rec.get("inputs"), current))
                raise StepFailed(
                    "analyse",
                    "validation",
                    f"the validation of {k} is out of date ({what}): its tables, suites, "
                    f"config or code changed during this run; build again",
                )

    # -- running -----------------------------------------------------------------------------
    def run_task(self, w: Worker, task: Task) -> Worker:
        step, key = task.step, task.key
        failed = [self.tasks[d] for d in task.deps if self.tasks[d].status == "failed"]
        if failed:
            dep = failed[0]
            err = dep.error or StepFailed(dep.step.name, "error", "failed")
            if dep.key.data == key.data:
                raise StepFailed(err.step, err.kind, err.reason, quiet=True)
            raise StepFailed(
                step.name,
                err.kind,
                f"{key.data} reads the {dep.key} tables, whose {err.step} step failed "
                f"({err.reason}); fix {dep.key} first",
            )
        if step.name == "analyse":
            self.gate(task)
        needed, why, manifest, _ = self.decide(task, self.decision_dir(key))
        if not needed:
            task.status = "skipped"
            return w
        self._start_others()
        rdir = self.report_dir(key)
        task.reason = why
        if self.wants_browser(step):
            self.start_browser()  # from the first validation that runs: its start overlaps it
        task.started = time.perf_counter()
        self.say(f"{key} {step.name:<8} running ({why})")
        self._owner(f"{step.name} {key}")
        executed = (
            self.paths.build
            / "logs"
            / key.province
            / str(key.year)
            / (step.notebook.replace(".ipynb", f".{key.lang}.ipynb") if key.lang else step.notebook)
        )
        params = step.params(key, self.ctx, None if step.name == "clean" else rdir)
        try:
            if not w.km:
                self.kernels_started += 1
            w.run_notebook(
                step.name, self.paths.notebooks / step.notebook, executed, params, self.opts.timeout
            )
            if step.name == "report" and self.opts.formats:
                w.render(executed, rdir, ("html",), key.lang or "vi")
                if "pdf" in self.opts.formats:
                    # the kernel is free for the next task while the build's browser
                    # prints this one (the task ends when its PDF is written)
                    task.printing = True
                    self._print_later(task, w, rdir, manifest)
                    return w
        except StepFailed as exc:
            fpr.forget()
            if step.name == "validate":
                exc.reason = self._keep_failed_checks(key, rdir, exc.reason)
                self.state.key(key)["validated"] = {
                    "fp": fpr.fingerprint(manifest),
                    "ok": False,
                    "at": now(),
                    "reason": exc.reason,
                }
            raise
        self._record_done(task, w, rdir, manifest)
        return w

    def failed_checks(self, key: Key) -> Path:
        """Where the validation pages of a year that failed its checks are kept until it
        passes: its staging (or scratch) folder is deleted, and the message names this one."""
        return self.paths.build / "failed" / key.province / str(key.year)

    def _keep_failed_checks(self, key: Key, rdir: Path, reason: str) -> str:
        """Copy a failed validation's pages (validation.json, the Data Docs) out of the
        folder about to be deleted; the reason, pointing at them, is returned."""
        keep = self.failed_checks(key)
        shutil.rmtree(keep, ignore_errors=True)
        kept = False
        for name in ("validation.json", "validation"):
            src = rdir / name
            if src.is_dir():
                shutil.copytree(src, keep / name)
                kept = True
            elif src.is_file():
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, keep / name)
                kept = True
        if not kept:
            return reason
        return reason.replace(self.paths.rel(rdir), self.paths.rel(keep))

    def _record_done(self, task: Task, w: Worker, rdir: Path, manifest: dict) -> None:
        """What a task that ran leaves: its record in the state (fingerprint, inputs,
        outputs), its time, and its name in the year's list of steps that ran."""
        step, key = task.step, task.key
        fpr.forget()  # its outputs were written: what later decisions read changed
        outs = step.outputs(key, self.ctx)
        self.state.set_step(
            key,
            step_id(step, key),
            {
                "fp": fpr.fingerprint(manifest),
                "inputs": manifest,
                "outputs": fpr.output_signature(outs, self.paths.root, rdir),
                "at": now(),
                "scratch": key.data not in self.results,  # report-side outputs not published
            },
        )
        if step.name == "validate":
            self.state.key(key)["validated"] = {
                "fp": fpr.fingerprint(manifest),
                "ok": True,
                "at": now(),
            }
            shutil.rmtree(self.failed_checks(key), ignore_errors=True)
        if step.warm:
            w.warm.add(step.warm)  # later tasks of this kind prefer this kernel
        task.seconds = time.perf_counter() - task.started
        self.say(f"{key} {step.name:<8} done in {task.seconds:.1f}s")
        if key.data in self.results:
            self.results[key.data].ran.append(step_id(step, key))

    # -- the PDFs ----------------------------------------------------------------------------
    # The kernel writes the page; the PDF is printed in the build's own process, by its one
    # warm browser, from that very page (the same bytes as printing in the kernel; one
    # browser instead of one per kernel keeps the build's memory under 1.5 GiB). The print
    # runs on a thread of its own: the kernel that wrote the page takes the next task
    # meanwhile, so both cores keep working while the browser prints.
    def _print_later(self, task: Task, w: Worker, rdir: Path, manifest: dict) -> None:
        with self.cv:
            if self._prints is None:
                self._prints = queue.Queue()
                threading.Thread(target=self._printer, args=(self._prints,), daemon=True).start()
        self._prints.put((task, w, rdir, manifest))

    def _printer(self, jobs: queue.Queue) -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            task, w, rdir, manifest = job
            try:
                self.print_pdf(rdir, task.key.lang or "vi")
                self._record_done(task, w, rdir, manifest)  # forgets the stats first
                self._ended(task)
            except StepFailed as exc:
                fpr.forget()
                self._ended(task, exc)
            except Exception as exc:  # noqa: BLE001 - recorded, the build goes on
                self._ended(task, exc)

    def print_pdf(self, rdir: Path, lang: str) -> None:
        """report.<lang>.pdf from report.<lang>.html in `rdir` (which stays only when the
        build makes HTML too)."""
        from ..report.chromium import print_file

        page = rdir / f"report.{lang}.html"
        try:
            print_file(page)
        except Exception as exc:  # noqa: BLE001 - a browser that is missing or died
            raise StepFailed(
                "render", "error", f"the PDF: {type(exc).__name__}: {_first_line(str(exc))}"
            ) from None
        if "html" not in self.opts.formats:
            page.unlink()

    def wants_browser(self, step) -> bool:
        """Whether `step`, about to run, starts the printing browser (`start_browser`): a
        report, or a validation or analysis while reports are still to come."""
        return step.name == "report" or (
            step.name in ("validate", "analyse")
            and any(t.step.name == "report" and t.status == "pending" for t in self.tasks.values())
        )

    def start_browser(self) -> None:
        """Start the printing browser in the background when the first validation or
        analysis runs and reports may follow, or with the first report (about 1 s of CPU).
        Not earlier: while a raw file is cleaned, both cores are busy with the kernels'
        start and imports, which are on the critical path. Its validation then runs alone
        (the analyses wait for it) on one core: the browser starts on the other. Started
        with the analyses after it, as before, it took 0.7-0.8 s of CPU from them and
        from the first report (one raw file changed: both cores were busy from then on,
        one was idle during the validation). A no-op build starts none."""
        if "pdf" not in self.opts.formats or self._browser_started:
            return
        self._browser_started = True
        from ..report import chromium

        def start() -> None:
            with contextlib.suppress(Exception):  # a missing browser is said at the print
                chromium.prewarm()

        threading.Thread(target=start, daemon=True).start()

    def _ready(self, slot: _Slot) -> Task | None:
        """The next task for the thread of `slot`, or None.

        A task whose stack (`Step.warm`) this thread's kernel lacks is left for another
        thread whose kernel has it and is free, or is importing it (`_prewarm`): waiting
        for that import costs less than paying it again here, on the critical path."""
        others = [o for o in self._slots if o is not slot]
        ready = [
            t
            for t in self.tasks.values()
            if t.status == "pending"
            and all(self.tasks[d].status in ("done", "skipped", "failed") for d in t.deps)
            and not (
                t.step.warm
                and not slot.has(t.step.warm)
                and any(o.takes(t.step.warm) for o in others)
            )
        ]
        if not ready:
            return None
        order = {s.name: i for i, s in enumerate(STEPS)}
        ready.sort(
            key=lambda t: (
                0 if t.step.warm and slot.has(t.step.warm) else 1,
                t.key.year,
                order[t.step.name],
                t.key.province,
                t.key.lang or "",
            )
        )
        return ready[0]

    def _worker(self, slot: _Slot) -> None:
        # this thread's kernel, owned here from the start (no kernel runs until a notebook
        # needs one): a task that fails cannot leave one behind that the thread never saw
        # (the first task of a thread, failing on a bad raw file, used to start its kernel
        # in run_task; it outlived the build and said "Parent appears to have exited" on
        # stderr, which cron mails)
        w: Worker = Worker(self.paths.notebooks, self.paths.root)
        task: Task | None = None
        try:
            while True:
                with self.cv:
                    slot.worker, slot.busy = w, False
                    while True:
                        task = self._ready(slot)
                        if task is not None:
                            task.status, slot.busy = "running", True
                            break
                        if all(t.status not in ("pending", "running") for t in self.tasks.values()):
                            return
                        tag = self._prewarm_tag(slot)
                        if tag:
                            slot.warming = tag
                            break
                        self.cv.wait(timeout=1.0)
                if task is None:
                    w = self._prewarm(w, tag)
                    with self.cv:
                        slot.worker, slot.warming = w, None
                        self.cv.notify_all()
                    continue
                try:
                    w = self.run_task(w, task)
                except Exception as exc:  # noqa: BLE001 - recorded, the build goes on
                    self._ended(task, exc)
                    continue
                if not task.printing:  # else the printer ends it
                    self._ended(task)
        except BaseException as exc:  # a fault of the build itself, not of a step
            self._thread_died(slot, task, exc)
        finally:
            w.shutdown()

    def _start_others(self) -> None:
        """Start the worker threads not started yet (run starts the first only)."""
        with self._threads_lock:
            for th in self._threads[1:]:
                if th.ident is None:
                    th.start()

    def _thread_died(self, slot: _Slot, task: Task | None, exc: BaseException) -> None:
        """A worker thread met an error outside its step (scheduling, publishing): the task
        it was running fails with that error, so neither the other thread waits for it nor
        its year is published; the other thread goes on with the rest. Whatever no thread
        is left to run fails in `run` (`_not_run`). The traceback goes to the log."""
        import traceback

        self._died.append(f"{type(exc).__name__}: {exc}")
        self.say(f"internal error of the build: {type(exc).__name__}: {exc}")
        with (
            self._print_lock,
            contextlib.suppress(OSError),
            self.log_path.open("a", encoding="utf-8") as log,
        ):
            log.write("".join(traceback.format_exception(exc)))
        self._start_others()  # they go on with the rest (when this was the only one yet)
        with self.cv:
            slot.busy, slot.warming = False, None
            self.cv.notify_all()
        if task is None or task.printing:
            return
        if task.status == "running":
            with contextlib.suppress(Exception):
                self._ended(task, exc)
            return
        # the step ended and the error came after it (publishing its year): the year is
        # not reported as built unless its publish went through
        with self.cv:
            res = self.results.get(task.key.data)
            if res is not None and res.status == "up-to-date":
                res.status = "failed"
                res.error = StepFailed(
                    task.step.name, "error", f"internal error after the step: {self._died[-1]}"
                )

    def _not_run(self) -> None:
        """After the threads ended: a task still pending or running was left by threads
        that died (`_thread_died`); it fails, and so does its year (exit 4), rather than
        the build saying "up to date" about work it never did."""
        left = [t for t in self.tasks.values() if t.status in ("pending", "running")]
        if not left:
            return
        why = "; ".join(dict.fromkeys(self._died)) or "no build thread was left to run it"
        for t in left:
            t.status = "failed"
            t.error = StepFailed(t.step.name, "error", f"not run: {why}", quiet=True)
        self.say(f"{len(left)} step(s) not run: {why}")
        with self.cv:
            for key in {t.key.data for t in left}:
                self._maybe_publish(key)

    def _prewarm_tag(self, slot: _Slot) -> str | None:
        """What an idle thread should import ahead of need, or None.

        While one kernel works through a chain of data steps (a raw file changed: clean,
        validate, then the analyses), nothing is ready for the other thread. Without this,
        each stack would be imported when its first step is ready, on the critical path:
        Great Expectations (about 1.8 s) after the clean, matplotlib and nbconvert after the
        analyses. So an idle thread imports, in the order of the steps, the first stack that
        pending tasks need and that no other kernel has or is importing (or that more tasks
        need than there are such kernels): the thread without a kernel takes Great
        Expectations while the other cleans; the one that cleaned takes the report's stack
        while the other validates. Only once some step has actually run (a kernel started):
        a no-op build starts no kernel."""
        if not self.kernels_started:
            return None
        pending: dict[str, int] = {}
        for t in self.tasks.values():
            if t.status == "pending" and t.step.warm:
                pending[t.step.warm] = pending.get(t.step.warm, 0) + 1
        for tag in dict.fromkeys(s.warm for s in STEPS if s.warm):
            if tag not in pending or slot.has(tag):
                continue
            holders = sum(1 for o in self._slots if o is not slot and o.has(tag, warming=True))
            if pending[tag] > holders:
                return tag
        return None

    def _prewarm(self, w: Worker, tag: str) -> Worker:
        if w.km is None:
            with self.cv:
                self.kernels_started += 1
        try:
            w.prewarm(tag)
        except Exception:  # noqa: BLE001 - the next task on it starts a kernel and says why
            w.shutdown()
            return Worker(self.paths.notebooks, self.paths.root)
        return w

    def _ended(self, task: Task, exc: BaseException | None = None) -> None:
        """A task ended (done, skipped, or failed with `exc`): tell the waiting workers, and
        publish its year if that was the year's last task."""
        if isinstance(exc, StepFailed):
            task.status, task.error = "failed", exc
            if not exc.quiet:
                self.say(
                    f"{task.key} FAILED at {task.step.name}: {exc.reason}"
                    + (
                        f" (executed notebook: {self.paths.rel(exc.notebook)})"
                        if exc.notebook
                        else ""
                    )
                )
        elif exc is not None:
            task.status = "failed"
            task.error = StepFailed(task.step.name, "error", f"{type(exc).__name__}: {exc}")
            self.say(f"{task.key} FAILED at {task.step.name}: {task.error.reason}")
        elif task.status == "running":
            task.status = "done"
        with self.cv:
            self.cv.notify_all()
            self._maybe_publish(task.key.data)
            trash, self._trash[:] = list(self._trash), []
        # the folders a publish replaced are deleted here, not under the lock: with Data
        # Docs, a year is about 75 files (0.08 s), while every thread waited for the lock
        for old in trash:
            shutil.rmtree(old, ignore_errors=True)

    def _heartbeat(self, stop: threading.Event) -> None:
        told: dict[str, int] = {}
        while not stop.wait(5.0):
            for t in list(self.tasks.values()):
                if t.status == "running" and t.started:
                    ran = time.perf_counter() - t.started
                    n = int(ran // HEARTBEAT)
                    if n >= 1 and told.get(t.id) != n:
                        told[t.id] = n
                        self.say(f"{t.key} {t.step.name} still running after {int(ran)} s")

    # -- publishing --------------------------------------------------------------------------
    def _maybe_publish(self, key: Key) -> None:
        """Called with self.cv held, after any task of `key` ended."""
        res = self.results.get(key)
        if res is None or res.status != "up-to-date":
            return
        mine = [t for t in self.tasks.values() if t.key.data == key and t.target]
        if any(t.status in ("pending", "running") for t in mine):
            return
        failed = [t for t in mine if t.status == "failed"]
        if failed:
            first = min(failed, key=lambda t: [s.name for s in STEPS].index(t.step.name))
            res.status, res.error = "failed", first.error
            shutil.rmtree(self.staging(key), ignore_errors=True)
            return
        try:
            self.publish(key, res)
        except OSError as exc:
            res.status = "failed"
            res.error = StepFailed(
                "publish",
                "error",
                f"cannot write {self.paths.rel(self.published(key))}: {exc.strerror or exc}",
            )
            self.say(f"{key} FAILED at publish: {res.error.reason}")

    def declared_report_outputs(self, key: Key) -> tuple[list[Output], list[str]]:
        """What may stay in the published folder of `key`: the data steps' report-side
        outputs and the reports of every configured language that is current. Returns the
        outputs and notes on the languages removed as stale."""
        outs = [
            o
            for s in STEPS
            if not s.per_lang
            for o in s.outputs(key, self.ctx)
            if o.base == "report"
        ]
        notes = []
        cfg = self.ctx.cfg(key.province)
        rstep = BY_NAME["report"]
        for lang in cfg.report_languages:
            lk = Key(key.province, key.year, lang)
            t = self.tasks.get(f"report {lk}")
            if t is not None and t.status in ("done", "skipped"):
                outs += rstep.outputs(lk, self.ctx)
                continue
            needed, why, _, _ = self.decide(Task(rstep, lk, [], True), self.staging(key))
            if not needed:
                outs += rstep.outputs(lk, self.ctx)
            elif (self.staging(key) / f"report.{lang}.html").exists():
                notes.append(
                    f"the {lang} report was removed: it is stale ({why}) and was "
                    f"not built in this run (build it with --lang {lang})"
                )
        return outs, notes

    def publish(self, key: Key, res: YearResult) -> None:
        staging, published = self.staging(key), self.published(key)
        if not res.ran and published.is_dir() and key not in self._staged:
            return  # nothing ran and nothing was staged: the published folder is current
        self.report_dir(key)  # make sure a staging folder exists
        outs, notes = self.declared_report_outputs(key)
        allowed = {o.rel for o in outs} | {"manifest.json"}
        removed = _prune(staging, allowed, {o.rel for o in outs if o.kind == "dir"})
        if not res.ran and not removed and published.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
            return
        for n in notes:
            self.say(f"{key} {n}")
        res.notes += notes
        for w in published_warnings(staging, self.paths.rel(published)):
            self.say(f"{key} warning: {w}")
        with self._publishing:
            if self._interrupted:  # stopped: the published folder stays as it was
                self.say(f"{key} not published: the build was stopped")
                return
            self.write_manifest(key, staging, res)
            swap_dir(staging, published, trash=self._trash)  # deleted by _ended, unlocked
            fpr.forget()
            res.status = "published"
        self.say(f"{key} published  {self.paths.rel(published)}/")

    def write_manifest(self, key: Key, staging: Path, res: YearResult) -> None:
        """Provenance for machines. The build time lives here, not in the report bytes."""
        validation = {}
        with contextlib.suppress(OSError, ValueError):
            v = json.loads((staging / "validation.json").read_text(encoding="utf-8"))
            validation = {k: v.get(k) for k in ("success", "n_failures", "n_warnings") if k in v}
        files = sorted(
            p.relative_to(staging).as_posix()
            for p in staging.rglob("*")
            if p.is_file() and p.name != "manifest.json"
        )
        langs = sorted(
            {f.split(".")[1] for f in files if f.startswith("report.") and f.count(".") == 2}
        )
        st = self.state.key(key)["steps"]
        manifest = {
            "province": key.province,
            "year": key.year,
            "languages": langs,
            "built_at": now(),
            "par_review_version": __version__,
            "git_commit": code_commit().label(),
            "parameters": {
                "rounding": self.opts.rounding or "config default",
                "formats": list(self.opts.formats),
            },
            "inputs": {
                k: v
                for k, v in (st.get("clean") or {}).get("inputs", {}).items()
                if k.startswith("data/")
            },
            "package_versions": fpr.versions(),
            "steps": {
                sid: {"fingerprint": rec.get("fp"), "at": rec.get("at"), "ran": sid in res.ran}
                for sid, rec in sorted(st.items())
            },
            "validation": validation,
            "notes": res.notes,
            "files": files,
        }
        write_text_atomic(
            staging / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2)
        )

    def _owner(self, doing: str) -> None:
        with contextlib.suppress(OSError):
            write_text_atomic(
                self.paths.build / ".lock.owner",
                json.dumps({"pid": os.getpid(), "since": self.started_at, "step": doing}),
            )

    # -- the whole run ------------------------------------------------------------------------
    def run(self) -> int:
        fast_imports()
        fpr.WRITE_CACHE = True
        fpr.forget()  # another run in this process may have looked before files changed
        fpr.load_hashes(self.paths.build)
        self.started_at = now()
        self.make_tasks()
        self._last_before = {
            k: (self.state.key(k).get("last") or {}).get("status") for k in self.results
        }
        recover(self.paths.reports_root)
        for k in {t.province for t in self.targets}:
            recover(self.paths.of(k).reports)
        shutil.rmtree(self.paths.build / "staging", ignore_errors=True)
        shutil.rmtree(self.paths.build / "deps", ignore_errors=True)
        langs = ", ".join(f"{p}: {'/'.join(v)}" for p, v in self.langs.items())
        self.say(
            f"building {', '.join(map(str, self.targets))} "
            f"({langs}) "
            f"with {self.jobs} job(s)" + (" (forced)" if self.opts.force else "")
        )
        stop = threading.Event()
        hb = threading.Thread(target=self._heartbeat, args=(stop,), daemon=True)
        hb.start()
        self._slots = [_Slot() for _ in range(self.jobs)]
        self._threads = [
            threading.Thread(target=self._worker, args=(slot,), daemon=True) for slot in self._slots
        ]
        on_term = _term_as_interrupt()
        try:
            # one thread first, the others once it meets a step to run (_start_others): a
            # build with nothing to do decides every step in one thread, for two threads
            # deciding at once pass the GIL to and fro on every file they look at (a
            # no-op build of the demo took 0.31 s with both threads, 0.27 s with one)
            self._threads[0].start()
            self._threads[0].join()
            for th in self._threads[1:]:
                if th.ident is not None:  # started (before the first thread ended)
                    th.join()
            self._not_run()
        except KeyboardInterrupt:
            with self._publishing:  # a swap under way ends first; none starts after
                self._interrupted = True  # recorded so: the years left unbuilt are not up to date
            from .kernels import kill_all

            kill_all()  # now, not when each notices its parent gone (and says so on stderr)
            raise
        finally:
            if on_term is not None:
                signal.signal(signal.SIGTERM, on_term)
            if self._prints is not None:
                self._prints.put(None)  # the printer thread ends (every task has ended)
            stop.set()
            for old in self._trash:  # none unless a thread died between swap and delete
                shutil.rmtree(old, ignore_errors=True)
            self.record()
            fpr.save_hashes(self.paths.build, self.paths.root)
        return self.finish()

    def record(self) -> None:
        for key, r in self.results.items():
            last = self.state.key(key)
            if r.status == "failed" and r.error:
                last["last"] = {
                    "status": "failed",
                    "step": r.error.step,
                    "reason": r.error.reason,
                    "kind": r.error.kind,
                    "at": now(),
                    "notebook": self.paths.rel(r.error.notebook) if r.error.notebook else "",
                }
            elif r.status == "published":
                last["last"] = {"status": "published", "at": now()}
            elif self._interrupted and any(
                t.status in ("pending", "running") for t in self.tasks.values() if t.key.data == key
            ):
                last["last"] = {"status": "interrupted", "at": now()}
            else:
                last["last"] = {"status": "up-to-date", "at": now()}
        self.state.save()

    def finish(self) -> int:
        changed = any(r.status != "up-to-date" for r in self.results.values())
        changed = changed or any(self._last_before.get(k) == "failed" for k in self.results)
        if changed or not (self.paths.reports_root / "index.html").exists():
            try:
                from ..report.index import write_index

                write_index(self.paths, self.state.data)
                self.say("index    reports/index.html")
            except OSError as exc:
                self.say(f"FAILED to write reports/index.html: {exc.strerror or exc}")
                return EXIT_STEP
        lines = ["", f"{'key':<18}{'status':<13}{'ran':<44}time"]
        for key, r in sorted(self.results.items()):
            secs = sum(t.seconds for t in self.tasks.values() if t.key.data == key)
            ran = ", ".join(r.ran) or ("nothing (up to date)" if r.status == "up-to-date" else "-")
            lines.append(f"{str(key):<18}{r.status:<13}{ran:<44}{secs:5.1f}s")
            if r.error:
                lines.append(f"  ↳ {r.error.step}: {r.error.reason}")
        lines.append(
            f"total {time.perf_counter() - self.t0:.1f}s, {self.kernels_started} kernel start(s)"
        )
        for line in lines:
            if line:
                self.say(line)
        failed = [(k, r) for k, r in sorted(self.results.items()) if r.error]
        if self.opts.quiet and failed:  # a scheduler mails what a quiet job prints: the failures
            with contextlib.suppress(OSError, ValueError):
                for key, r in failed:
                    print(
                        f"{key} FAILED at {r.error.step}: {r.error.reason}",
                        file=sys.stderr,
                        flush=True,
                    )
                print(f"log: {self.paths.rel(self.log_path)}", file=sys.stderr, flush=True)
        codes = {r.error.exit_code for r in self.results.values() if r.error}
        if self._died:  # a fault of the build itself is never a success
            codes.add(EXIT_STEP)
        for candidate in (EXIT_INPUT, EXIT_VALIDATION, EXIT_STEP):
            if candidate in codes:
                return candidate
        return EXIT_OK


def _term_as_interrupt():
    """While a build runs in the main thread, SIGTERM (a scheduler's timeout, systemctl
    stop) stops it the way Ctrl-C does: nothing published changes, the years left unbuilt
    are recorded as interrupted, the kernels are killed. Returns the handler it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, stop)


def published_warnings(folder: Path, shown_as: str) -> list[str]:
    """What the operator should hear of a year being published: the analysis' warnings
    (a year without a satisfaction target names the key to add), and how many of the
    gate's checks warned, with the page that lists them. The report says them too."""
    out = []
    with contextlib.suppress(OSError, ValueError):
        m = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        out += [str(w["message"]) for w in m.get("warnings") or [] if w.get("message")]
    with contextlib.suppress(OSError, ValueError):
        v = json.loads((folder / "validation.json").read_text(encoding="utf-8"))
        n = len(v.get("warnings") or [])
        if n:
            checks = "check" if n == 1 else "checks"
            out.append(f"{n} data {checks} warned: the data-check page in {shown_as}/ lists them")
    return out


def _prune(folder: Path, allowed: set[str], dirs: set[str]) -> list[str]:
    """Delete every file of `folder` that no declared output covers. Returns what went."""
    removed = []
    if not folder.is_dir():
        return removed
    for p in sorted(folder.rglob("*"), reverse=True):
        rel = p.relative_to(folder).as_posix()
        covered = rel in allowed or any(rel.startswith(d + "/") for d in dirs) or rel in dirs
        if covered or (
            p.is_dir()
            and not p.is_symlink()
            and any(d.startswith(rel + "/") for d in allowed | dirs)
        ):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
        removed.append(rel)
    return removed


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


# ------------------------------------------------------------------------- the lock
class LockedError(RuntimeError):
    pass


@contextlib.contextmanager
def build_lock(paths: Paths, wait: float):
    """One build at a time over every key (a cron job and an analyst): an exclusive flock on
    build/.lock (what the `filelock` package does on Unix, without its import: a tenth of a
    no-op build's imports). The kernel drops it when the holder dies, kill -9 included."""
    import fcntl

    paths.build.mkdir(parents=True, exist_ok=True)
    info = paths.build / ".lock.owner"
    fd = os.open(paths.build / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockedError(
                    f"another par-review build is running ({lock_owner(paths)}); wait "
                    "for it, or pass --wait SECONDS to queue behind it"
                ) from None
            time.sleep(0.1)
    try:
        write_text_atomic(
            info, json.dumps({"pid": os.getpid(), "since": now(), "step": "starting"})
        )
        yield
    finally:
        with contextlib.suppress(OSError):
            info.unlink()
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def lock_owner(paths: Paths) -> str | None:
    """'pid N since T, running <step>' of the build holding the lock, or None."""
    info = paths.build / ".lock.owner"
    try:
        d = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid = d.get("pid")
    with contextlib.suppress(ProcessLookupError, PermissionError, TypeError):
        os.kill(int(pid), 0)
        return f"pid {pid} since {d.get('since')}, running {d.get('step')}"
    return None


def build(paths: Paths, opts: BuildOptions, out=None) -> int:
    err = sys.stderr if out is None else out
    try:
        with build_lock(paths, opts.wait):
            return Runner(paths, opts, out).run()
    except LockedError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_LOCKED
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_INPUT
    except PermissionError as exc:
        print(f"error: cannot write {exc.filename or ''}: {exc.strerror}", file=err)
        return EXIT_STEP
