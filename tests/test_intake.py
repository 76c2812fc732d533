"""Intake end to end on a real database: cases, replies, machine mail, bounces, quarantine, throttle.

Messages go through `Intake.handle` exactly as a source hands them over (a key and the raw bytes).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from inbox import intake as intake_module
from inbox import reading as reading_module
from inbox.compose import render_email
from inbox.intake import Intake, retry_quarantined
from inbox.intake import steps as steps_module
from inbox.intake import store as store_module
from inbox.sources.base import MessageKey, SourceMessage
from models.cases import Case, InboxItem, TimelineEvent
from models.contacts import ContactPoint
from models.mail import InboundMessage, QuarantineEntry, StoredAttachment
from models.outbox import OutboxMessage
from models.outbox_ops import is_suppressed
from models.raw_mail import load_raw
from models.types import utcnow
from tests import mailfactory

_uids = iter(range(1, 10_000))


def deliver(intake: Intake, raw: bytes, *, uid: int | None = None, uidvalidity: int = 1) -> bool:
    key = MessageKey("imap://test@localhost/INBOX", uidvalidity, str(uid if uid is not None else next(_uids)))
    return intake.handle(SourceMessage(key, raw))


@pytest.fixture
def intake(engine, settings) -> Intake:
    # Read in this process (no bound), where the tests below can make a step fail: reading in worker
    # processes, the default, is tested with the same outcomes in test_intake_workers and test_read_bounds.
    return Intake(engine, settings.model_copy(update={"read_timeout_seconds": 0}))


def cases(engine) -> list[Case]:
    with Session(engine) as session:
        return list(session.exec(select(Case).order_by(Case.id)))


def outbox(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def timeline(engine, case_id: int) -> list[TimelineEvent]:
    with Session(engine) as session:
        return list(session.exec(select(TimelineEvent).where(TimelineEvent.case_id == case_id)))


def test_a_referral_opens_a_case_and_queues_one_acknowledgement(engine, intake):
    assert deliver(intake, mailfactory.referral(message_id="<first@example.com>"))
    [case] = cases(engine)
    assert case.status == "new" and case.reference.startswith("MD-")
    assert case.service == "mediation" and case.local_authority == "Camden" and case.region == "london"
    assert case.referrer_email == "joanne.pryce@example.com"
    assert case.draft["evidence"]["local_authority"]["snippet"]  # a coordinator sees why
    [ack] = outbox(engine)
    assert (ack.template, ack.to, ack.case_id) == ("acknowledgement", "joanne.pryce@example.com", case.id)
    assert ack.in_reply_to == "first@example.com" and ack.message_id.endswith("@mediation-desk.example.org")
    assert ack.context["reference"] == case.reference
    assert [o["phone_display"] for o in ack.context["offices"]] == ["020 7359 3635"]
    with Session(engine) as session:
        stored = session.exec(select(InboundMessage)).one()
        assert load_raw(session, stored.id).startswith(b"From: Joanne") and stored.outcome == "new_case"
        assert any("opened case" in reason for reason in stored.reasons)


def test_the_same_message_twice_is_taken_once(engine, intake):
    raw = mailfactory.referral()
    assert deliver(intake, raw, uid=7)
    assert deliver(intake, raw, uid=7)  # a crash before marking: handed out again
    assert deliver(intake, raw, uid=7, uidvalidity=2)  # the folder was recreated: new UIDs, same mail
    assert len(cases(engine)) == 1 and len(outbox(engine)) == 1


def test_a_reply_to_our_acknowledgement_joins_the_case_without_another_acknowledgement(engine, intake):
    deliver(intake, mailfactory.referral())
    [ack] = outbox(engine)
    deliver(intake, mailfactory.reply_to(ack.message_id, sender="joanne.pryce@example.com", subject="Re: referral"))
    [case] = cases(engine)
    assert len(outbox(engine)) == 1
    assert [e.kind for e in timeline(engine, case.id)].count("message_in") == 2


def test_the_reference_alone_joins_only_for_a_party_of_the_case(engine, intake):
    deliver(intake, mailfactory.referral())
    [case] = cases(engine)
    deliver(
        intake,
        mailfactory.message(
            sender="joanne.pryce@example.com",
            subject=f"About {case.reference}",
            body="One more thing: he also has a hearing impairment.\n",
        ),
    )
    assert len(cases(engine)) == 1
    deliver(
        intake,
        mailfactory.message(
            sender="Stranger <someone.else@example.net>",
            subject=f"{case.reference}",
            body="I would like mediation for my daughter please.\n",
        ),
    )
    first, second = cases(engine)
    assert second.related_case_id == first.id
    assert [o.to for o in outbox(engine)] == ["joanne.pryce@example.com", "someone.else@example.net"]


def test_machine_mail_never_opens_a_case_or_gets_an_answer(engine, intake):
    deliver(intake, mailfactory.out_of_office("not-ours@example.com", sender="away@example.org"))
    deliver(
        intake,
        mailfactory.message(
            sender="noreply@newsletters.example.com",
            subject="Our November news",
            body="News.\n",
            headers={"List-Id": "<news.example.com>", "Precedence": "bulk"},
        ),
    )
    assert cases(engine) == [] and outbox(engine) == []
    with Session(engine) as session:
        assert {m.outcome for m in session.exec(select(InboundMessage))} == {"automated"}


def test_an_auto_reply_to_our_acknowledgement_lands_on_the_case(engine, intake):
    deliver(intake, mailfactory.referral())
    [ack] = outbox(engine)
    deliver(intake, mailfactory.out_of_office(ack.message_id))
    [case] = cases(engine)
    assert len(outbox(engine)) == 1
    assert any("Automatic auto reply" in e.summary for e in timeline(engine, case.id))


def test_a_bounce_of_our_acknowledgement_marks_the_address_undeliverable_on_the_case(engine, intake):
    deliver(intake, mailfactory.referral())
    [ack] = outbox(engine)
    deliver(intake, mailfactory.bounce_of(ack.message_id, ack.to))
    [case] = cases(engine)
    assert any(e.kind == "bounce" and "User unknown" in e.summary for e in timeline(engine, case.id))
    with Session(engine) as session:
        assert is_suppressed(session, "email", ack.to)
        point = session.exec(select(ContactPoint).where(ContactPoint.value == ack.to)).one()
        assert point.undeliverable_at is not None
    assert len(outbox(engine)) == 1


def test_a_delay_warning_marks_nothing_undeliverable(engine, intake):
    deliver(intake, mailfactory.referral())
    [ack] = outbox(engine)
    deliver(intake, mailfactory.bounce_of(ack.message_id, ack.to, status="4.4.1", action="delayed"))
    with Session(engine) as session:
        assert not is_suppressed(session, "email", ack.to)


def test_one_automatic_message_per_address_per_window(engine, intake):
    deliver(intake, mailfactory.referral())
    deliver(
        intake,
        mailfactory.referral(
            subject="Another referral, for my daughter",
            body="My daughter Amy also needs mediation with Camden Council.\n",
        ),
    )
    assert len(cases(engine)) == 2 and len(outbox(engine)) == 1
    second = cases(engine)[1]
    assert any("No acknowledgement sent" in e.summary for e in timeline(engine, second.id))


def test_mail_that_reached_the_mailbox_long_ago_opens_a_case_without_an_acknowledgement(engine, intake):
    # Pointing the daemon at a mailbox with history must not write to every family who ever wrote.
    key = MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids)))
    weeks_ago = utcnow() - timedelta(days=30)
    assert intake.handle(SourceMessage(key, mailfactory.referral(sender="old@example.com"), weeks_ago))
    recent = MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids)))
    an_hour_ago = utcnow() - timedelta(hours=1)
    assert intake.handle(SourceMessage(recent, mailfactory.referral(sender="new@example.com"), an_hour_ago))

    old, new = cases(engine)
    assert [(ack.to, ack.case_id) for ack in outbox(engine)] == [("new@example.com", new.id)]
    assert any("reached the mailbox 30 day(s) ago" in e.summary for e in timeline(engine, old.id))
    assert old.status == "new" and old.referrer_email == "old@example.com"  # still there for a coordinator


def test_a_family_outside_the_served_councils_gets_the_kind_other_reply(engine, intake):
    deliver(
        intake,
        mailfactory.referral(
            sender="Sophie Hart <sophie.hart@example.org>",
            subject="Kent won't issue a plan",
            body="Kent County Council have refused to issue an EHC plan for my son Noah. I'd like mediation.\n",
        ),
    )
    [case] = cases(engine)
    assert case.served is False and case.local_authority == "Kent" and case.region is None
    [reply] = outbox(engine)
    assert reply.template == "not_served"
    assert len(reply.context["offices"]) == 2


def test_a_web_form_is_answered_at_the_address_the_family_typed(engine, settings):
    # Our website's form sends from our own domain: only our mail server's DMARC pass tells it apart
    # from anyone else writing our domain in From (tests/test_reflection.py has those).
    intake = Intake(engine, settings.model_copy(update={"trusted_authserv_id": "mx.mediation-desk.example.org"}))
    body = (
        "You have received a new enquiry via the website contact form.\n\nName: Rhian Parry\n"
        "Email: rhian.parry@example.org\nPhone: 07700 900 111\nLocal authority (if known): Barnet\n"
        "I am a: Parent / carer\n\nMessage:\nCan you help us with mediation about my son's plan?\n"
    )
    verdict = "mx.mediation-desk.example.org; dmarc=pass header.from=mediation-desk.example.org"
    deliver(
        intake,
        mailfactory.message(
            sender="Website <website@mediation-desk.example.org>",
            subject="New enquiry from website",
            body=body,
            headers={"Authentication-Results": verdict},
        ),
    )
    [reply] = outbox(engine)
    assert reply.to == "rhian.parry@example.org"


def test_a_form_services_no_reply_notification_opens_a_case_answered_at_the_typed_address(engine, intake):
    body = (
        "New submission from the contact form\n\nName: Aled Hughes\nEmail: aled.hughes@example.org\n"
        "Phone: 07700 900 222\nLocal authority: Barnet\n\nMessage:\nWe need mediation about my son's plan.\n"
    )
    sender = "Contact form <noreply@forms.example.net>"
    deliver(intake, mailfactory.message(sender=sender, subject="New form submission", body=body))
    [case] = cases(engine)
    [reply] = outbox(engine)
    assert (case.referrer_email, reply.to, reply.case_id) == ("aled.hughes@example.org",) * 2 + (case.id,)


def test_mail_without_a_sender_is_quarantined_with_its_reason_and_intake_goes_on(engine, intake, settings):
    raw = b"To: referrals@mediation-desk.example.org\r\nSubject: help\r\n\r\nPlease call me back.\r\n"
    assert deliver(intake, raw)
    assert deliver(intake, mailfactory.referral())
    assert len(cases(engine)) == 1
    with Session(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
        assert "no sender address" in entry.reason
        assert load_raw(session, entry.inbound_message_id) == raw
    assert "still quarantined" in retry_quarantined(engine, settings, entry.id)


def test_an_unexpected_error_quarantines_the_message_and_a_retry_after_the_fix_processes_it(
    engine, intake, settings, monkeypatch
):
    real = reading_module.extract_referral

    def broken(*args, **kwargs):
        raise RuntimeError("extraction bug")

    monkeypatch.setattr(reading_module, "extract_referral", broken)
    assert deliver(intake, mailfactory.referral())
    assert cases(engine) == [] and outbox(engine) == []
    with Session(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
        assert "RuntimeError" in entry.reason and "extraction bug" in entry.detail
    monkeypatch.setattr(reading_module, "extract_referral", real)
    assert retry_quarantined(engine, settings, entry.id).startswith("processed: new_case")
    assert len(cases(engine)) == 1 and len(outbox(engine)) == 1


def test_a_retry_of_a_copy_taken_meanwhile_joins_that_case_instead_of_opening_another(
    engine, intake, settings, monkeypatch
):
    real = reading_module.extract_referral
    monkeypatch.setattr(reading_module, "extract_referral", lambda *a, **k: 1 / 0)
    raw = mailfactory.referral(message_id="<twice@example.com>")
    assert deliver(intake, raw)  # quarantined
    monkeypatch.setattr(reading_module, "extract_referral", real)
    # The other copy (same message, other bytes: the family wrote To and Cc) goes through.
    other = b"Delivered-To: office@mediation-desk.example.org\r\n" + raw
    assert deliver(intake, other)
    [case] = cases(engine)
    with Session(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
    assert retry_quarantined(engine, settings, entry.id).startswith("processed: duplicate")
    assert [c.id for c in cases(engine)] == [case.id] and len(outbox(engine)) == 1
    with Session(engine) as session:
        retried = session.get(InboundMessage, entry.inbound_message_id)
        assert (retried.outcome, retried.case_id) == ("duplicate", case.id)


def test_a_reply_naming_two_cases_goes_to_triage_not_to_a_guess(engine, intake):
    deliver(intake, mailfactory.referral(sender="a@example.com"))
    deliver(intake, mailfactory.referral(sender="b@example.com"))
    first, second = outbox(engine)
    raw = mailfactory.message(
        sender="a@example.com",
        subject="Re: both",
        body="Replying to both.\n",
        headers={"In-Reply-To": f"<{first.message_id}>", "References": f"<{first.message_id}> <{second.message_id}>"},
    )
    deliver(intake, raw)
    assert len(cases(engine)) == 2
    with Session(engine) as session:
        [item] = session.exec(select(InboxItem)).all()
        assert item.kind == "triage" and item.status == "open"


def test_a_message_whose_fields_the_database_refuses_is_still_kept_raw_and_intake_goes_on(engine, intake, monkeypatch):
    real_store = store_module.store_message

    def refusing(session, key, parsed, **columns):
        if "poison" in parsed.subject:
            raise UnicodeEncodeError("utf-8", "\udce7", 0, 1, "surrogates not allowed")
        return real_store(session, key, parsed, **columns)

    monkeypatch.setattr(store_module, "store_message", refusing)
    poison = mailfactory.referral(subject="poison")
    assert deliver(intake, poison)
    assert deliver(intake, mailfactory.referral(sender="next@example.com"))
    assert len(cases(engine)) == 1
    with Session(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
        assert "headers could not be stored" in entry.reason
        assert load_raw(session, entry.inbound_message_id) == poison


# ---- batches: one transaction, a savepoint per message ------------------------------------------


def batch_of(*raws: bytes) -> list[SourceMessage]:
    return [SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids))), raw) for raw in raws]


def test_a_failing_message_in_the_middle_of_a_batch_is_quarantined_and_the_others_commit(engine, intake, monkeypatch):
    real = reading_module.extract_referral

    def broken_for_the_second(parsed, **kwargs):
        if "second" in parsed.subject:
            raise RuntimeError("extraction bug")
        return real(parsed, **kwargs)

    monkeypatch.setattr(reading_module, "extract_referral", broken_for_the_second)
    messages = batch_of(
        mailfactory.referral(sender="one@example.com", subject="first"),
        mailfactory.referral(sender="two@example.com", subject="second"),
        mailfactory.referral(sender="three@example.com", subject="third"),
    )
    assert intake.handle_batch(messages) == 3
    assert sorted(c.referrer_email for c in cases(engine)) == ["one@example.com", "three@example.com"]
    assert sorted(o.to for o in outbox(engine)) == ["one@example.com", "three@example.com"]
    with Session(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
        stored = session.get(InboundMessage, entry.inbound_message_id)
        assert load_raw(session, stored.id) == messages[1].raw
        assert stored.status == "quarantined" and stored.case_id is None
        assert "RuntimeError" in entry.reason and "extraction bug" in entry.detail
        assert stored.reasons[-1] == entry.reason
        assert len(session.exec(select(InboundMessage)).all()) == 3
    assert intake.handle_batch(messages) == 3  # handed out again (a crash before the mark): no change
    assert len(cases(engine)) == 2 and len(outbox(engine)) == 2


def test_a_database_error_in_a_batch_commits_nothing(engine, intake, monkeypatch):
    from sqlalchemy.exc import OperationalError

    real = steps_module.acknowledge
    calls = []

    def locked_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("INSERT ...", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(steps_module, "acknowledge", locked_on_the_second)
    messages = batch_of(*(mailfactory.referral(sender=f"p{n}@example.com") for n in range(3)))
    assert intake.handle_batch(messages) == 0
    assert cases(engine) == [] and outbox(engine) == []
    with Session(engine) as session:
        assert session.exec(select(InboundMessage)).all() == []
    monkeypatch.setattr(steps_module, "acknowledge", real)
    assert intake.handle_batch(messages) == 3
    assert len(cases(engine)) == 3 and len(outbox(engine)) == 3


def test_a_batch_larger_than_one_transaction_commits_in_order(engine, intake):
    messages = batch_of(*(mailfactory.referral(sender=f"p{n}@example.com") for n in range(intake_module.BATCH_MAX + 3)))
    assert intake.handle_batch(messages) == len(messages)
    assert len(cases(engine)) == len(messages) and len(outbox(engine)) == len(messages)


def test_a_repeat_within_one_batch_is_taken_once(engine, intake):
    raw = mailfactory.referral()
    assert intake.handle_batch(batch_of(raw, raw)) == 2  # the second is known by what it is: only marked
    assert len(cases(engine)) == 1 and len(outbox(engine)) == 1


# ---- a message over the size limit (MDESK_MAX_MESSAGE_MB) ----------------------------------------

KB = 1024


@pytest.fixture
def small_limit(engine, settings) -> Intake:
    """Intake with a 0.5 MB limit, so the messages over it stay small enough to be quick."""
    return Intake(engine, settings.model_copy(update={"max_message_mb": 0.5}))


def deliver_sized(intake: Intake, raw: bytes) -> bool:
    """As a source hands a message over: with the size it knew before fetching."""
    key = MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids)))
    return intake.handle(SourceMessage(key, raw, size=len(raw)))


def test_a_message_over_the_size_limit_is_kept_raw_unread_and_its_sender_is_told(engine, small_limit, settings):
    raw = mailfactory.with_attachment(450 * KB, headers={"Reply-To": "someone.else@example.net"})
    assert len(raw) > 512 * KB
    assert deliver_sized(small_limit, raw)
    assert cases(engine) == []  # not read: nothing extracted, no case
    with Session(engine) as session:
        stored = session.exec(select(InboundMessage)).one()
        entry = session.exec(select(QuarantineEntry)).one()
        assert load_raw(session, stored.id) == raw and stored.status == "quarantined"  # byte for byte
        assert entry.inbound_message_id == stored.id
        assert entry.reason == "too large (0.6 MB; the limit is 0.5 MB)"
        assert session.exec(select(StoredAttachment)).all() == []  # no decoded copy
    [reply] = outbox(engine)
    # To the From address (never a Reply-To), automatic, and about this message.
    assert (reply.template, reply.to, reply.automatic, reply.case_id) == (
        "too_large",
        "joanne.pryce@example.com",
        True,
        None,
    )
    assert reply.in_reply_to == stored.message_id
    sent = render_email(reply, settings=settings)
    text = sent.get_body(("plain",)).get_content()
    assert sent["Subject"] == "Your email to Mediation Desk was too large to receive"
    assert sent["Auto-Submitted"] == "auto-replied"
    assert "0.6 MB" in text and "0.5 MB" in text
    assert "020 7359 3635" in text and "0333 006 2835" in text  # the offices' numbers
    assert "Joanne" not in text and "EHC" not in text  # nothing the sender wrote


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("Joanne Pryce <joanne.pryce@example.com>", {"Auto-Submitted": "auto-generated"}),
        ("Camden SEN <sen@camden.example.gov.uk>", {"Precedence": "bulk"}),
        ("Mail Delivery System <MAILER-DAEMON@mx.example.com>", {}),
        ("Portal <noreply@portal.example.com>", {}),
    ],
    ids=["auto-submitted", "precedence-bulk", "mailer-daemon", "noreply"],
)
def test_machine_mail_over_the_size_limit_is_quarantined_without_a_reply(engine, small_limit, sender, headers):
    raw = mailfactory.with_attachment(450 * KB, sender=sender, headers=headers)
    assert deliver_sized(small_limit, raw)
    with Session(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
        assert entry.reason.startswith("too large") and "no reply" in entry.detail
    assert outbox(engine) == []


def test_a_person_over_the_size_limit_twice_is_told_once_and_both_are_kept(engine, small_limit):
    assert deliver_sized(small_limit, mailfactory.with_attachment(450 * KB))
    assert deliver_sized(small_limit, mailfactory.with_attachment(460 * KB))  # tried again at once
    assert len(outbox(engine)) == 1  # the acknowledgement's throttle: one automatic message a window
    with Session(engine) as session:
        assert len(session.exec(select(QuarantineEntry)).all()) == 2


def test_a_message_under_the_size_limit_is_read_as_usual(engine, small_limit):
    raw = mailfactory.with_attachment(300 * KB)
    assert len(raw) < 512 * KB
    assert deliver_sized(small_limit, raw)
    [case] = cases(engine)
    assert case.local_authority == "Camden"
    [ack] = outbox(engine)
    assert ack.template == "acknowledgement"
    with Session(engine) as session:
        [attachment] = session.exec(select(StoredAttachment)).all()
        assert attachment.size == 300 * KB


def test_a_too_large_message_is_not_parsed_on_retry_either(engine, small_limit, settings):
    deliver_sized(small_limit, mailfactory.with_attachment(450 * KB))
    with Session(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
    assert retry_quarantined(engine, small_limit.settings, entry.id) == (
        "still quarantined: too large (0.6 MB; the limit is 0.5 MB)"
    )
    # With the limit raised, a coordinator's retry reads it like any other message.
    assert retry_quarantined(engine, settings, entry.id).startswith("processed: new_case")


def test_with_reading_workers_a_too_large_message_is_read_in_process_and_its_neighbours_by_the_workers(
    engine, settings
):
    intake = Intake(engine, settings.model_copy(update={"max_message_mb": 0.5, "intake_workers": 1}))
    try:
        batch = [
            SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids))), raw, size=len(raw))
            for raw in (
                mailfactory.referral(sender="before@example.com"),
                mailfactory.with_attachment(450 * KB),
                mailfactory.referral(sender="after@example.com"),
            )
        ]
        intake.read_ahead(batch)  # the workers never get the large one
        assert intake.handle_batch(batch) == 3
    finally:
        intake.close()
    assert sorted(c.referrer_email for c in cases(engine)) == ["after@example.com", "before@example.com"]
    with Session(engine) as session:
        [entry] = session.exec(select(QuarantineEntry)).all()
        assert session.get(InboundMessage, entry.inbound_message_id).sender_email == "joanne.pryce@example.com"
    assert sorted(o.template for o in outbox(engine)) == ["acknowledgement", "acknowledgement", "too_large"]


def test_a_failing_extraction_step_is_counted_and_shown_and_the_case_still_opens(engine, intake, monkeypatch):
    """A bug in one field's reader (here: a copy of the step table with a failing step) loses only that
    field: the case opens with the others, its draft and the stored message say the field is missing
    because of a fault, and mdesk_pipeline_errors_total{step} counts it once."""
    import dataclasses
    import functools

    from inbox.extract import STEPS, extract_referral
    from models import metrics

    def failing(ctx, got):
        raise KeyError("boom")

    steps = tuple(dataclasses.replace(s, read=failing) if s.name == "contact_phone" else s for s in STEPS)
    monkeypatch.setattr(reading_module, "extract_referral", functools.partial(extract_referral, steps=steps))
    counted = metrics.REGISTRY.get_sample_value("mdesk_pipeline_errors_total", {"step": "extract:contact_phone"})
    assert deliver(intake, mailfactory.referral())
    [case] = cases(engine)
    assert case.local_authority == "Camden" and case.service == "mediation"
    problem = "the contact_phone reader failed (a fault, not missing from the email)"
    assert case.draft["contact_phone"] is None and case.draft["problems"] == [problem]
    with Session(engine) as session:
        stored = session.exec(select(InboundMessage)).one()
        assert f"extraction fault: {problem}" in stored.reasons
        assert stored.faults == ["extract:contact_phone"]
    after = metrics.REGISTRY.get_sample_value("mdesk_pipeline_errors_total", {"step": "extract:contact_phone"})
    assert after == (counted or 0) + 1


def test_a_message_whose_parsing_raises_is_quarantined_raw_and_the_batch_commits(engine, intake, monkeypatch):
    """Reading is one function that never raises: a parser bug on one message quarantines that message
    (its bytes, the traceback) instead of failing the whole batch, which the watcher would hand out
    again and again."""
    real = reading_module.parse_message

    def broken_on_poison(raw, *args, **kwargs):
        if b"poison" in raw:
            raise RuntimeError("parser bug")
        return real(raw, *args, **kwargs)

    monkeypatch.setattr(reading_module, "parse_message", broken_on_poison)
    poison = mailfactory.referral(subject="poison")
    assert intake.handle_batch(batch_of(poison, mailfactory.referral(sender="next@example.com"))) == 2
    assert [c.referrer_email for c in cases(engine)] == ["next@example.com"]
    with Session(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
        assert entry.reason.startswith("could not be processed (RuntimeError)") and "parser bug" in entry.detail
        assert load_raw(session, entry.inbound_message_id) == poison
    monkeypatch.setattr(reading_module, "parse_message", real)
    assert retry_quarantined(engine, intake.settings, entry.id).startswith("processed: new_case")
