"""Mediators, mediation sessions, who attends them, and the dated events a case's deadlines count from.

A session's times are stored in UTC and shown in Europe/London (MDESK_TIMEZONE). `sequence` is the
iCalendar SEQUENCE of the session's invitation: raised at each reschedule and at cancellation, so a
calendar program replaces the entry it holds (same UID) instead of adding a second one.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow

SCHEDULED, CANCELLED, HELD = "scheduled", "cancelled", "held"
MODES = ("in_person", "phone", "video")


class Mediator(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    mobile: str = Field(max_length=20)  # E.164
    email: str = Field(max_length=320, index=True)  # lower-case
    regions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    # The private calendar feed's token (/calendar/<token>.ics); a new one revokes the old.
    calendar_token: str = Field(max_length=64, unique=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MediationSession(SQLModel, table=True):
    __table_args__ = (Index("ix_mediationsession_case_start", "case_id", "start_at"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=120, unique=True)  # the iCalendar UID: stable for the session's life
    case_id: int = Field(foreign_key="case.id")
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    mode: str = Field(max_length=16)  # in_person | phone | video
    venue: str | None = None  # in person: the address
    dial_in: str | None = Field(default=None, max_length=200)  # phone
    link: str | None = Field(default=None, max_length=500)  # video
    notes: str = ""
    status: str = Field(default=SCHEDULED, max_length=16, index=True)  # scheduled | cancelled | held
    sequence: int = 0
    short_notice_agreed: bool = False  # booked with under 5 working days' notice, with the parties' agreement
    booked_by: str = Field(default="system", max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Once held (models.session_outcome): agreement | partial_agreement | no_agreement.
    outcome: str | None = Field(default=None, max_length=24)


class SessionMediator(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("session_id", "mediator_id", name="uq_sessionmediator"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="mediationsession.id", index=True)
    mediator_id: int = Field(foreign_key="mediator.id", index=True)


class SessionAttendee(SQLModel, table=True):
    """A party attending a session, with how they want to be told (copied at booking from the case's
    contact points, so a later change of number is a deliberate edit, not a surprise)."""

    __table_args__ = (UniqueConstraint("session_id", "contact_id", name="uq_sessionattendee"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="mediationsession.id", index=True)
    contact_id: int = Field(foreign_key="contact.id")
    role: str = Field(max_length=32)
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    mobile: str | None = Field(default=None, max_length=20)  # E.164
    wants_email: bool = True
    wants_sms: bool = True


class CaseEvent(SQLModel, table=True):
    """A dated event on a case that a statutory deadline counts from or is met by (models.deadlines.CaseDates
    names the kinds): mediation_requested, la_told, mediation_held, la_decision_letter, certificate_issued..."""

    __table_args__ = (Index("ix_caseevent_case_kind", "case_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    kind: str = Field(max_length=40)
    day: date
    note: str = ""
    recorded_by: str = Field(default="system", max_length=320)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PendingDeadline(SQLModel, table=True):
    """A statutory deadline of an open case that nothing has met yet: its kind (models.deadlines.Kind) and
    the day it is due. Kept by models.deadline_store, recomputed with models.deadlines' own rules in the
    transaction that changes the case's dates, so the inbox reads what is due with one indexed query.
    Whether it is due soon or overdue depends on today only, worked out when read. The case's reference
    and office (both fixed when it is opened) are copied here: the inbox's list, its count and its office
    filter are then read from the index alone, never joined to tens of thousands of cases."""

    __table_args__ = (Index("ix_pendingdeadline_due", "due", "reference", "kind", "region"),)

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    kind: str = Field(max_length=32, primary_key=True)
    due: date
    reference: str = Field(max_length=16)
    region: str | None = Field(default=None, max_length=16)
