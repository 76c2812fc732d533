"""Every part that is not the body, as an Attachment: files, forwarded messages written back as bytes,
report blocks as text."""

from __future__ import annotations

import email.policy
import hashlib
import io
import re
from email.errors import MessageError
from email.generator import BytesGenerator, Generator
from email.message import Message

from inbox.message import Attachment, ForwardedPart
from inbox.parse.bodies import Reader, forwarded_of
from inbox.parse.charsets import NO_CHARSETS, from_8bit
from inbox.parse.headers import decode_words, raw_get, unfold
from inbox.parse.parts import (
    FORWARDED_TYPES,
    children_of,
    content_type,
    disposition,
    filename_of,
    leaf_bytes,
    payload_bytes,
)


def _report_bytes(part: Message) -> bytes:
    """The fields of a message/delivery-status (which the parser splits into header blocks) or similar
    report part, as text a bounce classifier can read."""
    payload = children_of(part)
    if payload is None:
        return leaf_bytes(part)
    blocks = []
    for block in payload:
        if block.keys():
            blocks.append("\n".join(f"{k}: {v}" for k, v in block.raw_items()) + "\n")
    return "\n".join(blocks).encode("utf-8", "surrogateescape")


class _VerbatimHeaders(email.policy.Compat32):
    """Write headers back exactly as they came in (compat32 keeps their original folding). The stock
    generator re-folds every header through email.header.Header, which took 17% of all parse time on
    the corpus just to re-serialise forwarded and bounced messages."""

    def fold(self, name: str, value: str) -> str:
        return f"{name}: {value}{self.linesep}"

    def fold_binary(self, name: str, value: str) -> bytes:
        return f"{name}: {value}{self.linesep}".encode("utf-8", "surrogateescape")


_VERBATIM = _VerbatimHeaders(linesep="\n")
_LINE_ENDS = re.compile(r"\r\n|\r|\n")  # email.generator's NLCRE


def _with_line_ends(lines: str, linesep: str) -> str:
    """What email.generator's _write_lines writes, as one string: every line end made `linesep`, and
    nothing added after the last line end. With "\n" and no CR that is the text itself."""
    if linesep == "\n" and "\r" not in lines:
        return lines
    return _LINE_ENDS.sub(linesep, lines)


class _WholeBodyBytesGenerator(BytesGenerator):
    """The stock generator writes a body line by line, two writes per line (most of the time spent
    re-serialising forwarded messages); this writes the same bytes at once."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_with_line_ends(lines, self._NL))


class _WholeBodyGenerator(Generator):
    """The text twin of _WholeBodyBytesGenerator, for parts the bytes generator cannot write."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_with_line_ends(lines, self._NL))


def _message_bytes(part: Message, problems: list[str]) -> bytes:
    payload = children_of(part)
    if payload is None:
        return leaf_bytes(part)
    if not payload:
        return b""
    inner = payload[0]
    # The generators look up the charsets and parameters a sender wrote (email.charset, RFC 2231
    # values): a hostile one raises a codec error (LookupError, UnicodeError) or email's CharsetError.
    try:
        out = io.BytesIO()
        _WholeBodyBytesGenerator(out, mangle_from_=False, policy=_VERBATIM).flatten(inner)
        return out.getvalue()
    except (LookupError, ValueError, MessageError):
        pass
    try:  # a damaged part can hold text the bytes generator cannot write; the text generator can
        text = io.StringIO()
        _WholeBodyGenerator(text, mangle_from_=False, policy=_VERBATIM).flatten(inner)
        problems.append("forwarded message re-serialised as text; its attachment may differ from the original")
        return text.getvalue().encode("utf-8", "surrogateescape")
    except (LookupError, ValueError, MessageError):
        problems.append("forwarded message could not be re-serialised; its attachment is empty")
        return b""


def _attachment(part: Message, payload: bytes, problems: list[str]) -> Attachment:
    ctype = content_type(part)
    cid = raw_get(part, "content-id")
    cid = (unfold(cid).strip("<>") or None) if cid else None
    filename = filename_of(part, problems)
    if filename is None and ctype in FORWARDED_TYPES:
        inner = children_of(part)
        subject = raw_get(inner[0], "subject") if inner else None
        if subject:
            text = decode_words(from_8bit(unfold(subject), NO_CHARSETS, [], "subject"), [], "subject")
            filename = f"{text[:80]}.eml"
    return Attachment(
        filename=filename,
        content_type=ctype,
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        payload=payload,
        content_id=cid,
        inline=disposition(part) == "inline",
    )


def collect_part(
    part: Message,
    reader: Reader,
    body_ids: set[int],
    forwarded: list[ForwardedPart],
    attachments: list[Attachment],
    problems: list[str],
) -> None:
    """Sort one walked part: forwarded message, report data, attachment, or nothing (containers, body)."""
    ctype = content_type(part)
    if ctype in FORWARDED_TYPES:
        found = forwarded_of(part, reader, problems)
        if found is not None:
            forwarded.append(found[0])
            body_ids.update(id(leaf) for leaf in (*found[1].leaves, *found[1].renderings))
        attachments.append(_attachment(part, _message_bytes(part, problems), problems))
        return
    if ctype.startswith("message/"):
        attachments.append(_attachment(part, _report_bytes(part), problems))
        return
    if ctype.startswith("multipart/") and part.is_multipart():
        return
    if id(part) not in body_ids:
        attachments.append(_attachment(part, payload_bytes(part, problems), problems))
