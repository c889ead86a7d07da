#!/usr/bin/env python
"""Write a pipeline notebook from a compact spec (used once per notebook; analysts then
edit the .ipynb in JupyterLab). Keeps the house style: a Markdown header, a tagged
`parameters` cell, the `par-review` kernel, no outputs.

    from make_notebook import write_notebook
    write_notebook(path, header_md, parameters_src, [("md", "..."), ("code", "...")])
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "par-review", "display_name": "Python (par-review)", "language": "python"}


def write_notebook(
    path: Path,
    header_md: str,
    parameters: str,
    cells: list[tuple[str, str]],
    hide_input: bool = False,
) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells.append(new_markdown_cell(header_md.strip()))
    p = new_code_cell(parameters.strip())
    p.metadata["tags"] = ["parameters"]
    nb.cells.append(p)
    for kind, src in cells:
        cell = new_markdown_cell(src.strip()) if kind == "md" else new_code_cell(src.strip())
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{Path(path).stem.replace('_', '-')}-{i:02d}"  # stable ids: clean diffs
    nbformat.validate(nb)
    Path(path).write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
