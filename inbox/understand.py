"""One email read as a coordinator would: parse, classify, and (for a person's mail) extract.

Used by `python main.py parse-email` and the parse benchmark; intake runs the same three steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inbox.classify import Verdict, classify
from inbox.extract import extract_referral
from inbox.message import ParsedMessage
from inbox.parse import parse_message
from inbox.referral import Referral
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


def understand(raw: bytes, *, directory: Directory | None = None, own_addresses: tuple[str, ...] = ()) -> Understanding:
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
