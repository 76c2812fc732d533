"""The statutory deadlines the inbox shows: each open case's deadline falling due within 2 working days
or overdue (models.case_clock.needs_attention, the digest's own rule), most urgent first: the longest
overdue, then the fewest working days left.

Read from the stored deadlines (models.deadline_store keeps them in the transaction that moves them):
one indexed query, so a booking, an outcome or a case closed shows here on the next read. The tests
check it against the same list computed from every open case's events (tests/deadlines_computed.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, not_, or_, select
from sqlmodel import Session

from models.case_clock import DIGEST_WORKING_DAYS, KIND_LABELS
from models.deadlines import Kind
from models.rows import run, table
from models.sessions import PendingDeadline
from models.workdays import WorkingDayCalendar

PENDING = table(PendingDeadline)
SHOWN = 20  # the most urgent; the rest are counted (and in the 08:00 digest)


@dataclass(frozen=True, slots=True)
class DueDeadline:
    reference: str
    region: str | None
    label: str
    due: date
    days_left: int  # negative: overdue by that many working days
    overdue: bool


def stored_deadlines_due(
    db: Session,
    calendar: WorkingDayCalendar,
    today: date,
    *,
    office: str | None = None,
    overdue_only: bool = False,
    limit: int | None = SHOWN,
) -> tuple[list[DueDeadline], int]:
    """The list from the stored deadlines: the first `limit`, and how many in all. With `office`, that
    office's cases and those with no office yet (better twice seen than missed); `overdue_only`, the
    overdue ones. An appeal window is nobody's to meet: listed while it is about to close, never as
    overdue."""
    overdue = and_(PENDING.c.due < today, PENDING.c.kind != str(Kind.APPEAL))
    if overdue_only:
        keep = overdue
    else:
        window_closed = and_(PENDING.c.kind == str(Kind.APPEAL), PENDING.c.due < today)
        keep = and_(PENDING.c.due < _soon_until(calendar, today), not_(window_closed))
    conditions: list[Any] = [keep]
    if office:
        conditions.append(or_(PENDING.c.region == office, PENDING.c.region.is_(None)))
    total = run(db, select(func.count()).select_from(PENDING).where(*conditions)).scalar_one()
    # Due date order is urgency order: every overdue one is due before today, and working days left
    # never fall as the due date moves later. The index holds the order and every column read.
    query = (
        select(PENDING.c.reference, PENDING.c.region, PENDING.c.kind, PENDING.c.due)
        .where(*conditions)
        .order_by(PENDING.c.due, PENDING.c.reference, PENDING.c.kind)
    )
    if limit is not None:
        query = query.limit(limit)
    shown = [
        DueDeadline(
            reference, region, KIND_LABELS[Kind(kind)], due, calendar.working_days_between(today, due), due < today
        )
        for reference, region, kind, due in run(db, query)
    ]
    return shown, total


def _soon_until(calendar: WorkingDayCalendar, today: date) -> date:
    """The first day more than DIGEST_WORKING_DAYS working days after today: due before it is due soon."""
    day = today
    while calendar.working_days_between(today, day) <= DIGEST_WORKING_DAYS:
        day += timedelta(days=1)
    return day
