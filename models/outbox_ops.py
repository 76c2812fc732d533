"""Writing to the outbox, inside the caller's transaction.

`enqueue` is idempotent on its key: the same intent written twice (a retried handler, a re-scan
after a crash) returns the row already there instead of adding a second message.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from models.outbox import FAILED, SUPPRESSED, OutboxMessage, Suppression
from models.rows import insert_row, insert_rows, run, table
from models.types import utcnow

OUTBOX = table(OutboxMessage)
SUPPRESSION = table(Suppression)

# Built once, executed with parameters (models/rows.py says why).
_BY_KEY = select(OUTBOX.c.id).where(OUTBOX.c.idempotency_key == bindparam("key"))
_AUTOMATIC_SINCE = (
    select(OUTBOX.c.id)
    .where(
        OUTBOX.c.to == bindparam("to"),  # stored lower-case for email (enqueue_id): the index serves it
        OUTBOX.c.automatic.is_(True),
        OUTBOX.c.created_at >= bindparam("since", type_=OUTBOX.c.created_at.type),
        # Two comparisons, not NOT IN: a list is rendered at execution, which costs more than the query.
        OUTBOX.c.status != FAILED,
        OUTBOX.c.status != SUPPRESSED,
    )
    .limit(1)
)
_SUPPRESSED = (
    select(SUPPRESSION.c.id)
    .where(
        SUPPRESSION.c.channel == bindparam("channel"),
        SUPPRESSION.c.value == bindparam("value"),
        SUPPRESSION.c.lifted_at.is_(None),
    )
    .limit(1)
)

# Both checks an automatic answer makes of its address, in one query (acknowledge.automatic_reply_refused).
_SUPPRESSED_OR_RECENT = select(_SUPPRESSED.exists().label("suppressed"), _AUTOMATIC_SINCE.exists().label("recent"))


def make_message_id(domain: str) -> str:
    """A globally unique Message-ID (without angle brackets) on our own domain."""
    return f"mdesk.{utcnow():%Y%m%d%H%M%S}.{secrets.token_hex(8)}@{domain}"


def enqueue(session: Session, **intent: Any) -> OutboxMessage:
    """`enqueue_id` (same arguments), with the row as an object for callers that use it."""
    row = session.get(OutboxMessage, enqueue_id(session, **intent))
    assert row is not None
    return row


def enqueue_id(
    session: Session,
    *,
    key: str,
    channel: str,
    to: str,
    template: str,
    context: dict[str, Any],
    case_id: int | None = None,
    automatic: bool = True,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    due_at: datetime | None = None,
    fresh: bool = False,
) -> int:
    """The id of the outbox row for this intent, written now unless a row has its key.

    `fresh`: the caller knows no row has this key (it names something made in this transaction),
    so the look-up is skipped; a row there all the same fails on the unique key, never sends twice."""
    if not fresh:
        existing = run(session, _BY_KEY, {"key": key}).scalar()
        if existing is not None:
            return existing
    row = {
        "idempotency_key": key,
        "channel": channel,
        # Addresses are compared case-insensitively everywhere (throttle, bounces, parties).
        "to": to.lower() if channel == "email" else to,
        "template": template,
        "context": context,
        "case_id": case_id,
        "automatic": automatic,
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "references": list(references),
        "due_at": due_at or utcnow(),
    }
    return insert_row(session, OutboxMessage, row)


def suppressed_or_sent_recently(
    session: Session, to: str, *, window: timedelta, now: datetime | None = None
) -> tuple[bool, bool]:
    """Whether the email address is suppressed, and whether an automatic message to it was written in
    the window (sent or still due), in one query.

    Counting rows written, not rows delivered, is what stops a loop with an autoresponder: the
    second trigger inside the window finds the first row whatever its delivery state."""
    params = {"channel": "email", "value": to.lower(), "to": to.lower(), "since": (now or utcnow()) - window}
    suppressed, recent = run(session, _SUPPRESSED_OR_RECENT, params).one()
    return bool(suppressed), bool(recent)


def is_suppressed(session: Session, channel: str, value: str) -> bool:
    return run(session, _SUPPRESSED, {"channel": channel, "value": value.lower()}).first() is not None


def suppress(session: Session, channel: str, value: str, reason: str) -> None:
    if not is_suppressed(session, channel, value):
        insert_rows(session, Suppression, [{"channel": channel, "value": value.lower(), "reason": reason}])
