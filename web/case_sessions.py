"""A case's sessions, statutory deadlines, calls and certificate on its page, and the coordinator's
session actions (book, move, cancel, record the outcome, issue the certificate).

Every change goes through models/ (session_ops, session_outcome, certificates: this module holds no
rule of its own) inside the case page's `act`, so each is audited, CSRF-checked by the guard, and a
refusal is the case page again with one line saying what to change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from models import case_actions as actions
from models.case_clock import KIND_LABELS, case_deadlines
from models.case_ops import audit
from models.case_queries import case_id_for_reference
from models.cases import Case
from models.certificates import CertificateRefused, issue_certificate
from models.db import session_scope
from models.deadline_queue import DueDeadline, stored_deadlines_due
from models.ics import MODE_LABELS
from models.session_ops import (
    NOTICE_WORKING_DAYS,
    SessionRefused,
    book_session,
    cancel_session,
    reschedule_session,
)
from models.session_outcome import OUTCOMES, record_outcome
from models.session_reports import SessionsReport, sessions_by_local_authority, sessions_report
from models.session_views import reminder_rows
from models.sessions import CaseEvent, MediationSession, Mediator, SessionMediator
from models.settings import Settings
from models.staff_ops import Staff
from models.telephony import REC_STORED, Call
from models.types import utcnow
from models.work_queue import WorkFilters
from models.workdays import WorkingDayCalendar

# What the CLI says (its flags) as the page says it (its fields).
_FOR_PAGE = {
    "record the parties' agreement with --short-notice-agreed": (
        "if the parties agreed to the shorter notice, tick “The parties agreed to short notice”"
    ),
    "(--end after --start)": "",
    "(--start)": "",
    "--link must be an https:// address": "the video link must start with https://",
    "a session needs at least one --mediator": "choose at least one mediator",
    "; `mediators list` shows them": "",
    "; `sessions list` shows them": "",
    "; `cases list` shows them": "",
    "--venue": "the venue's address",
    "--dial-in": "the dial-in details",
    "--link": "the video link",
    "--mode": "the mode",
}


def for_coordinator(message: str) -> str:
    for cli, page in _FOR_PAGE.items():
        message = message.replace(cli, page)
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


@dataclass(slots=True)
class ReminderLine:
    name: str
    to: str
    offset: str
    due: datetime
    status: str


@dataclass(slots=True)
class SessionLine:
    id: int
    start: datetime
    end: datetime
    mode: str
    where: str
    link: str | None
    mediators: list[str]
    status: str
    outcome: str | None
    short_notice_agreed: bool
    started: bool
    reminders: list[ReminderLine] = field(default_factory=list)


@dataclass(slots=True)
class CallMedia:
    id: int
    recording: bool
    transcript: str | None


@dataclass(slots=True)
class CaseExtras:
    deadlines: list[dict[str, Any]]
    sessions: list[SessionLine]
    mediators: list[tuple[int, str]]
    calls: dict[str, CallMedia]  # call_sid -> what the timeline shows with the call
    certificate_issued: str | None
    outcomes: dict[str, str]
    mode_labels: dict[str, str]
    notice_days: int = NOTICE_WORKING_DAYS
    form: dict[str, Any] = field(default_factory=dict)  # a refused booking's input, shown again


def form_of(request: Request) -> dict[str, Any]:
    """What a refused booking asked (kept on the request by `book`), so the coordinator corrects it
    rather than typing it all again."""
    return dict(request.scope.get("state", {}).get("session_form") or {})


def case_extras(
    db: Session, case_id: int, settings: Settings, *, now: datetime | None = None, form: dict[str, Any] | None = None
) -> CaseExtras:
    now = now or utcnow()
    calendar = WorkingDayCalendar(tz=settings.zone)
    case = db.get(Case, case_id)
    assert case is not None
    deadlines = [
        {
            "label": KIND_LABELS[d.deadline.kind],
            "due": d.deadline.due,
            "days_left": d.deadline.days_left,
            "status": str(d.deadline.status),
            "done_on": d.deadline.done_on,
        }
        for d in case_deadlines(db, case, calendar, calendar.local_date(now))
    ]
    items = db.exec(
        select(MediationSession).where(MediationSession.case_id == case_id).order_by(col(MediationSession.start_at))
    ).all()
    sessions = [_session_line(db, item, now) for item in items]
    mediators = [
        (m.id, m.name)
        for m in db.exec(select(Mediator).where(col(Mediator.active).is_(True)).order_by(Mediator.name)).all()
        if m.id is not None
    ]
    calls = {
        c.call_sid: CallMedia(c.id, c.recording_state == REC_STORED and bool(c.recording_path), c.transcript)
        for c in db.exec(select(Call).where(Call.case_id == case_id)).all()
        if c.id is not None
    }
    event = db.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "certificate_issued")
    ).first()
    issued = event.day if event else None
    return CaseExtras(
        deadlines,
        sessions,
        mediators,
        calls,
        f"{issued.day} {issued:%B %Y}" if issued else None,
        OUTCOMES,
        MODE_LABELS,
        form=form or {},
    )


def _session_line(db: Session, item: MediationSession, now: datetime) -> SessionLine:
    assert item.id is not None
    names = db.exec(
        select(Mediator.name)
        .join(SessionMediator, col(SessionMediator.mediator_id) == Mediator.id)
        .where(SessionMediator.session_id == item.id)
        .order_by(Mediator.name)
    ).all()
    current = f"reminder:s{item.id}:v{item.sequence}:"
    reminders = [
        ReminderLine(
            str(row.context.get("name") or ""), row.to, str(row.context.get("offset") or ""), row.due_at, row.status
        )
        for row in reminder_rows(db, item.id)
        if row.template == "session_reminder" and row.idempotency_key.startswith(current)
    ]
    where = {"in_person": item.venue, "phone": item.dial_in, "video": item.link}.get(item.mode) or ""
    return SessionLine(
        id=item.id,
        start=item.start_at,
        end=item.end_at,
        mode=item.mode,
        where=where,
        link=item.link if item.mode == "video" else None,
        mediators=list(names),
        status=item.status,
        outcome=item.outcome,
        short_notice_agreed=item.short_notice_agreed,
        started=item.start_at <= now,
        reminders=reminders,
    )


@dataclass(slots=True)
class InboxDeadlines:
    shown: list[DueDeadline]
    total: int


def deadlines_for_inbox(db: Session, settings: Settings, filters: WorkFilters) -> InboxDeadlines:
    """The inbox's deadlines under its office and overdue filters (a case with no office yet is on both),
    the most urgent of them (models.deadline_queue.SHOWN) and how many in all."""
    calendar = WorkingDayCalendar(tz=settings.zone)
    shown, total = stored_deadlines_due(
        db, calendar, calendar.local_date(utcnow()), office=filters.office, overdue_only=filters.overdue
    )
    return InboxDeadlines(shown, total)


def session_figures(
    db: Session, settings: Settings, start: date, end: date, local_authority: str | None
) -> SessionsReport:
    """The reports page's sessions figures for its period and LA."""
    calendar = WorkingDayCalendar(tz=settings.zone)
    today = calendar.local_date(utcnow())
    return sessions_report(db, start, end, calendar=calendar, today=today, local_authority=local_authority)


def session_figures_by_la(db: Session, settings: Settings, start: date, end: date) -> list[tuple[str, SessionsReport]]:
    calendar = WorkingDayCalendar(tz=settings.zone)
    return sessions_by_local_authority(db, start, end, calendar=calendar, today=calendar.local_date(utcnow()))


# ---- the actions ---------------------------------------------------------------------------------------

Act = Callable[..., Response]


def _local(text: str, settings: Settings, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise actions.ActionRefused(f"Give the session's {what} as a date and a time.") from None
    return value if value.tzinfo else value.replace(tzinfo=settings.zone)


def _own_session(db: Session, case_id: int, session_id: int) -> MediationSession:
    item = db.get(MediationSession, session_id)
    if item is None or item.case_id != case_id:
        raise actions.ActionRefused("That session is not on this case.")
    return item


def router(settings: Settings, act: Act) -> APIRouter:
    """The session actions, run through the case page's `act` (the refusal and redirect it gives)."""
    r = APIRouter()
    calendar = WorkingDayCalendar(tz=settings.zone)

    def refusing(do: Callable[[Session, int, Staff], object]) -> Callable[[Session, int, Staff], None]:
        def run(db: Session, case_id: int, staff: Staff) -> None:
            try:
                do(db, case_id, staff)
            except (SessionRefused, CertificateRefused) as exc:
                raise actions.ActionRefused(for_coordinator(str(exc))) from None

        return run

    @r.post("/cases/{reference}/sessions")
    def book(
        request: Request,
        reference: str,
        start: str = Form(""),
        end: str = Form(""),
        mode: str = Form(""),
        venue: str = Form(""),
        dial_in: str = Form(""),
        link: str = Form(""),
        mediator: list[str] = Form(default=[]),
        notes: str = Form(""),
        short_notice_agreed: str = Form(""),
    ) -> Response:
        request.scope.setdefault("state", {})["session_form"] = {
            "start": start, "end": end, "mode": mode, "venue": venue, "dial_in": dial_in, "link": link,
            "mediators": set(mediator), "notes": notes, "short_notice_agreed": short_notice_agreed == "yes",
        }  # fmt: skip

        def do(db: Session, case_id: int, staff: Staff) -> None:
            case = db.get(Case, case_id)
            assert case is not None
            given = {"in_person": venue, "phone": dial_in, "video": link}
            book_session(
                db,
                case_reference=case.reference,
                start=_local(start, settings, "start"),
                end=_local(end, settings, "end"),
                mode=mode,
                mediator_ids=[int(m) for m in mediator if m.isdigit()],
                venue=given["in_person"].strip() or None if mode == "in_person" else None,
                dial_in=given["phone"].strip() or None if mode == "phone" else None,
                link=given["video"].strip() or None if mode == "video" else None,
                notes=notes.strip(),
                short_notice_agreed=short_notice_agreed == "yes",
                settings=settings,
                calendar=calendar,
                actor=staff.email,
            )

        return act(request, reference, refusing(do), "#sessions")

    @r.post("/cases/{reference}/sessions/{session_id}/reschedule")
    def move(
        request: Request,
        reference: str,
        session_id: int,
        start: str = Form(""),
        end: str = Form(""),
        short_notice_agreed: str = Form(""),
    ) -> Response:
        def do(db: Session, case_id: int, staff: Staff) -> None:
            _own_session(db, case_id, session_id)
            reschedule_session(
                db,
                session_id,
                start=_local(start, settings, "new start"),
                end=_local(end, settings, "new end"),
                short_notice_agreed=short_notice_agreed == "yes",
                settings=settings,
                calendar=calendar,
                actor=staff.email,
            )

        return act(request, reference, refusing(do), "#sessions")

    @r.post("/cases/{reference}/sessions/{session_id}/cancel")
    def cancel(request: Request, reference: str, session_id: int) -> Response:
        def do(db: Session, case_id: int, staff: Staff) -> None:
            _own_session(db, case_id, session_id)
            cancel_session(db, session_id, settings=settings, actor=staff.email)

        return act(request, reference, refusing(do), "#sessions")

    @r.post("/cases/{reference}/sessions/{session_id}/outcome")
    def outcome(request: Request, reference: str, session_id: int, outcome: str = Form("")) -> Response:
        def do(db: Session, case_id: int, staff: Staff) -> None:
            _own_session(db, case_id, session_id)
            record_outcome(db, session_id, outcome=outcome, settings=settings, actor=staff.email)

        return act(request, reference, refusing(do), "#sessions")

    @r.post("/cases/{reference}/certificate")
    def certificate(request: Request, reference: str) -> Response:
        def do(db: Session, case_id: int, staff: Staff) -> None:
            case = db.get(Case, case_id)
            assert case is not None
            issue_certificate(db, case.reference, settings=settings, calendar=calendar, actor=staff.email)

        return act(request, reference, refusing(do), "#deadlines")

    return r


def recording_router(engine: Any, settings: Settings, staff_of: Callable[[Request], Staff]) -> APIRouter:
    """A call's stored voicemail recording: audio/mpeg, as a download-safe response (sandboxed, never
    sniffed), read only through the case it belongs to; each listen audited."""
    r = APIRouter()

    @r.get("/cases/{reference}/calls/{call_id}/recording")
    def recording(request: Request, reference: str, call_id: int) -> Response:
        staff = staff_of(request)
        with session_scope(engine) as db:
            case_id = case_id_for_reference(db, reference)
            call = db.get(Call, call_id)
            if case_id is None or call is None or call.case_id != case_id or call.recording_state != REC_STORED:
                raise HTTPException(404, "No such recording on this case.")
            var_dir = Path(settings.var_dir).resolve()
            path = (var_dir / (call.recording_path or "")).resolve()
            if not path.is_relative_to(var_dir) or not path.is_file():
                raise HTTPException(404, "The recording is not stored.")
            data = path.read_bytes()
            audit(db, actor=staff.email, action="recording.played", entity="case", entity_id=case_id, call_id=call_id)
        headers = {
            "Content-Disposition": f'attachment; filename="voicemail-{call_id}.mp3"',
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
        }
        return Response(data, media_type="audio/mpeg", headers=headers)

    return r
