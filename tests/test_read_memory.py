"""Reading a large message without holding it whole (issue 8 item 5: memory under 3x the message).

A reading worker gets a large message in pieces and parses it from them (inbox/parse/stream.py,
inbox/readers.py); intake stores a large message's bytes last, a megabyte at a time
(inbox/intake/store.py). Each must give what the whole-bytes path gives: the same reading, the same
bytes stored. Memory itself is measured by bench/hostile.py, not here.
"""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy
import quopri
import threading
from multiprocessing import Pipe

import pytest
from sqlmodel import Session, select

from inbox.intake import Intake
from inbox.intake import batches as batches_module
from inbox.message import ParsedMessage
from inbox.parse import ByteChunks, StreamIncomplete, parse_message
from inbox.parse.parts import MAX_HTML_CHARS, part_text, payload_bytes
from inbox.readers import _AGAIN, PIECE_BYTES, STREAM_BYTES, Readers, _serve
from inbox.reading import Reading, ReadOptions, Unread, read
from inbox.sources.base import MessageKey, SourceMessage
from models.mail import InboundMessage, QuarantineEntry, StoredAttachment
from models.raw_mail import load_raw
from tests import mailfactory

OWN = ReadOptions(("referrals@mediation-desk.example.org",))
MB = 1024 * 1024
_uids = iter(range(1, 1_000_000))


def batch_of(*raws: bytes) -> list[SourceMessage]:
    return [SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids))), raw) for raw in raws]


def pieces_of(raw: bytes, size: int) -> ByteChunks:
    return ByteChunks([raw[start : start + size] for start in range(0, len(raw), size)])


def facts(parsed: ParsedMessage) -> dict:
    """Everything parsing found, but the bytes themselves and the MIME tree."""
    return {f.name: getattr(parsed, f.name) for f in dataclasses.fields(parsed) if f.name not in ("raw", "message")}


def deep_forwards(padding: int) -> bytes:
    """Forwards nested too deeply for the stdlib parser (it recurses), then `padding` bytes of text: the
    whole-bytes path keeps the body as text, which the pieces cannot give."""
    nested = b"Content-Type: message/rfc822\n\n" * 3000
    return b"From: Sam <sam@example.com>\nSubject: deep\nContent-Type: message/rfc822\n\n" + nested + b"end\n" * padding


AWKWARD = [
    # bare CR line ends, one cut between a CR and the LF after it in another message
    b"From: Ann <ann@example.com>\rSubject: old Mac\r\rMy son has an EHC plan.\rThanks\r",
    # junk before the headers and a header folded without indentation (repaired before parsing)
    b"---- Original email message ----\nFrom: Ann <ann@example.com>\nSubject: s\nX-Long: one\ntwo\n"
    b"To: referrals@mediation-desk.example.org\n\nbody\n",
    b"From ann@example.com Mon Jan  1 00:00:00 2026\nFrom: ann@example.com\nSubject : spaced\n\nhi\n",
    b"Subject: no empty line\nHello there,\nthis is the body\n",
    b"Subject: no body at all",
    b" \r\n\t \r\n",
    b"",
]


@pytest.mark.parametrize("size", [1, 3, 4096, 4097, 65_536])
def test_a_message_parsed_from_pieces_is_the_message_parsed_whole(size):
    for raw in [*AWKWARD, mailfactory.with_attachment(300_000), mailfactory.referral()]:
        chunks = pieces_of(raw, size)
        streamed = parse_message(chunks)
        assert facts(streamed) == facts(parse_message(raw)), raw[:60]
        assert streamed.raw == b"" and not chunks.pieces  # the caller has the bytes; the pieces are used up


def test_a_message_the_pieces_cannot_give_as_the_whole_bytes_do_says_so():
    raw = deep_forwards(10)
    assert "MIME parts nested too deeply to parse; body kept as plain text" in parse_message(raw).problems
    chunks = pieces_of(raw, 4096)
    with pytest.raises(StreamIncomplete):
        parse_message(chunks)
    assert chunks.incomplete


def _worker_in_a_thread():
    ours, theirs = Pipe()
    thread = threading.Thread(target=_serve, args=(theirs, OWN), daemon=True)
    thread.start()
    assert ours.recv() == "ready"
    return ours, thread


def test_a_worker_reads_a_message_sent_in_pieces_as_it_reads_it_whole():
    big = mailfactory.with_attachment(3 * MB)
    deep = deep_forwards(400_000)
    assert len(big) > STREAM_BYTES and len(deep) > STREAM_BYTES
    conn, thread = _worker_in_a_thread()
    try:
        pieces = [big[start : start + PIECE_BYTES] for start in range(0, len(big), PIECE_BYTES)]
        deep_pieces = [deep[start : start + PIECE_BYTES] for start in range(0, len(deep), PIECE_BYTES)]
        conn.send([(None, None, len(big)), (None, None, len(deep))])
        for piece in [*pieces, *deep_pieces]:
            conn.send_bytes(piece)
        reading = conn.recv()
        assert conn.recv() == _AGAIN  # the deep one: to be sent again whole
        conn.send(None)
    finally:
        conn.close()
        thread.join(timeout=30)
    whole = read(big, OWN)
    assert isinstance(reading, Reading) and isinstance(whole, Reading)
    assert facts(reading.parsed) == facts(whole.parsed)
    assert reading.summary() == whole.summary()
    assert reading.summary()["local_authority"] == "Camden"
    assert [(a.filename, a.size) for a in reading.parsed.attachments] == [("ehc-plan.pdf", 3 * MB)]


def test_reading_workers_give_the_in_process_readings_of_large_messages_even_when_sent_again_whole():
    raws = [mailfactory.with_attachment(2 * MB), deep_forwards(400_000), mailfactory.referral()]
    readers = Readers(1, OWN)
    try:
        readings = list(readers.read_all(batch_of(*raws)))
    finally:
        readers.close()
    for raw, reading in zip(raws, readings, strict=True):
        whole = read(raw, OWN)
        assert isinstance(reading, Reading) and isinstance(whole, Reading)
        assert facts(reading.parsed) == facts(whole.parsed)
        assert reading.summary() == whole.summary()
        assert reading.parsed.raw is raw
    assert "MIME parts nested too deeply to parse; body kept as plain text" in readings[1].parsed.problems


def _stored(engine) -> list[InboundMessage]:
    with Session(engine) as session:
        return list(session.exec(select(InboundMessage).order_by(InboundMessage.id)).all())


def _raws(engine) -> list[bytes | None]:
    with Session(engine) as session:
        return [load_raw(session, m.id) for m in session.exec(select(InboundMessage).order_by(InboundMessage.id))]


def test_large_messages_are_stored_byte_for_byte_whatever_becomes_of_them(engine, settings, monkeypatch):
    referral = mailfactory.with_attachment(2 * MB)
    no_sender = mailfactory.with_attachment(2 * MB).replace(b"From: Joanne Pryce", b"X-Was: Joanne Pryce", 1)
    intake = Intake(engine, settings)
    try:
        assert intake.handle_batch(batch_of(referral, no_sender)) == 2
        # A step that fails with a bug: the message is stored again, raw, in the quarantine's savepoint.
        failing = mailfactory.with_attachment(2 * MB, sender="other@example.com")

        def broken(*_args, **_kwargs):
            raise RuntimeError("a bug in a step")

        monkeypatch.setattr(batches_module, "run_steps", broken)
        assert intake.handle_batch(batch_of(failing)) == 1
    finally:
        intake.close()
    stored = _stored(engine)
    assert _raws(engine) == [referral, no_sender, failing]
    assert [m.size for m in stored] == [len(referral), len(no_sender), len(failing)]
    assert [(m.status, m.outcome) for m in stored] == [
        ("processed", "new_case"),
        ("quarantined", None),
        ("quarantined", None),
    ]
    with Session(engine) as session:
        reasons = [entry.reason for entry in session.exec(select(QuarantineEntry).order_by(QuarantineEntry.id))]
        [attachment] = session.exec(select(StoredAttachment)).all()[:1]
    assert reasons[0].startswith("no sender address") and reasons[1].startswith("could not be processed (RuntimeError)")
    assert attachment.size == 2 * MB


def test_a_message_over_the_limit_is_stored_byte_for_byte(engine, settings):
    big = mailfactory.with_attachment(2 * MB)
    intake = Intake(engine, settings.model_copy(update={"max_message_mb": 1.0}))
    try:
        assert intake.handle_batch(batch_of(big)) == 1
    finally:
        intake.close()
    [message] = _stored(engine)
    assert (_raws(engine), message.status) == ([big], "quarantined")
    with Session(engine) as session:
        assert session.exec(select(QuarantineEntry)).one().reason.startswith("too large")


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable"])
def test_a_large_encoded_body_is_read_from_its_start_as_decoding_it_whole_would(encoding):
    html = b"".join(b"<p>Paragraph %d of the newsletter, = and all.</p>\r\n" % n for n in range(160_000))
    body = base64.encodebytes(html) if encoding == "base64" else quopri.encodestring(html)
    raw = (
        "From: news@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode() + body
    part = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert len(payload_bytes(part, [])) == len(html) > MAX_HTML_CHARS  # decoded whole: the old way
    problems: list[str] = []
    text = part_text(part, problems)
    assert text == html[:MAX_HTML_CHARS].decode().replace("\r\n", "\n")
    assert problems == [f"text/html part longer than {MAX_HTML_CHARS} bytes; the rest ignored"]


def test_a_message_of_empty_lines_meets_the_workers_memory_bound_and_the_next_is_read():
    # The stdlib parser holds some 60 bytes a line: 2.9 MB of empty lines would take about 100 MB, over
    # the bound of a worker that may be sent messages of up to 3 MB (5x that, and 64 MB).
    head = b"From: Sam <sam@example.com>\r\nSubject: lines\r\nContent-Type: text/plain\r\n\r\nMy son, Camden.\r\n"
    lines = head + b"\r\n" * 1_450_000
    large_raw = mailfactory.with_attachment(MB)
    readers = Readers(1, ReadOptions(OWN.own_addresses, max_bytes=3 * MB))
    try:
        # After it, in the same worker: what it freed must not count against the next messages.
        failed, after, large = readers.read_all(batch_of(lines, mailfactory.referral(), large_raw))
        assert readers._pool is not None and len(readers._pool.pids()) == 1
    finally:
        readers.close()
    # Read within the bound, or (past it) read as text or quarantined unread, like any reading that
    # fails: never the worker's memory unbounded, and the worker goes on.
    if isinstance(failed, Unread):
        assert "MemoryError" in failed.reason or "ended" in failed.reason, failed.reason
    else:
        assert failed.summary()["local_authority"] == "Camden" or any(
            "MemoryError" in p for p in failed.parsed.problems
        )
    assert isinstance(after, Reading) and after.summary()["local_authority"] == "Camden"
    # Read as in process, whole: no memory fault (its attachment is not a real PDF: that is its only problem).
    in_process = read(large_raw, OWN)
    assert isinstance(large, Reading) and large.parsed.problems == in_process.parsed.problems
    assert not any("MemoryError" in problem for problem in large.parsed.problems)
    assert facts(large.parsed) == facts(in_process.parsed)
