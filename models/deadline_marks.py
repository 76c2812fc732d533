"""Which cases' statutory deadlines a transaction moved, so models.deadline_store recomputes them before
it commits: the stored deadlines change with the dates they come from, in the same transaction.

Two ways a case is marked:
- a write through the ORM (sessions booked, moved, cancelled, held, their outcomes; case events such as
  the certificate issued; a case's status moved by models.session_ops) is seen at flush, by its class;
- a write with SQLAlchemy Core (models/rows.py: a case opened, its status changed, closed or reopened,
  a field edited) calls `deadlines_moved(session, case_id)`: Core statements raise no ORM event.

Light on purpose (no import of the clock): models.case_ops calls it, and models.case_clock imports
models.case_ops.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from models.cases import Case
from models.sessions import CaseEvent, MediationSession

_KEY = "deadlines_moved"


def deadlines_moved(session: Session, *case_ids: int) -> None:
    """These cases' dates (or status) changed in this transaction: their stored deadlines are
    recomputed before it commits."""
    session.info.setdefault(_KEY, set()).update(case_ids)


def marked(session: Session) -> set[int]:
    return set(session.info.get(_KEY, ()))


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Case) and obj.id is not None:
            deadlines_moved(session, obj.id)
        elif isinstance(obj, CaseEvent | MediationSession):
            deadlines_moved(session, obj.case_id)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    session.flush()  # the ORM's writes first: its flush marks the cases they touch
    if session.in_nested_transaction():
        # A savepoint (intake: one a message) keeps its marks for the whole transaction's commit: one
        # recomputation for the batch, not one a message (writing 1.99 -> 1.17 ms CPU a message in
        # bench/intake_cost.py). A mark of a savepoint rolled back since finds its case gone or as it
        # was: recomputed all the same, harmlessly.
        return
    case_ids = session.info.pop(_KEY, None)
    if case_ids:
        from models.deadline_store import store  # at commit: the clock imports models.case_ops

        store(session, case_ids)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back or closed without commit: the marks go with it
        session.info.pop(_KEY, None)
