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
import json
import logging
import re
import traceback
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from inbox import too_large
from inbox.acknowledge import acknowledge
from inbox.classify import Verdict, bounced_recipients, classify, original_message_id, unanswerable
from inbox.extract import extract_referral
from inbox.message import ParsedMessage
from inbox.parse import parse_message
from inbox.parse.attachments import payload_of
from inbox.reading import Readers, Reading, Unread, unread_message
from inbox.referral import Referral
from inbox.reflection import MAX_ADDRESS, follows_reply_to
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
    recent_cases_of,
    touch_case,
)
from models.db import check_same_file, describe_db_error, session_scope
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
_SAVE_INBOUND = update(INBOUND).where(INBOUND.c.id == bindparam("inbound_id"))  # SET: the columns given
_OUR_MESSAGE = (
    select(OUTBOX.c.case_id, OUTBOX.c.to).where(OUTBOX.c.message_id.in_(bindparam("ids", expanding=True))).limit(1)
)
_QUARANTINED = select(QUARANTINE.c.id).where(QUARANTINE.c.inbound_message_id == bindparam("inbound_id"))


LAG_PLAUSIBLE_SECONDS = 24 * 3600
# After a case is opened from an address, further new-case mail from it within this time goes to
# that case's triage (unless it names another child): a flood of notifications opens one case. A
# constant, not MDESK_AUTO_REPLY_WINDOW_HOURS: that one paces our automatic mail to an address (mail
# loops) and may be tuned for that alone; this one says which mail opens a case.
NEW_CASE_WINDOW = timedelta(hours=24)
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


# ---- the steps, in order ------------------------------------------------------------------------


def step_classify(step: Step) -> None:
    step.verdict = verdict = step.ahead.verdict if step.ahead else classify(step.parsed)
    step.inbound.automated = verdict.kind
    step.inbound.rules = list(verdict.rules)
    if verdict.errors:
        step.inbound.faults += [f"classify:{error.rule}" for error in verdict.errors]
        failed = ", ".join(f"{error.rule} ({error.error})" for error in verdict.errors)
        step.note(f"classification incomplete: rule(s) {failed} failed, a fault in our software")
    if verdict.kind is None:
        step.note("written by a person")
        return
    step.note(f"automated ({verdict.kind}): " + "; ".join(verdict.reasons))


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
    if len(sender.email.encode()) > MAX_ADDRESS:
        # No mail system can deliver to it (RFC 5321 4.5.3.1), nor does it fit a contact's address.
        raise Unprocessable("the sender address is longer than SMTP allows: it cannot be answered or kept as a contact")


def step_check_incomplete_classification(step: Step) -> None:
    """A person's mail that some classifier rule failed on (a bug) goes on as a person's mail, and a
    coordinator is asked to check it.

    Every rule votes only for machine mail, so a failed rule can only have missed a machine sign.
    Taking the message for machine mail would store a family's referral without a case or an
    answer, the costlier mistake; taking machine mail for a person's costs at most one
    acknowledgement to that address in the throttle window (inbox/acknowledge.py), carrying
    Auto-Submitted so a well-behaved responder does not answer it. So the case is opened and
    acknowledged as usual, and the item lets a coordinator close it if it was machine mail after all.
    (After step_require_sender: nothing is written for a message that is then quarantined.)"""
    if step.verdict is None or not step.verdict.errors:
        return
    rules = ", ".join(error.rule for error in step.verdict.errors)
    item_id = open_inbox_item(
        step.session,
        kind="fault",
        summary=(
            "Check this email was written by a person: the automated-mail check could not run in full "
            f"(a fault in our software, rule(s) {rules}), so it was taken as a person's email."
        ),
        inbound_message_id=step.inbound.id,
    )
    step.note(f"inbox item {item_id}: a coordinator checks it is a person's mail")


def step_extract(step: Step) -> None:
    if step.ahead and step.ahead.referral:
        step.referral = step.ahead.referral
    else:
        step.referral = extract_referral(
            step.parsed,
            directory=step.directory,
            own_addresses=step.settings.own_addresses,
            own_phones=own_phone_numbers(),
            reference=step.received_at.date() if step.received_at else None,
        )
    step.inbound.faults += [f"extract:{name}" for name in step.referral.faults]
    for problem in step.referral.problems:
        step.note(f"extraction fault: {problem}")
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
    if match.how in ("ambiguous", "unknown_reply", "stranger"):
        item_id = open_inbox_item(
            step.session,
            kind="triage",
            summary=f"Which case does this email belong to? ({match.reason})",
            inbound_message_id=step.inbound.id,
        )
        step.finish("triage", f"not placed with confidence: inbox item {item_id} for a coordinator")
        return
    earlier = _earlier_case_of_sender(step)
    if earlier is not None:
        _hold_on_case(step, earlier)
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
    step_check_incomplete_classification,
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


def _earlier_case_of_sender(step: Step) -> int | None:
    """A case opened from the same address within NEW_CASE_WINDOW that this mail is about: the one
    naming its child, else (it names no child) the first. None: open a case (another child, or none)."""
    recent = recent_cases_of(step.session, _referrer_email(step), utcnow() - NEW_CASE_WINDOW)
    if not recent:
        return None
    child = step.referral.child_name if step.referral else None
    if not child:
        return recent[0][0]
    return next((case_id for case_id, name in recent if name and _same_child(name, child)), None)


_NAME_WORDS = re.compile(r"[^\W\d_]+")


def _same_child(one: str, other: str) -> bool:
    """The same child's name, written in full or in part ("Elliot" and "Elliot Pryce"), any case."""
    words = [set(_NAME_WORDS.findall(unicodedata.normalize("NFKC", name).casefold())) for name in (one, other)]
    return bool(words[0] and words[1]) and (words[0] <= words[1] or words[1] <= words[0])


def _hold_on_case(step: Step, case_id: int) -> None:
    """New-case mail from a case's sender soon after it opened: on that case's triage, unanswered."""
    reference = touch_case(step.session, case_id)
    step.inbound.case_id = case_id
    add_timeline(
        step.session,
        case_id,
        "message_in",
        f"Further email from the referrer (no new case opened): {step.parsed.subject[:200]}",
        inbound_message_id=step.inbound.id,
    )
    item_id = open_inbox_item(
        step.session,
        kind="triage",
        summary=(
            "Another email from the address this case was opened from, within a day, about the same "
            "child or none: no new case and no acknowledgement. Does it need a case of its own?"
        ),
        case_id=case_id,
        inbound_message_id=step.inbound.id,
    )
    step.finish(
        "triage",
        f"new-case mail from the sender of case {reference} within {NEW_CASE_WINDOW.total_seconds() / 3600:.0f} h, "
        f"naming no other child: on its triage (inbox item {item_id}), no new case",
    )


def _bounce_reason(msg: ParsedMessage) -> str:
    for attachment in msg.attachments:
        if attachment.content_type == "message/delivery-status":
            text = payload_of(msg, attachment).decode("utf-8", "replace")
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
    form); else a Reply-To naming someone outside, in the sender's own domain or from a no-reply
    sender (inbox/reflection.py says why no other); else, from an address nobody reads (a form
    service's no-reply), the address typed into the form; else the sender."""
    sender = step.parsed.sender
    assert sender is not None
    ours = step.settings.mail_from_domain
    typed = step.referral.referrer_email.lower() if step.referral and step.referral.referrer_email else None
    if sender.email.rpartition("@")[2] == ours and typed:
        return typed
    for reply_to in step.parsed.reply_to:
        email = reply_to.email
        if "@" in email and not email.endswith("@" + ours) and follows_reply_to(sender.email, email):
            return email
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
    rules: tuple[str, ...] = ()  # the classifier rules that fired on it
    faults: tuple[str, ...] = ()  # the steps that failed on it with a bug


_NOT_STORED = None  # a message that could not be stored even raw: the batch stops before it


class _Known(NamedTuple):
    """What `Intake._known` finds of a message in the database before it is stored."""

    stored: Inbound | None  # the message itself, stored already
    copy_of: tuple[int, int | None] | None  # an earlier processed copy of it: its id and case
    id_reused: str | None  # its Message-ID names another message too: the note that says so
    content: str  # its content_key


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
            self._readers = Readers(workers, self.settings.own_addresses, timeout)

    def start_workers(self) -> None:
        """Start the reading workers, if any, now (the daemon does, at start-up) instead of on first use."""
        if self._readers is not None:
            self._readers.start()

    def read_ahead(self, messages: list[SourceMessage]) -> None:
        """The watcher's whole fetch, before it hands it over CHUNK at a time: with reading workers,
        they read the later chunks while this process writes the earlier ones."""
        if self._readers is not None:
            self._readers.read_ahead([m for m in messages if not self._too_large(m)])

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
        here again, so that the steps meet the failure and quarantine it with its traceback. A message
        over the size limit has its headers parsed only, here, never in a worker."""
        if self._readers is None:
            parsed = [self._parse(message) for message in messages]
            return ((msg, None) for msg in parsed)
        readings = iter(self._readers.read_all([m for m in messages if not self._too_large(m)]))
        return (
            (self._parse(message), None)
            if self._too_large(message)
            else (
                (_parsed_of(message, ahead), ahead) if (ahead := next(readings)) else (parse_message(message.raw), None)
            )
            for message in messages
        )

    def _too_large(self, message: SourceMessage) -> bool:
        return too_large.is_too_large(message.raw, message.size, self.settings)

    def _parse(self, message: SourceMessage) -> ParsedMessage:
        return too_large.read_headers(message.raw) if self._too_large(message) else parse_message(message.raw)

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
            _count(result)
        return len(done)

    def _process(
        self, session: Session, message: SourceMessage, parsed: ParsedMessage, ahead: Reading | Unread | None
    ) -> _Committed:
        """Store the message and run the steps, or recognise a repeat (a crash before the mark)."""
        if self._too_large(message):
            return self._quarantine_too_large(session, message, parsed)
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
        return _Committed(inbound.outcome or "unknown", parsed, tuple(inbound.rules), tuple(inbound.faults))

    def _quarantine_too_large(self, session: Session, message: SourceMessage, parsed: ParsedMessage) -> _Committed:
        """Stored raw (read_headers parsed its headers only) and quarantined with the reason; a
        person is told, in this transaction (inbox/too_large.py). The row is written once, already
        quarantined: SQLite rewrites a whole row on UPDATE, which would copy the message twice more."""
        size = max(message.size or 0, len(message.raw))
        reason = too_large.reason(size, self.settings)
        quarantined = {"status": "quarantined", "reasons": [*parsed.problems, reason]}
        inbound, fresh = self._store(session, message.key, parsed, **quarantined)
        if not fresh:
            return _Committed("known")
        log.info("message quarantined: %s", reason)
        reply = too_large.answer(session, self.settings, parsed, inbound.id, size, message.received_at)
        insert_rows(session, QuarantineEntry, [{"inbound_message_id": inbound.id, "reason": reason, "detail": reply}])
        return _Committed("quarantined")

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

    def _known(self, session: Session, key: MessageKey, parsed: ParsedMessage) -> _Known:
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
            return _Known(itself, (copies[0].id, copies[0].case_id), None, ours)
        sender = parsed.sender.email if parsed.sender else None
        others = {row.sender_email for row in same_id if row.content_key != ours}
        reuse = (
            None
            if not others
            else "Message-ID reused by another sender"
            if others - {sender}
            else "Message-ID reused by another message from the same sender"
        )
        return _Known(itself, None, reuse, ours)

    def _store(
        self, session: Session, key: MessageKey, parsed: ParsedMessage, **columns: object
    ) -> tuple[Inbound, bool]:
        """The message stored (a row; `columns`: more of its values), or as it was stored already."""
        existing, copy_of, id_reused, content = self._known(session, key, parsed)
        if existing is not None:
            return existing, False
        row = {
            "mailbox": key.mailbox,
            "uidvalidity": key.uidvalidity,
            "uid": key.uid,
            "message_id": parsed.message_id,
            "sha256": parsed.sha256,
            "dedupe_key": dedupe_key(parsed.message_id, parsed.sha256),
            "content_key": content,
            "raw": parsed.raw,
            "size": len(parsed.raw),
            "sender_email": parsed.sender.email[:320] if parsed.sender else None,  # the column's size
            "subject": parsed.subject[:1000],
            **columns,
        }
        inbound = Inbound(
            insert_row(session, InboundMessage, row), parsed.message_id, copy_of=copy_of, id_reused=id_reused
        )
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
                        "part_index": attachment.index,  # its bytes are the raw message's: not stored twice
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
            step.finish(
                "duplicate", f"another copy of message {copy_id} (same Message-ID and content): not taken twice"
            )
        elif inbound.id_reused:
            # Its own message: threading goes by the parties of a case, not by this Message-ID alone.
            step.note(f"{inbound.id_reused}: taken as a message of its own")
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
    for rule in result.rules:
        metrics.CLASSIFIER_RULE_HITS.labels(rule).inc()
    for step in result.faults:
        metrics.PIPELINE_ERRORS.labels(step).inc()
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
        if too_large.is_too_large(raw, None, settings):
            return f"still quarantined: {too_large.reason(len(raw), settings)}"  # never parsed
    intake = Intake(engine, settings)
    try:
        [(parsed, ahead)] = list(intake._read([SourceMessage(key, raw)]))  # bounded, as intake reads
        if isinstance(ahead, Unread):
            raise Unprocessable(f"{ahead.reason}: {UNREAD_ADVICE}")
        with session_scope(engine) as session:
            entry = session.get(QuarantineEntry, entry_id)
            assert entry is not None
            # An earlier copy taken meanwhile (this one, quarantined, is not "processed").
            known = intake._known(session, key, parsed)
            inbound = Inbound(entry.inbound_message_id, message_id, copy_of=known.copy_of, id_reused=known.id_reused)
            intake._run(session, inbound, parsed, ahead, received_at=received_at)
            entry.resolved_at = utcnow()
            entry.attempts += 1
            outcome, reasons = inbound.outcome, inbound.reasons[-2:]
            committed = _Committed(outcome or "unknown", parsed, tuple(inbound.rules), tuple(inbound.faults))
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
    _count(committed)
    return f"processed: {outcome} ({'; '.join(reasons)})"
