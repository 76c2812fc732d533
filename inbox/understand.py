"""One email read as a coordinator would: parse, classify, and (for a person's mail) extract.

Used by `python main.py parse-email` and the parse benchmark; intake runs the same three steps. With a
`timeout` (parse-email passes settings.read_timeout_seconds) the reading happens in a reading process
(inbox/reading.py), one kept for all the calls of a command, and a message that takes longer raises
Unreadable instead of holding the command for as long as it takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inbox.classify import Verdict, classify
from inbox.extract import extract_referral
from inbox.message import ParsedMessage
from inbox.parse import parse_message
from inbox.reading import Readers, Reading
from inbox.referral import Referral
from inbox.sources.base import MessageKey, SourceMessage
from models.la_directory import Directory, load_directory
from models.offices import own_phone_numbers


@dataclass(slots=True)
class Understanding:
    parsed: ParsedMessage
    verdict: Verdict
    referral: Referral | None  # None for machine mail

    def summary(self) -> dict[str, Any]:
        """The fixed keys of `parse-email --json` (file is added by the caller)."""
        r = self.referral
        return {
            "automated": self.verdict.kind,
            "service": r.service if r else None,
            "local_authority": r.local_authority if r else None,
            "served": r.served if r else None,
            "region": r.region if r else None,
            "referrer_role": r.referrer_role if r else None,
            "referrer_name": r.referrer_name if r else None,
            "referrer_email": r.referrer_email if r else None,
            "contact_phone": r.contact_phone if r else None,
            "child_name": r.child_name if r else None,
            "child_dob": r.child_dob.isoformat() if r and r.child_dob else None,
            "decision_date": r.decision_date.isoformat() if r and r.decision_date else None,
            "school": r.school if r else None,
            "has_ehc_plan": r.has_ehc_plan if r else None,
            "dispute_topics": list(r.dispute_topics) if r else [],
            "access_needs": list(r.access_needs) if r else [],
            # What parsing could not read, then extraction's faults (a field missing because of our bug).
            "problems": [*self.parsed.problems, *(r.problems if r else [])],
        }


class Unreadable(Exception):
    """The message could not be read within the bound (the reason says why)."""


def understand(
    raw: bytes,
    *,
    directory: Directory | None = None,
    own_addresses: tuple[str, ...] = (),
    timeout: float | None = None,
) -> Understanding:
    if timeout and (directory is None or directory is load_directory()):
        [result] = list(_bounded_reader(own_addresses, timeout).read_all([SourceMessage(_KEY, raw)]))
        if isinstance(result, Reading):
            return Understanding(result.parsed, result.verdict, result.referral)
        if result is not None:
            raise Unreadable(result.reason)
        # The reading raised in the worker: read here, so the error shows as it would without a bound.
    parsed = parse_message(raw)
    verdict = classify(parsed)
    referral = None
    if verdict.kind is None:
        referral = extract_referral(
            parsed,
            directory=directory or load_directory(),
            own_addresses=own_addresses,
            own_phones=own_phone_numbers(),
        )
    return Understanding(parsed, verdict, referral)


_KEY = MessageKey("understand", 0, "0")
_READERS: dict[tuple[tuple[str, ...], float], Readers] = {}  # one reading process for a command's calls


def _bounded_reader(own_addresses: tuple[str, ...], timeout: float) -> Readers:
    readers = _READERS.get((own_addresses, timeout))
    if readers is None:
        readers = _READERS[own_addresses, timeout] = Readers(1, own_addresses, timeout)
    return readers
