"""Fast tests of the pipeline's parts: the step table, selection of keys, fingerprints and
what they name, atomic swap and recovery, pruning, the lock, the state file, the CLI's
exit codes and the index page. The full pipeline runs in test_build_e2e.py."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from par_review.fsutil import recover, swap_dir
from par_review.paths import PACKAGE_DIR, Paths
from par_review.pipeline import fingerprint as fpr
from par_review.pipeline import runner as r
from par_review.pipeline.state import State
from par_review.pipeline.steps import BY_NAME, STEPS, Context, Key, data_keys_read, step_id

REPO = Path(__file__).resolve().parents[1]


def cli(root, *args, timeout=60):
    env = {k: v for k, v in os.environ.items() if k != "PAR_REVIEW_ROOT"}
    return subprocess.run(
        [sys.executable, "-m", "par_review.cli", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def manifest(project, step, key, **ctx):
    fpr._cache.clear()
    fpr.forget()
    c = Context(project, **ctx)
    return fpr.input_manifest(BY_NAME[step], key, c, project.of(key.province).report_year(key.year))


# ----------------------------------------------------------------------------- the table
def test_every_step_names_an_existing_notebook_and_declares_outputs(project):
    ctx = Context(project)
    key = Key("khanh_hoa", 2022, "vi")
    for step in STEPS:
        assert (REPO / "notebooks" / step.notebook).is_file()
        assert step.outputs(key, ctx), step.name
        for m in step.module_paths():
            assert m.exists(), f"{step.name} declares a missing module {m}"
    assert [s.name for s in STEPS] == ["clean", "validate", "analyse", "report"]
    assert step_id(BY_NAME["report"], key) == "report:vi"
    # a step writes only its own outputs: no two steps declare the same file
    seen = {}
    for step in STEPS:
        for o in step.outputs(key, ctx):
            assert (o.base, o.rel) not in seen, (
                f"{o.rel}: {seen.get((o.base, o.rel))} and {step.name}"
            )
            seen[(o.base, o.rel)] = step.name


def _static_imports(module_file: Path) -> set[Path]:
    """The par_review files a module imports (relative imports, at any depth of the code)."""
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    pkg = module_file.parent
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = pkg
            for _ in range(node.level - 1):
                base = base.parent
            parts = (node.module or "").split(".") if node.module else []
            target = base.joinpath(*parts)
            cands = [target.with_suffix(".py"), target / "__init__.py"]
            for alias in node.names:
                cands.append(target / f"{alias.name}.py")
            out |= {c for c in cands if c.is_file()}
    return out


def _closure(entry: Path) -> set[Path]:
    seen, todo = set(), [entry]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo += list(_static_imports(f))
    return seen


ENTRY = {
    "clean": "clean/tables.py",
    "validate": "validation/gate.py",
    "analyse": "metrics/compute.py",
    "report": "report/context.py",
}


@pytest.mark.parametrize("name", list(ENTRY))
def test_declared_code_modules_cover_what_the_step_imports(name):
    step = BY_NAME[name]
    declared = step.module_paths()
    for f in _closure(PACKAGE_DIR / ENTRY[name]):
        assert any(f == d or d in f.parents for d in declared), (
            f"{name} imports {f.relative_to(PACKAGE_DIR)} but does not declare it in steps.py"
        )


def test_analysis_reads_every_earlier_year_of_its_province(project):
    ctx = Context(project)
    keys = data_keys_read(Key("khanh_hoa", 2021), ctx)
    assert [k.year for k in keys if k.province == "khanh_hoa"] == [
        y for y in project.raw_years() if y <= 2021
    ]


# ----------------------------------------------------------------------------- fingerprints
def test_clean_fingerprint_changes_with_that_years_raw_file_only(project):
    years = [2020, 2021, 2022]
    before = {y: fpr.fingerprint(manifest(project, "clean", Key("khanh_hoa", y))) for y in years}
    with (project.raw_year(2021) / "commune.xlsx").open("ab") as fh:
        fh.write(b"\0")
    after = {y: fpr.fingerprint(manifest(project, "clean", Key("khanh_hoa", y))) for y in years}
    assert [y for y in years if before[y] != after[y]] == [2021]


def test_explain_names_the_changed_input_code_and_parameter(project):
    key = Key("khanh_hoa", 2021)
    old = manifest(project, "clean", key)
    with (project.raw_year(2021) / "commune.xlsx").open("ab") as fh:
        fh.write(b"\0")
    words = fpr.explain(old, manifest(project, "clean", key))
    assert words == ["data/raw/khanh_hoa/2021/commune.xlsx changed"]
    a = manifest(project, "analyse", key, rounding="")
    b = manifest(project, "analyse", key, rounding="truncate")
    assert fpr.explain(a, b) == ['parameter rounding: "" -> "truncate"']
    assert fpr.explain(None, b) == ["never built"]


def test_code_fingerprints_are_per_step(project):
    """Editing the audit code rebuilds nothing; editing the metrics code rebuilds the
    analysis and the report, never the cleaning."""
    ctx = Context(project)
    key = Key("khanh_hoa", 2022, "vi")
    code = {s.name: fpr.code_files(s) for s in STEPS}
    assert not any(k.startswith("code:audit/") for c in code.values() for k in c)
    assert not any(k == "code:report/index.py" for c in code.values() for k in c)
    assert any(k.startswith("code:metrics/") for k in code["analyse"])
    assert not any(k.startswith("code:metrics/") for k in code["clean"])
    assert any(k.startswith("code:report/") for k in code["report"])
    assert ctx  # (the table is read, not a copy of it)
    assert key


def test_output_signature_notices_a_rewrite(tmp_path):
    from par_review.pipeline.steps import Output

    f = tmp_path / "a.csv"
    f.write_text("x", encoding="utf-8")
    outs = [Output("data", "a.csv")]
    s1 = fpr.output_signature(outs, tmp_path, tmp_path)
    time.sleep(0.01)
    f.write_text("x", encoding="utf-8")
    # within one look at the disk a path is statted once; the runner says when it wrote
    assert fpr.output_signature(outs, tmp_path, tmp_path) == s1
    fpr.forget()
    assert fpr.output_signature(outs, tmp_path, tmp_path) != s1
    f.unlink()
    fpr.forget()
    assert fpr.output_signature(outs, tmp_path, tmp_path) == {"a.csv": "missing"}


def test_content_hashes_are_reused_across_builds_unless_the_file_changed(tmp_path, monkeypatch):
    old, new, fresh = (tmp_path / n for n in ("old.csv", "new.csv", "fresh.csv"))
    for f in (old, new, fresh):
        f.write_text(f.name, encoding="utf-8")
    for f in (old, new):
        os.utime(f, ns=(1_700_000_000_000_000_000,) * 2)  # written long ago
    digests = {f: fpr.file_hash(f) for f in (old, new, fresh)}
    build = tmp_path / "build"
    fpr.save_hashes(build, tmp_path)

    fpr._cache.clear()  # a new build process
    fpr.forget()
    fpr._hashes_loaded.clear()
    fpr.load_hashes(build)
    new.write_text("other", encoding="utf-8")  # rewritten since: a new mtime
    hashed = []
    real = fpr.sha256_file
    monkeypatch.setattr(fpr, "sha256_file", lambda p: hashed.append(p.name) or real(p))
    assert fpr.file_hash(old) == digests[old]
    assert fpr.file_hash(new) != digests[new]
    assert fpr.file_hash(fresh) == digests[fresh]
    # only the unchanged file came from the saved hashes; the one written just before the
    # save (mtime within 2 s: it could change again within the same tick) was hashed again
    assert sorted(hashed) == ["fresh.csv", "new.csv"]


def test_content_hashes_are_written_only_when_they_changed(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("a", encoding="utf-8")
    os.utime(f, ns=(1_700_000_000_000_000_000,) * 2)
    build = tmp_path / "build"
    fpr._cache.clear()
    fpr._hashes_loaded.clear()
    fpr.file_hash(f)
    fpr.save_hashes(build, tmp_path)
    saved = build / fpr.HASHES
    assert str(f.resolve()) in json.loads(saved.read_text(encoding="utf-8"))["files"]

    # a new process that hashes nothing new (a no-op build): the file is not rewritten
    fpr._cache.clear()
    fpr._hashes_loaded.clear()
    fpr.load_hashes(build)
    os.utime(saved, ns=(1_600_000_000_000_000_000,) * 2)
    fpr.file_hash(f)
    fpr.save_hashes(build, tmp_path)
    assert saved.stat().st_mtime_ns == 1_600_000_000_000_000_000

    # one more file hashed: written again, with both
    g = tmp_path / "b.csv"
    g.write_text("b", encoding="utf-8")
    os.utime(g, ns=(1_700_000_000_000_000_000,) * 2)
    fpr.file_hash(g)
    fpr.save_hashes(build, tmp_path)
    files = json.loads(saved.read_text(encoding="utf-8"))["files"]
    assert sorted(Path(n).name for n in files) == ["a.csv", "b.csv"]


# ----------------------------------------------------------------------------- selection
def test_selection_every_province_year_and_language(project):
    targets, langs = r.select(project, r.BuildOptions())
    assert {t.province for t in targets} == {"khanh_hoa", "ninh_thuan"}  # every province
    assert [t.year for t in targets if t.province == "khanh_hoa"] == project.raw_years()
    assert langs["khanh_hoa"] == ["vi", "en"]
    targets, _ = r.select(project, r.BuildOptions(provinces=["ninh_thuan"]))
    assert targets == [Key("ninh_thuan", y) for y in project.of("ninh_thuan").raw_years()]
    targets, langs = r.select(project, r.BuildOptions(years=[2022], langs=["en"]))
    assert targets == [Key("khanh_hoa", 2022)] and langs["khanh_hoa"] == ["en"]


@pytest.mark.parametrize(
    "opts, words",
    [
        ({"provinces": ["../../etc"]}, "is not a name"),
        ({"provinces": ["nowhere"]}, "no province 'nowhere'"),
        ({"years": [2031]}, "no raw data for 2031 in any province"),
        ({"provinces": ["khanh_hoa"], "years": [2031]}, "no raw data for khanh_hoa 2031"),
        ({"langs": ["fr"]}, "unknown language"),
    ],
)
def test_bad_selectors_are_usage_errors(project, opts, words):
    with pytest.raises(r.UsageError, match=words):
        r.select(project, r.BuildOptions(**opts))


@pytest.mark.parametrize(
    "args, words",
    [
        (["build", "--province", "nonexistent"], "no province 'nonexistent'"),
        (["build", "--year", "2031"], "2031"),
        (["build", "--jobs", "-1"], "expected 1 or more"),
        (["--province", "../../etc", "build"], "is not a name"),
        (["plan", "--lang", "fr"], "unknown language"),
    ],
)
def test_bad_usage_exits_2_with_no_traceback_and_records_nothing(project, args, words):
    out = cli(project.root, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert words in out.stderr and "Traceback" not in out.stderr
    state = project.build / "state.json"
    assert not state.exists() or json.loads(state.read_text())["keys"] == {}


def test_every_subcommand_has_help():
    for cmd in (
        [],
        ["build"],
        ["plan"],
        ["status"],
        ["clean"],
        ["validate"],
        ["metrics"],
        ["audit"],
    ):
        out = subprocess.run(
            [sys.executable, "-m", "par_review.cli", *cmd, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0 and "usage: par-review" in out.stdout, cmd
    out = subprocess.run(
        [sys.executable, "-m", "par_review.cli", "build", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "exit codes:" in out.stdout and "--lang" in out.stdout and "--timeout" in out.stdout


# ----------------------------------------------------------------------------- publish
def test_every_option_of_every_subcommand_says_what_it_does():
    import argparse

    from par_review.cli import build_parser

    parser = build_parser(audit_args=True)
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    bare = [
        f"{name} {'/'.join(a.option_strings)}"
        for name, sp in subs.choices.items()
        for a in sp._actions
        if a.option_strings and not a.help  # argparse.SUPPRESS is a (hidden) help
    ]
    assert bare == []


class _Sink:
    def write(self, s):
        return len(s)

    def flush(self):
        pass


class _ClosedPipe:
    """A stdout whose reader went away (`par-review status | head -1`)."""

    def __init__(self):
        self.writes = 0

    def write(self, s):
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self):
        import io

        raise io.UnsupportedOperation("fileno")


def test_a_closed_pipe_ends_a_read_only_command_quietly(project, monkeypatch, capsys):
    from par_review import cli as cli_mod

    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert cli_mod.main(["--root", str(project.root), "status"]) == 0  # no traceback


def test_a_closed_pipe_lets_the_build_go_on_into_its_log(project):
    out = _ClosedPipe()
    run = r.Runner(project, r.BuildOptions(provinces=["khanh_hoa"], years=[2022]), out)
    run.say("first line")
    run.say("second line")
    assert out.writes == 1  # tried once, then only the log
    log = run.log_path.read_text(encoding="utf-8")
    assert "first line" in log and "second line" in log


def test_swap_dir_replaces_and_recover_restores_after_a_crash(tmp_path):
    target = tmp_path / "reports" / "2022"
    target.mkdir(parents=True)
    (target / "report.vi.html").write_text("old", encoding="utf-8")
    staged = tmp_path / "stage"
    staged.mkdir()
    (staged / "report.vi.html").write_text("new", encoding="utf-8")
    swap_dir(staged, target)
    assert (target / "report.vi.html").read_text(encoding="utf-8") == "new"
    assert not staged.exists()
    assert not list((tmp_path / "reports").glob(".*"))
    os.rename(target, tmp_path / "reports" / ".2022.old-999")  # kill -9 between the renames
    assert recover(tmp_path / "reports") == [target]
    assert (target / "report.vi.html").read_text(encoding="utf-8") == "new"


def test_a_swap_can_leave_the_old_folder_to_delete_later_and_recover_deletes_it(tmp_path):
    reports = tmp_path / "reports"
    target = reports / "2022"
    target.mkdir(parents=True)
    (target / "report.vi.html").write_text("old", encoding="utf-8")
    staged = tmp_path / "stage"
    staged.mkdir()
    (staged / "report.vi.html").write_text("new", encoding="utf-8")
    trash: list[Path] = []
    swap_dir(staged, target, trash=trash)
    assert (target / "report.vi.html").read_text(encoding="utf-8") == "new"
    assert [t.name for t in trash] == [f".2022.old-{os.getpid()}"]
    assert (trash[0] / "report.vi.html").read_text(encoding="utf-8") == "old"  # not yet gone
    assert recover(reports) == [] and not trash[0].exists()  # a build killed before deleting it


def test_prune_keeps_exactly_the_declared_outputs(tmp_path):
    for rel in (
        "report.vi.html",
        "report.html",
        "report.en.pdf",
        "validation/index.html",
        "validation/static/a.css",
        "old/thing.txt",
        "metrics.json",
    ):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x", encoding="utf-8")
    removed = r._prune(tmp_path, {"report.vi.html", "metrics.json", "validation"}, {"validation"})
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == [
        "metrics.json",
        "report.vi.html",
        "validation/index.html",
        "validation/static/a.css",
    ]
    assert "report.html" in removed and "report.en.pdf" in removed and "old" in removed


def test_published_folders_are_readable_by_others(tmp_path):
    import stat
    import tempfile

    staged = Path(tempfile.mkdtemp(dir=tmp_path))  # mode 0700, as staging folders are
    (staged / "validation").mkdir(mode=0o700)
    (staged / "validation" / "index.html").write_text("x", encoding="utf-8")
    os.chmod(staged / "validation" / "index.html", 0o600)
    old = os.umask(0o022)
    try:
        swap_dir(staged, tmp_path / "2022")
    finally:
        os.umask(old)
    for p in (
        tmp_path / "2022",
        tmp_path / "2022" / "validation",
        tmp_path / "2022" / "validation" / "index.html",
    ):
        assert p.stat().st_mode & stat.S_IROTH, p


# ----------------------------------------------------------------------------- lock, state
def test_second_build_is_refused_while_the_lock_is_held_and_status_says_who(project):
    code = (
        "import sys,time; from par_review.pipeline.runner import build_lock;"
        "from par_review.paths import Paths;"
        f"cm = build_lock(Paths.from_root({str(project.root)!r}), 0); cm.__enter__();"
        "print('locked', flush=True); time.sleep(30)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        t = time.perf_counter()
        out = cli(project.root, "build")
        assert out.returncode == r.EXIT_LOCKED
        assert "another par-review build is running" in out.stderr and "pid" in out.stderr
        assert time.perf_counter() - t < 30  # it did not wait for the holder
        st = cli(project.root, "status")
        assert f"a build is running: pid {holder.pid}" in st.stdout
    finally:
        holder.kill()
        holder.wait()
    with r.build_lock(project, 5):  # kill -9 released the lock: the next run gets it
        pass


def test_status_reports_per_key_failures_and_staleness(project):
    state = State(project)
    state.key(Key("khanh_hoa", 2021))["last"] = {
        "status": "failed",
        "step": "validate",
        "reason": "ValidationFailed: 1 critical failure",
        "at": "2026-01-01T00:00:00+00:00",
    }
    state.save()
    out = cli(project.root, "status")
    assert out.returncode == 0, out.stderr

    def block(key):  # the key's line and the lines under it that say why
        lines = out.stdout.splitlines()
        i = next(i for i, ln in enumerate(lines) if ln.startswith(key + " "))
        j = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith(" ")), None)
        return lines[i], lines[i + 1 : j]

    line2021, why2021 = block("khanh_hoa/2021")
    assert "FAILED at validate (2026-01-01T00:00:00+00:00)" in line2021
    assert "↳ failed: ValidationFailed: 1 critical failure" in "\n".join(why2021)
    line2022, why2022 = block("khanh_hoa/2022")
    assert "stale: clean" in line2022 and line2022.endswith("never built")
    assert "↳ stale because never built" in why2022[0]
    assert "parameter forma" not in out.stdout  # nothing is cut mid-word
    assert not (project.build / "logs" / "build.log").exists()  # status only looks


def test_a_quiet_build_prints_only_its_failures_to_stderr(project, capsys):
    """--quiet (cron): nothing on success; a failed year's line and the log's path on stderr,
    which a scheduler mails."""
    opts = r.BuildOptions(provinces=["khanh_hoa"], years=[2021, 2022], quiet=True)
    run = r.Runner(project, opts, _Sink())
    run.make_tasks()
    run._last_before = {}
    res = run.results[Key("khanh_hoa", 2022)]
    res.status, res.error = "failed", r.StepFailed("validate", "validation", "bad tables")
    assert run.finish() == r.EXIT_VALIDATION
    err = capsys.readouterr().err.splitlines()
    assert err == ["khanh_hoa/2022 FAILED at validate: bad tables", "log: build/logs/build.log"]
    res.status, res.error = "up-to-date", None
    assert run.finish() == r.EXIT_OK
    assert capsys.readouterr().err == ""


def test_an_interrupted_build_records_the_years_it_left_unbuilt_as_interrupted(
    project, monkeypatch
):
    """Ctrl-C: the years whose steps had not ended are 'interrupted' in the state (status
    showed them 'up-to-date'), and the interrupt goes on to the command (exit 130)."""

    def interrupt(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(r.Runner, "_worker", lambda self, slot: None)  # nothing runs
    monkeypatch.setattr(r.Runner, "_not_run", interrupt)  # Ctrl-C while waiting
    run = r.Runner(project, r.BuildOptions(provinces=["khanh_hoa"], years=[2022]), _Sink())
    with pytest.raises(KeyboardInterrupt):
        run.run()
    last = State(project).key(Key("khanh_hoa", 2022))["last"]
    assert last["status"] == "interrupted"


def test_plan_is_a_dry_run_that_says_why(project):
    out = cli(project.root, "plan", "--year", "2022", "--lang", "vi")
    assert out.returncode == 0, out.stderr
    assert "clean    khanh_hoa/2022" in out.stdout and "never built" in out.stdout
    assert "report   khanh_hoa/2022/vi" in out.stdout
    assert "khanh_hoa/2022/en" not in out.stdout
    assert not (project.build / "state.json").exists()  # a dry run writes no state
    assert not project.reports_root.exists()


# ----------------------------------------------------------------------------- index
def test_a_published_year_whose_raw_data_was_removed_stays_listed_and_says_so(project):
    """Removing a year's raw folder never deletes its published report; the index lists it
    and says its raw data is gone, so a reader knows it will not be updated."""
    import shutil

    from par_review.report.index import render_index

    for y in (2021, 2022):
        d = project.report_year(y)
        d.mkdir(parents=True)
        (d / "report.vi.html").write_text("<html></html>", encoding="utf-8")
        (d / "manifest.json").write_text(
            json.dumps({"built_at": "2026-02-28T01:00:00+00:00", "languages": ["vi"]}),
            encoding="utf-8",
        )
    shutil.rmtree(project.raw_year(2021))
    for lang, words in (("vi", "không còn trong thư mục dữ liệu"), ("en", "no longer in the data")):
        page = render_index(project, {"keys": {}}, lang)
        rows = {
            y: page.split(f'<th scope="row">{y}</th>')[1].split("</tr>")[0] for y in (2021, 2022)
        }
        assert words in rows[2021] and "khanh_hoa/2021/report.vi.html" in rows[2021]
        assert words not in rows[2022]


def test_index_lists_every_province_year_language_with_reasons_in_readers_words(project):
    from par_review.report.index import write_index

    d = project.report_year(2022)
    d.mkdir(parents=True)
    for name in ("report.vi.html", "report.en.html", "report.vi.pdf"):
        (d / name).write_text("<html></html>", encoding="utf-8")
    (d / "manifest.json").write_text(
        json.dumps({"built_at": "2026-02-28T01:00:00+00:00", "languages": ["en", "vi"]}),
        encoding="utf-8",
    )
    (d / "metrics.json").write_text(
        json.dumps(
            {
                "rounding": {"policy": "half_up"},
                "levels": {
                    "provincial": {
                        "total": 43,
                        "tiers": {
                            "tot": {
                                "label": "Tốt",
                                "label_en": "Good",
                                "count": 30,
                                "share_pct": 30 / 43 * 100,
                            },
                            "kha": {
                                "label": "Khá",
                                "label_en": "Fair",
                                "count": 13,
                                "share_pct": 13 / 43 * 100,
                            },
                        },
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    state = {
        "keys": {
            "khanh_hoa/2022": {
                "last": {
                    "status": "failed",
                    "step": "clean",
                    "kind": "input",
                    "reason": "InputError: /etc/passwd root:x:0:0 <bad>",
                }
            }
        }
    }
    html = write_index(project, state).read_text(encoding="utf-8")
    en = (project.reports_root / "index.en.html").read_text(encoding="utf-8")
    assert '<html lang="vi">' in html and '<html lang="en">' in en
    assert "30/43 (69,77%)" in html and "13/43 (30,23%)" in html  # every tier, not only Tốt
    assert "30/43 (69.77%)" in en
    assert "dữ liệu đầu vào có lỗi" in html and "the input data have an error" in en
    assert "28/02/2026" in html  # the date of the figures still shown
    assert "/etc/passwd" not in html + en and "root:x" not in html + en  # never quoted
    assert 'href="khanh_hoa/2022/report.vi.html"' in html
    assert 'href="khanh_hoa/2022/report.en.html"' in html
    assert 'href="index.en.html"' in html and 'href="index.html"' in en
    assert '<th scope="col">' in html and '<th scope="row">' in html
    assert "http://" not in html and "https://" not in html and "<script" not in html


def _index_links(html: str) -> list[tuple[str, str]]:
    """(href, accessible name) of every link in the index's tables: the link's whole text,
    visually hidden parts included."""
    from html.parser import HTMLParser

    class P(HTMLParser):
        def __init__(self):
            super().__init__()
            self.links, self.href, self.text, self.in_table = [], None, [], False

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.in_table = True
            if tag == "a" and self.in_table:
                self.href, self.text = dict(attrs)["href"], []

        def handle_endtag(self, tag):
            if tag == "a" and self.href is not None:
                self.links.append((self.href, " ".join("".join(self.text).split())))
                self.href = None

        def handle_data(self, data):
            if self.href is not None:
                self.text.append(data)

    p = P()
    p.feed(html)
    return p.links


def test_index_link_names_say_which_province_and_year(project):
    # a screen reader's list of links read "Tiếng Việt, PDF" for every year: the link's
    # name did not say which report it opens
    from par_review.config import load_config
    from par_review.report.index import write_index

    for year in (2021, 2022):
        d = project.report_year(year)
        d.mkdir(parents=True)
        for name in ("report.vi.html", "report.en.html", "report.vi.pdf", "report.en.pdf"):
            (d / name).write_text("<html></html>", encoding="utf-8")
        (d / "downloads" / "vi").mkdir(parents=True)
        (d / "manifest.json").write_text(
            json.dumps({"built_at": "2026-02-28T01:00:00+00:00", "languages": ["en", "vi"]}),
            encoding="utf-8",
        )
    write_index(project, {"keys": {}})
    for lang, page in (("vi", "index.html"), ("en", "index.en.html")):
        html = (project.reports_root / page).read_text(encoding="utf-8")
        province = load_config(project.province, project).name(lang)
        links = [(h, n) for h, n in _index_links(html) if h.startswith(f"{project.province}/")]
        assert len(links) >= 10, links
        names = [n for _, n in links]
        assert len(set(names)) == len(names), names  # no two links of the page sound alike
        for href, name in links:
            year = href.split("/")[1]
            assert province in name and year in name, (href, name)
        assert 'class="vh"' in html and ".vh{" in html  # heard, not shown twice


def test_index_link_texts_name_only_the_formats_they_link(project):
    # "Bảng số liệu (XLSX, CSV)" linked tables.xlsx alone
    from par_review.report.index import write_index

    d = project.report_year(2022)
    (d / "downloads" / "vi").mkdir(parents=True)
    (d / "downloads" / "en").mkdir(parents=True)
    for name in ("report.vi.html", "report.vi.pdf", "report.en.html", "report.en.pdf"):
        (d / name).write_text("<html></html>", encoding="utf-8")
    (d / "manifest.json").write_text(
        json.dumps({"built_at": "2026-02-28T01:00:00+00:00", "languages": ["vi", "en"]}),
        encoding="utf-8",
    )
    write_index(project, {"keys": {}})
    seen = set()
    for page in ("index.html", "index.en.html"):
        html = (project.reports_root / page).read_text(encoding="utf-8")
        for href, name in _index_links(html):
            named = set(re.findall(r"\b(XLSX|CSV|PDF)\b", name))
            ext = href.rsplit(".", 1)[-1].upper()
            if named:
                assert named == {ext}, (href, name)
                seen.add(ext)
    assert seen == {"XLSX", "PDF"}
    # each page lists its reader's language first (the Vietnamese page led with English)
    for page, first in (("index.html", "report.vi.html"), ("index.en.html", "report.en.html")):
        html = (project.reports_root / page).read_text(encoding="utf-8")
        assert _index_links(html)[0][0].endswith(first), page


# ----------------------------------------------------------------------------- imports
def test_the_build_command_imports_nothing_heavy_until_work_is_needed():
    """A no-op build must stay fast: the CLI and the orchestrator import no data stack."""
    code = (
        "import sys, par_review.cli, par_review.pipeline.runner, par_review.pipeline.status,"
        " par_review.report.index;"
        "heavy = [m for m in ('pandas', 'great_expectations', 'papermill', 'matplotlib',"
        " 'nbconvert', 'nbformat') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_importing_the_package_changes_nothing_global():
    """No jsonschema shim and no matplotlib backend switch on import; the build applies its
    speed-ups in its own kernels."""
    code = (
        "import os, sys; os.environ['MPLBACKEND'] = 'svg';"
        "import par_review, par_review.report.charts, matplotlib;"
        "print(sys.modules.get('rfc3987_syntax', 'untouched'), matplotlib.get_backend())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    shim, backend = out.stdout.split()
    assert shim != "None"  # the optional package is not blocked
    assert backend == "svg"


def test_the_builds_kernels_skip_the_slow_optional_import():
    from par_review.pipeline.kernels import KERNEL_SETUP

    code = (
        KERNEL_SETUP + "\nimport sys, jsonschema\n"
        "jsonschema.validate({'a': 1}, {'type': 'object', 'properties': {'a': {'type': 'integer'}}})\n"
        "print(sys.modules.get('rfc3987_syntax', 'absent'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "None", out.stdout + out.stderr


@pytest.mark.slow
def test_validate_and_metrics_subcommands_on_cleaned_data(demo_processed):
    root = demo_processed.root
    out = cli(root, "metrics", "--year", "2022", timeout=300)
    assert out.returncode == 0, out.stderr
    m = json.loads((demo_processed.work_year(2022) / "metrics.json").read_text(encoding="utf-8"))
    assert m["levels"]["provincial"]["tiers"]["tot"]["count"] == 30
    out = cli(root, "validate", "--year", "2022", timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (demo_processed.work_year(2022) / "validation.json").is_file()


def test_paths_keys(tmp_path):
    p = Paths(tmp_path, "tinh_mau")
    assert p.raw_year(2024) == tmp_path / "data/raw/tinh_mau/2024"
    assert p.processed_year(2024) == tmp_path / "data/processed/tinh_mau/2024"
    assert p.metrics_tables_year(2024) == tmp_path / "data/processed/tinh_mau/metrics/2024"
    assert p.report_year(2024) == tmp_path / "reports/tinh_mau/2024"
    assert p.of("khanh_hoa").raw == tmp_path / "data/raw/khanh_hoa"
    assert p.rel(tmp_path / "data" / "x.csv") == "data/x.csv"
    assert p.rel("/etc/passwd") == "passwd"  # never an absolute path outside the project


def test_recover_cleans_leftovers_and_never_follows_a_link(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("x", encoding="utf-8")
    (reports / "2022").mkdir()
    os.symlink(outside, reports / ".2022.old-123")
    (reports / ".index.html.tmp-999").write_text("half", encoding="utf-8")
    recover(reports)
    assert not (reports / ".2022.old-123").exists() and not (reports / ".2022.old-123").is_symlink()
    assert not (reports / ".index.html.tmp-999").exists()
    assert (outside / "keep.txt").is_file()  # the link was removed, not what it points at
    assert (reports / "2022").is_dir()


def _edit_yaml(path, fn):
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_wording_edit_rerenders_reports_only_and_a_new_target_touches_its_year_only(project):
    """A wording-only edit of province.yml re-runs no data step; adding next year's target
    re-runs only what reads it (issue 12: a new year needs nothing but its folder)."""
    years = [2021, 2022]

    def fps(step, lang=None):
        return {
            y: fpr.fingerprint(manifest(project, step, Key("khanh_hoa", y, lang))) for y in years
        }

    before = {s: fps(s) for s in ("clean", "validate", "analyse")}
    report_before = fps("report", "vi")
    cfgfile = project.config / "province.yml"
    _edit_yaml(
        cfgfile,
        lambda d: (
            d.setdefault("wording", {})
            .setdefault("vi", {})
            .update({"results.intro.commune": "Một câu mới."})
        ),
    )
    assert {s: fps(s) for s in ("clean", "validate", "analyse")} == before
    assert fps("report", "vi") != report_before
    _edit_yaml(
        cfgfile,
        lambda d: d["targets"].update(
            {2021: {"satisfaction": {"value": 80.0, "group": "so_ban_nganh"}}}
        ),
    )
    after = {s: fps(s) for s in ("clean", "validate", "analyse")}
    assert after["clean"] == before["clean"]
    assert after["analyse"][2022] == before["analyse"][2022]
    assert after["analyse"][2021] != before["analyse"][2021]


def test_index_gives_a_failed_validation_its_summary(project):
    from par_review.report.index import write_index

    state = {
        "keys": {
            "khanh_hoa/2021": {
                "last": {
                    "status": "failed",
                    "step": "validate",
                    "kind": "validation",
                    "reason": "ValidationFailed: KHÔNG ĐẠT / FAILED 2021 (khanh_hoa): provincial.score.range"
                    " · Sở Y tế: giá trị / found 105 · tệp / file data/raw/khanh_hoa/2021/"
                    "provincial.xlsx, dòng / row 12",
                }
            }
        }
    }
    html = write_index(project, state).read_text(encoding="utf-8")
    assert "số liệu chưa đạt kiểm định" in html
    assert "provincial.score.range" in html and "Sở Y tế" in html and "dòng / row 12" in html


# ---------------------------------------------------------------- scheduling of the imports
class _FakeKernel:
    """What the scheduler reads of a worker: the stacks its kernel has imported."""

    def __init__(self, *warm: str):
        self.warm, self.km = set(warm), object()


def _one_raw_file_changed(project) -> r.Runner:
    """The tasks of a build after khanh_hoa 2022's raw file changed, as the scheduler sees
    them: every other data step is up to date, so 2022's clean runs and the rest waits."""
    run = r.Runner(project, r.BuildOptions(provinces=["khanh_hoa"], years=[2022]))
    run.make_tasks()
    for t in run.tasks.values():
        if t.step.name in ("clean", "validate") and t.key.year != 2022:
            t.status = "skipped"
    run._slots = [r._Slot(), r._Slot()]
    return run


def test_an_idle_thread_imports_the_next_stack_no_other_kernel_has(project):
    run = _one_raw_file_changed(project)
    a, b = run._slots
    assert run._prewarm_tag(b) is None  # no step ran yet (a no-op build starts no kernel)
    run.tasks["clean khanh_hoa/2022"].status = "running"
    a.worker, a.busy, run.kernels_started = _FakeKernel(), True, 1
    assert run._prewarm_tag(b) == "gx"  # the validation comes next: the other thread cleans
    b.warming = "gx"
    run.tasks["clean khanh_hoa/2022"].status = "done"
    a.busy = False
    # one validation is pending and b imports its stack: a takes the report's instead
    assert run._ready(a) is None
    assert run._prewarm_tag(a) == "report"
    b.worker, b.warming = _FakeKernel("gx"), None
    assert run._ready(b).id == "validate khanh_hoa/2022"


def test_a_task_waits_for_the_kernel_that_has_its_stack_only_while_that_kernel_is_free(project):
    run = _one_raw_file_changed(project)
    a, b = run._slots
    run.tasks["clean khanh_hoa/2022"].status = "done"
    a.worker, b.worker, run.kernels_started = _FakeKernel(), _FakeKernel("gx"), 2
    assert run._ready(a) is None  # b has Great Expectations and is free: it validates
    b.busy = True
    assert run._ready(a).id == "validate khanh_hoa/2022"  # b is busy: a does not wait


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_internal_error_in_a_build_thread_fails_the_build_and_publishes_nothing(
    project, monkeypatch, jobs
):
    """A fault of the build itself (here the scheduler raising) stops its worker thread;
    the build must then say so and exit 4, not report every year "up to date" with
    nothing run (which it did: the threads ended, and finish() saw no failed task)."""
    import io

    def broken(self, slot):
        raise RuntimeError("scheduler fault")

    monkeypatch.setattr(r.Runner, "_ready", broken)
    out = io.StringIO()
    run = r.Runner(project, r.BuildOptions(provinces=["khanh_hoa"], years=[2022], jobs=jobs), out)
    assert run.run() == r.EXIT_STEP
    text = out.getvalue()
    assert "internal error of the build: RuntimeError: scheduler fault" in text
    assert "step(s) not run: RuntimeError: scheduler fault" in text
    assert run.results and all(res.status == "failed" for res in run.results.values())
    assert all(t.status == "failed" for t in run.tasks.values() if t.target)
    assert not any(run.published(k).exists() for k in run.results)
    log = run.log_path.read_text(encoding="utf-8")
    assert "Traceback" in log and "scheduler fault" in log


def test_a_build_with_nothing_to_run_decides_in_one_thread_and_work_starts_the_others(
    project, monkeypatch
):
    """Two threads deciding at once pass the GIL to and fro on every file they look at,
    which made a no-op build slower with two jobs than with one. The first thread decides
    alone; the others start when it meets a step that has to run."""
    import io

    started = lambda run: sum(th.ident is not None for th in run._threads)  # noqa: E731
    monkeypatch.setattr(r.Runner, "decide", lambda self, task, rdir: (False, "", {}, {}))
    monkeypatch.setattr(r.Runner, "gate", lambda self, task: None)  # "validated"
    opts = r.BuildOptions(provinces=["khanh_hoa"], years=[2021, 2022], jobs=2)
    run = r.Runner(project, opts, io.StringIO())
    run.run()  # (not 0: nothing was ever built, so there is nothing to publish)
    assert len(run._threads) == 2 and started(run) == 1
    assert all(t.status == "skipped" for t in run.tasks.values())

    class NoKernel:  # a step that has to run gets as far as its kernel, then fails
        km, warm = None, frozenset()

        def __init__(self, *a, **kw):
            pass

        def run_notebook(self, *a, **kw):
            raise RuntimeError("no kernel in this test")

        def shutdown(self):
            pass

    monkeypatch.setattr(r.Runner, "decide", lambda self, task, rdir: (True, "test", {}, {}))
    monkeypatch.setattr(r, "Worker", NoKernel)
    run = r.Runner(project, opts, io.StringIO())
    assert run.run() != 0
    assert started(run) == 2
    assert any("no kernel in this test" in str(t.error) for t in run.tasks.values())


def test_an_internal_error_while_publishing_fails_that_year(project, monkeypatch):
    """The fault comes after a step ended (its year's publish raises): the year is failed,
    not "up to date", and the build exits 4."""
    import io

    monkeypatch.setattr(r.Runner, "run_task", lambda self, w, task: w)  # every step "passes"

    def publish(self, key, res):
        raise ValueError("publish fault")

    monkeypatch.setattr(r.Runner, "publish", publish)
    out = io.StringIO()
    run = r.Runner(project, r.BuildOptions(provinces=["khanh_hoa"], years=[2022], jobs=2), out)
    assert run.run() == r.EXIT_STEP
    res = run.results[Key("khanh_hoa", 2022)]
    assert res.status == "failed" and "publish fault" in res.error.reason
    assert "internal error of the build: ValueError: publish fault" in out.getvalue()


def test_the_printer_goes_on_after_an_internal_error_publishing_a_year(project, monkeypatch):
    """The PDFs are printed by a thread of their own, which also publishes the year of the
    last report it prints. A publish that raises must not stop it (the reports queued
    after it would stay "running" and the build would wait for them for ever): the
    printer fails that year and goes on."""
    import io
    import threading

    def run_task(self, w, task):
        if task.step.name == "report":
            task.printing = True
            self._print_later(task, w, self.staging(task.key.data), {})
        return w

    def publish(self, key, res):
        raise ValueError(f"publish fault {key.year}")

    monkeypatch.setattr(r.Runner, "run_task", run_task)
    monkeypatch.setattr(r.Runner, "print_pdf", lambda self, rdir, lang: None)
    monkeypatch.setattr(r.Runner, "_record_done", lambda self, *a: None)
    monkeypatch.setattr(r.Runner, "publish", publish)
    out = io.StringIO()
    opts = r.BuildOptions(provinces=["khanh_hoa"], years=[2021, 2022], jobs=2)
    run = r.Runner(project, opts, out)
    rc: list[int] = []
    th = threading.Thread(target=lambda: rc.append(run.run()), daemon=True)
    th.start()
    th.join(timeout=60)
    assert not th.is_alive(), "the build hung on the prints queued after the fault"
    assert rc == [r.EXIT_STEP]
    for year in (2021, 2022):
        res = run.results[Key("khanh_hoa", year)]
        assert res.status == "failed" and f"publish fault {year}" in res.error.reason


def test_a_build_kernel_imports_the_unused_parts_of_great_expectations_only_when_used():
    from par_review.pipeline.kernels import KERNEL_SETUP

    code = (
        KERNEL_SETUP + "\nimport sys, great_expectations\n"
        "kinds = [type(sys.modules[m]).__name__ for m in ('scipy.stats', 'altair')]\n"
        "from great_expectations.expectations.core import "
        "expect_column_kl_divergence_to_be_less_than as kl\n"
        "assert kl.stats.norm.cdf(0) == 0.5, 'the module works once used'\n"
        "import altair.vegalite\n"
        "assert kl.alt.Chart is sys.modules['altair'].Chart\n"
        "kinds += [type(sys.modules[m]).__name__ for m in ('scipy.stats', 'altair')]\n"
        "print(*kinds)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["_Deferred", "_Deferred", "module", "module"]


def test_the_build_says_a_published_years_warnings_to_the_operator(tmp_path):
    """README: a year with no target "builds with a warning that names the key to add".
    The warning was in metrics.json and the report only; the console and build.log had
    nothing (found by a review)."""
    folder = tmp_path / "staging"
    folder.mkdir()
    assert r.published_warnings(folder, "reports/khanh_hoa/2026") == []
    message = "no satisfaction target for 2026: add `targets: {2026: ...}` to province.yml"
    (folder / "metrics.json").write_text(
        json.dumps({"warnings": [{"code": "no_target", "message": message}]}), "utf-8"
    )
    (folder / "validation.json").write_text(
        json.dumps({"warnings": [{"check": "a"}, {"check": "b"}]}), "utf-8"
    )
    said = r.published_warnings(folder, "reports/khanh_hoa/2026")
    assert said == [
        message,
        "2 data checks warned: the data-check page in reports/khanh_hoa/2026/ lists them",
    ]


def test_the_browser_starts_with_the_validation_when_reports_will_follow(project):
    """One raw file changed: its validation runs alone (the analyses wait for it), so the
    printing browser starts with it, on the idle core; a clean never starts it (both cores
    start kernels then), and neither does a validation with no report to come."""
    run = _one_raw_file_changed(project)
    clean, validate = (run.tasks[f"{s} khanh_hoa/2022"].step for s in ("clean", "validate"))
    analyse = run.tasks["analyse khanh_hoa/2022"].step
    report = next(t.step for t in run.tasks.values() if t.step.name == "report")
    assert not run.wants_browser(clean)
    assert run.wants_browser(validate) and run.wants_browser(analyse)
    for t in run.tasks.values():
        if t.step.name == "report":
            t.status = "skipped"
    assert not run.wants_browser(validate) and not run.wants_browser(analyse)
    assert run.wants_browser(report)


def test_a_stopped_build_publishes_no_year_after_the_stop(project):
    """Ctrl-C or SIGTERM: a worker thread that reaches the swap of a finished year after
    the stop publishes nothing (it published after "interrupted", and status then called the
    year stale); before the stop the same year is published."""
    run = r.Runner(project, r.BuildOptions(provinces=["khanh_hoa"], years=[2022]))
    run.make_tasks()
    key = next(k for k in run.results if k.year == 2022)
    for t in run.tasks.values():  # every step of the year ran (the swap is what is tested)
        t.status = "done"
    said: list[str] = []
    run.say = said.append
    res = r.YearResult(key, ran=["clean"])
    run.staging(key).mkdir(parents=True)
    (run.staging(key) / "report.vi.html").write_text("<html></html>", encoding="utf-8")
    run._interrupted = True
    run.publish(key, res)
    assert not run.published(key).exists() and res.status != "published"
    assert said == [f"{key} not published: the build was stopped"]
    run._interrupted = False
    run.publish(key, res)
    assert res.status == "published" and run.published(key).is_dir()
