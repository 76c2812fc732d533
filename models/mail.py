"""Mail as it arrived: raw bytes kept before anything acts on them, attachments, quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class InboundMessage(SQLModel, table=True):
    __table_args__ = (
        # Where it sat on the server: the natural key of one fetch.
        UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_inbound_mailbox_uid"),
        # What it is: survives a UIDVALIDITY change or a second copy of the same file.
        UniqueConstraint("dedupe_key", name="uq_inbound_dedupe"),
        Index("ix_inbound_message_id", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=300)  # "imap://user@host/INBOX" or "maildir:/path"
    uidvalidity: int = 0
    uid: str = Field(max_length=200)  # IMAP UID, or the Maildir file's unique name
    message_id: str | None = Field(default=None, max_length=998)
    sha256: str = Field(max_length=64)
    dedupe_key: str = Field(max_length=128)  # sha256 of (Message-ID, content hash)
    # sha256 of what the message says (inbox.intake.content_key): two copies of one message have the
    # same; another message under a reused Message-ID has not. None: stored before 0002, or unparsed.
    content_key: str | None = Field(default=None, max_length=64)
    size: int = 0  # of its raw bytes, which are an InboundRaw row of their own
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # received -> processed | quarantined. "processed" covers "ignored" (machine mail): see outcome.
    status: str = Field(default="received", max_length=16, index=True)
    outcome: str | None = Field(default=None, max_length=32)  # new_case, reply, triage, automated, bounce
    automated: str | None = Field(default=None, max_length=16)
    sender_email: str | None = Field(default=None, max_length=320)
    subject: str | None = None
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    # The names of the classifier rules that fired on it (inbox/classify), beside their reasons above.
    rules: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    # Steps that failed on it with a bug ("classify:<rule>"): what is missing is missing because of a fault.
    faults: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    marked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # marked on the server


class InboundRaw(SQLModel, table=True):
    """A stored message's bytes as they came, in a table of their own (models/raw_mail.py reads and
    writes them): the message's row is updated as intake decides about it and read by every list, and
    neither should copy the bytes (issue 8.5; SQLite rewrites a whole row on UPDATE)."""

    inbound_id: int = Field(
        primary_key=True, foreign_key="inboundmessage.id", sa_column_kwargs={"autoincrement": False}
    )
    # The table's last column: SQLite keeps a zeroblob() there as a length, not as zeros in memory.
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class StoredAttachment(SQLModel, table=True):
    """What an attachment is and where it is in its message; its bytes are the raw message's
    (inbox.parse.attachments.stored_attachment_bytes decodes them), not stored a second time."""

    id: int | None = Field(default=None, primary_key=True)
    inbound_message_id: int = Field(foreign_key="inboundmessage.id", index=True)
    filename: str | None = Field(default=None, max_length=500)
    content_type: str = Field(max_length=200)
    size: int
    sha256: str = Field(max_length=64)
    # Its position in inbox.parse.parts.walk of the message's MIME tree; None: stored before 0004.
    part_index: int | None = None
    # The decoded bytes, only in rows stored before 0004 (a second copy of what the raw message holds).
    payload: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class QuarantineEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    inbound_message_id: int = Field(foreign_key="inboundmessage.id", unique=True)
    reason: str
    detail: str = ""  # the traceback, for an engineer
    attempts: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
