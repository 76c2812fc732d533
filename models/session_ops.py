"""Booking, rescheduling and cancelling sessions, inside the caller's transaction.

Each operation changes the session and writes, in the same transaction, everything it sends: the
confirmation (or update, or cancellation) email to each party and mediator with its .ics, and the
reminder SMS planned by models.reminder_plan, each an outbox row with its idempotency key:

    session:<id>:v<sequence>:<template>:<email>        the confirmation of one version of the session
    reminder:s<id>:v<sequence>:<recipient>:sms:<offset>  one reminder (recipient m<mediator> or c<contact>)

The key names the session's version (`sequence`) because a rescheduled session is a new appointment:
its reminders are new rows, while the old version's pending ones are withdrawn in the same transaction,
so neither a crash nor a retry can leave a reminder for the old time. A reminder carries `expires_at` in
its context; the dispatcher marks one found past it `missed` rather than send it late (models.outbox).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import phonenumbers
from sqlalchemy import and_, update
from sqlmodel import Session, col, select

from models.case_clock import record_event
from models.case_ops import add_timeline, audit
from models.case_queries import case_id_for_reference
from models.case_status import CLOSED, SESSION_BOOKED, SESSION_HELD, can_move
from models.cases import Case
from models.contacts import Contact, ContactPoint, Party
from models.ics import MODE_LABELS, IcsSession, session_invitation
from models.outbox import PENDING, SENDING, SENT, WITHDRAWN, OutboxMessage
from models.outbox_ops import enqueue_id
from models.phones import uk_mobile_shape
from models.reminder_plan import plan_reminders
from models.sessions import (
    CANCELLED,
    HELD,
    MODES,
    SCHEDULED,
    MediationSession,
    Mediator,
    SessionAttendee,
    SessionMediator,
)
from models.settings import Settings
from models.types import utcnow
from models.workdays import WorkingDayCalendar

NOTICE_WORKING_DAYS = 5
SMS = "sms"
# Parties told of a session: everyone on the case but the mediator (told as a mediator) and the LA officer
# (whom the coordinator invites when the LA attends).
ATTENDING_ROLES = ("referrer", "parent", "young_person")
_TEMPLATES = {"book": "session_booked", "reschedule": "session_rescheduled", "cancel": "session_cancelled"}


class SessionRefused(ValueError):
    """What was asked cannot be done as asked: one line for the coordinator, naming what to change."""


@dataclass(frozen=True, slots=True)
class Recipient:
    key: str  # m<mediator id> or c<contact id>: stable across versions of the session
    name: str
    email: str | None
    mobile: str | None
    wants_email: bool = True
    wants_sms: bool = True


@dataclass(slots=True)
class Outcome:
    session: MediationSession
    emails: list[int] = field(default_factory=list)  # outbox ids
    reminders: list[int] = field(default_factory=list)
    withdrawn: int = 0
    warnings: list[str] = field(default_factory=list)


# ---- booking ----------------------------------------------------------------------------------------


def book_session(
    db: Session,
    *,
    case_reference: str,
    start: datetime,
    end: datetime,
    mode: str,
    mediator_ids: Sequence[int],
    settings: Settings,
    calendar: WorkingDayCalendar,
    venue: str | None = None,
    dial_in: str | None = None,
    link: str | None = None,
    notes: str = "",
    short_notice_agreed: bool = False,
    now: datetime | None = None,
    actor: str = "system",
) -> Outcome:
    now = now or utcnow()
    case_id = case_id_for_reference(db, case_reference)  # a merged case's reference: the survivor
    case = db.get(Case, case_id) if case_id is not None else None
    if case is None or case.id is None:
        raise SessionRefused(f"no case {case_reference}; `cases list` shows them")
    if case.status == CLOSED:
        raise SessionRefused(f"case {case.reference} is closed; reopen it before booking a session")
    _check_times(start, end, now)
    venue, dial_in, link = _check_mode(mode, venue, dial_in, link)
    mediators = _mediators(db, mediator_ids)
    warnings = _notice(start, now, calendar, short_notice_agreed)
    item = MediationSession(
        uid=f"session-{secrets.token_hex(12)}@{settings.mail_from_domain}",
        case_id=case.id,
        start_at=start,
        end_at=end,
        mode=mode,
        notes=notes,
        short_notice_agreed=short_notice_agreed,
        booked_by=actor,
        created_at=now,
        updated_at=now,
        venue=venue,
        dial_in=dial_in,
        link=link,
    )
    db.add(item)
    db.flush()
    assert item.id is not None
    for mediator in mediators:
        db.add(SessionMediator(session_id=item.id, mediator_id=cast(int, mediator.id)))
    for attendee in _attendees_of(db, case.id):
        attendee.session_id = item.id
        db.add(attendee)
    db.flush()
    outcome = Outcome(item, warnings=warnings)
    _tell_everyone(db, item, case, "book", settings, outcome)
    _plan(db, item, case, settings, calendar, now, outcome)
    when = describe_when(item, settings)
    add_timeline(db, case.id, "session", f"Session booked: {when}", at=now, actor=actor, data={"session_id": item.id})
    move_case(db, case.id, SESSION_BOOKED, actor)
    audit(db, actor=actor, action="session.booked", entity="session", entity_id=item.id)
    return outcome


def reschedule_session(
    db: Session,
    session_id: int,
    *,
    start: datetime,
    end: datetime,
    settings: Settings,
    calendar: WorkingDayCalendar,
    short_notice_agreed: bool = False,
    now: datetime | None = None,
    actor: str = "system",
) -> Outcome:
    now = now or utcnow()
    item, case = _scheduled(db, session_id)
    _check_times(start, end, now)
    if (start, end) == (item.start_at, item.end_at):
        raise SessionRefused(f"session {session_id} is already at that time")
    warnings = _notice(start, now, calendar, short_notice_agreed)
    item.start_at, item.end_at = start, end
    item.sequence += 1
    item.short_notice_agreed = short_notice_agreed
    item.updated_at = now
    db.add(item)
    db.flush()
    outcome = Outcome(item, warnings=warnings)
    outcome.withdrawn = withdraw_reminders(db, item, "session rescheduled")
    _tell_everyone(db, item, case, "reschedule", settings, outcome)
    _plan(db, item, case, settings, calendar, now, outcome)
    summary = f"Session moved to {describe_when(item, settings)}"
    add_timeline(db, item.case_id, "session", summary, at=now, actor=actor, data={"session_id": item.id})
    audit(db, actor=actor, action="session.rescheduled", entity="session", entity_id=item.id)
    return outcome


def cancel_session(
    db: Session,
    session_id: int,
    *,
    settings: Settings,
    now: datetime | None = None,
    actor: str = "system",
) -> Outcome:
    """Cancelled: pending reminders withdrawn, everyone emailed a METHOD:CANCEL, and whoever already had a
    reminder SMS told by SMS too (they may be relying on the text, not the email)."""
    now = now or utcnow()
    item, case = _scheduled(db, session_id)
    item.status = CANCELLED
    item.sequence += 1
    item.cancelled_at = item.updated_at = now
    db.add(item)
    db.flush()
    outcome = Outcome(item)
    reminded = _reminded_numbers(db, item)
    outcome.withdrawn = withdraw_reminders(db, item, "session cancelled")
    _tell_everyone(db, item, case, "cancel", settings, outcome)
    context = {**_context(item, case, settings, name=""), "case_reference": case.reference}
    for number in reminded:
        key = f"session:{item.id}:cancelled:sms:{number}"
        outcome.reminders.append(
            enqueue_id(
                db,
                key=key,
                channel=SMS,
                to=number,
                template="session_cancelled",
                context=context,
                case_id=item.case_id,
                automatic=False,
                due_at=now,
            )
        )
    summary = f"Session of {describe_when(item, settings)} cancelled"
    add_timeline(db, item.case_id, "session", summary, at=now, actor=actor, data={"session_id": item.id})
    audit(db, actor=actor, action="session.cancelled", entity="session", entity_id=item.id)
    return outcome


def mark_held(
    db: Session, session_id: int, *, settings: Settings, now: datetime | None = None, actor: str = "system"
) -> Outcome:
    """The session took place: recorded as the day mediation was held (the certificate's 3 working days
    count from it), and any reminder still pending withdrawn."""
    now = now or utcnow()
    item, _ = _scheduled(db, session_id)
    if item.start_at > now:
        raise SessionRefused(f"session {session_id} has not started yet")
    item.status = HELD
    item.updated_at = now
    db.add(item)
    db.flush()
    outcome = Outcome(item)
    outcome.withdrawn = withdraw_reminders(db, item, "session held")
    record_event(db, item.case_id, "mediation_held", item.start_at.astimezone(settings.zone).date(), actor=actor)
    move_case(db, item.case_id, SESSION_HELD, actor)
    audit(db, actor=actor, action="session.held", entity="session", entity_id=item.id)
    return outcome


def move_case(db: Session, case_id: int, status: str, actor: str) -> None:
    """The case's status follows where the lifecycle allows (models.case_status); otherwise it stays."""
    case = db.get(Case, case_id)
    if case is None or not can_move(case.status, status):
        return
    case.status = status
    case.updated_at = utcnow()
    db.add(case)
    add_timeline(db, case_id, "status", f"Status: {status.replace('_', ' ')}", actor=actor)


def withdraw_reminders(db: Session, item: MediationSession, why: str) -> int:
    """Every reminder of the session not yet sent, withdrawn; how many. A row a dispatcher has claimed is
    withdrawn too: the dispatcher re-reads a row before sending it and leaves one no longer `sending`."""
    prefix = f"reminder:s{item.id}:"
    statement = (
        update(OutboxMessage)
        .where(
            and_(
                col(OutboxMessage.idempotency_key).startswith(prefix, autoescape=True),
                col(OutboxMessage.status).in_([PENDING, SENDING]),
            )
        )
        .values(status=WITHDRAWN, last_error=why)
    )
    return cast(Any, db.execute(statement)).rowcount or 0


def _reminded_numbers(db: Session, item: MediationSession) -> list[str]:
    prefix = f"reminder:s{item.id}:"
    rows = db.exec(
        select(OutboxMessage.to).where(
            col(OutboxMessage.idempotency_key).startswith(prefix, autoescape=True), OutboxMessage.status == SENT
        )
    ).all()
    return sorted(set(rows))


# ---- what each operation sends ------------------------------------------------------------------------


def recipients(db: Session, item: MediationSession) -> list[Recipient]:
    """The mediators, then the attending parties."""
    mediators = db.exec(
        select(Mediator)
        .join(SessionMediator, col(SessionMediator.mediator_id) == Mediator.id)
        .where(SessionMediator.session_id == item.id)
        .order_by(col(Mediator.id))
    ).all()
    attendees = db.exec(
        select(SessionAttendee).where(SessionAttendee.session_id == item.id).order_by(col(SessionAttendee.id))
    ).all()
    found = [Recipient(f"m{m.id}", m.name, m.email, m.mobile) for m in mediators]
    found += [Recipient(f"c{a.contact_id}", a.name, a.email, a.mobile, a.wants_email, a.wants_sms) for a in attendees]
    return found


def _tell_everyone(
    db: Session, item: MediationSession, case: Case, action: str, settings: Settings, outcome: Outcome
) -> None:
    template = _TEMPLATES[action]
    people = recipients(db, item)
    invited = [(p.email, p.name) for p in people if p.email]
    ics = session_invitation(
        ics_session(item, case, settings),
        organizer=settings.mail_from_address,
        organizer_name=settings.service_name,
        attendees=invited,
    )
    method = "CANCEL" if action == "cancel" else "REQUEST"
    attachment = {"filename": "session.ics", "content_type": f"text/calendar; method={method}", "text": ics}
    for person in people:
        if not person.email or not person.wants_email:
            continue
        context = {**_context(item, case, settings, name=person.name), "attachments": [attachment]}
        key = f"session:{item.id}:v{item.sequence}:{template}:{person.email.lower()}"
        outcome.emails.append(
            enqueue_id(
                db,
                key=key,
                channel="email",
                to=person.email,
                template=template,
                context=context,
                case_id=item.case_id,
                automatic=False,
            )
        )


def _plan(
    db: Session,
    item: MediationSession,
    case: Case,
    settings: Settings,
    calendar: WorkingDayCalendar,
    now: datetime,
    outcome: Outcome,
) -> None:
    planned = plan_reminders(
        item.start_at, now=now, offsets=settings.offsets, quiet=settings.quiet_hours, calendar=calendar
    )
    for person in recipients(db, item):
        if not person.mobile or not person.wants_sms:
            continue
        context = _context(item, case, settings, name=person.name)
        for reminder in planned:
            key = f"reminder:s{item.id}:v{item.sequence}:{person.key}:sms:{reminder.offset}"
            outcome.reminders.append(
                enqueue_id(
                    db,
                    key=key,
                    channel=SMS,
                    to=person.mobile,
                    template="session_reminder",
                    context={**context, "offset": reminder.offset, "expires_at": reminder.expires_at.isoformat()},
                    case_id=item.case_id,
                    automatic=False,
                    due_at=reminder.due_at,
                )
            )


def _context(item: MediationSession, case: Case, settings: Settings, *, name: str) -> dict[str, Any]:
    local_start = item.start_at.astimezone(settings.zone)
    return {
        "name": name,
        "case_reference": case.reference,
        "session_id": item.id,
        "when": describe_when(item, settings),
        "day": f"{local_start:%A} {local_start.day} {local_start:%B}",
        "time": f"{local_start:%H:%M}",
        "mode": item.mode,
        "mode_label": MODE_LABELS[item.mode],
        "where": where_text(item),
        "office": case.region,  # the SMS go from this office's number (none yet: the national office's)
    }


def ics_session(item: MediationSession, case: Case, settings: Settings) -> IcsSession:
    return IcsSession(
        uid=item.uid,
        sequence=item.sequence,
        start=item.start_at,
        end=item.end_at,
        summary=f"Mediation session ({case.reference})",
        location=where_text(item),
        description=f"{MODE_LABELS[item.mode]}. {settings.service_name}, case {case.reference}.",
        cancelled=item.status == CANCELLED,
        updated=item.updated_at,
    )


def describe_when(item: MediationSession, settings: Settings) -> str:
    """ "Tuesday 12 January 2027, 10:00 to 12:00" in the service's time zone."""
    start, end = item.start_at.astimezone(settings.zone), item.end_at.astimezone(settings.zone)
    day = f"{start:%A} {start.day} {start:%B %Y}"
    return f"{day}, {start:%H:%M} to {end:%H:%M}"


def where_text(item: MediationSession) -> str:
    return {"in_person": item.venue, "phone": item.dial_in, "video": item.link}.get(item.mode) or ""


# ---- checks --------------------------------------------------------------------------------------------


def _check_times(start: datetime, end: datetime, now: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise SessionRefused("give the times with their offset (2027-01-12T10:00+00:00) or as local times")
    if end <= start:
        raise SessionRefused("the session must end after it starts (--end after --start)")
    if start <= now:
        raise SessionRefused("the session's start has passed (--start)")


def _check_mode(
    mode: str, venue: str | None, dial_in: str | None, link: str | None
) -> tuple[str | None, str | None, str | None]:
    """(venue, dial-in, link), the one the mode needs given and the others refused."""
    if mode not in MODES:
        raise SessionRefused(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    given = {"in_person": ("--venue", venue), "phone": ("--dial-in", dial_in), "video": ("--link", link)}
    option, value = given[mode]
    if not (value or "").strip():
        raise SessionRefused(f"a {mode} session needs {option}")
    others = [name for m, (name, v) in given.items() if m != mode and v]
    if others:
        raise SessionRefused(f"a {mode} session takes {option}, not {', '.join(others)}")
    if mode == "video" and not (link or "").startswith("https://"):
        raise SessionRefused("--link must be an https:// address")
    return venue, dial_in, link


def _mediators(db: Session, ids: Sequence[int]) -> list[Mediator]:
    if not ids:
        raise SessionRefused("a session needs at least one --mediator")
    found = []
    for mediator_id in dict.fromkeys(ids):
        mediator = db.get(Mediator, mediator_id)
        if mediator is None or not mediator.active:
            raise SessionRefused(f"no mediator {mediator_id}; `mediators list` shows them")
        found.append(mediator)
    return found


def _notice(start: datetime, now: datetime, calendar: WorkingDayCalendar, agreed: bool) -> list[str]:
    """Under 5 working days' notice: refused unless the parties agreed; a warning when they did."""
    last_day_to_tell = calendar.subtract_working_days(calendar.local_date(start), NOTICE_WORKING_DAYS)
    if calendar.local_date(now) <= last_day_to_tell:
        return []
    if not agreed:
        raise SessionRefused(
            f"under {NOTICE_WORKING_DAYS} working days' notice (parties should have been told by "
            f"{last_day_to_tell:%A} {last_day_to_tell.day} {last_day_to_tell:%B}); record the parties' "
            "agreement with --short-notice-agreed"
        )
    return [f"short notice: under {NOTICE_WORKING_DAYS} working days, booked with the parties' agreement"]


def _scheduled(db: Session, session_id: int) -> tuple[MediationSession, Case]:
    item = db.get(MediationSession, session_id)
    if item is None:
        raise SessionRefused(f"no session {session_id}; `sessions list` shows them")
    if item.status != SCHEDULED:
        raise SessionRefused(f"session {session_id} is {item.status}")
    case = db.get(Case, item.case_id)
    assert case is not None
    return item, case


def _attendees_of(db: Session, case_id: int) -> list[SessionAttendee]:
    """The case's parties, one per contact, with the first usable email and number of each."""
    parties = db.exec(
        select(Party).where(Party.case_id == case_id, col(Party.role).in_(ATTENDING_ROLES)).order_by(col(Party.id))
    ).all()
    attendees: dict[int, SessionAttendee] = {}
    for party in parties:
        if party.contact_id in attendees:
            continue
        points = db.exec(
            select(ContactPoint)
            .where(ContactPoint.contact_id == party.contact_id, col(ContactPoint.undeliverable_at).is_(None))
            .order_by(col(ContactPoint.id))
        ).all()
        email = next((p.value for p in points if p.kind == "email"), None)
        mobile = next((p.value for p in points if p.kind == "phone" and _is_mobile(p.value)), None)
        contact = db.get(Contact, party.contact_id)
        attendees[party.contact_id] = SessionAttendee(
            session_id=0,
            contact_id=party.contact_id,
            role=party.role,
            name=contact.name if contact else "",
            email=email,
            mobile=mobile,
        )
    return list(attendees.values())


def _is_mobile(number: str) -> bool:
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException:
        return False
    if uk_mobile_shape(parsed, number):
        return True
    kind = phonenumbers.number_type(parsed)
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def plan_upcoming_reminders(
    db: Session, settings: Settings, calendar: WorkingDayCalendar, *, now: datetime | None = None
) -> int:
    """Every scheduled session ahead gets the reminders its offsets give (the scheduler's planning job):
    what booking planned is found by its key and left alone; an offset added to MDESK_REMINDER_OFFSETS
    since, or a recipient added, gets its rows. Rows written; 0 when nothing was missing."""
    now = now or utcnow()
    before = db.exec(select(OutboxMessage.id).where(OutboxMessage.template == "session_reminder")).all()
    items = db.exec(
        select(MediationSession).where(MediationSession.status == SCHEDULED, col(MediationSession.start_at) > now)
    ).all()
    for item in items:
        case = db.get(Case, item.case_id)
        assert case is not None
        _plan(db, item, case, settings, calendar, now, Outcome(item))
    after = db.exec(select(OutboxMessage.id).where(OutboxMessage.template == "session_reminder")).all()
    return len(after) - len(before)
