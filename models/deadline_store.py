"""The stored statutory deadlines (models.sessions.PendingDeadline): each open case's deadlines that
nothing has met yet, kept up to date in the transaction that moves them, so the inbox lists what is
due soon or overdue with one indexed query instead of computing every open case's deadlines.

What is stored does not depend on the day: a deadline's kind and due date come from the case's dates
alone (models.deadlines); only whether it is due soon or overdue, and the working days left, depend on
today, and those are worked out when read from the due date. So nothing needs refreshing overnight.

Kept by:
- `store`, run before a transaction (not a savepoint) commits for the cases it marked (models.deadline_marks): the
  case's deadlines computed by models.case_clock as the case page computes them, those not yet met
  written, the case's old rows replaced; a case that is not open keeps none;
- `backfill`, for every open case (migration 0011_next_deadline; `bench/inbox.py` after seeding with
  Core; after a bank holidays update): a few thousand cases a batch.

A write that changes a case's dates must either go through the ORM or call
`models.deadline_marks.deadlines_moved`; one that does neither leaves the stored deadlines as they were
until the case next changes (or the next `backfill`). The working days use England's calendar in
London's time zone (`WorkingDayCalendar()`), the service's own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from models.case_clock import deadlines_where
from models.case_status import OPEN_STATUSES
from models.cases import Case
from models.metrics import PIPELINE_ERRORS
from models.rows import insert_rows, run, table
from models.sessions import PendingDeadline
from models.types import utcnow
from models.workdays import WorkingDayCalendar

log = logging.getLogger(__name__)
PENDING = table(PendingDeadline)
CASE = table(Case)
BATCH = 2_000


@cache
def _calendar() -> WorkingDayCalendar:
    return WorkingDayCalendar()  # loads the bank holidays once


def prepare() -> None:
    """Load this year's bank holidays now (the daemon's start-up) rather than in the first commit."""
    _calendar().is_working_day(_calendar().local_date(utcnow()))


def store(db: Session, case_ids: Iterable[int]) -> int:
    """Replace these cases' stored deadlines with those models.case_clock computes now (open cases'
    deadlines not yet met); returns how many rows were written."""
    ids = sorted(set(case_ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        run(db, delete(PENDING).where(PENDING.c.case_id.in_(chunk)))
        written += _write_each(db, chunk)
    return written


def _write_each(db: Session, ids: list[int]) -> int:
    """The cases' deadlines written; a case whose deadlines cannot be worked out (a fault in the clock's
    rules: a bug) is logged, counted and left without stored ones, never failing the transaction that
    commits it (intake commits a whole batch of messages at once). Its case page still shows them."""
    try:
        return _write(db, [col(Case.id).in_(ids), col(Case.status).in_(sorted(OPEN_STATUSES))])
    except SQLAlchemyError:
        raise  # the database's fault: the transaction's to handle
    except Exception as exc:
        if len(ids) > 1:
            return sum(_write_each(db, [one]) for one in ids)
        log.error("stored deadlines: case id %d's could not be worked out (%s)", ids[0], type(exc).__name__)
        log.debug("deadline fault", exc_info=True)  # its text may quote the case's data
        PIPELINE_ERRORS.labels("deadlines").inc()
        return 0


def _write(db: Session, conditions: list[Any]) -> int:
    calendar = _calendar()
    found = deadlines_where(db, calendar, calendar.local_date(utcnow()), conditions)
    rows = [
        {
            "case_id": item.case_id,
            "kind": str(item.deadline.kind),
            "due": item.deadline.due,
            "reference": item.reference,
            "region": item.region,
        }
        for item in found
        if item.deadline.done_on is None
    ]
    insert_rows(db, PendingDeadline, rows)
    return len(rows)


def backfill(bind: Engine | Connection) -> int:
    """Every open case's stored deadlines worked out afresh (the rows of cases no longer open removed);
    in batches of cases, each batch its own read of the cases, events and sessions."""
    with Session(bind) as db:
        run(db, delete(PENDING))
        open_ids = list(
            run(db, select(CASE.c.id).where(CASE.c.status.in_(sorted(OPEN_STATUSES))).order_by(CASE.c.id)).scalars()
        )
        written = 0
        for start in range(0, len(open_ids), BATCH):
            chunk = open_ids[start : start + BATCH]
            written += _write(db, [col(Case.id).in_(chunk)])
            db.expunge_all()  # a batch's cases are not needed again
        db.info.pop("deadlines_moved", None)  # all written here: nothing to recompute at commit
        db.commit()
    return written
