"""What every mail source offers intake: messages not yet processed, and a way to mark them.

Progress lives on the server (a keyword flag or a move to another folder), never in `\\Seen`: a
coordinator may read the mailbox in their own client, and reading must not hide a referral from us.
A message is marked only after intake has committed it, so a crash in between means it is handed
out again; intake is idempotent on the key and the Message-ID, which makes that harmless.
"""

from __future__ import annotations

import imaplib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class SourceError(Exception):
    """The source cannot go on right now (server gone, folder missing, ...); reconnecting may help."""


# What a watcher treats as "the connection is gone, reconnect later" rather than a bug.
# imapclient's exceptions are imaplib's (IMAPClientError is imaplib.IMAP4.error); socket
# timeouts and refused connections are OSError.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (SourceError, OSError, imaplib.IMAP4.error)


@dataclass(frozen=True, slots=True)
class MessageKey:
    mailbox: str  # stable id of the folder: "imap://user@host:port/INBOX" or "maildir:/abs/path"
    uidvalidity: int  # IMAP UIDVALIDITY; 0 for Maildir
    uid: str  # IMAP UID as str; the Maildir file's unique base name


@dataclass(frozen=True, slots=True)
class SourceMessage:
    key: MessageKey
    raw: bytes
    # When the mailbox got it (IMAP INTERNALDATE, the Maildir file's time), aware; None: unknown.
    # Unlike the Date header, the sender cannot set it.
    received_at: datetime | None = None
    # The size the source gave before fetching (Maildir: the file's, IMAP: RFC822.SIZE); None:
    # not known. Intake decides "too large" on it and len(raw), before parsing anything.
    size: int | None = None

    def __repr__(self) -> str:  # raw is personal data: keep it out of logs and tracebacks
        return f"SourceMessage(key={self.key!r}, size={len(self.raw)})"


class MailSource(Protocol):
    name: str  # for logs and health: no secrets, no personal data

    def connect(self) -> None:
        """Open the source; raises SourceError (or OSError / imapclient errors) on failure."""

    def close(self) -> None:
        """Release the connection; never raises."""

    def pending(self, limit: int = 200, exclude: Collection[MessageKey] = ()) -> list[SourceMessage]:
        """Messages not yet marked processed, oldest first; `exclude`: keys the caller holds already
        (fetched and not yet marked), left out before `limit` applies."""

    def mark_processed(self, key: MessageKey) -> None:
        """Mark a committed message so it is never pending again; idempotent."""

    def wait(self, timeout: float) -> None:
        """Block until something may have arrived, `timeout` passed, or interrupt() was called."""

    def interrupt(self) -> None:
        """Make a blocked (or the next) wait() return soon; safe to call from any thread."""
