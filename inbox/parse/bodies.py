"""Which parts make the body: text or HTML chosen among alternatives, related and mixed parts read the
way mail clients show them, and the body of a forwarded message."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from selectolax.lexbor import SelectolaxError

from inbox.html_text import html_to_text
from inbox.message import ForwardedPart
from inbox.parse.addresses import first_sender, parse_addresses
from inbox.parse.charsets import Charsets
from inbox.parse.headers import decode_header_text, raw_get, unfold
from inbox.parse.parts import (
    MAX_MIME_DEPTH,
    children_of,
    content_type,
    filename_of,
    is_attachment,
    leaf_bytes,
    part_text,
)


@dataclass(slots=True)
class Body:
    leaves: list[Message] = field(default_factory=list)  # text/plain or text/html parts, in order
    html: Message | None = None  # the HTML alternative of the body, even when plain text was chosen
    # Every part that is a rendering of the body (alternatives not chosen included): not attachments.
    renderings: list[Message] = field(default_factory=list)


class Reader:
    """One message tree read once: text decoded per part is cached, problems are collected."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self._texts: dict[int, str] = {}
        self.cuts: list[int] = []  # sizes of bodies read only from their start

    def text_of(self, part: Message) -> str:
        key = id(part)
        if key not in self._texts:
            self._texts[key] = part_text(part, self.problems, self.cuts)
        return self._texts[key]

    def readable(self, part: Message) -> str:
        text = self.text_of(part)
        if content_type(part) == "text/html":
            try:
                return html_to_text(text)
            except SelectolaxError:  # lexbor (C) gave up on hostile markup: the source is still readable
                self.problems.append("HTML part could not be read; shown as source")
                return text
        return text

    # Body choice ------------------------------------------------------------------------------

    def body(self, part: Message, depth: int = 0) -> Body:
        if depth > MAX_MIME_DEPTH:
            return Body()
        ctype = content_type(part)
        maintype, _, subtype = ctype.partition("/")
        if maintype == "message":
            return Body()  # forwarded or report data, never the body of this message
        if maintype == "multipart":
            children = children_of(part)
            if children is None:
                # "multipart" without a boundary (or with no parts): its text is all there is.
                return Body([part]) if leaf_bytes(part).strip() else Body()
            return self._multipart_body(subtype, part, children, depth)
        if ctype in ("text/plain", "text/html") and not is_attachment(part):
            return Body([part], part if ctype == "text/html" else None)
        return Body()

    def _multipart_body(self, subtype: str, part: Message, children: list, depth: int) -> Body:
        children = [c for c in children if isinstance(c, Message)]
        if not children or subtype == "encrypted":
            return Body()
        if subtype == "alternative":
            return self._alternative_body(children, depth)
        if subtype == "related":
            return self.body(_related_root(part, children), depth + 1)
        if subtype in ("signed", "report"):
            return self.body(children[0], depth + 1)
        return self._mixed_body(children, depth)

    def _alternative_body(self, children: list[Message], depth: int) -> Body:
        choices = [self.body(child, depth + 1) for child in children]
        html = next((c.html for c in reversed(choices) if c.html is not None), None)
        renderings = [p for c in choices for p in (*c.leaves, *c.renderings)]
        readable = [c for c in choices if any(self.text_of(p).strip() for p in c.leaves)]
        for choice in readable:  # RFC 2046 orders alternatives plainest first: take plain unless empty
            if all(content_type(p) == "text/plain" for p in choice.leaves):
                return Body(choice.leaves, html, renderings)
        if readable:  # else the richest alternative that has something in it
            return Body(readable[-1].leaves, html or readable[-1].html, renderings)
        chosen = next((c for c in choices if c.leaves), Body([], html))
        return Body(chosen.leaves, chosen.html or html, renderings)

    def _mixed_body(self, children: list[Message], depth: int) -> Body:
        """The first readable child is the body; later inline text parts without a file name are body
        too (Apple Mail splits text around an inline image into several text/plain parts)."""
        body = Body()
        for child in children:
            if is_attachment(child):
                continue
            if body.leaves:
                if content_type(child) in ("text/plain", "text/html") and not filename_of(child, self.problems):
                    body.leaves.append(child)
                    body.renderings.append(child)
                continue
            found = self.body(child, depth + 1)
            if found.leaves:
                body = found
        return body


def _related_root(part: Message, children: list[Message]) -> Message:
    """RFC 2387: the part named by the "start" parameter, else the first."""
    start = part.get_param("start")  # documented to give None for a missing or unreadable header
    if isinstance(start, str) and start:
        wanted = start.strip().strip("<>")
        for child in children:
            if (raw_get(child, "content-id") or "").strip().strip("<>") == wanted:
                return child
    return children[0]


def forwarded_of(part: Message, reader: Reader, problems: list[str]) -> tuple[ForwardedPart, Body] | None:
    """The message inside a message/rfc822 part as a ForwardedPart, with the parts that make its body."""
    payload = children_of(part)
    if not payload:
        return None
    inner = payload[0]
    children = children_of(inner) or []
    charsets = Charsets([inner, *children])
    sender_raw = raw_get(inner, "from")
    sender = None
    if sender_raw is not None:
        sender = first_sender(parse_addresses(sender_raw, charsets, problems, "From (forwarded)"))
    subject = raw_get(inner, "subject")
    date = raw_get(inner, "date")
    body = reader.body(inner)
    forwarded = ForwardedPart(
        sender=sender,
        subject=decode_header_text(subject, charsets, problems, "Subject (forwarded)") if subject else "",
        date=unfold(date) if date else "",
        text=join_texts(reader, body.leaves),
    )
    return forwarded, body


def join_texts(reader: Reader, leaves: list[Message]) -> str:
    texts = [reader.readable(leaf).strip() for leaf in leaves]
    return "\n\n".join(text for text in texts if text)
