"""Which code made an output: the git commit of the checkout, and whether the files that
shape the outputs differ from it. One answer for the report's footer and the manifest.

Read without side effects and with the same answer every time: no `git status` (it runs
the nbstripout filter over every notebook, which takes seconds under load and can time
out), no index refresh, no lock (`.git/index.lock` left behind breaks the analyst's next
git command). The commit comes from `.git/HEAD` and the refs; "modified" compares the git
blob hash of each tracked file under src/, config/ and validation/ with HEAD's tree
(`git ls-tree`, which reads objects only). Notebooks are left out on purpose: their
committed form is stripped of outputs, so a run notebook always differs, and every
step's fingerprint in the manifest already covers the notebook it ran.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

TRACKED_FOR_DIRTY = ("src", "config", "validation")


@dataclass(frozen=True)
class Commit:
    sha: str | None  # full sha, None when not a git checkout
    modified: bool = False

    @property
    def short(self) -> str | None:
        return self.sha[:12] if self.sha else None

    def label(self) -> str:
        """'<12 hex>', '<12 hex>-modified' or 'unknown' (manifest, logs)."""
        if not self.sha:
            return "unknown"
        return self.short + ("-modified" if self.modified else "")


def _git_dir(root: Path) -> Path | None:
    g = root / ".git"
    if g.is_dir():
        return g
    if g.is_file():  # worktree or submodule: "gitdir: <path>"
        text = g.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            p = Path(text.split(":", 1)[1].strip())
            return p if p.is_absolute() else (root / p).resolve()
    return None


def head_sha(root: Path) -> str | None:
    """The commit HEAD points at, read from the files (no git process)."""
    gd = _git_dir(root)
    if gd is None:
        return None
    try:
        head = (gd / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head or None
    ref = head.split(":", 1)[1].strip()
    common = gd
    if (gd / "commondir").is_file():
        common = (gd / (gd / "commondir").read_text(encoding="utf-8").strip()).resolve()
    for base in (gd, common):
        p = base / ref
        if p.is_file():
            return p.read_text(encoding="utf-8").strip() or None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref:
                return parts[0]
    return None


def _blob_sha(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _modified(root: Path, sha: str) -> bool:
    try:
        out = subprocess.run(
            [
                "git",
                "--no-optional-locks",
                "-C",
                str(root),
                "ls-tree",
                "-r",
                "-z",
                sha,
                "--",
                *TRACKED_FOR_DIRTY,
            ],
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False  # cannot tell; the manifest's fingerprints still say what ran
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, name = entry.split(b"\t", 1)
        mode, kind, blob = meta.split()
        if kind != b"blob" or mode == b"120000":
            continue
        p = root / name.decode("utf-8", "surrogateescape")
        if not p.is_file() or _blob_sha(p) != blob.decode():
            return True
    return False


@functools.lru_cache(maxsize=8)
def _commit(root: Path) -> Commit:
    sha = head_sha(root)
    if not sha:
        return Commit(None)
    return Commit(sha, _modified(root, sha))


def git_commit(root: Path) -> Commit:
    """The commit of the checkout at `root` (cached per process: one answer per build)."""
    return _commit(Path(root).resolve())


def code_commit() -> Commit:
    """The commit of the checkout that holds this package: the code that ran."""
    from .paths import PACKAGE_DIR

    return git_commit(PACKAGE_DIR.parents[1])
