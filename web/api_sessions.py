"""Sessions and deadlines over HTTP: the JSON API under /api/ (the same operations and shapes as the CLI)
and each mediator's private calendar feed, /calendar/<token>.ics.

The /api/ routes are plain here: the case inbox's sign-in (issue 12) is to be put in front of them when it
lands (`router` is one APIRouter for that). The feed is reached by its unguessable token alone, as calendar
programs subscribe: `mediators new-calendar-link` revokes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from fastapi import APIRouter, FastAPI, HTTPException, Response
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.case_clock import all_deadlines
from models.cases import Case
from models.ics import IcsSession, calendar_feed
from models.session_ops import SessionRefused, book_session, cancel_session, ics_session, reschedule_session
from models.session_outcome import record_outcome
from models.session_views import mediator_view, session_view
from models.sessions import MediationSession, Mediator, SessionMediator
from models.settings import Settings
from models.types import utcnow
from models.workdays import WorkingDayCalendar


class Booking(BaseModel):
    case_reference: str
    start: datetime
    end: datetime
    mode: str
    mediators: list[int]
    venue: str | None = None
    dial_in: str | None = None
    link: str | None = None
    notes: str = ""
    short_notice_agreed: bool = False


class Held(BaseModel):
    outcome: str


class Move(BaseModel):
    start: datetime
    end: datetime
    short_notice_agreed: bool = False


def mount(app: FastAPI, engine: Engine, settings: Settings) -> None:
    calendar = WorkingDayCalendar(tz=settings.zone)
    router = APIRouter(prefix="/api")

    def local(when: datetime) -> datetime:
        return when if when.tzinfo else when.replace(tzinfo=settings.zone)

    @router.get("/sessions")
    def list_sessions() -> list[dict]:
        with Session(engine) as db:
            items = db.exec(select(MediationSession).order_by(col(MediationSession.start_at))).all()
            return [session_view(db, item, settings.zone) for item in items]

    @router.post("/sessions", status_code=201)
    def book(body: Booking) -> dict:
        with Session(engine, expire_on_commit=False) as db, _refused():
            outcome = book_session(
                db,
                case_reference=body.case_reference,
                start=local(body.start),
                end=local(body.end),
                mode=body.mode,
                mediator_ids=body.mediators,
                venue=body.venue,
                dial_in=body.dial_in,
                link=body.link,
                notes=body.notes,
                short_notice_agreed=body.short_notice_agreed,
                settings=settings,
                calendar=calendar,
                actor="api",
            )
            db.flush()
            view = session_view(db, outcome.session, settings.zone, warnings=outcome.warnings)
            db.commit()
        return view

    @router.post("/sessions/{session_id}/reschedule")
    def reschedule(session_id: int, body: Move) -> dict:
        with Session(engine, expire_on_commit=False) as db, _refused():
            outcome = reschedule_session(
                db,
                session_id,
                start=local(body.start),
                end=local(body.end),
                short_notice_agreed=body.short_notice_agreed,
                settings=settings,
                calendar=calendar,
                actor="api",
            )
            db.flush()
            view = session_view(db, outcome.session, settings.zone, warnings=outcome.warnings)
            db.commit()
        return view

    @router.post("/sessions/{session_id}/cancel")
    def cancel(session_id: int) -> dict:
        with Session(engine, expire_on_commit=False) as db, _refused():
            outcome = cancel_session(db, session_id, settings=settings, actor="api")
            db.flush()
            view = session_view(db, outcome.session, settings.zone)
            db.commit()
        return view

    @router.post("/sessions/{session_id}/outcome")
    def held(session_id: int, body: Held) -> dict:
        with Session(engine, expire_on_commit=False) as db, _refused():
            item = record_outcome(db, session_id, outcome=body.outcome, settings=settings, actor="api")
            db.flush()
            view = session_view(db, item, settings.zone)
            db.commit()
        return view

    @router.get("/mediators")
    def list_mediators() -> list[dict]:
        with Session(engine) as db:
            return [mediator_view(m) for m in db.exec(select(Mediator).order_by(col(Mediator.id))).all()]

    @router.get("/deadlines")
    def deadlines(on: date | None = None) -> list[dict]:
        with Session(engine) as db:
            return [item.as_dict() for item in all_deadlines(db, calendar, on or calendar.local_date(utcnow()))]

    app.include_router(router)

    @app.get("/calendar/{token}.ics")
    def feed(token: str) -> Response:
        with Session(engine) as db:
            mediator = db.exec(select(Mediator).where(Mediator.calendar_token == token)).first()
            if mediator is None or not mediator.active:
                raise HTTPException(404)
            items = db.exec(
                select(MediationSession)
                .join(SessionMediator, col(SessionMediator.session_id) == MediationSession.id)
                .where(SessionMediator.mediator_id == mediator.id)
                .order_by(col(MediationSession.start_at))
            ).all()
            events: list[IcsSession] = []
            for item in items:
                case = db.get(Case, item.case_id)
                assert case is not None
                events.append(ics_session(item, case, settings))
            body = calendar_feed(events, name=f"{settings.service_name}: {mediator.name}")
        return Response(body, media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "private"})


@contextmanager
def _refused() -> Iterator[None]:
    """A refusal is 422 with its one line; nothing is committed."""
    try:
        yield
    except SessionRefused as exc:
        raise HTTPException(422, detail=str(exc)) from exc
