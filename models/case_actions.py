"""What a coordinator does on a case, each in the caller's transaction: a timeline event for the case
and an audit event for data protection (who, what, before and after)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

from models.case_ops import add_timeline, audit, touch_case
from models.case_status import CLOSED, IN_PROGRESS, TRANSITIONS, can_move
from models.cases import Case, InboxItem
from models.deadline_marks import deadlines_moved
from models.desk import CaseAttention
from models.mail import InboundMessage
from models.outbox_ops import enqueue_id, make_message_id
from models.rows import insert_rows, run, table
from models.staff import StaffUser
from models.types import utcnow

CASE = table(Case)
ATTENTION = table(CaseAttention)
ITEM = table(InboxItem)
INBOUND = table(InboundMessage)
USER = table(StaffUser)

# Fields a coordinator may correct, with the case column each also sets (None: the referral only).
EDITABLE_FIELDS: dict[str, str | None] = {
    "service": "service",
    "local_authority": "local_authority",
    "child_name": None,
    "referrer_name": None,
    "contact_phone": None,
    "school": None,
    "ehcp_stage": None,
}
FIELD_LABELS = {
    "service": "Service",
    "local_authority": "Local authority",
    "child_name": "Child's name",
    "referrer_name": "Referrer's name",
    "contact_phone": "Contact phone",
    "school": "School",
    "ehcp_stage": "EHC plan stage",
}
REPLY_TEMPLATES = {"coordinator_reply": "Reply", "request_details": "Ask for missing details"}


class ActionRefused(ValueError):
    """The action cannot be done, said so a coordinator understands why."""


def status_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


def note(session: Session, case_id: int, actor: str, text: str) -> None:
    text = text.strip()
    if not text:
        raise ActionRefused("The note is empty.")
    add_timeline(session, case_id, "note", text[:5000], actor=actor)
    audit(session, actor=actor, action="case.note_added", entity="case", entity_id=case_id)
    touch_case(session, case_id)


def change_status(session: Session, case_id: int, actor: str, target: str) -> None:
    """Along an allowed transition (models/case_status.py); reopening a closed case goes back to in
    progress, the one move not in the table, audited as such."""
    current = run(session, select(CASE.c.status).where(CASE.c.id == case_id)).scalar_one()
    reopening = current == CLOSED and target == IN_PROGRESS
    if not reopening and not can_move(current, target):
        allowed = ", ".join(status_label(s) for s in sorted(TRANSITIONS.get(current, ()))) or "none"
        raise ActionRefused(
            f"A case in {status_label(current)} cannot move to {status_label(target)} (allowed: {allowed})."
        )
    run(session, update(CASE).where(CASE.c.id == case_id).values(status=target, updated_at=utcnow()))
    deadlines_moved(session, case_id)  # closed: none kept; reopened: counted again
    verb = "Reopened" if reopening else f"Status: {status_label(current)} → {status_label(target)}"
    add_timeline(session, case_id, "status", verb, actor=actor, data={"from": current, "to": target})
    audit(
        session,
        actor=actor,
        action="case.reopened" if reopening else "case.status_changed",
        entity="case",
        entity_id=case_id,
        before=current,
        after=target,
    )


def assign(session: Session, case_id: int, actor: str, coordinator_id: int | None) -> None:
    before = run(session, select(CASE.c.coordinator_id).where(CASE.c.id == case_id)).scalar_one()
    name = None
    if coordinator_id is not None:
        name = run(session, select(USER.c.name).where(USER.c.id == coordinator_id, USER.c.active.is_(True))).scalar()
        if name is None:
            raise ActionRefused("No such coordinator.")
    run(session, update(CASE).where(CASE.c.id == case_id).values(coordinator_id=coordinator_id, updated_at=utcnow()))
    add_timeline(session, case_id, "assigned", f"Assigned to {name}" if name else "Unassigned", actor=actor)
    audit(
        session,
        actor=actor,
        action="case.assigned",
        entity="case",
        entity_id=case_id,
        before=before,
        after=coordinator_id,
    )


def edit_field(session: Session, case_id: int, actor: str, name: str, value: str) -> None:
    """Correct a referral field; the evidence then says a coordinator set it (the old value and its
    evidence stay in the audit trail)."""
    if name not in EDITABLE_FIELDS:
        raise ActionRefused(f"{name} cannot be edited here.")
    value = value.strip()[:300]
    draft = dict(run(session, select(CASE.c.draft).where(CASE.c.id == case_id)).scalar_one() or {})
    before = draft.get(name)
    evidence = dict(draft.get("evidence") or {})
    old_evidence = evidence.get(name)
    draft[name] = value or None
    evidence[name] = {
        "value": value or None,
        "source": "coordinator",
        "start": 0,
        "end": 0,
        "snippet": f"set by {actor}",
    }
    draft["evidence"] = evidence
    values: dict[str, Any] = {"draft": draft, "updated_at": utcnow()}
    column = EDITABLE_FIELDS[name]
    if column:
        values[column] = value or None
    run(session, update(CASE).where(CASE.c.id == case_id).values(**values))
    deadlines_moved(session, case_id)  # the service decides which deadlines run
    label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
    add_timeline(
        session,
        case_id,
        "field",
        f"{label} set to {value or '(empty)'}",
        actor=actor,
        data={"field": name},
    )
    audit(
        session,
        actor=actor,
        action="case.field_edited",
        entity="case",
        entity_id=case_id,
        field=name,
        before=before,
        after=value or None,
        evidence_before=old_evidence,
    )


def mark_seen(session: Session, case_id: int, actor: str, *, audited: bool = True) -> None:
    """The case's news has been looked at: it leaves the inbox."""
    gone = run(session, delete(ATTENTION).where(ATTENTION.c.case_id == case_id)).rowcount
    if gone and audited:
        audit(session, actor=actor, action="case.news_seen", entity="case", entity_id=case_id)


def needs_attention(session: Session, case_id: int, reason: str) -> None:
    """Something arrived on the case for a coordinator to look at (a reply; a call; an SMS): the case
    shows in the inbox until someone marks it seen. One row a case: the earliest unseen event's time."""
    updated = run(
        session, update(ATTENTION).where(ATTENTION.c.case_id == case_id).values(count=ATTENTION.c.count + 1)
    ).rowcount
    if not updated:
        insert_rows(session, CaseAttention, [{"case_id": case_id, "reason": reason}])


def close_item(session: Session, item_id: int, actor: str) -> None:
    run(
        session,
        update(ITEM).where(ITEM.c.id == item_id, ITEM.c.status == "open").values(status="done", closed_at=utcnow()),
    )
    audit(session, actor=actor, action="inbox_item.done", entity="inbox_item", entity_id=item_id)


def queue_reply(
    session: Session,
    case_id: int,
    *,
    actor: str,
    actor_name: str,
    nonce: str,
    template: str,
    to: str,
    body: str,
    domain: str,
) -> int:
    """A coordinator's email on the case, through the outbox; threaded under the case's last message.
    The form's nonce is the idempotency key: a form sent twice queues one email."""
    if template not in REPLY_TEMPLATES:
        raise ActionRefused("Choose a template.")
    if "@" not in to:
        raise ActionRefused("Choose who to write to.")
    if not body.strip():
        raise ActionRefused("Write the message.")
    reference = run(session, select(CASE.c.reference).where(CASE.c.id == case_id)).scalar_one()
    last = run(
        session,
        select(INBOUND.c.message_id)
        .where(INBOUND.c.case_id == case_id, INBOUND.c.message_id.is_not(None))
        .order_by(INBOUND.c.received_at.desc())
        .limit(1),
    ).scalar()
    outbox_id = enqueue_id(
        session,
        key=f"reply:case:{case_id}:{nonce[:64]}",
        channel="email",
        to=to,
        template=template,
        context=reply_context(reference, actor_name, body),
        case_id=case_id,
        automatic=False,
        message_id=make_message_id(domain),
        in_reply_to=last,
        references=[last] if last else [],
    )
    add_timeline(
        session,
        case_id,
        "message_out",
        f"Email to {to} queued ({REPLY_TEMPLATES[template].lower()})",
        actor=actor,
        outbox_id=outbox_id,
    )
    audit(session, actor=actor, action="case.email_queued", entity="case", entity_id=case_id, outbox_id=outbox_id)
    mark_seen(session, case_id, actor, audited=False)
    touch_case(session, case_id)
    return outbox_id


def reply_context(reference: str, staff_name: str, body: str) -> dict[str, Any]:
    return {"reference": reference, "staff_name": staff_name, "body": body.strip()[:20000]}


def attach_message(session: Session, inbound_id: int, case_id: int, actor: str) -> None:
    """An email no case owned (an inbox item: "which case does this belong to?") put on a case by a
    coordinator: on its timeline, and its open inbox items done."""
    subject = run(session, select(INBOUND.c.subject).where(INBOUND.c.id == inbound_id)).scalar()
    run(session, update(INBOUND).where(INBOUND.c.id == inbound_id).values(case_id=case_id))
    add_timeline(
        session,
        case_id,
        "message_in",
        f"Email attached by a coordinator: {(subject or '(no subject)')[:200]}",
        actor=actor,
        inbound_message_id=inbound_id,
    )
    now = utcnow()
    run(
        session,
        update(ITEM)
        .where(ITEM.c.inbound_message_id == inbound_id, ITEM.c.status == "open")
        .values(status="done", closed_at=now),
    )
    audit(session, actor=actor, action="message.attached", entity="case", entity_id=case_id, message=inbound_id)
    touch_case(session, case_id)
