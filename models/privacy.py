"""Data protection: everything held about one person (a subject access request, as JSON), erasing a
closed case's personal data, and the retention job that does it MDESK_RETENTION_YEARS after closing.

Anonymising keeps what the service must count (the case, its reference, status, service, LA and
dates: the reports) and removes who and what was said: the referral's fields, message bodies and
attachments, what we sent, the notes, and the people, unless they are party to another case.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from models.case_ops import audit
from models.case_status import CLOSED
from models.cases import Case, InboxItem, TimelineEvent
from models.contacts import Contact, ContactPoint, Party
from models.desk import CaseAttention
from models.mail import InboundMessage, QuarantineEntry, StoredAttachment
from models.outbox import OutboxMessage, Suppression
from models.raw_mail import delete_raw, load_raw
from models.rows import run, table
from models.types import utcnow

CASE = table(Case)
TIMELINE = table(TimelineEvent)
ITEM = table(InboxItem)
CONTACT = table(Contact)
POINT = table(ContactPoint)
PARTY = table(Party)
INBOUND = table(InboundMessage)
ATTACHMENT = table(StoredAttachment)
QUARANTINE = table(QuarantineEntry)
OUTBOX = table(OutboxMessage)
SUPPRESSION = table(Suppression)
ATTENTION = table(CaseAttention)
REMOVED = "(removed)"


class PrivacyRefused(ValueError):
    pass


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _rows(session: Session, query: Any) -> list[dict[str, Any]]:
    return [{k: _iso(v) for k, v in row._mapping.items()} for row in run(session, query)]


def _with_raw(session: Session, message: dict[str, Any]) -> dict[str, Any]:
    """A received message's row (its id) for the export: its fields and its text as it came."""
    raw = load_raw(session, message.pop("id"))
    return {**message, "raw": raw.decode("utf-8", "replace") if raw else None}


def person_export(session: Session, *, email: str | None = None, contact_id: int | None = None) -> dict[str, Any]:
    """All we hold about one person, found by their address or their contact record."""
    if contact_id is None and email:
        contact_id = run(
            session, select(POINT.c.contact_id).where(POINT.c.kind == "email", POINT.c.value == email.strip().lower())
        ).scalar()
    if contact_id is None:
        raise PrivacyRefused("No person with that address or contact.")
    points = _rows(
        session,
        select(POINT.c.kind, POINT.c.value, POINT.c.undeliverable_reason, POINT.c.created_at).where(
            POINT.c.contact_id == contact_id
        ),
    )
    addresses = [p["value"] for p in points]
    case_ids = [r[0] for r in run(session, select(PARTY.c.case_id).where(PARTY.c.contact_id == contact_id).distinct())]
    return {
        "exported_at": utcnow().isoformat(),
        "contact": _rows(session, select(CONTACT).where(CONTACT.c.id == contact_id))[0],
        "contact_points": points,
        "cases": _rows(
            session,
            select(
                CASE.c.reference,
                CASE.c.status,
                CASE.c.service,
                CASE.c.local_authority,
                CASE.c.draft,
                CASE.c.created_at,
                PARTY.c.role,
            )
            .join(PARTY, PARTY.c.case_id == CASE.c.id)
            .where(PARTY.c.contact_id == contact_id),
        ),
        "timeline": _rows(
            session,
            select(CASE.c.reference, TIMELINE.c.at, TIMELINE.c.kind, TIMELINE.c.summary, TIMELINE.c.actor)
            .join(CASE, CASE.c.id == TIMELINE.c.case_id)
            .where(TIMELINE.c.case_id.in_(case_ids))
            .order_by(TIMELINE.c.at),
        ),
        "messages_received_from": [
            _with_raw(session, m)
            for m in _rows(
                session,
                select(INBOUND.c.id, INBOUND.c.received_at, INBOUND.c.subject, INBOUND.c.sender_email).where(
                    func.lower(INBOUND.c.sender_email).in_(addresses)
                ),
            )
        ],
        "messages_sent_to": _rows(
            session,
            select(
                OUTBOX.c.created_at,
                OUTBOX.c.channel,
                OUTBOX.c.to,
                OUTBOX.c.template,
                OUTBOX.c.context,
                OUTBOX.c.status,
                OUTBOX.c.sent_at,
            ).where(OUTBOX.c.to.in_(addresses)),
        ),
        "suppressions": _rows(
            session,
            select(SUPPRESSION.c.channel, SUPPRESSION.c.value, SUPPRESSION.c.reason, SUPPRESSION.c.created_at).where(
                SUPPRESSION.c.value.in_(addresses)
            ),
        ),
    }


def anonymise_case(session: Session, case_id: int, *, actor: str) -> None:
    """Remove a closed case's personal data (see the module's docstring). Refused unless closed."""
    status, draft = run(session, select(CASE.c.status, CASE.c.draft).where(CASE.c.id == case_id)).one()
    if status != CLOSED:
        raise PrivacyRefused("Only a closed case can be anonymised.")
    if (draft or {}).get("anonymised_at"):
        return
    now = utcnow()
    messages = [r[0] for r in run(session, select(INBOUND.c.id).where(INBOUND.c.case_id == case_id))]
    run(
        session,
        update(CASE)
        .where(CASE.c.id == case_id)
        .values(draft={"anonymised_at": now.isoformat()}, referrer_email=None, updated_at=now),
    )
    run(session, update(TIMELINE).where(TIMELINE.c.case_id == case_id).values(summary=REMOVED, data={}))
    if messages:
        run(session, delete(ATTACHMENT).where(ATTACHMENT.c.inbound_message_id.in_(messages)))
        run(
            session,
            update(INBOUND).where(INBOUND.c.id.in_(messages)).values(subject=None, sender_email=None, reasons=[]),
        )
        delete_raw(session, messages)
        run(session, update(QUARANTINE).where(QUARANTINE.c.inbound_message_id.in_(messages)).values(detail="", data={}))
    run(session, update(OUTBOX).where(OUTBOX.c.case_id == case_id).values(context={}, to=REMOVED, last_error=None))
    run(session, update(ITEM).where(ITEM.c.case_id == case_id).values(summary=REMOVED, status="done", closed_at=now))
    run(session, delete(ATTENTION).where(ATTENTION.c.case_id == case_id))
    contacts = [r[0] for r in run(session, select(PARTY.c.contact_id).where(PARTY.c.case_id == case_id).distinct())]
    run(session, delete(PARTY).where(PARTY.c.case_id == case_id))
    for contact_id in contacts:
        if run(session, select(PARTY.c.id).where(PARTY.c.contact_id == contact_id).limit(1)).first() is None:
            run(session, delete(POINT).where(POINT.c.contact_id == contact_id))
            run(session, update(CONTACT).where(CONTACT.c.id == contact_id).values(name="", organisation=None))
    audit(session, actor=actor, action="case.anonymised", entity="case", entity_id=case_id)


def retention_due(session: Session, *, years: int, now: datetime | None = None) -> list[int]:
    """Closed cases untouched for `years` years (a closed case changes no more), not yet anonymised."""
    cutoff = (now or utcnow()) - timedelta(days=365.25 * years)
    rows = run(session, select(CASE.c.id, CASE.c.draft).where(CASE.c.status == CLOSED, CASE.c.updated_at < cutoff))
    return [case_id for case_id, draft in rows if not (draft or {}).get("anonymised_at")]


def run_retention(session: Session, *, years: int, now: datetime | None = None) -> int:
    due = retention_due(session, years=years, now=now)
    for case_id in due:
        anonymise_case(session, case_id, actor="system:retention")
    return len(due)
