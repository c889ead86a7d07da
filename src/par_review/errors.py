"""Errors that a user can act on: they name the file, sheet, row, column, the value found
and the value expected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class InputError(Exception):
    """Bad raw input. The pipeline stops, exits 2, and writes nothing."""

    file: str | Path
    problem: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    found: object = None
    expected: object = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def where(self) -> str:
        parts = [str(self.file)]
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        msg = f"{self.where()}: {self.problem}"
        if self.found is not None:
            msg += f"; found {self.found!r}"
        if self.expected is not None:
            msg += f"; expected {self.expected}"
        return msg

    def to_dict(self) -> dict:
        return {
            "file": str(self.file),
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "problem": self.problem,
            "found": None if self.found is None else str(self.found),
            "expected": None if self.expected is None else str(self.expected),
        }
