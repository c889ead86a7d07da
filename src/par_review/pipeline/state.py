"""build/state.json: per key, what each step last did, and the outcome of the last attempt.

    {"version": 2, "keys": {"khanh_hoa/2022": {
        "steps": {"clean": {"fp", "inputs", "outputs", "at"}, "validate": ..., "report:vi": ...},
        "validated": {"tables": <hash of the cleaned tables that passed>, "ok": true, "at"},
        "last": {"status": "published" | "failed" | "up-to-date", "at", "step", "reason", "kind"}}}}

`last` always reflects the latest attempt of that key: a later good build clears a failure.
A run that was refused before any key was selected (bad --province, bad year) writes no
key at all, so it can never mark another province as failed.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

from ..fsutil import write_text_atomic
from ..paths import Paths

VERSION = 2


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class State:
    def __init__(self, paths: Paths):
        self.path: Path = paths.build / "state.json"
        self.lock = threading.RLock()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if data.get("version") != VERSION:
            data = {"version": VERSION, "keys": {}}  # an older layout: rebuild from scratch
        self.data = data

    def key(self, key) -> dict:
        with self.lock:
            k = str(key.data if getattr(key, "lang", None) else key)
            return self.data["keys"].setdefault(k, {"steps": {}, "validated": {}, "last": {}})

    def step(self, key, sid: str) -> dict | None:
        return self.key(key)["steps"].get(sid)

    def set_step(self, key, sid: str, record: dict) -> None:
        with self.lock:
            self.key(key)["steps"][sid] = record

    def save(self) -> None:
        with self.lock:
            text = json.dumps(self.data, ensure_ascii=False, indent=1, sort_keys=True)
        write_text_atomic(self.path, text)

    def keys_of(self, province: str) -> dict[int, dict]:
        out = {}
        for k, v in self.data["keys"].items():
            p, _, y = k.partition("/")
            if p == province and y.isdigit():
                out[int(y)] = v
        return out
