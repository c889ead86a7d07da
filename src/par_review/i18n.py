"""All report wording, one YAML file per language (src/par_review/locales/<lang>.yml).

    t = Translator("vi")
    t("results.level_intro", year="2022")      # str.format with named fields
    t.has("results.first_year_none")

Keys are dotted paths into the YAML. Values passed in are already formatted by fmt.py (so
"69,77%" and "03" come out right); the result is plain text: report.py escapes it when it
builds HTML. A key missing from `en` falls back to `vi` (and a missing key raises, naming
the key and the file) so a gap in a translation is visible, not silent.
"""

from __future__ import annotations

import functools
import string
import unicodedata
from pathlib import Path
from typing import Any

from .fsutil import load_yaml

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LANG = "vi"


class MissingText(KeyError):
    pass


@functools.lru_cache(maxsize=4)
def load_locale(lang: str) -> dict[str, str]:
    path = LOCALES_DIR / f"{lang}.yml"
    if not path.is_file():
        raise ValueError(f"no wording for language {lang!r}: {path} does not exist")
    with path.open(encoding="utf-8") as fh:
        data = load_yaml(fh) or {}
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            # NFC only: separators such as "; " keep their spaces
            flat[prefix] = unicodedata.normalize("NFC", node) if isinstance(node, str) else node

    walk("", data)
    return flat


class Translator:
    def __init__(self, lang: str = DEFAULT_LANG):
        self.lang = lang
        self.texts = load_locale(lang)
        self.fallback = load_locale(DEFAULT_LANG) if lang != DEFAULT_LANG else {}

    def has(self, key: str) -> bool:
        return key in self.texts or key in self.fallback

    def raw(self, key: str) -> Any:
        if key in self.texts:
            return self.texts[key]
        if key in self.fallback:
            return self.fallback[key]
        raise MissingText(f"no text {key!r} in {LOCALES_DIR / (self.lang + '.yml')}")

    def __call__(self, key: str, **values: object) -> str:
        template = self.raw(key)
        if not values:
            return str(template)
        return string.Formatter().vformat(str(template), (), values)

    def plural(self, key: str, count: int, /, **values: object) -> str:
        """`key.one` when count == 1 and the language has it, else `key.other` (the
        values are formatted in: `plural("structure.new", 1, n="1")`)."""
        sub = "one" if count == 1 and self.has(f"{key}.one") else "other"
        return self(f"{key}.{sub}", **values)

    def join(self, items: list[str]) -> str:
        """ "A, B và C" / "A, B and C"."""
        items = [i for i in items if i]
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {self('words.and')} {items[-1]}"
