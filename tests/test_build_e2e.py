"""End-to-end: the real pipeline (papermill, Great Expectations, nbconvert, headless Chromium) on a
temporary copy of the project holding two provinces: the Khánh Hòa demo (and the province it
absorbed) and a small one of our own (tests/fixtures/provinces/tinh_mau: one level, three
tiers, no tier column). Slow: these run in CI through `make test`.

The module builds once through the exact cron command line of the README, then checks
no-op builds, plans, incremental rebuilds per province, `--year` builds, partial
operations (a notebook run by hand, a clean-only change), failures that keep the published
report and are cleared by the next good build, kills at several moments, concurrent runs,
and byte-identical rebuilds."""

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
KH = "khanh_hoa"
SECOND = "tinh_mau"
FIXTURE = REPO / "tests" / "fixtures" / "provinces" / SECOND


def cli(root: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
    return subprocess.run(
        [PY, "-m", "par_review.cli", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def start_build(root: Path, *args: str, **popen) -> subprocess.Popen:
    """`par-review build` in the background, its output readable line by line."""
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
    return subprocess.Popen(
        [PY, "-m", "par_review.cli", "--root", str(root), "build", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        **popen,
    )


def snapshot(reports: Path, under: str = "") -> dict[str, str]:
    """Every published file's content hash (manifest.json included)."""
    base = reports / under if under else reports
    return {
        p.relative_to(reports).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


def years(root: Path, province: str) -> list[int]:
    d = root / "data" / "raw" / province
    return sorted(int(p.name) for p in d.iterdir() if p.is_dir() and p.name.isdigit())


def ran(root: Path, province: str) -> dict[int, list[str]]:
    out = {}
    for y in years(root, province):
        m = root / "reports" / province / str(y) / "manifest.json"
        if m.exists():
            steps = json.loads(m.read_text(encoding="utf-8"))["steps"]
            out[y] = sorted(s for s, v in steps.items() if v["ran"])
    return out


def cron_command(root: Path, log: Path) -> str:
    """The cron line of the README, pointed at `root`."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if re.match(r"^\S+ \S+ \* \* \*\s+cd ", ln))
    command = re.split(r"\*\s+\*\s+\*\s+", line, maxsplit=1)[1].strip()
    return command.replace("/srv/par-review", str(root)).replace(
        "/var/log/par-review.log", str(log)
    )


def check_outputs(root: Path) -> list[str]:
    code = (
        "import json,sys; from par_review.paths import Paths;"
        "from par_review.pipeline.status import check_outputs;"
        f"print(json.dumps(check_outputs(Paths.from_root({str(root)!r}))))"
    )
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def make_project(dest: Path) -> Path:
    """A project copy with the second province added the way the README says: its config
    and raw folders dropped in, then the validation suites regenerated from the config."""
    root = make_project_copy(dest).root
    if FIXTURE.is_dir():
        shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
        subprocess.run(
            [PY, "-m", "par_review.validation.suites", "--root", str(root), "--write"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("e2e") / "proj")
    for rel in ("Makefile", "pyproject.toml", "uv.lock", "scripts", "README.md"):
        src = REPO / rel
        if src.exists():
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / rel)
    # the environment is the checkout's: make sure it is current, so that the copy's
    # commands find it installed and do not install the project from the copy
    subprocess.run(
        ["bash", str(REPO / "scripts" / "bootstrap.sh"), "report"], check=True, timeout=900
    )
    os.symlink(REPO / ".venv", root / ".venv")
    log = root / "cron.log"
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
    proc = subprocess.run(
        ["bash", "-c", cron_command(root, log)],
        capture_output=True,
        text=True,
        timeout=3600,
        env=env,
    )
    text = log.read_text(encoding="utf-8")
    assert proc.returncode == 0, text[-6000:]
    return root, text


def test_full_build_publishes_every_province_year_and_language(built):
    root, log = built
    assert FIXTURE.is_dir(), "the second province's fixture is missing"
    for province in (KH, SECOND):
        cfg = (root / "config" / province / "province.yml").read_text(encoding="utf-8")
        langs = (
            re.search(r"report_languages:\s*\[([^\]]*)\]", cfg).group(1).replace(" ", "").split(",")
        )
        assert langs == ["vi", "en"]
        for y in years(root, province):
            d = root / "reports" / province / str(y)
            for name in (
                "metrics.json",
                "manifest.json",
                "validation.json",
                "validation/index.html",
            ):
                assert (d / name).is_file(), f"{province}/{y}/{name} missing"
            for lang in langs:
                for fmt in ("html", "pdf"):
                    assert (d / f"report.{lang}.{fmt}").is_file(), f"{province}/{y} {lang} {fmt}"
            assert not (d / "report.html").exists()
            man = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
            on_disk = sorted(
                p.relative_to(d).as_posix()
                for p in d.rglob("*")
                if p.is_file() and p.name != "manifest.json"
            )
            assert man["files"] == on_disk  # exactly the files that are there
            assert man["languages"] == sorted(langs)
            assert (root / "build" / "logs" / province / str(y) / "40_report.vi.ipynb").is_file()
    index = (root / "reports" / "index.html").read_text(encoding="utf-8")
    for province in (KH, SECOND):
        for y in years(root, province):
            for lang in ("vi", "en"):
                assert f'href="{province}/{y}/report.{lang}.html"' in index
    assert (root / "reports" / "index.en.html").is_file()
    assert "published" in log and "total" in log  # progress and a summary were printed
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", log, re.M)  # dated log lines
    # the analysis' warnings reach the operator (a year without a target names the key)
    warned = []
    for province in (KH, SECOND):
        for y in years(root, province):
            m = json.loads((root / "reports" / province / str(y) / "metrics.json").read_text())
            for w in m.get("warnings") or []:
                assert f"{province}/{y} warning: {w['message']}" in log
                warned.append(w["code"])
    assert "no_target" in warned
    assert check_outputs(root) == []


def test_each_language_links_to_the_other(built):
    root, _ = built
    y = years(root, KH)[-1]
    d = root / "reports" / KH / str(y)
    vi = (d / "report.vi.html").read_text(encoding="utf-8")
    en = (d / "report.en.html").read_text(encoding="utf-8")
    assert 'href="report.en.html"' in vi and 'href="report.vi.html"' in en


def test_noop_build_starts_no_kernel_and_changes_no_byte(built):
    root, _ = built
    before = snapshot(root / "reports")
    out = cli(root, "build")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 kernel start(s)" in out.stdout
    assert "running" not in out.stdout
    assert snapshot(root / "reports") == before
    assert "nothing to do" in cli(root, "plan").stdout


def _bump_score(xlsx: Path) -> None:
    """Raise one unit's score by 0.01 within its tier (area and total together)."""
    import openpyxl

    wb = openpyxl.load_workbook(xlsx)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            vals = [c.value for c in row]
            nums = [i for i, v in enumerate(vals) if isinstance(v, float)]
            if isinstance(vals[0], int) and len(nums) >= 2:
                total = nums[-1]
                if 86 < vals[total] < 99:
                    row[nums[0]].value = round(vals[nums[0]] + 0.01, 2)
                    row[total].value = round(vals[total] + 0.01, 2)
                    if len(nums) >= 3 and vals[nums[-2]] and vals[nums[-2]] > 50:
                        row[nums[-2]].value = round(vals[nums[-2]] + 0.01, 2)
                    wb.save(xlsx)
                    return
    raise AssertionError(f"no row to change in {xlsx}")


def _changed_years(before, after, province):
    return sorted(
        {
            int(k.split("/")[1])
            for k in after
            if k.startswith(f"{province}/")
            and k.split("/")[1].isdigit()
            and after[k] != before.get(k)
        }
    )


def test_a_raw_change_is_named_by_plan_and_rebuilds_only_that_provinces_dependants(built):
    root, _ = built
    kh = years(root, KH)
    y = 2021
    raw = root / "data" / "raw" / KH / str(y) / "provincial.xlsx"
    before = snapshot(root / "reports")
    _bump_score(raw)
    plan = cli(root, "plan").stdout
    assert f"clean    {KH}/{y}" in plan and f"data/raw/{KH}/{y}/provincial.xlsx changed" in plan
    assert SECOND not in plan
    out = cli(root, "build")
    assert out.returncode == 0, out.stdout + out.stderr
    after = snapshot(root / "reports")
    assert _changed_years(before, after, KH) == [x for x in kh if x >= y]
    assert {k: v for k, v in after.items() if k.startswith(f"{SECOND}/")} == {
        k: v for k, v in before.items() if k.startswith(f"{SECOND}/")
    }
    steps = ran(root, KH)
    assert steps[y] == ["analyse", "clean", "report:en", "report:vi", "validate"]
    assert "clean" not in steps[y + 1]  # its own raw data did not change
    assert check_outputs(root) == []


def test_year_selector_builds_only_what_it_needs_and_says_so(built):
    root, _ = built
    before = snapshot(root / "reports")
    _bump_score(root / "data" / "raw" / KH / "2021" / "provincial.xlsx")
    out = cli(root, "build", "--year", "2022")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "also checking the data of" in out.stdout and f"{KH}/2021" in out.stdout
    after = snapshot(root / "reports")
    assert _changed_years(before, after, KH) == [2022]  # 2021 cleaned and validated, not published
    status = cli(root, "status").stdout
    assert re.search(rf"^{KH}/2021 .*stale", status, re.M)
    assert cli(root, "build").returncode == 0
    assert check_outputs(root) == []


def test_manual_clean_run_never_breaks_the_builds_outputs(built):
    """A `clean` run by hand (or a notebook) on unchanged raw data leaves data/processed as
    the build wrote it, mtimes included, so the next build has nothing to redo. After a raw
    change it rewrites the tables: the step table notices (outputs differ from what the build
    wrote) and the next build makes everything consistent again, without deleting anything
    another step wrote."""
    root, _ = built
    metrics_tables = root / "data" / "processed" / KH / "metrics" / "2021"
    assert any(metrics_tables.glob("metrics_*.csv"))
    assert check_outputs(root) == []
    out = cli(root, "--province", KH, "clean", "--year", "2021")
    assert out.returncode == 0, out.stderr
    assert check_outputs(root) == []  # same bytes: nothing rewritten
    assert "nothing to do" in cli(root, "plan").stdout.lower()
    _bump_score(root / "data" / "raw" / KH / "2021" / "provincial.xlsx")
    out = cli(root, "--province", KH, "clean", "--year", "2021")
    assert out.returncode == 0, out.stderr
    assert any(metrics_tables.glob("metrics_*.csv"))  # cleaning never deletes them
    assert any("clean" in p and "2021" in p for p in check_outputs(root))
    out = cli(root, "build")
    assert out.returncode == 0, out.stdout + out.stderr
    assert check_outputs(root) == []


def test_corrupt_raw_file_fails_that_year_keeps_its_report_and_the_next_build_clears_it(built):
    root, _ = built
    before = snapshot(root / "reports")
    bad = root / "data" / "raw" / KH / "2020" / "provincial.xlsx"
    good = bad.read_bytes()
    bad.write_bytes(b"this is not an Excel file")
    try:
        out = cli(root, "build")
        assert out.returncode == 2, out.stdout + out.stderr
        assert f"{KH}/2020 FAILED at clean" in out.stdout and "provincial.xlsx" in out.stdout
        # the kernel that ran the failed clean ended with the build: left running, it said
        # so on the build's stderr a moment later (read to its end: the kernel holds it too)
        assert "Parent appears to have exited" not in out.stderr, out.stderr
        after = snapshot(root / "reports")
        for k in before:
            if k.startswith(f"{KH}/2020/") or k.startswith(f"{SECOND}/"):
                assert after[k] == before[k], k
        index = (root / "reports" / "index.html").read_text(encoding="utf-8")
        assert "dữ liệu đầu vào có lỗi" in index
        assert re.search(rf"^{KH}/2020 .*FAILED at clean", cli(root, "status").stdout, re.M)
    finally:
        bad.write_bytes(good)
    out = cli(root, "build")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAILED" not in cli(root, "status").stdout
    assert "dữ liệu đầu vào có lỗi" not in (root / "reports" / "index.html").read_text(
        encoding="utf-8"
    )


def test_validation_failure_exits_1_and_holds_back_the_years_that_read_it(built):
    """A failure only the gate sees (one unit's areas no longer add up to its index) exits 1,
    names the check's pages kept under build/failed/, and publishes nothing of that year or
    of the years that compare with it; restoring the
    raw file unblocks them: the recorded verdict (a failure) is of other tables, so validate
    runs again and the next build publishes (it used to skip validate,
    whose step record was of the same tables, and fail on the stale verdict for ever)."""
    root, _ = built
    before = snapshot(root / "reports")
    raw = root / "data" / "raw" / KH / "2019" / "provincial.csv"
    good = raw.read_bytes()
    lines = good.decode("utf-8-sig").splitlines()
    first = next(i for i, ln in enumerate(lines) if re.match(r"^\d+,", ln))
    cells = lines[first].split('","')
    cells[1] = "0,01"  # one area's score, now far from what the total says
    lines[first] = '","'.join(cells)
    raw.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    try:
        out = cli(root, "build")
        assert out.returncode == 1, out.stdout + out.stderr
        assert f"{KH}/2019 FAILED at validate" in out.stdout, out.stdout
        kept = f"build/failed/{KH}/2019/validation/index.html"  # staging is gone: kept here
        assert f"Data Docs: {kept}" in out.stdout and (root / kept).is_file()
        assert "yêu cầu / expected" in out.stdout
        for y in (2020, 2021, 2022):
            assert re.search(rf"{KH}/{y} .*FAILED", out.stdout)
        after = snapshot(root / "reports")
        assert {k: v for k, v in after.items() if k.startswith(f"{KH}/")} == {
            k: v for k, v in before.items() if k.startswith(f"{KH}/")
        }
    finally:
        raw.write_bytes(good)
    assert re.search(rf"validate +{KH}/2019 ", cli(root, "plan").stdout)
    out = cli(root, "build")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAILED" not in cli(root, "status").stdout
    assert "nothing to do" in cli(root, "plan").stdout
    assert not (root / "build" / "failed" / KH / "2019").exists()  # it passed: pages dropped


@pytest.mark.parametrize("moment", ["clean", "validate", "analyse", "report", "published"])
def test_a_kill_at_any_moment_changes_nothing_published_and_the_next_build_recovers(built, moment):
    root, _ = built
    _bump_score(root / "data" / "raw" / KH / "2022" / "provincial.xlsx")
    before = snapshot(root / "reports")
    proc = start_build(root, "--province", KH, "--year", "2022", start_new_session=True)
    pattern = re.compile(
        rf"{KH}/2022(/\w\w)? +{moment}" if moment != "published" else rf"{KH}/2022 published"
    )
    deadline = time.time() + 600
    for line in proc.stdout:
        if pattern.search(line) or time.time() > deadline:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    after = snapshot(root / "reports")
    if moment != "published":
        assert after == before
    else:  # killed after the swap: the new year is there, whole
        assert (root / "reports" / KH / "2022" / "manifest.json").is_file()
    out = cli(root, "build")
    assert out.returncode == 0, out.stdout + out.stderr
    assert not list((root / "reports" / KH).glob(".*old*"))
    assert check_outputs(root) == []


def _build_2022_until_it_validates(root: Path):
    """A build of khanh_hoa 2022 (one score changed first), on one kernel, read until its
    validation runs: (the build's process, its kernel processes)."""
    import psutil

    _bump_score(root / "data" / "raw" / KH / "2022" / "provincial.xlsx")
    proc = start_build(root, "--province", KH, "--year", "2022", "--jobs", "1")
    for line in proc.stdout:
        if re.search(rf"{KH}/2022 +validate +running", line):
            break
    time.sleep(1.0)
    kernels = [
        c
        for c in psutil.Process(proc.pid).children(recursive=True)
        if "ipykernel" in " ".join(c.cmdline())
    ]
    assert kernels
    return proc, kernels


def test_a_kernel_killed_alone_fails_the_step_and_the_next_build_recovers(built):

    root, _ = built
    before = snapshot(root / "reports")
    proc, kernels = _build_2022_until_it_validates(root)
    for k in kernels:
        k.kill()
    rest = proc.stdout.read()
    assert proc.wait(timeout=600) == 4, rest
    assert "FAILED at validate" in rest
    after = snapshot(root / "reports")  # the index shows the failure; no report changed
    assert {k: v for k, v in after.items() if not k.startswith("index")} == {
        k: v for k, v in before.items() if not k.startswith("index")
    }
    assert cli(root, "build").returncode == 0
    assert "FAILED" not in cli(root, "status").stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_build_kills_its_kernels_and_says_which_years_it_left(built, sig):
    """SIGTERM (a scheduler's timeout) or Ctrl-C: exit 130, nothing published changes, no
    kernel outlives the build (they printed 'Parent appears to have exited' on its stderr
    a moment later, which cron mails), and status says the years left unbuilt."""
    import psutil

    root, _ = built
    before = snapshot(root / "reports")
    proc, kernels = _build_2022_until_it_validates(root)
    proc.send_signal(sig)
    rest = proc.stdout.read()
    assert proc.wait(timeout=120) == 130, rest
    time.sleep(3)  # a kernel left behind notices its parent gone within about a second
    assert "Parent appears to have exited" not in rest
    assert not [k for k in kernels if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]
    assert snapshot(root / "reports") == before
    assert re.search(rf"^{KH}/2022 .*interrupted", cli(root, "status").stdout, re.M)
    assert cli(root, "build").returncode == 0
    assert check_outputs(root) == []


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
        "--province",
        SECOND,
        "--quiet",
    ]
    a = subprocess.Popen(
        [*cmd, "--wait", "900"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    b = subprocess.Popen(
        [*cmd, "--wait", "900"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    c = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)  # no --wait
    assert a.wait(timeout=1200) == 0 and b.wait(timeout=1200) == 0
    assert c.returncode in (0, 3)
    if c.returncode == 3:
        assert "another par-review build is running" in c.stderr
    y = years(root, SECOND)[-1]
    html = (root / "reports" / SECOND / str(y) / "report.vi.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>")
    assert check_outputs(root) == []


def test_forced_rebuild_gives_byte_identical_reports_and_metrics(built):
    root, _ = built
    y = years(root, SECOND)[-1]
    d = root / "reports" / SECOND / str(y)
    names = ("report.vi.html", "report.en.html", "report.vi.pdf", "report.en.pdf", "metrics.json")
    before = {n: (d / n).read_bytes() for n in names}
    env_tz = {"TZ": "Asia/Ho_Chi_Minh"}
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"} | env_tz
    out = subprocess.run(
        [PY, "-m", "par_review.cli", "--root", str(root), "build", "--force", "--province", SECOND],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for n in names:
        assert (d / n).read_bytes() == before[n], f"{n} changed on a forced rebuild"


def test_two_projects_at_other_paths_give_identical_bytes(tmp_path):
    roots = [make_project(tmp_path / name) for name in ("one", "another-place")]
    for root in roots:
        out = cli(root, "build", "--province", SECOND)
        assert out.returncode == 0, out.stdout + out.stderr
    y = years(roots[0], SECOND)[-1]
    for name in ("report.vi.html", "report.en.pdf", "metrics.json"):
        a, b = ((r / "reports" / SECOND / str(y) / name).read_bytes() for r in roots)
        assert a == b, f"{name} differs between two clean builds"


def test_read_only_reports_fail_with_exit_4_and_are_recorded(tmp_path):
    # root ignores file modes, so the province's report folder is made unwritable by
    # being a file: publishing into it fails for everybody
    root = make_project(tmp_path / "ro")
    blocker = root / "reports" / SECOND
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder", encoding="utf-8")
    out = cli(root, "build", "--province", SECOND, "--formats", "html")
    assert out.returncode == 4, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert "FAILED at publish" in out.stdout
    assert re.search(rf"^{SECOND}/\d+ .*FAILED at publish", cli(root, "status").stdout, re.M)
    blocker.unlink()
    out = cli(root, "build", "--province", SECOND, "--formats", "html")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAILED" not in cli(root, "status").stdout


def test_a_pdf_that_cannot_be_printed_fails_its_year_and_keeps_the_published_report(tmp_path):
    # the PDFs are printed on a thread of their own while the kernels go on: a print that
    # fails must still fail its report step, hold back the year and say why
    root = make_project(tmp_path / "nopdf")
    y = str(years(root, SECOND)[0])
    out = cli(root, "build", "--province", SECOND, "--year", y)
    assert out.returncode == 0, out.stdout + out.stderr
    before = snapshot(root / "reports", f"{SECOND}/{y}")
    assert any(name.endswith(".pdf") for name in before)
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
    env["PAR_REVIEW_CHROMIUM"] = "/bin/false"  # a browser that dies at once
    out = subprocess.run(
        [PY, "-m", "par_review.cli", "--root", str(root), "build", "--force"]
        + ["--province", SECOND, "--year", y],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert out.returncode == 4, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert re.search(rf"{SECOND}/{y}/(vi|en) FAILED at report: the PDF: ", out.stdout), out.stdout
    assert snapshot(root / "reports", f"{SECOND}/{y}") == before
    status = cli(root, "status").stdout
    assert re.search(
        rf"^{SECOND}/{y} .*FAILED at render \(.*(\n +↳ stale.*)?\n +↳ failed: .*the PDF: ",
        status,
        re.M,
    ), status


def test_a_hung_cell_gets_a_heartbeat_and_the_timeout_stops_it(tmp_path):
    import nbformat

    root = make_project(tmp_path / "hung")
    nbp = root / "notebooks" / "30_analyse.ipynb"
    nb = nbformat.read(nbp, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("import time\ntime.sleep(600)"))
    nbformat.write(nb, nbp)
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
    env["PAR_REVIEW_HEARTBEAT"] = "2"
    y = years(root, SECOND)[0]
    out = subprocess.run(
        [
            PY,
            "-m",
            "par_review.cli",
            "--root",
            str(root),
            "build",
            "--province",
            SECOND,
            "--year",
            str(y),
            "--timeout",
            "60",  # long enough for any real cell under load (imports), not for the hung one
            "--formats",
            "html",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert out.returncode == 4, out.stdout + out.stderr
    assert f"{SECOND}/{y} analyse still running after" in out.stdout
    assert re.search(r"FAILED at analyse: .*(Timeout|timed out)", out.stdout, re.I), out.stdout
    assert not (root / "reports" / SECOND / str(y)).exists()


def test_a_new_year_folder_builds_with_no_config_change_and_touches_no_other_year(built):
    root, _ = built
    last = years(root, SECOND)[-1]
    new = last + 1
    src = root / "data" / "raw" / SECOND / str(last)
    dst = root / "data" / "raw" / SECOND / str(new)
    dst.mkdir()
    for f in src.iterdir():
        text = f.read_text(encoding="utf-8-sig")
        (dst / f.name).write_text(text.replace(f"NĂM {last}", f"NĂM {new}"), encoding="utf-8")
    before = snapshot(root / "reports", SECOND)
    out = cli(root, "build")
    assert out.returncode == 0, out.stdout + out.stderr
    after = snapshot(root / "reports", SECOND)
    assert (root / "reports" / SECOND / str(new) / "report.vi.html").is_file()
    assert {k: v for k, v in after.items() if not k.startswith(f"{SECOND}/{new}/")} == before
    assert f'href="{SECOND}/{new}/report.vi.html"' in (root / "reports" / "index.html").read_text(
        encoding="utf-8"
    )


def test_an_unknown_predecessor_id_is_bad_input_naming_the_row(tmp_path):
    root = make_project(tmp_path / "lineage")
    units = root / "config" / SECOND / "units.csv"
    lines = units.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    row = ["" for _ in head]
    for k, v in {
        "unit_id": "tm-moi",
        "level": "co_quan",
        "group": "so_nganh",
        "name": "Sở Mới",
        "valid_from": "2024",
        "successor_of": "tm-khong-co",
        "name_basis": "assumed",
    }.items():
        row[head.index(k)] = v
    lines.append(",".join(row))
    units.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = cli(root, "build", "--province", SECOND, "--formats", "html")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "units.csv" in out.stdout and "tm-khong-co" in out.stdout
    assert f"dòng {len(lines)}" in out.stdout or f"row {len(lines)}" in out.stdout
    assert not (root / "reports" / SECOND).exists()


def test_the_2025_report_compares_only_what_is_comparable(built):
    """Across the merger: no count change against the 2024 set, the break stated, lineage
    with Ninh Thuận predecessors, streaks qualified, ranks out of 34 and 63 not compared."""
    root, _ = built
    if 2025 not in years(root, KH):
        pytest.skip("no 2025 demo data")
    d = root / "reports" / KH / "2025"
    vi = re.sub(r"<[^>]+>", " ", (d / "report.vi.html").read_text(encoding="utf-8"))
    vi = re.sub(r"\s+", " ", vi)
    assert not re.search(r"(tăng|giảm) \d+ đơn vị so với năm 2024", vi)
    assert not re.search(r"(tăng|giảm) \d+ bậc", vi)
    assert "Ninh Thuận" in vi and "hợp nhất" in vi.lower()
    assert not re.search(r"năm thứ \d+ liên tiếp", vi) or "kể từ năm 2025" in vi
    m = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
    for level in m["levels"].values():
        assert level["comparison"]["basis"] != "same_set"
        for t in level["tiers"].values():
            assert t.get("change_count") is None


def test_every_published_page_has_no_wcag_a_or_aa_violation(built):
    """axe-core (npm, package-lock.json) in the Debian Chromium, on the index pages and, for
    one year of each province, every page of every language and the Data Docs' pages."""
    from tests.helpers.axe import violations

    root, _ = built
    pages = [root / "reports" / "index.html", root / "reports" / "index.en.html"]
    for province in (KH, SECOND):
        d = root / "reports" / province / str(years(root, province)[-1])
        pages += sorted(d.glob("*.html"))
        docs = d / "validation"
        pages.append(docs / "index.html")
        pages += sorted(docs.glob("expectations/*.html"))[:1]
        pages += sorted(docs.glob("validations/**/*.html"))[:1]
    bad = {p.relative_to(root).as_posix(): v for p in pages if (v := violations(p))}
    assert bad == {}


def test_no_published_page_scrolls_sideways_on_a_phone(built):
    from tests.helpers.chromium import scroll_width as _chromium_scroll_width

    root, _ = built
    pages = [root / "reports" / "index.html", root / "reports" / "index.en.html"]
    for province in (KH, SECOND):
        d = root / "reports" / province / str(years(root, province)[-1])
        pages += sorted(d.glob("*.html"))
    for page in pages:
        scroll, inner = _chromium_scroll_width(page)
        assert scroll <= inner, f"{page.relative_to(root)}: {scroll} px wide in {inner} px"


def test_two_fresh_clones_built_at_once_give_identical_bytes(tmp_path):
    """Two fresh clones of the repository (the committed notebooks, config, suites and
    data), built at the same time, so each under the other's load: same bytes."""
    roots = []
    for name in ("clone-a", "clone-b"):
        dest = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(REPO), str(dest)], check=True, timeout=300)
        if FIXTURE.is_dir():  # the small province, added as the README says
            shutil.copytree(
                dest / "tests" / "fixtures" / "provinces" / SECOND, dest, dirs_exist_ok=True
            )
            subprocess.run(
                [PY, "-m", "par_review.validation.suites", "--root", str(dest), "--write"],
                check=True,
                capture_output=True,
                timeout=300,
            )
        roots.append(dest)
    procs = [start_build(r, "--province", SECOND) for r in roots]
    outs = [p.communicate(timeout=1800)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    y = years(roots[0], SECOND)[-1]
    for name in (
        "report.vi.html",
        "report.en.html",
        "report.vi.pdf",
        "metrics.json",
        "downloads/vi/tables.xlsx",
    ):
        a, b = ((r / "reports" / SECOND / str(y) / name).read_bytes() for r in roots)
        assert a == b, f"{name} differs between two fresh clones"
