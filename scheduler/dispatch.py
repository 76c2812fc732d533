"""The outbox dispatcher: claim what is due, hand each row to its channel, record what happened.

It holds a mapping name -> Channel (models.outbox_channel) and knows no channel's internals: the
email channel lives in `inbox/`, the SMS one in `telephony/`. One `run_once` is one pass: claim a
batch of rows of the channels it has (committed), then for each row in turn:

    claimed before (a lapsed claim, or a retry), and the channel's provider already has it
    (find_sent)         -> record_sent, not sent again (a lookup that fails is retried, not sent blind)
    past its expires_at -> record_missed               (a reminder found after downtime: no use now)
    suppressed address  -> record_suppressed           (nothing sent)
    TransportUnavailable -> record_retry, never failed, every 15 s up to 5 min (our relay is down or
                           refuses our login: the message is not at fault; `unavailable` says so for
                           /healthz until a send on that channel works)
    TransientSendError  -> record_retry                (pending again after a backoff; failed at the cap)
    PermanentSendError  -> record_failed               (with the provider's code and reason, or the
                           template's error; an address the provider says does not exist is marked
                           undeliverable and suppressed, as a bounce)
    sent                -> record_sent, committed at once, before the next row is touched

Anything else a channel raises is a bug of ours: the row is kept for a retry, the error logged at
ERROR and shown in `errors` (so /healthz) until a send on that channel works.

No database transaction is held open while talking to a server. Rows of a channel this dispatcher
has no channel for (SMS before its channel is configured) are never claimed: they stay pending,
untouched. `mdesk_outbox_sent` and `mdesk_outbox_failed` are counted here, by the row's channel.
The APScheduler job that calls `run_once` is wired elsewhere.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import metrics
from models.case_ops import mark_undeliverable
from models.db import session_scope
from models.outbox import FAILED, SENDING, OutboxMessage
from models.outbox_channel import Channel
from models.outbox_claims import (
    DEFAULT_LEASE,
    PermanentSendError,
    TransientSendError,
    TransportUnavailable,
    claim_due,
    expired,
    record_failed,
    record_missed,
    record_retry,
    record_sent,
    record_suppressed,
    redact,
)
from models.outbox_ops import is_suppressed
from models.settings import Settings
from models.types import utcnow

log = logging.getLogger(__name__)


# Each outcome names a counter on DispatchStats and on the Dispatcher.
Outcome = Literal["sent", "failed", "retried", "suppressed", "skipped", "missed"]


@dataclass(slots=True)
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    suppressed: int = 0
    skipped: int = 0  # claimed, but the claim ran out or passed to another worker before sending
    missed: int = 0  # found past its expires_at (a reminder after downtime): not sent


class Dispatcher:
    """Sends due outbox rows through `channels` (name -> Channel). `sent`, `failed`, `retried`,
    `suppressed`, `skipped` count since start.

    `worker` names this dispatcher in claims and must be unique among those sharing a database
    (host name and process id, say).
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        channels: Mapping[str, Channel],
        *,
        worker: str,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.channels = dict(channels)
        self.worker = worker
        self.lease = lease
        self.sent = self.failed = self.retried = self.suppressed = self.skipped = self.missed = 0
        # channel -> why it cannot send now (redacted); gone once a send on it works again.
        self.unavailable: dict[str, str] = {}  # our outage (TransportUnavailable)
        self.errors: dict[str, str] = {}  # a bug of ours (anything else a channel raised)

    def run_once(self, now: datetime | None = None) -> DispatchStats:
        """One pass. `now` (tests move it forward) stands for the clock; None: the real clock,
        read afresh for each row so a slow batch records true send and retry times.

        Channels that send one row at a time (email: one SMTP connection a round) share one claim; a
        channel declaring `parallel` > 1 (an HTTP API such as SMS) gets a claim of its own, its rows sent
        that many at once, so a burst of reminders is not held to one request's round trip a row."""
        stats = DispatchStats()
        serial = tuple(name for name, channel in self.channels.items() if _parallel(channel) <= 1)
        if serial:
            self._round(stats, serial, now, workers=1)
        for name, channel in self.channels.items():
            if _parallel(channel) > 1:
                self._round(stats, (name,), now, workers=_parallel(channel))
        if stats.claimed:
            log.info(
                "dispatch %s: claimed %d, sent %d, retried %d, failed %d, suppressed %d, skipped %d, missed %d",
                self.worker,
                stats.claimed,
                stats.sent,
                stats.retried,
                stats.failed,
                stats.suppressed,
                stats.skipped,
                stats.missed,
            )
        return stats

    def _round(self, stats: DispatchStats, channels: tuple[str, ...], now: datetime | None, *, workers: int) -> None:
        ids = claim_due(
            self.engine,
            worker=self.worker,
            now=now or utcnow(),
            limit=self.settings.outbox_batch,
            lease=self.lease,
            channels=channels,
        )
        stats.claimed += len(ids)
        with ExitStack() as batches:
            for name in channels:
                batches.enter_context(self.channels[name].batch())
            if workers == 1 or len(ids) <= 1:
                outcomes = [self._dispatch(row_id, now or utcnow()) for row_id in ids]
            else:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dispatch") as pool:
                    outcomes = list(pool.map(lambda row_id: self._dispatch(row_id, now or utcnow()), ids))
        for outcome in outcomes:
            setattr(stats, outcome, getattr(stats, outcome) + 1)
            setattr(self, outcome, getattr(self, outcome) + 1)

    def run_until_done(self, should_stop: Callable[[], bool] = lambda: False) -> DispatchStats:
        """Passes until one comes back short (nothing more is due) or `should_stop()`; the totals.

        One pass claims at most `outbox_batch` rows: a full pass means more may be due."""
        total = DispatchStats()
        while True:
            stats = self.run_once()
            for counter in fields(DispatchStats):
                setattr(total, counter.name, getattr(total, counter.name) + getattr(stats, counter.name))
            if stats.claimed < self.settings.outbox_batch or should_stop():
                return total

    def _dispatch(self, row_id: int, now: datetime) -> Outcome:
        """Handle one claimed row; the name of the counter its outcome adds to."""
        loaded = self._load_if_still_ours(row_id, now)
        if loaded is None:
            return "skipped"
        row, suppressed = loaded
        if expired(row, now):
            with session_scope(self.engine) as session:
                record_missed(session, row_id, now)
            return "missed"
        if suppressed:
            with session_scope(self.engine) as session:
                record_suppressed(session, row_id, f"{row.channel} address is on the suppression list", now)
            return "suppressed"
        outcome = self._send(row, now)
        if outcome == "sent":
            metrics.OUTBOX_SENT.labels(row.channel).inc()
        elif outcome == "failed":
            metrics.OUTBOX_FAILED.labels(row.channel).inc()
        return outcome

    def _send(self, row: OutboxMessage, now: datetime) -> Outcome:
        assert row.id is not None
        channel = self.channels[row.channel]
        try:
            self._prepare(channel, row)
            # Claimed before: its worker may have died mid-send, or the provider may have taken it and
            # not answered in time (a timeout is retried), or a lookup may have failed: ask each time.
            earlier = channel.find_sent(row) if row.attempts > 1 else None
            provider_id = earlier or channel.send(row)
        except PermanentSendError as exc:
            with session_scope(self.engine) as session:
                record_failed(session, row.id, str(exc), now)
                if exc.undeliverable:
                    # The provider says the address does not exist: like a bounce, never written to again.
                    mark_undeliverable(session, exc.undeliverable, str(exc), case_id=None, channel=row.channel)
            return "failed"
        except TransportUnavailable as exc:
            self.unavailable[row.channel] = redact(str(exc))
            return self._record_retry(row.id, str(exc), now, outage=True)
        except TransientSendError as exc:
            return self._record_retry(row.id, str(exc), now)
        except Exception as exc:
            # A bug of ours, not the recipient's: keep the row (retried, failed at the cap, on the
            # case timeline), the traceback in the log for whoever fixes it, and /healthz failing.
            error = f"internal error: {type(exc).__name__}: {redact(str(exc))}"
            self.errors[row.channel] = error
            log.error("dispatch: outbox %s: %s\n%s", row.id, error, "".join(traceback.format_tb(exc.__traceback__)))
            return self._record_retry(row.id, error, now)
        self.unavailable.pop(row.channel, None)
        self.errors.pop(row.channel, None)
        with session_scope(self.engine) as session:
            record_sent(session, row.id, provider_id, now)
        return "sent"

    def _prepare(self, channel: Channel, row: OutboxMessage) -> None:
        """Commit what the channel fixes on the row before its first send (email's Message-ID), so
        every retry reuses it; the row in hand gets it too."""
        changes = channel.prepare(row)
        if not changes:
            return
        with session_scope(self.engine) as session:
            stored = session.get(OutboxMessage, row.id)
            for name, value in changes.items():
                setattr(stored, name, value)
                setattr(row, name, value)

    def _load_if_still_ours(self, row_id: int, now: datetime) -> tuple[OutboxMessage, bool] | None:
        """The row and whether its address is suppressed; None if our claim has lapsed.

        A slow batch (a server timing out on every row) can outlive the lease, and then another
        worker may take the rest over: a row whose claim is no longer ours, or no longer fresh,
        is left alone rather than risk sending it twice.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                raise LookupError(f"claimed outbox row {row_id} has gone")
            lapsed = row.claimed_at is None or row.claimed_at + self.lease <= now
            if row.status != SENDING or row.claimed_by != self.worker or lapsed:
                log.info("dispatch %s: claim on outbox %s lapsed, left for the next claim", self.worker, row_id)
                return None
            suppressed = is_suppressed(session, row.channel, row.to)
            session.expunge(row)
        return row, suppressed

    def _record_retry(self, row_id: int, error: str, now: datetime, *, outage: bool = False) -> Outcome:
        with session_scope(self.engine) as session:
            record_retry(session, row_id, error, now, max_attempts=self.settings.outbox_max_attempts, outage=outage)
            row = session.get(OutboxMessage, row_id)
            gave_up = row is not None and row.status == FAILED
        return "failed" if gave_up else "retried"


def _parallel(channel: Channel) -> int:
    """How many rows the channel sends at once (its `parallel`, 1 unless it says)."""
    return max(1, int(getattr(channel, "parallel", 1)))
