"""Everything we send, as rows written in the same transaction as their cause.

The dispatcher claims due rows, sends, and records the provider's id and the final status. The
idempotency key makes a second write of the same intent a no-op, so a retried handler cannot send
twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow

PENDING, SENDING, SENT, FAILED, SUPPRESSED = "pending", "sending", "sent", "failed", "suppressed"
# Not sent, by design: withdrawn by its cause (a session moved or cancelled), or missed (found past the
# `expires_at` its context carries, after downtime: sending it then would be no use).
WITHDRAWN, MISSED = "withdrawn", "missed"
_CHANNEL_LABELS = {"email": "Email", "sms": "SMS"}


def channel_label(channel: str) -> str:
    """The channel as a coordinator reads it on the timeline ("Email", "SMS")."""
    return _CHANNEL_LABELS.get(channel, channel)


class OutboxMessage(SQLModel, table=True):
    __table_args__ = (
        Index("ix_outbox_due", "status", "due_at"),
        Index("ix_outbox_to_created", "to", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=300)
    channel: str = Field(max_length=8)  # email | sms
    to: str = Field(max_length=320)
    template: str = Field(max_length=120)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    automatic: bool = True  # counts towards the one-automatic-message-per-address throttle
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    # Email threading, recorded when the row is written so replies and bounces can find it.
    message_id: str | None = Field(default=None, max_length=300, unique=True)
    in_reply_to: str | None = Field(default=None, max_length=998)
    references: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    status: str = Field(default=PENDING, max_length=16)
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=120)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    provider_id: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Suppression(SQLModel, table=True):
    """An address or number we must not send to on a channel (undeliverable, STOP)."""

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=8)
    value: str = Field(max_length=320, index=True)
    reason: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lifted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
