"""A transcript or an SMS body read by the same referral extractor as email.

The text is given to the extractor as the body of a message with no header but its type, after
`inbox.extract.spoken.from_speech` has made speech-to-text readable (spoken numbers as digits, councils
and names capitalised). `parse-text` prints `text_summary`; the daemon's reading job (telephony's
voicemails and SMS from unknown numbers) stores `Referral.to_dict()`, evidence included.

Telephony does not import this module (a channel never imports another): the daemon hands
`read_text` to telephony's reading job (scheduler/daemon.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from inbox.extract import extract_referral
from inbox.extract.spoken import from_speech
from inbox.parse import parse_message
from inbox.referral import Referral
from models.la_directory import Directory, load_directory

# The keys of `parse-email --json` that a text can carry, in that order.
TEXT_KEYS = (
    "service",
    "local_authority",
    "served",
    "region",
    "referrer_role",
    "contact_phone",
    "child_name",
    "child_dob",
    "problems",
)


def read_text(text: str, *, directory: Directory | None = None, reference: date | None = None) -> Referral:
    """Referral fields from a transcript or an SMS body, each with its evidence. Never raises."""
    directory = directory or load_directory()
    readable = from_speech(text, directory)
    raw = b"Content-Type: text/plain; charset=utf-8\r\nMIME-Version: 1.0\r\n\r\n" + readable.encode("utf-8")
    # A text has no Date header: dates are read against the day it is read (a date of birth in the future
    # is no date of birth).
    return extract_referral(parse_message(raw), directory=directory, reference=reference or date.today())


def text_summary(referral: Referral) -> dict[str, Any]:
    fields = referral.to_dict()
    return {key: fields[key] for key in TEXT_KEYS}
