"""The report's PDF printer: one warm headless Chromium per process, driven over the
DevTools protocol on a pipe (no port, no extra Python package).

    pdf = print_pdf(html)      # A4 PDF bytes: tagged, fonts embedded, the same bytes every time

The browser is started on the first call (about 1-2 s), kept for every later report of the
process (a build kernel renders many) and closed when the process exits; it is restarted if
it died, and a print that hangs is stopped after `timeout` seconds (the browser is then
killed and started again once). It loads nothing from the network: every request that is
not a data: URL is refused (Fetch domain), a proxy that does not exist and a resolver that
resolves nothing back that up, and the page is given as a string (Page.setDocumentContent),
so relative links resolve to nothing and no path of the build machine gets into the file.

Chromium writes the time of printing (/CreationDate, /ModDate) and the DOM node numbers of
the renderer (table header ids of the tagged structure, `/ID (node00000068)`: they depend on
how many documents the renderer loaded before) into the PDF. `normalise_pdf` drops the dates,
numbers the node ids in order of appearance, names par-review as the creator and rewrites
the cross-reference table, so the same HTML gives the same bytes in any process, folder and
time zone. docs/report.md ("PDF route") has the measurements behind the choice.
"""

from __future__ import annotations

import atexit
import base64
import bisect
import contextlib
import json
import os
import re
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .. import __version__

CANDIDATES = (
    "/usr/lib/chromium/chromium",  # Debian: the binary behind the /usr/bin/chromium wrapper
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
    "headless_shell",
)
FLAGS = (
    "--headless",
    "--no-sandbox",  # the build may run as root (containers, CI)
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    # one process instead of about ten: its RSS is about 0.6 GiB, the family's summed RSS
    # 1.1-1.2 GiB (the build's memory is measured as the sum). Not with --js-flags=--lite-mode
    # (it saves 130 MB more, but the browser then crashes every few prints).
    "--single-process",
    "--no-zygote",
    "--disable-dev-shm-usage",  # containers have a small /dev/shm
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--font-render-hinting=none",
    "--proxy-server=127.0.0.1:9",  # belt and braces: requests are refused before this
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
)
PRINT_OPTIONS = {
    "preferCSSPageSize": True,  # @page { size: A4; margin: ... } of the report's CSS
    "printBackground": True,  # table header bands, striping, the simulated-data band
    "generateTaggedPDF": True,  # headings, tables, figures with their alt text
    "generateDocumentOutline": True,  # bookmarks from the headings
    "displayHeaderFooter": False,  # the page's own @page margin boxes instead
}
# the page's load event (every image loaded) and its fonts, then the number of broken images
# (not img.decode(): in --single-process mode it crashed the browser when a page with images
# followed one without)
READY = (
    "(document.readyState === 'complete' ? Promise.resolve() : new Promise(r => "
    "window.addEventListener('load', r, {once: true}))).then(() => document.fonts.ready)"
    ".then(() => Array.from(document.images).filter(i => !i.complete || !i.naturalWidth).length)"
)

# The browser runs under a small reaper (this interpreter, no site, no imports of ours):
# Chromium double-forks helpers (the crash handler) that would otherwise be orphaned to
# PID 1, which in a container often reaps nothing. The reaper is their "subreaper", waits
# for all of them, and ends when the browser ends (the browser ends when our end of the
# pipe closes, so even a killed kernel leaves nothing running, not even the profile folder).
REAPER = """
import ctypes, os, signal, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
browser = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
os.close(3); os.close(4)
signal.signal(signal.SIGTERM, lambda *a: os.kill(browser, signal.SIGKILL))
done = None
while True:
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG if done else 0)
    except ChildProcessError:
        break
    if pid == browser:
        done = time.monotonic()
    elif pid == 0:
        if time.monotonic() - done > 2:
            for d in os.listdir("/proc"):
                try:
                    if d.isdigit() and open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1] == str(os.getpid()):
                        os.kill(int(d), signal.SIGKILL)
                except (OSError, IndexError):
                    pass
        time.sleep(0.05)
import shutil
shutil.rmtree(os.environ.get("PAR_CHROMIUM_PROFILE", "/nonexistent"), ignore_errors=True)
"""


BLANK = "<!DOCTYPE html><html><head><title>-</title></head><body></body></html>"

# A page given to the browser is laid out, painted and rasterised for its screen as well,
# which nobody sees: about 0.15 CPU s of a report's 0.55 s print. The printer hides the
# screen rendering; the print media rules are untouched and the PDF's bytes are the same
# (tested). Not for a page with web fonts: those load when first laid out, which
# `document.fonts.ready` (READY) waits for before printing.
SCREEN_OFF = "<style>@media screen{html{display:none!important}}</style>"
_HEAD = re.compile(r"<head\b[^>]*>", re.I)


def screen_off(html: str) -> str:
    """`html` with the screen rendering off (SCREEN_OFF in its head), for printing only."""
    if "@font-face" in html:
        return html
    m = _HEAD.search(html)
    return html[: m.end()] + SCREEN_OFF + html[m.end() :] if m else html + SCREEN_OFF


class PrinterError(RuntimeError):
    """Chromium is missing, died, timed out or refused the page."""


def find_chromium() -> str:
    """The browser binary: $PAR_REVIEW_CHROMIUM, else the first of CANDIDATES found."""
    env = os.environ.get("PAR_REVIEW_CHROMIUM")
    for c in (env,) if env else CANDIDATES:
        path = c if os.path.isabs(c) else shutil.which(c)
        if path and os.access(path, os.X_OK):
            return path
    raise PrinterError(
        "no Chromium to print the PDF with: install the Debian package `chromium` "
        "(scripts/bootstrap.sh does) or set PAR_REVIEW_CHROMIUM to the browser binary"
    )


_VERSION: dict[str, str] = {}


def browser_version(binary: str | None = None) -> str:
    """The printing browser's version ("Chromium 156.0.8078.114"): the PDF's bytes depend on
    it, so a build's fingerprint of the report step should include it. About 50 ms, once."""
    import subprocess

    binary = binary or find_chromium()
    if binary not in _VERSION:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        _VERSION[binary] = " ".join(out.stdout.split()) or f"unknown ({binary})"
    return _VERSION[binary]


class Chromium:
    """One headless browser and one page, reused for every print; thread-safe."""

    def __init__(self, binary: str | None = None, timeout: float = 120.0) -> None:
        self.binary = binary
        self.timeout = timeout
        self.pid: int | None = None
        self.owner: int | None = None  # the process that started it (not a forked child)
        self._lock = threading.RLock()
        self._w = self._r = -1
        self._buf = b""
        self._id = 0
        self._session: str | None = None
        self._frame: str | None = None
        self._profile: str | None = None
        self.refused: list[str] = []  # the URLs a page asked for and did not get
        self.starts = 0  # how many times a browser was started (1 unless one died)

    # ----------------------------------------------------------------- life cycle
    def alive(self) -> bool:
        return self.pid is not None and self.owner == os.getpid() and not _exited(self.pid)

    def start(self) -> None:
        binary = self.binary or find_chromium()
        self._profile = tempfile.mkdtemp(prefix="par-chromium-")
        to_browser = os.pipe()  # the browser reads commands on fd 3
        from_browser = os.pipe()  # and writes replies and events on fd 4
        log = os.path.join(self._profile, "chromium.log")
        actions = [
            (os.POSIX_SPAWN_DUP2, to_browser[0], 3),
            (os.POSIX_SPAWN_DUP2, from_browser[1], 4),
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        ]
        args = [binary, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"]
        args = [sys.executable, "-I", "-S", "-c", REAPER, *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("http_", "HTTP"))}
        env.setdefault("TZ", "UTC")
        env["PAR_CHROMIUM_PROFILE"] = self._profile  # the reaper removes it (even if we die)
        try:
            # posix_spawn, not fork: safe in a kernel with threads; its own process group
            self.pid = os.posix_spawn(args[0], args, env, file_actions=actions, setsid=True)
        finally:
            os.close(to_browser[0])
            os.close(from_browser[1])
        self.owner = os.getpid()
        self.starts += 1
        self._w, self._r = to_browser[1], from_browser[0]
        self._buf, self._session, self._frame = b"", None, None
        # the tab the browser opened (a second tab would cost a second renderer process)
        targets = self._send("Target.getTargets", timeout=60)["targetInfos"]
        pages = [t["targetId"] for t in targets if t.get("type") == "page"]
        if not pages:
            pages = [self._send("Target.createTarget", {"url": "about:blank"})["targetId"]]
        self._session = self._send(
            "Target.attachToTarget", {"targetId": pages[0], "flatten": True}
        )["sessionId"]
        # refuse every request that is not a data: URL (the report embeds all it shows)
        self._send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, self._session)
        self._send("Emulation.setScriptExecutionDisabled", {"value": True}, self._session)
        tree = self._send("Page.getFrameTree", {}, self._session)
        self._frame = tree["frameTree"]["frame"]["id"]

    def close(self) -> None:
        """Stop the browser (politely, then by force) and reap it: no zombie, no profile."""
        with self._lock:
            pid, self.pid = self.pid, None
            if pid is not None and self.owner == os.getpid():
                with contextlib.suppress(OSError):
                    self._write({"id": 0, "method": "Browser.close"})
                deadline = time.monotonic() + 3.0
                while not _exited(pid) and time.monotonic() < deadline:
                    time.sleep(0.02)
                # what is left of its process group (the leader is not reaped yet, so the
                # group id cannot have been reused)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            for fd in (self._w, self._r):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._w = self._r = -1
            if self._profile:
                shutil.rmtree(self._profile, ignore_errors=True)
                self._profile = None

    # ----------------------------------------------------------------- printing
    def print_pdf(self, html: str) -> bytes:
        """The page `html` printed to PDF (raw Chromium bytes, not normalised). Starts the
        browser if needed; one more try on a fresh browser if it died or timed out."""
        with self._lock:
            for attempt in (1, 2):
                if not self.alive():
                    self.close()
                    self.start()
                try:
                    return self._print(html)
                except (OSError, EOFError, TimeoutError, _ProtocolError) as exc:
                    self.close()
                    if attempt == 2:
                        raise PrinterError(f"Chromium could not print the report: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _print(self, html: str) -> bytes:
        s = self._session
        page = {"frameId": self._frame, "html": screen_off(html)}
        self._send("Page.setDocumentContent", page, s)
        broken = self._send(
            "Runtime.evaluate",
            {"expression": READY, "awaitPromise": True, "returnByValue": True},
            s,
        )["result"].get("value")
        if broken:
            raise PrinterError(f"{broken} image(s) of the report could not be decoded")
        reply = self._send("Page.printToPDF", PRINT_OPTIONS, s)
        # an empty page until the next report: the renderer frees this one's memory
        self._send("Page.setDocumentContent", {"frameId": self._frame, "html": BLANK}, s)
        return base64.b64decode(reply["data"])

    # ----------------------------------------------------------------- protocol
    def _write(self, msg: dict[str, Any]) -> None:
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._w, data) :]

    def _send(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict:
        self._id += 1
        mid = self._id
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._write(msg)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read(deadline, method)
            if reply.get("id") == mid:
                if "error" in reply:
                    raise _ProtocolError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._event(reply)

    def _event(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        if method == "Fetch.requestPaused":
            p = msg["params"]
            if p["request"]["url"].startswith("data:"):
                cmd = {"method": "Fetch.continueRequest", "params": {"requestId": p["requestId"]}}
            else:
                self.refused.append(p["request"]["url"])
                cmd = {
                    "method": "Fetch.failRequest",
                    "params": {"requestId": p["requestId"], "errorReason": "BlockedByClient"},
                }
            self._id += 1  # its reply is read and dropped like an event
            self._write({"id": -self._id, "sessionId": msg.get("sessionId"), **cmd})
        elif method in ("Inspector.detached", "Target.targetCrashed", "Target.detachedFromTarget"):
            raise _ProtocolError(f"the page went away ({method})")

    def _read(self, deadline: float, method: str) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError(f"no answer from Chromium to {method} in time")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError(f"Chromium closed the pipe during {method}")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)


class _ProtocolError(RuntimeError):
    pass


def _exited(pid: int) -> bool:
    """Whether child `pid` has ended, without reaping it (its pid stays reserved)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


# --------------------------------------------------------------------------- normalising
_LITERAL = rb"\((?:\\.|[^\\()])*\)"
_DATE = re.compile(rb"\s*/(?:CreationDate|ModDate)\s*" + _LITERAL)
_CREATOR = re.compile(rb"/Creator\s*" + _LITERAL)
_NODE_ID = re.compile(rb"\(node(\d+)\)")
_STREAM = re.compile(rb"stream\r?\n.*?endstream", re.S)
_TRAILER_INFO = re.compile(rb"trailer\s*<<.*?/Info\s+(\d+)\s+0\s+R", re.S)
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")


def normalise_pdf(pdf: bytes, creator: str | None = None) -> bytes:
    """Chromium's PDF without what changes from one print to the next (see the module
    docstring): dates dropped, node ids numbered 1, 2, ... in order, the creator set; the
    cross-reference table and startxref rewritten for the new offsets."""
    start = pdf.rindex(b"startxref")
    xref_at = int(pdf[start + 9 :].split()[0])
    body, tail = pdf[:xref_at], pdf[xref_at:start]
    creator_b = (creator or f"par-review {__version__}").encode("ascii")
    creator_b = creator_b.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")

    edits: list[tuple[int, int, bytes]] = []  # (start, end, replacement) in `body`
    m = _TRAILER_INFO.search(tail)
    if m:
        obj = re.compile(rb"(?:^|\n)" + m.group(1) + rb" 0 obj\b(.*?)endobj", re.S)
        info = obj.search(body)
        if info:
            for d in _DATE.finditer(body, info.start(1), info.end(1)):
                edits.append((d.start(), d.end(), b""))
            c = _CREATOR.search(body, info.start(1), info.end(1))
            if c:
                edits.append((c.start(), c.end(), b"/Creator (" + creator_b + b")"))
    numbers: dict[bytes, int] = {}
    pos = 0
    for stream in [*_STREAM.finditer(body), None]:  # ids only outside stream data
        end = stream.start() if stream else len(body)
        for n in _NODE_ID.finditer(body, pos, end):
            k = numbers.setdefault(n.group(1), len(numbers) + 1)
            edits.append((n.start(), n.end(), b"(node%08d)" % k))
        pos = stream.end() if stream else end
    edits.sort()

    out, starts, shifts, shift, last = [], [], [], 0, 0
    for a, b, new in edits:
        out += [body[last:a], new]
        shift += len(new) - (b - a)
        starts.append(b)
        shifts.append(shift)
        last = b
    out.append(body[last:])

    def moved(offset: int) -> int:
        i = bisect.bisect_right(starts, offset)
        return offset + (shifts[i - 1] if i else 0)

    def entry(e: re.Match) -> bytes:  # an object in use moves; a free entry does not
        offset = int(e.group(1))
        return b"%010d %s %s" % (moved(offset) if e.group(3) == b"n" else offset, *e.group(2, 3))

    new_tail = _XREF_ENTRY.sub(entry, tail)
    return b"".join(out) + new_tail + b"startxref\n%d\n%%%%EOF\n" % moved(xref_at)


# --------------------------------------------------------------------------- one per process
_BROWSER: Chromium | None = None
_GUARD = threading.Lock()


def browser() -> Chromium:
    """This process's browser (created on first use, closed at exit)."""
    global _BROWSER
    with _GUARD:
        if _BROWSER is None or _BROWSER.owner not in (None, os.getpid()):
            _BROWSER = Chromium()
            atexit.register(_BROWSER.close)
        return _BROWSER


def print_pdf(html: str) -> bytes:
    """`html` printed by this process's warm Chromium, normalised (same HTML, same bytes)."""
    return normalise_pdf(browser().print_pdf(html))


def print_file(html_path: str | Path, pdf_path: str | Path | None = None) -> Path:
    """Print a written report page (report.<lang>.html) to its PDF (report.<lang>.pdf beside
    it unless `pdf_path` is given), written atomically: the same bytes as printing the HTML
    string. The build prints every PDF this way in its own process, with one warm browser
    for all its kernels (a browser per kernel took the build over 1.5 GiB)."""
    html_path = Path(html_path)
    target = Path(pdf_path) if pdf_path else html_path.with_suffix(".pdf")
    pdf = print_pdf(html_path.read_text(encoding="utf-8"))
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_bytes(pdf)
    os.replace(tmp, target)
    return target


def prewarm() -> None:
    """Start the browser now (a build kernel's warm-up), not at the first report."""
    b = browser()
    with b._lock:
        if not b.alive():
            b.close()
            b.start()


def profile_dir() -> Path | None:  # for diagnostics: chromium.log lives there
    return Path(_BROWSER._profile) if _BROWSER and _BROWSER._profile else None
