"""Reading a message: one pure function, `read`, from its bytes to one `Reading`.

`read` parses, classifies (keeping the names of the rules that fired) and, for a person's mail,
extracts the referral with its evidence, dates read against when the mailbox got the message; for a
bounce it finds the Message-ID of ours it returns and the recipients that bounced. A message over the
size limit is read from its header block alone (inbox/too_large.py says what happens to it).
Intake's steps, `parse-email` (inbox/understand.py) and the reading workers (inbox/readers.py) all
call it, so they cannot disagree. A `Reading` carries no parsed MIME tree (`ParsedMessage.message`):
it does not pickle, and every fact that needs it is worked out by `read`. Reading that raises is a
bug: it comes back as `Unread` with the traceback, and intake quarantines the message with it.
"""

from __future__ import annotations

import hashlib
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inbox.classify import Verdict, bounced_recipients, classify, original_message_id
from inbox.documents import DocumentLimits, DocumentText
from inbox.documents.attached import read_attachments
from inbox.extract import extract_referral
from inbox.message import ParsedMessage
from inbox.parse import ByteChunks, parse_message
from inbox.pickled import by_fields
from inbox.referral import Referral
from models.la_directory import Directory, load_directory
from models.offices import own_phone_numbers


@by_fields
@dataclass(slots=True)
class Reading:
    """Everything intake's steps and `parse-email` need from a message's bytes, read once by `read`."""

    parsed: ParsedMessage  # without .message (the MIME tree: it does not pickle, and nothing later needs it)
    verdict: Verdict  # with the names of the rules that fired
    referral: Referral | None  # for a person's mail (with evidence); None for machine mail
    bounced: list[str]  # bounced_recipients, for a bounce
    original_message_id: str | None  # the Message-ID of ours that a bounce returns
    too_large: bool = False  # over the size limit: `parsed` is the header block alone, nothing extracted
    # The attachments read as documents (a person's mail only), their text dropped once extracted from.
    documents: list[DocumentText] = field(default_factory=list)

    @property
    def needs_person(self) -> list[DocumentText]:
        """Attachments a person must read: a scan with no text layer, an old .doc, a locked file."""
        return [doc for doc in self.documents if doc.needs_person]

    def with_raw(self, raw: bytes) -> Reading:
        self.parsed.raw = raw
        return self

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
            "evidence": {name: ev.to_dict() for name, ev in r.evidence.items()} if r else {},
            "attachments": [doc.describe() for doc in self.documents],
        }


@by_fields
@dataclass(slots=True)
class Unread:
    """A message not read to the end, and why: too slow, its process died, or reading raised (a bug,
    `detail` its traceback). Intake stores it (what was parsed of it, else its bytes alone) and
    quarantines it with the reason."""

    reason: str
    detail: str = ""  # the traceback, when reading raised
    parsed: ParsedMessage | None = None  # parsed before the failure, without .message


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What reading needs besides the bytes, the same for every message of a run (settings-derived)."""

    own_addresses: tuple[str, ...] = ()
    max_bytes: int | None = None  # over this a message is read from its header block alone (too_large)
    documents: DocumentLimits = field(default_factory=DocumentLimits)  # each attachment's reading bound


def read(
    raw: bytes | ByteChunks,
    options: ReadOptions,
    *,
    received_at: datetime | None = None,
    size: int | None = None,
    directory: Directory | None = None,
) -> Reading | Unread:
    """The one reading of a message: parse, classify (rule names kept), then extract a person's
    referral (dates read against `received_at`, when the mailbox got it) or a bounce's facts.

    Pure: the same bytes and arguments give the same Reading in a worker or in process. `size`: the
    size the source declared before fetching. Reading raising is a bug: it becomes Unread with the
    traceback (and what was parsed), for intake to quarantine; never an exception."""
    parsed = None
    try:
        if options.max_bytes is not None and max(size or 0, len(raw)) > options.max_bytes:
            assert isinstance(raw, bytes)  # never sent in pieces (inbox/readers.py)
            parsed = read_headers(raw)
            return Reading(_without_tree(parsed), classify(parsed), None, [], None, too_large=True)
        parsed = parse_message(raw)
        verdict = classify(parsed)
        referral = None
        bounced: list[str] = []
        original = None
        documents: list[DocumentText] = []
        if verdict.kind is None:
            documents = read_attachments(parsed, options.documents)  # while the tree is here to decode from
            parsed.problems.extend(_document_problems(documents))
            referral = extract_referral(
                parsed,
                directory=directory if directory is not None else load_directory(),
                own_addresses=options.own_addresses,
                own_phones=own_phone_numbers(),
                reference=received_at.date() if received_at else None,
                documents=documents,
            )
            for doc in documents:
                doc.text = ""  # read once; the referral's evidence quotes what counted
        elif verdict.kind == "bounce":
            bounced = bounced_recipients(parsed, verdict=verdict)
            original = original_message_id(parsed, verdict=verdict)
        return Reading(_without_tree(parsed), verdict, referral, bounced, original, documents=documents)
    except Exception as exc:  # a bug: quarantined by intake with this traceback, not lost
        return Unread(
            f"could not be processed ({type(exc).__name__})",
            traceback.format_exc(),
            _without_tree(parsed) if parsed is not None else None,
        )


def _document_problems(documents: list[DocumentText]) -> list[str]:
    """What could not be read of the attachments, as the coordinator reads it on the message and the case."""
    out = []
    for doc in documents:
        if doc.needs_person:
            out.append(f"attachment needs a person to read: {doc.filename} ({doc.problem})")
        elif doc.problem:
            out.append(f"attachment {doc.filename}: {doc.problem}")
    return out


MB = 1024 * 1024
# The header block is looked for this far into the message; past it, what there is counts as headers.
# Generous (the hostile set had 2 MB headers) and still a small part of any message over the limit.
HEADER_SCAN_BYTES = 8 * MB


def read_headers(raw: bytes) -> ParsedMessage:
    """The message as parsed from its header block alone; `raw` and `sha256` are the whole
    message's, so it is stored and recognised as the message it is. The body is never touched:
    what the parser says about a body it did not get is dropped from `problems`."""
    parsed = parse_message(_header_block(raw))
    parsed.raw = raw
    parsed.sha256 = hashlib.sha256(raw).hexdigest()  # reads the bytes in place: no copy
    parsed.problems = ["body not read: the message is over the size limit"]
    parsed.attachments = []  # a multipart header without its body reads as one empty part: not one
    return parsed


def _header_block(raw: bytes) -> bytes:
    """The bytes before the first empty line (within HEADER_SCAN_BYTES), ending in an empty line."""
    ends = [i for i in (raw.find(b"\r\n\r\n", 0, HEADER_SCAN_BYTES), raw.find(b"\n\n", 0, HEADER_SCAN_BYTES)) if i >= 0]
    if ends:
        end = min(ends)
    else:  # no empty line that early: up to the last whole line scanned
        end = raw.rfind(b"\n", 0, HEADER_SCAN_BYTES)
        end = end if end >= 0 else min(len(raw), HEADER_SCAN_BYTES)
    return raw[:end] + b"\r\n\r\n"


def _without_tree(parsed: ParsedMessage) -> ParsedMessage:
    parsed.message = None  # the tree does not pickle; nothing after reading needs it
    return parsed


def unread_message(raw: bytes) -> ParsedMessage:
    """The stored form of a message nobody could read: its bytes and their hash, nothing decoded."""
    return ParsedMessage(
        raw=raw, sha256=hashlib.sha256(raw).hexdigest(), message_id=None, in_reply_to=[], references=[],
        subject="", sender=None, reply_to=[], to=[], cc=[], return_path=None, date=None, headers={},
        content_types=[], text="", html=None, new_text="", quoted_text="", signature="", forwarded=[],
        attachments=[], problems=[],
    )  # fmt: skip
