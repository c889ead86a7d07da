"""Province configuration: data, not code.

config/<province>/province.yml holds the levels, tiers and their labels, score bands per
year and level, groups, areas, raw column headers and targets. config/<province>/units.csv
is the unit registry. Another province is another folder.

Structure over time (docs/reorganisation.md): the top-level `levels`, `groups`, `areas` and
`bands` are the defaults; `structure:` entries replace them from a year on (later entries
override earlier ones), carry the report's wording for those years and say, per level, how
the first year of the new structure compares with the year before (`comparability`).
`absorbed:` names the provinces merged into this one (each with its own config/<id>/).
Another reorganisation is a config change, never a code change.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fsutil import load_yaml
from .paths import DEFAULT_PROVINCE, PROVINCE_NAME, Paths  # noqa: F401 (DEFAULT_PROVINCE re-exported)
from .textnorm import loose_key, nfc

BASES = ("same_set", "matched_units", "combined_baseline", "not_comparable")
GROUP_BY = ("group", "district", None)
STRUCTURE_KEYS = ("levels", "groups", "areas", "bands")


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
            raise ConfigError(f"{self.rel_source}: missing key {exc}") from exc
        self._absorbed = self._check_absorbed()
        self._structure = self._check_structure()
        ids = [t.id for t in self.tiers]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"{self.rel_source}: tier ids must be unique, got {ids}")
        seen: dict[str, str] = {}
        for t in self.tiers:
            for label in (t.id, *t.labels.values(), *t.aliases):
                other = seen.setdefault(loose_key(label), t.id)
                if other != t.id:
                    raise ConfigError(
                        f"{self.rel_source}: tier label {label!r} of {t.id!r} reads the same as "
                        f"one of {other!r} (matching ignores case and diacritics)"
                    )
        top = data.get("bands", {}) or {}
        for level in self.levels:
            # 0 stands for the default table (checked when given, or when nothing else is)
            for year in ([0] if top.get("default") else []) + self.band_years() or [0]:
                self._bands_from(top, year, level)  # raises on a bad band table
        for e in self._structure:  # a structure's own bands: its first year and its by_year
            if "bands" in e:
                for year in [e["from"], *sorted(int(y) for y in e["bands"].get("by_year") or {})]:
                    for level in self.levels_for(max(year, e["from"])):
                        self._bands_from(e["bands"], year, level)
        self._check_comparability()

    # -- checks of the structure keys -------------------------------------------------
    @property
    def rel_source(self) -> str:
        """The file as the project names it: config/<province>/province.yml."""
        return f"config/{self.source.parent.name}/{self.source.name}"

    def _err(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.rel_source}: {key}: {problem}")

    def _check_absorbed(self) -> list[dict]:
        raw = self.data.get("absorbed") or []
        if not isinstance(raw, list):
            raise self._err("absorbed", "expected a list of {province: <id>, from: <year>}")
        out = []
        for i, a in enumerate(raw):
            key = f"absorbed[{i}]"
            if not isinstance(a, dict) or "province" not in a or "from" not in a:
                raise self._err(key, f"expected {{province: <id>, from: <year>}}, got {a!r}")
            pid = str(a["province"])
            if not PROVINCE_NAME.match(pid) or pid == self.data.get("id"):
                raise self._err(f"{key}.province", f"{pid!r} is not another province's folder name")
            out.append({"province": pid, "from": self._year(a["from"], f"{key}.from")})
        return out

    def _year(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self._err(key, f"expected a year, got {value!r}")
        try:
            year = int(value)
        except ValueError:
            raise self._err(key, f"expected a year, got {value!r}") from None
        if not 1900 <= year <= 2200:
            raise self._err(key, f"expected a year, got {value!r}")
        return year

    def _check_structure(self) -> list[dict]:
        raw = self.data.get("structure") or []
        if not isinstance(raw, list):
            raise self._err("structure", "expected a list of entries, each with `from: <year>`")
        out: list[dict] = []
        for i, e in enumerate(raw):
            key = f"structure[{i}]"
            if not isinstance(e, dict) or "from" not in e:
                raise self._err(key, "each entry needs `from: <year>`")
            entry = dict(e)
            entry["from"] = self._year(e["from"], f"{key}.from")
            entry["_key"] = key
            if out and entry["from"] <= out[-1]["from"]:
                raise self._err(
                    f"{key}.from",
                    f"{entry['from']} must be later than the entry before "
                    f"({out[-1]['from']}): list the entries in year order, one per year",
                )
            unknown = set(entry) - {
                "from",
                "effective",
                "_key",
                "label",
                "wording",
                "comparability",
                *STRUCTURE_KEYS,
            }
            if unknown:
                raise self._err(
                    key,
                    f"unknown keys {sorted(unknown)}; expected from, label, levels, groups, "
                    "areas, bands, wording, comparability",
                )
            for k in ("label", "levels", "groups", "areas", "bands", "wording", "comparability"):
                if k in entry and not isinstance(entry[k], dict):
                    raise self._err(f"{key}.{k}", f"expected a mapping, got {entry[k]!r}")
            for lid, spec in (entry.get("levels") or {}).items():
                if not isinstance(spec, dict) or not isinstance(spec.get("label"), dict):
                    raise self._err(f"{key}.levels.{lid}", "each level needs `label: {vi: ...}`")
                if spec.get("group_by") not in GROUP_BY:
                    raise self._err(
                        f"{key}.levels.{lid}.group_by",
                        f"expected group, district or null, got {spec.get('group_by')!r}",
                    )
            if "levels" in entry and not entry["levels"]:
                raise self._err(f"{key}.levels", "a structure needs at least one level")
            for lang, words in (entry.get("wording") or {}).items():
                if not isinstance(words, dict):
                    raise self._err(f"{key}.wording.{lang}", "expected {<locale key>: text}")
            out.append(entry)
        for lang, words in (self.data.get("wording") or {}).items():
            if not isinstance(words, dict):
                raise self._err(f"wording.{lang}", "expected {<locale key>: text}")
        return out

    def _check_comparability(self) -> None:
        for e in self._structure:
            year, key = e["from"], e["_key"]
            now, before = self.levels_for(year), self.levels_for(year - 1)
            for level, spec in (e.get("comparability") or {}).items():
                k = f"{key}.comparability.{level}"
                if level not in now:
                    raise self._err(k, f"{level!r} is not a level of {year} ({', '.join(now)})")
                if not isinstance(spec, dict) or spec.get("basis") not in BASES:
                    got = spec.get("basis") if isinstance(spec, dict) else spec
                    raise self._err(
                        f"{k}.basis", f"expected one of {', '.join(BASES)}; got {got!r}"
                    )
                if spec["basis"] != "not_comparable" and level not in before:
                    raise self._err(
                        f"{k}.basis",
                        f"{level!r} was not a level in {year - 1}: the only basis is not_comparable",
                    )
                reason = spec.get("reason")
                if spec["basis"] != "same_set" and not (
                    isinstance(reason, dict) and reason.get("vi")
                ):
                    raise self._err(f"{k}.reason", "say why, in words: {vi: ..., en: ...}")

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
        if any(k in self.all_levels() for k in table):  # per-level default without this level
            return {}
        return table

    def _bands_spec(self, year: int | None) -> dict:
        if year is not None:
            v = self._in_force(year, "bands")
            if v is not None:
                return v
        return self.data.get("bands", {}) or {}

    def band_years(self, year: int | None = None) -> list[int]:
        """The years with their own band table (`by_year`) in the bands spec in force in
        `year` (None: the top-level `bands`)."""
        spec = self._bands_spec(year)
        return sorted(int(y) for y in (spec.get("by_year") or {}))

    def bands(self, year: int, level: str) -> list[Band]:
        """Score bands (best tier first) in force for a year and level."""
        return self._bands_from(self._bands_spec(year), year, level)

    def _bands_from(self, spec: dict, year: int, level: str) -> list[Band]:
        by_year = spec.get("by_year") or {}
        table = self._level_table(spec.get("default", {}), level)
        y = by_year.get(year) or by_year.get(str(year))
        if isinstance(y, dict):
            if any(
                k in self.all_levels() for k in y
            ):  # per level: a level not listed keeps the default
                if isinstance(y.get(level), dict):
                    table = y[level]
            else:
                table = y
        missing = [t for t in self.tier_ids if t not in table]
        if missing:
            raise ConfigError(f"{self.rel_source}: bands for {year}/{level} lack tiers {missing}")
        mins = [float(table[t]) for t in self.tier_ids]
        if any(a <= b for a, b in zip(mins, mins[1:], strict=False)):
            raise ConfigError(
                f"{self.rel_source}: bands for {year}/{level} must decrease from best to worst: {mins}"
            )
        uppers = [math.inf, *mins[:-1]]
        return [Band(t, lo, hi) for t, lo, hi in zip(self.tier_ids, mins, uppers, strict=True)]

    def tier_for_score(self, score: float, year: int, level: str) -> str:
        for band in self.bands(year, level):
            if score >= band.min_score:
                return band.tier
        return self.tier_ids[-1]

    # -- structure over time ----------------------------------------------------------
    def _in_force(self, year: int, key: str) -> Any:
        """The value of `key` of the latest structure entry from <= year that sets it."""
        value = None
        for e in self._structure:
            if e["from"] <= int(year) and key in e:
                value = e[key]
        return value

    @property
    def structures(self) -> list[dict]:
        """The `structure:` entries, in year order (copies, `from` as an int)."""
        return [{k: v for k, v in e.items() if k != "_key"} for e in self._structure]

    def structure_for(self, year: int) -> dict | None:
        """The structure entry in force in `year` (the latest with from <= year), or None."""
        found = None
        for e in self._structure:
            if e["from"] <= int(year):
                found = e
        return None if found is None else {k: v for k, v in found.items() if k != "_key"}

    def structure_break(self, year: int) -> dict | None:
        """The structure entry that starts in `year` (from == year), or None."""
        for e in self._structure:
            if e["from"] == int(year):
                return {k: v for k, v in e.items() if k != "_key"}
        return None

    def structure_label(self, year: int, lang: str = "vi") -> str | None:
        e = self.structure_for(year)
        d = (e or {}).get("label") or {}
        return d.get(lang) or d.get("vi")

    def absorbed(self) -> list[dict]:
        """Every absorbed province: [{province, from}], in config order."""
        return [dict(a) for a in self._absorbed]

    def absorbed_in(self, year: int) -> list[str]:
        """The provinces merged into this one by `year` (from <= year): their registries
        hold the predecessors that this year's lineage may name (`<province>:<unit_id>`)."""
        return [a["province"] for a in self._absorbed if a["from"] <= int(year)]

    def baseline_provinces(self, year: int) -> list[str]:
        """The provinces merged in exactly in `year`: the comparisons of `year` with
        `year - 1` also read their `year - 1` processed tables (combined baseline, lineage).
        A build must clean those (province, year - 1) first."""
        return [a["province"] for a in self._absorbed if a["from"] == int(year)]

    def levels_for(self, year: int) -> dict[str, dict]:
        """The levels scored in `year`, in order (level id -> spec). Every table, suite,
        figure and report section iterates over these, never over a fixed list."""
        v = self._in_force(year, "levels")
        return dict(v) if v is not None else dict(self.levels)

    def all_levels(self) -> list[str]:
        """Every level of any year (the defaults first, then the structures'), in order."""
        out = list(self.levels)
        for e in self._structure:
            out += [lv for lv in e.get("levels") or {} if lv not in out]
        return out

    def groups_for(self, year: int) -> dict[str, dict[str, str]]:
        v = self._in_force(year, "groups")
        return dict(v) if v is not None else dict(self.groups)

    def _level_spec(self, level: str, year: int | None = None) -> dict:
        if year is not None:
            spec = self.levels_for(year).get(level)
            if spec is not None:
                return spec
        if level in self.levels:
            return self.levels[level]
        for e in reversed(self._structure):
            if level in (e.get("levels") or {}):
                return e["levels"][level]
        raise KeyError(level)

    def group_by(self, level: str, year: int | None = None) -> str | None:
        """`group`, `district` or None (no grouping) for a level in a year."""
        return self._level_spec(level, year).get("group_by")

    def scored_by(self, level: str, year: int | None = None, lang: str = "vi") -> str | None:
        """Who scores the level in that year (`levels.<level>.scored_by`), or None."""
        d = self._level_spec(level, year).get("scored_by") or {}
        return d.get(lang) or d.get("vi")

    def wording(
        self, year: int, lang: str = "vi", known: Collection[str] | None = None
    ) -> dict[str, str]:
        """Locale overrides for a year: the province-wide `wording:` then every structure
        entry in force up to `year` (later ones win), key by key. With `known` (the keys of
        the locales, as the report has them), a key that is none of them is a ConfigError
        naming it: it would otherwise change nothing, without a word (a misspelt key, or a
        text that has one:/other: forms). The config itself does not load the locales: the
        data steps read it, and the wording is the report's."""
        words = (self.data.get("wording") or {}).get(lang) or {}
        self._check_wording_keys("wording", lang, words, known)
        out = {k: nfc(str(v)) for k, v in words.items()}
        for e in self._structure:
            if e["from"] <= int(year):
                words = (e.get("wording") or {}).get(lang) or {}
                self._check_wording_keys(f"{e['_key']}.wording", lang, words, known)
                out.update({k: nfc(str(v)) for k, v in words.items()})
        return out

    def _check_wording_keys(
        self, where: str, lang: str, words: dict, known: Collection[str] | None
    ) -> None:
        if not words or known is None:
            return
        for k in words:
            if k in known:
                continue
            forms = sorted(x[len(k) + 1 :] for x in known if x.startswith(f"{k}."))
            if forms:
                hint = f"it has the forms {', '.join(f'{k}.{f}' for f in forms)}: name one"
            else:
                import difflib

                near = difflib.get_close_matches(k, known, n=3)
                hint = f"did you mean {', '.join(near)}?" if near else "see src/par_review/locales/"
            raise self._err(f"{where}.{lang}.{k}", f"no such text in the locales; {hint}")

    def _relevant(self, year: int, level: str) -> tuple:
        spec = dict(self.levels_for(year).get(level) or {})
        for k in ("label", "title", "scored_by"):
            spec.pop(k, None)  # wording only: the units compared are the same
        gb = spec.get("group_by")
        groups = sorted(self.groups_for(year)) if gb == "group" else None
        areas = [(a.id, a.max) for a in self.areas(level, year)]
        return (sorted(spec.items(), key=str), groups, areas, self.absorbed_in(year))

    def comparability(self, year: int, level: str) -> dict[str, Any]:
        """How `level` in `year` compares with `year - 1`: {basis, reason: {vi, en} | None}.

        `same_set` when no structure entry starts in `year` and nothing was absorbed;
        `not_comparable` for a level that was not scored the year before; otherwise the
        entry's `comparability.<level>`. An entry that changes what a level is (its spec,
        groups, areas or the provinces in it) without saying how it compares is treated as
        `not_comparable`, and the reason names the key to add."""
        year = int(year)
        if level not in self.levels_for(year - 1):
            return {
                "basis": "not_comparable",
                "reason": {
                    "vi": f"Năm {year - 1} chưa có cấp đánh giá này.",
                    "en": f"This level was not scored in {year - 1}.",
                },
            }
        e = next((x for x in self._structure if x["from"] == year), None)
        spec = ((e or {}).get("comparability") or {}).get(level)
        if spec is not None:
            reason = spec.get("reason")
            return {
                "basis": spec["basis"],
                "reason": {k: nfc(str(v)) for k, v in reason.items()} if reason else None,
            }
        if self._relevant(year, level) == self._relevant(year - 1, level):
            return {"basis": "same_set", "reason": None}
        key = f"{e['_key']}.comparability.{level}" if e else f"structure (from: {year})"
        return {
            "basis": "not_comparable",
            "reason": {
                "vi": f"Cơ cấu thay đổi từ năm {year}; chưa khai báo cách so sánh ({key}).",
                "en": f"The structure changed in {year} and the config does not say how "
                f"to compare it with {year - 1} (add {key} to {self.rel_source}).",
            },
        }

    def structure_start(self, year: int, level: str) -> int | None:
        """The first year of the structure `level` is in, in `year`: the latest year <= year
        whose comparison with the year before is not `same_set` (None: no break)."""
        candidates = sorted(
            {e["from"] for e in self._structure} | {a["from"] for a in self._absorbed}
        )
        found = None
        for y in candidates:
            if y > int(year):
                break
            if level in self.levels_for(y) and self.comparability(y, level)["basis"] != "same_set":
                found = y
        return found

    @property
    def report_languages(self) -> list[str]:
        """The languages every report of this province is published in (default: vi)."""
        langs = self.data.get("report_languages") or [self.data.get("default_lang", "vi")]
        return [str(x) for x in langs]

    def level_label(self, level: str, lang: str = "vi", year: int | None = None) -> str:
        d = self._level_spec(level, year)["label"]
        return d.get(lang) or d["vi"]

    def group_label(self, group: str, lang: str = "vi", year: int | None = None) -> str:
        d = self.groups_for(year).get(group) if year is not None else None
        if d is None:
            d = self.groups.get(group)
        if d is None:
            for e in reversed(self._structure):
                d = (e.get("groups") or {}).get(group)
                if d is not None:
                    break
        return (d.get(lang) or d["vi"]) if d else group

    def areas(self, level: str, year: int | None = None) -> list[Area]:
        """The areas of a level (with their maximum points) in `year`; year None: the
        top-level `areas` (the defaults)."""
        table = self._in_force(year, "areas") if year is not None else None
        if table is None:
            table = self.data.get("areas", {})
        return [
            Area(a["id"], {k: nfc(v) for k, v in a["label"].items()}, float(a["max"]))
            for a in (table or {}).get(level, [])
        ]

    def column_aliases(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.data.get("columns", {}).items()}

    def total_row_labels(self) -> list[str]:
        return list(self.data.get("total_row_labels", []))

    def required_columns(self) -> list[str]:
        """Columns (`columns:` field names) a raw unit table must have even where they could
        be derived: `tier` for a province whose files carry the tier it decided (the bands
        then only check it); without it a file with no tier column gets its tiers from the
        bands."""
        return [str(c) for c in self.data.get("required_columns") or []]

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
        data = load_yaml(fh)
    folder = path.parent.name
    if isinstance(data, dict) and data.get("id") not in (None, folder):
        # a province copied as the start of another keeps the id of the one it came from:
        # its tables would be validated with that one's suites, without a word
        raise ConfigError(
            f"config/{folder}/{path.name}: id {data['id']!r} is not the name of its folder "
            f"{folder!r} (a copied province keeps the id it was copied from): set `id: {folder}`"
        )
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
