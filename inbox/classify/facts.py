"""What the rules look at, worked out once per message: the `Facts` of a message and the helpers
that read its text and MIME structure.

Rules read the decoded headers dict, the subject, the MIME structure and a bounded slice of the
body text, never the raw bytes; regexes are compiled once. Body rules read only the sender's own
lead text, so a person who quotes or forwards a bounce is a person.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from email.message import Message

from inbox.gated import ascii_twin, fold, plain_ascii
from inbox.mailtext import BEGIN_FORWARD_WORDS, FORWARDED_WORDS, ORIGINAL_WORDS
from inbox.message import ParsedMessage
from inbox.parse import content_type
from inbox.parse.feed import raw_body_of
from inbox.parse.parts import MAX_TEXT_CHARS, leaf_bytes, walk

# Body scans are bounded: classify runs on every message and a 2 MB newsletter must cost no more
# than a short note. Machine boilerplate sits at the top; unsubscribe footers sit at the bottom.
HEAD_CHARS = 4096
_TAIL_CHARS = 2048

# The separator words are mailtext's, set off with (?-x:...): they are written with plain spaces, which
# verbose mode would drop.
_QUOTE_START = re.compile(
    rf"""^(?:
        \s*-{{2,}}\s*(?-x:{FORWARDED_WORDS}|{ORIGINAL_WORDS})\s*-{{2,}}
      | \s*on\s.{{1,200}}\swrote:\s*$
      | \s*am\s.{{1,200}}\sschrieb\s.{{0,80}}:\s*$
      | \s*le\s.{{1,200}}\sa\s+.crit\s*:\s*$
      | \s*(?-x:{BEGIN_FORWARD_WORDS}):
      | \s*_{{20,}}\s*$
      | \s*\**from:\**\s.+\n\s*\**(?:sent|date|gesendet|envoy.|enviado):\**\s
    )""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)


_QUOTE_START_ASCII = ascii_twin(_QUOTE_START)  # for a plain ASCII text (most): the same matches, sooner


def _lead_text(text: str) -> str:
    """The sender's own words at the top of the body: the first few KB, quoted history cut off."""
    head = text[:HEAD_CHARS]
    m = (_QUOTE_START_ASCII if plain_ascii(head) else _QUOTE_START).search(head)
    if m:
        head = head[: m.start()]
    return "\n".join(line for line in head.splitlines() if not line.lstrip().startswith(">"))


# Most body patterns of the rules are case-insensitive alternations that the regex engine must try at
# every position of the lead text, and together they were a third of all classify time: each runs
# behind inbox.gated's cheap substring gate, on the folded copies made here once per message.


_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w.-]+)", re.I)


def own_parts(msg: ParsedMessage) -> list[Message]:
    """Every MIME part of this message, without going into enclosed messages.

    A DSN's delivery-status part sits in the report itself; one inside a message/rfc822 is a
    bounce someone forwarded to us as an attachment, which makes them a person, not a bounce.
    """
    if msg.message is None:
        return []
    # The parser's walk, into multiparts only (no message/* part: forwarded mail, report blocks). The
    # MIME torture test nests deep, and a bound of 500 parts keeps this cheap; the parser's own walk
    # goes further and records an excess on the message, so nothing is dropped silently here.
    return walk(msg.message, [], enclosed=False, limit=500)


@dataclass(slots=True)
class Facts:
    msg: ParsedMessage
    headers: dict[str, str]
    subject: str  # whitespace collapsed
    sender: str  # From addr-spec, lower case, "" when none
    sender_local: str
    sender_name: str  # display name, lower case
    return_path: str | None  # None: header absent, "": null return path <>
    report_type: str  # report-type of a top-level multipart/report, lower case, "" otherwise
    own_types: frozenset[str]  # content types of the message's own parts (not of enclosed mail)
    lead: str  # the sender's own words: first few KB, quoted history removed
    tail: str  # the last couple of KB of a long body (list and newsletter footers live there)
    # Case-folded copies for the cheap gates of Gated (folded once here, read by several rules).
    lead_low: str = ""
    tail_low: str = ""
    subject_low: str = ""

    @classmethod
    def of(cls, msg: ParsedMessage) -> Facts:
        headers = msg.headers or {}
        sender = ((msg.sender.email if msg.sender else "") or "").lower()
        top = (headers.get("content-type") or "").lower()
        report = ""
        if top.startswith("multipart/report"):
            m = _REPORT_TYPE.search(top)
            report = m.group(1) if m else ""
        if msg.message is not None:
            own = frozenset(content_type(p) for p in own_parts(msg))
        else:
            own = frozenset(ct.lower() for ct in msg.content_types or ())
        text = msg.text or ""
        # The parser's reply split is the first line of defence against quoted machine text (a
        # parent answering our acknowledgement quotes "This is an automatic acknowledgement");
        # our own cut at quote markers is the second.
        own_words = msg.new_text if (msg.new_text or "").strip() else text
        subject = " ".join((msg.subject or "").split())
        lead = _lead_text(own_words)
        tail = _lead_text(text[-_TAIL_CHARS:]) if len(text) > HEAD_CHARS else ""
        return cls(
            msg=msg,
            headers=headers,
            subject=subject,
            sender=sender,
            sender_local=sender.rsplit("@", 1)[0] if "@" in sender else sender,
            sender_name=((msg.sender.name if msg.sender else "") or "").strip().strip("\"'").lower(),
            return_path=msg.return_path,
            report_type=report,
            own_types=own,
            lead=lead,
            tail=tail,
            lead_low=fold(lead),
            tail_low=fold(tail),
            subject_low=fold(subject),
        )

    def header(self, name: str) -> str:
        """A header's decoded value, stripped; "" when absent."""
        return (self.headers.get(name) or "").strip()

    def has(self, name: str) -> bool:
        return name in self.headers


def said(m: re.Match[str], limit: int = 60) -> str:
    """The matched words, for a reason a coordinator can read."""
    return repr(" ".join(m.group(0).split())[:limit])


# A delivery-status part is read by classify (its Action fields), by bounced_recipients and by
# original_message_id, and each of those classifies again: re-serialising its blocks (as_string folds
# every header through email.header) was a fifth of the work on a bounce. The text is remembered per
# part object, so it lives and dies with that one message's tree.
_part_texts: weakref.WeakKeyDictionary[Message, str] = weakref.WeakKeyDictionary()


def part_text(part: Message) -> str:
    """A part's content as text, whatever the parser made of it (message/* payloads are lists)."""
    known = _part_texts.get(part)
    if known is None:
        known = _part_texts[part] = _read_part_text(part)
    return known


def _read_part_text(part: Message) -> str:
    try:
        payload = part.get_payload()
        if isinstance(payload, list):
            return "\n\n".join(p.as_string() if isinstance(p, Message) else str(p) for p in payload)
        if raw_body_of(part) is not None:  # a large body kept aside while parsing: its payload is a token
            return leaf_bytes(part)[:MAX_TEXT_CHARS].decode(part.get_content_charset() or "utf-8", "replace")
        raw = part.get_payload(decode=True)
        if isinstance(raw, bytes):
            return raw.decode(part.get_content_charset() or "utf-8", "replace")
        return str(payload or "")
    except Exception:
        return ""
