"""Claiming due outbox rows, and recording what became of each send. No network I/O here.

A claim moves a row from "pending" to "sending" and is committed before anything is sent, so two
dispatchers never both hold a row:

- on PostgreSQL, `SELECT ... FOR UPDATE SKIP LOCKED`: a row another worker is claiming is skipped,
  not waited for;
- everywhere else (SQLite), where `skip_locked` is silently ignored, a conditional
  `UPDATE ... WHERE id = :id AND status = :old AND claimed_at IS :old AND attempts = :old` per
  candidate, which only the first writer can win (rowcount 1); the loser moves on.

A row stuck in "sending" longer than the lease belongs to a worker that died mid-send and is claimed
again. That is the one way a message can go out twice (the crash fell between the server's 250 and
`record_sent`), and it keeps its Message-ID so the recipient's mail client can tell.

The `record_*` functions change the row (and write a timeline event on its case, so a failure is seen
where the coordinator works) inside the caller's transaction; the caller commits. Logs above DEBUG carry
row ids, templates and server codes, never addresses or names: server replies are redacted first.

The send errors live here, not in a channel package, because both channels raise them (the SMTP
transport in `inbox`, the SMS transport in `telephony`) and this module decides what each means.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from models.case_ops import add_timeline
from models.outbox import FAILED, MISSED, PENDING, SENDING, SENT, SUPPRESSED, OutboxMessage, channel_label
from models.types import utcnow

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
# Our own transport down (TransportUnavailable): tried again sooner, so mail flows soon after it is
# back; one connection attempt per dispatch round fails every row of the round at once.
OUTAGE_RETRY_BASE = timedelta(seconds=15)
OUTAGE_RETRY_CAP = timedelta(minutes=5)
# A claim round that lost every candidate to another worker looks again, this many times at most.
_CLAIM_ROUNDS = 10

# What a coordinator reads on the timeline for a sent message, by template.
_SENT_LABELS = {"acknowledgement": "Acknowledgement", "not_served": "Not-served reply"}


class TransientSendError(Exception):
    """Worth trying again later: a 4xx reply, a refused or dropped connection, a timeout."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransportUnavailable(TransientSendError):
    """Nothing can be sent now, through no fault of the message: our relay is down or refuses our
    connection, TLS, login or envelope sender (a configuration to fix). Retried with backoff and
    never given up on: a family's acknowledgement must not be lost to our own outage."""


class PermanentSendError(Exception):
    """Will never succeed as it is: a 5xx reply. The message carries the server's code and text;
    `undeliverable` is the address when the server said that mailbox does not exist."""

    def __init__(self, message: str, *, code: int | None = None, undeliverable: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.undeliverable = undeliverable


# --- claiming -------------------------------------------------------------------------------------


def claim_due(
    engine: Engine,
    *,
    worker: str,
    now: datetime | None = None,
    limit: int = 50,
    lease: timedelta = DEFAULT_LEASE,
    channels: Collection[str] | None = None,
) -> list[int]:
    """Claim up to `limit` due rows for `worker` and commit; the ids, in due order.

    Due: pending with due_at <= now, or sending with a claim older than the lease. `channels`
    restricts the claim (a dispatcher with no SMS transport leaves SMS rows pending, untouched).
    """
    now = now or utcnow()
    if engine.dialect.name == "postgresql":
        return _claim_skip_locked(engine, worker=worker, now=now, limit=limit, lease=lease, channels=channels)
    return _claim_conditional(engine, worker=worker, now=now, limit=limit, lease=lease, channels=channels)


def _due_condition(now: datetime, lease: timedelta, channels: Collection[str] | None) -> ColumnElement[bool]:
    due = or_(
        and_(col(OutboxMessage.status) == PENDING, col(OutboxMessage.due_at) <= now),
        and_(col(OutboxMessage.status) == SENDING, col(OutboxMessage.claimed_at) < now - lease),
    )
    if channels is not None:
        due = and_(due, col(OutboxMessage.channel).in_(list(channels)))
    return due


def _claim_values(worker: str, now: datetime) -> dict:
    return {
        "status": SENDING,
        "claimed_by": worker,
        "claimed_at": now,
        "attempts": col(OutboxMessage.attempts) + 1,
    }


def _claim_skip_locked(
    engine: Engine,
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    channels: Collection[str] | None,
) -> list[int]:
    with Session(engine) as session, session.begin():
        # A primary key read back is never None (the model's `int | None` is for rows not yet written).
        ids = cast(
            list[int],
            session.exec(
                select(col(OutboxMessage.id))
                .where(_due_condition(now, lease, channels))
                .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all(),
        )
        if ids:
            session.execute(
                update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(**_claim_values(worker, now))
            )
    return ids


def _claim_conditional(
    engine: Engine,
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    channels: Collection[str] | None,
) -> list[int]:
    claimed: list[int] = []
    for _ in range(_CLAIM_ROUNDS):
        wanted = limit - len(claimed)
        if wanted <= 0:
            break
        candidates = _due_candidates(engine, now=now, lease=lease, channels=channels, limit=wanted)
        if not candidates:
            break
        claimed += _claim_each(engine, candidates, worker=worker, now=now)
    return claimed


def _due_candidates(
    engine: Engine, *, now: datetime, lease: timedelta, channels: Collection[str] | None, limit: int
) -> list[tuple[int, str, datetime | None, int]]:
    """Due rows as (id, status, claimed_at, attempts): the version each conditional update checks.

    Read apart from the updates, so the write transaction starts at its first UPDATE and always
    sees the latest commit; a row another worker changed since this read simply fails its check.
    """
    with Session(engine) as session:
        rows = session.exec(
            select(
                col(OutboxMessage.id),
                col(OutboxMessage.status),
                col(OutboxMessage.claimed_at),
                col(OutboxMessage.attempts),
            )
            .where(_due_condition(now, lease, channels))
            .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
            .limit(limit)
        ).all()
    # A primary key read back is never None (the model's `int | None` is for rows not yet written).
    return [(cast(int, row_id), status, claimed_at, attempts) for row_id, status, claimed_at, attempts in rows]


def _claim_each(
    engine: Engine, candidates: list[tuple[int, str, datetime | None, int]], *, worker: str, now: datetime
) -> list[int]:
    """One transaction of conditional updates; a row someone else changed since we read it is lost."""
    won: list[int] = []
    with Session(engine) as session, session.begin():
        for row_id, status, claimed_at, attempts in candidates:
            unchanged_claim = (
                col(OutboxMessage.claimed_at).is_(None)
                if claimed_at is None
                else col(OutboxMessage.claimed_at) == claimed_at
            )
            statement = (
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row_id,
                    col(OutboxMessage.status) == status,
                    unchanged_claim,
                    col(OutboxMessage.attempts) == attempts,
                )
                .values(**_claim_values(worker, now))
            )
            result = cast(CursorResult[Any], session.execute(statement))  # an UPDATE's result has a rowcount
            if result.rowcount == 1:
                won.append(row_id)
    return won


# --- retry policy ---------------------------------------------------------------------------------


def retry_delay(
    attempts: int,
    *,
    base: timedelta = RETRY_BASE,
    cap: timedelta = RETRY_CAP,
    rng: random.Random | None = None,
) -> timedelta:
    """Capped exponential backoff: 1 min after the first attempt, then 2, 4, ... at most 1 h.

    Jitter only shortens (by up to a quarter), so the cap stays a true maximum and rows that failed
    together (the server was down) do not all come back in the same second.
    """
    delay = min(base * (2 ** max(attempts - 1, 0)), cap)
    return delay * (rng or random).uniform(0.75, 1.0)


# --- recording results ----------------------------------------------------------------------------


def record_sent(session: Session, row_id: int, provider_id: str, now: datetime | None = None) -> None:
    """The provider took the message: final, whatever state a late worker finds the row in."""
    now = now or utcnow()
    row = _row(session, row_id)
    row.status = SENT
    row.provider_id = provider_id
    row.sent_at = now
    row.last_error = None
    session.add(row)
    log.info("outbox %s sent (%s, %s), provider id %s", row.id, row.channel, row.template, provider_id)
    _note_on_case(session, row, now, kind="message_out", summary=f"{_sent_label(row)} sent to {row.to}")


def record_retry(
    session: Session,
    row_id: int,
    error: str,
    now: datetime | None = None,
    backoff: timedelta | None = None,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    outage: bool = False,
) -> None:
    """A transient failure: back to pending, due after the backoff; failed once attempts run out.
    `outage`: our transport failed, not the message (TransportUnavailable): never failed, and
    retried on the shorter outage backoff.

    `backoff` None: `retry_delay(row.attempts)` (or its outage variant).
    """
    now = now or utcnow()
    row = _row(session, row_id)
    if _already_sent(row):
        return
    if not outage and row.attempts >= max_attempts:
        _fail(session, row, f"gave up after {row.attempts} attempts: {error}", now)
        return
    # An outage of our own that goes on says so on the case once, not at every retry.
    same_outage = outage and row.last_error == error
    if backoff is None:
        if outage:
            backoff = retry_delay(row.attempts, base=OUTAGE_RETRY_BASE, cap=OUTAGE_RETRY_CAP)
        else:
            backoff = retry_delay(row.attempts)
    row.status = PENDING
    row.due_at = now + backoff
    row.last_error = error
    session.add(row)
    log.warning(
        "outbox %s (%s, %s) attempt %s failed, retry at %s: %s",
        row.id,
        row.channel,
        row.template,
        row.attempts,
        row.due_at.isoformat(),
        redact(error),
    )
    if same_outage:
        return
    _note_on_case(
        session,
        row,
        now,
        kind="delivery_retry",
        summary=f"{_channel_label(row)} to {row.to} delayed, will retry: {error}",
        data={"error": error, "attempts": row.attempts, "retry_at": row.due_at.isoformat()},
    )


def record_failed(session: Session, row_id: int, error: str, now: datetime | None = None) -> None:
    """A permanent failure (a 5xx, a template that cannot render): never retried."""
    row = _row(session, row_id)
    if _already_sent(row):
        return
    _fail(session, row, error, now or utcnow())


def record_suppressed(session: Session, row_id: int, reason: str, now: datetime | None = None) -> None:
    """Not sent because the ledger says not to send there (undeliverable, STOP)."""
    now = now or utcnow()
    row = _row(session, row_id)
    if _already_sent(row):
        return
    _close(session, row, now, SUPPRESSED, reason, logging.INFO, "not sent", data={"reason": reason})


def expired(row: OutboxMessage, now: datetime) -> bool:
    """Whether the row is past the `expires_at` its context carries (a reminder whose session has begun,
    or whose next, closer reminder is due): sending it now would be no use."""
    value = (row.context or {}).get("expires_at")
    if not value:
        return False
    return now >= datetime.fromisoformat(value)


def record_missed(session: Session, row_id: int, now: datetime | None = None) -> None:
    """Found past its `expires_at` (the daemon was down when it fell due): not sent, and said so."""
    now = now or utcnow()
    row = _row(session, row_id)
    if _already_sent(row):
        return
    why = "no longer useful when it could be sent (the daemon was down when it fell due)"
    _close(session, row, now, MISSED, why, logging.WARNING, "missed", data={"due_at": row.due_at.isoformat()})


def _fail(session: Session, row: OutboxMessage, error: str, now: datetime) -> None:
    _close(session, row, now, FAILED, error, logging.WARNING, "failed", data={"error": error, "attempts": row.attempts})


def _close(
    session: Session, row: OutboxMessage, now: datetime, status: str, why: str, level: int, outcome: str, data: dict
) -> None:
    """A row that will not be sent: its final status and why, logged (redacted) and noted on its case."""
    row.status = status
    row.last_error = why
    session.add(row)
    log.log(level, "outbox %s (%s, %s) %s: %s", row.id, row.channel, row.template, status, redact(why))
    summary = f"{_channel_label(row)} to {row.to} {outcome}: {why}"
    _note_on_case(session, row, now, kind=f"delivery_{status}", summary=summary, data=data)


def _row(session: Session, row_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, row_id)
    if row is None:
        raise LookupError(f"outbox row {row_id} does not exist")
    return row


def _already_sent(row: OutboxMessage) -> bool:
    # Only possible when a lease ran out under a slow worker and another one delivered the row:
    # a late failure must not turn a delivered message back into a pending one.
    if row.status == SENT:
        log.info("outbox %s already sent; a late result from another attempt is ignored", row.id)
        return True
    return False


def _note_on_case(
    session: Session, row: OutboxMessage, now: datetime, *, kind: str, summary: str, data: dict | None = None
) -> None:
    if row.case_id is None:
        return
    data = {"channel": row.channel, "template": row.template, **(data or {})}
    add_timeline(session, row.case_id, kind, summary, at=now, outbox_id=row.id, data=data)


def _sent_label(row: OutboxMessage) -> str:
    return _SENT_LABELS.get(row.template, _channel_label(row))


def _channel_label(row: OutboxMessage) -> str:
    return channel_label(row.channel)


# Wider than inbox.mailtext.EMAIL_IN_TEXT on purpose: a redactor must hide anything address-shaped a
# server quotes ("<x@[10.0.0.1]>", "x@localhost"), not only the addresses a reader would find in text.
_EMAIL = re.compile(r"<?[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+>?")
_PHONE = re.compile(r"\+?\d[\d ()-]{6,}\d")


def redact(text: str) -> str:
    """Server replies quote the recipient ("550 5.1.1 <x@y>: ..."): strip addresses and numbers for logs."""
    return _PHONE.sub("<number>", _EMAIL.sub("<address>", text))
