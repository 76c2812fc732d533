"""SMS in: stored by MessageSid, matched like a caller, STOP/START/HELP and the suppression ledger."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from models import case_ops, db
from models.cases import InboxItem, TimelineEvent
from models.outbox import OutboxMessage
from models.outbox_ops import enqueue, is_suppressed
from models.telephony import SmsMessage
from scheduler.dispatch import Dispatcher
from telephony.sms_channel import SmsChannel
from tests.twilio_api_server import fake_twilio
from tests.twilio_webhooks import NATIONAL, running_app, twilio_settings

PARENT = "+447700900123"


@pytest.fixture
def settings(tmp_path):
    return twilio_settings(tmp_path)


def _case_with_phone(engine, phone: str) -> int:
    with db.session_scope(engine) as session:
        case = case_ops.open_case(
            session, service=None, local_authority=None, served=None, region="london", referrer_email=None, draft={}
        )
        case_ops.add_party(session, case.id, case_ops.ensure_contact(session, phone=phone), "parent")
    return case.id


def test_an_sms_from_a_party_lands_on_the_case_once_however_often_twilio_sends_it(engine, settings):
    case_id = _case_with_phone(engine, PARENT)
    with running_app(engine, settings) as twilio:
        for _ in range(3):
            response = twilio.sms("SM" + "1" * 32, "07700 900123", "Can we move Tuesday's session to Thursday?")
            assert response.status_code == 200 and response.text.endswith("<Response />")
    with Session(engine) as session:
        stored = session.exec(select(SmsMessage)).one()
        events = session.exec(select(TimelineEvent).where(TimelineEvent.case_id == case_id)).all()
    assert (stored.from_number, stored.case_id, stored.match, stored.direction) == (PARENT, case_id, "case", "inbound")
    assert [e.summary for e in events] == ["SMS from 07700 900123: Can we move Tuesday's session to Thursday?"]


def test_an_sms_from_an_unknown_number_is_a_triage_item(engine, settings):
    with running_app(engine, settings) as twilio:
        twilio.sms("SM" + "2" * 32, "+447700900555", "hi my daughter has an ehcp in leeds can you help", to=NATIONAL)
    with Session(engine) as session:
        item = session.exec(select(InboxItem)).one()
        stored = session.exec(select(SmsMessage)).one()
    assert (item.kind, item.office, stored.inbox_item_id, stored.match) == ("triage", "national", item.id, "none")
    assert "ehcp in leeds" in item.summary


def test_stop_and_its_synonyms_suppress_the_number_at_once(engine, settings):
    words = ["STOP", "stop", "StopAll", "UNSUBSCRIBE", "cancel", "End", "QUIT", " Stop. "]
    numbers = [f"+4477009001{n:02d}" for n in range(len(words))]
    with running_app(engine, settings) as twilio:
        for n, (word, number) in enumerate(zip(words, numbers, strict=True)):
            twilio.sms(f"SM{n:032d}", number, word)
    with Session(engine) as session:
        assert [number for number in numbers if not is_suppressed(session, "sms", number)] == []
        assert session.exec(select(InboxItem)).all() == []  # nothing for a coordinator to triage
        assert session.exec(select(OutboxMessage)).all() == []  # and no reply to a number that said STOP


def test_a_sentence_with_stop_in_it_is_not_an_opt_out(engine, settings):
    with running_app(engine, settings) as twilio:
        twilio.sms("SM" + "4" * 32, PARENT, "please stop calling my work number, use this one")
    with Session(engine) as session:
        assert not is_suppressed(session, "sms", PARENT)


def test_the_outbox_never_sends_to_a_number_that_said_stop_and_start_lifts_it(engine, tmp_path):
    with fake_twilio() as api:
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        dispatcher = Dispatcher(engine, settings, {"sms": SmsChannel.from_settings(settings, engine)}, worker="w")
        with running_app(engine, settings) as twilio:
            twilio.sms("SM" + "5" * 32, PARENT, "STOP")
            with db.session_scope(engine) as session:
                enqueue(session, key="reminder:1", channel="sms", to=PARENT, template="help", context={})
            assert dispatcher.run_once().suppressed == 1
            assert api.requests == []
            twilio.sms("SM" + "6" * 32, PARENT, "START")
            with Session(engine) as session:
                assert not is_suppressed(session, "sms", PARENT)
            assert dispatcher.run_once().sent == 1  # the confirmation of START
        assert len(api.sent) == 1 and "you will get our texts again" in api.sent[0]["Body"]


def test_help_gets_the_office_contact_details_once(engine, settings):
    with running_app(engine, settings) as twilio:
        twilio.sms("SM" + "7" * 32, PARENT, "HELP", to=NATIONAL)
        twilio.sms("SM" + "7" * 32, PARENT, "HELP", to=NATIONAL)  # Twilio retried the webhook
    channel = SmsChannel.from_settings(settings)
    with Session(engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    body = channel.render(row).body
    assert row.to == PARENT and "call our national office on 0333 006 2835" in body and "Monday to Friday" in body
