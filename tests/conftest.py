"""Shared fixtures. Tests never write into the checkout: they work on temporary copies of
the project (config, raw data, notebooks, validation suites)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from par_review.paths import Paths

REPO = Path(__file__).resolve().parents[1]
COPIED = ("config", "data/raw", "notebooks", "validation")


def make_project_copy(dest: Path) -> Paths:
    for rel in COPIED:
        src = REPO / rel
        if src.exists():
            shutil.copytree(
                src, dest / rel, ignore=shutil.ignore_patterns("uncommitted", ".ipynb_checkpoints")
            )
    return Paths.from_root(dest)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Paths:
    """A fresh copy of the project in a temporary folder (PAR_REVIEW_ROOT points at it)."""
    paths = make_project_copy(tmp_path / "proj")
    monkeypatch.setenv("PAR_REVIEW_ROOT", str(paths.root))
    return paths


@pytest.fixture(scope="session")
def demo_processed(tmp_path_factory) -> Paths:
    """A project copy with every demo year cleaned into data/processed (read-only use)."""
    from par_review.clean.tables import clean_year

    paths = make_project_copy(tmp_path_factory.mktemp("demo") / "proj")
    for year in paths.raw_years():
        clean_year(year, paths)
    return paths


@pytest.fixture(scope="session")
def cfg():
    from par_review.config import load_config

    return load_config("khanh_hoa", Paths.from_root(REPO))
