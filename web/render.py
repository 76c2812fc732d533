"""Pages from templates/web/ (Jinja2, autoescaped), and what every page handler needs."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.case_status import TRANSITIONS
from models.staff_ops import Staff
from models.work_queue import since_text
from models.workdays import LONDON

_LABELS = {"sms": "SMS", "clock": "Deadline event"}  # where capitalising the name reads wrong
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "web"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = _local
    env.filters["since"] = since_text
    env.filters["label"] = lambda s: _LABELS.get(s or "") or (s or "").replace("_", " ").capitalize()
    env.filters["filesize"] = _filesize
    env.filters["local_time"] = lambda at: at.astimezone(LONDON).strftime("%H:%M") if at else ""
    env.globals["urlencode"] = urlencode
    env.globals["STATUSES"] = list(TRANSITIONS)
    return env


def _local(at: datetime | None) -> str:
    return at.astimezone(LONDON).strftime("%d %b %Y %H:%M") if at else ""


def _filesize(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size = size / 1024  # type: ignore[assignment]
    return str(size)


def reading(engine: Engine) -> Session:
    """A session for a page that only reads: on SQLite a deferred transaction, so a page never waits
    for (or holds up) intake's write lock (models/db.py begins IMMEDIATE by default)."""
    return Session(engine.execution_options(sqlite_begin="DEFERRED"))


def staff_of(request: Request) -> Staff:
    staff = request.scope.get("state", {}).get("staff")
    if staff is None:  # the guard lets no unsigned request reach a page: this is a bug, not a visitor
        raise HTTPException(401)
    return staff


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    staff = request.scope.get("state", {}).get("staff")
    html = environment().get_template(template).render(staff=staff, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status_code)
