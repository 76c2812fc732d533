"""The service's mediators: add, edit, deactivate and reactivate them, and their private calendar feeds,
inside the caller's transaction and audited (the CLI's `mediators` commands and the /mediators page).

A mediator is never deleted: sessions, reminders and audit rows name them for years. One who stops
working with the service is deactivated: no longer offered for a booking, their sessions kept. While
they have a session ahead they cannot be deactivated: the coordinator moves those sessions to another
mediator first, so no family is left with a session nobody will come to.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import phonenumbers
from sqlalchemy import update
from sqlmodel import Session, col, select

from models.case_ops import audit
from models.cases import Case
from models.outbox import PENDING, OutboxMessage
from models.phones import uk_mobile_shape
from models.session_ops import SessionRefused
from models.sessions import SCHEDULED, MediationSession, Mediator, SessionMediator
from models.types import utcnow

REGIONS = ("london", "national")


class MediatorRefused(SessionRefused):
    """What was asked of a mediator's record cannot be done as asked: one line naming what to change."""


def normalise_mobile(text: str) -> str:
    """A UK or international number as E.164; MediatorRefused when it is not a valid number."""
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        raise MediatorRefused(f"{text!r} is not a phone number; give it as +447700900123") from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not (phonenumbers.is_valid_number(number) or uk_mobile_shape(number, e164)):
        raise MediatorRefused(f"{text!r} is not a valid phone number; give it as +447700900123")
    return e164


def add_mediator(
    db: Session, *, name: str, mobile: str, email: str, regions: Sequence[str], actor: str = "system"
) -> Mediator:
    mediator = Mediator(
        name=_name(name),
        mobile=normalise_mobile(mobile),
        email=_email(email),
        regions=_regions(regions),
        calendar_token=new_calendar_token(),
    )
    db.add(mediator)
    db.flush()
    audit(db, actor=actor, action="mediator.added", entity="mediator", entity_id=mediator.id)
    return mediator


def edit_mediator(
    db: Session,
    mediator_id: int,
    *,
    name: str,
    mobile: str,
    email: str,
    regions: Sequence[str],
    actor: str = "system",
) -> Mediator:
    """New details; the reminders not yet sent go to the new mobile number. Confirmations already sent
    stay as they were (the next change to a session sends its update to the new address)."""
    mediator = _get(db, mediator_id)
    before = {"name": mediator.name, "mobile": mediator.mobile, "email": mediator.email, "regions": mediator.regions}
    mediator.name, mediator.mobile = _name(name), normalise_mobile(mobile)
    mediator.email, mediator.regions = _email(email), _regions(regions)
    changed = sorted(field for field, value in before.items() if getattr(mediator, field) != value)
    if not changed:
        return mediator
    db.add(mediator)
    if "mobile" in changed:
        _readdress_reminders(db, mediator)
    audit(db, actor=actor, action="mediator.edited", entity="mediator", entity_id=mediator_id, fields=changed)
    return mediator


def set_active(db: Session, mediator_id: int, active: bool, actor: str = "system") -> Mediator:
    """Deactivate (not offered for bookings) or reactivate; refused while a session ahead names them."""
    mediator = _get(db, mediator_id)
    if mediator.active == active:
        return mediator
    if not active:
        ahead = sessions_ahead(db, mediator_id)
        if ahead:
            raise MediatorRefused(
                f"{mediator.name} has {len(ahead)} session(s) ahead (case {', '.join(ahead)}): "
                "move them to another mediator first"
            )
    mediator.active = active
    db.add(mediator)
    action = "mediator.reactivated" if active else "mediator.deactivated"
    audit(db, actor=actor, action=action, entity="mediator", entity_id=mediator_id)
    return mediator


def sessions_ahead(db: Session, mediator_id: int) -> list[str]:
    """The case references of the mediator's scheduled sessions still to come, soonest first."""
    rows = db.exec(
        select(Case.reference)
        .join(MediationSession, col(MediationSession.case_id) == Case.id)
        .join(SessionMediator, col(SessionMediator.session_id) == MediationSession.id)
        .where(
            SessionMediator.mediator_id == mediator_id,
            MediationSession.status == SCHEDULED,
            col(MediationSession.start_at) > utcnow(),
        )
        .order_by(col(MediationSession.start_at))
    ).all()
    return list(dict.fromkeys(rows))


def all_mediators(db: Session) -> list[Mediator]:
    """Active ones first, each group by name."""
    return list(db.exec(select(Mediator).order_by(col(Mediator.active).desc(), col(Mediator.name))).all())


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


def revoke_calendar_token(db: Session, mediator_id: int, actor: str = "system") -> Mediator:
    """A new feed address; the old one answers 404 from now on."""
    mediator = _get(db, mediator_id)
    mediator.calendar_token = new_calendar_token()
    db.add(mediator)
    audit(db, actor=actor, action="mediator.calendar_revoked", entity="mediator", entity_id=mediator_id)
    return mediator


def _get(db: Session, mediator_id: int) -> Mediator:
    mediator = db.get(Mediator, mediator_id)
    if mediator is None:
        raise MediatorRefused(f"no mediator {mediator_id}; `mediators list` shows them")
    return mediator


def _readdress_reminders(db: Session, mediator: Mediator) -> None:
    # A reminder's key names its recipient (reminder:s<session>:v<version>:m<mediator>:sms:<offset>,
    # models.session_ops): the pending ones of this mediator take the new number.
    db.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.idempotency_key).like(f"reminder:s%:m{mediator.id}:sms:%"),
            col(OutboxMessage.status) == PENDING,
        )
        .values(to=mediator.mobile)
    )


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise MediatorRefused("a mediator needs a name")
    if len(name) > 200:
        raise MediatorRefused("a mediator's name is at most 200 characters")
    return name


def _email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "@" in domain or "." not in domain or " " in email or len(email) > 320:
        raise MediatorRefused(f"{email!r} is not an email address")
    return email


def _regions(regions: Sequence[str]) -> list[str]:
    unknown = [r for r in regions if r not in REGIONS]
    if unknown:
        raise MediatorRefused(f"{unknown[0]!r} is not a region: london or national")
    return list(dict.fromkeys(regions)) or ["national"]
