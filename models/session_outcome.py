"""A held session's outcome: the session marked held (models.session_ops.mark_held: its pending reminders
withdrawn, the `mediation_held` event the statutory clock counts from, the case's status) with whether
the parties reached agreement, in one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models.case_ops import add_timeline, audit
from models.session_ops import SessionRefused, describe_when, mark_held
from models.sessions import SCHEDULED, MediationSession
from models.settings import Settings
from models.types import utcnow

AGREEMENT, PARTIAL, NO_AGREEMENT = "agreement", "partial_agreement", "no_agreement"
OUTCOMES = {
    AGREEMENT: "Agreement reached",
    PARTIAL: "Agreement on some issues",
    NO_AGREEMENT: "No agreement",
}
REACHED_AGREEMENT = frozenset({AGREEMENT, PARTIAL})


def record_outcome(
    db: Session,
    session_id: int,
    *,
    outcome: str,
    settings: Settings,
    now: datetime | None = None,
    actor: str = "system",
) -> MediationSession:
    now = now or utcnow()
    if outcome not in OUTCOMES:
        raise SessionRefused(f"choose the outcome: {', '.join(OUTCOMES.values()).lower()}")
    item = db.get(MediationSession, session_id)
    if item is None:
        raise SessionRefused(f"no session {session_id}")
    if item.status != SCHEDULED:
        raise SessionRefused(f"this session is {item.status}: its outcome cannot be recorded")
    if item.start_at > now:
        raise SessionRefused("this session has not started yet: record its outcome once it has been held")
    mark_held(db, session_id, settings=settings, now=now, actor=actor)  # held, reminders withdrawn, the clock
    item.outcome = outcome
    db.add(item)
    db.flush()
    summary = f"Session of {describe_when(item, settings)} held: {OUTCOMES[outcome].lower()}"
    add_timeline(db, item.case_id, "session", summary, at=now, actor=actor, data={"session_id": item.id})
    audit(db, actor=actor, action="session.outcome_recorded", entity="session", entity_id=item.id, outcome=outcome)
    return item
