"""What a referral email says, field by field, with where each value was read.

`inbox.extract.extract_referral` fills a `Referral` from a `ParsedMessage`. Every value it sets has an
`Evidence` beside it, so a coordinator looking at a new case sees the words a value came from, not
just the value, and can correct it in one glance.

Evidence spans are offsets into the text of one *source* of the message:
- "subject": `msg.subject`
- "body": `msg.new_text` (the sender's own new words; for a forward, the forwarder's note)
- "forwarded": the texts of `msg.forwarded`, joined by a blank line ("\\n\\n") in order
- "quoted": `msg.quoted_text`
- "signature": `msg.signature`
- "header": the sender as "Name <email>" (or the Reply-To, for website forms)
- "attachment": the text of the attached file named in `Evidence.file` (inbox/documents), a form's
  unticked options blanked for matching but kept in the text

List fields keep one `Evidence` per item, keyed "dispute_topics/<topic>" and "access_needs/<need>".
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from inbox.pickled import by_fields

SERVICES = ("mediation", "certificate", "disagreement_resolution", "facilitation")
ROLES = ("parent", "young_person", "professional")
DISPUTE_TOPICS = (
    "refusal_to_assess",
    "refusal_to_issue",
    "section_b",
    "section_f",
    "section_i",
    "refusal_to_reassess",
    "refusal_to_amend",
    "cease_plan",
    "health",
    "social_care",
    "school_duties",
    "la_health_disagreement",
)
SOURCES = ("subject", "body", "forwarded", "quoted", "signature", "header", "attachment")


@by_fields
@dataclass(slots=True)
class Evidence:
    value: object
    source: str  # one of SOURCES
    start: int  # span in that source's text
    end: int
    snippet: str  # the words around the span, as a coordinator would want to read them
    file: str | None = None  # source "attachment": the file's name

    @property
    def said(self) -> str:
        """Where and in which words: "from Referral form.pdf: Date of birth 14/02/2013" (a form's table
        cells, read as "Date of birth | 14/02/2013", said as the words printed)."""
        if self.file:
            return f"from {self.file}: {self.snippet.replace(' | ', ' ')}"
        return f"from {_SOURCE_WORDS.get(self.source, self.source)}: {self.snippet}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _jsonable(self.value),
            "source": self.source,
            "file": self.file,
            "start": self.start,
            "end": self.end,
            "snippet": self.snippet,
            "said": self.said,
        }


_SOURCE_WORDS = {
    "subject": "the subject",
    "body": "the email",
    "forwarded": "the forwarded email",
    "quoted": "the earlier email quoted",
    "signature": "the signature",
    "header": "the sender's address",
}


@by_fields
@dataclass(slots=True)
class Referral:
    service: str | None = None  # one of SERVICES; None: an enquiry, no request yet
    local_authority: str | None = None  # canonical name (served) or the council's own name (unserved)
    served: bool | None = None
    region: str | None = None  # "london" | "national", only when served
    referrer_role: str | None = None  # one of ROLES
    referrer_name: str | None = None
    referrer_email: str | None = None
    contact_phone: str | None = None  # E.164
    child_name: str | None = None
    child_dob: date | None = None
    decision_date: date | None = None  # date of the LA's decision letter
    school: str | None = None
    has_ehc_plan: bool | None = None
    dispute_topics: list[str] = field(default_factory=list)
    access_needs: list[str] = field(default_factory=list)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    # Steps of extraction that failed (our bugs, inbox.extract): their fields are missing because of a
    # fault, not because the email lacked them. `problems` says so in words for the coordinator.
    faults: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, evidence as plain dicts."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "evidence":
                out[f.name] = {key: ev.to_dict() for key, ev in value.items()}
            else:
                out[f.name] = _jsonable(value)
        return out


def _jsonable(value: object) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
