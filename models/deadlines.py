"""The statutory deadlines of a case (MISSION.md, "The statutory clock"), computed from its dated events.

Pure: `deadlines_for(dates, calendar, today)` reads only what it is given, so the case page, the digest,
the alert scan and the CLI all get the same answer for the same day. Each deadline is one small rule
function listed in `RULES`; a new deadline is one function and one line.

Status: `met` when the event that satisfies the deadline happened on or before the due date; `missed`
when it happened after it, or has not happened and the due date has passed (then `days_left` is
negative: overdue); `open` otherwise. The appeal window is nobody's duty to meet, so it is `open` until
the day after it closes, then `closed`. `days_left` counts working days after today up to and including
the due date (0: due today), and is None once the satisfying event has happened (the clock stopped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta

from models.workdays import WorkingDayCalendar

CERTIFICATE_WORKING_DAYS = 3
MEDIATION_CALENDAR_DAYS = 30
NOTICE_WORKING_DAYS = 5
HEALTH_WORKING_DAYS = 3
APPEAL_MONTHS_FROM_DECISION = 2
APPEAL_MONTHS_FROM_CERTIFICATE = 1


class Kind(StrEnum):
    CERTIFICATE = "certificate_due"
    MEDIATION = "mediation_due"
    NOTICE = "notice_due"
    HEALTH = "health_notice_due"
    APPEAL = "appeal_window_closes"


class Status(StrEnum):
    OPEN = "open"
    MET = "met"
    MISSED = "missed"
    CLOSED = "closed"  # the appeal window only


@dataclass(frozen=True, slots=True)
class CaseDates:
    """What has happened on a case, and when. A date, or an aware datetime (converted to the day in London);
    None: not happened (yet)."""

    contact: date | datetime | None = None  # the parent's first contact with the service
    certificate_only: bool = False  # the parent wants a certificate, not mediation
    mediation_requested: date | datetime | None = None
    la_told: date | datetime | None = None  # when the LA was told of the request; None: the request date
    mediation_held: date | datetime | None = None  # the day mediation took place (its concluding session)
    mediation_unarranged: date | datetime | None = None  # told the LA cannot arrange mediation within 30 days
    session_booked: date | datetime | None = None  # the day (or start) of the session booked next
    parties_told: date | datetime | None = None  # when the parties were told that session's date and place
    la_decision_letter: date | datetime | None = None  # the LA decision the parent may appeal
    certificate_issued: date | datetime | None = None
    health_issues: bool = False  # the dispute includes health care provision
    health_commissioner_told: date | datetime | None = None


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: Kind
    due: date  # the last day on which doing it is in time
    status: Status
    days_left: int | None  # working days after today up to and including `due`; negative: overdue
    starts: date  # the event the period counts from (for notice: the session it counts back from)
    done_on: date | None  # when the event that satisfies it happened
    rule: str  # where the period comes from, for the coordinator who asks "says who?"


@dataclass(frozen=True, slots=True)
class _Period:
    starts: date
    due: date
    done_on: date | None


_FIELDS = tuple(field.name for field in fields(CaseDates))


def _local(dates: CaseDates, calendar: WorkingDayCalendar) -> CaseDates:
    """The same events as days in England, converted once so the rules compare dates with dates."""
    # Fields walked by name, so typed Any here: only the date fields can hold a datetime.
    days: dict[str, Any] = {
        name: calendar.local_date(value) for name in _FIELDS if isinstance(value := getattr(dates, name), datetime)
    }
    return replace(dates, **days)


def add_months(day: date, months: int) -> date:
    """Calendar months by the corresponding-date rule (Dodds v Walker, HL 1981, as courts and the Tribunal
    read "2 months after"): the same day-of-month, or the month's last day when it has none:
    2026-12-31 + 2 months = 2027-02-28, 2027-01-31 + 1 month = 2027-02-28."""
    return day + relativedelta(months=months)


def appeal_window_closes(decision_letter: date, certificate_issued: date | None, calendar: WorkingDayCalendar) -> date:
    """The last day a notice of appeal is in time: the later of 2 months from the decision letter and
    1 month from the mediation certificate (Tribunal Procedure (HESC) Rules 2008 r.20), moved on by two
    rules that extend it: a period ending from 25 December to 1 January, or in August, runs to the first
    working day after 1 January or 31 August (r.20 for SEN appeals; IPSEA's guidance to parents says the
    same); any other period ending on a non-working day runs to the next working day (r.12(2))."""
    end = add_months(decision_letter, APPEAL_MONTHS_FROM_DECISION)
    if certificate_issued is not None:
        end = max(end, add_months(certificate_issued, APPEAL_MONTHS_FROM_CERTIFICATE))
    if end.month == 12 and end.day >= 25:
        return calendar.next_working_day(date(end.year + 1, 1, 1))
    if end.month == 1 and end.day == 1:
        return calendar.next_working_day(end)
    if end.month == 8:
        return calendar.next_working_day(date(end.year, 8, 31))
    return calendar.on_or_after(end)


# ---- the rules: each returns the period it governs, or None when its starting event has not happened ----


def _certificate(d: CaseDates, cal: WorkingDayCalendar) -> _Period | None:
    # Certificate only: counted from the contact. After mediation: from the day it took place, or from the
    # day we learned the LA cannot arrange it within 30 days, whichever came first.
    if d.certificate_only:
        starts = d.contact
    else:
        starts = min((day for day in (d.mediation_held, d.mediation_unarranged) if day), default=None)
    if starts is None:
        return None
    return _Period(starts, cal.add_working_days(starts, CERTIFICATE_WORKING_DAYS), d.certificate_issued)


def _mediation(d: CaseDates, cal: WorkingDayCalendar) -> _Period | None:
    # "30 days" are calendar days, and the regulations give no roll-over for a weekend or bank holiday.
    starts = d.la_told or d.mediation_requested
    if starts is None or d.certificate_only:
        return None
    return _Period(starts, starts + timedelta(days=MEDIATION_CALENDAR_DAYS), d.mediation_held)


def _notice(d: CaseDates, cal: WorkingDayCalendar) -> _Period | None:
    if d.session_booked is None:
        return None
    due = cal.subtract_working_days(d.session_booked, NOTICE_WORKING_DAYS)
    return _Period(d.session_booked, due, d.parties_told)


def _health(d: CaseDates, cal: WorkingDayCalendar) -> _Period | None:
    starts = d.la_told or d.mediation_requested
    if not d.health_issues or starts is None:
        return None
    return _Period(starts, cal.add_working_days(starts, HEALTH_WORKING_DAYS), d.health_commissioner_told)


def _appeal(d: CaseDates, cal: WorkingDayCalendar) -> _Period | None:
    # Without the decision letter's date the window cannot be known (its 2 months may be the later end).
    if d.la_decision_letter is None:
        return None
    return _Period(d.la_decision_letter, appeal_window_closes(d.la_decision_letter, d.certificate_issued, cal), None)


Rule = Callable[[CaseDates, WorkingDayCalendar], _Period | None]

RULES: tuple[tuple[Kind, Rule, str], ...] = (
    (Kind.CERTIFICATE, _certificate, "SEND Regulations 2014 reg 34: certificate within 3 working days"),
    (Kind.MEDIATION, _mediation, "SEND Regulations 2014: mediation within 30 days of the LA being told"),
    (Kind.NOTICE, _notice, "SEND Code of Practice: parties told at least 5 working days before"),
    (Kind.HEALTH, _health, "SEND Regulations 2014: health commissioner told within 3 working days"),
    (Kind.APPEAL, _appeal, "Tribunal Procedure Rules r.20: 2 months from the decision or 1 from the certificate"),
)


def _status(kind: Kind, period: _Period, today: date) -> Status:
    if period.done_on is not None:
        return Status.MET if period.done_on <= period.due else Status.MISSED
    if today <= period.due:
        return Status.OPEN
    return Status.CLOSED if kind is Kind.APPEAL else Status.MISSED


def _judge(kind: Kind, period: _Period, rule: str, calendar: WorkingDayCalendar, today: date) -> Deadline:
    days_left = None if period.done_on is not None else calendar.working_days_between(today, period.due)
    return Deadline(kind, period.due, _status(kind, period, today), days_left, period.starts, period.done_on, rule)


def deadlines_for(dates: CaseDates, calendar: WorkingDayCalendar, today: date | datetime) -> list[Deadline]:
    """Every deadline the case's events have started, soonest due first."""
    local = _local(dates, calendar)
    today = calendar.local_date(today)
    found = []
    for kind, rule, text in RULES:
        period = rule(local, calendar)
        if period is not None:
            found.append(_judge(kind, period, text, calendar, today))
    return sorted(found, key=lambda deadline: deadline.due)
