"""The report's markup: Jinja2 templates (templates/par/sections/, templates/par/pages/)
rendered with autoescape on, so every string from data is escaped by the template engine,
never by hand. One environment per process; no clock, no random ids."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

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
    return env


def render(template: str, **values: Any) -> str:
    return environment().get_template(template).render(**values).strip()


def css() -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")
