"""The project's own promises: two commands, one list of dependencies, CI = the README's
test command, ignored outputs."""

from __future__ import annotations

import re
import subprocess
import tomllib

import yaml

from tests.conftest import REPO


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands():
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", readme(), re.S).group(1)
    commands = [ln.split("#")[0].strip() for ln in block.strip().splitlines()]
    assert commands == ["make report", "make test"]


def test_ci_runs_exactly_the_readme_test_command():
    lines = [
        ln.strip()
        for ln in (REPO / ".ci" / "run").read_text().splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    assert "make test" in lines


def test_environment_yml_has_no_second_package_list():
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    deps = env["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert sorted(c.split("=")[0] for c in conda) == ["pip", "python"]
    assert pip == ["-r requirements-lock.txt", "--no-deps -e ."]
    py = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    need = py["project"]["requires-python"].removeprefix(">=")
    pyver = next(c for c in conda if c.startswith("python"))
    assert tuple(map(int, pyver.split("=")[1].split("."))) >= tuple(map(int, need.split(".")))


def test_conda_gets_the_versions_of_the_lock_file():
    """requirements-lock.txt (what environment.yml installs) is uv.lock, exported."""
    out = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "uv"),
            "export",
            "--frozen",
            "--extra",
            "dev",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
            "-q",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert (REPO / "requirements-lock.txt").read_text(encoding="utf-8") == out.stdout


def test_the_environment_is_installed_from_the_lock_file():
    text = (REPO / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    assert "uv sync" in text and "--frozen" in text
    assert (REPO / "uv.lock").is_file()


def test_named_packages_are_declared():
    py = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    names = {
        re.split(r"[<>=\[ ;]", d)[0].lower()
        for d in py["project"]["dependencies"] + py["project"]["optional-dependencies"]["dev"]
    }
    for pkg in ("jupyterlab", "papermill", "pandas", "seaborn", "nbconvert", "great-expectations"):
        assert pkg in names


def test_make_without_target_lists_documented_targets():
    out = subprocess.run(
        ["make", "-s", "-C", str(REPO)], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0
    for target in ("report", "test", "lab", "status", "bench"):
        assert re.search(rf"make {target}\s", out.stdout), target


def test_outputs_are_ignored_by_git():
    for path in (
        "data/processed/khanh_hoa/2022/provincial.csv",
        "reports/2022/report.html",
        ".venv/bin/python",
        "build/state.json",
    ):
        out = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", path])
        assert out.returncode == 0, f"{path} is not ignored"
    out = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "-q", "data/raw/khanh_hoa/2022/provincial.xlsx"]
    )
    assert out.returncode == 1


def test_papermill_reads_every_declared_parameter():
    """papermill's parser gives up on a parameter line it cannot read (e.g. quotes inside
    the comment) and then warns "Passed unknown parameter"; every line must parse."""
    import ast
    import json

    import papermill as pm

    for nb_path in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
        declared = [
            t.id
            for node in ast.parse("".join(cell["source"])).body
            if isinstance(node, ast.Assign)
            for t in node.targets
        ]
        assert list(pm.inspect_notebook(str(nb_path))) == declared, nb_path.name
