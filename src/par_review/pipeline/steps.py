"""The step table: the single source of truth of the pipeline.

Read it top to bottom as the recipe of a review:

    clean    (province, year)        raw files            -> data/processed/<p>/<y>/*.csv
    validate (province, year)        the cleaned tables   -> validation.json, validation/ (Data Docs)
    analyse  (province, year)        validated tables of every year up to y (and of the
                                     provinces it absorbed) -> metrics.json, metric tables
    report   (province, year, lang)  metrics.json, validation.json -> report.<lang>.html|pdf, ...

For each step it declares the notebook and its parameters, the inputs (files, including
the earlier years and other provinces it reads), every output it writes, and the package
modules it runs. The runner, `plan`, `status`, the fingerprints, the clean-up of stale
files, the gates and the manifest all read this table; nothing else knows the graph.

Outputs live in one of two places: `data` (under the project, e.g. data/processed/...) or
`report` (relative to the year's report folder: the staging folder during a build, then
reports/<province>/<year>/ once published).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import PACKAGE_DIR, Paths


@dataclass(frozen=True, order=True)
class Key:
    """What a step works on: (province, year) for data steps, plus lang for reports."""

    province: str
    year: int
    lang: str | None = None

    def __str__(self) -> str:
        return f"{self.province}/{self.year}" + (f"/{self.lang}" if self.lang else "")

    @property
    def data(self) -> Key:
        return Key(self.province, self.year)


@dataclass(frozen=True)
class Output:
    base: str  # "data" (relative to the project root) or "report" (to the year's report folder)
    rel: str
    kind: str = "file"  # file | dir

    def path(self, root: Path, report_dir: Path) -> Path:
        return (root if self.base == "data" else report_dir) / self.rel


@dataclass
class Context:
    """What the table's functions may look at: the project, the options and the configs."""

    paths: Paths
    rounding: str = ""
    formats: tuple[str, ...] = ("html", "pdf")
    _configs: dict = field(default_factory=dict)
    views: dict = field(default_factory=dict)  # input label -> hash of what a step reads of it
    _listings: dict = field(default_factory=dict)  # see files()

    def cfg(self, province: str):
        if province not in self._configs:
            from ..config import load_config

            self._configs[province] = load_config(province, self.paths)
        return self._configs[province]

    def p(self, province: str) -> Paths:
        return self.paths.of(province)

    def files(self, folder: Path) -> list[Path]:
        """The files of an input folder (raw data, config, suites), listed once per
        Context: a build's inputs do not change while it runs (raw data is never written,
        and a change to the config or the suites during a run is caught by the gate); a
        no-op build listed the same folders 500 times. A preview pass makes a new one."""
        key = str(folder)
        if key not in self._listings:
            self._listings[key] = _files(folder)
        return self._listings[key]

    def rel(self, path: Path) -> str:
        """`paths.rel(path)`, once per path and Context (as `files`): the input labels of a
        no-op build asked for the same 800 names, each with an lstat."""
        key = f"rel\0{path}"
        if key not in self._listings:
            self._listings[key] = self.paths.rel(path)
        return self._listings[key]

    def raw_years(self, province: str) -> list[int]:
        key = f"raw years\0{province}"
        if key not in self._listings:
            self._listings[key] = self.p(province).raw_years()
        return self._listings[key]


# ---------------------------------------------------------------- what each step reads
def data_keys_read(key: Key, ctx: Context) -> list[Key]:
    """The (province, year) tables the analysis of `key` reads: every year of this
    province up to key.year (history: streaks, firsts, the previous year), and the years
    before key.year of each province it absorbed (combined baselines, lineage)."""
    keys = [Key(key.province, y) for y in ctx.raw_years(key.province) if y <= key.year]
    cfg = ctx.cfg(key.province)
    absorbed = getattr(cfg, "absorbed_in", None)
    for other in absorbed(key.year) if absorbed else []:
        keys += [Key(other, y) for y in ctx.raw_years(other) if y < key.year]
    return keys


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith((".", "~$")))


def _config_files(
    ctx: Context, province: str, year: int | None = None, targets: bool = True
) -> dict[str, Path]:
    """The config a step reads. For the data steps (`year` given), province.yml is hashed
    as they read it (`config_view`): wording, names and labels are left out (a wording
    edit re-renders the reports only), and so are the targets and the structure entries
    of other years (adding next year's target rebuilds nothing of this year)."""
    out: dict[str, Path] = {}
    provinces = [province]
    cfg = ctx.cfg(province)
    for entry in cfg.data.get("absorbed") or []:
        other = entry.get("province") if isinstance(entry, dict) else entry
        if other:
            provinces.append(str(other))
    for prov in provinces:
        for f in ctx.files(ctx.paths.config_dir / prov):
            label = ctx.rel(f)
            if year is not None and f.name == "province.yml":
                view = config_view(ctx.cfg(prov).data, year, targets)
                label += f" (as the {year} data steps read it{'' if targets else ', no targets'})"
                out[label] = f  # the path, so that a watcher knows what the step reads
                ctx.views[label] = (
                    "view:"
                    + hashlib.sha256(
                        json.dumps(view, sort_keys=True, ensure_ascii=False, default=str).encode()
                    ).hexdigest()
                )
            else:
                out[label] = f
    return out


TOP_DISPLAY = (
    "wording",
    "name",
    "short_name",
    "authority",
    "report_languages",
    "default_lang",
    "decision",
)
LEVEL_DISPLAY = ("label", "title", "scored_by")


def config_view(data: dict, year: int, targets: bool = True) -> dict:
    """What of province.yml can change a data step's output for `year`. Tier and area
    labels stay: cleaning matches raw labels and headers with them."""

    def levels(node):
        if not isinstance(node, dict):
            return node
        return {
            lv: (
                {k: v for k, v in spec.items() if k not in LEVEL_DISPLAY}
                if isinstance(spec, dict)
                else spec
            )
            for lv, spec in node.items()
        }

    def ids(node):
        return sorted(node) if isinstance(node, dict) else node

    view = {k: v for k, v in data.items() if k not in (*TOP_DISPLAY, "targets", "structure")}
    view["levels"] = levels(data.get("levels"))
    for key in ("groups", "national_indices"):  # their ids matter (validation), not labels
        if key in view:
            view[key] = ids(view[key])
    all_targets = (data.get("targets") or {}) if targets else {}  # cleaning reads none
    this = all_targets.get(year) or all_targets.get(str(year)) or {}
    view["targets"] = {
        k: ({a: b for a, b in v.items() if a != "label"} if isinstance(v, dict) else v)
        for k, v in this.items()
    }
    view["structure"] = []
    for entry in data.get("structure") or []:
        if isinstance(entry, dict) and int(entry.get("from", 0)) <= year:
            e = {k: v for k, v in entry.items() if k not in ("label", "wording")}
            if "levels" in e:
                e["levels"] = levels(e["levels"])
            if "groups" in e:
                e["groups"] = ids(e["groups"])
            view["structure"].append(e)
    return view


def clean_tables(key: Key, ctx: Context) -> list[str]:
    """The cleaned tables of a year: one per level scored that year, plus the optional
    satisfaction table (when a raw satisfaction file exists) and the national indices."""
    cfg = ctx.cfg(key.province)
    names = [f"{level}.csv" for level in cfg.levels_for(key.year)]
    raw = ctx.p(key.province).raw_year(key.year)
    if any(f.name.startswith("satisfaction.") for f in ctx.files(raw)):
        names.append("satisfaction.csv")
    names.append("national_indices.csv")
    return names


def raw_inputs(key: Key, ctx: Context) -> dict[str, Path]:
    p = ctx.p(key.province)
    files = {ctx.rel(f): f for f in ctx.files(p.raw_year(key.year))}
    for f in ctx.files(p.national_raw.parent):  # the national indices (and their components)
        files[ctx.rel(f)] = f
    return files


def processed_inputs(keys: list[Key], ctx: Context) -> dict[str, Path]:
    out = {}
    for k in keys:
        folder = ctx.p(k.province).processed_year(k.year)
        for name in clean_tables(k, ctx):
            f = folder / name
            out[ctx.rel(f)] = f
    return out


def _clean_inputs(key: Key, ctx: Context) -> dict[str, Path]:
    return {**raw_inputs(key, ctx), **_config_files(ctx, key.province, key.year, targets=False)}


def _validate_inputs(key: Key, ctx: Context) -> dict[str, Path]:
    gx = ctx.paths.validation / "gx"
    suites = {}
    for sub in ("expectations", "validation_definitions", "checkpoints"):
        for f in ctx.files(gx / sub):
            if f.name.startswith(f"{key.province}-") and f.suffix == ".json":
                suites[ctx.rel(f)] = f
    for f in (gx / "great_expectations.yml", ctx.paths.validation / "overrides.yml"):
        if f.is_file():
            suites[ctx.rel(f)] = f
    return {
        **processed_inputs([key], ctx),
        **suites,
        **_config_files(ctx, key.province, key.year),
    }


def _analyse_inputs(key: Key, ctx: Context) -> dict[str, Path]:
    return {
        **processed_inputs(data_keys_read(key, ctx), ctx),
        **_config_files(ctx, key.province, key.year),
    }


def _report_inputs(key: Key, ctx: Context, report_dir: Path) -> dict[str, Path]:
    folder = ctx.p(key.province).processed_year(key.year)
    tables = {ctx.rel(folder / n): folder / n for n in clean_tables(key, ctx)}
    return {
        "metrics.json": report_dir / "metrics.json",
        "validation.json": report_dir / "validation.json",
        **tables,
        **raw_inputs(key, ctx),  # their hashes are printed in the provenance block
        **_config_files(ctx, key.province),
    }  # the locales are code of the step (see its modules), hashed file by file


# ---------------------------------------------------------------- what each step writes
def _clean_outputs(key: Key, ctx: Context) -> list[Output]:
    folder = ctx.rel(ctx.p(key.province).processed_year(key.year))
    return [Output("data", f"{folder}/{name}") for name in clean_tables(key, ctx)]


def _validate_outputs(key: Key, ctx: Context) -> list[Output]:
    return [Output("report", "validation.json"), Output("report", "validation", "dir")]


def _analyse_outputs(key: Key, ctx: Context) -> list[Output]:
    tables = ctx.rel(ctx.p(key.province).metrics_tables_year(key.year))
    return [Output("report", "metrics.json"), Output("data", tables, "dir")]


def report_files(lang: str, formats: tuple[str, ...]) -> list[Output]:
    """What the report step writes for one language (see report.exporters and the
    companions written from the 40_report notebook)."""
    out = [Output("report", f"report.{lang}.{fmt}") for fmt in formats]
    out += [Output("report", rel.format(lang=lang), kind) for rel, kind in COMPANIONS]
    return out


# Pages and downloads written beside each language's report from inside the 40_report notebook.
COMPANIONS: tuple[tuple[str, str], ...] = (
    ("validation.{lang}.html", "file"),  # our own validation summary page, in the language
    ("data-notes.{lang}.html", "file"),  # what is real, derived or simulated, in plain words
    ("downloads/{lang}", "dir"),  # the report's tables as CSV and XLSX
)


def _report_outputs(key: Key, ctx: Context) -> list[Output]:
    return report_files(key.lang or "vi", ctx.formats)


# ---------------------------------------------------------------- parameters
def _params(key: Key, ctx: Context, out_dir: Path | None) -> dict:
    p = {"year": key.year, "province": key.province, "root": str(ctx.paths.root)}
    if out_dir is not None:
        p["out_dir"] = str(out_dir)
    return p


def _analyse_params(key, ctx, out_dir):
    return {**_params(key, ctx, out_dir), "rounding": ctx.rounding}


def _report_params(key, ctx, out_dir):
    return {**_params(key, ctx, out_dir), "rounding": ctx.rounding, "lang": key.lang or "vi"}


def _clean_params(key, ctx, out_dir):
    return _params(key, ctx, None)  # writes data/processed only


# ---------------------------------------------------------------- the table
COMMON = ("__init__.py", "paths.py", "config.py", "errors.py", "textnorm.py", "fsutil.py", "fmt.py")


@dataclass(frozen=True)
class Step:
    name: str
    notebook: str
    per_lang: bool
    modules: tuple[str, ...]  # files or folders under par_review/ whose code the step runs
    params: Callable[[Key, Context, Path | None], dict]
    inputs: Callable[..., dict[str, Path]]
    outputs: Callable[[Key, Context], list[Output]]
    warm: str | None = None  # the stack a warm kernel should have imported (kernels.PREWARM)
    after: tuple[str, ...] = ()  # steps of the same key that run first

    def module_paths(self) -> list[Path]:
        return [PACKAGE_DIR / m for m in self.modules]


STEPS: tuple[Step, ...] = (
    Step(
        "clean",
        "10_clean.ipynb",
        False,
        (*COMMON, "clean", "rawdata"),
        _clean_params,
        _clean_inputs,
        _clean_outputs,
    ),
    Step(
        "validate",
        "20_validate.ipynb",
        False,
        # i18n: the Data Docs' simulated-data notice (its wording, in the locales, is left
        # out: a wording edit re-renders the reports only; the notice follows it when the
        # year is next validated)
        (*COMMON, "validation", "clean", "rawdata", "assets/datadocs", "i18n.py"),
        _params,
        _validate_inputs,
        _validate_outputs,
        warm="gx",
        after=("clean",),
    ),
    Step(
        "analyse",
        "30_analyse.ipynb",
        False,
        (*COMMON, "metrics", "clean", "rawdata"),
        _analyse_params,
        _analyse_inputs,
        _analyse_outputs,
        after=("validate",),
    ),
    Step(
        "report",
        "40_report.ipynb",
        True,
        (
            *COMMON,
            "report",
            "clean",
            "rawdata",
            "i18n.py",
            "locales",
            "provenance.py",
        ),
        _report_params,
        _report_inputs,
        _report_outputs,
        warm="report",
        after=("analyse",),
    ),
)
BY_NAME = {s.name: s for s in STEPS}
EXCLUDED_FROM_CODE = ("report/index.py",)  # the index page is written by the runner, not a step


def step_id(step: Step, key: Key) -> str:
    """How the state names a step of a key: 'clean', ..., 'report:vi'."""
    return f"{step.name}:{key.lang}" if step.per_lang else step.name
