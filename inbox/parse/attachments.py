"""Every part that is not the body, as an Attachment: files, forwarded messages written back as bytes,
report blocks as text. An attachment is described (name, type, size, sha256, its position in the walk),
its bytes kept only when small; `payload_of`, `decode_attachment` and `stored_attachment_bytes` decode
them again from the message, which is stored once, raw (issue 8.5)."""

from __future__ import annotations

import email.policy
import hashlib
import io
import re
from collections.abc import Iterator
from email.errors import MessageError
from email.generator import BytesGenerator, Generator
from email.message import Message
from typing import Protocol

from inbox.message import Attachment, ForwardedPart, ParsedMessage
from inbox.parse.bodies import Reader, forwarded_of
from inbox.parse.charsets import NO_CHARSETS, from_8bit
from inbox.parse.feed import RawBody, raw_body_of
from inbox.parse.headers import decode_words, raw_get, unfold
from inbox.parse.parts import (
    FORWARDED_TYPES,
    base64_digest,
    children_of,
    content_type,
    disposition,
    filename_of,
    leaf_bytes,
    payload_bytes,
    raw_digest,
    walk,
)
from inbox.parse.repair import parse_tree, repair_raw


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


def _linesep(generator: Generator) -> str:
    """The line end a generator writes: while it flattens, its policy is the one it writes with (the
    stdlib keeps the same value in a private attribute)."""
    return generator.policy.linesep if generator.policy is not None else "\n"


def _raw_lines(raw: RawBody, linesep: str) -> Iterator[str]:
    """A body kept aside while parsing, as _write_lines would write its text: a piece at a time, every
    line end made `linesep` (a CR at the end of a piece waits: it may be half of a CRLF)."""
    carry = ""
    for piece in raw.chunks():
        text = carry + bytes(piece).decode("ascii", "surrogateescape")
        carry = "\r" if text.endswith("\r") else ""
        yield _with_line_ends(text[: len(text) - len(carry)], linesep)
    if carry:
        yield linesep


class _WholeBodyBytesGenerator(BytesGenerator):
    """The stock generator writes a body line by line, two writes per line (most of the time spent
    re-serialising forwarded messages); this writes the same bytes at once, and a body kept aside
    while parsing from its pieces."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_with_line_ends(lines, _linesep(self)))

    def _handle_text(self, msg: Message) -> None:
        raw = raw_body_of(msg)
        if raw is None:
            super()._handle_text(msg)  # type: ignore[misc]  # typeshed leaves the handlers out
            return
        for text in _raw_lines(raw, _linesep(self)):
            self.write(text)

    _writeBody = _handle_text


class _WholeBodyGenerator(Generator):
    """The text twin of _WholeBodyBytesGenerator, for parts the bytes generator cannot write."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_with_line_ends(lines, _linesep(self)))

    def _handle_text(self, msg: Message) -> None:
        raw = raw_body_of(msg)
        if raw is None:
            super()._handle_text(msg)  # type: ignore[misc]
            return
        for text in _raw_lines(raw, _linesep(self)):
            self.write(text)

    _writeBody = _handle_text


class _Pieces:
    """What a generator writes, kept as the pieces written and never joined: the stock generator writes
    each part into a buffer of its own and copies it into its parent's, which for a forwarded message
    holding a large file is the file two or three times over."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def write(self, data: bytes | _Pieces) -> None:
        if isinstance(data, _Pieces):
            self.pieces.extend(data.pieces)
        elif data:
            self.pieces.append(data)

    def getvalue(self) -> _Pieces:
        return self


class _PiecesBytesGenerator(_WholeBodyBytesGenerator):
    def _new_buffer(self) -> _Pieces:
        return _Pieces()


def _message_pieces(inner: Message) -> list[bytes] | None:
    """A forwarded message written back as bytes, in pieces; None where only the stock buffers can
    write it (a delivery report joins its blocks' buffers)."""
    out = _Pieces()
    try:
        _PiecesBytesGenerator(out, mangle_from_=False, policy=_VERBATIM).flatten(inner)
    except (TypeError, AttributeError):  # a delivery report's blocks are joined and split as buffers
        return None
    return out.pieces


def message_digest(part: Message, problems: list[str]) -> tuple[int, str] | None:
    """Size and sha256 of a forwarded message written back as bytes, from its pieces; None where
    attachment_bytes must say what it is."""
    payload = children_of(part)
    if not payload:
        return None
    try:
        pieces = _message_pieces(payload[0])
    except (LookupError, ValueError, MessageError):
        return None
    if pieces is None:
        return None
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return sum(map(len, pieces)), digest.hexdigest()


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
        pieces = _message_pieces(inner)
        if pieces is not None:
            return b"".join(pieces)
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


# Decoded bytes kept in the Attachment itself: parts this small (delivery reports, returned headers, a
# small file) up to this many bytes in all per message, which readers in this process may use without
# parsing again (intake's bounce reason). Larger ones are hashed and dropped: `payload_of` decodes them
# from the message when asked. The total keeps a message of 2,000 small files under 3x its size.
KEEP_PAYLOAD_BYTES = 64 * 1024
KEEP_PAYLOADS_TOTAL = 1024 * 1024


def attachment_bytes(part: Message, problems: list[str]) -> bytes:
    """What an attachment part stands for: a forwarded message written back as bytes, a report's fields
    as text, a file decoded. The one definition of an attachment's bytes, hashed while reading and
    decoded again on demand."""
    ctype = content_type(part)
    if ctype in FORWARDED_TYPES:
        return _message_bytes(part, problems)
    if ctype.startswith("message/"):
        return _report_bytes(part)
    return payload_bytes(part, problems)


def _filename(part: Message, ctype: str, problems: list[str]) -> str | None:
    filename = filename_of(part, problems)
    if filename is None and ctype in FORWARDED_TYPES:
        inner = children_of(part)
        subject = raw_get(inner[0], "subject") if inner else None
        if subject:
            text = decode_words(from_8bit(unfold(subject), NO_CHARSETS, [], "subject"), [], "subject")
            filename = f"{text[:80]}.eml"
    return filename


class Collector:
    """Sorts the walked parts of one message: forwarded messages, report data, attachments, or nothing
    (containers, the body), keeping small payloads within the message's budget."""

    def __init__(self, reader: Reader, body_ids: set[int], problems: list[str]) -> None:
        self.reader = reader
        self.body_ids = body_ids
        self.problems = problems
        self.forwarded: list[ForwardedPart] = []
        self.attachments: list[Attachment] = []
        self.kept = 0  # bytes of payload kept so far

    def collect(self, part: Message, index: int) -> None:
        """One part, `index` its position in the walk."""
        ctype = content_type(part)
        if ctype in FORWARDED_TYPES:
            found = forwarded_of(part, self.reader, self.problems)
            if found is not None:
                self.forwarded.append(found[0])
                self.body_ids.update(id(leaf) for leaf in (*found[1].leaves, *found[1].renderings))
        elif not ctype.startswith("message/") and (
            (ctype.startswith("multipart/") and part.is_multipart()) or id(part) in self.body_ids
        ):
            return  # a container, or the body
        self.attachments.append(self._attachment(part, ctype, index))

    def _attachment(self, part: Message, ctype: str, index: int) -> Attachment:
        payload: bytes | None = None
        if ctype in FORWARDED_TYPES:
            known = message_digest(part, self.problems)
        else:
            known = (base64_digest(part) or raw_digest(part)) if not ctype.startswith("message/") else None
        if known is not None and known[0] > KEEP_PAYLOAD_BYTES:
            size, sha256 = known  # a large file: hashed a megabyte at a time, never held whole
        else:
            payload = attachment_bytes(part, self.problems)
            size, sha256 = len(payload), hashlib.sha256(payload).hexdigest()
            if size > KEEP_PAYLOAD_BYTES or self.kept + size > KEEP_PAYLOADS_TOTAL:
                payload = None
            else:
                self.kept += size
        cid = raw_get(part, "content-id")
        return Attachment(
            filename=_filename(part, ctype, self.problems),
            content_type=ctype,
            size=size,
            sha256=sha256,
            payload=payload,
            content_id=(unfold(cid).strip("<>") or None) if cid else None,
            inline=disposition(part) == "inline",
            index=index,
        )


def decode_attachment(raw: bytes, index: int) -> bytes:
    """The bytes of the attachment at walk position `index` of the message `raw`, exactly as
    parse_message hashed them: the tree is built again the same way (repairs, chunked parse, walk) and
    that one part decoded. The cost is one parse of the message; no text is decoded, no HTML read."""
    problems: list[str] = []
    msg, _flat = parse_tree(repair_raw(raw, problems), problems)
    parts = walk(msg, problems)
    if not 0 <= index < len(parts):
        raise LookupError(f"the message has no part {index} (it has {len(parts)})")
    return attachment_bytes(parts[index], problems)


def payload_of(parsed: ParsedMessage, attachment: Attachment) -> bytes:
    """An attachment's bytes: kept while reading, else decoded from the parsed tree when it is still
    there (in the reading process), else from the raw message."""
    if attachment.payload is not None:
        return attachment.payload
    if parsed.message is not None:
        parts = walk(parsed.message, [])
        if 0 <= attachment.index < len(parts):
            return attachment_bytes(parts[attachment.index], [])
    return decode_attachment(parsed.raw, attachment.index)


class StoredPart(Protocol):
    """What is stored of an attachment (models.mail.StoredAttachment)."""

    payload: bytes | None
    part_index: int | None
    sha256: str


def stored_attachment_bytes(stored: StoredPart, raw: bytes) -> bytes:
    """A stored attachment's bytes: the payload stored beside the message before migration 0004, else
    decoded from the message's raw bytes. Checked against the stored sha256, so a parser that changed
    since (a Python upgrade) cannot hand out the wrong bytes silently."""
    if stored.payload is not None:
        return stored.payload
    if stored.part_index is None:
        raise LookupError("the attachment has neither a stored payload nor a part index")
    data = decode_attachment(raw, stored.part_index)
    if hashlib.sha256(data).hexdigest() != stored.sha256:
        raise ValueError(f"part {stored.part_index} of the message no longer decodes to the stored attachment")
    return data
