"""The statutory deadlines the inbox shows: each open case's deadline falling due within 2 working days
or overdue (models.case_clock.needs_attention, the digest's own rule), most urgent first: the longest
overdue, then the fewest working days left.

Every open case's deadlines are computed in Python (models.deadlines is pure), so the list is kept for
`MAX_AGE_SECONDS` per database and day: the inbox polls often, the deadlines move by the day, and a
booking or an outcome recorded shows on the case page at once and here within a minute."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.case_clock import KIND_LABELS, all_deadlines, needs_attention
from models.deadlines import Status
from models.workdays import WorkingDayCalendar

MAX_AGE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class DueDeadline:
    reference: str
    region: str | None
    label: str
    due: date
    days_left: int  # negative: overdue by that many working days
    overdue: bool


def deadlines_due(db: Session, calendar: WorkingDayCalendar, today: date | datetime) -> list[DueDeadline]:
    due_soon, overdue = needs_attention(all_deadlines(db, calendar, today))
    found = [
        DueDeadline(
            item.reference,
            item.region,
            KIND_LABELS[item.deadline.kind],
            item.deadline.due,
            item.deadline.days_left if item.deadline.days_left is not None else 0,
            item.deadline.status is Status.MISSED,
        )
        for item in overdue + due_soon
    ]
    return sorted(found, key=lambda d: (not d.overdue, d.days_left, d.due, d.reference))


_cache: dict[tuple[int, date], tuple[float, list[DueDeadline]]] = {}
_lock = threading.Lock()


def cached_deadlines_due(engine: Engine, calendar: WorkingDayCalendar, today: date) -> list[DueDeadline]:
    key = (id(engine), today)
    with _lock:
        kept = _cache.get(key)
    if kept is not None and time.monotonic() - kept[0] < MAX_AGE_SECONDS:
        return kept[1]
    with Session(engine.execution_options(sqlite_begin="DEFERRED")) as db:
        found = deadlines_due(db, calendar, today)
    with _lock:
        _cache.clear()  # one day, one database: yesterday's list is never read again
        _cache[key] = (time.monotonic(), found)
    return found


def forget() -> None:
    """Drop the kept list (tests, and a page that has just changed a deadline)."""
    with _lock:
        _cache.clear()
