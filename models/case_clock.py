"""The statutory clock on the stored cases: each case's dated events gathered into `CaseDates`, its
deadlines (models.deadlines, pure) computed for a day, the offices' 08:00 digest and the certificate alert.

Where the dates come from:
- contact: the case's first message (`Case.created_at`), unless a `contact` event says otherwise;
- mediation requested: a `mediation_requested` event, else the first contact when the referral asked for
  mediation; a certificate-only case (`service == "certificate"`) counts its certificate from the contact;
- the session: the next scheduled one (else the latest), and the parties told when it was last booked or
  moved (the confirmations were written then); mediation held: a `mediation_held` event;
- everything else (LA told, decision letter, certificate issued...): `CaseEvent` rows of that kind.

The digest and the alert are outbox rows keyed by office, day and case, so a second scan, a restart or a
second node adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import select as select_rows
from sqlmodel import Session, col, select

from models.case_ops import add_timeline
from models.case_status import OPEN_STATUSES
from models.cases import Case
from models.deadlines import CaseDates, Deadline, Kind, Status, deadlines_for
from models.offices import all_offices
from models.outbox_ops import enqueue_id
from models.rows import run, table
from models.sessions import HELD, SCHEDULED, CaseEvent, MediationSession
from models.staff import StaffUser
from models.types import utcnow
from models.workdays import WorkingDayCalendar

log = logging.getLogger(__name__)
CASE = table(Case)
EVENT = table(CaseEvent)
SESSION = table(MediationSession)
# The draft's one entry the clock reads, not the whole draft (decoding it was a seventh of the cost).
_HEALTH_ISSUES = CASE.c.draft["health_issues"]
_FACTS = (CASE.c.id, CASE.c.reference, CASE.c.region, CASE.c.service, CASE.c.created_at, _HEALTH_ISSUES)
_EVENT = (EVENT.c.case_id, EVENT.c.kind, EVENT.c.day)
_OF_CASE = CASE.c.id == EVENT.c.case_id
_SESSION = (SESSION.c.case_id, SESSION.c.status, SESSION.c.start_at, SESSION.c.updated_at)

EVENT_KINDS = (
    "contact",
    "mediation_requested",
    "la_told",
    "mediation_held",
    "mediation_unarranged",
    "la_decision_letter",
    "certificate_issued",
    "health_commissioner_told",
)
# A later letter replaces the earlier decision; for the others the first time it happened counts.
_LATEST_COUNTS = frozenset({"la_decision_letter"})
DIGEST_WORKING_DAYS = 2
KIND_LABELS = {
    Kind.CERTIFICATE: "Certificate due",
    Kind.MEDIATION: "Mediation due by",
    Kind.NOTICE: "Parties told of the session by",
    Kind.HEALTH: "Health commissioner told by",
    Kind.APPEAL: "Appeal window closes",
}


@dataclass(frozen=True, slots=True)
class CaseDeadline:
    case_id: int
    reference: str
    region: str | None
    deadline: Deadline

    def as_dict(self) -> dict[str, object]:
        d = self.deadline
        return {
            "reference": self.reference,
            "kind": str(d.kind),
            "label": KIND_LABELS[d.kind],
            "due": d.due.isoformat(),
            "working_days_left": d.days_left,
            "status": str(d.status),
            "starts": d.starts.isoformat(),
            "done_on": d.done_on.isoformat() if d.done_on else None,
            "rule": d.rule,
        }


class ClockRefused(ValueError):
    """A case event that cannot be recorded as asked: one line naming what to change."""


def record_event(
    db: Session, case_id: int, kind: str, day: date, *, actor: str = "system", note: str = ""
) -> CaseEvent:
    if kind not in EVENT_KINDS:
        raise ClockRefused(f"unknown event {kind!r}; one of {', '.join(EVENT_KINDS)}")
    event = CaseEvent(case_id=case_id, kind=kind, day=day, note=note, recorded_by=actor)
    db.add(event)
    db.flush()
    add_timeline(db, case_id, "clock", f"{kind.replace('_', ' ').capitalize()}: {day:%d %B %Y}", actor=actor)
    return event


def case_dates(db: Session, case: Case) -> CaseDates:
    rows = db.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.day))).all()
    held = _held(db, case)
    session = _session_counted(db, case)
    assert case.id is not None
    facts = CaseFacts(
        case.id, case.reference, case.region, case.service, case.created_at, (case.draft or {}).get("health_issues")
    )
    return dates_of(
        facts,
        [(event.kind, event.day) for event in rows],
        (session.start_at, session.updated_at) if session else None,
        held.start_at if held else None,
    )


class CaseFacts(NamedTuple):
    """What the clock reads of a case besides its events, as `deadlines_where` selects it."""

    id: int
    reference: str
    region: str | None
    service: str | None
    created_at: datetime
    health_issues: Any  # the draft's entry (JSON), counted when truthy; None: not there


def dates_of(
    case: CaseFacts,
    events_in_order: Iterable[tuple[str, date]],
    session: tuple[datetime, datetime] | None,
    held_at: datetime | None,
) -> CaseDates:
    """The case's dates from its events ((kind, day), in day order), the session the notice is about
    (its start, and when it was last booked or moved) and when the latest held session started: what
    `case_dates` reads one case at a time and `deadlines_where` in bulk."""
    events: dict[str, date] = {}
    for kind, day in events_in_order:
        if kind in _LATEST_COUNTS or kind not in events:
            events[kind] = day
    certificate_only = case.service == "certificate"
    contact: date | datetime = events.get("contact") or case.created_at
    requested = events.get("mediation_requested") or (contact if case.service == "mediation" else None)
    held = events.get("mediation_held") or held_at
    return CaseDates(
        contact=contact,
        certificate_only=certificate_only,
        mediation_requested=requested,
        la_told=events.get("la_told"),
        mediation_held=held,
        mediation_unarranged=events.get("mediation_unarranged"),
        session_booked=session[0] if session else None,
        parties_told=session[1] if session else None,
        la_decision_letter=events.get("la_decision_letter"),
        certificate_issued=events.get("certificate_issued"),
        health_commissioner_told=events.get("health_commissioner_told"),
        health_issues=bool(case.health_issues),
    )


def _session_counted(db: Session, case: Case) -> MediationSession | None:
    """The session the notice deadline is about: the latest scheduled one."""
    return db.exec(
        select(MediationSession)
        .where(MediationSession.case_id == case.id, MediationSession.status == SCHEDULED)
        .order_by(col(MediationSession.start_at).desc())
    ).first()


def _held(db: Session, case: Case) -> MediationSession | None:
    return db.exec(
        select(MediationSession)
        .where(MediationSession.case_id == case.id, MediationSession.status == HELD)
        .order_by(col(MediationSession.start_at).desc())
    ).first()


def case_deadlines(db: Session, case: Case, calendar: WorkingDayCalendar, today: date | datetime) -> list[CaseDeadline]:
    assert case.id is not None
    return [
        CaseDeadline(case.id, case.reference, case.region, d)
        for d in deadlines_for(case_dates(db, case), calendar, today)
    ]


def all_deadlines(
    db: Session, calendar: WorkingDayCalendar, today: date | datetime, *, include_closed: bool = False
) -> list[CaseDeadline]:
    """Every open case's deadlines, soonest due first."""
    only_open = [] if include_closed else [col(Case.status).in_(sorted(OPEN_STATUSES))]
    return deadlines_where(db, calendar, today, only_open)


def deadlines_where(
    db: Session, calendar: WorkingDayCalendar, today: date | datetime, only_open: list[Any]
) -> list[CaseDeadline]:
    """The deadlines of the cases these conditions (on Case) keep, soonest due first: the cases, their
    events and their sessions read in three queries (not three per case), as plain rows (intake runs
    this at every commit that opens cases: loading them as objects cost five times as much), then each
    case's deadlines computed as `case_deadlines` does."""
    db.flush()  # the rows are read on the session's connection: its pending objects go first
    cases = [CaseFacts(*row) for row in run(db, select_rows(*_FACTS).where(*only_open).order_by(CASE.c.id))]
    events: dict[int, list[tuple[str, date]]] = {}
    for case_id, kind, day in run(
        db, select_rows(*_EVENT).join(CASE, _OF_CASE).where(*only_open).order_by(EVENT.c.day)
    ):
        events.setdefault(case_id, []).append((kind, day))
    scheduled: dict[int, tuple[datetime, datetime]] = {}
    held: dict[int, datetime] = {}
    sessions = (
        select_rows(*_SESSION)
        .join(CASE, CASE.c.id == SESSION.c.case_id)
        .where(SESSION.c.status.in_([SCHEDULED, HELD]), *only_open)
        .order_by(SESSION.c.start_at)
    )
    for case_id, status, start_at, updated_at in run(db, sessions):
        # In start order: the last one kept is the latest, as _session_counted and _held choose.
        if status == SCHEDULED:
            scheduled[case_id] = (start_at, updated_at)
        else:
            held[case_id] = start_at
    found = []
    for case in cases:
        dates = dates_of(case, events.get(case.id, ()), scheduled.get(case.id), held.get(case.id))
        found += [CaseDeadline(case.id, case.reference, case.region, d) for d in deadlines_for(dates, calendar, today)]
    return sorted(found, key=lambda item: (item.deadline.due, item.reference))


def needs_attention(items: Iterable[CaseDeadline]) -> tuple[list[CaseDeadline], list[CaseDeadline]]:
    """(falling due within 2 working days, overdue): what the digest lists."""
    due_soon, overdue = [], []
    for item in items:
        d = item.deadline
        if d.status is Status.OPEN and d.days_left is not None and 0 <= d.days_left <= DIGEST_WORKING_DAYS:
            due_soon.append(item)
        elif d.status is Status.MISSED and d.done_on is None:
            overdue.append(item)
    return due_soon, overdue


def coordinators_of(db: Session, region: str) -> list[str]:
    rows = db.exec(
        select(StaffUser.email)
        .where(StaffUser.office == region, col(StaffUser.active).is_(True))
        .order_by(StaffUser.email)
    ).all()
    return list(rows)


def _for_office(items: Iterable[CaseDeadline], region: str) -> list[CaseDeadline]:
    # A case whose region is not known yet is on both offices' lists: better twice seen than missed.
    return [item for item in items if item.region in (region, None)]


def enqueue_digests(db: Session, calendar: WorkingDayCalendar, *, now: datetime | None = None) -> list[int]:
    """Today's digest email to each office's coordinators (outbox ids; none twice for a day)."""
    now = now or utcnow()
    today = calendar.local_date(now)
    if not calendar.is_working_day(today):
        return []
    due_soon, overdue = needs_attention(all_deadlines(db, calendar, today))
    written = []
    for office in all_offices():
        soon, late = _for_office(due_soon, office.region), _for_office(overdue, office.region)
        recipients = coordinators_of(db, office.region)
        if not recipients:
            log.warning("deadline digest: the %s office has no active coordinator to send it to", office.region)
            continue
        context = {
            "office": office.name,
            "day": f"{today:%A} {today.day} {today:%B %Y}",
            "due_soon": [item.as_dict() for item in soon],
            "overdue": [item.as_dict() for item in late],
        }
        for email in recipients:
            written.append(
                enqueue_id(
                    db,
                    key=f"digest:{office.region}:{today.isoformat()}:{email}",
                    channel="email",
                    to=email,
                    template="deadline_digest",
                    context=context,
                    automatic=False,
                    due_at=now,
                )
            )
    return written


def enqueue_certificate_alerts(db: Session, calendar: WorkingDayCalendar, *, now: datetime | None = None) -> list[int]:
    """An alert, at once, for each certificate request on its last working day (outbox ids; once a case)."""
    now = now or utcnow()
    written = []
    for item in all_deadlines(db, calendar, now):
        d = item.deadline
        if d.kind is not Kind.CERTIFICATE or d.status is not Status.OPEN or d.days_left != 0:
            continue
        regions = [item.region] if item.region else [office.region for office in all_offices()]
        recipients = [email for region in regions for email in coordinators_of(db, region)]
        context = {"case_reference": item.reference, "due": f"{d.due:%A} {d.due.day} {d.due:%B %Y}"}
        for email in recipients:
            key = f"alert:certificate:{item.case_id}:{d.due.isoformat()}:{email}"
            written.append(
                enqueue_id(
                    db,
                    key=key,
                    channel="email",
                    to=email,
                    template="certificate_last_day",
                    context=context,
                    case_id=item.case_id,
                    automatic=False,
                    due_at=now,
                )
            )
    return written
