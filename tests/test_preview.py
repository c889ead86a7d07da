"""`par-review preview`: the page injection, the watcher (which changed paths re-run which
steps), the server's answers, and (slow) the whole loop on a temporary project copy with
the small second province: serve on port 0, change a config wording, break a raw file,
fix it, stop with Ctrl-C. Behaviour only, never timings."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from par_review.paths import PACKAGE_DIR, Paths
from par_review.pipeline.steps import BY_NAME, Key
from par_review.preview import page, watch
from par_review.preview.server import Preview
from par_review.preview.session import Outcome, Session, error_of_notebook
from tests.conftest import REPO, make_project_copy

FIXTURE = REPO / "tests" / "fixtures" / "provinces" / "tinh_mau"


# ------------------------------------------------------------------------- page injection
def test_script_goes_before_the_last_body_end_and_nowhere_else():
    html = "<html><body><p>x</p><!-- </body> in a comment --></BODY></html>"
    out = page.inject(html, 7).decode("utf-8")
    assert out.count(page.MARKER) == 1
    script_at = out.index(f"<script {page.MARKER}>")
    assert script_at < out.index("</BODY>")
    assert script_at > out.index("in a comment")
    assert out.replace(page.reload_script(7), "") == html
    assert "'7'" in page.reload_script(7)


def test_script_is_ours_and_offline():
    s = page.reload_script(3)
    assert page.VERSION_URL in s
    assert "http" not in s and "src=" not in s  # no CDN, no external file
    assert "location.reload" in s


def test_page_without_body_gets_the_script_at_the_end():
    out = page.inject(b"<p>bare</p>", "12")
    assert out.startswith(b"<p>bare</p>") and out.endswith(b"</script>")


def test_version_cannot_break_out_of_the_script():
    assert "</script>" not in page.reload_script("1'</script><script>alert(1)")[:-9]


def test_error_page_shows_the_message_in_both_languages_and_links_the_last_good():
    err = {
        "step": "clean",
        "key": "tinh_mau/2024",
        "message": "InputError: tệp.csv, dòng 3: không phải là số\ntệp.csv, row 3: not a number <b>",
    }
    body = page.error_page(err, "tinh_mau/2024/vi", 4, "/last-good/report.vi.html").decode()
    assert "không phải là số" in body and "not a number" in body
    assert "&lt;b&gt;" in body  # escaped
    assert 'href="/last-good/report.vi.html"' in body
    assert "Bản xem trước chưa cập nhật được" in body and "could not be updated" in body
    assert page.MARKER in body
    none = page.error_page(err, "tinh_mau/2024/vi", 4, None).decode()
    assert "last-good" not in none and "no good preview yet" in none


# ------------------------------------------------------------------------- the watcher
def test_scan_and_diff_see_created_changed_and_deleted_files(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"0")
    w = watch.Watcher([tmp_path])
    assert w.poll() == []
    (tmp_path / "a.txt").write_text("a, longer")
    (tmp_path / "b.txt").unlink()
    (tmp_path / "c.txt").write_text("c")
    (tmp_path / "__pycache__" / "y.pyc").write_bytes(b"1")
    (tmp_path / "~$lock.xlsx").write_bytes(b"")
    assert w.poll() == sorted(tmp_path / n for n in ("a.txt", "b.txt", "c.txt"))
    assert w.poll() == []


@pytest.fixture(scope="module")
def kh(tmp_path_factory) -> Session:
    """A session for the Khánh Hòa 2022 report (Vietnamese) on a project copy; nothing runs."""
    paths = make_project_copy(tmp_path_factory.mktemp("pv") / "proj")
    return Session(paths.of("khanh_hoa"), Key("khanh_hoa", 2022, "vi"), say=lambda m: None)


def test_a_report_code_or_notebook_change_re_runs_only_the_report(kh):
    assert kh.affected([PACKAGE_DIR / "report" / "charts.py"]) == ["report vi"]
    assert kh.affected([kh.paths.notebooks / "40_report.ipynb"]) == ["report vi"]


def test_a_locale_change_re_runs_only_the_report(kh):
    assert kh.affected([PACKAGE_DIR / "locales" / "vi.yml"]) == ["report vi"]


def test_a_raw_change_of_the_year_re_runs_every_step_of_that_year(kh):
    raw = next(f for f in kh.paths.raw_year(2022).iterdir() if f.is_file())
    steps = kh.affected([raw])
    assert steps == ["clean", "validate", "analyse", "report vi"]


def test_a_raw_change_of_an_earlier_year_re_runs_its_data_steps_and_the_figures(kh):
    raw = next(f for f in kh.paths.raw_year(2021).iterdir() if f.is_file())
    steps = kh.affected([raw])
    assert steps[:2] == ["clean khanh_hoa/2021", "validate khanh_hoa/2021"]
    assert "analyse" in steps and "report vi" in steps
    assert "clean" not in steps and "validate" not in steps  # 2022's tables are not touched


def test_a_change_the_report_does_not_read_re_runs_nothing(kh):
    later = max(kh.paths.raw_years())
    assert later > 2022
    raw = next(f for f in kh.paths.raw_year(later).iterdir() if f.is_file())
    assert kh.affected([raw]) == []
    assert kh.affected([PACKAGE_DIR / "audit" / "check.py"]) == []
    assert kh.affected([PACKAGE_DIR / "pipeline" / "runner.py"]) == []


def test_a_config_change_re_runs_what_declares_the_config(kh):
    steps = kh.affected([kh.paths.config / "province.yml"])
    assert {"clean", "validate", "analyse", "report vi"} <= set(steps)


def test_code_changes_make_the_kernel_import_the_package_again(kh):
    assert watch.code_changed([PACKAGE_DIR / "locales" / "en.yml"])
    assert not watch.code_changed([kh.paths.config / "province.yml"])


def test_a_code_change_is_hashed_again_not_taken_from_the_builds_once_per_process_hashes(kh):
    from par_review.pipeline import fingerprint as fpr

    report = BY_NAME["report"]
    fresh = dict(fpr.code_files(report))
    fpr._code["report"]["code:report/charts.py"] = "as hashed before the edit"
    assert fpr.code_files(report)["code:report/charts.py"] == "as hashed before the edit"
    kh.forget_package()  # what the session does when the watcher names a package file
    assert fpr.code_files(report) == fresh


def test_error_of_notebook_keeps_every_line_of_the_message(tmp_path):
    nb = tmp_path / "x.ipynb"
    out = {"output_type": "error", "ename": "InputError", "evalue": "dòng 3: lỗi\nrow 3: bad"}
    nb.write_text(json.dumps({"cells": [{"outputs": []}, {"outputs": [out]}]}), "utf-8")
    assert error_of_notebook(nb) == "InputError: dòng 3: lỗi\nrow 3: bad"
    assert error_of_notebook(tmp_path / "missing.ipynb") == ""


def test_the_builds_records_spare_the_preview_what_the_build_already_did(tmp_path):
    """The clean step's outputs are the build's own and an earlier year is only read: when
    build/state.json says they are current (same fingerprint, same outputs), the preview
    does not redo them; the build's state is only read."""
    from par_review.clean.tables import clean_year
    from par_review.pipeline import fingerprint as fpr
    from par_review.pipeline.state import VERSION
    from par_review.pipeline.steps import BY_NAME

    root = tmp_path / "proj"
    shutil.copytree(FIXTURE / "config", root / "config")
    shutil.copytree(FIXTURE / "data" / "raw", root / "data" / "raw")
    paths = Paths(root, "tinh_mau")
    clean_year(2023, paths, "tinh_mau")
    s = Session(paths, Key("tinh_mau", 2024, "vi"), say=lambda m: None)
    ctx = s.context()
    old, clean, validate = Key("tinh_mau", 2023), BY_NAME["clean"], BY_NAME["validate"]
    assert s.decide(clean, old, ctx)[0] and s.decide(validate, old, ctx)[0]

    m = fpr.input_manifest(clean, old, ctx, s.report_dir(old))
    outs = fpr.output_signature(clean.outputs(old, ctx), root, s.report_dir(old))
    vfp = fpr.fingerprint(fpr.input_manifest(validate, old, ctx, s.report_dir(old)))
    rec = {"fp": fpr.fingerprint(m), "inputs": m, "outputs": outs, "at": "t"}
    built = {
        "version": VERSION,
        "keys": {
            "tinh_mau/2023": {
                "steps": {"clean": rec},
                "validated": {"fp": vfp, "ok": True},
                "last": {},
            }
        },
    }
    (root / "build").mkdir()
    (root / "build" / "state.json").write_text(json.dumps(built), "utf-8")
    before = (root / "build" / "state.json").read_bytes()

    s = Session(paths, Key("tinh_mau", 2024, "vi"), say=lambda m: None)
    assert s.decide(clean, old, ctx)[0] is False
    assert s.decide(validate, old, ctx)[0] is False
    assert s.state.key(old)["validated"]["ok"] is True  # what the gate reads
    # the year shown still gets its own validation (its Data Docs are on the page)
    assert s.decide(validate, Key("tinh_mau", 2024), ctx)[0] is True
    # a raw change: the build's record no longer holds
    raw = paths.raw_year(2023) / "co_quan.csv"
    raw.write_text(raw.read_text("utf-8") + "\n", "utf-8")
    s = Session(paths, Key("tinh_mau", 2024, "vi"), say=lambda m: None)
    assert s.decide(clean, old, s.context())[0] is True
    assert (root / "build" / "state.json").read_bytes() == before


# ------------------------------------------------------------------------- the server's answers
def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def test_the_server_serves_the_last_good_copy_with_the_script_and_the_error_instead(tmp_path):
    paths = Paths(tmp_path, "tinh_mau")
    pv = Preview(paths, Key("tinh_mau", 2024, "vi"), port=0, out=io.StringIO())
    pv.start_server()
    try:
        status, body = _get(pv.url)
        assert status == 200 and "Đang dựng" in body and page.MARKER in body

        good = pv.session.last_good
        good.mkdir(parents=True)
        on_disk = "<html><body><h1>Báo cáo 2024</h1></body></html>"
        (good / "report.vi.html").write_text(on_disk, "utf-8")
        (good / "data.csv").write_text("a,b\n", "utf-8")
        pv._finish(Outcome(ok=True, ran=["report vi"]))
        v1 = _get(pv.url + "__preview/version")[1]
        status, body = _get(pv.url)
        assert status == 200 and "Báo cáo 2024" in body and f"var v='{v1}'" in body
        assert (good / "report.vi.html").read_text("utf-8") == on_disk  # nothing on disk
        assert _get(pv.url + "data.csv") == (200, "a,b\n")
        assert _get(pv.url + "../state.json")[0] in (403, 404)
        assert _get(pv.url + "report.en.html")[0] == 404

        err = {"step": "clean", "key": "tinh_mau/2024", "message": "InputError: dòng 3\nrow 3"}
        pv._finish(Outcome(ok=False, error=dict(err, at="t1")))
        v2 = _get(pv.url + "__preview/version")[1]
        assert v2 != v1
        status, body = _get(pv.url + "report.vi.html")
        assert "dòng 3" in body and "row 3" in body and "Báo cáo 2024" not in body
        assert 'href="/last-good/report.vi.html"' in body
        assert "Báo cáo 2024" in _get(pv.url + "last-good/report.vi.html")[1]
        # the folder the terminal names leads to its report; HEAD answers as GET does
        assert "Báo cáo 2024" in _get(pv.url + "last-good/")[1]
        head = urllib.request.urlopen(urllib.request.Request(pv.url + "data.csv", method="HEAD"))
        assert head.status == 200 and head.headers["Content-Length"] == "4" and not head.read()
        pv._finish(Outcome(ok=False, error=dict(err, at="t2")))  # the same failure again
        assert _get(pv.url + "__preview/version")[1] == v2
        status = json.loads(_get(pv.url + "__preview/status")[1])
        assert status["ok"] is False and status["error"]["step"] == "clean"
        assert status["last_good_at"]

        # a failed validation of the year shown: its Data Docs (in current/) are linked
        docs = pv.session.current / "validation"
        docs.mkdir(parents=True)
        (docs / "index.html").write_text("<html><body>Data Docs</body></html>", "utf-8")
        pv._finish(Outcome(ok=False, error={"step": "validate", "key": "tinh_mau/2024"}))
        body = _get(pv.url + "report.vi.html")[1]
        assert 'href="/current/validation/index.html"' in body
        assert "Data Docs" in _get(pv.url + "current/validation/index.html")[1]
    finally:
        pv.close()
    assert pv.httpd.socket.fileno() == -1
    assert pv.url.startswith("http://127.0.0.1:")


# ------------------------------------------------------------------------- end to end
def _tree_hash(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _kernels_of(root: Path) -> list[int]:
    """Live kernel processes started for the project `root` (their PAR_REVIEW_ROOT)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
            env = (d / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ipykernel" in cmd and f"PAR_REVIEW_ROOT={root}".encode() in env:
            pids.append(int(d.name))
    return pids


class _Proc:
    def __init__(self, root: Path):
        env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
        self.root = root
        self.p = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "par_review.cli",
                "--root",
                str(root),
                "--province",
                "tinh_mau",
                "preview",
                "--year",
                "2024",
                "--lang",
                "vi",
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, what, timeout: float = 900.0, every: float = 0.2):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = what()
            if got:
                return got
            assert self.p.poll() is None, f"preview exited:\n{self.log()}"
            time.sleep(every)
        raise AssertionError(f"timed out; preview printed:\n{self.log()}")


@pytest.mark.slow
def test_preview_end_to_end(tmp_path):
    root = (tmp_path / "proj").resolve()
    make_project_copy(root)
    shutil.copytree(FIXTURE / "config" / "tinh_mau", root / "config" / "tinh_mau")
    shutil.copytree(FIXTURE / "data" / "raw" / "tinh_mau", root / "data" / "raw" / "tinh_mau")
    from par_review.validation.suites import write_project

    write_project(Paths.from_root(root))
    published = root / "reports" / "tinh_mau" / "2024"
    published.mkdir(parents=True)
    (published / "report.vi.html").write_text("<html><body>published</body></html>", "utf-8")
    before = _tree_hash(root / "reports")

    proc = _Proc(root)
    try:
        url = proc.wait_for(
            lambda: next((w for ln in proc.lines for w in ln.split() if "127.0.0.1:" in w), None)
        )
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")

        def status():
            return json.loads(_get(url + "__preview/status")[1])

        first = proc.wait_for(lambda: (s := status())["ok"] is not None and s)
        assert first["ok"] is True, first
        code, body = _get(url)
        assert code == 200 and page.MARKER in body and "Tỉnh Mẫu" in body
        assert "watching" in proc.log() and "ready in" in proc.log()

        # a wording change in the config: the new words are served, the version moved
        cfg = root / "config" / "tinh_mau" / "province.yml"
        words = "Số liệu chính XEM TRƯỚC"
        with cfg.open("a", encoding="utf-8") as fh:
            fh.write(f'\nwording: {{vi: {{"sections.key_figures": "{words}"}}}}\n')
        proc.wait_for(
            lambda: (
                status()["version"] > first["version"] and words in _get(url + "report.vi.html")[1]
            )
        )
        assert "config/tinh_mau/province.yml changed" in proc.log()

        # a bad raw value: the page shows the step's message and links the last good copy
        raw = root / "data" / "raw" / "tinh_mau" / "2024" / "co_quan.csv"
        good_bytes = raw.read_bytes()
        text = good_bytes.decode("utf-8")
        assert '"95,21"' in text
        raw.write_text(text.replace('"95,21"', '"abc"'), "utf-8")
        bad = proc.wait_for(lambda: (s := status())["ok"] is False and not s["running"] and s)
        assert bad["error"]["step"] == "clean" and bad["error"]["kind"] == "input"
        code, body = _get(url + "report.vi.html")
        assert "abc" in body and "không phải là số" in body and "not a number" in body
        assert "co_quan.csv" in body
        assert 'href="/last-good/report.vi.html"' in body and words not in body
        code, good_page = _get(url + "last-good/report.vi.html")
        assert code == 200 and words in good_page and page.MARKER in good_page

        # fixed again: the report is back
        raw.write_bytes(good_bytes)
        proc.wait_for(lambda: (s := status())["ok"] is True and not s["running"])
        assert words in _get(url + "report.vi.html")[1]

        # what the preview wrote: build/preview only; no script in any file on disk
        assert _tree_hash(root / "reports") == before
        assert not (root / "build" / "state.json").exists()
        assert {p.name for p in (root / "build").iterdir()} == {"preview"}
        for f in (root / "build" / "preview").rglob("*.html"):
            assert page.MARKER not in f.read_text("utf-8", errors="replace"), f
        assert _kernels_of(root), "the session's warm kernel should be running"
    finally:
        if proc.p.poll() is None:
            proc.p.send_signal(signal.SIGINT)
        try:
            rc = proc.p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.p.kill()
            raise AssertionError(f"the preview did not stop on Ctrl-C:\n{proc.log()}") from None
    assert rc == 0, proc.log()
    assert "stopped (kernel shut down)" in proc.log()
    deadline = time.monotonic() + 10
    while _kernels_of(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _kernels_of(root) == []
