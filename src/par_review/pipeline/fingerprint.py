"""Fingerprints: what a step depends on, item by item, so that a change is named.

A step's *input manifest* maps a label to a hash: every input file (raw files, cleaned
tables of every year it reads, config files, suites), the notebook, each code file of the
modules the step declares, its parameters and the key package versions. The fingerprint is
the hash of that manifest; `plan` and `status` diff two manifests to say what changed.

Outputs are recorded by a cheap signature (size and modification time of each file), so a
notebook run by hand, a half-finished copy or a deleted file is noticed and redone.
Hashes are cached per (path, size, mtime) within a process: a no-op build reads each file
once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from .. import __version__
from ..fsutil import sha256_file
from ..paths import PACKAGE_DIR
from .steps import EXCLUDED_FROM_CODE, Context, Key, Output, Step

KEY_PACKAGES = (
    "pandas",
    "numpy",
    "great_expectations",
    "papermill",
    "nbconvert",
    "nbclient",
    "matplotlib",
    "seaborn",
    "openpyxl",
    "jinja2",
)
BROWSER = "chromium"  # the PDF bytes depend on the printing browser's version too
SKIP_PARTS = {"__pycache__", "uncommitted", ".ipynb_checkpoints"}

_cache: dict[tuple[str, int, int], str] = {}

# -- one look at the disk per path while nothing is written ------------------------------
# A build decides 60+ tasks whose inputs overlap (2026's analysis reads nine years of
# tables, every report reads the config): without this a no-op build made ~13,000 stat calls
# for ~2,200 paths. What was seen is kept until something is written: the runner calls
# forget() after each task that ran and after each publish. A look that began before a
# forget() is not kept (the generation it was taken in is gone).
_gen = 0
_seen: dict[tuple[str, str], tuple[int, Any]] = {}


def forget() -> None:
    """Files were written: look at the disk again (content hashes stay keyed by size and
    mtime, so they are still reused when a file did not change)."""
    global _gen
    _gen += 1
    _seen.clear()


HASHES = ".hashes.json"  # in build/: content hashes of earlier builds (see load_hashes)
# build/.hashes.json paths looked at in this process -> the files they hold, as loaded or
# last saved (None: absent or unreadable)
_hashes_loaded: dict[str, dict | None] = {}


def load_hashes(build: Path) -> None:
    """Reuse the content hashes an earlier build wrote (build/.hashes.json), keyed like the
    in-process cache by path, size and mtime (ns): a no-op build otherwise re-read and hashed
    every input file (about 300, raw workbooks included) in every new process. A file
    rewritten with another content changes its mtime; one whose mtime was within two seconds
    of the save is not kept (the "racy" case git also guards against)."""
    path = build / HASHES
    if str(path) in _hashes_loaded:
        return
    _hashes_loaded[str(path)] = None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if data.get("version") != 1:
        return
    files = data.get("files") or {}
    for name, (size, mtime, digest) in files.items():
        _cache.setdefault((name, size, mtime), digest)
    _hashes_loaded[str(path)] = files


def save_hashes(build: Path, root: Path) -> None:
    """Write the hashes of the files under `root` that still have the size and mtime they
    were hashed at (a build calls it once, at the end)."""
    import time

    forget()
    prefix = str(root.resolve()) + os.sep
    racy = time.time_ns() - 2_000_000_000
    files = {}
    for (name, size, mtime), digest in list(_cache.items()):
        if not name.startswith(prefix) or mtime > racy:
            continue
        st = _stat(Path(name))
        if st is not None and st.st_size == size and st.st_mtime_ns == mtime:
            files[name] = [size, mtime, digest]
    path = build / HASHES
    if _hashes_loaded.get(str(path)) == files:
        return  # nothing was hashed anew and nothing went stale (a no-op build)
    with contextlib.suppress(OSError):
        build.mkdir(parents=True, exist_ok=True)
        tmp = build / f".{HASHES}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps({"version": 1, "files": files}), encoding="utf-8")
        os.replace(tmp, path)
        _hashes_loaded[str(path)] = files


def _memo(kind: str, key: str, fn):
    gen = _gen
    hit = _seen.get((kind, key))
    if hit is not None and hit[0] == gen:
        return hit[1]
    value = fn()
    if gen == _gen:
        _seen[(kind, key)] = (gen, value)
    return value


def _stat(p: Path):
    def look():
        try:
            return os.stat(p)
        except OSError:
            return None

    return _memo("stat", str(p), look)


def file_hash(p: Path) -> str:
    st = _stat(p)
    if st is None:
        return "missing"
    k = (str(p), st.st_size, st.st_mtime_ns)
    h = _cache.get(k)
    if h is None:
        h = _cache[k] = sha256_file(p)
    return h


def _tree_files(root: Path) -> list[Path]:
    return _memo("tree", str(root), lambda: _walk(root))


def _walk(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    out = []
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_PARTS)
        out += [Path(dirpath) / f for f in sorted(files) if not f.endswith((".pyc", ".pyo"))]
    return out


def tree_hash(root: Path) -> str:
    st = _stat(root)
    if st is not None and stat.S_ISREG(st.st_mode):
        return file_hash(root)
    files = _tree_files(root)
    if not files and st is None:
        return "missing"
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.relative_to(root).as_posix()}:{file_hash(f)}\n".encode())
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in KEY_PACKAGES:
        try:
            out[name] = version(name.replace("_", "-"))
        except PackageNotFoundError:
            out[name] = "missing"
    out["par-review"] = __version__
    out["python"] = sys.version.split()[0]
    return out


def _site_stamp() -> str:
    """Changes whenever a package is installed or removed (the folders' mtimes)."""
    import sysconfig

    parts = []
    for key in ("purelib", "platlib"):
        d = sysconfig.get_paths()[key]
        with contextlib.suppress(OSError):
            parts.append(f"{d}:{os.stat(d).st_mtime_ns}")
    return "|".join(sorted(set(parts))) + f"|{sys.version}|{_browser_stamp()}"


def _browser_binary() -> str | None:
    from ..report.chromium import PrinterError, find_chromium

    try:
        return find_chromium()
    except PrinterError:
        return None


def _browser_stamp() -> str:
    """Changes when the browser that prints the PDFs is upgraded (its binary's mtime)."""
    binary = _browser_binary()
    if binary is None:
        return "no browser"
    with contextlib.suppress(OSError):
        return f"{binary}:{os.stat(binary).st_mtime_ns}"
    return binary


def _browser_version() -> str:
    from ..report.chromium import browser_version

    binary = _browser_binary()
    return browser_version(binary) if binary else "missing"


_versions: dict[str, str] | None = None
WRITE_CACHE = False  # the build sets it; a dry run, status or the preview only read the cache


def versions(cache: Path | None = None) -> dict[str, str]:
    """package_versions(), cached in `cache` (build/.versions.json) until a package is
    installed or removed: importlib.metadata costs a no-op build a tenth of a second."""
    global _versions
    if _versions is None:
        stamp = _site_stamp()
        if cache is not None:
            with contextlib.suppress(OSError, ValueError):
                d = json.loads(cache.read_text(encoding="utf-8"))
                if d.get("stamp") == stamp:
                    _versions = d["versions"]
                    return _versions
        _versions = package_versions()
        _versions[BROWSER] = _browser_version()
        if cache is not None and WRITE_CACHE:
            with contextlib.suppress(OSError):
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_text(
                    json.dumps({"stamp": stamp, "versions": _versions}), encoding="utf-8"
                )
    return _versions


_code: dict[str, dict[str, str]] = {}


def forget_code() -> None:
    """Hash the code again (the preview, after a file of the package changed)."""
    _code.clear()


def code_files(step: Step) -> dict[str, str]:
    """label -> hash for each code file of the modules a step declares. Hashed once per
    process (a build): code edited while a build runs is seen by the next build, and every
    step of this one is judged against the same code."""
    if step.name not in _code:
        out = {}
        for p in step.module_paths():
            for f in _tree_files(p):
                rel = f.relative_to(PACKAGE_DIR).as_posix()
                if rel in EXCLUDED_FROM_CODE:
                    continue
                out[f"code:{rel}"] = file_hash(f)
        _code[step.name] = out
    return _code[step.name]


def input_manifest(step: Step, key: Key, ctx: Context, report_dir: Path) -> dict[str, str]:
    inputs = step.inputs(key, ctx, report_dir) if step.name == "report" else step.inputs(key, ctx)
    root = ctx.paths.root.resolve()
    m = {
        label: (
            ctx.views[label]
            if label in ctx.views  # what the step reads of a config file (steps.config_view)
            else tree_hash(path)
            if _inside(path, root)
            else "a link outside the project"
        )
        for label, path in sorted(inputs.items())
    }
    m[f"notebook:{step.notebook}"] = file_hash(ctx.paths.notebooks / step.notebook)
    m.update(code_files(step))
    params = step.params(key, ctx, None)
    params.pop("root", None)
    for k, v in sorted(params.items()):
        m[f"param:{k}"] = json.dumps(v, ensure_ascii=False)
    if step.name == "report":
        m["param:formats"] = ",".join(ctx.formats)
    for k, v in versions(ctx.paths.build / ".versions.json").items():
        if k != BROWSER or step.name == "report":  # the browser prints the PDFs only
            m[f"version:{k}"] = v
    return m


def _inside(path: Path, root: Path) -> bool:
    """Never read what a link outside the project points at (cleaning refuses it too)."""

    def look() -> bool:
        try:
            path.resolve().relative_to(root)
        except ValueError:
            return not path.exists()  # a missing file is hashed as "missing"
        return True

    return _memo("inside", f"{path}\0{root}", look)


def fingerprint(manifest: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def output_signature(outputs: list[Output], root: Path, report_dir: Path) -> dict[str, str]:
    """rel -> "size:mtime" (a folder: a hash of its files' signatures); "missing" if absent."""
    sig = {}
    for o in outputs:
        p = o.path(root, report_dir)
        if o.kind == "dir":
            sig[o.rel] = _memo("dir signature", str(p), lambda p=p: _dir_signature(p))
        else:
            st = _stat(p)
            sig[o.rel] = f"{st.st_size}:{st.st_mtime_ns}" if st is not None else "missing"
    return sig


def _dir_signature(folder: Path) -> str:
    """A hash of (path, size, mtime) of every file under `folder`, in os.walk's order (a
    folder's files, sorted, then its sub-folders, sorted; links to folders not followed),
    from one scandir per folder: the Data Docs folders are most of what a no-op build
    looks at (about 1,200 folders), and Path objects and a stat per file made that slow."""
    if not folder.is_dir():
        return "missing"
    h = hashlib.sha256()

    def walk(d: str, rel: str) -> None:
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            return
        subdirs = []
        for e in entries:
            try:
                is_dir = e.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if e.name not in SKIP_PARTS and not e.is_symlink():
                    subdirs.append(e)
            elif not e.name.endswith((".pyc", ".pyo")):
                st = e.stat()
                h.update(f"{rel}{e.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        for e in subdirs:
            walk(e.path, f"{rel}{e.name}/")

    walk(str(folder), "")
    return h.hexdigest()


def explain(old: dict[str, str] | None, new: dict[str, str], limit: int = 4) -> list[str]:
    """What changed between two input manifests, in words (for plan and status)."""
    if not old:
        return ["never built"]
    changed = [k for k in new if old.get(k) != new[k]]
    gone = [k for k in old if k not in new]
    words = []
    for k in changed + gone:
        kind, _, name = (
            k.partition(":")
            if ":" in k and k.split(":")[0] in ("code", "notebook", "param", "version")
            else ("input", "", k)
        )
        if kind == "input":
            what = f"{name} {'removed' if k in gone else 'new' if k not in old else 'changed'}"
        elif kind == "param":
            what = f"parameter {name}: {old.get(k)} -> {new.get(k)}"
        elif kind == "version":
            what = f"package {name} {old.get(k)} -> {new.get(k)}"
        else:
            what = f"{kind} {name} changed"
        words.append(what)
    if len(words) > limit:
        words = words[:limit] + [f"and {len(words) - limit} more"]
    return words
