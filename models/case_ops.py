"""Operations on cases, called by intake, the web app and the CLI inside the caller's transaction.

Each change writes its timeline event (what a coordinator sees on the case) and, where a person or
the system changed something, an audit event (who did what, for data protection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.cases import Case, InboxItem, TimelineEvent
from models.contacts import Contact, ContactPoint, Party
from models.deadline_marks import deadlines_moved
from models.outbox import channel_label
from models.outbox_ops import suppress
from models.references import new_reference
from models.rows import insert_later, insert_row, insert_rows, run, table
from models.staff import AuditEvent
from models.types import utcnow

CASE = table(Case)
CONTACT = table(Contact)
POINT = table(ContactPoint)
PARTY = table(Party)

# Built once, executed with parameters (models/rows.py says why).
# A new case, or nothing when its reference is taken (no row back): no savepoint needed to retry.
_NEW_CASE: dict[str, Insert] = {
    "sqlite": sqlite.insert(CASE).on_conflict_do_nothing(index_elements=["reference"]).returning(CASE.c.id),
    "postgresql": postgresql.insert(CASE).on_conflict_do_nothing(index_elements=["reference"]).returning(CASE.c.id),
}
_TOUCH_CASE = (
    update(CASE)
    .where(CASE.c.id == bindparam("case_id"))
    .values(updated_at=bindparam("now", type_=CASE.c.updated_at.type))
    .returning(CASE.c.reference)
)
_POINT_OWNERS = (
    select(POINT.c.kind, POINT.c.contact_id)
    .where(
        or_(
            and_(POINT.c.kind == "email", POINT.c.value == bindparam("email")),
            and_(POINT.c.kind == "phone", POINT.c.value == bindparam("phone")),
        )
    )
    .order_by(POINT.c.contact_id)
)
_NAME_IF_NONE = (
    update(CONTACT)
    .where(CONTACT.c.id == bindparam("contact_id"), CONTACT.c.name == "")
    .values(name=bindparam("new_name"))
)
_PARTY = select(PARTY.c.id).where(
    PARTY.c.case_id == bindparam("case_id"),
    PARTY.c.contact_id == bindparam("contact_id"),
    PARTY.c.role == bindparam("role"),
)
_CASES_OF_EMAIL = (
    select(PARTY.c.case_id)
    .join(POINT, POINT.c.contact_id == PARTY.c.contact_id)
    .where(POINT.c.kind == "email", POINT.c.value == bindparam("email"))
    .distinct()
)
# Cases opened for an address since a time, first first, with the child the referral named.
# A case merged into another answers as that one (models/case_merge.py).
_RECENT_CASES_OF = (
    select(func.coalesce(CASE.c.merged_into_id, CASE.c.id), CASE.c.draft["child_name"].as_string())
    .where(
        CASE.c.referrer_email == bindparam("email"),
        CASE.c.created_at >= bindparam("since", type_=CASE.c.created_at.type),
    )
    .order_by(CASE.c.created_at, CASE.c.id)
)
_UNDELIVERABLE = (
    update(POINT)
    .where(
        POINT.c.kind == bindparam("point_kind"),
        POINT.c.value == bindparam("address"),
        POINT.c.undeliverable_at.is_(None),
    )
    .values(
        undeliverable_at=bindparam("now", type_=POINT.c.undeliverable_at.type),
        undeliverable_reason=bindparam("reason"),
    )
)


@dataclass(frozen=True, slots=True)
class NewCase:
    """A case as written by `open_case`: what its callers read of it (load `Case` for the rest)."""

    id: int
    reference: str
    service: str | None
    local_authority: str | None
    served: bool | None
    region: str | None
    referrer_email: str | None


@dataclass(frozen=True, slots=True)
class ContactRef:
    id: int


def audit(session: Session, *, actor: str, action: str, entity: str, entity_id: Any, **detail: Any) -> None:
    """An audit event, written with the others of intake's batch (models/rows.py `insert_later`), else at once."""
    row = {"at": utcnow(), "actor": actor, "action": action, "entity": entity, "entity_id": str(entity_id)}
    # Only the system's own fixed text in intake: nothing the database could refuse for one message.
    insert_later(session, AuditEvent, {**row, "detail": detail}, until_commit=True)


def add_timeline(session: Session, case_id: int, kind: str, summary: str, **fields: Any) -> None:
    """The one way an event reaches a case's timeline, for every writer (intake, outbox, web, CLI).

    A row (models/rows.py), written at once, or in intake with the message's other events when its
    steps end (`insert_later`): what it names (case, message, outbox row) must exist by then. Every
    row has every key, so the events of a message are one statement, in order."""
    row = {"at": utcnow(), "actor": "system", "inbound_message_id": None, "outbox_id": None, "data": {}}
    insert_later(session, TimelineEvent, {**row, "case_id": case_id, "kind": kind, "summary": summary, **fields})


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
) -> NewCase:
    """A new case with a fresh reference; a (rare) reference collision inserts nothing and is retried."""
    now = utcnow()
    email = referrer_email.lower() if referrer_email else None
    for _ in range(20):
        reference = new_reference(now)
        row = {
            "reference": reference,
            "service": service,
            "local_authority": local_authority,
            "served": served,
            "region": region,
            "referrer_email": email,
            "draft": draft,
            "related_case_id": related_case_id,
            "created_at": now,
            "updated_at": now,
        }
        case_id = run(session, _NEW_CASE[session.get_bind().dialect.name], row).scalar()
        if case_id is None:
            continue
        audit(session, actor=actor, action="case.opened", entity="case", entity_id=case_id)
        deadlines_moved(session, case_id)
        return NewCase(case_id, reference, service, local_authority, served, region, email)
    raise RuntimeError("could not find a free case reference")


def touch_case(session: Session, case_id: int) -> str | None:
    """Something happened on the case now: its updated_at moves; returns its reference (None: no case)."""
    return run(session, _TOUCH_CASE, {"case_id": case_id, "now": utcnow()}).scalar()


def ensure_contact(
    session: Session, *, email: str | None = None, phone: str | None = None, name: str = ""
) -> ContactRef:
    """The contact this email address (or, without one, this number) belongs to, created when new;
    the number becomes one of its points. A number is never enough to join someone to another
    contact when they gave an address of their own, nor when several contacts share it
    (models/contacts.py says why)."""
    email = email.lower() if email else None
    owners = _point_owners(session, email, phone)
    email_owner = owners.get("email", [None])[0]
    phone_owners = owners.get("phone", [])
    sole_phone_owner = phone_owners[0] if len(phone_owners) == 1 else None
    owner = email_owner if email else sole_phone_owner
    if owner is None:
        contact_id = insert_row(session, Contact, {"name": name or ""})
    else:
        contact_id = owner
        if name:  # a name only where the contact has none yet
            run(session, _NAME_IF_NONE, {"contact_id": owner, "new_name": name})
    missing = []
    if email and email_owner is None:
        missing.append(("email", email))
    if phone and contact_id not in phone_owners:
        missing.append(("phone", phone))
    insert_rows(session, ContactPoint, [{"contact_id": contact_id, "kind": k, "value": v} for k, v in missing])
    return ContactRef(contact_id)


def _point_owners(session: Session, email: str | None, phone: str | None) -> dict[str, list[int]]:
    """The contacts owning this address and this number (kind -> contact ids), in one query."""
    if not email and not phone:
        return {}
    owners: dict[str, list[int]] = {}
    for kind, contact_id in run(session, _POINT_OWNERS, {"email": email, "phone": phone}):
        owners.setdefault(kind, []).append(contact_id)
    return owners


def add_party(session: Session, case_id: int, contact: Contact | ContactRef, role: str) -> int:
    """The contact's party in this role on the case, added unless it is there; its id."""
    params = {"case_id": case_id, "contact_id": contact.id, "role": role}
    existing = run(session, _PARTY, params).scalar()
    return existing if existing is not None else insert_row(session, Party, params)


def add_parties_to_new_case(
    session: Session, case_id: int, contact: Contact | ContactRef, roles: Sequence[str]
) -> None:
    """For a case opened in this transaction: it has no parties yet, so nothing to look up first."""
    rows = [{"case_id": case_id, "contact_id": contact.id, "role": role} for role in dict.fromkeys(roles)]
    insert_rows(session, Party, rows)


def case_ids_for_email(session: Session, email: str) -> list[int]:
    """Cases on which this address belongs to a party."""
    return list(run(session, _CASES_OF_EMAIL, {"email": email.lower()}).scalars())


def recent_cases_of(session: Session, email: str, since: datetime) -> list[tuple[int, str | None]]:
    """Cases opened for this referrer address since then, oldest first: (id, child's name or None)."""
    return [
        (case_id, child) for case_id, child in run(session, _RECENT_CASES_OF, {"email": email.lower(), "since": since})
    ]


# The kind of contact point each outbox channel writes to.
_POINT_KIND = {"email": "email", "sms": "phone"}


def mark_undeliverable(
    session: Session, address: str, reason: str, case_id: int | None, *, channel: str = "email"
) -> None:
    """A bounce (or a provider saying the number does not exist): the address is not written to
    again on that channel, and the case shows why."""
    address = address.lower()
    kind = _POINT_KIND.get(channel, channel)
    run(session, _UNDELIVERABLE, {"point_kind": kind, "address": address, "now": utcnow(), "reason": reason[:500]})
    suppress(session, channel, address, f"undeliverable: {reason[:200]}")
    if case_id is not None:
        summary = f"{channel_label(channel)} to {address} could not be delivered: {reason[:300]}"
        add_timeline(session, case_id, "bounce", summary)


def open_inbox_item(session: Session, *, kind: str, summary: str, office: str | None = None, **links: Any) -> int:
    """A new item for a coordinator; returns its id."""
    return insert_row(session, InboxItem, {"kind": kind, "summary": summary, "office": office, **links})
