"""Operations on cases, called by intake, the web app and the CLI inside the caller's transaction.

Each change writes its timeline event (what a coordinator sees on the case) and, where a person or
the system changed something, an audit event (who did what, for data protection).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.cases import Case, InboxItem, TimelineEvent
from models.contacts import Contact, ContactPoint, Party
from models.outbox_ops import suppress
from models.references import new_reference
from models.rows import insert_rows
from models.staff import AuditEvent
from models.types import utcnow


def audit(session: Session, *, actor: str, action: str, entity: str, entity_id: Any, **detail: Any) -> None:
    row = {"actor": actor, "action": action, "entity": entity, "entity_id": str(entity_id), "detail": detail}
    insert_rows(session, AuditEvent, [row])


def add_timeline(session: Session, case_id: int, kind: str, summary: str, **fields: Any) -> None:
    """Written at once as a row (models/rows.py): what it names (case, message, outbox row) must exist."""
    insert_rows(session, TimelineEvent, [{"case_id": case_id, "kind": kind, "summary": summary, **fields}])


def open_case(
    session: Session,
    *,
    service: str | None,
    local_authority: str | None,
    served: bool | None,
    region: str | None,
    referrer_email: str | None,
    draft: dict[str, Any],
    related_case_id: int | None = None,
    actor: str = "system",
) -> Case:
    """A new case with a fresh reference; retries the (rare) reference collision in a savepoint."""
    now = utcnow()
    for _ in range(20):
        case = Case(
            reference=new_reference(now),
            service=service,
            local_authority=local_authority,
            served=served,
            region=region,
            referrer_email=referrer_email.lower() if referrer_email else None,
            draft=draft,
            related_case_id=related_case_id,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(case)
                session.flush()
        except IntegrityError:
            continue
        audit(session, actor=actor, action="case.opened", entity="case", entity_id=case.id)
        return case
    raise RuntimeError("could not find a free case reference")


def find_contact(session: Session, kind: str, value: str) -> Contact | None:
    point = session.exec(
        select(ContactPoint).where(ContactPoint.kind == kind, ContactPoint.value == value)
    ).first()
    return session.get(Contact, point.contact_id) if point else None


def ensure_contact(
    session: Session, *, email: str | None = None, phone: str | None = None, name: str = ""
) -> Contact:
    """The contact owning this email address (or number), created with both points when new."""
    email = email.lower() if email else None
    wanted = {kind: value for kind, value in (("email", email), ("phone", phone)) if value}
    known = _contact_points(session, wanted)
    owner = known.get("email") or known.get("phone")
    contact = session.get(Contact, owner.contact_id) if owner else None
    if contact is None:
        contact = Contact(name=name or "")
        session.add(contact)
        session.flush()
    elif name and not contact.name:
        contact.name = name
    missing = [(kind, value) for kind, value in wanted.items() if kind not in known]
    insert_rows(session, ContactPoint, [{"contact_id": contact.id, "kind": k, "value": v} for k, v in missing])
    return contact


def _contact_points(session: Session, wanted: dict[str, str]) -> dict[str, ContactPoint]:
    """The points already stored among these (kind -> value), in one query."""
    if not wanted:
        return {}
    points = session.exec(
        select(ContactPoint).where(
            or_(*(and_(ContactPoint.kind == kind, ContactPoint.value == value) for kind, value in wanted.items()))
        )
    ).all()
    return {point.kind: point for point in points}


def add_party(session: Session, case_id: int, contact: Contact, role: str) -> Party:
    existing = session.exec(
        select(Party).where(Party.case_id == case_id, Party.contact_id == contact.id, Party.role == role)
    ).first()
    if existing:
        return existing
    party = Party(case_id=case_id, contact_id=contact.id, role=role)
    session.add(party)
    session.flush()
    return party


def add_parties_to_new_case(session: Session, case_id: int, contact: Contact, roles: Sequence[str]) -> None:
    """For a case opened in this transaction: it has no parties yet, so nothing to look up first."""
    rows = [{"case_id": case_id, "contact_id": contact.id, "role": role} for role in dict.fromkeys(roles)]
    insert_rows(session, Party, rows)


def case_ids_for_email(session: Session, email: str) -> list[int]:
    """Cases on which this address belongs to a party."""
    rows = session.exec(
        select(Party.case_id)
        .join(ContactPoint, ContactPoint.contact_id == Party.contact_id)
        .where(ContactPoint.kind == "email", ContactPoint.value == email.lower())
        .distinct()
    ).all()
    return list(rows)


def mark_undeliverable(session: Session, address: str, reason: str, case_id: int | None) -> None:
    """A bounce: the address is not written to again, and the case shows why."""
    address = address.lower()
    point = session.exec(
        select(ContactPoint).where(ContactPoint.kind == "email", ContactPoint.value == address)
    ).first()
    if point is not None and point.undeliverable_at is None:
        point.undeliverable_at = utcnow()
        point.undeliverable_reason = reason[:500]
    suppress(session, "email", address, f"undeliverable: {reason[:200]}")
    if case_id is not None:
        add_timeline(session, case_id, "bounce", f"Email to {address} could not be delivered: {reason[:300]}")


def open_inbox_item(
    session: Session, *, kind: str, summary: str, office: str | None = None, **links: Any
) -> InboxItem:
    item = InboxItem(kind=kind, summary=summary, office=office, **links)
    session.add(item)
    session.flush()
    return item
