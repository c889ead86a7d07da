"""notebooks/20_validate.ipynb: its last cell is the gate, so papermill fails on bad data."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "20_validate.ipynb"
PAPERMILL = Path(sys.executable).with_name("papermill")


def test_notebook_ends_with_the_gate_and_declares_its_parameters():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[-1].source.strip() == "gate(report)"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for name in ("year", "province", "root", "out_dir"):
        assert f"{name} = " in params[0].source
    assert "validate_year(" in "".join(c.source for c in code)
    assert all(not c.get("outputs") for c in code)
    assert nb.metadata.kernelspec.name == "par-review"
    import papermill

    assert set(papermill.inspect_notebook(str(NOTEBOOK))) == {"year", "province", "root", "out_dir"}


def run(root: Path, out: Path, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(PAPERMILL),
            "-k",
            "par-review",
            str(NOTEBOOK),
            str(tmp / "executed.ipynb"),
            "-p",
            "year",
            "2022",
            "-p",
            "root",
            str(root),
            "-p",
            "out_dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_papermill_passes_on_demo_data_and_fails_on_a_critical_failure(demo_processed, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(demo_processed.root, root, ignore=shutil.ignore_patterns("build", "reports"))
    ok = run(root, tmp_path / "ok", tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert (tmp_path / "ok" / "validation.json").is_file()
    assert (tmp_path / "ok" / "validation" / "index.html").is_file()
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    outputs = "".join(
        o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "PASSED" in outputs and "ĐẠT" in outputs

    from par_review.paths import Paths

    csv = Paths.from_root(root, "khanh_hoa").processed_year(2022) / "provincial.csv"
    prov = pd.read_csv(csv, dtype=str, keep_default_na=False)
    i = prov.index[prov.tier == "tot"][0]
    prov.loc[i, "score"] = "84.9"
    prov.to_csv(csv, index=False)
    bad = run(root, tmp_path / "bad", tmp_path)
    assert bad.returncode != 0
    assert "ValidationFailed" in bad.stderr + bad.stdout
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    outputs = "".join(
        o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
    )
    assert prov.loc[i, "unit_name"] in outputs and "84.9" in outputs and "KHÔNG ĐẠT" in outputs
    # the failure names the raw file and row the value came from, and the Data Docs
    assert f"{prov.loc[i, 'source_file']}, dòng / row {prov.loc[i, 'source_row']}" in outputs
    assert "Data Docs" in outputs
