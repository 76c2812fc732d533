"""Intake's batches: messages from the watcher committed BATCH_MAX at a time, each in its own savepoint.

All of a batch's messages are read first (inbox/reading.py, in worker processes of inbox/readers.py, bounded in time,
while this process writes the batch before), then stored and run through the steps in one database
transaction, each message in a savepoint: one that fails is rolled back alone and quarantined in the
same transaction, and a batch costs one commit (and, in the watcher, one mark on the server). The
database being unavailable (OperationalError) rolls the whole transaction back: nothing of it is
committed, and the count stops before it, so the caller marks exactly what is stored.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass, field, replace

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from inbox import too_large
from inbox.documents import DocumentLimits
from inbox.intake import store
from inbox.intake.quarantine import mark_quarantined, quarantine_failed, unread_reason
from inbox.intake.steps import Unprocessable, run_steps
from inbox.message import ParsedMessage
from inbox.readers import Readers
from inbox.reading import Reading, ReadOptions, Unread, unread_message
from inbox.sources.base import SourceMessage
from models import deadline_store, metrics
from models.db import check_same_file, describe_db_error, session_scope
from models.la_directory import Directory, load_directory
from models.mail import QuarantineEntry
from models.rows import insert_rows, savepoint, written_later
from models.settings import Settings
from models.types import utcnow

log = logging.getLogger("mdesk.inbox.intake")

BATCH_MAX = 50  # messages per transaction: a crash or a locked database repeats at most this many
LAG_PLAUSIBLE_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class Committed:
    """What one message became, counted in the metrics once its transaction has committed."""

    outcome: str
    parsed: ParsedMessage | None = None  # set for a message that went through the steps
    rules: tuple[str, ...] = ()  # the classifier rules that fired on it
    faults: tuple[str, ...] = ()  # the steps that failed on it with a bug


@dataclass
class Intake:
    """Handles messages from any source; `handle_batch` is the MailboxWatcher's callback."""

    engine: Engine
    settings: Settings
    directory: Directory = field(default_factory=load_directory)
    readers: Readers = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Workers read with the project's directory; an Intake given another one reads in process.
        # Bounded reading needs a process that can be killed: at least one worker (inbox/readers.py).
        timeout = self.settings.read_timeout_seconds or None
        workers = max(self.settings.intake_workers, 1 if timeout else 0)
        if self.directory is not load_directory():
            workers = 0
        documents = DocumentLimits(
            max_bytes=self.settings.attachment_max_bytes, max_seconds=self.settings.attachment_read_seconds
        )
        if timeout:  # half the message's bound at most: past that bound the whole message is quarantined
            documents = replace(documents, max_total_seconds=min(documents.max_total_seconds, timeout / 2))
        options = ReadOptions(self.settings.own_addresses, self.settings.max_message_bytes, documents)
        self.readers = Readers(workers, options, timeout, directory=self.directory)

    def start(self) -> None:
        """What the daemon does at start-up rather than for the first batch: start the reading workers,
        if any; load the bank holidays the stored deadlines are worked out with (importing the holidays
        library costs about 0.15 s, once); and freeze what is alive by now (modules, settings, the
        directory: all of it lives as long as the process) out of the garbage collector's way, so
        that its full collections scan only what intake makes (one cost 70 ms in a run of 1,000
        messages, bench/intake.py)."""
        self.readers.start()
        deadline_store.prepare()
        gc.freeze()

    def read_ahead(self, messages: list[SourceMessage]) -> None:
        """The watcher's whole fetch, before it hands it over CHUNK at a time: with reading workers,
        they read the later chunks while this process writes the earlier ones."""
        self.readers.read_ahead(messages)

    def close(self) -> None:
        """Stop the reading workers, if any."""
        self.readers.close()

    def handle(self, message: SourceMessage) -> bool:
        """True when the message is safely committed (a case step, machine mail, or quarantine)."""
        return self.handle_batch([message]) == 1

    def handle_batch(self, messages: list[SourceMessage]) -> int:
        """How many messages, from the start of the list, are safely committed (BATCH_MAX a transaction)."""
        committed = 0
        for start in range(0, len(messages), BATCH_MAX):
            batch = messages[start : start + BATCH_MAX]
            stored = self._commit(batch)
            committed += stored
            if stored < len(batch):
                break
        return committed

    def _commit(self, messages: list[SourceMessage]) -> int:
        readings = list(self.readers.read_all(messages))  # before the transaction: it stays short
        done: list[Committed] = []
        try:
            with session_scope(self.engine) as session, written_later(session):
                for message, reading in zip(messages, readings, strict=True):
                    result = self._one(session, message, reading)
                    if result is None:
                        break  # not stored even raw: commit what came before it; this one stays on the server
                    done.append(result)
        except OperationalError as exc:
            log.warning(
                "database unavailable (%s); %d message(s) stay on the server for the next round",
                describe_db_error(exc),
                len(messages),
            )
            log.debug("database error", exc_info=True)  # its text may quote the statement
            return 0
        # Committed, but into the file we opened: if that was deleted or replaced meanwhile, the
        # batch is stored nowhere anyone will read. Raising (not returning 0, which means "retry")
        # leaves the mail unmarked and stops the caller; see models/db.py DatabaseReplaced.
        check_same_file(self.engine)
        for result in done:
            count(result)
        return len(done)

    def _one(self, session: Session, message: SourceMessage, reading: Reading | Unread) -> Committed | None:
        """One message in its own savepoint: processed, already known, or quarantined; None: not
        stored at all (the batch stops before it)."""
        parsed = reading.parsed or unread_message(message.raw)
        try:
            # The message's timeline events are written as its savepoint ends; its bytes and audit
            # events with the batch's (models/rows.py).
            with savepoint(session), written_later(session):
                return self._process(session, message, reading, parsed)
        except OperationalError:
            raise  # the database, not the message: the whole batch waits for the next round
        except IntegrityError as exc:
            if store.known(session, message.key, parsed).stored is not None:
                # Another worker stored the same message between our check and our insert.
                log.info("message stored concurrently by another worker; skipping")
                return Committed("known")
            return Committed("quarantined") if quarantine_failed(session, message.key, parsed, exc) else None
        except Exception as exc:  # a boundary: a bug in a step quarantines this message, with its traceback
            return Committed("quarantined") if quarantine_failed(session, message.key, parsed, exc) else None

    def _process(
        self, session: Session, message: SourceMessage, reading: Reading | Unread, parsed: ParsedMessage
    ) -> Committed:
        """Store the message and run the steps, or recognise a repeat (a crash before the mark)."""
        if isinstance(reading, Reading) and reading.too_large:
            return self._quarantine_too_large(session, message, reading)
        inbound, fresh = store.store_message(session, message.key, parsed)
        if not fresh:
            return Committed("known")  # only marked again
        return self._decide(session, message, reading, parsed, inbound)

    def _decide(
        self,
        session: Session,
        message: SourceMessage,
        reading: Reading | Unread,
        parsed: ParsedMessage,
        inbound: store.Inbound,
    ) -> Committed:
        """What a stored message becomes: quarantined unread, or through the steps."""
        if isinstance(reading, Unread):
            if reading.detail:  # a bug: reading raised
                log.error("reading a message failed (%s); quarantined", reading.reason)
            else:
                log.warning("message quarantined unread: %s", reading.reason)
            mark_quarantined(session, inbound.id, parsed, unread_reason(reading), reading.detail)
            return Committed("quarantined")
        try:
            run_steps(session, self.settings, inbound, reading, received_at=message.received_at)
        except Unprocessable as exc:
            # Raised before any step wrote (see Unprocessable): the stored message is quarantined
            # as it is, in this savepoint.
            log.info("message quarantined: %s", exc)
            mark_quarantined(session, inbound.id, parsed, str(exc), "")
            return Committed("quarantined")
        return Committed(inbound.outcome or "unknown", parsed, tuple(inbound.rules), tuple(inbound.faults))

    def _quarantine_too_large(self, session: Session, message: SourceMessage, reading: Reading) -> Committed:
        """Stored raw (its headers alone were read) and quarantined with the reason; a person is
        told, in this transaction (inbox/too_large.py). The row is written once, already
        quarantined."""
        parsed = reading.parsed
        size = max(message.size or 0, len(message.raw))
        reason = too_large.reason(size, self.settings)
        quarantined = {"status": "quarantined", "reasons": [*parsed.problems, reason]}
        inbound, fresh = store.store_message(session, message.key, parsed, **quarantined)
        if not fresh:
            return Committed("known")
        log.info("message quarantined: %s", reason)
        reply = too_large.answer(session, self.settings, parsed, reading.verdict, inbound.id, size, message.received_at)
        insert_rows(session, QuarantineEntry, [{"inbound_message_id": inbound.id, "reason": reason, "detail": reply}])
        return Committed("quarantined")


def count(result: Committed) -> None:
    """A committed message in the metrics."""
    if result.outcome == "known":
        return
    if result.outcome == "quarantined":
        metrics.QUARANTINED.inc()
    if result.outcome == "new_case":
        metrics.CASES_OPENED.inc()
    metrics.MESSAGES_IN.labels(result.outcome).inc()
    for rule in result.rules:
        metrics.CLASSIFIER_RULE_HITS.labels(rule).inc()
    for step in result.faults:
        metrics.PIPELINE_ERRORS.labels(step).inc()
    if result.parsed is not None and result.parsed.date is not None:
        lag = (utcnow() - result.parsed.date).total_seconds()
        # A Date more than a day off is a wrong clock or old mail re-sent, not intake being slow.
        if 0 <= lag < LAG_PLAUSIBLE_SECONDS:
            metrics.INTAKE_LAG.set(lag)
