"""The statutory deadlines the inbox shows: each open case's deadline falling due within 2 working days
or overdue (models.case_clock.needs_attention, the digest's own rule), most urgent first: the longest
overdue, then the fewest working days left.

Every open case's deadlines are computed in Python (models.deadlines is pure): about 0.3 ms a case, so
seconds for tens of thousands. The list is therefore worked out off the request path, in a background
thread, and kept for `MAX_AGE_SECONDS` per database and day: the inbox polls often, the deadlines move by
the day, and a booking or an outcome recorded shows on the case page at once and here within a minute
(CHANGED_AFTER_SECONDS, then the next inbox read)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.case_clock import KIND_LABELS, all_deadlines, needs_attention
from models.deadlines import Status
from models.workdays import WorkingDayCalendar

log = logging.getLogger(__name__)
MAX_AGE_SECONDS = 300.0  # worked out again at least this often (the deadlines move by the day)
CHANGED_AFTER_SECONDS = 30.0  # and this soon after a page changed a deadline (not at once: a busy
# office's bookings would keep a core busy on a large database)


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


SHOWN = 20  # the most urgent; the rest are counted (and in the 08:00 digest)

_cache: dict[tuple[int, date], tuple[float, list[DueDeadline]]] = {}
_running: set[tuple[int, date]] = set()
_lock = threading.Lock()


def cached_deadlines_due(engine: Engine, calendar: WorkingDayCalendar, today: date) -> list[DueDeadline] | None:
    """The list as last worked out (None: not yet), never computed on the caller's thread: when it is
    older than MAX_AGE_SECONDS a background thread works it out again (one at a time), so a page that
    shows it never waits for every open case's deadlines."""
    key = (id(engine), today)
    with _lock:
        kept = _cache.get(key)
        stale = kept is None or time.monotonic() - kept[0] >= MAX_AGE_SECONDS
        start = stale and key not in _running
        if start:
            _running.add(key)
    if start:
        threading.Thread(target=_refresh_in_background, args=(engine, calendar, today), daemon=True).start()
    return kept[1] if kept else None


def _refresh_in_background(engine: Engine, calendar: WorkingDayCalendar, today: date) -> None:
    try:
        refresh(engine, calendar, today)
    except Exception as exc:  # the page keeps the last list; the next read tries again
        log.error("the inbox's deadlines could not be worked out: %s", type(exc).__name__)
    finally:
        with _lock:
            _running.discard((id(engine), today))


def refresh(engine: Engine, calendar: WorkingDayCalendar, today: date) -> list[DueDeadline]:
    """Work the list out now and keep it (the background thread; tests)."""
    with Session(engine.execution_options(sqlite_begin="DEFERRED")) as db:
        found = deadlines_due(db, calendar, today)
    with _lock:
        for other in [k for k in _cache if k[0] == id(engine)]:
            del _cache[other]  # one day per database: yesterday's list is never read again
        _cache[(id(engine), today)] = (time.monotonic(), found)
    return found


def forget() -> None:
    """A deadline may have changed: the kept lists are worked out again within CHANGED_AFTER_SECONDS
    (shown as they are until then)."""
    soon = time.monotonic() - MAX_AGE_SECONDS + CHANGED_AFTER_SECONDS
    with _lock:
        for key, (computed, found) in list(_cache.items()):
            _cache[key] = (min(computed, soon), found)


def clear() -> None:
    with _lock:
        _cache.clear()
