"""Intake: one message from the mailbox becomes a case, a step on a case, or a triage item.

The flow is a table of small named steps (STEPS), run in one database transaction with the raw
message stored first; each step records why it decided what it did on the stored message. The
transaction also writes the acknowledgement to the outbox, so a crash anywhere leaves either
nothing (the message is still unmarked on the server and is taken again) or everything.
Unexpected errors put the raw message in quarantine with the reason; intake goes on.
`handle_batch` runs up to BATCH_MAX messages in one transaction, each in its own savepoint, so one
failing message is rolled back alone and quarantined in that same transaction, and a batch costs one
commit (and, in the watcher, one mark on the server).
The steps read and write plain rows with SQLAlchemy Core, through statements built once (no ORM
objects on this path: models/rows.py says why). Worker processes (`settings.intake_workers`, at least
one while `settings.read_timeout_seconds` bounds reading) parse, classify and extract each batch while
this process writes; a message not read within the bound is quarantined unread (inbox/reading.py).
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from inbox.acknowledge import acknowledge
from inbox.automated import Verdict, bounced_recipients, classify, original_message_id, unanswerable
from inbox.extract import extract_referral
from inbox.message import ParsedMessage
from inbox.parse import parse_message
from inbox.reading import Readers, Reading, Unread, unread_message
from inbox.referral import Referral
from inbox.sources.base import MessageKey, SourceMessage
from inbox.thread_match import ThreadMatch, match_thread
from models import metrics
from models.case_ops import (
    NewCase,
    add_parties_to_new_case,
    add_timeline,
    ensure_contact,
    mark_undeliverable,
    open_case,
    open_inbox_item,
    touch_case,
)
from models.db import session_scope
from models.la_directory import Directory, load_directory
from models.mail import InboundMessage, QuarantineEntry, StoredAttachment
from models.offices import own_phone_numbers
from models.outbox import OutboxMessage
from models.rows import insert_row, insert_rows, run, table
from models.settings import Settings
from models.types import utcnow

log = logging.getLogger("mdesk.inbox.intake")

INBOUND, OUTBOX, QUARANTINE = table(InboundMessage), table(OutboxMessage), table(QuarantineEntry)

# The statements of the hot path, built once and executed with parameters (models/rows.py says why).
_AT_KEY = and_(
    INBOUND.c.mailbox == bindparam("mailbox"),
    INBOUND.c.uidvalidity == bindparam("uidvalidity"),
    INBOUND.c.uid == bindparam("uid"),
)
_SAME_BYTES = INBOUND.c.dedupe_key == bindparam("dedupe_key")
# In one query: the message as stored already (where it sat on the server, or the same bytes), and
# any earlier copy with the same Message-ID (other bytes: e.g. one copy by To and one by Cc).
_KNOWN = select(
    INBOUND.c.id,
    INBOUND.c.message_id,
    INBOUND.c.case_id,
    INBOUND.c.status,
    _AT_KEY.label("at_key"),
    _SAME_BYTES.label("same_bytes"),
).where(or_(_AT_KEY, _SAME_BYTES, INBOUND.c.message_id == bindparam("message_id")))
_BY_DEDUPE_KEY = select(INBOUND.c.id).where(INBOUND.c.dedupe_key == bindparam("dedupe_key"))
_SAVE_INBOUND = update(INBOUND).where(INBOUND.c.id == bindparam("inbound_id"))  # SET: the columns given
_OUR_MESSAGE = (
    select(OUTBOX.c.case_id, OUTBOX.c.to).where(OUTBOX.c.message_id.in_(bindparam("ids", expanding=True))).limit(1)
)
_QUARANTINED = select(QUARANTINE.c.id).where(QUARANTINE.c.inbound_message_id == bindparam("inbound_id"))


LAG_PLAUSIBLE_SECONDS = 24 * 3600
UNREAD_ADVICE = "stored unread; a coordinator or engineer should look"  # after why no worker read it


class _Isolate(Exception):
    """A message failed in a batch run without savepoints: run the batch again, one savepoint each."""


class Unprocessable(Exception):
    """The sender's problem: the message cannot become a case step (quarantined with this reason).

    Raised only before a step has written anything for the message, so intake quarantines the
    message in place instead of rolling anything back."""


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
    copy_of: tuple[int, int | None] | None = None  # an earlier copy taken already: its id and case

    def save(self, session: Session, **more: object) -> None:
        values = {
            "inbound_id": self.id,
            "status": self.status,
            "outcome": self.outcome,
            "automated": self.automated,
            "case_id": self.case_id,
            "reasons": self.reasons,
            **more,
        }
        run(session, _SAVE_INBOUND, values)


@dataclass
class Step:
    """What intake knows about one message as the steps run."""

    session: Session
    settings: Settings
    directory: Directory
    inbound: Inbound
    parsed: ParsedMessage
    verdict: Verdict | None = None
    referral: Referral | None = None
    match: ThreadMatch | None = None
    case: NewCase | None = None
    ahead: Reading | None = None  # what a worker read from the bytes already (inbox/reading.py)
    received_at: datetime | None = None  # when the mailbox got it (SourceMessage.received_at)
    new_case: bool = False
    done: bool = False
    reasons: list[str] = field(default_factory=list)

    def note(self, reason: str) -> None:
        self.reasons.append(reason)

    def finish(self, outcome: str, reason: str) -> None:
        self.inbound.outcome = outcome
        self.note(reason)
        self.done = True


def dedupe_key(message_id: str | None, sha256: str) -> str:
    return hashlib.sha256(f"{message_id or ''}\0{sha256}".encode()).hexdigest()


def own_addresses(settings: Settings) -> tuple[str, ...]:
    return (settings.mail_from.lower(),)


def own_domain(settings: Settings) -> str:
    return settings.mail_from.rpartition("@")[2].lower() or "localhost"


# ---- the steps, in order ------------------------------------------------------------------------


def step_classify(step: Step) -> None:
    step.verdict = step.ahead.verdict if step.ahead else classify(step.parsed)
    step.inbound.automated = step.verdict.kind
    if step.verdict.kind is None:
        step.note("written by a person")
        return
    step.note(f"automated ({step.verdict.kind}): " + "; ".join(step.verdict.reasons))


def step_bounce(step: Step) -> None:
    """A bounce of our own mail marks the address undeliverable on the case it was about."""
    if step.verdict is None or step.verdict.kind != "bounce":
        return
    ahead = step.ahead
    original = ahead.original_message_id if ahead else original_message_id(step.parsed, verdict=step.verdict)
    ours = _our_message(step.session, original)
    case_id = ours.case_id if ours else None
    step.inbound.case_id = case_id
    if step.verdict.delay:
        if case_id is not None:
            add_timeline(
                step.session,
                case_id,
                "bounce",
                "Delivery of our email is delayed (the server will retry)",
                inbound_message_id=step.inbound.id,
            )
        step.finish("bounce", "a delay warning: nothing is undeliverable yet")
        return
    bounced = step.ahead.bounced if step.ahead else bounced_recipients(step.parsed, verdict=step.verdict)
    recipients = bounced or ([ours.to] if ours else [])
    if ours is not None:
        # Only the addresses we actually wrote to: a bounce cannot make a stranger undeliverable.
        recipients = [r for r in recipients if r.lower() == ours.to.lower()] or [ours.to]
    for address in recipients:
        mark_undeliverable(step.session, address, _bounce_reason(step.parsed), case_id)
    matched = f"matched to our message to the case {case_id}" if ours else "not matched to a message of ours"
    step.finish("bounce", f"bounce {matched}; undeliverable: {len(recipients)} address(es)")


def step_ignore_machine_mail(step: Step) -> None:
    if step.verdict is None or step.verdict.kind is None:
        return
    ours = _our_message(step.session, *step.parsed.in_reply_to, *step.parsed.references)
    if ours is not None and ours.case_id is not None:
        step.inbound.case_id = ours.case_id
        add_timeline(
            step.session,
            ours.case_id,
            "message_in",
            f"Automatic {step.verdict.kind.replace('_', ' ')} received in answer to our email",
            inbound_message_id=step.inbound.id,
        )
    step.finish("automated", "machine mail: stored, never answered")


def step_require_sender(step: Step) -> None:
    sender = step.parsed.sender
    if sender is None or "@" not in sender.email:
        raise Unprocessable("no sender address: the message cannot be answered or placed on a case")


def step_extract(step: Step) -> None:
    if step.ahead and step.ahead.referral:
        step.referral = step.ahead.referral
    else:
        step.referral = extract_referral(
            step.parsed,
            directory=step.directory,
            own_addresses=own_addresses(step.settings),
            own_phones=own_phone_numbers(),
        )
    found = [
        name for name in ("service", "local_authority", "child_name", "contact_phone") if getattr(step.referral, name)
    ]
    step.note("extracted: " + (", ".join(found) if found else "nothing yet (an enquiry)"))


def step_thread(step: Step) -> None:
    step.match = match_thread(step.session, step.parsed)
    step.note(f"threading: {step.match.reason}")


def step_place(step: Step) -> None:
    match = step.match
    assert match is not None and step.referral is not None
    if match.case_id is not None:
        reference = touch_case(step.session, match.case_id)
        assert reference is not None
        step.inbound.case_id = match.case_id
        add_timeline(
            step.session,
            match.case_id,
            "message_in",
            f"Reply received: {step.parsed.subject[:200]}",
            inbound_message_id=step.inbound.id,
        )
        step.finish("reply", f"joined case {reference}")
        return
    if match.how in ("ambiguous", "unknown_reply"):
        item_id = open_inbox_item(
            step.session,
            kind="triage",
            summary=f"Which case does this email belong to? ({match.reason})",
            inbound_message_id=step.inbound.id,
        )
        step.finish("triage", f"not placed with confidence: inbox item {item_id} for a coordinator")
        return
    step.case = _open_case_from(step, related_case_id=match.related_case_id)
    step.new_case = True
    step.inbound.case_id = step.case.id
    step.note(
        f"opened case {step.case.reference}" + (" (possibly related to another case)" if match.related_case_id else "")
    )
    step.inbound.outcome = "new_case"


def step_acknowledge(step: Step) -> None:
    if not step.new_case or step.case is None or step.referral is None:
        return
    step.note(
        acknowledge(
            step.session,
            step.settings,
            step.case,
            step.parsed,
            step.referral,
            step.inbound.id,
            received_at=step.received_at,
        )
    )
    step.done = True


STEPS: tuple[Callable[[Step], None], ...] = (
    step_classify,
    step_bounce,
    step_ignore_machine_mail,
    step_require_sender,
    step_extract,
    step_thread,
    step_place,
    step_acknowledge,
)


# ---- helpers of the steps -----------------------------------------------------------------------


def _our_message(session: Session, *message_ids: str | None) -> Row | None:
    """The message of ours (its case_id and to) that one of these Message-IDs names, if any."""
    ids = [i for i in message_ids if i]
    if not ids:
        return None
    return run(session, _OUR_MESSAGE, {"ids": ids}).first()


def _bounce_reason(msg: ParsedMessage) -> str:
    for attachment in msg.attachments:
        if attachment.content_type == "message/delivery-status":
            text = attachment.payload.decode("utf-8", "replace")
            for line in text.splitlines():
                if line.lower().startswith("diagnostic-code:"):
                    return line.split(":", 1)[1].strip()
    return msg.subject or "delivery failed"


def _open_case_from(step: Step, *, related_case_id: int | None) -> NewCase:
    referral = step.referral
    assert referral is not None and step.parsed.sender is not None
    sender = step.parsed.sender
    referrer_email = _referrer_email(step)
    case = open_case(
        step.session,
        service=referral.service,
        local_authority=referral.local_authority,
        served=referral.served,
        region=referral.region,
        referrer_email=referrer_email,
        draft=referral.to_dict(),
        related_case_id=related_case_id,
    )
    contact = ensure_contact(
        step.session,
        email=referrer_email,
        phone=referral.contact_phone,
        name=referral.referrer_name or sender.name,
    )
    roles = ["referrer", *([referral.referrer_role] if referral.referrer_role else [])]
    add_parties_to_new_case(step.session, case.id, contact, roles)
    add_timeline(
        step.session,
        case.id,
        "message_in",
        f"Case opened from email: {step.parsed.subject[:200]}",
        inbound_message_id=step.inbound.id,
    )
    if related_case_id:
        add_timeline(
            step.session,
            case.id,
            "note",
            "The subject names another case's reference, but the sender "
            "is not a party of it: check whether the two belong together.",
            data={"related": related_case_id},
        )
    return case


def _referrer_email(step: Step) -> str:
    """Who we answer: the referral's own address when the mail came from our own systems (our web
    form); else a Reply-To naming someone outside; else, from an address nobody reads (a form
    service's no-reply), the address typed into the form; else the sender."""
    sender = step.parsed.sender
    assert sender is not None
    ours = own_domain(step.settings)
    typed = step.referral.referrer_email.lower() if step.referral and step.referral.referrer_email else None
    if sender.email.rpartition("@")[2] == ours and typed:
        return typed
    for reply_to in step.parsed.reply_to:
        if "@" in reply_to.email and not reply_to.email.endswith("@" + ours):
            return reply_to.email
    if typed and unanswerable(sender.email):
        return typed
    return sender.email


# ---- the entry points ---------------------------------------------------------------------------

BATCH_MAX = 50  # messages per transaction: a crash or a locked database repeats at most this many


@dataclass(frozen=True, slots=True)
class _Committed:
    """What one message became, counted in the metrics once its transaction has committed."""

    outcome: str
    parsed: ParsedMessage | None = None  # set for a message that went through the steps


_NOT_STORED = None  # a message that could not be stored even raw: the batch stops before it


@dataclass
class Intake:
    """Handles messages from any source; `handle_batch` (or `handle`) is the MailboxWatcher callback."""

    engine: Engine
    settings: Settings
    directory: Directory = field(default_factory=load_directory)
    _readers: Readers | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # Workers read with the project's directory; an Intake given another one reads in process.
        # Bounded reading needs a process that can be killed: at least one worker (inbox/reading.py).
        timeout = self.settings.read_timeout_seconds or None
        workers = max(self.settings.intake_workers, 1 if timeout else 0)
        if workers > 0 and self.directory is load_directory():
            self._readers = Readers(workers, own_addresses(self.settings), timeout)

    def start_workers(self) -> None:
        """Start the reading workers, if any, now (the daemon does, at start-up) instead of on first use."""
        if self._readers is not None:
            self._readers.start()

    def read_ahead(self, messages: list[SourceMessage]) -> None:
        """The watcher's whole fetch, before it hands it over CHUNK at a time: with reading workers,
        they read the later chunks while this process writes the earlier ones."""
        if self._readers is not None:
            self._readers.read_ahead(messages)

    def close(self) -> None:
        """Stop the reading workers, if any."""
        if self._readers is not None:
            self._readers.close()

    def handle(self, message: SourceMessage) -> bool:
        """True when the message is safely committed (a case step, machine mail, or quarantine)."""
        return self.handle_batch([message]) == 1

    def handle_batch(self, messages: list[SourceMessage]) -> int:
        """How many messages, from the start of the list, are safely committed.

        Each BATCH_MAX messages share one transaction; each message runs in its own savepoint, so
        one that fails is rolled back alone and quarantined in the same transaction. The database
        being unavailable (OperationalError) rolls the whole transaction back: nothing of it is
        committed, and the count stops before it, so the caller marks exactly what is stored.
        """
        committed = 0
        for start in range(0, len(messages), BATCH_MAX):
            batch = messages[start : start + BATCH_MAX]
            stored = self._commit_batch(batch)
            committed += stored
            if stored < len(batch):
                break
        return committed

    def _read(self, messages: list[SourceMessage]) -> Iterator[tuple[ParsedMessage, Reading | Unread | None]]:
        """Each message parsed, in order: all before the transaction, or by the workers meanwhile.
        One the workers could not finish (Unread) is only its bytes; one whose reading raised is read
        here again, so that the steps meet the failure and quarantine it with its traceback."""
        if self._readers is None:
            parsed = [parse_message(message.raw) for message in messages]
            return ((msg, None) for msg in parsed)
        readings = self._readers.read_all(messages)
        return (
            (_parsed_of(message, ahead), ahead) if ahead else (parse_message(message.raw), None)
            for message, ahead in zip(messages, readings, strict=True)
        )

    def _commit_batch(self, messages: list[SourceMessage]) -> int:
        read = list(self._read(messages))
        try:
            # Optimistic first: no savepoints (two statements a message saved). Should any message
            # fail, the whole transaction is rolled back and the batch runs again, each message in
            # its own savepoint, so the failing one is quarantined and the others commit.
            return self._commit(messages, read, isolated=False)
        except _Isolate:
            return self._commit(messages, read, isolated=True)

    def _commit(
        self,
        messages: list[SourceMessage],
        read: list[tuple[ParsedMessage, Reading | Unread | None]],
        *,
        isolated: bool,
    ) -> int:
        done: list[_Committed | None] = []
        try:
            with session_scope(self.engine) as session:
                for message, (msg, ahead) in zip(messages, read, strict=True):
                    result = (
                        self._one(session, message, msg, ahead)
                        if isolated
                        else self._fast(session, message, msg, ahead)
                    )
                    if result is _NOT_STORED:
                        break  # commit what came before it; this one stays on the server
                    done.append(result)
        except OperationalError:
            log.warning(
                "database unavailable; %d message(s) stay on the server for the next round",
                len(messages),
            )
            log.debug("database error", exc_info=True)
            return 0
        for result in done:
            _count(result)
        return len(done)

    def _process(
        self, session: Session, message: SourceMessage, parsed: ParsedMessage, ahead: Reading | Unread | None
    ) -> _Committed:
        """Store the message and run the steps, or recognise a repeat (a crash before the mark)."""
        inbound, fresh = self._store(session, message.key, parsed)
        if not fresh:
            return _Committed("known")  # only marked again
        if isinstance(ahead, Unread):
            log.warning("message quarantined unread: %s", ahead.reason)
            reason = f"{ahead.reason}: {UNREAD_ADVICE}"
            _mark_quarantined(session, inbound.id, parsed, reason, "")
            return _Committed("quarantined")
        try:
            self._run(session, inbound, parsed, ahead, received_at=message.received_at)
        except Unprocessable as exc:
            # Raised before any step wrote (see Unprocessable): the stored message is quarantined
            # as it is, in this transaction, without rolling the batch back.
            log.info("message quarantined: %s", exc)
            _mark_quarantined(session, inbound.id, parsed, str(exc), "")
            return _Committed("quarantined")
        return _Committed(inbound.outcome or "unknown", parsed)

    def _fast(
        self, session: Session, message: SourceMessage, parsed: ParsedMessage, ahead: Reading | Unread | None = None
    ) -> _Committed:
        """One message without a savepoint; any failure but the database's sends the batch to `_one`."""
        try:
            return self._process(session, message, parsed, ahead)
        except OperationalError:
            raise
        except Exception as exc:
            raise _Isolate from exc

    def _one(
        self, session: Session, message: SourceMessage, parsed: ParsedMessage, ahead: Reading | Unread | None = None
    ) -> _Committed | None:
        """One message in its own savepoint: processed, already known, or quarantined."""
        try:
            with session.begin_nested():
                return self._process(session, message, parsed, ahead)
        except OperationalError:
            raise  # the database, not the message: the whole batch waits for the next round
        except IntegrityError as exc:
            if self._known(session, message.key, parsed)[0] is not None:
                # Another worker stored the same message between our check and our insert.
                log.info("message stored concurrently by another worker; skipping")
                return _Committed("known")
            return self._quarantine(session, message, parsed, exc)
        except Exception as exc:
            return self._quarantine(session, message, parsed, exc)

    def _known(
        self, session: Session, key: MessageKey, parsed: ParsedMessage
    ) -> tuple[Inbound | None, tuple[int, int | None] | None]:
        """The message as already stored (by where it sat on the server, else by its bytes), and an
        earlier processed copy with the same Message-ID (its id and case), in one query."""
        where = {
            "mailbox": key.mailbox,
            "uidvalidity": key.uidvalidity,
            "uid": key.uid,
            "dedupe_key": dedupe_key(parsed.message_id, parsed.sha256),
            "message_id": parsed.message_id,
        }
        rows = sorted(run(session, _KNOWN, where), key=lambda row: row.id)
        stored = [row for row in rows if row.at_key] or [row for row in rows if row.same_bytes]
        copies = [row for row in rows if row.status == "processed" and parsed.message_id]
        return (
            Inbound(stored[0].id, stored[0].message_id) if stored else None,
            (copies[0].id, copies[0].case_id) if copies else None,
        )

    def _store(self, session: Session, key: MessageKey, parsed: ParsedMessage) -> tuple[Inbound, bool]:
        existing, copy_of = self._known(session, key, parsed)
        if existing is not None:
            return existing, False
        row = {
            "mailbox": key.mailbox,
            "uidvalidity": key.uidvalidity,
            "uid": key.uid,
            "message_id": parsed.message_id,
            "sha256": parsed.sha256,
            "dedupe_key": dedupe_key(parsed.message_id, parsed.sha256),
            "raw": parsed.raw,
            "size": len(parsed.raw),
            "sender_email": parsed.sender.email if parsed.sender else None,
            "subject": parsed.subject[:1000],
        }
        inbound = Inbound(insert_row(session, InboundMessage, row), parsed.message_id, copy_of=copy_of)
        if parsed.attachments:
            # Nobody reads them back in this transaction: rows, not objects.
            insert_rows(
                session,
                StoredAttachment,
                [
                    {
                        "inbound_message_id": inbound.id,
                        "filename": attachment.filename,
                        "content_type": attachment.content_type,
                        "size": attachment.size,
                        "sha256": attachment.sha256,
                        "payload": attachment.payload,
                    }
                    for attachment in parsed.attachments
                ],
            )
        return inbound, True

    def _run(
        self,
        session: Session,
        inbound: Inbound,
        parsed: ParsedMessage,
        ahead: Reading | None = None,
        *,
        received_at: datetime | None = None,
    ) -> None:
        step = Step(
            session=session,
            settings=self.settings,
            directory=self.directory,
            inbound=inbound,
            parsed=parsed,
            ahead=ahead,
            received_at=received_at,
        )
        if parsed.problems:
            step.note("parse problems: " + "; ".join(parsed.problems[:10]))
        if inbound.copy_of is not None:
            copy_id, inbound.case_id = inbound.copy_of
            step.finish("duplicate", f"another copy of message {copy_id} (same Message-ID): not taken twice")
        for run_step in STEPS:
            if step.done:
                break
            run_step(step)
        inbound.status = "processed"
        inbound.reasons = step.reasons
        inbound.save(session, processed_at=utcnow())

    def _quarantine(
        self, session: Session, message: SourceMessage, parsed: ParsedMessage, exc: Exception
    ) -> _Committed | None:
        """Keep the raw message with the reason, in the batch's transaction; None if even that fails.
        (A message the steps found Unprocessable is quarantined by `_process` itself.)"""
        reason = f"could not be processed ({type(exc).__name__}): a coordinator or engineer should look"
        detail = traceback.format_exc()
        # The exception's text may quote the message: the type at ERROR, the traceback at DEBUG
        # (and on the quarantine entry, behind login).
        log.error("intake failed on a message (%s); quarantined", type(exc).__name__)
        log.debug("intake traceback", exc_info=True)
        for store in (self._store, _store_bare):
            try:
                with session.begin_nested():
                    inbound, _fresh = store(session, message.key, parsed)
                    _mark_quarantined(session, inbound.id, parsed, reason, detail)
                return _Committed("quarantined")
            except OperationalError:
                raise
            except Exception as exc:
                # Even its decoded headers were refused: the next try keeps the bytes and keys alone.
                log.error("could not store a message for quarantine (%s)", type(exc).__name__)
                log.debug("quarantine traceback", exc_info=True)
                reason = f"{reason}; its headers could not be stored"
        return _NOT_STORED


def _parsed_of(message: SourceMessage, ahead: Reading | Unread) -> ParsedMessage:
    """What a worker read, or for a message it could not finish, its bytes alone (stored as they are)."""
    return ahead.parsed if isinstance(ahead, Reading) else unread_message(message.raw)


def _count(result: _Committed) -> None:
    if result.outcome == "known":
        return
    if result.outcome == "quarantined":
        metrics.QUARANTINED.inc()
    if result.outcome == "new_case":
        metrics.CASES_OPENED.inc()
    metrics.MESSAGES_IN.labels(result.outcome).inc()
    if result.parsed is not None and result.parsed.date is not None:
        lag = (utcnow() - result.parsed.date).total_seconds()
        # A Date more than a day off is a wrong clock or old mail re-sent, not intake being slow.
        if 0 <= lag < LAG_PLAUSIBLE_SECONDS:
            metrics.INTAKE_LAG.set(lag)


def _mark_quarantined(session: Session, inbound_id: int, parsed: ParsedMessage, reason: str, detail: str) -> None:
    quarantined = {"status": "quarantined", "reasons": [*parsed.problems[:10], reason]}
    run(session, _SAVE_INBOUND, {"inbound_id": inbound_id, **quarantined})
    if run(session, _QUARANTINED, {"inbound_id": inbound_id}).first() is None:
        insert_rows(session, QuarantineEntry, [{"inbound_message_id": inbound_id, "reason": reason, "detail": detail}])


def _store_bare(session: Session, key: MessageKey, parsed: ParsedMessage) -> tuple[Inbound, bool]:
    """Store only the raw bytes and keys: for a message whose decoded fields the database refused."""
    dkey = dedupe_key(None, parsed.sha256)
    existing = run(session, _BY_DEDUPE_KEY, {"dedupe_key": dkey}).scalar()
    if existing is not None:
        return Inbound(existing, None), False
    row = {
        "mailbox": key.mailbox, "uidvalidity": key.uidvalidity, "uid": key.uid, "sha256": parsed.sha256,
        "dedupe_key": dkey, "raw": parsed.raw, "size": len(parsed.raw),
    }  # fmt: skip
    return Inbound(insert_row(session, InboundMessage, row), None), True


def retry_quarantined(engine: Engine, settings: Settings, entry_id: int) -> str:
    """Run a quarantined message through the steps again; on success the entry is resolved."""
    with session_scope(engine) as session:
        entry = session.get(QuarantineEntry, entry_id)
        if entry is None:
            return f"no quarantine entry {entry_id}"
        if entry.resolved_at is not None:
            return f"quarantine entry {entry_id} was already resolved"
        stored = session.get(InboundMessage, entry.inbound_message_id)
        assert stored is not None
        raw, message_id, received_at = stored.raw, stored.message_id, stored.received_at
        key = MessageKey(stored.mailbox, stored.uidvalidity, stored.uid)
    intake = Intake(engine, settings)
    try:
        [(parsed, ahead)] = list(intake._read([SourceMessage(key, raw)]))  # bounded, as intake reads
        if isinstance(ahead, Unread):
            raise Unprocessable(f"{ahead.reason}: {UNREAD_ADVICE}")
        with session_scope(engine) as session:
            entry = session.get(QuarantineEntry, entry_id)
            assert entry is not None
            # An earlier copy taken meanwhile (this one, quarantined, is not "processed").
            copy_of = intake._known(session, key, parsed)[1] if message_id else None
            inbound = Inbound(entry.inbound_message_id, message_id, copy_of=copy_of)
            intake._run(session, inbound, parsed, ahead, received_at=received_at)
            entry.resolved_at = utcnow()
            entry.attempts += 1
            outcome, reasons = inbound.outcome, inbound.reasons[-2:]
    except Exception as exc:
        with session_scope(engine) as session:
            entry = session.get(QuarantineEntry, entry_id)
            assert entry is not None
            entry.attempts += 1
            entry.reason = str(exc) if isinstance(exc, Unprocessable) else f"still failing ({type(exc).__name__})"
            entry.detail = traceback.format_exc()
            return f"still quarantined: {entry.reason}"
    finally:
        intake.close()
    _count(_Committed(outcome or "unknown", parsed))
    return f"processed: {outcome} ({'; '.join(reasons)})"
