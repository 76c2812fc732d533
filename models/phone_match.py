"""Who is calling (or texting)? A number matched to the cases its owner is a party to.

Open cases first, then closed ones; a number no party has may be a mediator's, matched to the cases
of their sessions around now (a reply to a reminder). Exactly one case is a match; several, or none,
is a question for a coordinator (an inbox item), never a silent guess. A withheld number is only ever "withheld".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlmodel import Session

from models.case_status import CLOSED
from models.cases import Case
from models.contacts import ContactPoint, Party
from models.rows import run, table
from models.sessions import SCHEDULED, MediationSession, Mediator, SessionMediator
from models.types import utcnow

CASE = table(Case)
POINT = table(ContactPoint)
PARTY = table(Party)

SESSION, SESSION_MEDIATOR, MEDIATOR = table(MediationSession), table(SessionMediator), table(Mediator)
# A mediator is no party of the case: their number finds the cases of their sessions around now (a
# reply to a reminder: "running late"), from a day before to a week ahead.
MEDIATOR_WINDOW = (timedelta(days=1), timedelta(days=7))

CASE_MATCH, SEVERAL, NONE, WITHHELD = "case", "several", "none", "withheld"

_CASES_OF_PHONE = (
    select(CASE.c.id, CASE.c.reference, CASE.c.status)
    .join(PARTY, PARTY.c.case_id == CASE.c.id)
    .join(POINT, POINT.c.contact_id == PARTY.c.contact_id)
    .where(POINT.c.kind == "phone", POINT.c.value == bindparam("phone"))
    .distinct()
    .order_by(CASE.c.id)
)
_CASES_OF_MEDIATOR = (
    select(CASE.c.id, CASE.c.reference, CASE.c.status)
    .join(SESSION, SESSION.c.case_id == CASE.c.id)
    .join(SESSION_MEDIATOR, SESSION_MEDIATOR.c.session_id == SESSION.c.id)
    .join(MEDIATOR, MEDIATOR.c.id == SESSION_MEDIATOR.c.mediator_id)
    .where(
        MEDIATOR.c.mobile == bindparam("phone"),
        SESSION.c.status == SCHEDULED,
        SESSION.c.start_at >= bindparam("since", type_=SESSION.c.start_at.type),
        SESSION.c.start_at <= bindparam("until", type_=SESSION.c.start_at.type),
    )
    .distinct()
    .order_by(CASE.c.id)
)


@dataclass(frozen=True, slots=True)
class PhoneMatch:
    kind: str  # case, several, none, withheld
    case_id: int | None = None
    reference: str | None = None
    candidates: tuple[str, ...] = field(default=())  # the references, when several

    @property
    def is_case(self) -> bool:
        return self.kind == CASE_MATCH


def match_phone(session: Session, e164: str | None) -> PhoneMatch:
    if e164 is None:
        return PhoneMatch(WITHHELD)
    rows = run(session, _CASES_OF_PHONE, {"phone": e164}).all()
    if not rows:  # no party's number: a mediator's, about a session around now?
        now = utcnow()
        window = {"phone": e164, "since": now - MEDIATOR_WINDOW[0], "until": now + MEDIATOR_WINDOW[1]}
        rows = run(session, _CASES_OF_MEDIATOR, window).all()
    open_cases = [row for row in rows if row.status != CLOSED]
    for group in (open_cases, rows):
        if len(group) == 1:
            return PhoneMatch(CASE_MATCH, group[0].id, group[0].reference)
        if len(group) > 1:
            return PhoneMatch(SEVERAL, candidates=tuple(row.reference for row in group))
    return PhoneMatch(NONE)
