"""Smoke run of notebooks/30_analyse.ipynb under papermill on the demo data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from par_review.paths import Paths

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_analyse_notebook_writes_metrics(demo_processed, tmp_path):
    papermill = pytest.importorskip("papermill")
    root = tmp_path / "proj"
    shutil.copytree(demo_processed.config_dir, root / "config")
    shutil.copytree(demo_processed.processed, root / "data" / "processed" / demo_processed.province)
    paths = Paths.from_root(root, demo_processed.province)
    out_dir = tmp_path / "out"
    nb = papermill.execute_notebook(
        str(REPO / "notebooks" / "30_analyse.ipynb"),
        str(tmp_path / "executed.ipynb"),
        parameters={
            "year": 2022,
            "province": demo_processed.province,
            "root": str(root),
            "out_dir": str(out_dir),
            "rounding": "truncate",
        },
        kernel_name="par-review",
        execution_timeout=120,
        progress_bar=False,
    )
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    metrics = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["rounding"]["policy"] == "truncate"
    assert metrics["levels"]["provincial"]["tiers"]["tot"]["share_display"] == 69.76
    assert (paths.metrics_tables_year(2022) / "metrics_tiers.csv").is_file()
    # the committed notebook has no outputs
    committed = json.loads((REPO / "notebooks" / "30_analyse.ipynb").read_text(encoding="utf-8"))
    assert all(not c.get("outputs") for c in committed["cells"] if c["cell_type"] == "code")
    assert committed["metadata"]["kernelspec"]["name"] == "par-review"
