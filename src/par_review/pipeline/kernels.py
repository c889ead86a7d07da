"""Warm kernels: one long-lived `par-review` kernel per worker runs notebook after notebook.

Imports of pandas, Great Expectations, matplotlib and nbconvert are paid once per worker,
not per notebook: a reset cell empties the namespace between notebooks (modules stay
imported), and papermill saves the executed notebook once, at the end (pmengine.py).
Process-wide tweaks that speed the build up (see `KERNEL_SETUP`) are applied here, inside
the build's own kernels, never on `import par_review`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import types
import weakref
from pathlib import Path

KERNEL = "par-review"
EXIT_INPUT, EXIT_VALIDATION, EXIT_STEP = 2, 1, 4

# Run first in every build kernel. jsonschema (imported by nbformat, papermill and Great
# Expectations) loads the optional `rfc3987_syntax` package for its "iri" format checker,
# which compiles a Lark grammar at import time: about 3.3 s per process, a third of
# `import great_expectations`. Nothing here validates IRIs and jsonschema treats the package
# as optional, so the build's kernels mark it absent. Then the modules of `DEFERRED` are
# imported only when first used (`defer_imports`). An analyst's own kernel is untouched.
KERNEL_SETUP = (
    "import sys as _s\n"
    "if 'jsonschema' not in _s.modules: _s.modules.setdefault('rfc3987_syntax', None)\n"
    "from par_review.pipeline.kernels import defer_imports as _d\n"
    "_d()\n"
    "del _s, _d"
)


def fast_imports() -> None:
    """The same tweak for the build's own process (it imports papermill and nbformat)."""
    import sys

    if os.environ.get("PAR_REVIEW_KEEP_RFC3987") != "1" and "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]


# Imported by `import great_expectations` at its top, used by none of the project's checks:
# scipy.stats (0.55 s) and altair (0.3 s) serve only the statistical expectations (KL
# divergence, KS tests) and their charts, which the project's suites never run. Together
# they are nearly half of Great Expectations' import.
DEFERRED = ("scipy.stats", "altair")


class _Deferred(types.ModuleType):
    """Stands in sys.modules for a module until one of its attributes is first read; then
    the module is imported for real, replaces this one in sys.modules, and every attribute
    of this one is read from it. `import x` and `from pkg import x` bind this stand-in
    without importing anything; `from x import name`, `x.name`, or importing a submodule
    (which reads `__path__`) imports x."""

    def __init__(self, spec) -> None:
        super().__init__(spec.name)
        self.__spec__ = spec  # what the import system reads of a module already imported
        self.__loader__ = spec.loader

    def __getattr__(self, attr: str):  # only for what this stand-in lacks: all but the above
        return getattr(self._real(), attr)

    def __dir__(self):
        return dir(self._real())

    def _real(self) -> types.ModuleType:
        import importlib
        import sys

        real = self.__dict__.get("_par_review_real")
        if real is None:
            with _DEFER_LOCK:
                real = self.__dict__.get("_par_review_real")
                if real is None:
                    if sys.modules.get(self.__name__) is self:
                        del sys.modules[self.__name__]
                    real = importlib.import_module(self.__name__)
                    self.__dict__["_par_review_real"] = real
        return real


_DEFER_LOCK = threading.RLock()


def defer_imports(names: tuple[str, ...] = DEFERRED) -> list[str]:
    """Put a `_Deferred` stand-in in sys.modules for each module of `names` that is not
    imported yet and can be found; returns the names deferred. Called by KERNEL_SETUP in
    the build's and the preview's kernels, and by the benchmark's floor, never on
    `import par_review`."""
    import importlib.util
    import sys

    done = []
    for name in names:
        if name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name)  # imports the parent package (scipy: 3 ms)
        except (ImportError, ValueError):
            spec = None
        if spec is None or name in sys.modules:
            continue
        sys.modules[name] = _Deferred(spec)
        done.append(name)
    return done


class StepFailed(Exception):
    def __init__(
        self, step: str, kind: str, reason: str, notebook: Path | None = None, quiet: bool = False
    ):
        self.step, self.kind, self.reason, self.notebook = step, kind, reason, notebook
        self.quiet = quiet  # already reported by the step it comes from
        super().__init__(f"{step}: {reason}")

    @property
    def exit_code(self) -> int:
        return {"input": EXIT_INPUT, "validation": EXIT_VALIDATION}.get(self.kind, EXIT_STEP)


_STACK_LOCK = threading.Lock()
_STACK_READY = False


def _import_client_stack() -> None:
    """Import what a Worker drives its kernel with (jupyter_client, papermill, nbformat) once,
    under a lock. The runner's threads start their workers at the same moment (one for the
    first step, one to import a stack ahead of need), and two threads importing
    jupyter_client at once can meet a module of it half imported: "cannot import name
    'AsyncKernelManager' from partially initialized module 'jupyter_client.manager'" failed
    a build's first step."""
    global _STACK_READY
    if _STACK_READY:
        return
    with _STACK_LOCK:
        if not _STACK_READY:
            import jupyter_client.manager  # noqa: F401
            import jupyter_client.session  # noqa: F401
            import nbformat  # noqa: F401
            import papermill  # noqa: F401
            import papermill.exceptions  # noqa: F401

            from . import pmengine  # noqa: F401

            _STACK_READY = True


SOCKETS_PREFIX = "par-review-k"
_SWEPT = False


def _private_folder() -> str:
    """A new private folder for a kernel's sockets and connection file, with the pid of the
    process that owns it; the first one a process makes sweeps those of dead owners."""
    global _SWEPT
    if not _SWEPT:
        _SWEPT = True
        sweep_stale_folders()
    folder = tempfile.mkdtemp(prefix=SOCKETS_PREFIX)
    Path(folder, "owner").write_text(str(os.getpid()))
    return folder


def sweep_stale_folders(tmp: str | None = None) -> list[Path]:
    """Remove the kernel folders whose owning process has died: a build killed with its
    kernels cannot remove its own. A folder without a readable owner (one being made, or
    from an older version) and one whose owner lives, or belongs to another user, stay."""
    removed = []
    for folder in Path(tmp or tempfile.gettempdir()).glob(f"{SOCKETS_PREFIX}*"):
        try:
            pid = int(folder.joinpath("owner").read_text())
        except (OSError, ValueError):
            continue
        if pid == os.getpid() or _process_lives(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _process_lives(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


_LIVE: weakref.WeakSet = weakref.WeakSet()  # the workers whose kernel runs (kill_all)


def kill_all() -> int:
    """Kill the kernels of this process' workers now (a build stopped by Ctrl-C or SIGTERM):
    left running, each notices its parent gone a little later and says so on the build's
    stderr ('Parent appears to have exited'), which a scheduler mails. Returns how many."""
    n = 0
    for w in list(_LIVE):
        km, sockets = w.km, w.sockets
        pid = getattr(getattr(km, "provisioner", None), "pid", None) if km else None
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                n += 1
        if sockets:
            shutil.rmtree(sockets, ignore_errors=True)
        _LIVE.discard(w)
    return n


class Worker:
    """One long-lived `par-review` kernel that runs notebooks one after the other."""

    def __init__(self, cwd: Path, env_root: Path, env: dict[str, str] | None = None):
        self.cwd, self.env_root = cwd, env_root
        self.extra_env = dict(env or {})  # more environment for the kernel
        self.sockets: str | None = None
        self.warm: set[str] = set()  # stacks imported in this kernel (PREWARM tags)
        self.km = None
        self.used = 0
        self._local = threading.local()  # .kc: this kernel's client for the thread (client())
        self._clients: list = []  # every client made, to close them at shutdown

    def _ensure(self):
        _import_client_stack()
        if self.km is None or not _run_sync(self.km.is_alive)():
            from jupyter_client.manager import AsyncKernelManager

            self.shutdown()  # a dead kernel: its clients and sockets go with it

            # papermill/nbclient reuse this kernel when given `km` (they do not shut it down)
            # IPC (unix sockets in a private folder) rather than TCP on loopback: nothing to
            # encrypt, no port races between parallel workers, and no ipykernel warning
            # (a short private folder: unix socket paths are limited to ~100 characters)
            # the connection file goes in the same folder, so that one folder is all a
            # kernel leaves in the temporary directory, and a build killed with its
            # kernels (kill -9, a scheduler's timeout) leaves one that the next removes
            self.sockets = _private_folder()
            self.km = AsyncKernelManager(
                kernel_name=KERNEL,
                transport="ipc",
                ip=f"{self.sockets}/k",
                connection_file=f"{self.sockets}/kernel.json",
            )
            env = dict(
                os.environ,
                PAR_REVIEW_ROOT=str(self.env_root),
                MPLBACKEND="agg",
                GX_ANALYTICS_ENABLED="false",
                PYTHONHASHSEED="0",
                **self.extra_env,
            )
            # no input history: IPython writes every cell to an SQLite file otherwise, and
            # the build's cells are in the executed notebooks already
            _run_sync(self.km.start_kernel)(
                cwd=str(self.cwd), env=env, extra_arguments=["--HistoryManager.enabled=False"]
            )
            self.used = 0
            _LIVE.add(self)
            self._exec(KERNEL_SETUP, timeout=60)
        return self.km

    def client(self):
        """This kernel's client for the calling thread, started and waited for once.

        A new client per notebook (nbclient's default) or per `_exec` costs a kernel_info
        round trip and jupyter_client's 0.2 s IOPub flush each time. A client's sockets
        belong to the asyncio loop of the thread that made them (jupyter_core keeps one loop
        per thread), and the runner's threads share the workers, so there is one per thread.
        Messages left from an earlier request are ignored by their parent id. Kept in a
        thread-local, not by thread id: a new thread may get the id of one that ended, and
        that thread's client would wait on a loop nobody runs."""
        kc = getattr(self._local, "kc", None)
        if kc is None:
            from jupyter_client.session import Session

            # its own session: the kernel routes replies by the session id (the shell
            # socket's identity), and two clients sharing the manager's session would take
            # each other's replies
            own = Session(
                key=self.km.session.key, signature_scheme=self.km.session.signature_scheme
            )
            kc = self.km.client(session=own)
            kc.start_channels()
            try:
                _run_sync(kc.wait_for_ready)(timeout=120)
            except BaseException:
                with contextlib.suppress(Exception):
                    kc.stop_channels()
                raise
            self._local.kc = kc
            self._clients.append(kc)
        return kc

    def run_notebook(self, step: str, src: Path, dst: Path, params: dict, timeout: int) -> None:
        km = self._ensure()  # imports the client stack first, under its lock
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        from .pmengine import ENGINE

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
                kc=self.client(),
                engine_name=ENGINE,
                progress_bar=False,
                log_output=False,
                cwd=str(self.cwd),
                execution_timeout=timeout,
                report_mode=False,
            )
        except PapermillExecutionError as exc:
            raise StepFailed(
                step, _classify(exc.ename), f"{exc.ename}: {_reason(exc.ename, exc.evalue)}", dst
            ) from None
        except Exception as exc:  # kernel died, timeout, ...
            self.shutdown()
            raise StepFailed(
                step, "error", f"{type(exc).__name__}: {_first_line(str(exc))}", dst
            ) from None

    def _exec(self, code: str, timeout: int = 600) -> None:
        """Run code in this kernel (set-up, warm-up, rendering), on the thread's client.
        The client is the kernel manager's own, so "is the kernel alive" asks the process,
        not the heartbeat, which misses beats on a loaded machine and made a booting kernel
        look dead."""
        kc = self.client()
        errors = []

        def hook(msg):
            if msg["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {_first_line(msg['content']['evalue'])}")

        _run_sync(kc.execute_interactive)(
            code, timeout=timeout, output_hook=hook, store_history=False
        )
        if errors:
            raise RuntimeError(errors[0])

    def prewarm(self, tag: str) -> None:
        """Import a stack ahead of need, so that its cost overlaps other work."""
        self._ensure()
        self._exec(PREWARM[tag])
        self.warm.add(tag)

    def render(self, executed: Path, out_dir: Path, formats: tuple[str, ...], lang: str) -> None:
        """The pages of an executed report notebook, inside this warm kernel (nbconvert is
        imported once per worker): writes report.<lang>.<format>. The build asks for the
        HTML only and prints the PDF from it in its own process (Runner.print_pdf)."""
        self._ensure()
        code = (
            "from par_review.report.exporters import render_report\n"
            f"render_report({str(executed)!r}, {str(out_dir)!r}, formats={tuple(formats)!r}, "
            f"lang={lang!r})"
        )
        try:
            self._exec(code)
        except Exception as exc:
            raise StepFailed(
                "render", "error", f"{type(exc).__name__}: {_first_line(str(exc))}"
            ) from None

    def shutdown(self) -> None:
        clients, self._clients = self._clients, []
        self._local = threading.local()
        for kc in clients:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        if self.km is not None:
            with contextlib.suppress(Exception):
                _run_sync(self.km.shutdown_kernel)(now=True)
            self.km = None
        _LIVE.discard(self)
        if self.sockets:
            shutil.rmtree(self.sockets, ignore_errors=True)
            self.sockets = None


RESET_CELL = (
    "# injected by par-review build: this kernel ran another notebook before; start clean\n"
    "from par_review.pipeline.kernels import reset_namespace; reset_namespace()"
)


def reset_namespace() -> None:
    """Run in the kernel before each notebook but the first: IPython's reset, as `%reset -f`
    does it (every name the notebooks made, the output cache `Out`, `_1`..., aliases), and
    matplotlib's open figures closed, but without the magic's two full garbage
    collections, which cost 0.6-0.9 s per notebook once pandas and Great Expectations are
    loaded: one collection of what is not frozen instead (`settle_heap`)."""
    import sys

    from IPython import get_ipython

    ip = get_ipython()
    dh = ip.displayhook

    def flush_without_gc() -> None:  # DisplayHook.flush, less its gc.collect()
        for n in range(1, dh.prompt_count + 1):
            ip.user_ns_hidden.pop(f"_{n}", None)
            ip.user_ns.pop(f"_{n}", None)
        oh = ip.user_ns.get("_oh")
        if oh is not None:
            oh.clear()
        dh._, dh.__, dh.___ = "", "", ""

    dh.flush = flush_without_gc
    try:
        ip.reset(new_session=False)
    finally:
        del dh.flush
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")
    settle_heap()


def settle_heap() -> None:
    """Between two notebooks (and in the floor between two steps): collect the garbage
    once, then freeze what is left (`gc.freeze`). What survives a notebook is nearly all
    modules and their caches (pandas, Great Expectations, matplotlib: 400,000 objects),
    and every full collection walked them again: 0.2 s each, several times per report.
    Frozen, they are skipped, so the collection here and those during the next notebook
    walk only what was made since. Frozen objects are still freed when nothing refers to
    them; only a reference cycle among them would stay (caches live until the kernel
    ends anyway)."""
    import gc

    gc.collect()
    gc.freeze()


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


# What a warm kernel has imported, by tag (see Runner._prewarm): the module
# imports and one-off set-ups that the notebooks would otherwise pay on the critical path.
PREWARM = {
    # Great Expectations (about 3-4 s) and the project's file-backed context
    "gx": "import great_expectations\nfrom par_review.validation.gate import get_context\nget_context()",
    # what the report notebook imports: matplotlib for the charts (never pyplot), nbconvert
    # for the page (the build prints the PDFs itself); then the first report's one-off
    # costs (its templates compiled, the XLSX writer imported: exporters.warm_up)
    "report": (
        "import par_review.report.context, par_review.report.charts, par_review.report.exporters\n"
        "par_review.report.exporters.warm_up()"
    ),
}


def _run_sync(fn):
    from jupyter_core.utils import run_sync

    return run_sync(fn)


def _reason(ename: str, evalue: str) -> str:
    """What a failed step says: the first line, or for an input error its Vietnamese and
    English lines (the analysts read the first, the log's other readers the second)."""
    lines = [ln for ln in (evalue or "").strip().splitlines() if ln.strip()]
    if ename == "InputError" and len(lines) >= 2:
        return f"{lines[0]} / {lines[1]}"
    return lines[0] if lines else ""


def _first_line(text: str) -> str:
    text = (text or "").strip()
    return text.splitlines()[0] if text else ""


def _classify(ename: str) -> str:
    if ename in ("InputError", "ConfigError"):
        return "input"
    if ename == "ValidationFailed":
        return "validation"
    return "error"
