"""A coordinator's "this should have been a case": a filtered message (machine mail by mistake, left
unplaced, quarantined) opened as a case, with the acknowledgement it missed.

The message is read again by the one reading function (a fix since may read it better), the case is
opened as intake opens one, and the acknowledgement goes through the same rules (inbox/acknowledge.py):
its key is the case's, so it is queued once. Where those rules still refuse (an address we must not
write to), the case's timeline says why. The message's quarantine entry and open inbox items are closed.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session

from inbox.acknowledge import acknowledge
from inbox.extract import extract_referral
from inbox.parse import parse_message
from inbox.understand import understand
from models.case_ops import NewCase, add_parties_to_new_case, add_timeline, audit, ensure_contact, open_case
from models.cases import InboxItem
from models.mail import InboundMessage, QuarantineEntry
from models.raw_mail import load_raw
from models.rows import run, table
from models.settings import Settings
from models.types import utcnow

INBOUND = table(InboundMessage)
QUARANTINE = table(QuarantineEntry)
ITEM = table(InboxItem)


class CannotPromote(ValueError):
    pass


def open_case_from_message(session: Session, settings: Settings, inbound_id: int, *, actor: str) -> NewCase:
    row = run(session, select(INBOUND.c.case_id, INBOUND.c.outcome).where(INBOUND.c.id == inbound_id)).first()
    raw = load_raw(session, inbound_id) if row is not None else None
    if row is None or raw is None:
        raise CannotPromote("No such message.")
    if row.outcome == "new_case" and row.case_id is not None:
        raise CannotPromote("This message already opened a case.")
    reading = understand(raw, own_addresses=settings.own_addresses)
    parsed, referral = reading.parsed, reading.referral
    if referral is None:  # read as machine mail: extracted now, as it would have been for a person's
        parsed = parse_message(raw)
        referral = extract_referral(parsed, own_addresses=settings.own_addresses)
    sender = parsed.sender
    if sender is None or "@" not in sender.email:
        raise CannotPromote("The message has no sender address: there is nobody to open a case for.")
    if referral is None:
        raise CannotPromote("The message could not be read as a referral.")
    email = sender.email.lower()
    case = open_case(
        session,
        service=referral.service,
        local_authority=referral.local_authority,
        served=referral.served,
        region=referral.region,
        referrer_email=email,
        draft=referral.to_dict(),
        actor=actor,
    )
    contact = ensure_contact(
        session, email=email, phone=referral.contact_phone, name=referral.referrer_name or sender.name
    )
    add_parties_to_new_case(
        session, case.id, contact, ["referrer", *([referral.referrer_role] if referral.referrer_role else [])]
    )
    add_timeline(
        session,
        case.id,
        "message_in",
        f"Case opened by a coordinator from filtered email: {parsed.subject[:200]}",
        actor=actor,
        inbound_message_id=inbound_id,
    )
    reason = acknowledge(session, settings, case, parsed, referral, inbound_id)
    now = utcnow()
    run(
        session,
        update(INBOUND)
        .where(INBOUND.c.id == inbound_id)
        .values(case_id=case.id, outcome="new_case", status="processed", processed_at=now),
    )
    run(
        session,
        update(QUARANTINE)
        .where(QUARANTINE.c.inbound_message_id == inbound_id, QUARANTINE.c.resolved_at.is_(None))
        .values(resolved_at=now),
    )
    run(
        session,
        update(ITEM)
        .where(ITEM.c.inbound_message_id == inbound_id, ITEM.c.status == "open")
        .values(status="done", closed_at=now),
    )
    audit(
        session,
        actor=actor,
        action="message.opened_as_case",
        entity="message",
        entity_id=inbound_id,
        case_id=case.id,
        acknowledgement=reason,
    )
    return case
