"""The step table, run for the one (province, year, lang) a preview shows, on ONE warm
kernel kept for the whole session.

It decides like the build (`pipeline.runner.Runner.decide`): a step runs when its
fingerprint (`pipeline.fingerprint.input_manifest`) changed or its declared outputs are
missing or were changed since it wrote them; the analysis runs only from tables that
passed validation as they are now (the gate). But every report-side output, every
executed notebook and the state are the preview's own:

    build/preview/state.json                         what each step last did (preview only)
    build/preview/<province>/<year>/current/         the steps' report-side outputs
    build/preview/<province>/<year>/last-good/       a copy of current/ after the last good run
    build/preview/<province>/<year>/logs/            executed notebooks

Nothing is written to reports/ or build/state.json. The clean and analyse steps still
write their declared data outputs (data/processed/<province>/<year>/*.csv and
data/processed/<province>/metrics/<year>/), which are the same bytes a build would write
from the same inputs, and the same bytes are not rewritten (mtimes kept), so the build
finds its outputs as it left them.

The report is rendered as HTML only (no PDF: a preview is for the screen).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..fsutil import swap_dir, write_text_atomic
from ..paths import Paths
from ..pipeline import fingerprint as fpr
from ..pipeline.kernels import StepFailed, Worker
from ..pipeline.state import VERSION as BUILD_STATE_VERSION
from ..pipeline.state import now
from ..pipeline.steps import BY_NAME, Context, Key, Step, data_keys_read, step_id
from . import watch

FORMATS = ("html",)
PASSES = 3
STATE_VERSION = 1

# Run in the warm kernel after the package changed (code or locales): the next notebook
# imports par_review afresh, while pandas, Great Expectations, matplotlib and nbconvert
# stay imported (that is the saving over a new kernel).
FORGET_PACKAGE = (
    "import sys as _s\n"
    "for _m in [m for m in _s.modules if m == 'par_review' or m.startswith('par_review.')]:\n"
    "    del _s.modules[_m]\n"
    "del _s"
)


class Stale(Exception):
    """A table read by the analysis changed after it was validated in this pass (a file
    was saved meanwhile): the pass starts again, and skips what is still current."""


class PreviewState:
    """build/preview/state.json: {"version", "keys": {"p/y": {"steps": {...}, "validated"}}}."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.RLock()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if data.get("version") != STATE_VERSION:
            data = {"version": STATE_VERSION, "keys": {}}
        self.data = data

    def key(self, key: Key) -> dict:
        with self.lock:
            return self.data["keys"].setdefault(str(key.data), {"steps": {}, "validated": {}})

    def step(self, key: Key, sid: str) -> dict | None:
        return self.key(key)["steps"].get(sid)

    def set_step(self, key: Key, sid: str, record: dict | None) -> None:
        with self.lock:
            if record is None:
                self.key(key)["steps"].pop(sid, None)
            else:
                self.key(key)["steps"][sid] = record

    def save(self) -> None:
        with self.lock:
            text = json.dumps(self.data, ensure_ascii=False, indent=1, sort_keys=True)
        write_text_atomic(self.path, text)


@dataclass
class Outcome:
    ok: bool
    ran: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: dict | None = None  # step, key, kind, message, notebook


def label(step: Step, key: Key, main: Key) -> str:
    """How the terminal names a task: 'report vi' for the key shown, else with its key."""
    name = f"{step.name} {key.lang}" if key.lang else step.name
    return name if key.data == main.data else f"{name} {key.data}"


class Session:
    def __init__(self, paths: Paths, key: Key, say=print, timeout: int = 600):
        self.paths = paths.of(key.province)
        self.key = key
        self.say = say
        self.timeout = timeout
        self.home = self.paths.build / "preview"
        self.state = PreviewState(self.home / "state.json")
        self.worker: Worker | None = None
        self.kernels_started = 0
        self._build_state: dict | None = None  # build/state.json, read once per pass
        fpr.forget()  # a new session looks at the disk afresh

    # -- folders -------------------------------------------------------------------------
    def folder(self, key: Key) -> Path:
        return self.home / key.province / str(key.year)

    def report_dir(self, key: Key) -> Path:
        return self.folder(key) / "current"

    @property
    def current(self) -> Path:
        return self.report_dir(self.key)

    @property
    def last_good(self) -> Path:
        return self.folder(self.key) / "last-good"

    def report_name(self) -> str:
        return f"report.{self.key.lang}.html"

    # -- the plan -----------------------------------------------------------------------
    def context(self) -> Context:
        return Context(self.paths, rounding="", formats=FORMATS)

    def tasks(self, ctx: Context) -> list[tuple[Step, Key]]:
        """clean and validate of every (province, year) the analysis reads, then analyse
        and the report of the key shown: the build's tasks for that one key."""
        main = self.key.data
        reads = sorted(set(data_keys_read(main, ctx)) | {main})
        out: list[tuple[Step, Key]] = []
        for k in reads:
            out += [(BY_NAME["clean"], k), (BY_NAME["validate"], k)]
        out += [(BY_NAME["analyse"], main), (BY_NAME["report"], self.key)]
        return out

    def watched_provinces(self, ctx: Context) -> list[str]:
        try:
            return sorted({k.province for k in data_keys_read(self.key.data, ctx)})
        except Exception:  # noqa: BLE001 - a broken config: watch this province alone
            return [self.key.province]

    def affected(self, changed: list[Path]) -> list[str]:
        ctx = self.context()
        tasks = self.tasks(ctx)
        return [
            label(s, k, self.key) for s, k in watch.affected(changed, tasks, ctx, self.report_dir)
        ]

    # -- deciding and running -----------------------------------------------------------
    def decide(self, step: Step, key: Key, ctx: Context) -> tuple[bool, str, dict]:
        rdir = self.report_dir(key)
        manifest = fpr.input_manifest(step, key, ctx, rdir)
        sig = fpr.output_signature(step.outputs(key, ctx), self.paths.root, rdir)
        sid = step_id(step, key)
        rec = self.state.step(key, sid)
        fp = fpr.fingerprint(manifest)
        if step.name == "validate" and key.data != self.key.data:
            # an earlier year (or an absorbed province) that the analysis only reads: its
            # Data Docs are not shown, what matters is that its tables passed as they are
            # now, here or in the last build (as the build itself decides, runner.decide)
            for v in (self.state.key(key).get("validated"), self._built(key).get("validated")):
                if v and v.get("ok") and v.get("fp") == fp:
                    self.state.key(key)["validated"] = {"fp": fp, "ok": True}
                    return False, "", manifest
        if not rec and step.name == "clean":
            # its outputs are the build's own (data/processed): the build's record holds
            built = (self._built(key).get("steps") or {}).get(sid)
            if built and built.get("fp") == fp and built.get("outputs") == sig:
                self.state.set_step(
                    key, sid, {k: built.get(k) for k in ("fp", "inputs", "outputs", "at")}
                )
                return False, "", manifest
        if not rec:
            return True, "never previewed", manifest
        if rec.get("fp") != fpr.fingerprint(manifest):
            return True, "; ".join(fpr.explain(rec.get("inputs"), manifest)), manifest
        missing = [o for o, s in sig.items() if s == "missing"]
        if missing:
            return True, f"output missing: {missing[0]}", manifest
        changed = [o for o in sig if rec.get("outputs", {}).get(o) != sig[o]]
        if changed:
            return True, f"output changed since it was written: {changed[0]}", manifest
        return False, "", manifest

    def _built(self, key: Key) -> dict:
        """The build's record of a (province, year), read only (build/state.json)."""
        if self._build_state is None:
            try:
                data = json.loads((self.paths.build / "state.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self._build_state = data if data.get("version") == BUILD_STATE_VERSION else {}
        return (self._build_state.get("keys") or {}).get(str(key.data)) or {}

    def gate(self, ctx: Context) -> None:
        main = self.key.data
        for k in sorted(set(data_keys_read(main, ctx)) | {main}):
            v = self.state.key(k).get("validated") or {}
            current = fpr.fingerprint(
                fpr.input_manifest(BY_NAME["validate"], k, ctx, self.report_dir(k))
            )
            if not v.get("ok"):
                raise StepFailed(
                    "analyse",
                    "validation",
                    f"the {k} tables failed validation; the figures of {main} compare "
                    f"with them (fix {k} first)",
                )
            if v.get("fp") != current:
                raise Stale(str(k))

    def _worker(self) -> Worker:
        if self.worker is None:
            # caches too go under build/preview (the Data Docs cache: validation/datadocs.py)
            # and its pages skip the phone-width charts (a wording edit shows in half the
            # time; the published report has them)
            env = {"PAR_REVIEW_CACHE": str(self.home / "cache"), "PAR_REVIEW_PHONE_CHARTS": "0"}
            self.worker = Worker(self.paths.notebooks, self.paths.root, env=env)
        if not self.worker.km:
            self.kernels_started += 1
        return self.worker

    def forget_package(self) -> None:
        """After a change to the package: the kernel re-imports par_review, nothing else, and
        the code is hashed again (a build hashes it once; a preview outlives edits)."""
        fpr.forget_code()
        w = self.worker
        if w is not None and w.km is not None:
            try:
                w._exec(FORGET_PACKAGE, timeout=60)
            except Exception:  # noqa: BLE001 - a dead kernel: start a new one next time
                w.shutdown()

    def run_step(self, step: Step, key: Key, ctx: Context, manifest: dict) -> None:
        rdir = self.report_dir(key)
        rdir.mkdir(parents=True, exist_ok=True)
        logs = self.folder(key) / "logs"
        executed = logs / (
            step.notebook.replace(".ipynb", f".{key.lang}.ipynb") if key.lang else step.notebook
        )
        params = step.params(key, ctx, None if step.name == "clean" else rdir)
        sid = step_id(step, key)
        self.state.set_step(key, sid, None)  # a run that stops half-way leaves no record
        w = self._worker()
        try:
            w.run_notebook(
                step.name, self.paths.notebooks / step.notebook, executed, params, self.timeout
            )
            if step.name == "report":
                w.render(executed, rdir, FORMATS, key.lang or "vi")
        except StepFailed as exc:
            if step.name == "validate":
                self.state.key(key)["validated"] = {"fp": fpr.fingerprint(manifest), "ok": False}
            if exc.notebook is None and step.name == "report":
                exc.notebook = executed
            raise
        fpr._cache.clear()  # outputs were rewritten: hash again what later steps read
        fpr.forget()
        self.state.set_step(
            key,
            sid,
            {
                "fp": fpr.fingerprint(manifest),
                "inputs": manifest,
                "outputs": fpr.output_signature(step.outputs(key, ctx), self.paths.root, rdir),
                "at": now(),
            },
        )
        if step.name == "validate":
            self.state.key(key)["validated"] = {"fp": fpr.fingerprint(manifest), "ok": True}

    def run(self, changed: list[Path] | None = None) -> Outcome:
        """One pass over the tasks; stops at the first failure. Never raises StepFailed."""
        t0 = time.perf_counter()
        out = Outcome(ok=True)
        if changed and watch.code_changed(changed):
            self.forget_package()
        self._at = (None, self.key)
        try:
            for attempt in range(PASSES):
                try:
                    self._pass(out)
                    break
                except Stale as stale:
                    if attempt == PASSES - 1:
                        raise StepFailed(
                            "analyse",
                            "validation",
                            f"the {stale} tables keep changing while they are validated",
                        ) from None
        except StepFailed as exc:
            out.ok, out.error = False, self._error(exc, self._at[1])
        except Exception as exc:  # noqa: BLE001 - a config that does not load, a bad table...
            step, key = self._at
            err = StepFailed(step.name if step else "plan", "input", f"{type(exc).__name__}: {exc}")
            out.ok, out.error = False, self._error(err, key)
        finally:
            with contextlib.suppress(OSError):
                self.state.save()
        if out.ok and (out.ran or not self.last_good.is_dir()):
            self.keep_last_good()
        out.seconds = time.perf_counter() - t0
        return out

    def _pass(self, out: Outcome) -> None:
        fpr.forget()  # files changed since the last pass: that is why it runs
        ctx = self.context()
        self._build_state = None
        for step, key in self.tasks(ctx):
            self._at = (step, key)
            if step.name == "analyse":
                self.gate(ctx)
            needed, why, manifest = self.decide(step, key, ctx)
            if not needed:
                continue
            name = label(step, key, self.key)
            self.say(f"{name} running ({why})")
            t1 = time.perf_counter()
            self.run_step(step, key, ctx, manifest)
            self.say(f"{name} done in {time.perf_counter() - t1:.1f} s")
            if name not in out.ran:
                out.ran.append(name)

    def _error(self, exc: StepFailed, key: Key) -> dict:
        message = exc.reason
        if exc.notebook is not None:
            message = error_of_notebook(Path(exc.notebook)) or message
        return {
            "step": exc.step,
            "key": str(key),
            "kind": exc.kind,
            "message": message,
            "notebook": self.paths.rel(exc.notebook) if exc.notebook else "",
            "at": now(),
        }

    def keep_last_good(self) -> None:
        """Copy current/ to last-good/ (whole, then swapped in: never half a copy)."""
        if not (self.current / self.report_name()).is_file():
            return
        tmp = self.folder(self.key) / ".last-good.new"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(self.current, tmp)
        swap_dir(tmp, self.last_good)

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.shutdown()
            self.worker = None

    def kernel_pid(self) -> int | None:
        """The warm kernel's process id (to kill it when it does not shut down)."""
        km = self.worker.km if self.worker is not None else None
        return getattr(getattr(km, "provisioner", None), "pid", None)


def error_of_notebook(nb: Path) -> str:
    """The full message of the error an executed notebook stopped on (every line of it:
    an InputError says it in Vietnamese, then in English), or ""."""
    try:
        data = json.loads(nb.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    for cell in data.get("cells", []):
        for o in cell.get("outputs", []) or []:
            if o.get("output_type") == "error":
                value = str(o.get("evalue") or "").strip()
                return f"{o.get('ename')}: {value}" if value else str(o.get("ename") or "")
    return ""
