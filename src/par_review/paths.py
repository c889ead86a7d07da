"""Where things live. Code never depends on the working directory.

Every data artifact is addressed by (province, year) and every report by (province, year,
lang). The top-level folders stay the ones the project was asked for; the province sits
inside each of them:

    config/<province>/                    province.yml, units.csv (the registry)
    data/raw/<province>/<year>/           as received, never edited
    data/raw/<province>/national/         national index results (one table, all years)
    data/processed/<province>/<year>/     cleaned tables (written by the clean step only)
    data/processed/<province>/metrics/<year>/   metric tables (written by the analyse step only)
    reports/index.html                    every province, year and language
    reports/<province>/<year>/            report.<lang>.html|pdf, metrics.json, validation/ ...
    build/                                state, lock, staging, logs (never published)

The project root is the checkout that holds this package (src layout), unless the
environment variable PAR_REVIEW_ROOT points elsewhere (tests build on temporary copies).
A `Paths` is bound to one province; `paths.of(other)` gives the same root for another.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_PROVINCE = "khanh_hoa"
PROVINCE_NAME = re.compile(r"^[a-z0-9_]+$")


def default_root() -> Path:
    env = os.environ.get("PAR_REVIEW_ROOT")
    if env:
        return Path(env).resolve()
    return PACKAGE_DIR.parents[1]


def _is_year(p: Path) -> bool:
    return p.is_dir() and p.name.isdigit() and len(p.name) == 4


@dataclass(frozen=True)
class Paths:
    root: Path
    province: str = DEFAULT_PROVINCE

    @classmethod
    def from_root(cls, root: str | Path | None = None, province: str | None = None) -> Paths:
        r = Path(root).resolve() if root else default_root()
        return cls(r, province or default_province(r))

    def of(self, province: str | None) -> Paths:
        """The same project, another province (None: this one)."""
        if not province or province == self.province:
            return self
        return replace(self, province=province)

    # -- project-wide folders -------------------------------------------------------------
    @property
    def raw_root(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def processed_root(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def reports_root(self) -> Path:
        """reports/: index.html and one folder per province."""
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
        """Build state, lock, staging, logs and executed notebooks (never published)."""
        return self.root / "build"

    # -- this province's folders ----------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.config_dir / self.province

    @property
    def raw(self) -> Path:
        return self.raw_root / self.province

    @property
    def processed(self) -> Path:
        return self.processed_root / self.province

    @property
    def reports(self) -> Path:
        return self.reports_root / self.province

    def work_year(self, year: int) -> Path:
        """Where a year's notebooks write their outputs when run by hand (metrics.json,
        validation.json, validation/, the report). The notebooks' `out_dir=""` means this
        folder; the build passes its own staging folder instead."""
        return self.build / "work" / self.province / str(year)

    def raw_year(self, year: int) -> Path:
        return self.raw / str(year)

    def processed_year(self, year: int) -> Path:
        """The cleaned tables of a year: written by the clean step, and by it alone."""
        return self.processed / str(year)

    def metrics_tables_year(self, year: int) -> Path:
        """The metric tables (metrics_*.csv) of a year: written by the analyse step alone."""
        return self.processed / "metrics" / str(year)

    def report_year(self, year: int) -> Path:
        return self.reports / str(year)

    @property
    def national_raw(self) -> Path:
        return self.raw / "national" / "national_indices.csv"

    def raw_years(self) -> list[int]:
        """Every year with a folder in data/raw/<province>/ (a new folder is picked up)."""
        if not self.raw.is_dir():
            return []
        return sorted(int(p.name) for p in self.raw.iterdir() if _is_year(p))

    def processed_years(self) -> list[int]:
        if not self.processed.is_dir():
            return []
        return sorted(int(p.name) for p in self.processed.iterdir() if _is_year(p))

    def rel(self, p: Path | str) -> str:
        """A path as the project names it (relative to the root, POSIX), for messages and
        provenance: never an absolute server path. Outside the project: its name only."""
        p = Path(p)
        if p.is_absolute() and ".." not in p.parts and not p.is_symlink():
            try:  # the common case, without touching the disk
                return p.relative_to(self.root).as_posix()
            except ValueError:
                pass
        try:
            return p.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            try:
                return p.relative_to(self.root).as_posix()
            except ValueError:
                return p.name


def provinces(root: Path) -> list[str]:
    """The provinces of a project: folders under config/ with a province.yml."""
    cfg = root / "config"
    if not cfg.is_dir():
        return []
    return sorted(
        p.name
        for p in cfg.iterdir()
        if (p / "province.yml").is_file() and PROVINCE_NAME.match(p.name)
    )


def default_province(root: Path) -> str:
    """The province a bare command means: the only one there is, else the demo's."""
    found = provinces(root)
    if len(found) == 1:
        return found[0]
    return DEFAULT_PROVINCE


SIMULATED_MARKERS = ("DEMO", "SIMULATED")  # data/raw/<province>/<marker>: simulated data
SIMULATED_WORDS = ("simulated", "mô phỏng")


def simulated_flag(paths: Paths) -> str | None:
    """Is this province's raw data simulated? A marker file data/raw/<province>/DEMO or
    SIMULATED (any content), or data/raw/<province>/README.md saying SIMULATED / mô phỏng.
    The notice belongs to each province's own data, not to the whole checkout. Returns the
    source (relative to the project)."""
    for name in SIMULATED_MARKERS:
        if (paths.raw / name).is_file():
            return paths.rel(paths.raw / name)
    readme = paths.raw / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8", errors="replace").casefold()
        if any(w in text for w in SIMULATED_WORDS):
            return paths.rel(readme)
    return None
