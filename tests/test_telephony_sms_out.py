"""SMS out: the outbox's second channel through the real Twilio SDK, talking to a local server that
answers as Twilio's API does; and status callbacks that never move a message backwards."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from models import case_ops, db
from models.contacts import ContactPoint
from models.outbox import OutboxMessage
from models.outbox_ops import enqueue, is_suppressed
from models.telephony import SmsMessage
from models.types import utcnow
from scheduler.dispatch import Dispatcher
from telephony.segments import count_segments
from telephony.sms_channel import SmsChannel
from telephony.texts import TEMPLATES
from tests.twilio_api_server import fake_twilio
from tests.twilio_webhooks import ACCOUNT, LONDON, PUBLIC, running_app, twilio_settings

MOBILE = "+447700900123"


def _dispatcher(engine, settings) -> Dispatcher:
    return Dispatcher(engine, settings, {"sms": SmsChannel.from_settings(settings, engine)}, worker="test")


def _sms_row(engine, key: str = "sms:1", to: str = MOBILE, case: bool = False) -> int:
    with db.session_scope(engine) as session:
        case_id = None
        if case:
            opened = case_ops.open_case(
                session, service=None, local_authority=None, served=None, region="london", referrer_email=None, draft={}
            )
            contact = case_ops.ensure_contact(session, phone=to)
            case_ops.add_party(session, opened.id, contact, "parent")
            case_id = opened.id
        row = enqueue(
            session, key=key, channel="sms", to=to, template="help", context={"office": "london"}, case_id=case_id
        )
        return row.id


def _row(engine, row_id: int) -> OutboxMessage:
    with Session(engine) as session:
        return session.get(OutboxMessage, row_id)


def test_an_sms_goes_through_twilio_from_the_office_number_with_a_status_callback(engine, tmp_path):
    with fake_twilio() as api:
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        row_id = _sms_row(engine)
        stats = _dispatcher(engine, settings).run_once()
    assert stats.sent == 1
    [request] = api.requests
    assert (request.method, request.path, request.user) == (
        "POST",
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        ACCOUNT,
    )
    assert request.form["To"] == MOBILE and request.form["From"] == LONDON
    assert request.form["StatusCallback"] == f"{PUBLIC}/twilio/sms/status"
    assert "call our London office on 020 7359 3635" in request.form["Body"]
    row = _row(engine, row_id)
    assert row.status == "sent" and row.provider_id == api.sent[0]["sid"]
    with Session(engine) as session:
        stored = session.exec(select(SmsMessage)).one()
    assert (stored.message_sid, stored.direction, stored.status, stored.outbox_id) == (
        row.provider_id,
        "outbound",
        "queued",
        row_id,
    )
    assert (stored.encoding, stored.segments) == ("GSM-7", 1)


def test_a_messaging_service_sends_instead_of_the_office_number_when_configured(engine, tmp_path):
    with fake_twilio() as api:
        settings = twilio_settings(tmp_path, twilio_api_url=api.base, twilio_messaging_service_sid="MG" + "1" * 32)
        _sms_row(engine)
        _dispatcher(engine, settings).run_once()
    assert api.requests[0].form["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in api.requests[0].form


def test_429_and_500_are_retried_with_backoff_then_sent(engine, tmp_path):
    with fake_twilio() as api:
        api.answer_messages((429, 20429), (500, None))
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        row_id = _sms_row(engine)
        dispatcher = _dispatcher(engine, settings)
        now = utcnow()
        assert dispatcher.run_once(now=now).retried == 1
        first = _row(engine, row_id)
        assert first.status == "pending" and first.due_at > now and "Twilio 429" in first.last_error
        assert dispatcher.run_once(now=now).claimed == 0  # not before its backoff
        assert dispatcher.run_once(now=first.due_at + timedelta(seconds=1)).retried == 1
        assert "Twilio 500" in _row(engine, row_id).last_error
        assert dispatcher.run_once(now=utcnow() + timedelta(hours=2)).sent == 1
    # Three POSTs, one taken; each retry first asked Twilio's list whether an earlier POST got through.
    assert len(api.posts()) == 3 and len(api.sent) == 1
    assert [seen.method for seen in api.requests] == ["POST", "GET", "GET", "POST", "GET", "GET", "POST"]


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_a_permanent_twilio_error_fails_the_row_and_marks_the_number_undeliverable(engine, tmp_path, code):
    with fake_twilio() as api:
        api.answer_messages((400, code))
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        row_id = _sms_row(engine, case=True)
        dispatcher = _dispatcher(engine, settings)
        assert dispatcher.run_once().failed == 1
        row = _row(engine, row_id)
        assert row.status == "failed" and f"Twilio 400 error {code}" in row.last_error
        with Session(engine) as session:
            point = session.exec(select(ContactPoint).where(ContactPoint.value == MOBILE)).one()
            assert point.undeliverable_at is not None and str(code) in point.undeliverable_reason
            assert is_suppressed(session, "sms", MOBILE)
        # The next SMS to that number is never offered to Twilio.
        later = _sms_row(engine, key="sms:2")
        assert dispatcher.run_once().suppressed == 1
        assert _row(engine, later).status == "suppressed"
    assert len(api.requests) == 1


def test_without_twilio_credentials_sms_go_to_the_console_and_nothing_to_the_network(engine, tmp_path, no_network):
    settings = twilio_settings(tmp_path, twilio_account_sid="", twilio_auth_token="")
    channel = SmsChannel.from_settings(settings, engine)
    assert channel.transport == "console"
    row_id = _sms_row(engine)
    assert Dispatcher(engine, settings, {"sms": channel}, worker="t").run_once().sent == 1
    [recorded] = list((settings.var_dir / "sent-sms").glob("*.json"))
    saved = json.loads(recorded.read_text())
    assert saved["to"] == MOBILE and saved["sid"] == _row(engine, row_id).provider_id
    assert no_network == []


def test_status_callbacks_move_a_message_forward_only(engine, tmp_path):
    settings = twilio_settings(tmp_path)
    with running_app(engine, settings) as twilio:
        sid = "SM" + "1" * 32
        for status in ("queued", "delivered", "sent", "queued", "sent"):  # out of order, repeated
            assert twilio.sms_status(sid, status, MOBILE).status_code == 200
        other = "SM" + "2" * 32
        for status in ("sent", "undelivered"):
            twilio.sms_status(other, status, "+447700900999", error=30003)
    with Session(engine) as session:
        rows = {row.message_sid: row for row in session.exec(select(SmsMessage))}
        assert rows[sid].status == "delivered"
        assert (rows[other].status, rows[other].error_code) == ("undelivered", 30003)
        assert is_suppressed(session, "sms", "+447700900999")


def test_segments_are_counted_and_a_curly_quote_makes_ucs2():
    assert count_segments("a" * 160).count == 1 and count_segments("a" * 161).count == 2
    assert count_segments("a" * 306).count == 2 and count_segments("a" * 307).count == 3
    assert count_segments("{" * 80).units == 160  # extension characters take two places
    straight, curly = count_segments("We'll call you " + "x" * 60), count_segments("We’ll call you " + "x" * 60)
    assert (straight.encoding, straight.count) == ("GSM-7", 1)
    assert (curly.encoding, curly.count, curly.non_gsm) == ("UCS-2", 2, ("’",))
    assert count_segments("🙂" * 35).units == 70  # an emoji is two UTF-16 units


# What the writers of SMS rows put in their context (a session's reminder the longest of them).
SMS_CONTEXT = {
    "office": "national",
    "name": "Joanne Pryce",
    "case_reference": "MD-27-ABCD",
    "day": "Wednesday 20 January",
    "time": "10:00",
    "when": "Wednesday 20 January 2027, 10:00 to 12:00",
    "mode": "phone",
    "mode_label": "By phone",
    "where": "0330 006 2835, PIN 123456",
    "offset": "2h",
}


def test_every_sms_template_stays_in_gsm7(engine, tmp_path):
    channel = SmsChannel.from_settings(twilio_settings(tmp_path, twilio_account_sid="", twilio_auth_token=""))
    templates = sorted(path.stem for path in (TEMPLATES / "sms").glob("*.txt"))
    assert templates  # help, started, ...
    for template in templates:
        row = OutboxMessage(idempotency_key=template, channel="sms", to=MOBILE, template=template, context=SMS_CONTEXT)
        shape = count_segments(channel.render(row).body)
        assert shape.encoding == "GSM-7", (template, shape.non_gsm)
