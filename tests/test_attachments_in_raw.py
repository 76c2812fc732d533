"""An attachment is stored once, in the raw message: its row says what and where it is, and its bytes
are decoded from the raw message on demand (issue 8.5). Memory is measured in bench/hostile.py, not here."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from inbox.intake import Intake
from inbox.parse import parse_message
from inbox.parse import parts as parts_module
from inbox.parse.attachments import KEEP_PAYLOAD_BYTES, decode_attachment, payload_of, stored_attachment_bytes
from inbox.sources.base import MessageKey, SourceMessage
from models import db
from models.mail import InboundMessage, StoredAttachment
from models.raw_mail import load_raw
from tests import mailfactory

MB = 1024 * 1024


def _pdf(size: int) -> bytes:
    """What mailfactory.with_attachment attaches."""
    pattern = bytes(range(256))
    return (pattern * (size // len(pattern) + 1))[:size]


def _take(engine, settings, raw: bytes) -> None:
    intake = Intake(engine, settings)  # reading in a worker process, as the daemon does
    try:
        assert intake.handle(SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, "1"), raw))
    finally:
        intake.close()


def test_a_2mb_attachment_is_stored_once_and_decodes_from_the_raw_message(engine, settings):
    _take(engine, settings, mailfactory.with_attachment(2 * MB))
    with Session(engine) as session:
        raw = load_raw(session, session.exec(select(InboundMessage)).one().id)
        [row] = session.exec(select(StoredAttachment)).all()
    assert row.payload is None  # no decoded copy beside the raw message
    assert (row.filename, row.content_type, row.size) == ("ehc-plan.pdf", "application/pdf", 2 * MB)
    assert row.sha256 == hashlib.sha256(_pdf(2 * MB)).hexdigest()
    assert stored_attachment_bytes(row, raw) == _pdf(2 * MB)


def test_a_stored_attachment_that_no_longer_decodes_to_its_hash_is_an_error_not_other_bytes(engine, settings):
    _take(engine, settings, mailfactory.with_attachment(100_000))
    with Session(engine) as session:
        raw = load_raw(session, session.exec(select(InboundMessage)).one().id)
        [row] = session.exec(select(StoredAttachment)).all()
    row.part_index = 1  # the text part: another part of the same message
    with pytest.raises(ValueError, match="no longer decodes"):
        stored_attachment_bytes(row, raw)


def test_attachments_stored_before_0004_keep_their_payload_and_a_downgrade_loses_none(engine, settings):
    """Down to 0003 (every payload decoded back from the raw mail), a row of the old shape added, up again."""
    from alembic import command

    _take(engine, settings, mailfactory.with_attachment(300_000))
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003_content_key")
        decoded = connection.execute(text("SELECT payload FROM storedattachment")).scalar_one()
        assert bytes(decoded) == _pdf(300_000)
        inbound_id = connection.execute(text("SELECT inbound_message_id FROM storedattachment")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO storedattachment (inbound_message_id, filename, content_type, size, sha256, payload)"
                " VALUES (:m, 'old.pdf', 'application/pdf', 3, :sha, :payload)"
            ),
            {"m": inbound_id, "sha": hashlib.sha256(b"old").hexdigest(), "payload": b"old"},
        )
    db.upgrade(engine)
    with Session(engine) as session:
        raw = load_raw(session, session.exec(select(InboundMessage)).one().id)
        rows = session.exec(select(StoredAttachment).order_by(StoredAttachment.id)).all()
    assert [(row.filename, row.part_index is None) for row in rows] == [("ehc-plan.pdf", True), ("old.pdf", True)]
    assert [stored_attachment_bytes(row, raw) for row in rows] == [_pdf(300_000), b"old"]


# ---- while reading -------------------------------------------------------------------------------


def _with_body(body: bytes, cte: bytes = b"base64") -> bytes:
    return (
        b"From: jo@example.org\nSubject: file\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain\n\nsee the file\n--B\nContent-Type: application/octet-stream\n"
        b"Content-Disposition: attachment; filename=f.bin\nContent-Transfer-Encoding: "
        + cte
        + b"\n\n"
        + body
        + b"\n--B--\n"
    )


def test_a_large_attachment_is_hashed_not_kept_and_decodes_from_the_tree_and_the_raw_bytes():
    data = random.Random(1).randbytes(3 * KEEP_PAYLOAD_BYTES)
    parsed = parse_message(_with_body(base64.encodebytes(data)))
    [attachment] = parsed.attachments
    assert (attachment.payload, attachment.size) == (None, len(data))
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert payload_of(parsed, attachment) == data  # from the tree
    parsed.message = None  # as a Reading comes back from a worker
    assert payload_of(parsed, attachment) == data == decode_attachment(parsed.raw, attachment.index)


_DATA = random.Random(2).randbytes(300_000)
_CLEAN = base64.encodebytes(_DATA)


@pytest.mark.parametrize(
    "body",
    [
        _CLEAN,
        _CLEAN.replace(b"\n", b"\r\n"),
        base64.b64encode(_DATA[:-1]),  # one line, padded
        _CLEAN[:-4] + b"\n",  # missing padding: the stdlib repairs it
        _CLEAN.replace(b"A", b"A!", 3),  # stray characters: the stdlib skips them
        _CLEAN[:-3] + b"\n",  # one character too many: the stdlib keeps the body as it came
        _CLEAN.replace(b"B", b"B\xe9", 1),  # an 8-bit byte in a base64 body
        _CLEAN[:1000] + b"==\n" + _CLEAN[1000:],  # padding in the middle
    ],
    ids=["clean", "crlf", "one-line", "no-padding", "stray", "length", "8bit", "mid-padding"],
)
@pytest.mark.parametrize("chunk", [parts_module.DIGEST_CHARS, 4097])
def test_a_large_attachment_hashes_to_what_the_stdlib_decodes(monkeypatch, body: bytes, chunk: int):
    monkeypatch.setattr(parts_module, "DIGEST_CHARS", chunk)
    parsed = parse_message(_with_body(body))
    [attachment] = parsed.attachments
    part = parts_module.walk(parsed.message, [])[attachment.index]
    expected = parts_module.leaf_bytes(part)  # the stdlib's decoder, whole
    assert (attachment.size, attachment.sha256) == (len(expected), hashlib.sha256(expected).hexdigest())
    assert decode_attachment(parsed.raw, attachment.index) == expected


def test_small_report_parts_keep_their_payload_for_readers_in_process():
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\nContent-Type: multipart/report; report-type=delivery-status;"
        b" boundary=b\n\n--b\nContent-Type: text/plain\n\nnot delivered\n--b\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\n"
        b"Status: 5.1.1\n--b--\n"
    )
    [status] = parse_message(raw).attachments
    assert status.payload is not None and b"Status: 5.1.1" in status.payload
