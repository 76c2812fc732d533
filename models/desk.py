"""What the coordinators' desk keeps besides the cases: sign-in sessions, sign-in attempts (for the rate
limit), and cases with something new on them that a coordinator has not looked at yet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class StaffSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so a copy of
    the database signs nobody in. Sign-out and the idle timeout delete the row."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    staff_id: int = Field(foreign_key="staffuser.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """One try at signing in, kept for the rate limit (by address and by client) and then pruned."""

    __table_args__ = (
        Index("ix_loginattempt_email_at", "email", "at"),
        Index("ix_loginattempt_client_at", "client", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    client: str = Field(max_length=64)
    ok: bool = False
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseAttention(SQLModel, table=True):
    """A case with news a coordinator has not looked at (a reply, later a call or an SMS): one row a
    case, the first unseen event's time and kind; a coordinator marking it seen deletes the row."""

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    reason: str = Field(max_length=32)  # reply, call, sms, ...
    since: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    count: int = 1
