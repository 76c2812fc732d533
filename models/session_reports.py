"""The reports' sessions figures for a chosen period (and LA): sessions held, their outcomes, the
agreement rate, the median days from referral to first session, the statutory deadlines met, and the
provider's headline, the share of mediated cases that reached agreement.

Definitions, as the report page states them:
- a session counts in the period it was held (its start, in the service's time zone);
- agreement means agreement reached or agreement on some issues (models.session_outcome.REACHED_AGREEMENT);
- days to first session: from the case's opening to the start of its first session not cancelled, for the
  cases whose first session falls in the period;
- deadlines met: of the cases opened in the period, each deadline settled (met or missed) so far.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.case_clock import deadlines_where
from models.cases import Case
from models.deadlines import Status
from models.session_outcome import OUTCOMES, REACHED_AGREEMENT
from models.sessions import CANCELLED, HELD, MediationSession
from models.workdays import WorkingDayCalendar


@dataclass(slots=True)
class SessionsReport:
    sessions_held: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    agreement_rate: float | None = None  # of sessions held with an outcome recorded
    median_days_to_first_session: float | None = None
    first_sessions: int = 0
    deadlines_met: int = 0
    deadlines_missed: int = 0
    cases_mediated: int = 0
    cases_agreed: int = 0

    @property
    def deadlines_met_share(self) -> float | None:
        settled = self.deadlines_met + self.deadlines_missed
        return self.deadlines_met / settled if settled else None

    @property
    def outcome_rows(self) -> list[tuple[str, int]]:
        return [(OUTCOMES[key], n) for key, n in self.outcomes.items()]

    @property
    def headline(self) -> float | None:
        """The provider's headline: of the cases with a session held in the period, the share that reached
        agreement."""
        return self.cases_agreed / self.cases_mediated if self.cases_mediated else None


def _bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(0), tzinfo=zone), datetime.combine(
        end + timedelta(days=1), time(0), tzinfo=zone
    )


def sessions_report(
    db: Session,
    start: date,
    end: date,
    *,
    calendar: WorkingDayCalendar,
    today: date,
    local_authority: str | None = None,
) -> SessionsReport:
    since, until = _bounds(start, end, calendar.tz)
    report = SessionsReport()
    in_la = [Case.local_authority == local_authority] if local_authority else []
    held = db.exec(
        select(MediationSession)
        .join(Case, col(Case.id) == MediationSession.case_id)
        .where(
            MediationSession.status == HELD,
            col(MediationSession.start_at) >= since,
            col(MediationSession.start_at) < until,
            *in_la,
        )
    ).all()
    report.sessions_held = len(held)
    counted = Counter(item.outcome for item in held if item.outcome in OUTCOMES)
    report.outcomes.update(counted)
    with_outcome = sum(counted.values())
    agreed = sum(n for outcome, n in counted.items() if outcome in REACHED_AGREEMENT)
    report.agreement_rate = agreed / with_outcome if with_outcome else None
    cases = {item.case_id for item in held}
    report.cases_mediated = len(cases)
    report.cases_agreed = len({item.case_id for item in held if item.outcome in REACHED_AGREEMENT})

    first_rows = db.exec(
        select(Case.created_at, MediationSession.case_id, MediationSession.start_at)
        .join(Case, col(Case.id) == MediationSession.case_id)
        .where(MediationSession.status != CANCELLED, *in_la)
        .order_by(col(MediationSession.case_id), col(MediationSession.start_at))
    ).all()
    firsts: dict[int, tuple[datetime, datetime]] = {}
    for opened, case_id, starts in first_rows:
        firsts.setdefault(case_id, (opened, starts))
    days = [(starts - opened).total_seconds() / 86400 for opened, starts in firsts.values() if since <= starts < until]
    report.first_sessions = len(days)
    report.median_days_to_first_session = round(statistics.median(days), 1) if days else None

    opened_in_period = [col(Case.created_at) >= since, col(Case.created_at) < until, *in_la]
    for item in deadlines_where(db, calendar, today, opened_in_period):
        if item.deadline.status is Status.MET:
            report.deadlines_met += 1
        elif item.deadline.status is Status.MISSED:
            report.deadlines_missed += 1
    return report


def sessions_by_local_authority(
    db: Session, start: date, end: date, *, calendar: WorkingDayCalendar, today: date
) -> list[tuple[str, SessionsReport]]:
    """The same figures for each LA with a session held in the period, by name."""
    since, until = _bounds(start, end, calendar.tz)
    names = db.exec(
        select(Case.local_authority)
        .join(MediationSession, col(MediationSession.case_id) == Case.id)
        .where(
            MediationSession.status == HELD,
            col(MediationSession.start_at) >= since,
            col(MediationSession.start_at) < until,
            col(Case.local_authority).is_not(None),
        )
        .distinct()
    ).all()
    return [
        (name, sessions_report(db, start, end, calendar=calendar, today=today, local_authority=name))
        for name in sorted(n for n in names if n)
    ]


SESSION_COLUMNS = [
    "local_authority", "sessions_held", *OUTCOMES, "agreement_rate", "cases_mediated", "cases_agreed",
    "headline", "median_days_to_first_session", "deadlines_met", "deadlines_missed",
]  # fmt: skip


def sessions_csv(rows: list[tuple[str, SessionsReport]]) -> str:
    """One row per LA (the first "All"), shares as fractions (0.5), empty where nothing was counted."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SESSION_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for name, r in rows:
        writer.writerow(
            {
                "local_authority": name,
                "sessions_held": r.sessions_held,
                **r.outcomes,
                "agreement_rate": "" if r.agreement_rate is None else round(r.agreement_rate, 4),
                "cases_mediated": r.cases_mediated,
                "cases_agreed": r.cases_agreed,
                "headline": "" if r.headline is None else round(r.headline, 4),
                "median_days_to_first_session": r.median_days_to_first_session or "",
                "deadlines_met": r.deadlines_met,
                "deadlines_missed": r.deadlines_missed,
            }
        )
    return out.getvalue()
