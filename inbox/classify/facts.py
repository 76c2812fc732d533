"""What the rules look at, worked out once per message: the `Facts` of a message and the helpers
that read its text and MIME structure.

Rules read the decoded headers dict, the subject, the MIME structure and a bounded slice of the
body text, never the raw bytes; regexes are compiled once. Body rules read only the sender's own
lead text, so a person who quotes or forwards a bounce is a person.
"""

from __future__ import annotations

import re
import sys
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from inbox.message import ParsedMessage
from inbox.parse import content_type

# Body scans are bounded: classify runs on every message and a 2 MB newsletter must cost no more
# than a short note. Machine boilerplate sits at the top; unsubscribe footers sit at the bottom.
HEAD_CHARS = 4096
_TAIL_CHARS = 2048

_QUOTE_START = re.compile(
    r"""^(?:
        \s*-{2,}\s*(?:original\s+message|forwarded\s+message|urspr.ngliche\s+nachricht|message\s+d'origine
                    |weitergeleitete\s+nachricht|mensaje\s+original|message\s+transf.r.)\s*-{2,}
      | \s*on\s.{1,200}\swrote:\s*$
      | \s*am\s.{1,200}\sschrieb\s.{0,80}:\s*$
      | \s*le\s.{1,200}\sa\s+.crit\s*:\s*$
      | \s*begin\s+forwarded\s+message:
      | \s*_{20,}\s*$
      | \s*\**from:\**\s.+\n\s*\**(?:sent|date|gesendet|envoy.|enviado):\**\s
    )""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)


def _lead_text(text: str) -> str:
    """The sender's own words at the top of the body: the first few KB, quoted history cut off."""
    head = text[:HEAD_CHARS]
    m = _QUOTE_START.search(head)
    if m:
        head = head[: m.start()]
    return "\n".join(line for line in head.splitlines() if not line.lstrip().startswith(">"))


# Most body patterns below are case-insensitive alternations that the regex engine must try at
# every position of the lead text (no literal prefix to skip ahead with), and together they were a
# third of all classify time. Nearly all mail contains none of their key words, so each pattern is
# gated by a plain substring test on a case-folded copy of the text. The fold must keep every match:
# under re.IGNORECASE, "ı" matches "i", "ſ" matches "s" and "İ" matches "i", which str.lower() leaves
# alone or turns into "i" plus U+0307 (these three are the only characters re.IGNORECASE equates with
# an ASCII letter that str.lower() does not turn into that letter), so they are mapped after lowering.
# Dropping every U+0307 may only open a gate more often, never less. Each pattern's needles are words
# every one of its branches must contain.


def gate_fold(text: str) -> str:
    low = text.lower()
    if not low.isascii():  # str.translate would cost more than all the gates save on non-ASCII text
        low = low.replace("\u0131", "i").replace("\u017f", "s").replace("\u0307", "")
    return low


@dataclass(frozen=True, slots=True)
class Gated:
    """A case-insensitive pattern that runs only when one of its needles is in the folded text."""

    rx: re.Pattern[str]
    needles: tuple[str, ...]

    def search(self, text: str, folded: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        if not any(needle in folded for needle in self.needles):
            return None
        return self.rx.search(text, pos, endpos)


_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w.-]+)", re.I)
_ENCLOSURES = ("message/rfc822", "message/global", "message/partial", "message/external-body")


def own_parts(msg: ParsedMessage) -> Iterator[Message]:
    """Every MIME part of this message, without going into enclosed messages.

    A DSN's delivery-status part sits in the report itself; one inside a message/rfc822 is a
    bounce someone forwarded to us as an attachment, which makes them a person, not a bounce.
    """
    if msg.message is None:
        return
    stack: list[Message] = [msg.message]
    seen = 0
    while stack and seen < 500:  # the MIME torture test nests deep; a bound keeps this cheap
        part = stack.pop()
        seen += 1
        yield part
        if content_type(part) in _ENCLOSURES:
            continue
        try:
            payload = part.get_payload()
        except Exception:
            continue
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


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
            lead_low=gate_fold(lead),
            tail_low=gate_fold(tail),
            subject_low=gate_fold(subject),
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
        raw = part.get_payload(decode=True)
        if isinstance(raw, bytes):
            return raw.decode(part.get_content_charset() or "utf-8", "replace")
        return str(payload or "")
    except Exception:
        return ""
