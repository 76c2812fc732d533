"""Cases, their timeline, and the coordinators' inbox items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Case(SQLModel, table=True):
    # The inbox's new cases under its filters, read from the index alone (bench/inbox.py: 30 ms -> 2 ms).
    __table_args__ = (
        Index("ix_case_inbox", "status", "region", "local_authority", "service", "coordinator_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=16)
    status: str = Field(default="new", max_length=32)  # indexed first in ix_case_inbox
    service: str | None = Field(default=None, max_length=32)  # None: an enquiry
    local_authority: str | None = Field(default=None, max_length=80)
    served: bool | None = None
    region: str | None = Field(default=None, max_length=16, index=True)
    coordinator_id: int | None = Field(default=None, foreign_key="staffuser.id")
    referrer_email: str | None = Field(default=None, max_length=320, index=True)
    # The referral as extracted from the first message, with the evidence for each field.
    draft: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    # A case opened from a message that named another case's reference but came from a stranger.
    related_case_id: int | None = Field(default=None, foreign_key="case.id")
    # Merged into another case (models/case_merge.py): closed, everything of it moved onto that one.
    merged_into_id: int | None = Field(default=None, foreign_key="case.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TimelineEvent(SQLModel, table=True):
    __table_args__ = (Index("ix_timeline_case_at", "case_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: str = Field(max_length=32)  # message_in, message_out, status, note, bounce, call, sms, ...
    summary: str = ""
    actor: str = Field(default="system", max_length=120)
    inbound_message_id: int | None = Field(default=None, foreign_key="inboundmessage.id")
    outbox_id: int | None = Field(default=None, foreign_key="outboxmessage.id")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))


class InboxItem(SQLModel, table=True):
    """Work for a coordinator that no case owns yet: triage, unknown callers, call-backs."""

    __table_args__ = (Index("ix_inboxitem_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)  # triage, callback, unknown_caller
    status: str = Field(default="open", max_length=16, index=True)  # open, done
    office: str | None = Field(default=None, max_length=16)
    summary: str = ""
    case_id: int | None = Field(default=None, foreign_key="case.id")
    inbound_message_id: int | None = Field(default=None, foreign_key="inboundmessage.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
