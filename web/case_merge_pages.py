"""Merging two cases from the case page: the other case's reference, then a page showing both and
which carries on, then the POST (CSRF-checked by web/guard.py like every form). The merge itself is
models/case_merge.py; a refusal comes back on the case page, said as the model says it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine

from models.case_merge import MergeRefused, merge_cases, plan_merge
from models.db import session_scope
from web.render import page, reading, staff_of

# The case page with an error on it: (request, reference, error=..., status_code=...).
ShowCase = Callable[..., HTMLResponse]


def router(engine: Engine, show: ShowCase) -> APIRouter:
    r = APIRouter()

    @r.get("/cases/{reference}/merge")
    def confirm(request: Request, reference: str, other: str = "") -> Response:
        """Step 2: both cases side by side and which survives; nothing changes until the POST."""
        staff_of(request)
        try:
            with reading(engine) as session:
                plan = plan_merge(session, reference, other)
        except MergeRefused as exc:
            return show(request, reference, error=str(exc), status_code=409)
        already = plan.merged.merged_into_id == plan.survivor.id
        return page(
            request, "merge.html", reference=reference.upper(), other=other.strip().upper(), plan=plan, already=already
        )

    @r.post("/cases/{reference}/merge")
    def merge(request: Request, reference: str, other: str = Form("")) -> Response:
        staff = staff_of(request)
        try:
            with session_scope(engine) as session:
                result = merge_cases(session, reference, other, actor=staff.email)
        except MergeRefused as exc:
            return show(request, reference, error=str(exc), status_code=409)
        return RedirectResponse(f"/cases/{quote(result.survivor)}#timeline", status_code=303)

    return r
