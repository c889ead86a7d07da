"""The unit registry: stable unit ids, official names, aliases across years, level, group,
district and years of validity. Kept as data in config/<province>/units.csv.

Every raw row maps to exactly one unit id. Matching ignores case, spacing and Unicode
normalisation (not diacritics). A name that matches nothing, or two units, is an error.
"""

from __future__ import annotations

import csv
import difflib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..textnorm import loose_key, name_key, nfc

COLUMNS = [
    "unit_id",
    "level",
    "group",
    "district_code",
    "district",
    "name",
    "aliases",
    "valid_from",
    "valid_to",
    "successor_of",
    "name_basis",
    "source",
]


@dataclass(frozen=True)
class Unit:
    unit_id: str
    level: str
    group: str
    district_code: str
    district: str
    name: str
    aliases: tuple[str, ...]
    valid_from: int
    valid_to: int | None
    successor_of: tuple[str, ...]
    name_basis: str

    def valid_in(self, year: int) -> bool:
        return self.valid_from <= year and (self.valid_to is None or year <= self.valid_to)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class MatchError(LookupError):
    def __init__(self, name: str, problem: str, candidates: list[str]):
        self.name, self.problem, self.candidates = name, problem, candidates
        super().__init__(problem)


class Registry:
    def __init__(self, units: list[Unit], source: Path | None = None):
        self.units = units
        self.source = source
        self.by_id = {u.unit_id: u for u in units}
        if len(self.by_id) != len(units):
            raise ValueError(f"{source}: duplicate unit_id in registry")
        self._index: dict[tuple[str, str], list[Unit]] = defaultdict(list)
        for u in units:
            for n in u.names:
                key = (u.level, name_key(n))
                if u not in self._index[key]:
                    self._index[key].append(u)

    @classmethod
    def load(cls, path: Path) -> Registry:
        units = []
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                units.append(
                    Unit(
                        unit_id=row["unit_id"],
                        level=row["level"],
                        group=row["group"],
                        district_code=row.get("district_code", ""),
                        district=nfc(row.get("district", "")),
                        name=nfc(row["name"]),
                        aliases=tuple(
                            nfc(a) for a in row.get("aliases", "").split("|") if a.strip()
                        ),
                        valid_from=int(row["valid_from"]),
                        valid_to=int(row["valid_to"]) if row.get("valid_to") else None,
                        successor_of=tuple(s for s in row.get("successor_of", "").split("|") if s),
                        name_basis=row.get("name_basis", ""),
                    )
                )
        return cls(units, path)

    def roster(self, year: int, level: str) -> list[Unit]:
        """The units that are scored in a year at a level."""
        return [u for u in self.units if u.level == level and u.valid_in(year)]

    def match(self, name: str, level: str, year: int, district: str | None = None) -> Unit:
        """The one unit a raw name refers to; MatchError when none or several."""
        found = [u for u in self._index.get((level, name_key(name)), []) if u.valid_in(year)]
        if len(found) > 1 and district:
            dkey = name_key(district)
            narrowed = [u for u in found if name_key(u.district) == dkey]
            found = narrowed or found
        if len(found) == 1:
            return found[0]
        if not found:
            # suggestions only (never used to match): compared without case or diacritics
            pool: dict[str, str] = {}
            for u in self.roster(year, level):
                for n in u.names:
                    pool.setdefault(loose_key(n), n)
            close = [
                pool[k]
                for k in difflib.get_close_matches(loose_key(name), list(pool), n=3, cutoff=0.75)
            ]
            raise MatchError(name, "unknown unit: matches no unit in the registry", close)
        raise MatchError(
            name,
            "ambiguous unit name: matches several units",
            [f"{u.unit_id} ({u.name})" for u in found],
        )

    def predecessors(self, unit_id: str) -> tuple[str, ...]:
        return self.by_id[unit_id].successor_of

    def fingerprint_source(self) -> Path | None:
        return self.source


def load_registry(config_dir: Path) -> Registry:
    return Registry.load(config_dir / "units.csv")
