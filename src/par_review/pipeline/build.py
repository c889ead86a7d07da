"""Orchestration: clean -> validate -> analyse -> report -> publish -> index.

Design (see docs/orchestration.md):
- Every notebook runs through papermill with explicit parameters and the `par-review`
  kernel. A worker keeps ONE kernel alive for all the notebooks it runs (imports of pandas,
  Great Expectations, matplotlib and WeasyPrint are paid once per worker, not per notebook),
  resetting the namespace between notebooks. `--jobs` workers run years in parallel.
- Incremental: each step has a fingerprint of everything it depends on (content hashes of
  inputs, the notebook, the package code, the config, the validation suites, parameters and
  key package versions). A step whose fingerprint is unchanged is skipped; a year whose
  steps are all skipped is not touched at all. The analysis of year Y depends on the
  cleaned tables of Y and Y-1 in full and on the tier counts of earlier years (streaks), so
  a change to one year's raw file rebuilds that year and the years whose figures depend on it.
- Publish only on success: a year is built in build/staging/<Y>/ (seeded with the last
  published copy) and swapped into reports/<Y>/ by rename when every step passed. A failed
  year keeps its previous report; the index shows the failure; the exit code is non-zero.
- One run at a time (a lock in build/); a killed run leaves reports/ intact and the next
  run cleans up after it.
This module imports nothing heavy at import time: a no-op build stays well under a second.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..fsutil import recover, sha256_file, swap_dir, write_text_atomic
from ..paths import PACKAGE_DIR, Paths

STEPS = ("clean", "validate", "analyse", "report")
NOTEBOOKS = {
    "clean": "10_clean.ipynb",
    "validate": "20_validate.ipynb",
    "analyse": "30_analyse.ipynb",
    "report": "40_report.ipynb",
}
CLEAN_TABLES = ("provincial.csv", "commune.csv", "satisfaction.csv", "national_indices.csv")
KEY_PACKAGES = (
    "pandas",
    "numpy",
    "great_expectations",
    "papermill",
    "nbconvert",
    "nbclient",
    "matplotlib",
    "seaborn",
    "weasyprint",
    "openpyxl",
)
KERNEL = "par-review"
EXIT_OK, EXIT_VALIDATION, EXIT_INPUT, EXIT_LOCKED, EXIT_STEP = 0, 1, 2, 3, 4


class StepFailed(Exception):
    def __init__(self, step: str, kind: str, reason: str, notebook: Path | None = None):
        self.step, self.kind, self.reason, self.notebook = step, kind, reason, notebook
        super().__init__(f"{step}: {reason}")

    @property
    def exit_code(self) -> int:
        return {"input": EXIT_INPUT, "validation": EXIT_VALIDATION}.get(self.kind, EXIT_STEP)


@dataclass
class BuildOptions:
    years: list[int] | None = None
    force: bool = False
    jobs: int = 0
    lang: str = "vi"
    rounding: str = ""
    province: str = "khanh_hoa"
    formats: tuple[str, ...] = ("html", "pdf")
    wait: float = 0.0
    quiet: bool = False
    timeout: int = 600
    force_sequential: bool = False  # one kernel per year even when a core is idle (benchmarks)


@dataclass
class YearResult:
    year: int
    status: str = "up-to-date"  # up-to-date | published | failed
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    error: StepFailed | None = None


# --------------------------------------------------------------------------- hashing
def _hash_bytes(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()


def hash_tree(root: Path, patterns: tuple[str, ...] = ("*",)) -> str:
    """Content hash of the files below `root` (names and bytes), ignoring caches."""
    if not root.exists():
        return "missing"
    if root.is_file():
        return sha256_file(root)
    items = []
    for pat in patterns:
        for p in root.rglob(pat):
            if (
                p.is_file()
                and "__pycache__" not in p.parts
                and "uncommitted" not in p.parts
                and ".ipynb_checkpoints" not in p.parts
            ):
                items.append((p.relative_to(root).as_posix(), sha256_file(p)))
    return _hash_bytes(*(f"{n}:{h}".encode() for n, h in sorted(set(items))))


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in KEY_PACKAGES:
        try:
            out[name] = version(name.replace("_", "-"))
        except PackageNotFoundError:
            out[name] = "missing"
    out["par-review"] = __version__
    out["python"] = sys.version.split()[0]
    return out


def git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if out.returncode == 0:
            dirty = subprocess.run(
                [
                    "git",
                    "-C",
                    str(root),
                    "status",
                    "--porcelain",
                    "--",
                    "src",
                    "notebooks",
                    "config",
                    "validation",
                ],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def _tier_summary(csv_path: Path) -> str:
    """Tier counts of a cleaned table: all that streaks need from an earlier year."""
    if not csv_path.exists():
        return "missing"
    counts: dict[str, int] = {}
    with csv_path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            counts[row.get("tier", "")] = counts.get(row.get("tier", ""), 0) + 1
    return json.dumps(sorted(counts.items()))


class Fingerprints:
    """Computes step fingerprints; shared inputs are hashed once per run."""

    def __init__(self, paths: Paths, opts: BuildOptions):
        self.paths, self.opts = paths, opts
        self._common = {
            "code": hash_tree(PACKAGE_DIR),
            "config": hash_tree(paths.config_dir / opts.province),
            "versions": package_versions(),
        }

    def _fp(self, step: str, **inputs) -> str:
        nb = self.paths.notebooks / NOTEBOOKS[step]
        payload = {"step": step, "notebook": hash_tree(nb), **self._common, **inputs}
        return _hash_bytes(json.dumps(payload, sort_keys=True).encode())

    def raw_inputs(self, year: int) -> dict[str, str]:
        d = self.paths.raw_year(year)
        files = {
            f"data/raw/{year}/{p.name}": sha256_file(p) for p in sorted(d.glob("*")) if p.is_file()
        }
        if self.paths.national_raw.exists():
            files["data/raw/national/national_indices.csv"] = sha256_file(self.paths.national_raw)
        return files

    def processed(self, year: int) -> dict[str, str]:
        d = self.paths.processed_year(year)
        return {t: (sha256_file(d / t) if (d / t).exists() else "missing") for t in CLEAN_TABLES}

    def clean(self, year: int) -> str:
        return self._fp("clean", year=year, raw=self.raw_inputs(year))

    def validate(self, year: int) -> str:
        return self._fp(
            "validate",
            year=year,
            processed=self.processed(year),
            suites=hash_tree(self.paths.validation),
        )

    def analyse(self, year: int) -> str:
        earlier = {
            y: {
                t: _tier_summary(self.paths.processed_year(y) / t)
                for t in ("provincial.csv", "commune.csv")
            }
            for y in self.paths.processed_years()
            if y < year - 1
        }
        return self._fp(
            "analyse",
            year=year,
            processed=self.processed(year),
            previous=self.processed(year - 1),
            earlier=earlier,
            rounding=self.opts.rounding,
        )

    def report(self, year: int, staging: Path) -> str:
        return self._fp(
            "report",
            year=year,
            raw=self.raw_inputs(year),
            metrics=hash_tree(staging / "metrics.json"),
            validation=hash_tree(staging / "validation.json"),
            lang=self.opts.lang,
            rounding=self.opts.rounding,
            formats=list(self.opts.formats),
        )


# --------------------------------------------------------------------------- state
class State:
    """build/state.json: per year, the fingerprint of each step that last succeeded and
    the outcome of the last attempt (for `par-review status` and the index)."""

    def __init__(self, paths: Paths):
        self.path = paths.build / "state.json"
        self.lock = threading.Lock()
        try:
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {"years": {}}

    def year(self, year: int) -> dict:
        return self.data["years"].setdefault(str(year), {"steps": {}, "last": {}})

    def save(self) -> None:
        with self.lock:
            write_text_atomic(
                self.path, json.dumps(self.data, ensure_ascii=False, indent=2, sort_keys=True)
            )


# --------------------------------------------------------------------------- kernels
class Worker:
    """One long-lived `par-review` kernel that runs notebooks one after the other."""

    def __init__(self, cwd: Path, env_root: Path):
        self.cwd, self.env_root = cwd, env_root
        self.sockets: str | None = None
        self.warm: set[str] = set()  # stacks imported in this kernel (PREWARM tags)
        self.warming: str | None = None  # the tag being imported right now
        self.km = None
        self.used = 0

    def _ensure(self):
        if self.km is None or not _run_sync(self.km.is_alive)():
            from jupyter_client.manager import AsyncKernelManager

            # papermill/nbclient reuse this kernel when given `km` (they do not shut it down)
            # IPC (unix sockets in a private folder) rather than TCP on loopback: nothing to
            # encrypt, no port races between parallel workers, and no ipykernel warning
            # (a short private folder: unix socket paths are limited to ~100 characters)
            self.sockets = tempfile.mkdtemp(prefix="par-review-k")
            self.km = AsyncKernelManager(
                kernel_name=KERNEL, transport="ipc", ip=f"{self.sockets}/k"
            )
            env = dict(
                os.environ,
                PAR_REVIEW_ROOT=str(self.env_root),
                MPLBACKEND="agg",
                GX_ANALYTICS_ENABLED="false",
                PYTHONHASHSEED="0",
            )
            _run_sync(self.km.start_kernel)(cwd=str(self.cwd), env=env)
            self.used = 0
        return self.km

    def run_notebook(self, step: str, src: Path, dst: Path, params: dict, timeout: int) -> None:
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        from .pmengine import ENGINE

        km = self._ensure()
        nb = _with_reset_cell(src) if self.used else str(src)
        self.used += 1
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            pm.execute_notebook(
                nb,
                str(dst),
                parameters=params,
                kernel_name=KERNEL,
                km=km,
                engine_name=ENGINE,
                progress_bar=False,
                log_output=False,
                cwd=str(self.cwd),
                execution_timeout=timeout,
                report_mode=False,
            )
        except PapermillExecutionError as exc:
            raise StepFailed(
                step, _classify(exc.ename), f"{exc.ename}: {_first_line(exc.evalue)}", dst
            ) from None
        except Exception as exc:  # kernel died, timeout, ...
            self.shutdown()
            raise StepFailed(
                step, "error", f"{type(exc).__name__}: {_first_line(str(exc))}", dst
            ) from None

    def _exec(self, code: str, timeout: int = 600) -> None:
        from jupyter_client import BlockingKernelClient

        kc = BlockingKernelClient()
        kc.load_connection_info(self.km.get_connection_info())
        kc.start_channels()
        try:
            errors = []

            def hook(msg):
                if msg["msg_type"] == "error":
                    errors.append(
                        f"{msg['content']['ename']}: {_first_line(msg['content']['evalue'])}"
                    )

            kc.wait_for_ready(timeout=60)
            kc.execute_interactive(code, timeout=timeout, output_hook=hook, store_history=False)
            if errors:
                raise RuntimeError(errors[0])
        finally:
            kc.stop_channels()

    def prewarm(self, tag: str) -> None:
        """Import a stack ahead of need, so that its cost overlaps other work."""
        self._ensure()
        self._exec(PREWARM[tag])
        self.warm.add(tag)

    def render(self, executed: Path, out_dir: Path, formats: tuple[str, ...], lang: str) -> None:
        self._ensure()
        code = (
            "from par_review.exporters import render_report\n"
            f"render_report({str(executed)!r}, {str(out_dir)!r}, formats={tuple(formats)!r})"
        )
        try:
            self._exec(code)
        except Exception as exc:
            raise StepFailed(
                "render", "error", f"{type(exc).__name__}: {_first_line(str(exc))}"
            ) from None

    def shutdown(self) -> None:
        if self.km is not None:
            with contextlib.suppress(Exception):
                _run_sync(self.km.shutdown_kernel)(now=True)
            self.km = None
        if self.sockets:
            shutil.rmtree(self.sockets, ignore_errors=True)
            self.sockets = None


RESET_CELL = (
    "# injected by par-review build: this kernel ran another notebook before; start clean\n"
    "get_ipython().run_line_magic('reset', '-f')\n"
    "import matplotlib.pyplot as _plt; _plt.close('all'); del _plt"
)


def _with_reset_cell(src: Path):
    """The notebook with a first cell that empties the namespace left by the previous
    notebook (modules stay imported: that is the saving). One round trip fewer than a
    separate execute request."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    cell = nbformat.v4.new_code_cell(RESET_CELL)
    cell.metadata["tags"] = ["injected-reset"]
    cell.metadata["jupyter"] = {"source_hidden": True}
    cell["id"] = "injected-reset"
    nb.cells.insert(0, cell)
    return nb


class WorkerPool:
    """At most `size` kernels. `acquire(prefer=tag)` hands out an idle worker that already
    imported `tag` (or will have: one warming up is waited for), else any idle one, else a
    new one while under `size`, else waits."""

    def __init__(self, factory, size: int):
        self.factory, self.size = factory, max(1, size)
        self.idle: list[Worker] = []
        self.busy: list[Worker] = []
        self.created = 0
        self.cv = threading.Condition()

    def acquire(self, prefer: str | None = None) -> Worker:
        with self.cv:
            while True:
                tagged = [w for w in self.idle if prefer and prefer in w.warm]
                warming = bool(prefer) and any(w.warming == prefer for w in self.busy)
                if tagged:
                    w = tagged[0]
                    self.idle.remove(w)
                elif warming:  # that kernel is importing what we need: worth the wait
                    self.cv.wait()
                    continue
                elif self.idle:
                    w = self.idle.pop(0)
                elif self.created < self.size:
                    w = self.factory()
                    self.created += 1
                else:
                    self.cv.wait()
                    continue
                self.busy.append(w)
                return w

    def release(self, w: Worker) -> None:
        with self.cv:
            self.busy.remove(w)
            self.idle.append(w)
            self.cv.notify_all()

    @contextlib.contextmanager
    def use(self, prefer: str | None = None):
        w = self.acquire(prefer)
        try:
            yield w
        finally:
            self.release(w)

    def close(self) -> None:
        with self.cv:
            for w in self.idle + self.busy:
                w.shutdown()


# What a warm kernel has imported, by tag (see Builder.prewarm_in_background): the module
# imports and one-off set-ups that the notebooks would otherwise pay on the critical path.
PREWARM = {
    # Great Expectations (about 3-4 s) and the project's file-backed context
    "gx": "import great_expectations\nfrom par_review.validate import get_context\nget_context()",
    # matplotlib/seaborn for the charts, nbconvert and WeasyPrint for the rendering
    "report": (
        "import par_review.report, par_review.charts, par_review.exporters, weasyprint\n"
        "import matplotlib.pyplot, seaborn"
    ),
}


def _run_sync(fn):
    from jupyter_core.utils import run_sync

    return run_sync(fn)


def _first_line(text: str) -> str:
    text = (text or "").strip()
    return text.splitlines()[0] if text else ""


def _classify(ename: str) -> str:
    if ename in ("InputError", "ConfigError"):
        return "input"
    if ename == "ValidationFailed":
        return "validation"
    return "error"


# --------------------------------------------------------------------------- the build
class Builder:
    def __init__(self, paths: Paths, opts: BuildOptions, out=None):
        self.paths, self.opts = paths, opts
        self.out = out or sys.stdout
        self.state = State(paths)
        self.fp = Fingerprints(paths, opts)
        self.jobs = opts.jobs or os.cpu_count() or 1
        self.pool = WorkerPool(lambda: Worker(paths.notebooks, paths.root), self.jobs)
        self.split_chains = False
        self.gates: dict[int, list] = {}  # year -> [threading.Event, ok: bool | None]
        self.t0 = time.perf_counter()
        self._print_lock = threading.Lock()
        self.log_path = paths.build / "logs" / "build.log"

    # -- output
    def say(self, msg: str) -> None:
        line = f"[{time.perf_counter() - self.t0:6.1f}s] {msg}"
        with self._print_lock:
            if not self.opts.quiet:
                print(line, file=self.out, flush=True)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(f"{dt.datetime.now().isoformat(timespec='seconds')} {msg}\n")

    # -- workers
    def close(self) -> None:
        self.pool.close()

    def prewarm_in_background(self, tag: str) -> threading.Thread:
        """Start a kernel now and import a stack in it (e.g. Great Expectations while the
        other core cleans), then hand it to the pool. Used only when a core is idle."""
        w = self.pool.acquire()
        w.warming = tag

        def run():
            try:
                w.prewarm(tag)
            except Exception:  # a failed warm-up costs nothing: the step imports it again
                pass
            finally:
                w.warming = None
                self.pool.release(w)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    # -- steps
    def params(self, step: str, year: int, staging: Path) -> dict:
        p = {"year": year, "province": self.opts.province, "root": str(self.paths.root)}
        if step != "clean":
            p["out_dir"] = str(staging)
        if step in ("analyse", "report"):
            p["rounding"] = self.opts.rounding
        if step == "report":
            p["lang"] = self.opts.lang
        return p

    def run_step(
        self, w: Worker, step: str, year: int, staging: Path, res: YearResult, fp: str
    ) -> None:
        st = self.state.year(year)
        if (
            not self.opts.force
            and st["steps"].get(step) == fp
            and self._outputs_exist(step, year, staging)
        ):
            res.skipped.append(step)
            return
        t = time.perf_counter()
        self.say(f"{year} {step:<8} running")
        executed = self.paths.build / "logs" / str(year) / NOTEBOOKS[step]
        w.run_notebook(
            step,
            self.paths.notebooks / NOTEBOOKS[step],
            executed,
            self.params(step, year, staging),
            self.opts.timeout,
        )
        if step == "report" and self.opts.formats:
            w.render(executed, staging, self.opts.formats, self.opts.lang)
        res.seconds[step] = time.perf_counter() - t
        res.ran.append(step)
        st["steps"][step] = fp
        self.say(f"{year} {step:<8} done in {res.seconds[step]:.1f}s")

    def _outputs_exist(self, step: str, year: int, staging: Path) -> bool:
        if step == "clean":
            return all((self.paths.processed_year(year) / t).exists() for t in CLEAN_TABLES[:2])
        if step == "validate":
            return (staging / "validation.json").exists()
        if step == "analyse":
            return (staging / "metrics.json").exists()
        return all((staging / f"report.{f}").exists() for f in self.opts.formats)

    def clean_year(self, year: int, res: YearResult) -> None:
        fp = self.fp.clean(year)
        st = self.state.year(year)
        if (
            not self.opts.force
            and st["steps"].get("clean") == fp
            and self._outputs_exist("clean", year, Path())
        ):
            res.skipped.append("clean")
            return
        with self.pool.use() as w:
            self.run_step(w, "clean", year, self.paths.build / "staging" / str(year), res, fp)

    def chain_needed(self, year: int, res: YearResult) -> bool:
        """Cheap (hashes only, no kernel): has anything that this year's report depends on changed?"""
        published = self.paths.report_year(year)
        st = self.state.year(year)
        return (
            self.opts.force
            or not published.is_dir()
            or bool(res.ran)
            or st["steps"].get("validate") != self.fp.validate(year)
            or st["steps"].get("analyse") != self.fp.analyse(year)
            or st["steps"].get("report") != self.fp.report(year, published)
            or not self._outputs_exist("report", year, published)
        )

    def year_chain(self, year: int, res: YearResult) -> None:
        try:
            self._year_chain(year, res)
        finally:  # whatever happened, later years waiting on this year's gate move on
            if year in self.gates and not self.gates[year][0].is_set():
                self._open_gate(year, False)

    def _year_chain(self, year: int, res: YearResult) -> None:
        published = self.paths.report_year(year)
        staging = self.paths.build / "staging" / str(year)
        if not self.chain_needed(year, res):
            res.skipped += ["validate", "analyse", "report"]
            self._open_gate(year, True)
            return
        fps = {"validate": self.fp.validate(year), "analyse": self.fp.analyse(year)}
        if staging.exists():
            shutil.rmtree(staging)
        if published.is_dir():
            shutil.copytree(published, staging, copy_function=_link_or_copy)
        else:
            staging.mkdir(parents=True)
        if self.split_chains:
            self._chain_split(year, staging, res, fps)
        else:
            with self.pool.use(prefer="gx") as w:
                self._validate(w, year, staging, res, fps["validate"])
                self.run_step(w, "analyse", year, staging, res, fps["analyse"])
                self._await_earlier_gates(year)
                self.run_step(w, "report", year, staging, res, self.fp.report(year, staging))
        self.write_manifest(year, staging, res)
        swap_dir(staging, published)
        res.status = "published"
        self.say(f"{year} published  reports/{year}/")

    # -- the gate across years: a year's report compares it with earlier years' tables;
    # when an earlier year rebuilt in this run fails validation, its new tables are not
    # trusted, so the later year is not published either (its last report stays).
    def _open_gate(self, year: int, ok: bool) -> None:
        gate = self.gates.get(year)
        if gate is not None:
            gate[1] = ok
            gate[0].set()

    def _validate(self, w: Worker, year: int, staging: Path, res: YearResult, fp: str) -> None:
        ok = False
        try:
            self.run_step(w, "validate", year, staging, res, fp)
            ok = True
        finally:
            self._open_gate(year, ok)

    def _await_earlier_gates(self, year: int) -> None:
        for earlier in sorted(y for y in self.gates if y < year):
            event, _ = self.gates[earlier]
            event.wait()
            if self.gates[earlier][1] is False:
                raise StepFailed(
                    "report",
                    "validation",
                    f"the {earlier} data failed validation in this run; {year}'s comparisons "
                    f"with it would use unvalidated tables (fix {earlier} first)",
                )

    def _chain_split(self, year: int, staging: Path, res: YearResult, fps: dict) -> None:
        """One year on two cores: validation (Great Expectations) in one kernel while the
        other analyses and imports the report stack; the report then waits for the gate
        (it shows the validation result). Used when a core would otherwise sit idle."""
        failure: list[BaseException] = []

        def validate():
            try:
                with self.pool.use(prefer="gx") as wv:
                    self._validate(wv, year, staging, res, fps["validate"])
            except BaseException as exc:  # re-raised below, in this year's thread
                failure.append(exc)

        tv = threading.Thread(target=validate, daemon=True)
        tv.start()
        with self.pool.use(prefer="report") as wr:
            self.run_step(wr, "analyse", year, staging, res, fps["analyse"])
            if "report" not in wr.warm:
                with contextlib.suppress(Exception):
                    wr.prewarm("report")
            tv.join()
            if failure:
                raise failure[0]
            self._await_earlier_gates(year)
            self.run_step(wr, "report", year, staging, res, self.fp.report(year, staging))

    def write_manifest(self, year: int, staging: Path, res: YearResult) -> None:
        """Provenance for machines. The build time lives here, not in the report bytes."""
        validation = {}
        with contextlib.suppress(OSError, ValueError):
            v = json.loads((staging / "validation.json").read_text(encoding="utf-8"))
            validation = {
                k: v.get(k) for k in ("success", "n_failures", "n_warnings", "statistics") if k in v
            }
        manifest = {
            "year": year,
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "par_review_version": __version__,
            "git_commit": git_commit(self.paths.root),
            "parameters": {
                "province": self.opts.province,
                "lang": self.opts.lang,
                "rounding": self.opts.rounding or "config default",
            },
            "inputs": self.fp.raw_inputs(year),
            "package_versions": self.fp._common["versions"],
            "steps": {
                s: {
                    "ran": s in res.ran,
                    "seconds": round(res.seconds.get(s, 0.0), 2),
                    "fingerprint": self.state.year(year)["steps"].get(s),
                }
                for s in STEPS
            },
            "validation": validation,
            "files": sorted(
                p.relative_to(staging).as_posix()
                for p in staging.rglob("*")
                if p.is_file() and p.name != "manifest.json"
            ),
        }
        write_text_atomic(
            staging / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2)
        )

    def run(self) -> tuple[int, list[YearResult]]:
        paths, opts = self.paths, self.opts
        all_years = paths.raw_years()
        years = sorted(set(opts.years)) if opts.years else all_years
        unknown = [y for y in years if y not in all_years]
        if unknown:
            raise SystemExit(
                f"error: no raw data for {unknown}: data/raw/<year>/ folders are {all_years}"
            )
        results = {y: YearResult(y) for y in years}
        jobs = self.jobs
        recover(paths.reports)
        shutil.rmtree(paths.build / "staging", ignore_errors=True)
        self.say(
            f"building {', '.join(map(str, years))} with {jobs} job(s)"
            + (" (forced)" if opts.force else "")
        )
        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                # phase 1: clean every year up to the last one asked for (a year's figures read
                # the earlier years' tables); years not asked for are cleaned, not published
                extra = {y: YearResult(y) for y in all_years if y <= years[-1] and y not in results}
                both = {**results, **extra}
                to_clean = [
                    y
                    for y in both
                    if opts.force or self.state.year(y)["steps"].get("clean") != self.fp.clean(y)
                ]
                if to_clean and len(to_clean) < jobs:
                    # a core would idle while cleaning: warm Great Expectations on it
                    self.prewarm_in_background("gx")
                list(pool.map(lambda y: self._guard(y, both[y], self.clean_year), sorted(both)))
                for y, r in extra.items():
                    if r.error:
                        self.say(
                            f"warning: {y} (not built now) could not be cleaned; later years use its last good tables"
                        )
                # phase 2: validate -> analyse -> report -> publish, years in parallel; a lone
                # year gets two kernels (validation beside analysis) rather than idle a core
                todo = [y for y in years if results[y].status != "failed"]
                self.gates = {y: [threading.Event(), None] for y in todo}
                self.split_chains = (
                    jobs >= 2
                    and not opts.force_sequential
                    and sum(self.chain_needed(y, results[y]) for y in todo) == 1
                )
                list(pool.map(lambda y: self._guard(y, results[y], self.year_chain), todo))
        finally:
            self.close()
            self.state.save()
        for y, r in results.items():
            if r.status == "failed":
                self.state.year(y)["last"] = {
                    "status": "failed",
                    "step": r.error.step,
                    "reason": r.error.reason,
                    "kind": r.error.kind,
                    "at": _now(),
                    "notebook": str(r.error.notebook or ""),
                }
            elif r.ran:
                self.state.year(y)["last"] = {"status": "published", "at": _now()}
        self.state.save()
        changed = any(r.ran or r.status == "failed" for r in results.values())
        if changed or not (paths.reports / "index.html").exists():
            self.write_index()
        return self.summary(results)

    def _guard(self, year: int, res: YearResult, fn) -> None:
        if res.status == "failed":
            return
        try:
            fn(year, res)
        except StepFailed as exc:
            res.status, res.error = "failed", exc
            self.say(
                f"{year} FAILED at {exc.step}: {exc.reason}"
                + (f" (executed notebook: {exc.notebook})" if exc.notebook else "")
            )

    def write_index(self) -> None:
        from ..report.index import write_index

        write_index(self.paths, self.state.data, province=self.opts.province, lang=self.opts.lang)
        self.say("index    reports/index.html")

    def summary(self, results: dict[int, YearResult]) -> tuple[int, list[YearResult]]:
        lines = ["", "year  status       ran                              time"]
        code = EXIT_OK
        for y, r in sorted(results.items()):
            ran = ", ".join(r.ran) or "nothing (up to date)"
            lines.append(f"{y}  {r.status:<12} {ran:<32} {sum(r.seconds.values()):5.1f}s")
            if r.error:
                lines.append(f"      ↳ {r.error.step}: {r.error.reason}")
        codes = {r.error.exit_code for r in results.values() if r.error}
        # bad input outranks a failed validation, which outranks any other failure
        for candidate in (EXIT_INPUT, EXIT_VALIDATION, EXIT_STEP):
            if candidate in codes:
                code = candidate
                break
        lines.append(f"total {time.perf_counter() - self.t0:.1f}s, {self.pool.created} kernel(s)")
        for line in lines:
            if line:
                self.say(line)
        return code, list(results.values())


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def build_lock(paths: Paths, wait: float):
    from filelock import FileLock, Timeout

    paths.build.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(paths.build / ".lock"))
    info = paths.build / ".lock.owner"
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        owner = info.read_text(encoding="utf-8").strip() if info.exists() else "unknown"
        raise LockedError(
            f"another par-review build is running ({owner}); "
            "wait for it, or pass --wait SECONDS to queue behind it"
        ) from None
    try:
        info.write_text(f"pid {os.getpid()} since {_now()}", encoding="utf-8")
        yield
    finally:
        with contextlib.suppress(OSError):
            info.unlink()
        lock.release()


class LockedError(RuntimeError):
    pass


def build(paths: Paths, opts: BuildOptions, out=None) -> int:
    try:
        with build_lock(paths, opts.wait):
            code, _ = Builder(paths, opts, out).run()
            return code
    except LockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOCKED


# --------------------------------------------------------------------------- status
def status(paths: Paths, opts: BuildOptions, out=None) -> int:
    out = out or sys.stdout
    state = State(paths)
    fp = Fingerprints(paths, opts)
    print(f"{'year':<6}{'published':<27}{'state':<12}last attempt", file=out)
    for y in paths.raw_years():
        st = state.year(y)
        man = paths.report_year(y) / "manifest.json"
        published = "no"
        if man.exists():
            with contextlib.suppress(OSError, ValueError):
                published = json.loads(man.read_text(encoding="utf-8")).get("built_at", "yes")
        stale = []
        if st["steps"].get("clean") != fp.clean(y):
            stale.append("raw/config/code changed")
        elif st["steps"].get("validate") != fp.validate(y) or st["steps"].get(
            "analyse"
        ) != fp.analyse(y):
            stale.append("inputs changed")
        elif st["steps"].get("report") != fp.report(y, paths.report_year(y)):
            stale.append("report inputs changed")
        last = st.get("last") or {}
        lastmsg = (
            f"FAILED at {last.get('step')}: {last.get('reason')}"
            if last.get("status") == "failed"
            else last.get("status", "never built")
        )
        print(f"{y:<6}{published:<27}{('stale' if stale else 'up to date'):<12}{lastmsg}", file=out)
    return EXIT_OK
