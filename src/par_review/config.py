"""Province configuration: data, not code.

config/<province>/province.yml holds the levels, tiers and their labels, score bands per
year and level, groups, areas, raw column headers and targets. config/<province>/units.csv
is the unit registry. Another province is another folder.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .paths import DEFAULT_PROVINCE, PROVINCE_NAME, Paths  # noqa: F401 (DEFAULT_PROVINCE re-exported)
from .textnorm import loose_key, nfc

LEVELS = ("provincial", "commune")


class ConfigError(ValueError):
    """The province configuration is inconsistent (names the file and the key)."""


@dataclass(frozen=True)
class Tier:
    id: str
    labels: dict[str, str]
    aliases: tuple[str, ...] = ()

    def label(self, lang: str = "vi") -> str:
        return self.labels.get(lang) or self.labels["vi"]


@dataclass(frozen=True)
class Area:
    id: str
    labels: dict[str, str]
    max: float

    def label(self, lang: str = "vi") -> str:
        return self.labels.get(lang) or self.labels["vi"]

    @property
    def column(self) -> str:
        return f"area_{self.id}"


@dataclass(frozen=True)
class Band:
    tier: str
    min_score: float  # inclusive
    max_score: float  # exclusive (inf for the top tier)


class ProvinceConfig:
    def __init__(self, data: dict[str, Any], source: Path):
        self.data = data
        self.source = source
        try:
            self.id: str = data["id"]
            self.tiers: list[Tier] = [
                Tier(
                    t["id"], {k: nfc(v) for k, v in t["label"].items()}, tuple(t.get("aliases", ()))
                )
                for t in data["tiers"]
            ]
            self.levels: dict[str, dict] = data["levels"]
            self.groups: dict[str, dict[str, str]] = data.get("groups", {})
        except KeyError as exc:
            raise ConfigError(f"{source}: missing key {exc}") from exc
        ids = [t.id for t in self.tiers]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"{source}: tier ids must be unique, got {ids}")
        seen: dict[str, str] = {}
        for t in self.tiers:
            for label in (t.id, *t.labels.values(), *t.aliases):
                other = seen.setdefault(loose_key(label), t.id)
                if other != t.id:
                    raise ConfigError(
                        f"{source}: tier label {label!r} of {t.id!r} reads the same as "
                        f"one of {other!r} (matching ignores case and diacritics)"
                    )
        has_default = bool((data.get("bands") or {}).get("default"))
        for level in self.levels:
            # 0 stands for the default table (checked when given, or when nothing else is)
            for year in ([0] if has_default else []) + self.band_years() or [0]:
                self.bands(year, level)  # raises on a bad band table

    # -- identity ---------------------------------------------------------------------
    @property
    def dir(self) -> Path:
        return self.source.parent

    def name(self, lang: str = "vi") -> str:
        return self.data["name"].get(lang) or self.data["name"]["vi"]

    def short_name(self, lang: str = "vi") -> str:
        d = self.data.get("short_name", self.data["name"])
        return d.get(lang) or d["vi"]

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for p in sorted(self.dir.glob("*")):
            if p.is_file():
                h.update(p.name.encode())
                h.update(p.read_bytes())
        return h.hexdigest()

    # -- tiers and bands --------------------------------------------------------------
    @property
    def tier_ids(self) -> list[str]:
        return [t.id for t in self.tiers]

    def tier(self, tier_id: str) -> Tier:
        for t in self.tiers:
            if t.id == tier_id:
                return t
        raise KeyError(tier_id)

    def tier_rank(self, tier_id: str) -> int:
        """0 for the best tier, increasing downwards."""
        return self.tier_ids.index(tier_id)

    def tier_lookup(self) -> dict[str, str]:
        """loose key of every label and alias -> tier id."""
        out: dict[str, str] = {}
        for t in self.tiers:
            for s in (t.id, *t.labels.values(), *t.aliases):
                out[loose_key(s)] = t.id
        return out

    def _level_table(self, table: dict, level: str) -> dict:
        if isinstance(table.get(level), dict):
            return table[level]
        if any(k in self.levels for k in table):  # per-level default without this level
            return {}
        return table

    def band_years(self) -> list[int]:
        return sorted(int(y) for y in (self.data.get("bands", {}).get("by_year") or {}))

    def bands(self, year: int, level: str) -> list[Band]:
        """Score bands (best tier first) in force for a year and level."""
        spec = self.data.get("bands", {})
        by_year = spec.get("by_year") or {}
        table = self._level_table(spec.get("default", {}), level)
        y = by_year.get(year) or by_year.get(str(year))
        if isinstance(y, dict):
            if any(k in self.levels for k in y):  # per level: a level not listed keeps the default
                if isinstance(y.get(level), dict):
                    table = y[level]
            else:
                table = y
        missing = [t for t in self.tier_ids if t not in table]
        if missing:
            raise ConfigError(f"{self.source}: bands for {year}/{level} lack tiers {missing}")
        mins = [float(table[t]) for t in self.tier_ids]
        if any(a <= b for a, b in zip(mins, mins[1:], strict=False)):
            raise ConfigError(
                f"{self.source}: bands for {year}/{level} must decrease from best to worst: {mins}"
            )
        uppers = [math.inf, *mins[:-1]]
        return [Band(t, lo, hi) for t, lo, hi in zip(self.tier_ids, mins, uppers, strict=True)]

    def tier_for_score(self, score: float, year: int, level: str) -> str:
        for band in self.bands(year, level):
            if score >= band.min_score:
                return band.tier
        return self.tier_ids[-1]

    # -- levels, groups, areas --------------------------------------------------------
    def levels_for(self, year: int) -> dict[str, dict]:
        """The levels scored in `year`, in order (level id -> spec). Every table, suite,
        figure and report section iterates over these, never over a fixed list."""
        return self.levels

    @property
    def report_languages(self) -> list[str]:
        """The languages every report of this province is published in (default: vi)."""
        langs = self.data.get("report_languages") or [self.data.get("default_lang", "vi")]
        return [str(x) for x in langs]

    def level_label(self, level: str, lang: str = "vi") -> str:
        d = self.levels[level]["label"]
        return d.get(lang) or d["vi"]

    def group_label(self, group: str, lang: str = "vi") -> str:
        d = self.groups.get(group)
        return (d.get(lang) or d["vi"]) if d else group

    def areas(self, level: str) -> list[Area]:
        return [
            Area(a["id"], {k: nfc(v) for k, v in a["label"].items()}, float(a["max"]))
            for a in self.data.get("areas", {}).get(level, [])
        ]

    def column_aliases(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.data.get("columns", {}).items()}

    def total_row_labels(self) -> list[str]:
        return list(self.data.get("total_row_labels", []))

    # -- targets ----------------------------------------------------------------------
    def targets(self, year: int) -> dict[str, dict]:
        t = self.data.get("targets") or {}
        return t.get(year) or t.get(str(year)) or {}

    def national_index_label(self, index: str, lang: str = "vi") -> str:
        d = (self.data.get("national_indices") or {}).get(index)
        return (d.get(lang) or d["vi"]) if d else index

    @property
    def rounding(self) -> dict:
        return dict(self.data.get("rounding") or {"policy": "half_up", "decimals": 2})


def config_path(province: str | None = None, paths: Paths | None = None) -> Path:
    paths = (paths or Paths.from_root()).of(province)
    if not PROVINCE_NAME.match(paths.province):
        # a name, never a path: "--province ../../etc" must not read outside config/
        raise ConfigError(
            f"province {paths.province!r} is not a name: use letters, digits and _ only "
            "(a folder under config/)"
        )
    return paths.config / "province.yml"


@functools.lru_cache(maxsize=8)
def _load(path: Path, stamp: tuple[int, int]) -> ProvinceConfig:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return ProvinceConfig(data, path)


def load_config(province: str | None = None, paths: Paths | None = None) -> ProvinceConfig:
    path = config_path(province, paths)
    if not path.is_file():
        from .paths import provinces

        root = path.parents[2]
        known = ", ".join(provinces(root)) or "none"
        raise ConfigError(
            f"no configuration for province {path.parent.name!r}: "
            f"config/{path.parent.name}/province.yml does not exist (provinces here: {known})"
        )
    st = path.stat()
    return _load(path, (st.st_mtime_ns, st.st_size))  # re-read when the file changes
