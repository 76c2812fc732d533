"""A reminder is never sent twice: a row whose worker died after Twilio took its SMS and before the
outbox recorded it is found in Twilio's message list (the real SDK against the local Twilio-like
server) and recorded sent with that MessageSid, with no second POST; a row Twilio never got is sent
once; a lookup that fails is retried, never sent blind."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlmodel import Session, select

from models import db
from models.outbox import OutboxMessage
from models.outbox_claims import DEFAULT_LEASE, claim_due
from models.outbox_ops import enqueue
from models.telephony import SmsMessage
from models.types import utcnow
from scheduler.dispatch import Dispatcher
from telephony.sms_channel import CLOCK_SKEW, SmsChannel
from tests.twilio_api_server import fake_twilio
from tests.twilio_webhooks import ACCOUNT, LONDON, twilio_settings

MOBILE = "+447700900123"
SERVICE = "MG" + "1" * 32


def _row(engine, key: str = "sms:1") -> int:
    with db.session_scope(engine) as session:
        row = enqueue(session, key=key, channel="sms", to=MOBILE, template="help", context={"office": "london"})
        return row.id


def _load(engine, row_id: int) -> OutboxMessage:
    with Session(engine) as session:
        return session.get(OutboxMessage, row_id)


def _died_mid_send(engine, settings, row_id: int, *, twilio_took_it: bool) -> None:
    """A worker claims the row and dies: after Twilio took the SMS (before anything was recorded), or before."""
    assert claim_due(engine, worker="dead", now=utcnow()) == [row_id]
    if twilio_took_it:
        SmsChannel.from_settings(settings).send(_load(engine, row_id))  # no engine: nothing of ours recorded


def _after_the_lease():
    return utcnow() + DEFAULT_LEASE + timedelta(seconds=1)


def _dispatcher(engine, settings) -> Dispatcher:
    return Dispatcher(engine, settings, {"sms": SmsChannel.from_settings(settings, engine)}, worker="alive")


def _lookups(api) -> list[dict[str, list[str]]]:
    return [
        parse_qs(urlsplit(seen.path).query)
        for seen in api.requests
        if seen.method == "GET" and urlsplit(seen.path).path.endswith("/Messages.json")
    ]


def test_a_row_twilio_took_before_its_worker_died_is_recorded_sent_with_that_sid_and_not_posted_again(engine, tmp_path):
    with fake_twilio() as api:
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        row_id = _row(engine)
        _died_mid_send(engine, settings, row_id, twilio_took_it=True)
        [taken] = api.sent
        stats = _dispatcher(engine, settings).run_once(now=_after_the_lease())
    assert (stats.claimed, stats.sent) == (1, 1)
    assert len(api.posts()) == 1  # the dead worker's, and no second
    [lookup] = _lookups(api)  # found among those sent: no need to read the queued ones
    assert lookup["To"] == [MOBILE] and lookup["From"] == [LONDON]
    row = _load(engine, row_id)
    # From shortly before the row could first have gone (Twilio narrows by day; the time is checked by us).
    since = max(row.created_at, row.due_at) - CLOCK_SKEW
    assert lookup["DateSent>"] == [since.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert (row.status, row.provider_id, row.last_error) == ("sent", taken["sid"], None)
    with Session(engine) as session:
        stored = session.exec(select(SmsMessage)).one()
    # As a normal send leaves it: the SMS by its MessageSid, tied to the row, for status callbacks.
    assert (stored.message_sid, stored.direction, stored.outbox_id, stored.to_number, stored.office) == (
        taken["sid"],
        "outbound",
        row_id,
        MOBILE,
        "london",
    )
    assert stored.body == taken["Body"]


def test_a_lapsed_row_twilio_never_got_is_sent_once_and_lookalikes_are_not_taken_for_it(engine, tmp_path):
    with fake_twilio() as api:
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        row_id = _row(engine)
        body = SmsChannel.from_settings(settings).render(_load(engine, row_id)).body
        created = _load(engine, row_id).created_at
        # Same text, same number, same office, but before this row existed (an earlier row's): not this one.
        api.add_message(to=MOBILE, from_=LONDON, body=body, at=created - timedelta(minutes=10), account=ACCOUNT)
        earlier = created - timedelta(minutes=5)
        api.add_message(to=MOBILE, from_=LONDON, body=body, at=earlier, account=ACCOUNT, sent=False)  # queued
        # Same text now, but to another number, or from the other office; and another text to this number.
        api.add_message(to="+447700900999", from_=LONDON, body=body, at=utcnow(), account=ACCOUNT)
        api.add_message(to=MOBILE, from_="+441612345678", body=body, at=utcnow(), account=ACCOUNT)
        api.add_message(to=MOBILE, from_=LONDON, body=body + " (edited)", at=utcnow(), account=ACCOUNT)
        _died_mid_send(engine, settings, row_id, twilio_took_it=False)
        stats = _dispatcher(engine, settings).run_once(now=_after_the_lease())
    assert (stats.claimed, stats.sent) == (1, 1)
    dated, undated = _lookups(api)  # it looked first: sent messages, then any still queued
    assert "DateSent>" in dated and "DateSent>" not in undated
    [post] = api.posts()
    assert post.form["To"] == MOBILE and post.form["Body"] == body
    row = _load(engine, row_id)
    assert (row.status, row.provider_id) == ("sent", api.sent[0]["sid"])


def test_a_lookup_that_fails_is_retried_not_sent_blind_and_then_finds_the_sms(engine, tmp_path):
    with fake_twilio() as api:
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        row_id = _row(engine)
        _died_mid_send(engine, settings, row_id, twilio_took_it=True)
        api.answer_lists(500)
        dispatcher = _dispatcher(engine, settings)
        first = dispatcher.run_once(now=_after_the_lease())
        assert (first.retried, first.sent) == (1, 0)
        row = _load(engine, row_id)
        assert row.status == "pending" and "looking up" in (row.last_error or "")
        assert len(api.posts()) == 1  # not sent blind
        second = dispatcher.run_once(now=row.due_at + timedelta(seconds=1))
    assert second.sent == 1
    assert len(api.posts()) == 1  # found after the retry: still one SMS
    assert len(_lookups(api)) == 2
    row = _load(engine, row_id)
    assert (row.status, row.provider_id) == ("sent", api.sent[0]["sid"])


def test_an_sms_whose_answer_from_twilio_was_lost_is_found_by_the_retry_not_sent_again(engine, tmp_path):
    with fake_twilio() as api:
        api.on_taken = lambda form: True  # Twilio takes it; the connection drops before its answer
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        row_id = _row(engine)
        dispatcher = _dispatcher(engine, settings)
        assert dispatcher.run_once().retried == 1
        api.on_taken = None
        stats = dispatcher.run_once(now=_load(engine, row_id).due_at + timedelta(seconds=1))
    assert stats.sent == 1 and len(api.posts()) == 1
    assert _load(engine, row_id).provider_id == api.sent[0]["sid"]


def test_an_sms_twilio_took_and_still_holds_queued_is_found(engine, tmp_path):
    with fake_twilio() as api:
        api.send_at_once = False  # a burst's backlog: taken, not yet sent, no date_sent
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        row_id = _row(engine)
        _died_mid_send(engine, settings, row_id, twilio_took_it=True)
        stats = _dispatcher(engine, settings).run_once(now=_after_the_lease())
    assert stats.sent == 1 and len(api.posts()) == 1
    assert len(_lookups(api)) == 2  # not among those sent; found among the newest, undated
    assert _load(engine, row_id).provider_id == api.sent[0]["sid"]


def test_the_sms_is_found_on_a_later_page_of_twilio_s_list(engine, tmp_path):
    with fake_twilio() as api:
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        row_id = _row(engine)
        _died_mid_send(engine, settings, row_id, twilio_took_it=True)
        for n in range(60):  # newer messages to the same number push ours past the first page of 50
            api.add_message(to=MOBILE, from_=LONDON, body=f"other {n}", at=utcnow(), account=ACCOUNT)
        stats = _dispatcher(engine, settings).run_once(now=_after_the_lease())
    assert stats.sent == 1 and len(api.posts()) == 1
    lookups = _lookups(api)
    assert len(lookups) == 2 and lookups[1]["PageToken"][0].startswith("PA")
    assert _load(engine, row_id).provider_id == api.sent[0]["sid"]


def test_with_a_messaging_service_the_sms_is_found_by_the_service(engine, tmp_path):
    with fake_twilio() as api:
        settings = twilio_settings(tmp_path, twilio_api_url=api.base, twilio_messaging_service_sid=SERVICE)
        row_id = _row(engine)
        _died_mid_send(engine, settings, row_id, twilio_took_it=True)
        stats = _dispatcher(engine, settings).run_once(now=_after_the_lease())
    assert stats.sent == 1 and len(api.posts()) == 1
    [lookup] = _lookups(api)
    assert "From" not in lookup  # Twilio picks the service's sender: matched on the service instead
    assert _load(engine, row_id).provider_id == api.sent[0]["sid"]


def test_the_console_transport_cannot_tell_and_sends_the_lapsed_row(engine, tmp_path):
    settings = twilio_settings(tmp_path, twilio_account_sid="", twilio_auth_token="")
    row_id = _row(engine)
    _died_mid_send(engine, settings, row_id, twilio_took_it=False)
    stats = _dispatcher(engine, settings).run_once(now=_after_the_lease())
    assert stats.sent == 1
    assert len(list((settings.var_dir / "sent-sms").glob("*.json"))) == 1
