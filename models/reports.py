"""Reports: referrals per local authority and month, by service, and how far they went.

Counted from the cases table (what anonymising keeps). Sessions held, outcomes, the agreement rate and
the statutory deadlines met come from sessions and deadlines (issue 11): until those tables exist the
report counts the cases whose status reached a session or a certificate, and says so.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlmodel import Session

from models.cases import Case
from models.rows import run, table

CASE = table(Case)
SERVICES = ("mediation", "certificate", "disagreement_resolution", "facilitation", "enquiry")
REACHED_SESSION = frozenset({"session_held", "outcome_recorded"})
CERTIFICATE = "certificate_issued"
COLUMNS = ["month", "local_authority", *SERVICES, "total", "reached_session", "certificate_issued", "closed"]


@dataclass(slots=True)
class ReportRow:
    month: str  # YYYY-MM
    local_authority: str
    by_service: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICES, 0))
    total: int = 0
    reached_session: int = 0
    certificate_issued: int = 0
    closed: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "month": self.month,
            "local_authority": self.local_authority,
            **self.by_service,
            "total": self.total,
            "reached_session": self.reached_session,
            "certificate_issued": self.certificate_issued,
            "closed": self.closed,
        }


def referrals_report(
    session: Session, start: date, end: date, *, local_authority: str | None = None
) -> list[ReportRow]:
    """Cases opened from `start` to `end` (inclusive), one row per month and LA, months in order."""
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)
    until = datetime(end.year, end.month, end.day, 23, 59, 59, tzinfo=UTC)
    # A case merged into another was the same family's referral a second time: counted once, as the survivor.
    query = select(CASE.c.created_at, CASE.c.local_authority, CASE.c.service, CASE.c.status).where(
        CASE.c.created_at >= since, CASE.c.created_at <= until, CASE.c.merged_into_id.is_(None)
    )
    if local_authority:
        query = query.where(CASE.c.local_authority == local_authority)
    rows: dict[tuple[str, str], ReportRow] = {}
    for created_at, la, service, status in run(session, query):
        key = (f"{created_at:%Y-%m}", la or "Not known")
        row = rows.setdefault(key, ReportRow(*key))
        row.by_service[service if service in SERVICES else "enquiry"] += 1
        row.total += 1
        row.reached_session += status in REACHED_SESSION
        row.certificate_issued += status == CERTIFICATE
        row.closed += status == "closed"
    return [rows[k] for k in sorted(rows)]


def monthly_totals(rows: list[ReportRow]) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.month] = totals.get(row.month, 0) + row.total
    return sorted(totals.items())


def as_csv(rows: list[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.as_dict())
    return out.getvalue()
