"""The audit's vocabulary: `vocabulary.yml` (the words notices use) and the one helper that
turns its phrases into regular expressions.

    phrase_rx("khối (các) (cơ quan) sở")  ->  r"khối\\s+(?:các\\s+)?(?:cơ\\s+quan\\s+)?sở"
    any_rx(["xã, phường", "cấp xã"])       ->  the alternation, longest phrase first

A phrase is words separated by spaces (any white space matches them, and "xã, phường" also
matches "xã,phường"); words in parentheses are optional; `{n}` is a number (digits or a
number word) captured as the group named by the caller, `{year}` a four-digit year.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from ..fsutil import load_yaml

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.yml")

_TOKEN = re.compile(r"\([^)]*\)|[^\s()]+")


@cache
def vocabulary() -> dict:
    """vocabulary.yml, NFC-normalised (read once per process)."""
    with VOCABULARY_FILE.open(encoding="utf-8") as fh:
        return _nfc(load_yaml(fh))


def _nfc(x):
    if isinstance(x, str):
        return unicodedata.normalize("NFC", x)
    if isinstance(x, list):
        return [_nfc(v) for v in x]
    if isinstance(x, dict):
        return {_nfc(k): _nfc(v) for k, v in x.items()}
    return x


def number_words() -> dict[str, int]:
    return {str(k): int(v) for k, v in vocabulary()["numbers"].items()}


def number_words_rx() -> str:
    """The number words, longest first ("mười|một|...")."""
    return "|".join(sorted(number_words(), key=len, reverse=True))


def int_rx() -> str:
    """A small whole number as printed: digits or a number word ("3", "ba")."""
    return rf"(?:\d{{1,4}}|{number_words_rx()})"


def _word_rx(word: str, n_group: str | None) -> str:
    if word == "{n}":
        return f"(?P<{n_group}>{int_rx()})" if n_group else int_rx()
    if word == "{year}":
        return r"\d{4}"
    return re.escape(word)


def _sep(before: str, after: str) -> str:
    return r"\s*" if before.rstrip(")").endswith(",") or after.startswith("%") else r"\s+"


def phrase_rx(phrase: str, n_group: str | None = None) -> str:
    """The regular expression of one phrase (see the module docstring)."""
    tokens = _TOKEN.findall(phrase.strip())
    optional = [t.startswith("(") for t in tokens]
    if all(optional):
        raise ValueError(f"vocabulary phrase {phrase!r} has no required word")
    first = optional.index(False)
    out = ""
    for i, tok in enumerate(tokens):
        rx = phrase_rx(tok[1:-1], n_group) if optional[i] else _word_rx(tok, n_group)
        if i < first:  # leading optional words carry the space after them
            out += f"(?:{rx}{_sep(tok, tokens[i + 1])})?"
        elif i == first:
            out += rx
        elif optional[i]:
            out += f"(?:{_sep(tokens[i - 1], tok)}{rx})?"
        else:
            out += _sep(tokens[i - 1], tok) + rx
    return out


def any_rx(phrases: Iterable[str], n_group: str | None = None) -> str:
    """One alternation of phrases, the longest first (so the longest reading wins at a
    position, as a person reads)."""
    alts = sorted({p for p in phrases}, key=lambda p: (-len(p), p))
    return "(?:" + "|".join(phrase_rx(p, n_group) for p in alts) + ")"


def words(*keys: str) -> list[str]:
    """A list of the vocabulary by its keys: words("change", "up") -> ["tăng"]."""
    node = vocabulary()
    for k in keys:
        node = node[k]
    return list(node)
