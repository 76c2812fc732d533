"""What the CLI's listings and the case pages read: one query layer, so `cases list`, `outbox list` and
the web pages show the same thing the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, func, or_, select
from sqlmodel import Session

from models.cases import Case, TimelineEvent
from models.contacts import Contact, ContactPoint, Party
from models.desk import CaseAttention
from models.mail import InboundMessage, QuarantineEntry, StoredAttachment
from models.outbox import OutboxMessage, Suppression
from models.rows import run, table
from models.staff import AuditEvent, StaffUser

CASE = table(Case)
TIMELINE = table(TimelineEvent)
INBOUND = table(InboundMessage)
ATTACHMENT = table(StoredAttachment)
OUTBOX = table(OutboxMessage)
SUPPRESSION = table(Suppression)
CONTACT = table(Contact)
POINT = table(ContactPoint)
PARTY = table(Party)
USER = table(StaffUser)
AUDIT = table(AuditEvent)
QUARANTINE = table(QuarantineEntry)
ATTENTION = table(CaseAttention)


# ---- the CLI's listings ------------------------------------------------------------------------------


def case_rows(session: Session) -> list[dict[str, Any]]:
    """Every case, newest first, with how many messages it has (`cases list`)."""
    per_case = dict(
        run(
            session,
            select(INBOUND.c.case_id, func.count()).where(INBOUND.c.case_id.is_not(None)).group_by(INBOUND.c.case_id),
        ).all()
    )
    rows = run(session, select(CASE).order_by(CASE.c.created_at.desc(), CASE.c.id.desc()))
    return [
        {
            "reference": r.reference,
            "status": r.status,
            "service": r.service,
            "local_authority": r.local_authority,
            "region": r.region,
            "referrer_email": r.referrer_email,
            "messages": per_case.get(r.id, 0),
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def outbox_rows(session: Session, *, case_id: int | None = None) -> list[dict[str, Any]]:
    """What we sent or will send, newest first (`outbox list`; a case page's own, with `case_id`)."""
    query = (
        select(OUTBOX, CASE.c.reference)
        .join(CASE, CASE.c.id == OUTBOX.c.case_id, isouter=True)
        .order_by(OUTBOX.c.created_at.desc(), OUTBOX.c.id.desc())
    )
    if case_id is not None:
        query = query.where(OUTBOX.c.case_id == case_id)
    return [
        {
            "id": r.id,
            "channel": r.channel,
            "to": r.to,
            "template": r.template,
            "status": r.status,
            "case_reference": r.reference,
            "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "due_at": r.due_at.isoformat(),
            "idempotency_key": r.idempotency_key,
        }
        for r in run(session, query)
    ]


# ---- one case ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class PointView:
    kind: str
    value: str
    undeliverable_reason: str | None
    suppressed_reason: str | None  # STOP, or undeliverable: nothing is sent to it on that channel


@dataclass(slots=True)
class PartyView:
    contact_id: int
    name: str
    organisation: str | None
    roles: list[str]
    points: list[PointView] = field(default_factory=list)


@dataclass(slots=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int


@dataclass(slots=True)
class EventView:
    id: int
    at: datetime
    kind: str
    summary: str
    actor: str
    inbound_id: int | None
    outbox_id: int | None
    data: dict[str, Any]
    subject: str | None = None
    sender: str | None = None
    attachments: list[AttachmentView] = field(default_factory=list)


@dataclass(slots=True)
class CaseView:
    id: int
    reference: str
    status: str
    service: str | None
    local_authority: str | None
    served: bool | None
    region: str | None
    coordinator_id: int | None
    coordinator_name: str | None
    referrer_email: str | None
    draft: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    attention: str | None
    parties: list[PartyView]
    timeline: list[EventView]
    outbox: list[dict[str, Any]]
    merged_from: list[str] = field(default_factory=list)  # references of cases merged into this one


def case_id_for_reference(session: Session, reference: str, *, follow_merge: bool = True) -> int | None:
    """The case a reference leads to: a merged case's leads to the case it was merged into, unless
    `follow_merge` is off (anonymising names exactly the case it means)."""
    wanted = reference.strip().upper()
    if not follow_merge:
        return run(session, select(CASE.c.id).where(CASE.c.reference == wanted)).scalar()
    return run(
        session, select(func.coalesce(CASE.c.merged_into_id, CASE.c.id)).where(CASE.c.reference == wanted)
    ).scalar()


def merged_into_reference(session: Session, reference: str) -> str | None:
    """The survivor's reference when this reference is a merged case's; None otherwise."""
    survivor = CASE.alias("survivor")
    return run(
        session,
        select(survivor.c.reference)
        .join(CASE, CASE.c.merged_into_id == survivor.c.id)
        .where(CASE.c.reference == reference.strip().upper()),
    ).scalar()


def case_view(session: Session, case_id: int) -> CaseView | None:
    row = run(
        session,
        select(CASE, USER.c.name.label("coordinator_name"), ATTENTION.c.reason.label("attention"))
        .join(USER, USER.c.id == CASE.c.coordinator_id, isouter=True)
        .join(ATTENTION, ATTENTION.c.case_id == CASE.c.id, isouter=True)
        .where(CASE.c.id == case_id),
    ).first()
    if row is None:
        return None
    m = row._mapping
    return CaseView(
        id=m["id"],
        reference=m["reference"],
        status=m["status"],
        service=m["service"],
        local_authority=m["local_authority"],
        served=m["served"],
        region=m["region"],
        coordinator_id=m["coordinator_id"],
        coordinator_name=m["coordinator_name"],
        referrer_email=m["referrer_email"],
        draft=dict(m["draft"] or {}),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        attention=m["attention"],
        parties=parties_of(session, case_id),
        timeline=timeline_of(session, case_id),
        outbox=outbox_rows(session, case_id=case_id),
        merged_from=list(
            run(session, select(CASE.c.reference).where(CASE.c.merged_into_id == case_id).order_by(CASE.c.id)).scalars()
        ),
    )


def parties_of(session: Session, case_id: int) -> list[PartyView]:
    rows = run(
        session,
        select(CONTACT.c.id, CONTACT.c.name, CONTACT.c.organisation, PARTY.c.role)
        .join(PARTY, PARTY.c.contact_id == CONTACT.c.id)
        .where(PARTY.c.case_id == case_id)
        .order_by(PARTY.c.id),
    )
    parties: dict[int, PartyView] = {}
    for contact_id, name, organisation, role in rows:
        party = parties.setdefault(contact_id, PartyView(contact_id, name or "(no name)", organisation, []))
        party.roles.append(role)
    if not parties:
        return []
    points = run(
        session,
        select(POINT.c.contact_id, POINT.c.kind, POINT.c.value, POINT.c.undeliverable_reason, SUPPRESSION.c.reason)
        .join(
            SUPPRESSION,
            (SUPPRESSION.c.value == POINT.c.value)
            & (SUPPRESSION.c.lifted_at.is_(None))
            # A number is suppressed for SMS (STOP), an address for email.
            & (SUPPRESSION.c.channel == case((POINT.c.kind == "phone", "sms"), else_=POINT.c.kind)),
            isouter=True,
        )
        .where(POINT.c.contact_id.in_(list(parties)))
        .order_by(POINT.c.id),
    )
    for contact_id, kind, value, undeliverable, suppressed in points:
        parties[contact_id].points.append(PointView(kind, value, undeliverable, suppressed))
    return list(parties.values())


def timeline_of(session: Session, case_id: int) -> list[EventView]:
    """Everything that happened on the case, newest first; messages with their subject, sender and
    attachments. Every kind of event is shown the same way (a channel's new kind needs no change here)."""
    rows = run(
        session,
        select(TIMELINE, INBOUND.c.subject, INBOUND.c.sender_email)
        .join(INBOUND, INBOUND.c.id == TIMELINE.c.inbound_message_id, isouter=True)
        .where(TIMELINE.c.case_id == case_id)
        .order_by(TIMELINE.c.at.desc(), TIMELINE.c.id.desc()),
    )
    events = [
        EventView(
            r.id,
            r.at,
            r.kind,
            r.summary,
            r.actor,
            r.inbound_message_id,
            r.outbox_id,
            dict(r.data or {}),
            r.subject,
            r.sender_email,
        )
        for r in rows
    ]
    inbound_ids = [e.inbound_id for e in events if e.inbound_id is not None]
    if inbound_ids:
        by_message: dict[int, list[AttachmentView]] = {}
        for a in run(
            session,
            select(
                ATTACHMENT.c.id,
                ATTACHMENT.c.inbound_message_id,
                ATTACHMENT.c.filename,
                ATTACHMENT.c.content_type,
                ATTACHMENT.c.size,
            )
            .where(ATTACHMENT.c.inbound_message_id.in_(inbound_ids))
            .order_by(ATTACHMENT.c.id),
        ):
            by_message.setdefault(a.inbound_message_id, []).append(
                AttachmentView(a.id, a.filename or f"attachment-{a.id}", a.content_type, a.size)
            )
        for event in events:
            if event.inbound_id is not None:
                event.attachments = by_message.get(event.inbound_id, [])
    return events


def attachment_of_case(session: Session, case_id: int, attachment_id: int) -> StoredAttachment | None:
    """The attachment, only if its message is on this case (a case's page never serves another's file)."""
    row = session.get(StoredAttachment, attachment_id)
    if row is None:
        return None
    message_case = run(session, select(INBOUND.c.case_id).where(INBOUND.c.id == row.inbound_message_id)).scalar()
    return row if message_case == case_id else None


# ---- filtered mail -----------------------------------------------------------------------------------

FILTERED_PAGE_SIZE = 50


@dataclass(slots=True)
class FilteredMessage:
    id: int
    received_at: datetime
    sender: str | None
    subject: str | None
    status: str
    outcome: str | None
    automated: str | None
    rules: list[str]
    reasons: list[str]
    case_id: int | None
    reference: str | None
    quarantine_reason: str | None


def filtered_mail(session: Session, *, q: str = "", page: int = 1) -> tuple[list[FilteredMessage], int]:
    """Mail that was not answered or not opened as a case, newest first: machine mail, bounces,
    quarantine, mail left unplaced, and mail whose acknowledgement was held back (throttled, too old,
    unverified). With the rule names and reasons that decided it. Returns one page and the total."""
    held_back = cast(INBOUND.c.reasons, String).like("%no acknowledgement%")
    where = or_(
        INBOUND.c.status == "quarantined",
        INBOUND.c.outcome.in_(("automated", "bounce", "triage")),
        held_back,
    )
    query = (
        select(
            INBOUND.c.id,
            INBOUND.c.received_at,
            INBOUND.c.sender_email,
            INBOUND.c.subject,
            INBOUND.c.status,
            INBOUND.c.outcome,
            INBOUND.c.automated,
            INBOUND.c.rules,
            INBOUND.c.reasons,
            INBOUND.c.case_id,
            CASE.c.reference,
            QUARANTINE.c.reason.label("quarantine_reason"),
        )
        .join(CASE, CASE.c.id == INBOUND.c.case_id, isouter=True)
        .join(QUARANTINE, QUARANTINE.c.inbound_message_id == INBOUND.c.id, isouter=True)
        .where(where)
    )
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            or_(func.lower(INBOUND.c.sender_email).like(like), func.lower(INBOUND.c.subject).like(like))
        )
    total = run(session, select(func.count()).select_from(query.subquery())).scalar_one()
    rows = run(
        session,
        query.order_by(INBOUND.c.received_at.desc(), INBOUND.c.id.desc())
        .limit(FILTERED_PAGE_SIZE)
        .offset((max(1, page) - 1) * FILTERED_PAGE_SIZE),
    )
    return [FilteredMessage(*row) for row in rows], int(total)


# ---- the audit trail -----------------------------------------------------------------------------------


def audit_rows(
    session: Session, *, entity: str | None = None, entity_id: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    query = select(AUDIT).order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc()).limit(limit)
    if entity:
        query = query.where(AUDIT.c.entity == entity)
    if entity_id:
        query = query.where(AUDIT.c.entity_id == entity_id)
    return [dict(r._mapping) for r in run(session, query)]
