"""Sessions, mediators and deadlines as plain dicts: what the CLI's --json and the JSON API print, one shape
for both. Times are ISO 8601 in the service's time zone (with their offset), as a coordinator reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.cases import Case
from models.outbox import OutboxMessage
from models.sessions import MediationSession, Mediator, SessionAttendee, SessionMediator


def local_iso(when: datetime | None, zone: ZoneInfo) -> str | None:
    return when.astimezone(zone).isoformat() if when else None


def mediator_view(mediator: Mediator, *, with_token: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": mediator.id,
        "name": mediator.name,
        "mobile": mediator.mobile,
        "email": mediator.email,
        "regions": mediator.regions,
        "active": mediator.active,
    }
    if with_token:  # the feed address is a secret: shown to whoever added the mediator, not in lists
        view["calendar_path"] = f"/calendar/{mediator.calendar_token}.ics"
    return view


def reminder_rows(db: Session, session_id: int) -> list[OutboxMessage]:
    prefix = f"reminder:s{session_id}:"
    return list(
        db.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.idempotency_key).startswith(prefix, autoescape=True))
            .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
        ).all()
    )


def session_view(db: Session, item: MediationSession, zone: ZoneInfo, *, warnings: list[str] | None = None) -> dict:
    case = db.get(Case, item.case_id)
    mediators = db.exec(
        select(SessionMediator.mediator_id)
        .where(SessionMediator.session_id == item.id)
        .order_by(col(SessionMediator.mediator_id))
    ).all()
    attendees = db.exec(select(SessionAttendee).where(SessionAttendee.session_id == item.id)).all()
    assert item.id is not None
    current = f"reminder:s{item.id}:v{item.sequence}:"  # this version's reminders, not the withdrawn ones
    reminders = [
        {
            "id": row.id,
            "to": row.to,
            "offset": row.context.get("offset"),
            "due_at": local_iso(row.due_at, zone),
            "status": row.status,
            "idempotency_key": row.idempotency_key,
        }
        for row in reminder_rows(db, item.id)
        if row.template == "session_reminder" and row.idempotency_key.startswith(current)
    ]
    return {
        "id": item.id,
        "case_reference": case.reference if case else None,
        "start": local_iso(item.start_at, zone),
        "end": local_iso(item.end_at, zone),
        "mode": item.mode,
        "venue": item.venue,
        "dial_in": item.dial_in,
        "link": item.link,
        "mediators": list(mediators),
        "attendees": [{"contact_id": a.contact_id, "role": a.role, "name": a.name} for a in attendees],
        "status": item.status,
        "outcome": item.outcome,
        "sequence": item.sequence,
        "short_notice_agreed": item.short_notice_agreed,
        "notes": item.notes,
        "reminders": reminders,
        "warnings": warnings or [],
    }
