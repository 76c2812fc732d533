"""Calls and SMS, as the Twilio webhooks tell of them, and the call-backs a coordinator owes.

Each row is keyed by Twilio's own id (CallSid, MessageSid): a webhook repeated or arriving out of
order finds its row and changes only what it adds. A call's outcome is worked out from the facts the
callbacks bring (telephony/call_log.py), so their order does not matter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow

# Call outcomes, as a coordinator reads them.
ANSWERED, MISSED, VOICEMAIL, BUSY, FAILED = "answered", "missed", "voicemail", "busy", "failed"
# A call's recording, as `calls list` shows it.
REC_NONE, REC_PENDING, REC_STORED, REC_DELETED_EMPTY = "none", "pending", "stored", "empty"

# SMS delivery states in the order Twilio moves through them; a callback never moves a row back.
SMS_STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "receiving": 3,
    "received": 4,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}


class Call(SQLModel, table=True):
    __table_args__ = (Index("ix_call_from_started", "from_number", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(unique=True, max_length=64)
    direction: str = Field(default="inbound", max_length=24)
    from_number: str | None = Field(default=None, max_length=32)  # E.164; None: withheld or unreadable
    withheld: bool = False
    to_number: str = Field(default="", max_length=32)
    office: str | None = Field(default=None, max_length=16)  # the region of the office called
    after_hours: bool = False  # nobody was rung: the caller went straight to the office's message
    status: str | None = Field(default=None, max_length=24)  # Twilio's CallStatus, the last final one
    dial_status: str | None = Field(default=None, max_length=24)  # DialCallStatus of <Dial>'s action
    outcome: str | None = Field(default=None, max_length=16)  # answered, missed, voicemail, busy, failed
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    duration_seconds: int | None = None
    # The voicemail: Twilio's recording id and address until it is stored here (recording_path).
    recording_sid: str | None = Field(default=None, max_length=64, index=True)
    recording_url: str | None = Field(default=None, max_length=500)
    recording_seconds: int | None = None
    recording_state: str = Field(default=REC_NONE, max_length=16, index=True)
    recording_path: str | None = Field(default=None, max_length=500)  # relative to MDESK_VAR_DIR
    recording_attempts: int = 0
    recording_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recording_error: str | None = None
    transcript: str | None = None
    transcript_status: str | None = Field(default=None, max_length=16)
    # What the referral extractor read in the transcript (fields with their evidence), once read.
    reading: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Who it was: one case (case_id), or a coordinator's triage item (several cases or none).
    match: str | None = Field(default=None, max_length=16)  # case, several, none, withheld
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    inbox_item_id: int | None = Field(default=None, foreign_key="inboxitem.id")
    callback_task_id: int | None = Field(default=None, foreign_key="callbacktask.id")
    # Which timeline events were written (outcome, voicemail, transcript): each is written once.
    noted: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SmsMessage(SQLModel, table=True):
    __table_args__ = (Index("ix_sms_from_created", "from_number", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_sid: str = Field(unique=True, max_length=64)
    direction: str = Field(max_length=16)  # inbound | outbound
    from_number: str = Field(default="", max_length=32)
    to_number: str = Field(default="", max_length=32)
    office: str | None = Field(default=None, max_length=16)
    body: str = ""
    status: str = Field(default="received", max_length=16)
    error_code: int | None = None
    error_message: str | None = None
    segments: int = 1
    encoding: str = Field(default="GSM-7", max_length=8)  # GSM-7 | UCS-2
    keyword: str | None = Field(default=None, max_length=16)  # stop, start, help: what it asked of us
    reading: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    match: str | None = Field(default=None, max_length=16)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    inbox_item_id: int | None = Field(default=None, foreign_key="inboxitem.id")
    outbox_id: int | None = Field(default=None, foreign_key="outboxmessage.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CallbackTask(SQLModel, table=True):
    """A caller to ring back: one open task per office and number, however often they rang.

    `open_key` ("london:+447700900123") is unique and set only while the task is open, so a second
    task for the same caller cannot be written while the first is open (on SQLite and PostgreSQL
    alike, with no partial index); closing the task clears it."""

    id: int | None = Field(default=None, primary_key=True)
    open_key: str | None = Field(default=None, max_length=64, unique=True)
    office: str = Field(max_length=16)
    number: str = Field(max_length=32, index=True)
    status: str = Field(default="open", max_length=8)  # open | done
    due_at: datetime = Field(sa_type=UTCDateTime)
    calls: int = 1
    voicemails: int = 0
    case_id: int | None = Field(default=None, foreign_key="case.id")
    inbox_item_id: int | None = Field(default=None, foreign_key="inboxitem.id")
    first_call_sid: str = Field(max_length=64)
    last_call_sid: str = Field(max_length=64)
    closed_by_call_sid: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
