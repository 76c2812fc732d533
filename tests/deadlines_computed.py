"""The inbox's deadlines list computed the slow way, from every open case's events (about 0.3 ms a
case): the rule models.deadline_queue's stored list is checked against."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from models.case_clock import KIND_LABELS, all_deadlines, needs_attention
from models.deadline_queue import DueDeadline
from models.deadlines import Status
from models.workdays import WorkingDayCalendar


def deadlines_due(db: Session, calendar: WorkingDayCalendar, today: date | datetime) -> list[DueDeadline]:
    """The same list computed from every open case's events (seconds at tens of thousands of cases)."""
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
