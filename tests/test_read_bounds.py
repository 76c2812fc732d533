"""Reading a message is bounded (issue 8 item 4): hostile HTML no longer stalls the parser, and whatever
else makes a message slow to read, past settings.read_timeout_seconds it is quarantined unread and the
batch goes on. Messages are built here; the bound is exercised through Intake.handle_batch on SQLite
and PostgreSQL, with the real reading processes."""

from __future__ import annotations

import json
import os
import time

from sqlmodel import Session, select

from inbox.intake import Intake, retry_quarantined
from inbox.readers import Readers
from inbox.reading import ReadOptions
from inbox.sources.base import MessageKey, SourceMessage
from models.cases import Case
from models.mail import InboundMessage, QuarantineEntry, StoredAttachment
from models.raw_mail import load_raw
from tests import mailfactory
from tests.cli import run_main

_uids = iter(range(1, 1_000_000))

REFERRAL_TEXT = (
    "<p>Hello,</p><p>My son Elliot Pryce (DOB 04/02/2015) has an EHC plan from the London Borough of Camden."
    " We would like mediation about Section I please.</p><p>My mobile is 07700 900 418.</p><p>Joanne Pryce</p>"
)


def batch_of(*raws: bytes) -> list[SourceMessage]:
    return [SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids))), raw) for raw in raws]


def html_referral(html: str, *, sender: str = "Joanne Pryce <joanne.pryce@example.com>") -> bytes:
    head = (
        f"From: {sender}\r\nTo: referrals@mediation-desk.example.org\r\nSubject: Mediation request\r\n"
        f"Message-ID: <html-{next(_uids)}@example.com>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
    )
    return head.encode() + html.encode()


def many_parts(parts: int) -> bytes:
    """A person's message with `parts` small text parts: legitimately slow to read (seconds at 100,000)."""
    head = (
        "From: Sam Hale <sam.hale@example.com>\r\nTo: referrals@mediation-desk.example.org\r\n"
        f"Subject: Papers\r\nMessage-ID: <parts-{next(_uids)}@example.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    )
    body = "".join(f"--B\r\nContent-Type: text/plain\r\n\r\npart {n}\r\n" for n in range(parts))
    return (head + body + "--B--\r\n").encode()


def test_two_megabytes_of_unmatched_end_tags_are_read_as_a_referral_not_quarantined(engine, settings):
    junk = "<b></x>" * (2_000_000 // 7)  # the nesting guard once took these end tags as closing the <b>s
    intake = Intake(engine, settings.model_copy(update={"read_timeout_seconds": 300.0}))
    try:
        assert intake.handle_batch(batch_of(html_referral(REFERRAL_TEXT + junk))) == 1
    finally:
        intake.close()
    with Session(engine) as session:
        stored = session.exec(select(InboundMessage)).one()
        assert (stored.status, stored.outcome) == ("processed", "new_case")
        assert session.exec(select(QuarantineEntry)).all() == []
        case = session.exec(select(Case)).one()
        assert case.local_authority == "Camden"


def test_a_message_slower_than_the_bound_is_quarantined_unread_and_the_batch_goes_on(engine, settings):
    slow = many_parts(100_000)
    first, after, last = (mailfactory.referral(sender=f"Parent {n} <parent{n}@example.com>") for n in range(3))
    intake = Intake(engine, settings.model_copy(update={"read_timeout_seconds": 1.0, "intake_workers": 0}))
    try:
        assert intake.handle_batch(batch_of(first, slow, after, last)) == 4
        # The worker reading the slow message was replaced: the next batch is read as usual.
        assert intake.handle_batch(batch_of(mailfactory.referral(sender="later@example.com"))) == 1
    finally:
        intake.close()
    with Session(engine) as session:
        stored = session.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [m.status for m in stored] == ["processed", "quarantined", "processed", "processed", "processed"]
        assert [m.outcome for m in stored] == ["new_case", None, "new_case", "new_case", "new_case"]
        assert load_raw(session, stored[1].id) == slow  # nothing lost: the bytes wait for a coordinator
        entry = session.exec(select(QuarantineEntry)).one()
        assert entry.inbound_message_id == stored[1].id
        assert entry.reason.startswith("reading took longer than 1 s: ")
        assert len(session.exec(select(Case)).all()) == 4
    # A retry reads the same way, within the bound: it is still quarantined, promptly.
    slow_settings = settings.model_copy(update={"read_timeout_seconds": 1.0})
    assert retry_quarantined(engine, slow_settings, entry.id).startswith("still quarantined: reading took longer")
    with Session(engine) as session:
        assert session.get(QuarantineEntry, entry.id).attempts == 2


def test_a_reading_process_that_dies_quarantines_its_message_and_is_replaced():
    readers = Readers(1, ReadOptions(("referrals@mediation-desk.example.org",)), timeout=None)  # no bound: death alone
    try:
        readers.start()
        [pid] = readers._pool.pids()
        messages = batch_of(many_parts(100_000), mailfactory.referral())
        readings = readers.read_all(messages)
        time.sleep(1)  # the first message takes seconds to read: it is killed while on it
        os.kill(pid, 9)
        dead, after = list(readings)
        assert dead.reason == "the process reading it ended (signal 9)"
        assert after.parsed.sender.email == "joanne.pryce@example.com"
        assert readers._pool.pids() != [pid]
    finally:
        readers.close()


def test_with_no_bound_and_no_workers_intake_reads_in_its_own_process(engine, settings):
    intake = Intake(engine, settings.model_copy(update={"read_timeout_seconds": 0, "intake_workers": 0}))
    assert intake.readers.workers == 0
    assert intake.handle_batch(batch_of(mailfactory.referral())) == 1


def test_parse_email_gives_up_on_a_message_slower_than_the_bound_and_reads_the_others(tmp_path):
    slow, fine = tmp_path / "slow.eml", tmp_path / "fine.eml"
    slow.write_bytes(many_parts(100_000))
    fine.write_bytes(mailfactory.referral())
    settings = {"MDESK_VAR_DIR": str(tmp_path / "var"), "MDESK_READ_TIMEOUT_SECONDS": "1"}
    done = run_main("parse-email", "--json", str(slow), str(fine), settings=settings)
    assert done.returncode == 1
    assert f"{slow}: reading took longer than 1 s" in done.stderr
    [line] = done.stdout.splitlines()
    assert json.loads(line)["local_authority"] == "Camden"


def test_a_message_stored_unread_and_read_on_retry_gets_its_sender_keys_and_attachments(engine, settings, monkeypatch):
    import inbox.reading

    raw = mailfactory.with_attachment(2_000, message_id="<once-unread@example.com>")
    in_process = settings.model_copy(update={"read_timeout_seconds": 0, "intake_workers": 0})

    def broken_parser(*_args, **_kwargs):
        raise RuntimeError("a bug in parsing")

    monkeypatch.setattr(inbox.reading, "parse_message", broken_parser)
    intake = Intake(engine, in_process)
    try:
        assert intake.handle_batch(batch_of(raw)) == 1
    finally:
        intake.close()
    with Session(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
        assert session.get(InboundMessage, entry.inbound_message_id).sender_email is None  # unread: nothing decoded
    monkeypatch.undo()  # the bug fixed

    assert retry_quarantined(engine, in_process, entry.id).startswith("processed: new_case")
    with Session(engine) as session:
        stored = session.get(InboundMessage, entry.inbound_message_id)
        assert (stored.message_id, stored.sender_email) == ("once-unread@example.com", "joanne.pryce@example.com")
        assert stored.subject == "Mediation request - EHC plan attached"
        [attachment] = session.exec(select(StoredAttachment)).all()
        assert (attachment.filename, attachment.inbound_message_id) == ("ehc-plan.pdf", stored.id)
    # The same message delivered again is known as the copy it is, not opened as a second case.
    intake = Intake(engine, in_process)
    try:
        assert intake.handle_batch(batch_of(raw)) == 1
    finally:
        intake.close()
    with Session(engine) as session:
        assert len(session.exec(select(Case)).all()) == 1
