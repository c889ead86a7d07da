"""The build's warm kernel (pipeline/kernels.py Worker) on a real `par-review` kernel: one
kernel runs notebook after notebook, each thread keeps one client of it, a fresh namespace
per notebook, a failing cell is reported and its notebook saved, a dead kernel is replaced."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_core.utils import run_sync

from par_review.pipeline.kernels import (
    KERNEL,
    SOCKETS_PREFIX,
    StepFailed,
    Worker,
    sweep_stale_folders,
)


def _notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('value = "default"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    nbformat.write(nb, path)
    return path


def _stdout(path: Path) -> list[str]:
    """Each code cell's printed text (a print may arrive as several stream messages)."""
    nb = nbformat.read(path, as_version=4)
    texts = (
        "".join(o.get("text", "") for o in c.get("outputs", []) if o.get("name") == "stdout")
        for c in nb.cells
        if c.cell_type == "code"
    )
    return [t for t in texts if t]


@pytest.fixture
def worker(tmp_path):
    w = Worker(tmp_path, tmp_path)
    yield w
    w.shutdown()


def test_one_kernel_runs_notebooks_in_turn_on_one_client_per_thread(tmp_path, worker):
    nb = _notebook(
        tmp_path / "echo.ipynb",
        "print('leftover' if 'previous' in globals() or len(Out) else 'clean')",
        "previous = value\nprint('value', value)",
        "previous  # an expression: it goes to the output cache, Out",
    )
    worker.run_notebook("echo", nb, tmp_path / "out" / "a.ipynb", {"value": "a"}, 120)
    worker.run_notebook("echo", nb, tmp_path / "out" / "b.ipynb", {"value": "b"}, 120)
    pid = worker.km.provisioner.pid
    other = threading.Thread(
        target=worker.run_notebook,
        args=("echo", nb, tmp_path / "out" / "c.ipynb", {"value": "c"}, 120),
    )
    other.start()
    other.join(180)
    # a thread started after that one ended (it often gets the same id) has its own client
    again = threading.Thread(
        target=worker.run_notebook,
        args=("echo", nb, tmp_path / "out" / "d.ipynb", {"value": "d"}, 120),
    )
    again.start()
    again.join(180)

    for name in "abcd":
        # the parameter reached the notebook, and nothing of the notebook before it did
        assert _stdout(tmp_path / "out" / f"{name}.ipynb") == ["clean\n", f"value {name}\n"]
    assert worker.km.provisioner.pid == pid  # the same kernel process throughout
    assert len(worker._clients) == 3  # one client per calling thread, kept
    worker._exec("print('still answering')")  # set-up code runs on the same clients


def test_a_failing_cell_is_reported_and_its_notebook_saved(tmp_path, worker):
    nb = _notebook(tmp_path / "fail.ipynb", "print('before')", "raise ValueError('bad input')")
    out = tmp_path / "out" / "fail.ipynb"
    with pytest.raises(StepFailed) as err:
        worker.run_notebook("fail", nb, out, {}, 120)
    assert err.value.kind == "error" and "ValueError: bad input" in err.value.reason
    saved = nbformat.read(out, as_version=4)
    errors = [o for c in saved.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and errors[0].ename == "ValueError"
    assert _stdout(out) == ["before\n"]


def test_a_kernel_keeps_its_sockets_and_connection_file_in_one_folder_it_removes(tmp_path, worker):
    nb = _notebook(tmp_path / "echo.ipynb", "print('value', value)")
    worker.run_notebook("echo", nb, tmp_path / "1.ipynb", {"value": 1}, 120)
    folder = Path(worker.sockets)
    assert Path(worker.km.connection_file).parent == folder
    assert (folder / "kernel.json").is_file()
    assert (folder / "owner").read_text() == str(os.getpid())
    worker.shutdown()
    assert not folder.exists()


def test_the_sweep_removes_the_kernel_folders_of_dead_owners_only(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    folders = {}
    for name, owner in {
        "dead": dead.stdout.strip(),  # a build killed with its kernels
        "alive": str(os.getpid()),
        "parent": str(os.getppid()),  # another live process
        "unowned": None,  # being made, or from an older version
        "garbled": "not a pid",
    }.items():
        folder = tmp_path / f"{SOCKETS_PREFIX}{name}"
        folder.mkdir()
        (folder / "k-1").write_text("")
        if owner is not None:
            (folder / "owner").write_text(owner)
        folders[name] = folder
    other = tmp_path / "something-else"
    other.mkdir()
    (other / "owner").write_text(dead.stdout.strip())

    assert sweep_stale_folders(str(tmp_path)) == [folders["dead"]]
    assert not folders["dead"].exists()
    assert all(f.exists() for n, f in folders.items() if n != "dead")
    assert other.exists()


def test_a_dead_kernel_is_replaced_by_a_new_one(tmp_path, worker):
    nb = _notebook(tmp_path / "echo.ipynb", "print('value', value)")
    worker.run_notebook("echo", nb, tmp_path / "1.ipynb", {"value": 1}, 120)
    old = worker.km.provisioner.pid
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while run_sync(worker.km.is_alive)() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.run_notebook("echo", nb, tmp_path / "2.ipynb", {"value": 2}, 120)
    assert worker.km.provisioner.pid != old
    assert _stdout(tmp_path / "2.ipynb") == ["value 2\n"]


def test_two_threads_starting_workers_at_once_import_the_client_stack_whole():
    """The runner starts two workers at the same moment (the first step, and an idle thread
    importing ahead of need). Two threads importing jupyter_client at once met a module of
    it half imported and failed the build's first step; the workers import it under a lock."""
    import subprocess
    import sys

    code = (
        "import threading\n"
        "from par_review.pipeline.kernels import _import_client_stack\n"
        "errors, barrier = [], threading.Barrier(2)\n"
        "def start(stmt):\n"
        "    barrier.wait()\n"
        "    try:\n"
        "        _import_client_stack()\n"
        "        exec(stmt, {})\n"
        "    except Exception as exc:\n"
        "        errors.append(repr(exc))\n"
        "threads = [threading.Thread(target=start, args=(s,)) for s in (\n"
        "    'from jupyter_client.manager import AsyncKernelManager',\n"
        "    'from jupyter_client.session import Session; import papermill')]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(errors)"
    )
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
