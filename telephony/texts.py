"""What callers hear and SMS recipients read, from templates/voice/ and templates/sms/ (Jinja2)."""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@cache
def _environment(folder: Path) -> Environment:
    # Plain text: nothing is HTML-escaped; a missing variable is an error, not an empty gap.
    return Environment(
        loader=FileSystemLoader(folder), autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False
    )


def render_text(kind: str, template: str, folder: Path | None = None, /, **context: Any) -> str:
    """templates/KIND/TEMPLATE.txt rendered, with runs of white space made single (speech and SMS alike).
    The first three are positional only: a context may carry any key (a reminder's `name`).

    The same text for the same context is rendered once (a caller's greeting is one of a few)."""
    try:
        return _rendered(kind, template, folder, tuple(sorted(context.items())))
    except TypeError:  # a context value that cannot be a cache key (a list, a dict)
        return _render(kind, template, folder, context)


@lru_cache(maxsize=512)
def _rendered(kind: str, name: str, folder: Path | None, context: tuple[tuple[str, Any], ...]) -> str:
    return _render(kind, name, folder, dict(context))


def _render(kind: str, name: str, folder: Path | None, context: dict[str, Any]) -> str:
    env = _environment(folder or TEMPLATES / kind)
    text = env.get_template(f"{name}.txt").render(**context)
    return " ".join(text.split())
