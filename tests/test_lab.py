"""`make lab`: JupyterLab on loopback with the project's `par-review` kernel.

- the kernel spec points at the project's environment (.venv) and imports this checkout;
- a real-client check starts `jupyter lab --no-browser` on a free 127.0.0.1 port with a
  token and, through its REST API and the kernel websocket, lists notebooks/, starts the
  kernel, runs a cell that imports the package, shuts everything down and leaves no process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

import par_review

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
KERNEL = "par-review"
KERNEL_DIR = VENV / "share" / "jupyter" / "kernels" / KERNEL

needs_venv = pytest.mark.skipif(
    not (VENV / "bin" / "python").exists(),
    reason="no .venv in this checkout (run `make test`, which creates it)",
)


def real(p) -> Path:
    return Path(os.path.realpath(p))


def inside(path, folder) -> bool:
    return real(path) == real(folder) or real(folder) in real(path).parents


# --------------------------------------------------------------------------------------
# the kernel spec
@needs_venv
def test_kernel_spec_points_at_the_project_environment():
    spec = json.loads((KERNEL_DIR / "kernel.json").read_text(encoding="utf-8"))
    argv0 = Path(spec["argv"][0])
    assert argv0.is_absolute()
    # the interpreter lives in .venv/bin (it may be a symlink to the system python: the
    # folder, not the link target, is what makes it the venv's interpreter)
    assert real(argv0.parent) == real(VENV / "bin"), spec["argv"][0]
    assert spec["argv"][-4:] == ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec["language"] == "python"
    # running that interpreter gives the project's environment and this checkout's package
    out = subprocess.run(
        [
            spec["argv"][0],
            "-c",
            "import sys, par_review; print(sys.prefix); print(par_review.__file__)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=_clean_env(),
    )
    prefix, pkg = out.stdout.split("\n")[:2]
    assert real(prefix) == real(VENV)
    assert inside(pkg, REPO / "src" / "par_review")


@needs_venv
def test_jupyter_finds_this_kernel_under_its_name():
    """No other `par-review` kernel (e.g. a stale user-level one) shadows the project's."""
    out = subprocess.run(
        [str(VENV / "bin" / "jupyter"), "kernelspec", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=_clean_env(),
    )
    specs = json.loads(out.stdout)["kernelspecs"]
    assert KERNEL in specs
    assert real(specs[KERNEL]["resource_dir"]) == real(KERNEL_DIR)
    assert specs[KERNEL]["spec"]["display_name"] == "Python (par-review)"


def test_make_lab_starts_jupyterlab_on_loopback_with_the_env():
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    block = re.search(r"^lab:.*?(?=^\S)", text + "\nEND", re.S | re.M).group(0)
    assert "scripts/bootstrap.sh" in block  # the first run creates .venv and the kernel
    cmd = next(line for line in block.splitlines() if "jupyter lab" in line)
    assert ".venv/bin/jupyter lab" in cmd and "--no-browser" in cmd and "--ip=127.0.0.1" in cmd
    boot = (REPO / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    assert re.search(r"ipykernel install --sys-prefix --name par-review", boot)


# --------------------------------------------------------------------------------------
# a real JupyterLab, driven like a browser would
def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTEST"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, port: int, token: str, proc: subprocess.Popen, log: Path):
        self.base, self.token, self.proc, self.log = f"http://127.0.0.1:{port}", token, proc, log
        self.port = port

    def request(self, method: str, path: str, body=None, timeout: float = 30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"jupyter lab exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            with contextlib.suppress(OSError, urllib.error.URLError):
                if self.request("GET", "/api/status", timeout=5)[0] == 200:
                    return
            time.sleep(0.3)
        pytest.fail(
            f"jupyter lab did not answer within {timeout}s:\n{self.log.read_text()[-3000:]}"
        )


def execute_over_websocket(lab: Lab, kernel_id: str, code: str, timeout: float = 120) -> dict:
    """Run `code` in the kernel through the server's channels websocket; returns the
    stdout text, the error (if any) and the reply status."""
    import websocket  # websocket-client: a dependency of jupyter_server

    session = uuid.uuid4().hex
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{lab.port}/api/kernels/{kernel_id}/channels?session_id={session}",
        header=[f"Authorization: token {lab.token}"],
        timeout=timeout,
    )
    try:
        msg_id = uuid.uuid4().hex
        ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": "test",
                        "session": session,
                        "msg_type": "execute_request",
                        "version": "5.3",
                        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "buffers": [],
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        result = {"stdout": "", "error": None, "reply": None, "idle": False}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not (result["idle"] and result["reply"]):
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream" and msg["content"]["name"] == "stdout":
                result["stdout"] += msg["content"]["text"]
            elif kind == "error":
                result["error"] = f"{msg['content']['ename']}: {msg['content']['evalue']}"
            elif kind == "execute_reply":
                result["reply"] = msg["content"]["status"]
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                result["idle"] = True
        return result
    finally:
        ws.close()


def descendants(pid: int) -> list[int]:
    import psutil  # installed with ipykernel

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
@pytest.mark.timeout(300)
@needs_venv
def test_real_jupyterlab_lists_notebooks_runs_the_kernel_and_shuts_down(tmp_path):
    from conftest import make_project_copy

    root = make_project_copy(tmp_path / "proj").root
    token = secrets.token_hex(24)
    port = free_port()
    log = tmp_path / "lab.log"
    env = _clean_env(
        JUPYTER_RUNTIME_DIR=tmp_path / "runtime",
        JUPYTER_CONFIG_DIR=tmp_path / "config",
        JUPYTER_DATA_DIR=tmp_path / "data",
        IPYTHONDIR=tmp_path / "ipython",
        PAR_REVIEW_ROOT=root,
        MPLBACKEND="agg",
        JUPYTER_PLATFORM_DIRS="1",
    )
    cmd = [
        str(VENV / "bin" / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.shutdown_no_activity_timeout=240",
    ]
    if (
        os.geteuid() == 0
    ):  # containers and CI runners often run as root; jupyter refuses without this
        cmd.append("--allow-root")
    with log.open("w") as fh:
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=root,
            start_new_session=True,
        )
    lab = Lab(port, token, proc, log)
    seen: set[int] = set()
    try:
        lab.wait_ready()
        # the server listens on loopback only, and refuses requests without the token
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{lab.base}/api/contents/notebooks", timeout=10)
        assert denied.value.code in (401, 403)

        status, listing = lab.request("GET", "/api/contents/notebooks")
        assert status == 200 and listing["type"] == "directory"
        names = {item["name"] for item in listing["content"]}
        assert {p.name for p in (root / "notebooks").glob("*.ipynb")} <= names
        assert "10_clean.ipynb" in names

        _, specs = lab.request("GET", "/api/kernelspecs")
        assert KERNEL in specs["kernelspecs"]
        assert real(Path(specs["kernelspecs"][KERNEL]["spec"]["argv"][0]).parent) == real(
            VENV / "bin"
        )

        status, kernel = lab.request("POST", "/api/kernels", {"name": KERNEL, "path": "notebooks"})
        assert status == 201 and kernel["name"] == KERNEL
        out = execute_over_websocket(
            lab,
            kernel["id"],
            "import sys, par_review\nprint(par_review.__version__)\nprint(sys.prefix)",
        )
        seen.update(descendants(proc.pid))
        assert out["error"] is None and out["reply"] == "ok", out
        version, prefix = out["stdout"].split()[:2]
        assert version == par_review.__version__
        assert real(prefix) == real(VENV)
        assert seen, "the kernel runs as a child of the server"

        status, _ = lab.request("DELETE", f"/api/kernels/{kernel['id']}")
        assert status == 204
        assert lab.request("GET", "/api/kernels")[1] == []

        status, _ = lab.request("POST", "/api/shutdown")
        assert status == 200
        proc.wait(timeout=60)
        assert proc.returncode == 0, log.read_text()[-3000:]
        deadline = time.monotonic() + 20
        while any(alive(p) for p in seen) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in seen if alive(p)], "processes left behind"
    finally:
        if proc.poll() is None:  # only on failure: stop the server we started, and its kernels
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for p in seen:
            if alive(p):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
