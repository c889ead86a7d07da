"""Where things live. Code never depends on the working directory.

The project root is the checkout that holds this package (src layout), unless the
environment variable PAR_REVIEW_ROOT points elsewhere (tests build on temporary copies).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def default_root() -> Path:
    env = os.environ.get("PAR_REVIEW_ROOT")
    if env:
        return Path(env).resolve()
    return PACKAGE_DIR.parents[1]


@dataclass(frozen=True)
class Paths:
    root: Path

    @classmethod
    def from_root(cls, root: str | Path | None = None) -> Paths:
        return cls(Path(root).resolve() if root else default_root())

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def validation(self) -> Path:
        return self.root / "validation"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def build(self) -> Path:
        """Build cache, staging, logs and executed notebooks (never published)."""
        return self.root / "build"

    def work_year(self, year: int) -> Path:
        """Where a year's notebooks write their outputs before publication (the staging
        folder): metrics.json, validation.json, validation/ (Data Docs), report.html/.pdf.
        The notebooks' `out_dir=""` parameter means this folder."""
        return self.build / "work" / str(year)

    def raw_year(self, year: int) -> Path:
        return self.raw / str(year)

    def processed_year(self, year: int) -> Path:
        return self.processed / str(year)

    def report_year(self, year: int) -> Path:
        return self.reports / str(year)

    @property
    def national_raw(self) -> Path:
        return self.raw / "national" / "national_indices.csv"

    def raw_years(self) -> list[int]:
        """Every year with a folder in data/raw/ (a new folder is picked up automatically)."""
        if not self.raw.is_dir():
            return []
        return sorted(
            int(p.name)
            for p in self.raw.iterdir()
            if p.is_dir() and p.name.isdigit() and len(p.name) == 4
        )

    def processed_years(self) -> list[int]:
        if not self.processed.is_dir():
            return []
        return sorted(
            int(p.name)
            for p in self.processed.iterdir()
            if p.is_dir() and p.name.isdigit() and len(p.name) == 4
        )


SIMULATED_MARKERS = ("DEMO", "SIMULATED")  # data/raw/<marker> file: the data is simulated
SIMULATED_WORDS = ("simulated", "mô phỏng")


def simulated_flag(paths: Paths) -> str | None:
    """Is the raw data simulated? A marker file data/raw/DEMO or data/raw/SIMULATED (any
    content), or data/raw/README.md saying SIMULATED / mô phỏng. Returns the source."""
    for name in SIMULATED_MARKERS:
        if (paths.raw / name).is_file():
            return f"data/raw/{name}"
    readme = paths.raw / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8", errors="replace").casefold()
        if any(w in text for w in SIMULATED_WORDS):
            return "data/raw/README.md"
    return None
