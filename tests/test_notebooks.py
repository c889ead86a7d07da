"""The analyst's notebooks (issue 8): house style, reviewable in git, and each one runs under
papermill, in pipeline order, on a temporary copy of the project with the demo data.

Static checks are fast; the papermill runs are marked slow (they start a kernel)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

from par_review.paths import Paths

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
KERNEL = "par-review"
# Pipeline order: each notebook reads what the previous ones wrote.
PIPELINE = ["10_clean", "20_validate", "30_analyse", "40_report"]
# What every notebook declares (house style), and what the report notebook adds.
BASE_PARAMETERS = {"year", "province", "root"}
EXTRA_PARAMETERS = {
    "40_report": {"lang", "rounding", "out_dir"},
    "20_validate": {"out_dir"},
    "30_analyse": {"out_dir"},
}
RUN_TIMEOUT = 600  # seconds per cell; the whole chain is bounded by pytest-timeout below


def committed_notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def orchestration_parameters(stem: str) -> set[str]:
    """The parameters `par-review build` passes to this notebook (read from the step table
    itself, so that this test follows the pipeline)."""
    from par_review.pipeline.steps import STEPS, Context, Key

    for step in STEPS:
        if step.notebook == f"{stem}.ipynb":
            key = Key("khanh_hoa", 2022, "vi" if step.per_lang else None)
            return set(step.params(key, Context(Paths.from_root(REPO)), REPO / "build" / "staging"))
    return set()


def required_parameters(stem: str) -> set[str]:
    return BASE_PARAMETERS | EXTRA_PARAMETERS.get(stem, set()) | orchestration_parameters(stem)


def parameters_cell(nb) -> nbformat.NotebookNode:
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert tagged[0].cell_type == "code"
    return tagged[0]


def declared_parameters(cell) -> dict[str, object]:
    """name -> default value of every `name = literal` in the parameters cell."""
    tree = ast.parse(cell.source)
    out = {}
    for node in tree.body:
        assert isinstance(node, (ast.Assign, ast.AnnAssign)), (
            f"the parameters cell holds only assignments, found: {ast.unparse(node)}"
        )
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            assert isinstance(t, ast.Name), ast.unparse(node)
            out[t.id] = ast.literal_eval(node.value)  # papermill can only override literals
    return out


NOTEBOOKS = committed_notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def test_pipeline_notebooks_are_known_to_the_orchestrator():
    from par_review.pipeline.kernels import KERNEL as BUILD_KERNEL
    from par_review.pipeline.steps import STEPS

    assert [Path(s.notebook).stem for s in STEPS] == PIPELINE
    assert BUILD_KERNEL == KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_house_style(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == KERNEL  # the kernel papermill and the lab use
    assert nb.metadata["kernelspec"].get("language") == "python"
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    text = first.source.lower()
    assert text.startswith("#"), "the first cell opens with a title"
    for what in ("reads", "writes", "parameters", "scheduled"):
        assert what in text, f"the first Markdown cell says what it {what} (missing '{what}')"
    assert nb.cells.index(parameters_cell(nb)) == 1, (
        "the parameters cell comes right after the header"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    """Reviewable in git: no outputs, execution counts, or run metadata."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert "papermill" not in raw["metadata"] and "widgets" not in raw["metadata"]
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"outputs committed in cell {cell.get('id')}"
            assert cell.get("execution_count") is None, (
                f"execution count committed in cell {cell.get('id')}"
            )
        assert not {"execution", "papermill", "collapsed", "scrolled"} & set(
            cell.get("metadata", {})
        ), cell.get("id")
        assert "attachments" not in cell or not cell["attachments"]
    assert path.read_text(encoding="utf-8").endswith("\n")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell_declares_what_the_orchestration_passes(path):
    nb = nbformat.read(path, as_version=4)
    cell = parameters_cell(nb)
    declared = declared_parameters(cell)
    missing = required_parameters(path.stem) - set(declared)
    assert not missing, (
        f"{path.name}: parameters passed by the scheduled run but not declared: {sorted(missing)}"
    )
    # defaults: an analyst runs it top to bottom as is -> a year with raw data, this checkout
    assert declared["year"] in Paths.from_root(REPO).raw_years()
    assert declared["province"] == "khanh_hoa"
    assert declared["root"] == ""
    if "out_dir" in declared:
        assert declared["out_dir"] == ""
    # each parameter says what it means
    for line in cell.source.splitlines():
        if re.match(r"\s*\w+\s*=", line):
            assert "#" in line, f"{path.name}: parameter without a comment: {line.strip()}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_cells_are_short_and_call_the_package(path):
    """Logic lives in par_review (unit-tested), not in notebook cells."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and any("par_review" in c.source for c in code)
    for c in code:
        assert len(c.source.splitlines()) <= 30, (
            f"{path.name} cell {c.get('id')} is long: move it into the package"
        )
        src = "\n".join(
            line for line in c.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        defs = [
            n.name
            for n in ast.walk(ast.parse(src))
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))
        ]
        assert not defs, f"{path.name}: define {defs} in the package instead"


# --------------------------------------------------------------------------------------
# papermill runs, in pipeline order, on one temporary copy of the project
class Chain:
    def __init__(self, paths: Paths, tmp: Path):
        self.paths, self.tmp = paths, tmp
        self.done: dict[str, nbformat.NotebookNode] = {}
        self.failed: dict[str, str] = {}

    def params(self, stem: str, year: int) -> dict:
        declared = declared_parameters(
            parameters_cell(nbformat.read(self.paths.notebooks / f"{stem}.ipynb", 4))
        )
        p = {
            "year": year,
            "province": "khanh_hoa",
            "root": str(self.paths.root),
            "out_dir": str(self.paths.work_year(year)),
            "lang": "vi",
            "rounding": "",
        }
        return {k: v for k, v in p.items() if k in declared}

    def run(self, stem: str, year: int = 2022) -> nbformat.NotebookNode:
        import papermill as pm

        if stem in self.done:
            return self.done[stem]
        for before in PIPELINE[: PIPELINE.index(stem)]:
            if (self.paths.notebooks / f"{before}.ipynb").exists() and before not in self.done:
                self.run(before, year)
        for before, why in self.failed.items():
            pytest.skip(f"{stem} needs {before}, which failed: {why}")
        out = self.tmp / f"{stem}.executed.ipynb"
        try:
            nb = pm.execute_notebook(
                str(self.paths.notebooks / f"{stem}.ipynb"),
                str(out),
                parameters=self.params(stem, year),
                kernel_name=KERNEL,
                cwd=str(self.paths.notebooks),
                execution_timeout=RUN_TIMEOUT,
                progress_bar=False,
                log_output=False,
            )
        except Exception as exc:
            self.failed[stem] = (
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            )
            raise
        self.done[stem] = nb
        return nb


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    from conftest import make_project_copy

    tmp = tmp_path_factory.mktemp("nbchain")
    paths = make_project_copy(tmp / "proj")
    with pytest.MonkeyPatch.context() as mp:  # what the `project` fixture does, for the module
        mp.setenv("PAR_REVIEW_ROOT", str(paths.root))
        mp.setenv("MPLBACKEND", "agg")
        mp.setenv("GX_ANALYTICS_ENABLED", "false")
        yield Chain(paths, tmp)


def error_outputs(nb) -> list[str]:
    """Errors, and anything on stderr (tracebacks, warnings): a clean run prints none."""
    found = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                found.append(f"{o.get('ename')}: {o.get('evalue')}")
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                found.append(f"stderr in cell {c.get('id')}: {o.get('text', '')[:300]}")
    return found


EXPECTED_OUTPUTS = {
    "10_clean": lambda p, y: [p.processed_year(y) / t for t in ("provincial.csv", "commune.csv")],
    "20_validate": lambda p, y: [p.work_year(y) / "validation.json"],
    "30_analyse": lambda p, y: [p.work_year(y) / "metrics.json"],
    "40_report": lambda p, y: [],
}


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("stem", PIPELINE)
def test_notebook_runs_under_papermill(chain, stem):
    if not (chain.paths.notebooks / f"{stem}.ipynb").exists():
        pytest.skip(f"notebooks/{stem}.ipynb does not exist yet")
    nb = chain.run(stem)
    assert not error_outputs(nb), error_outputs(nb)
    assert nb.metadata["papermill"]["exception"] in (None, False)
    for f in EXPECTED_OUTPUTS[stem](chain.paths, 2022):
        assert f.is_file(), f"{stem} did not write {f.relative_to(chain.paths.root)}"
