#!/usr/bin/env python
"""(Re)generate notebooks/10_clean.ipynb from its spec. Other notebooks are edited in
JupyterLab directly; this script is kept as the reference for the house style."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from make_notebook import write_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

write_notebook(
    ROOT / "notebooks" / "10_clean.ipynb",
    """
# 10 · Clean one year's raw data

**What it does.** Reads the appendices that the Department of Home Affairs sends for one year,
maps every row to a unit of the registry (`config/<province>/units.csv`), parses Vietnamese
numbers and tier labels, and writes tidy tables.

**Reads** `data/raw/<year>/provincial.(xlsx|csv)`, `commune.(xlsx|csv)`, `satisfaction.(xlsx|csv)`
(optional), `data/raw/national/national_indices.csv`, and `config/<province>/`.
**Writes** `data/processed/<year>/provincial.csv`, `commune.csv`, `satisfaction.csv`,
`national_indices.csv` — all or nothing: on bad input it stops with a message that names the
file, sheet, row, column, the value found and the value expected.

**Parameters** (next cell, tagged `parameters`): `year` — the year to clean; `province` — the
config folder; `root` — the project root (blank: this checkout).

**Scheduled run.** `par-review build` runs it through papermill with
`-p year <Y> -p root <project>` on the `par-review` kernel.
""",
    """
year = 2022  # the year to clean: a folder data/raw/<year>/
province = "khanh_hoa"  # config/<province>/province.yml and units.csv
root = ""  # project root (empty: this checkout)
""",
    [
        (
            "code",
            """
from par_review.clean.tables import clean_year
from par_review.paths import Paths

paths = Paths.from_root(root or None)
result = clean_year(int(year), paths, province)
""",
        ),
        ("md", "## What was read\nOne row per raw file: the rows kept for each table."),
        (
            "code",
            """
import pandas as pd

pd.DataFrame(
    [{"table": name, "file": result.inputs.get(name, ""), "rows": len(df)} for name, df in result.tables.items()]
)
""",
        ),
        (
            "md",
            "## Tier counts per level\nA first look; the validation step checks them against the bands and the roster.",
        ),
        (
            "code",
            """
pd.concat(
    {level: result.tables[level]["tier"].value_counts() for level in ("provincial", "commune")}, axis=1
).fillna(0).astype(int)
""",
        ),
        (
            "md",
            "## Names that differ from the registry\nRaw spellings that were matched to an official name (aliases, NFD, spacing, case).",
        ),
        (
            "code",
            """
frames = [result.tables[level] for level in ("provincial", "commune")]
renamed = pd.concat(frames).query("raw_name != unit_name")[["level", "unit_id", "raw_name", "unit_name", "source_row"]]
renamed.head(20)
""",
        ),
    ],
)
print("notebooks written")
