"""Referral fields from one email, read the way a careful coordinator reads it.

`extract_referral(msg, documents=...)` returns a `Referral` whose every value carries `Evidence`: the
source ("subject", "body", "forwarded", "quoted", "signature", "header", or "attachment" with the file's
name), the span and the words there.

How it reads (the rules come from MISSION.md and the labelled samples' README):
- The message is split into *sources* (`sources.py`): the subject, the sender's new words, forwarded
  messages, the quoted history, the signature and the From header, and the text of each attachment
  read as a document (inbox/documents: a form, a council's letter); form fields ("Label: value",
  tables, ticked boxes, a form's headed sections) are read from them too (`forms.py`, `ticks.py`).
  Trust goes body (what the sender writes now) > attachment > forwarded and quoted text: a body's
  "please use my new number" beats the form, a form's answer beats a quote; an attachment's numbers
  count only as a form's answers. Together with our own addresses, numbers and postcodes, the sender
  and the reference day they make the `Context` (`context.py`), built once and never changed.
- Each field is found by a step of the table in `steps.py`, one module per field or small family of
  fields (service, council, role, phone, child, dates, school, plan and topics, access needs,
  referrer). A step collects *candidates* with cue words around them, weighs them by source (new text
  beats quoted text, a signature counts least) and by cue, and keeps the best. Nothing is keyed to
  anyone's wording: the cues are the phrases people use for a role, a service, a council, a child, a
  phone number.
- Quoted text we wrote (our own reply) and forwarded letters from third parties give facts (the
  council, the child) but never the sender's phone number.

It never raises: any text in, a `Referral` out. A field that cannot be read stays None; a step that
raises is a bug in our code, logged at ERROR (the step and the exception type only: an exception's
message may quote the email), listed in `referral.faults` (intake counts them) and explained in
`referral.problems`, so a coordinator knows the field is missing because of a fault, not because the
email lacked it. The other steps still run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from inbox.documents import DocumentText
from inbox.extract.context import build_context
from inbox.extract.step import Step, apply
from inbox.extract.steps import STEPS
from inbox.message import ParsedMessage
from inbox.referral import Referral
from models.la_directory import Directory, load_directory
from models.offices import own_phone_numbers

__all__ = ["STEPS", "Step", "extract_referral"]

log = logging.getLogger(__name__)

# The name faults in building the context are recorded under (every field is then missing).
CONTEXT_STEP = "message"


def extract_referral(
    msg: ParsedMessage,
    *,
    directory: Directory | None = None,
    own_addresses: Sequence[str] = (),
    own_phones: Sequence[str] | None = None,
    reference: date | None = None,
    steps: Sequence[Step] = STEPS,
    documents: Sequence[DocumentText] = (),
) -> Referral:
    """Every referral field this email gives, each with its evidence. Never raises.

    `reference`: the day to read dates against when the message has no Date header (when it reached
    us). `own_phones` default to the offices' numbers (data/offices.json). `steps`: the table to run.
    `documents`: the attachments' text (inbox/documents), sources trusted below the body, above quotes."""
    ref = Referral()
    try:
        ctx = build_context(
            msg,
            directory=directory if directory is not None else load_directory(),
            own_addresses=own_addresses,
            own_phones=own_phones if own_phones is not None else own_phone_numbers(),
            reference=reference,
            documents=documents,
        )
    except Exception as exc:  # our bug: recorded below and seen by intake; no field can be read
        _record_fault(ref, CONTEXT_STEP, exc)
        return ref
    for step in steps:
        try:
            apply(step, step.read(ctx, ref), ref)
        except Exception as exc:  # one field's bug must not lose the others: the coordinator fills it in
            _record_fault(ref, step.name, exc)
    return ref


def _record_fault(ref: Referral, step: str, exc: Exception) -> None:
    """Our bug, logged without the email's words: the step and exception type at ERROR, the traceback
    only at DEBUG (an exception's message may quote the text; personal data stays out of logs above DEBUG)."""
    log.error("referral extraction: the %s step failed (%s)", step, type(exc).__name__)
    log.debug("referral extraction: the %s step failed", step, exc_info=exc)
    ref.faults.append(step)
    ref.problems.append(f"the {step} reader failed (a fault, not missing from the email)")
