"""What callers hear and SMS recipients read, from templates/voice/ and templates/sms/ (Jinja2)."""

from __future__ import annotations

from functools import cache
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


def render_text(kind: str, name: str, folder: Path | None = None, **context: Any) -> str:
    """templates/KIND/NAME.txt rendered, with runs of white space made single (speech and SMS alike)."""
    env = _environment(folder or TEMPLATES / kind)
    text = env.get_template(f"{name}.txt").render(**context)
    return " ".join(text.split())
