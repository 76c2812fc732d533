"""The mediators page: the office adds, edits, deactivates and reactivates the service's mediators and
gives them a new private calendar feed address. Every change goes through models/mediators.py (audited)
and redirects back, so a reload never repeats it; a refusal is shown on the page in the office's words."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.db import session_scope
from models.mediators import (
    REGIONS,
    MediatorRefused,
    add_mediator,
    all_mediators,
    edit_mediator,
    revoke_calendar_token,
    sessions_ahead,
    set_active,
)
from models.sessions import Mediator
from models.settings import Settings
from web.render import page, reading, staff_of


async def submitted(request: Request) -> tuple[dict[str, str], list[str]]:
    """The mediator form's fields as typed, and the regions ticked."""
    form = await request.form()
    return {k: str(form.get(k) or "") for k in ("name", "mobile", "email")}, [str(v) for v in form.getlist("regions")]


def router(engine: Engine, settings: Settings) -> APIRouter:
    r = APIRouter()

    def feed_url(mediator: Mediator) -> dict[str, str]:
        url = f"{settings.effective_public_base_url}/calendar/{mediator.calendar_token}.ics"
        return {"name": mediator.name, "url": url}

    def listing(request: Request, *, status_code: int = 200, **context: object) -> HTMLResponse:
        with reading(engine) as db:
            mediators = all_mediators(db)
        form = {"name": "", "mobile": "", "email": "", "regions": ["national"]}
        context = {"error": None, "feed": None, "form": form, **context}
        return page(request, "mediators.html", status_code, mediators=mediators, regions=REGIONS, **context)

    def detail(
        request: Request, db: Session, mediator: Mediator, *, status_code: int = 200, **context: object
    ) -> HTMLResponse:
        context = {"error": None, "feed": None, "form": None, **context}
        ahead = sessions_ahead(db, mediator.id or 0)
        return page(request, "mediator.html", status_code, m=mediator, ahead=ahead, regions=REGIONS, **context)

    def found(db: Session, mediator_id: int) -> Mediator:
        mediator = db.get(Mediator, mediator_id)
        if mediator is None:
            raise HTTPException(404, "No such mediator.")
        return mediator

    @r.get("/mediators")
    def mediators(request: Request) -> HTMLResponse:
        return listing(request)

    @r.post("/mediators")
    async def add(request: Request) -> Response:
        staff = staff_of(request)
        fields, regions = await submitted(request)
        try:
            with session_scope(engine) as db:
                mediator = add_mediator(db, **fields, regions=regions, actor=staff.email)
                feed = feed_url(mediator)
        except MediatorRefused as exc:
            return listing(request, status_code=422, error=str(exc), form={**fields, "regions": regions})
        # The feed address is the mediator's secret: shown once, to whoever added them, never in a list.
        return listing(request, status_code=201, feed=feed)

    @r.get("/mediators/{mediator_id}")
    def show(request: Request, mediator_id: int) -> HTMLResponse:
        with reading(engine) as db:
            return detail(request, db, found(db, mediator_id))

    @r.post("/mediators/{mediator_id}")
    async def edit(request: Request, mediator_id: int) -> Response:
        staff = staff_of(request)
        fields, regions = await submitted(request)
        try:
            with session_scope(engine) as db:
                edit_mediator(db, mediator_id, **fields, regions=regions, actor=staff.email)
        except MediatorRefused as exc:
            with reading(engine) as db:
                refused = fields | {"regions": regions}
                return detail(request, db, found(db, mediator_id), status_code=422, error=str(exc), form=refused)
        return RedirectResponse(f"/mediators/{mediator_id}", status_code=303)

    @r.post("/mediators/{mediator_id}/active")
    def active(request: Request, mediator_id: int, active: str = Form("")) -> Response:
        staff = staff_of(request)
        try:
            with session_scope(engine) as db:
                found(db, mediator_id)
                set_active(db, mediator_id, active == "yes", actor=staff.email)
        except MediatorRefused as exc:
            with reading(engine) as db:
                return detail(request, db, found(db, mediator_id), status_code=409, error=str(exc))
        return RedirectResponse(f"/mediators/{mediator_id}", status_code=303)

    @r.post("/mediators/{mediator_id}/calendar")
    def new_calendar(request: Request, mediator_id: int) -> Response:
        staff = staff_of(request)
        with session_scope(engine) as db:
            found(db, mediator_id)
            mediator = revoke_calendar_token(db, mediator_id, actor=staff.email)
            feed = feed_url(mediator)
        with reading(engine) as db:
            return detail(request, db, found(db, mediator_id), feed=feed)

    return r
