"""File-system helpers: content hashes and atomic swaps of whole folders."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_yaml(source) -> Any:
    """`yaml.safe_load` with libyaml's C loader when PyYAML has it (the same safe subset of
    YAML, about 10x faster: the three province files were most of a no-op build)."""
    import yaml

    return yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def swap_dir(staged: Path, target: Path, trash: list[Path] | None = None) -> None:
    """Replace `target` by `staged` (same file system). Readers see the old folder or the
    new one, never a mix: the old one is moved aside by rename, then the new one renamed in.
    A crash between the two renames leaves `<target>.old-*`, which `recover()` restores.
    With `trash`, the old folder is appended to it for the caller to delete later (the
    build deletes it outside its scheduler's lock); `recover()` deletes it if that never
    happens."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _readable_by_all(staged)
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.rename(target, old)
    os.rename(staged, target)
    if old.exists():
        if trash is None:
            shutil.rmtree(old, ignore_errors=True)
        else:
            trash.append(old)


def same_files(a: Path, b: Path) -> bool:
    """Two folders hold the same files (names, sub-folders and bytes)."""

    def files(root: Path) -> dict[str, Path]:
        return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}

    if not (a.is_dir() and b.is_dir()):
        return False
    fa, fb = files(a), files(b)
    return fa.keys() == fb.keys() and all(_holds(fb[k], fa[k].read_bytes()) for k in fa)


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _readable_by_all(root: Path) -> None:
    """Staging folders come from mkdtemp (mode 0700); published ones follow the umask like
    any other file, so a web server or a colleague can read them."""
    mask = _current_umask()
    for dirpath, _dirs, files in os.walk(root):
        os.chmod(dirpath, 0o777 & ~mask)
        for f in files:
            os.chmod(os.path.join(dirpath, f), 0o666 & ~mask)


def recover(parent: Path) -> list[Path]:
    """Undo half-finished swaps under `parent` (after a crash or kill -9): restore any
    `.X.old-*` whose `X` is missing, and delete leftovers (`.X.old-*` folders or links,
    `.X.tmp-*` files of an interrupted atomic write). Returns what was restored."""
    restored = []
    if not parent.is_dir():
        return restored
    for old in sorted(parent.glob(".*.old-*")):
        name = old.name[1:].rsplit(".old-", 1)[0]
        target = parent / name
        if not target.exists() and not old.is_symlink():
            os.rename(old, target)
            restored.append(target)
        elif old.is_symlink() or old.is_file():
            old.unlink()  # rmtree refuses a link: never follow it
        else:
            shutil.rmtree(old, ignore_errors=True)
    for tmp in parent.glob(".*.tmp-*"):
        if tmp.is_symlink() or tmp.is_file():
            tmp.unlink()
    return restored


def write_text_atomic(path: Path, text: str, keep_same: bool = False) -> None:
    """Write `text` to `path` whole (a temporary file renamed in). With `keep_same`, a file
    that holds these bytes already is left alone, mtime included: the build knows its
    outputs by size and mtime, and a preview that rewrites the same metrics would otherwise
    make the next build run the analysis and the reports again."""
    if keep_same and _holds(path, text.encode("utf-8")):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
