"""Writing to the outbox, inside the caller's transaction.

`enqueue` is idempotent on its key: the same intent written twice (a retried handler, a re-scan
after a crash) returns the row already there instead of adding a second message.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from models.outbox import FAILED, SUPPRESSED, OutboxMessage, Suppression
from models.types import utcnow


def make_message_id(domain: str) -> str:
    """A globally unique Message-ID (without angle brackets) on our own domain."""
    return f"mdesk.{utcnow():%Y%m%d%H%M%S}.{secrets.token_hex(8)}@{domain}"


def enqueue(
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
) -> OutboxMessage:
    """`fresh`: the caller knows no row has this key (it names something made in this transaction),
    so the look-up is skipped; a row there all the same fails on the unique key, never sends twice."""
    if not fresh:
        existing = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).first()
        if existing is not None:
            return existing
    row = OutboxMessage(
        idempotency_key=key,
        channel=channel,
        to=to,
        template=template,
        context=context,
        case_id=case_id,
        automatic=automatic,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=list(references),
        due_at=due_at or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def automatic_sent_recently(
    session: Session, to: str, *, window: timedelta, now: datetime | None = None
) -> bool:
    """Whether an automatic message to this address was written in the window (sent or still due).

    Counting rows written, not rows delivered, is what stops a loop with an autoresponder: the
    second trigger inside the window finds the first row whatever its delivery state.
    """
    since = (now or utcnow()) - window
    count = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            func.lower(OutboxMessage.to) == to.lower(),
            OutboxMessage.automatic.is_(True),
            OutboxMessage.created_at >= since,
            OutboxMessage.status.not_in([FAILED, SUPPRESSED]),
        )
    ).one()
    return count > 0


def is_suppressed(session: Session, channel: str, value: str) -> bool:
    return (
        session.exec(
            select(Suppression.id).where(
                Suppression.channel == channel,
                Suppression.value == value.lower(),
                Suppression.lifted_at.is_(None),
            )
        ).first()
        is not None
    )


def suppress(session: Session, channel: str, value: str, reason: str) -> None:
    if not is_suppressed(session, channel, value):
        session.add(Suppression(channel=channel, value=value.lower(), reason=reason))
