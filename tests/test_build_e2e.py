"""End-to-end: the real pipeline (papermill, Great Expectations, nbconvert, WeasyPrint) on a
temporary copy of the project. Slow: these run in CI through `make test`.

The module builds once through the exact cron command line from the README, then checks
no-op builds, incremental rebuilds, failures that keep the published report, concurrent
runs, a kill -9 in the middle, and byte-identical rebuilds."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, make_project_copy

pytestmark = pytest.mark.slow
PY = sys.executable
YEARS = [2018, 2019, 2020, 2021, 2022]


def cli(root: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
    return subprocess.run(
        [PY, "-m", "par_review.cli", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def snapshot(reports: Path) -> dict[str, str]:
    """Every published file's content hash (manifest.json included: a no-op leaves it too)."""
    return {
        p.relative_to(reports).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(reports.rglob("*"))
        if p.is_file()
    }


def ran_steps(root: Path) -> dict[int, list[str]]:
    out = {}
    for y in YEARS:
        m = root / "reports" / str(y) / "manifest.json"
        if m.exists():
            steps = json.loads(m.read_text(encoding="utf-8"))["steps"]
            out[y] = [s for s, v in steps.items() if v["ran"]]
    return out


def cron_command(root: Path, log: Path) -> str:
    """The cron line of the README, pointed at `root`."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if re.match(r"^\S+ \S+ \* \* \*\s+cd ", ln))
    command = re.split(r"\*\s+\*\s+\*\s+", line, maxsplit=1)[1].strip()
    return command.replace("/srv/par-review", str(root)).replace(
        "/var/log/par-review.log", str(log)
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = make_project_copy(tmp_path_factory.mktemp("e2e") / "proj").root
    for rel in ("Makefile", "pyproject.toml", "scripts", "README.md"):
        src = REPO / rel
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / rel)
    # the environment is the checkout's: make sure it is current, so the copy's `make`
    # finds it installed and does not try to install the project from the copy
    subprocess.run(
        ["bash", str(REPO / "scripts" / "bootstrap.sh"), "report"], check=True, timeout=900
    )
    os.symlink(REPO / ".venv", root / ".venv")
    log = root / "cron.log"
    cmd = cron_command(root, log)
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
    proc = subprocess.run(
        ["bash", "-c", cmd], capture_output=True, text=True, timeout=1800, env=env
    )
    assert proc.returncode == 0, log.read_text(encoding="utf-8")[-4000:]
    return root, log.read_text(encoding="utf-8")


def test_full_build_through_the_cron_line_publishes_every_year(built):
    root, log = built
    for y in YEARS:
        d = root / "reports" / str(y)
        for name in (
            "report.html",
            "report.pdf",
            "metrics.json",
            "manifest.json",
            "validation/index.html",
        ):
            assert (d / name).is_file(), f"{y}/{name} missing"
        assert (root / "build" / "logs" / str(y) / "40_report.ipynb").is_file()  # kept for audit
        assert not (d / "40_report.ipynb").exists()  # executed notebooks are not published
    assert (root / "reports" / "index.html").is_file()
    assert "2022 published" in log and "total" in log  # progress and summary were printed
    assert ran_steps(root) == {y: ["clean", "validate", "analyse", "report"] for y in YEARS}


def test_noop_build_executes_nothing_and_changes_no_byte(built):
    root, _ = built
    before = snapshot(root / "reports")
    out = cli(root, "build")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 kernel(s)" in out.stdout
    assert all(
        "up-to-date" in ln for ln in out.stdout.splitlines() if re.match(r"^\[.*\] 20\d\d  ", ln)
    )
    assert snapshot(root / "reports") == before


def _bump_score(xlsx: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(xlsx)
    ws = wb.worksheets[0]
    for row in ws.iter_rows():
        vals = [c.value for c in row]
        if (
            isinstance(vals[0], int)
            and isinstance(vals[-2], float)
            and 86 < vals[-2] < 99
            and vals[2] < 9.9
        ):
            row[2].value = round(vals[2] + 0.01, 2)
            row[-3].value = round(vals[-3] + 0.01, 2)
            row[-2].value = round(vals[-2] + 0.01, 2)
            break
    wb.save(xlsx)


def test_changing_one_raw_file_rebuilds_that_year_and_its_dependants_only(built):
    root, _ = built
    before = snapshot(root / "reports")
    _bump_score(root / "data" / "raw" / "khanh_hoa" / "2021" / "provincial.xlsx")
    out = cli(root, "build")
    assert out.returncode == 0, out.stdout + out.stderr
    after = snapshot(root / "reports")
    changed_years = sorted(
        {int(k.split("/")[0]) for k in after if k[:4].isdigit() and after[k] != before.get(k)}
    )
    # 2021 changed; 2022 compares itself with 2021 (movements, changes); 2018-2020 untouched
    assert changed_years == [2021, 2022]
    steps = ran_steps(root)
    assert steps[2021] == ["clean", "validate", "analyse", "report"]
    assert steps[2022] == ["analyse", "report"]  # its own raw data did not change
    for y in (2018, 2019, 2020):
        assert all(after[k] == before[k] for k in before if k.startswith(f"{y}/"))


def test_corrupt_raw_file_fails_that_year_keeps_its_report_and_builds_the_others(built):
    root, _ = built
    before = snapshot(root / "reports")
    bad = root / "data" / "raw" / "khanh_hoa" / "2020" / "provincial.xlsx"
    good = bad.read_bytes()
    _bump_score(
        root / "data" / "raw" / "khanh_hoa" / "2022" / "provincial.xlsx"
    )  # another year has real work
    bad.write_bytes(b"this is not an Excel file")
    try:
        out = cli(root, "build")
        assert out.returncode == 2, out.stdout + out.stderr
        assert "2020 FAILED at clean" in out.stdout and "provincial.xlsx" in out.stdout
        after = snapshot(root / "reports")
        assert {k: v for k, v in after.items() if k.startswith("2020/")} == {
            k: v for k, v in before.items() if k.startswith("2020/")
        }
        assert any(
            after[k] != before[k] for k in before if k.startswith("2022/")
        )  # 2022 still built
        index = (root / "reports" / "index.html").read_text(encoding="utf-8")
        assert "provincial.xlsx" in index and "clean" in index
        status = cli(root, "status").stdout
        assert re.search(r"^2020 .*FAILED at clean", status, re.M)
    finally:
        bad.write_bytes(good)
    out = cli(root, "build")
    assert out.returncode == 0, out.stdout + out.stderr


def test_validation_failure_exits_1_and_keeps_the_published_reports(built):
    root, _ = built
    before = snapshot(root / "reports")
    raw = root / "data" / "raw" / "khanh_hoa" / "2019" / "provincial.csv"
    good = raw.read_bytes()
    text = good.decode("utf-8-sig")
    # a unit whose score is in the Khá band, relabelled Tốt: parses fine, must fail the gate
    lines = text.splitlines()
    for i, ln in enumerate(lines):
        if ln.endswith(",Khá") or ln.endswith(",khá") or ln.endswith(",KHÁ"):
            lines[i] = ln.rsplit(",", 1)[0] + ",Tốt"
            break
    else:
        pytest.fail("no Khá row in the 2019 demo file")
    raw.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    try:
        out = cli(root, "build")
        assert out.returncode == 1, out.stdout + out.stderr
        assert "2019 FAILED at validate" in out.stdout
        # later years compare themselves with 2019 (changes, streaks): not published from
        # unvalidated tables either; their previous reports stay
        for y in (2020, 2021, 2022):
            assert (
                f"{y} FAILED at report" in out.stdout
                and "2019 data failed validation" in out.stdout
            )
        after = snapshot(root / "reports")
        assert {k: v for k, v in after.items() if k != "index.html"} == {
            k: v for k, v in before.items() if k != "index.html"
        }
        index = (root / "reports" / "index.html").read_text(encoding="utf-8")
        assert "validate" in index and "2019 data failed validation" in index
    finally:
        raw.write_bytes(good)
    assert cli(root, "build").returncode == 0


def test_kill_9_in_the_middle_leaves_reports_intact_and_the_next_run_recovers(built):
    root, _ = built
    before = snapshot(root / "reports")
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
    proc = subprocess.Popen(
        [PY, "-m", "par_review.cli", "--root", str(root), "build", "--force", "--year", "2022"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    deadline = time.time() + 300
    for line in proc.stdout:
        if "report   running" in line or time.time() > deadline:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert snapshot(root / "reports") == before
    out = cli(root, "build", "--year", "2022")
    assert out.returncode == 0, out.stdout + out.stderr
    assert (root / "reports" / "2022" / "report.html").is_file()
    assert not list((root / "reports").glob(".*old*"))


def test_two_concurrent_runs_do_not_corrupt_anything(built):
    root, _ = built
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
    cmd = [
        PY,
        "-m",
        "par_review.cli",
        "--root",
        str(root),
        "build",
        "--force",
        "--year",
        "2022",
        "--quiet",
    ]
    a = subprocess.Popen(
        cmd + ["--wait", "600"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    b = subprocess.Popen(
        cmd + ["--wait", "600"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    c = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)  # no --wait
    assert a.wait(timeout=900) == 0 and b.wait(timeout=900) == 0
    assert c.returncode in (0, 3)
    if c.returncode == 3:
        assert "another par-review build is running" in c.stderr
    html = (root / "reports" / "2022" / "report.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>")
    json.loads((root / "reports" / "2022" / "metrics.json").read_text(encoding="utf-8"))


def test_two_clean_builds_give_identical_html_and_metrics(tmp_path):
    roots = [make_project_copy(tmp_path / name).root for name in ("one", "two")]
    for root in roots:
        out = cli(root, "build", "--year", "2022", "--formats", "html")
        assert out.returncode == 0, out.stdout + out.stderr
    for name in ("report.html", "metrics.json"):
        a, b = ((r / "reports" / "2022" / name).read_bytes() for r in roots)
        assert a == b, f"{name} differs between two clean builds"
