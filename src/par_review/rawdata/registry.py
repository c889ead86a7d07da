"""The unit registry: stable unit ids, official names, aliases across years, level, group,
district and years of validity. Kept as data in config/<province>/units.csv.

Every raw row maps to exactly one unit id. Matching ignores case, spacing and Unicode
normalisation (not diacritics). A name that matches nothing, or two units, is an error.

Lineage: `successor_of` lists a unit's predecessors separated by `|`; a unit of an absorbed
province's registry (config/<absorbed>/units.csv) is written `<absorbed>:<unit_id>`. So
many-into-one (a merger), one-into-several (a split: several units name the same
predecessor), renames (one predecessor with one successor) and ends (valid_to, no
successor) are all data. `load_registry` checks every reference: it exists, it ended before
its successor started, and no unit descends from itself; a bad reference is an InputError
naming the file, the CSV line and the id.
"""

from __future__ import annotations

import csv
import difflib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..fsutil import load_yaml
from ..textnorm import loose_key, name_key, names_province, nfc

RELATIONS = ("continued", "renamed", "merged", "split", "new")

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
    line: int | None = None  # CSV line number in units.csv (the header is line 1)

    def valid_in(self, year: int) -> bool:
        return self.valid_from <= year and (self.valid_to is None or year <= self.valid_to)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class MatchError(LookupError):
    def __init__(self, name: str, problem: str, candidates: list[str]):
        self.name, self.problem, self.candidates = name, problem, candidates
        super().__init__(problem)


def split_ref(ref: str) -> tuple[str | None, str]:
    """'ninh_thuan:nt-1' -> ('ninh_thuan', 'nt-1'); 'p-1' -> (None, 'p-1')."""
    province, sep, uid = ref.partition(":")
    return (province, uid) if sep else (None, ref)


class Registry:
    def __init__(
        self,
        units: list[Unit],
        source: Path | None = None,
        absorbed: dict[str, Registry] | None = None,
        province: str | None = None,
        names: dict[str, str] | None = None,
    ):
        self.units = units
        self.source = source
        self.province = province
        self.absorbed: dict[str, Registry] = dict(absorbed or {})
        self.province_names: dict[str, str] = dict(names or {})  # province id -> short name
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
    def load(cls, path: Path, **kwargs) -> Registry:
        units = []
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
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
                        line=reader.line_num,
                    )
                )
        return cls(units, path, **kwargs)

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

    # -- lineage ----------------------------------------------------------------------
    def resolve(self, ref: str) -> Unit | None:
        """The unit a `successor_of` reference names: an id of this registry, or
        `<province>:<id>` of an absorbed province's registry (None: unknown)."""
        province, uid = split_ref(ref)
        if province is None or province == self.province:
            return self.by_id.get(uid)
        other = self.absorbed.get(province)
        return other.by_id.get(uid) if other is not None else None

    def predecessors(self, unit_id: str) -> tuple[str, ...]:
        """The references a unit's `successor_of` names, as written (absorbed ones
        `<province>:<id>`)."""
        return self.by_id[unit_id].successor_of

    def successors(self, ref: str) -> tuple[str, ...]:
        """This registry's units that name `ref` (an id, or `<province>:<id>`) as predecessor."""
        province, uid = split_ref(ref)
        if province == self.province:
            ref = uid
        return tuple(u.unit_id for u in self.units if ref in u.successor_of)

    def relation(self, unit_id: str, year: int | None = None) -> str:
        """How a unit came to be: `merged` (2+ predecessors), `split` (its one predecessor
        has other successors too), `renamed` (one predecessor, one successor), `new` (no
        predecessor, starts after the registry's first year) or `continued`. With `year`, a
        unit that already existed the year before is `continued`."""
        u = self.by_id[unit_id]
        if year is not None and u.valid_from < int(year):
            return "continued"
        if len(u.successor_of) >= 2:
            return "merged"
        if len(u.successor_of) == 1:
            return "split" if len(self.successors(u.successor_of[0])) > 1 else "renamed"
        if year is not None:
            return "new" if u.valid_from == int(year) else "continued"
        first = min(x.valid_from for x in self.units)
        return "new" if u.valid_from > first else "continued"

    def lineage(self, unit_id: str) -> list[dict]:
        """The predecessors of a unit: [{ref, province, unit_id, name, district, level,
        valid_to}], `province` None for this registry's own units."""
        out = []
        for ref in self.by_id[unit_id].successor_of:
            province, uid = split_ref(ref)
            if province == self.province:
                province = None
            p = self.resolve(ref)
            out.append(
                {
                    "ref": ref,
                    "province": province,
                    "unit_id": uid,
                    "name": p.name if p else uid,
                    "district": p.district if p else "",
                    "level": p.level if p else None,
                    "valid_to": p.valid_to if p else None,
                }
            )
        return out

    def ref_name(self, ref: str) -> str:
        """The name of a lineage reference, with its province when it is an absorbed one."""
        province, uid = split_ref(ref)
        p = self.resolve(ref)
        name = p.name if p else uid
        if province is not None and province != self.province:
            name = self._with_province(name, province)
        return name

    def _with_province(self, name: str, province: str) -> str:
        """A unit of another province named with it ("Xã Phước Dinh (Ninh Thuận)"), unless
        its name says it already ("Sở Tư pháp tỉnh Ninh Thuận")."""
        label = self.province_names.get(province) or province
        return name if names_province(name, label) else f"{name} ({label})"

    def lineage_names(self, unit_id: str, lang: str = "vi") -> list[str]:
        """The predecessors' names for the report's "Hợp nhất từ" / "Formed from" column; a
        unit of an absorbed province carries its province: "Xã Phước Dinh (Ninh Thuận)"."""
        out = []
        for p in self.lineage(unit_id):
            name = p["name"]
            if p["province"] is not None:
                name = self._with_province(name, p["province"])
            out.append(name)
        return out

    def check_lineage(self) -> None:
        """Every `successor_of` reference exists (here or in an absorbed registry), ended
        before its successor started, and no unit descends from itself. Raises InputError
        (file, CSV line, column successor_of, the id found, what was expected)."""
        rel = self._rel()
        self._check_cycles(rel)
        absorbed = sorted(self.absorbed)
        for u in self.units:
            if u.valid_to is not None and u.valid_to < u.valid_from:
                raise InputError(
                    rel,
                    f"{u.unit_id} ends before it starts",
                    row=u.line,
                    column="valid_to",
                    found=u.valid_to,
                    expected=f"a year ≥ valid_from ({u.valid_from}), or empty",
                )
            for ref in u.successor_of:
                p = self.resolve(ref)
                ok = p is not None and p.valid_to is not None and p.valid_to < u.valid_from
                if ok and p is u:
                    ok = False
                if ok:
                    continue
                where = f"an id of {rel}" + "".join(f" or {a}:<id>" for a in absorbed)
                if p is None:
                    province, _ = split_ref(ref)
                    problem = (
                        f"unknown predecessor of {u.unit_id}"
                        if province is None or province == self.province
                        else f"unknown predecessor of {u.unit_id}: "
                        + (
                            f"{province} is not an absorbed province of this registry"
                            if province not in self.absorbed
                            else f"not in config/{province}/units.csv"
                        )
                    )
                else:
                    problem = (
                        f"predecessor of {u.unit_id} is still valid in {u.valid_from} "
                        f"(valid_to {p.valid_to or 'empty'}): it must end before its "
                        "successor starts"
                    )
                raise InputError(
                    rel,
                    problem,
                    row=u.line,
                    column="successor_of",
                    found=ref,
                    expected=f"{where} valid before {u.valid_from}",
                )

    def _check_cycles(self, rel: str) -> None:
        state: dict[str, int] = {}  # 1 = on the path, 2 = done

        def visit(uid: str, path: list[str]) -> None:
            state[uid] = 1
            for ref in self.by_id[uid].successor_of:
                province, pid = split_ref(ref)
                if province not in (None, self.province) or pid not in self.by_id:
                    continue  # absorbed registries cannot name this one's units
                if state.get(pid) == 1:
                    cycle = [*path[path.index(pid) :], pid] if pid in path else [uid, pid]
                    u = self.by_id[uid]
                    raise InputError(
                        rel,
                        "lineage cycle: a unit descends from itself (" + " <- ".join(cycle) + ")",
                        row=u.line,
                        column="successor_of",
                        found=ref,
                        expected="predecessors that ended before the unit started, no cycle",
                    )
                if state.get(pid) is None:
                    visit(pid, [*path, pid])
            state[uid] = 2

        for u in self.units:
            if state.get(u.unit_id) is None:
                visit(u.unit_id, [u.unit_id])

    def _rel(self) -> str:
        if self.source is None:
            return "units.csv"
        return f"config/{self.source.parent.name}/{self.source.name}"

    def fingerprint_source(self) -> Path | None:
        return self.source

    def sources(self) -> list[Path]:
        """Every registry file read: this one and the absorbed provinces'."""
        out = [self.source] if self.source else []
        for r in self.absorbed.values():
            out += r.sources()
        return out


def load_registry(config_dir: Path, absorbed: list[str] | None = None) -> Registry:
    """config/<province>/units.csv with the registries of the provinces it absorbed
    (config/<absorbed>/units.csv; from province.yml `absorbed:` unless given), lineage
    checked (InputError on a bad reference)."""
    config_dir = Path(config_dir)
    province = config_dir.name
    names: dict[str, str] = {}
    if absorbed is None:
        absorbed = []
        if (config_dir / "province.yml").is_file():
            from ..config import load_config
            from ..paths import Paths

            cfg = load_config(province, Paths.from_root(config_dir.parents[1], province))
            absorbed = [a["province"] for a in cfg.absorbed()]
    others: dict[str, Registry] = {}
    for other in absorbed:
        d = config_dir.parent / other
        path = d / "units.csv"
        if not path.is_file():
            raise InputError(
                f"config/{other}/units.csv",
                f"the registry of {other}, absorbed by {province}, does not exist",
                expected=f"config/{other}/units.csv (absorbed: in config/{province}/province.yml)",
            )
        others[other] = Registry.load(path, province=other)
        names[other] = _short_name(d) or other
    reg = Registry.load(config_dir / "units.csv", absorbed=others, province=province, names=names)
    reg.check_lineage()
    return reg


def _short_name(config_dir: Path) -> str | None:
    p = config_dir / "province.yml"
    if not p.is_file():
        return None

    data = load_yaml(p.read_text(encoding="utf-8")) or {}
    d = data.get("short_name") or data.get("name") or {}
    return nfc(d.get("vi")) if isinstance(d, dict) and d.get("vi") else None
