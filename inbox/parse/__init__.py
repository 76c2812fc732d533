"""Any bytes in, one ParsedMessage out: MIME parsed once, headers decoded, the readable body chosen,
replies, signatures and forwards separated, attachments listed. Never raises.

Why compat32 and our own header decoding. Measured on ../shared (374 corpus files + 20 referral samples,
5.5 MB), best of 8 interleaved rounds on a 2-core container:
    message_from_bytes(raw, policy=policy.default)                      ~940 msg/s
    the same, then From/To/Cc/Subject/Date/Message-ID and get_body()    ~400 msg/s
    message_from_bytes(raw, policy=policy.compat32)                   ~3,850 msg/s
    parse_message (compat32 tree, every header decoded, body chosen,
    HTML made text, replies split, attachments hashed)                ~1,480 msg/s  (1.57x the first line)
policy.default builds a structured header object for every header it is asked for, and raises or gives
up on exactly the broken headers this mailbox gets (unknown charsets, bad encoded words, raw 8-bit
bytes). So the tree is built with compat32 and the headers are decoded here, tolerantly, each failure
written down in `problems`.

Problems are plain English for a coordinator looking at the quarantine list: what was wrong and what we
did about it ("charset 'x-unknown' unknown; decoded as windows-1252").

The package, by concern, in the order a message goes through it:

    repair.py       raw bytes made parseable (bare CRs, junk before the headers, unindented
                    continuations), the compat32 tree built, the parser's defects named
    charsets.py     charset labels to codecs; bytes to text that never fails
    headers.py      header values: unfolding, encoded words, Message-IDs, Return-Path, Date
    addresses.py    address headers, and whom to answer when From gives no address
    parts.py        one part: type, disposition, decoded bytes, text, file name; the walk of a tree
    bodies.py       which parts are the body (alternatives, related, mixed), forwarded bodies
    attachments.py  every other part as an Attachment (large ones hashed, not kept), decoded again on demand
    feed.py         the bytes fed to the stdlib parser with large bodies kept aside as raw pieces
                    (the start of a text is read from them, a file hashed a piece at a time)
    stream.py       the same tree from a large message's bytes in pieces, each dropped once parsed
    __init__.py     parse_message: the steps above in order, and what is left when they fail
"""

from __future__ import annotations

import hashlib
import logging
from email.message import Message

from inbox.message import ParsedMessage
from inbox.parse.addresses import addresses_of, sender_of
from inbox.parse.attachments import Collector
from inbox.parse.bodies import Body, Reader, join_texts
from inbox.parse.charsets import Charsets
from inbox.parse.headers import message_ids, parse_date, read_headers, return_path, single_message_id, unfold
from inbox.parse.parts import MAX_TEXT_CHARS, content_type, walk
from inbox.parse.repair import defect_problems, has_header_block, parse_tree, repair_raw
from inbox.parse.stream import ByteChunks, StreamIncomplete, parse_tree_streamed
from inbox.reply_split import split_reply

__all__ = ["ByteChunks", "StreamIncomplete", "content_type", "has_header_block", "parse_message"]

log = logging.getLogger(__name__)


def _build(raw: bytes, problems: list[str]) -> ParsedMessage:
    data = repair_raw(raw, problems)
    msg, flat = parse_tree(data, problems)
    return _read_tree(msg, flat, problems, raw, hashlib.sha256(raw).hexdigest())


def _read_tree(msg: Message, flat: bool, problems: list[str], raw: bytes, sha256: str) -> ParsedMessage:
    parts = walk(msg, problems)
    charsets = Charsets(parts)
    headers = read_headers(msg, charsets, problems)
    problems.extend(p for p in defect_problems(parts) if p not in problems)

    reader = Reader(problems)
    body = Body([msg]) if flat else reader.body(msg)
    text = join_texts(reader, body.leaves)
    html = reader.text_of(body.html) if body.html is not None else None

    collector = Collector(reader, {id(leaf) for leaf in (*body.leaves, *body.renderings)}, problems)
    for index, part in enumerate(parts):
        collector.collect(part, index)
    forwarded, attachments = collector.forwarded, collector.attachments

    subject = headers.decoded.get("subject", "")
    split = split_reply(text, subject)
    sender = sender_of(msg, headers, charsets, problems)
    message_id_raw = headers.raw.get("message-id", [None])[0]
    if message_id_raw is None:
        problems.append("no Message-ID header")
    date_raw = headers.raw.get("date", [None])[0]
    return ParsedMessage(
        raw=raw,
        sha256=sha256,
        message_id=single_message_id(unfold(message_id_raw)) if message_id_raw else None,
        in_reply_to=message_ids(unfold(headers.raw["in-reply-to"][0])) if "in-reply-to" in headers.raw else [],
        references=message_ids(unfold(" ".join(headers.raw.get("references", [])))),
        subject=subject,
        sender=sender,
        reply_to=addresses_of(headers, "reply-to", charsets, problems),
        to=addresses_of(headers, "to", charsets, problems),
        cc=addresses_of(headers, "cc", charsets, problems),
        return_path=return_path(unfold(headers.raw["return-path"][0]) if "return-path" in headers.raw else None),
        date=parse_date(unfold(date_raw) if date_raw is not None else None, problems),
        headers=headers.decoded,
        content_types=[content_type(part) for part in parts],
        text=text,
        html=html,
        new_text=split.new_text,
        quoted_text=split.quoted_text,
        signature=split.signature,
        forwarded=forwarded + split.forwarded,
        attachments=attachments,
        problems=list(dict.fromkeys(problems)),  # the same trouble seen twice is one problem
        authentication_results=[unfold(value) for value in headers.raw.get("authentication-results", [])],
        text_cut_size=max(reader.cuts, default=0),
        message=msg,
    )


def _fallback_message(raw: bytes, problems: list[str]) -> ParsedMessage:
    """What is left when even the tolerant path failed: the bytes as text, so nothing is lost."""
    text = raw[:MAX_TEXT_CHARS].decode("utf-8", errors="replace")
    return ParsedMessage(
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        message_id=None,
        in_reply_to=[],
        references=[],
        subject="",
        sender=None,
        reply_to=[],
        to=[],
        cc=[],
        return_path=None,
        date=None,
        headers={},
        content_types=[],
        text=text,
        html=None,
        new_text=text,
        quoted_text="",
        signature="",
        forwarded=[],
        attachments=[],
        problems=problems,
        message=None,
    )


def parse_message(raw: bytes | bytearray | memoryview | ByteChunks) -> ParsedMessage:
    """Parse any bytes into a ParsedMessage. Never raises: what could not be understood is in `problems`.

    Given ByteChunks (a large message sent in pieces: inbox/parse/stream.py), the pieces are consumed
    and the result is the one their bytes would give, with `raw` empty (the caller has the bytes); where
    that needs the bytes whole, it raises StreamIncomplete (and marks the chunks `incomplete`)."""
    if isinstance(raw, ByteChunks):
        return _parse_chunks(raw)
    problems: list[str] = []
    try:
        if not isinstance(raw, bytes):
            raw = bytes(raw)  # a caller's bytearray or memoryview is fine
    except (TypeError, ValueError, OverflowError):  # what bytes() raises for a str, None or a number
        problems.append(f"input of type {type(raw).__name__} is not bytes; nothing to parse")
        return _fallback_message(b"", problems)
    if not raw or raw.isspace():  # raw.strip() would copy a large message to find out
        problems.append("empty message")
    try:
        return _build(raw, problems)
    except Exception as exc:  # the edge of intake: a bug here must quarantine one message, not stop all
        log.error("parse_message failed (%s); message kept as text", type(exc).__name__)  # no mail text
        problems.append(f"message could not be parsed ({type(exc).__name__}: {str(exc)[:120]}); kept as text")
        return _fallback_message(raw, problems)


def _parse_chunks(chunks: ByteChunks) -> ParsedMessage:
    problems: list[str] = []
    try:
        msg, sha256, blank = parse_tree_streamed(chunks, problems)
        if blank:
            problems.insert(0, "empty message")  # where parse_message says it: before anything else
        return _read_tree(msg, False, problems, b"", sha256)
    except Exception as exc:  # parse_message's fallbacks need the whole bytes
        chunks.incomplete = True
        raise StreamIncomplete(type(exc).__name__) from exc
