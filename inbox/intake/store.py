"""Storing a message's raw bytes first, and knowing a message already stored.

Every message is stored as it came (raw, with its hash and keys) before any step decides about it, in
the same transaction as the steps. A message is known by where it sat on the server or by its bytes
(handed out again after a crash before the mark: only marked again), and an earlier copy of it by its
Message-ID and content (`content_key`): two deliveries of one message differ in their bytes, not in
what it says. Plain rows through statements built once (models/rows.py says why).

Its bytes go to a row of their own (models/raw_mail.py `write_raw`): the steps' decision, written to
the message's row, never copies them (issue 8.5).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import and_, bindparam, or_, select, update
from sqlmodel import Session

from inbox.message import ParsedMessage
from inbox.sources.base import MessageKey
from models.mail import InboundMessage, StoredAttachment
from models.raw_mail import write_raw
from models.rows import insert_row, insert_rows, run, table

INBOUND = table(InboundMessage)

_AT_KEY = and_(
    INBOUND.c.mailbox == bindparam("mailbox"),
    INBOUND.c.uidvalidity == bindparam("uidvalidity"),
    INBOUND.c.uid == bindparam("uid"),
)
_SAME_BYTES = INBOUND.c.dedupe_key == bindparam("dedupe_key")
# In one query: the message as stored already (where it sat on the server, or the same bytes), and
# any earlier message with the same Message-ID: a copy (other bytes, same content: e.g. one copy by
# To and one by Cc) or another message that reuses the Message-ID (content_key and sender tell).
_KNOWN = select(
    INBOUND.c.id,
    INBOUND.c.message_id,
    INBOUND.c.case_id,
    INBOUND.c.status,
    INBOUND.c.sender_email,
    INBOUND.c.content_key,
    _AT_KEY.label("at_key"),
    _SAME_BYTES.label("same_bytes"),
).where(or_(_AT_KEY, _SAME_BYTES, INBOUND.c.message_id == bindparam("message_id")))
_BY_DEDUPE_KEY = select(INBOUND.c.id).where(INBOUND.c.dedupe_key == bindparam("dedupe_key"))
_ATTACHMENT_OF = select(table(StoredAttachment).c.id).where(
    table(StoredAttachment).c.inbound_message_id == bindparam("inbound_id")
)
SAVE_INBOUND = update(INBOUND).where(INBOUND.c.id == bindparam("inbound_id"))  # SET: the columns given


@dataclass
class Inbound:
    """The stored message as the steps decide about it; `save` writes their decision to its row."""

    id: int
    message_id: str | None
    status: str = "received"
    outcome: str | None = None
    automated: str | None = None
    case_id: int | None = None
    reasons: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # the classifier rules that fired
    faults: list[str] = field(default_factory=list)  # steps that failed with a bug: "classify:<rule>", "extract:<step>"
    copy_of: tuple[int, int | None] | None = None  # an earlier copy taken already: its id and case
    id_reused: str | None = None  # how its Message-ID was used before by another message, if it was

    def save(self, session: Session, **more: object) -> None:
        values = {
            "inbound_id": self.id,
            "status": self.status,
            "outcome": self.outcome,
            "automated": self.automated,
            "case_id": self.case_id,
            "reasons": self.reasons,
            "rules": self.rules,
            "faults": self.faults,
            **more,
        }
        run(session, SAVE_INBOUND, values)


class Known(NamedTuple):
    """What `known` finds of a message in the database before it is stored."""

    stored: Inbound | None  # the message itself, stored already
    copy_of: tuple[int, int | None] | None  # an earlier processed copy of it: its id and case
    id_reused: str | None  # its Message-ID names another message too: the note that says so
    content: str  # its content_key


def dedupe_key(message_id: str | None, sha256: str) -> str:
    return hashlib.sha256(f"{message_id or ''}\0{sha256}".encode()).hexdigest()


def content_key(parsed: ParsedMessage) -> str:
    """What makes two deliveries one message: the same sender, subject, date, words and attachments.

    Copies of one message differ in their bytes (one by To and one by Cc: other Received and
    Delivered-To headers; a relay may re-encode the body), not in these. Another sender or other
    content under the same Message-ID is another message, whatever its Message-ID says."""
    fields = [
        parsed.sender.email if parsed.sender else "",
        " ".join(parsed.subject.split()),
        parsed.date.isoformat() if parsed.date else "",
        " ".join(parsed.text.split()),
        sorted(attachment.sha256 for attachment in parsed.attachments),
    ]
    # JSON keeps the fields apart whatever they contain (NUL bytes, lone surrogates).
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def known(session: Session, key: MessageKey, parsed: ParsedMessage) -> Known:
    """The message as already stored (by where it sat on the server, else by its bytes), an
    earlier processed copy of it (same Message-ID and content: its id and case), and whether
    another message used its Message-ID before: in one query."""
    where = {
        "mailbox": key.mailbox,
        "uidvalidity": key.uidvalidity,
        "uid": key.uid,
        "dedupe_key": dedupe_key(parsed.message_id, parsed.sha256),
        "message_id": parsed.message_id,
    }
    rows = sorted(run(session, _KNOWN, where), key=lambda row: row.id)
    stored = [row for row in rows if row.at_key] or [row for row in rows if row.same_bytes]
    itself = Inbound(stored[0].id, stored[0].message_id) if stored else None
    ours = content_key(parsed)
    # Other messages under its Message-ID (not itself: a quarantined message retried is stored).
    same_id = [row for row in rows if parsed.message_id and row.message_id == parsed.message_id]
    same_id = [row for row in same_id if itself is None or row.id != itself.id]
    # A row stored before content keys (None) is never taken for a copy: a message from its
    # sender then goes to that case's triage (step_place), not silently onto it.
    copies = [row for row in same_id if row.status == "processed" and row.content_key == ours]
    if copies:
        return Known(itself, (copies[0].id, copies[0].case_id), None, ours)
    sender = parsed.sender.email if parsed.sender else None
    others = {row.sender_email for row in same_id if row.content_key != ours}
    reuse = (
        None
        if not others
        else "Message-ID reused by another sender"
        if others - {sender}
        else "Message-ID reused by another message from the same sender"
    )
    return Known(itself, None, reuse, ours)


def store_message(session: Session, key: MessageKey, parsed: ParsedMessage, **columns: object) -> tuple[Inbound, bool]:
    """The message stored (a row; `columns`: more of its values), or as it was stored already."""
    existing, copy_of, id_reused, content = known(session, key, parsed)
    if existing is not None:
        return existing, False
    row = {
        "mailbox": key.mailbox,
        "uidvalidity": key.uidvalidity,
        "uid": key.uid,
        "sha256": parsed.sha256,
        "size": len(parsed.raw),
        **_read_columns(parsed, content),
        **columns,
    }
    inbound = Inbound(insert_row(session, InboundMessage, row), parsed.message_id, copy_of=copy_of, id_reused=id_reused)
    write_raw(session, inbound.id, parsed.raw)
    _store_attachments(session, inbound.id, parsed)
    return inbound, True


def complete_unread(session: Session, inbound_id: int, parsed: ParsedMessage) -> None:
    """A message stored unread (reading timed out or failed) and now read, on a retry: its row gets
    what reading found (Message-ID, sender, subject, keys) and its attachments their rows, as if it
    had been read the first time, so that copies of it are recognised and the case shows its sender."""
    run(session, SAVE_INBOUND, {"inbound_id": inbound_id, **_read_columns(parsed, content_key(parsed))})
    if run(session, _ATTACHMENT_OF, {"inbound_id": inbound_id}).first() is None:
        _store_attachments(session, inbound_id, parsed)


def _read_columns(parsed: ParsedMessage, content: str) -> dict[str, object]:
    """The columns of a stored message that come from reading it."""
    return {
        "message_id": parsed.message_id,
        "dedupe_key": dedupe_key(parsed.message_id, parsed.sha256),
        "content_key": content,
        "sender_email": parsed.sender.email[:320] if parsed.sender else None,  # the column's size
        "subject": parsed.subject[:1000],
    }


def _store_attachments(session: Session, inbound_id: int, parsed: ParsedMessage) -> None:
    if parsed.attachments:
        # Nobody reads them back in this transaction: rows, not objects.
        insert_rows(
            session,
            StoredAttachment,
            [
                {
                    "inbound_message_id": inbound_id,
                    "filename": attachment.filename,
                    "content_type": attachment.content_type,
                    "size": attachment.size,
                    "sha256": attachment.sha256,
                    "part_index": attachment.index,  # its bytes are the raw message's: not stored twice
                }
                for attachment in parsed.attachments
            ],
        )


def store_bare(session: Session, key: MessageKey, parsed: ParsedMessage) -> tuple[Inbound, bool]:
    """Store only the raw bytes and keys: for a message whose decoded fields the database refused."""
    dkey = dedupe_key(None, parsed.sha256)
    existing = run(session, _BY_DEDUPE_KEY, {"dedupe_key": dkey}).scalar()
    if existing is not None:
        return Inbound(existing, None), False
    row = {
        "mailbox": key.mailbox, "uidvalidity": key.uidvalidity, "uid": key.uid, "sha256": parsed.sha256,
        "dedupe_key": dkey, "size": len(parsed.raw),
    }  # fmt: skip
    inbound = Inbound(insert_row(session, InboundMessage, row), None)
    write_raw(session, inbound.id, parsed.raw)
    return inbound, True
