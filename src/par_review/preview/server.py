"""`par-review preview`: serve one report on 127.0.0.1, rebuild it when a file it depends
on changes, and let the page reload itself.

    GET /                        -> the report (report.<lang>.html), or the error page
    GET /<file>                  -> a file of the last good preview (companion pages,
                                    downloads, Data Docs); HTML gets the reload script
    GET /last-good/<file>        -> the last good preview, always (the error page links it)
    GET /__preview/version       -> a number that changes after every run that changed
                                    something; the injected script polls it
    GET /__preview/status        -> JSON: ok, running, error, ran, seconds, version

The server (standard library `ThreadingHTTPServer`) answers from threads; the watch loop
and every step run in the thread that called `Preview.serve()` (the main thread on the
command line, so Ctrl-C stops a running step, shuts the kernel down and exits).
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..paths import Paths
from ..pipeline.steps import Key
from . import page, watch
from .session import Outcome, Session

HOST = "127.0.0.1"
DEFAULT_PORT = 8008
LAST_GOOD = "/last-good/"
CURRENT = "/current/"  # the outputs of the last run, good or not (a failed validation's Data Docs)


SHUTDOWN_S = 30  # seconds the kernel gets to shut down when the preview stops


class Preview:
    def __init__(
        self,
        paths: Paths,
        key: Key,
        port: int = DEFAULT_PORT,
        out=None,
        interval: float = watch.INTERVAL,
        timeout: int = 600,
    ):
        self.out = out or sys.stdout
        self.key = key
        self.session = Session(paths, key, say=self.say, timeout=timeout)
        self.interval = interval
        self.lock = threading.Lock()
        self.version = 0
        self.running = ""
        self.outcome: Outcome | None = None
        self.stop_event = threading.Event()
        self.httpd = ThreadingHTTPServer((HOST, port), _handler(self))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.own_signals = False  # the command line's process: Ctrl-C, SIGTERM, SIGHUP are ours

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def say(self, msg: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} {msg}", file=self.out, flush=True)

    # -- state shown by the server --------------------------------------------------------
    def snapshot(self) -> dict:
        with self.lock:
            o = self.outcome
            return {
                "key": str(self.key),
                "version": self.version,
                "running": self.running,
                "ok": None if o is None else o.ok,
                "error": None if o is None else o.error,
                "ran": [] if o is None else o.ran,
                "seconds": None if o is None else round(o.seconds, 2),
                "last_good": self.session.last_good.is_dir(),
                "last_good_at": self._last_good_at(),
            }

    def _last_good_at(self) -> str:
        try:
            t = (self.session.last_good / self.session.report_name()).stat().st_mtime
        except OSError:
            return ""
        return time.strftime("%H:%M:%S", time.localtime(t))

    def _finish(self, outcome: Outcome) -> None:
        with self.lock:
            before = self.outcome
            self.outcome = outcome
            self.running = ""
            changed = (
                before is None
                or outcome.ran
                or before.ok != outcome.ok
                or _words(before.error) != _words(outcome.error)
            )
            if changed:
                self.version += 1

    # -- the loop ---------------------------------------------------------------------------
    def run_once(self, changed: list[Path] | None = None) -> Outcome:
        with self.lock:
            self.running = "running"
        outcome = self.session.run(changed)
        self._finish(outcome)
        if outcome.ok:
            what = ", ".join(outcome.ran) if outcome.ran else "nothing to re-run"
            self.say(f"ready in {outcome.seconds:.1f} s ({what}) {self.url}")
        else:
            e = outcome.error or {}
            first = (e.get("message") or "").splitlines()
            self.say(
                f"FAILED at {e.get('step')} {e.get('key')}: {first[0] if first else ''} "
                f"(the page shows the error; last good preview: "
                f"{self.url}last-good/{self.session.report_name()})"
            )
        return outcome

    def start_server(self) -> None:
        """Answer HTTP requests from a background thread (until close())."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
            self._thread.start()

    def serve(self) -> None:
        """Serve, build, then watch until stop() or Ctrl-C; always cleans up."""
        self.start_server()
        try:
            self.say(f"serving {self.key} at {self.url} (Ctrl-C stops)")
            ctx = self.session.context()
            try:
                provinces = self.session.watched_provinces(ctx)
            except Exception:  # noqa: BLE001
                provinces = [self.key.province]
            watcher = watch.Watcher(watch.watch_roots(self.session.paths, provinces), self.interval)
            self.say(
                "watching "
                + ", ".join(watch.show(self.session.paths, r) + "/" for r in watcher.roots)
                + f" every {self.interval:g} s"
            )
            self.run_once()
            while not self.stop_event.wait(self.interval):
                changed = watcher.poll()
                if not changed:
                    continue
                changed = watcher.settle(changed)
                self.announce(changed)
                self.run_once(changed)
        finally:
            self.close()

    def announce(self, changed: list[Path]) -> None:
        names = [watch.show(self.session.paths, p) for p in changed]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        try:
            steps = self.session.affected(changed)
        except Exception:  # noqa: BLE001 - the config may not load: the run will say why
            steps = ["checking"]
        if steps:
            self.say(f"{shown} changed: {', '.join(steps)} running")
        else:
            self.say(f"{shown} changed: no step of {self.key} reads it")

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        if self.own_signals and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: still shut down
        if self._thread is not None:
            with contextlib.suppress(Exception):
                self.httpd.shutdown()
        with contextlib.suppress(Exception):
            self.httpd.server_close()
        # the kernel's shutdown, with a deadline: Ctrl-C must end the preview even when the
        # kernel does not answer (its process is then killed)
        pid = self.session.kernel_pid()
        done = threading.Thread(target=self.session.shutdown, daemon=True)
        done.start()
        done.join(SHUTDOWN_S)
        if done.is_alive():
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            self.say(f"the kernel did not shut down in {SHUTDOWN_S} s: killed")
        self.say("stopped (kernel shut down)")

    # -- answering ----------------------------------------------------------------------------
    def respond(self, raw_path: str) -> tuple[int, str, bytes, dict]:
        """(status, content type, body, extra headers) for a GET."""
        path = unquote(urlsplit(raw_path).path)
        snap = self.snapshot()
        v = snap["version"]
        if path == page.VERSION_URL:
            return 200, "text/plain; charset=utf-8", str(v).encode(), {}
        if path == "/__preview/status":
            body = json.dumps(snap, ensure_ascii=False).encode("utf-8")
            return 200, "application/json; charset=utf-8", body, {}
        report = self.session.report_name()
        if path == "/":
            return 302, "text/plain", b"", {"Location": "/" + report}
        good = self.session.last_good
        if path in (LAST_GOOD, LAST_GOOD.rstrip("/")):  # the folder: its report
            return 302, "text/plain", b"", {"Location": LAST_GOOD + report}
        if path.startswith(LAST_GOOD):
            return self._file(good, path[len(LAST_GOOD) :], v)
        if path.startswith(CURRENT):
            return self._file(self.session.current, path[len(CURRENT) :], v)
        rel = path.lstrip("/")
        if snap["ok"] is None and not (good / report).is_file():
            return 200, "text/html; charset=utf-8", page.waiting_page(str(self.key), v), {}
        elif snap["ok"] is False and rel.endswith(".html") and not rel.startswith("validation/"):
            href = LAST_GOOD + rel if (good / rel).is_file() else None
            if href is None and (good / report).is_file():
                href = LAST_GOOD + report
            error = dict(snap["error"] or {})
            docs = self.session.current / "validation" / "index.html"
            if (
                error.get("step") == "validate"
                and error.get("key") == str(self.key.data)
                and docs.is_file()
            ):
                error["docs"] = CURRENT + "validation/index.html"  # the failed run's Data Docs
            body = page.error_page(error, str(self.key), v, href, snap["last_good_at"])
            return 200, "text/html; charset=utf-8", body, {}
        return self._file(good, rel, v)

    def _file(self, base: Path, rel: str, version: int) -> tuple[int, str, bytes, dict]:
        target = (base / rel).resolve() if rel else base.resolve()
        try:
            target.relative_to(base.resolve())
        except ValueError:
            return 403, "text/plain", b"forbidden", {}
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return 404, "text/html; charset=utf-8", page.not_found_page(rel, version), {}
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        data = target.read_bytes()
        if ctype == "text/html":
            return 200, "text/html; charset=utf-8", page.inject(data, version), {}
        if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
            ctype += "; charset=utf-8"
        return 200, ctype, data, {}


def _words(error: dict | None) -> dict | None:
    """An error without its time: the same failure again does not reload the page."""
    return None if error is None else {k: v for k, v in error.items() if k != "at"}


def _handler(preview: Preview):
    class Handler(BaseHTTPRequestHandler):
        server_version = "par-review-preview"

        def do_GET(self, body_too: bool = True):  # noqa: N802 - the standard library's name
            try:
                status, ctype, body, headers = preview.respond(self.path)
            except Exception as exc:  # noqa: BLE001 - never kill the server thread
                status, ctype = 500, "text/plain; charset=utf-8"
                body, headers = f"{type(exc).__name__}: {exc}".encode(), {}
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, val in headers.items():
                self.send_header(k, val)
            self.end_headers()
            if body_too:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        def do_HEAD(self):  # noqa: N802 - what a GET would answer, without its body
            self.do_GET(body_too=False)

        def log_message(self, format, *args):  # noqa: A002 - quiet: the loop prints progress
            if args and str(args[1]).startswith("5"):
                super().log_message(format, *args)

    return Handler


def run_preview(
    paths: Paths, year: int | None, lang: str | None, port: int = DEFAULT_PORT, out=None
) -> int:
    """The command: resolve the key, serve until Ctrl-C. Exit 2 on bad usage."""
    from ..config import ConfigError, load_config
    from ..pipeline.kernels import fast_imports
    from ..pipeline.runner import LANGS

    err = out or sys.stderr
    province = paths.province
    if not paths.config.joinpath("province.yml").is_file():
        print(
            f"error: no province {province!r}: config/{province}/province.yml does not exist",
            file=err,
        )
        return 2
    try:
        cfg = load_config(province, paths)
    except ConfigError as exc:
        print(f"error: {exc}", file=err)
        return 2
    years = paths.raw_years()
    if year is None:
        if not years:
            print(f"error: no data/raw/{province}/<year>/ folder", file=err)
            return 2
        year = years[-1]
    elif year not in years:
        print(
            f"error: no raw data for {province} {year}: the data/raw/{province}/<year>/ "
            f"folders are {', '.join(map(str, years)) or 'none'}",
            file=err,
        )
        return 2
    langs = cfg.report_languages
    lang = lang or (cfg.data.get("default_lang") if cfg.data.get("default_lang") in langs else None)
    lang = lang or (langs[0] if langs else "vi")
    if lang not in LANGS:
        print(f"error: unknown language {lang!r}: expected one of {', '.join(LANGS)}", file=err)
        return 2
    fast_imports()
    try:
        preview = Preview(paths, Key(province, year, lang), port=port, out=out)
    except OSError as exc:
        print(f"error: cannot listen on {HOST}:{port}: {exc.strerror or exc}", file=err)
        return 2

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        preview.own_signals = True
        # Ctrl-C stops the preview even when it was started with SIGINT ignored (a job put in
        # the background by a non-interactive shell inherits that, and Python keeps it)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                signal.signal(sig, interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        preview.serve()
    return 0
