"""The normalised form of one email, as the rest of intake sees it.

`inbox.parse.parse_message(raw)` builds it from any bytes and never raises; what it could not
understand is listed in `problems`. Classification (`inbox.classify`) and extraction
(`inbox.extract`) read only this object, so they never touch MIME again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message

from inbox.pickled import by_fields


@by_fields
@dataclass(slots=True)
class Address:
    name: str
    email: str  # lower-cased addr-spec, "" when absent or unparseable


@by_fields
@dataclass(slots=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int  # of the decoded bytes
    sha256: str  # of the decoded bytes
    # The decoded bytes, kept only for small parts (delivery reports, headers, small files: see
    # inbox/parse/attachments.py KEEP_PAYLOAD_BYTES); None: `inbox.parse.attachments.payload_of` decodes
    # them from the message when asked, so a 25 MB file is not held twice while reading.
    payload: bytes | None = field(default=None, repr=False)
    content_id: str | None = None
    inline: bool = False
    index: int = -1  # the part's position in inbox.parse.parts.walk of the message's tree


@by_fields
@dataclass(slots=True)
class ForwardedPart:
    """A message forwarded inside this one: inline ("---- Forwarded message ----") or message/rfc822."""

    sender: Address | None
    subject: str
    date: str
    text: str


@by_fields
@dataclass(slots=True)
class ParsedMessage:
    raw: bytes = field(repr=False)
    sha256: str  # of the raw bytes: with message_id, the natural key of a stored message
    message_id: str | None  # without angle brackets
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: Address | None  # From
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    return_path: str | None  # None: header absent; "": null return path "<>"
    date: datetime | None  # aware
    headers: dict[str, str]  # lower-cased name -> decoded value (first occurrence)
    content_types: list[str]  # every MIME part's type, in walk order ("multipart/report", ...)
    text: str  # the readable body: text/plain, or HTML made readable
    html: str | None  # the raw HTML part, unsanitised (sanitise before display)
    new_text: str  # `text` without quoted replies and signature
    quoted_text: str  # the quoted history removed from `text`
    signature: str
    forwarded: list[ForwardedPart]
    attachments: list[Attachment]
    problems: list[str]
    # Every Authentication-Results header (RFC 8601), unfolded, top first: which to believe is
    # the acknowledgement's decision (inbox/reflection.py), by its authserv-id.
    authentication_results: list[str] = field(default_factory=list)
    # The size (bytes) of the largest body part read only from its start (inbox/parse/parts.py
    # part_text's bounds); 0 when every body was read to its end. The message itself is stored whole.
    text_cut_size: int = 0
    # The parsed tree (compat32: inbox/parse/__init__.py explains why), when it parsed.
    message: Message | None = field(default=None, repr=False)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)
