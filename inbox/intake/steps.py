"""Intake's steps: a table of small named steps (STEPS) that decide what a stored message becomes.

`run_steps` runs them in order on one message, in the caller's transaction, from its `Reading`
(inbox/reading.py: parsed, classified and extracted once, before the transaction or in a worker):
no step reads the message again. Each step records why it decided what it did (`note`) on the
stored message; a step that places the message (`finish`) ends the run. A step may raise
Unprocessable (the sender's problem) before anything is written for the message; any other
exception is a bug, and the caller quarantines the message with its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row
from sqlmodel import Session

from inbox.acknowledge import acknowledge
from inbox.classify import Verdict
from inbox.intake.cases import earlier_case_of_sender, hold_on_case, open_case_from
from inbox.intake.store import Inbound
from inbox.message import ParsedMessage
from inbox.parse.attachments import payload_of
from inbox.reading import Reading
from inbox.referral import Referral
from inbox.reflection import MAX_ADDRESS
from inbox.thread_match import ThreadMatch, match_thread
from models.case_actions import needs_attention
from models.case_ops import NewCase, add_timeline, mark_undeliverable, open_inbox_item, touch_case
from models.outbox import OutboxMessage
from models.rows import run, table
from models.settings import Settings
from models.types import utcnow

OUTBOX = table(OutboxMessage)
_OUR_MESSAGE = (
    select(OUTBOX.c.case_id, OUTBOX.c.to).where(OUTBOX.c.message_id.in_(bindparam("ids", expanding=True))).limit(1)
)


class Unprocessable(Exception):
    """The sender's problem: the message cannot become a case step (quarantined with this reason).

    Raised only before a step has written anything for the message, so intake quarantines the
    message in place instead of rolling anything back."""


@dataclass
class Step:
    """What intake knows about one message as the steps run."""

    session: Session
    settings: Settings
    inbound: Inbound
    reading: Reading
    match: ThreadMatch | None = None
    case: NewCase | None = None
    received_at: datetime | None = None  # when the mailbox got it (SourceMessage.received_at)
    new_case: bool = False
    done: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def parsed(self) -> ParsedMessage:
        return self.reading.parsed

    @property
    def verdict(self) -> Verdict:
        return self.reading.verdict

    @property
    def referral(self) -> Referral | None:
        return self.reading.referral

    def note(self, reason: str) -> None:
        self.reasons.append(reason)

    def finish(self, outcome: str, reason: str) -> None:
        self.inbound.outcome = outcome
        self.note(reason)
        self.done = True


# ---- the steps, in order ------------------------------------------------------------------------


def step_classify(step: Step) -> None:
    """Record the verdict reading gave: machine mail or a person's, the rules that fired, their faults."""
    verdict = step.verdict
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
    if step.verdict.kind != "bounce":
        return
    ours = _our_message(step.session, step.reading.original_message_id)
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
    recipients = step.reading.bounced or ([ours.to] if ours else [])
    if ours is not None:
        # Only the addresses we actually wrote to: a bounce cannot make a stranger undeliverable.
        recipients = [r for r in recipients if r.lower() == ours.to.lower()] or [ours.to]
    for address in recipients:
        mark_undeliverable(step.session, address, _bounce_reason(step.parsed), case_id)
    matched = f"matched to our message to the case {case_id}" if ours else "not matched to a message of ours"
    step.finish("bounce", f"bounce {matched}; undeliverable: {len(recipients)} address(es)")


def step_ignore_machine_mail(step: Step) -> None:
    if step.verdict.kind is None:
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
    if not step.verdict.errors:
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
    """Record what reading extracted of the referral (a person's mail: reading always extracts it)."""
    referral = step.referral
    assert referral is not None
    step.inbound.faults += [f"extract:{name}" for name in referral.faults]
    for problem in referral.problems:
        step.note(f"extraction fault: {problem}")
    found = [name for name in ("service", "local_authority", "child_name", "contact_phone") if getattr(referral, name)]
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
        needs_attention(step.session, match.case_id, "reply")  # in the coordinators' inbox until seen
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
    earlier = earlier_case_of_sender(step)
    if earlier is not None:
        hold_on_case(step, earlier)
        return
    step.case = open_case_from(step, related_case_id=match.related_case_id)
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


def run_steps(
    session: Session, settings: Settings, inbound: Inbound, reading: Reading, *, received_at: datetime | None = None
) -> None:
    """Run the steps on a stored message and save what they decided on its row."""
    step = Step(session=session, settings=settings, inbound=inbound, reading=reading, received_at=received_at)
    parsed = reading.parsed
    if parsed.problems:
        step.note("parse problems: " + "; ".join(parsed.problems[:10]))
    if inbound.copy_of is not None:
        copy_id, inbound.case_id = inbound.copy_of
        step.finish("duplicate", f"another copy of message {copy_id} (same Message-ID and content): not taken twice")
    elif inbound.id_reused:
        # Its own message: threading goes by the parties of a case, not by this Message-ID alone.
        step.note(f"{inbound.id_reused}: taken as a message of its own")
    for run_step in STEPS:
        if step.done:
            break
        run_step(step)
    if inbound.copy_of is None:
        note_unread_attachments(step)
        note_text_not_read(step)
    inbound.status = "processed"
    inbound.reasons = step.reasons
    inbound.save(session, processed_at=utcnow())


def note_unread_attachments(step: Step) -> None:
    """Attachments a person must read (a scan with no text layer, an old .doc, a locked PDF) are written
    on the case the message reached, by name, so nobody takes the case's fields as all the form said;
    without a case (triage) the message's own reasons say it."""
    for doc in step.reading.needs_person:
        summary = f"Attachment needs a person to read: {doc.filename[:120]} ({doc.problem})"
        if step.inbound.case_id is not None:
            add_timeline(
                step.session,
                step.inbound.case_id,
                "note",
                summary,
                inbound_message_id=step.inbound.id,
                data={"attachment": doc.filename, "problem": doc.problem},
            )
        step.note(summary)


TEXT_NOT_READ = Path(__file__).resolve().parents[2] / "templates" / "timeline" / "text_not_read.txt"


def note_text_not_read(step: Step) -> None:
    """A body read only from its start (a huge HTML or text part: inbox/parse/parts.py) is said on the
    case the message reached, so nobody takes what was extracted as all the message said."""
    size = step.reading.parsed.text_cut_size
    if not size:
        return
    summary = TEXT_NOT_READ.read_text(encoding="utf-8").strip().format(megabytes=f"{size / 1_000_000:.0f}")
    if step.inbound.case_id is not None:
        add_timeline(
            step.session, step.inbound.case_id, "note", summary, inbound_message_id=step.inbound.id,
            data={"text_cut_size": size},
        )  # fmt: skip
    step.note(summary)


def _our_message(session: Session, *message_ids: str | None) -> Row | None:
    """The message of ours (its case_id and to) that one of these Message-IDs names, if any."""
    ids = [i for i in message_ids if i]
    if not ids:
        return None
    return run(session, _OUR_MESSAGE, {"ids": ids}).first()


def _bounce_reason(msg: ParsedMessage) -> str:
    for attachment in msg.attachments:
        if attachment.content_type == "message/delivery-status":
            text = payload_of(msg, attachment).decode("utf-8", "replace")
            for line in text.splitlines():
                if line.lower().startswith("diagnostic-code:"):
                    return line.split(":", 1)[1].strip()
    return msg.subject or "delivery failed"
