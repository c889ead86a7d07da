"""The report's markup: Jinja2 templates (templates/par/sections/, templates/par/pages/)
rendered with autoescape on, so every string from data is escaped by the template engine,
never by hand. One environment per process; no clock, no random ids."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).resolve().parent / "templates" / "par"


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["keep_words"] = keep_words
    return env


@functools.lru_cache(maxsize=8)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern:
    alternatives = sorted(words, key=len, reverse=True)  # the longest first
    return re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in alternatives), re.I)


def keep_words(html: str, words: tuple[str, ...] | list[str]) -> Markup:
    """`html` with the spaces inside each of `words` made no-break: a Vietnamese word of two
    syllables ("đơn vị", "xếp hạng") never ends one line of a narrow heading and starts the
    next. Markup (a macro's output) is kept as it is, a plain string is escaped first; only
    spaces change, so the result is as safe as its input."""
    html = escape(html)
    words = tuple(w for w in words if w.strip())
    if not words:
        return html
    pattern = _words_pattern(words)
    return Markup(pattern.sub(lambda m: m.group(0).replace(" ", "\u00a0"), str(html)))


def render(template: str, **values: Any) -> str:
    return environment().get_template(template).render(**values).strip()


def css() -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")
