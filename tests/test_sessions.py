"""Sessions booked, moved and cancelled: what each party and mediator receives, observed at a real SMTP
server (emails with their .ics) and at a recording SMS channel (reminders), under controlled time."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from inbox.email_channel import EmailChannel
from inbox.transports import SmtpTransport
from models.case_ops import add_party, ensure_contact, open_case
from models.db import session_scope
from models.mediators import add_mediator
from models.outbox import MISSED, PENDING, SENT, WITHDRAWN, OutboxMessage
from models.outbox_ops import suppress
from models.session_ops import SessionRefused, book_session, cancel_session, reschedule_session
from models.settings import Settings
from models.workdays import WorkingDayCalendar
from scheduler.dispatch import Dispatcher
from tests.fake_channels import RecordingSms
from tests.smtp_server import SmtpTestServer

SENDER = "referrals@mediation-desk.example.org"
PARENT, PARENT_MOBILE = "parent@example.net", "+447700900123"
MEDIATOR, MEDIATOR_MOBILE = "mediator@example.org", "+447700900456"
CAL = WorkingDayCalendar()
# Monday 4 January 2027, 09:00 in London (GMT): the session is on Tuesday 19 January, 10:00-12:00.
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
START = datetime(2027, 1, 19, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=2)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, var_dir=tmp_path / "var", mail_from=SENDER)


@pytest.fixture
def case_ref(engine: Engine) -> str:
    with session_scope(engine) as db:
        case = open_case(
            db,
            service="mediation",
            local_authority="Camden",
            served=True,
            region="london",
            referrer_email=PARENT,
            draft={},
        )
        add_party(db, case.id, ensure_contact(db, email=PARENT, phone=PARENT_MOBILE, name="Sam Parent"), "parent")
        return case.reference


@pytest.fixture
def mediator_id(engine: Engine) -> int:
    with session_scope(engine) as db:
        mediator = add_mediator(db, name="Alex Mediator", mobile="07700 900456", email=MEDIATOR, regions=["london"])
        assert mediator.id is not None
        return mediator.id


@pytest.fixture
def sms() -> RecordingSms:
    return RecordingSms()


@pytest.fixture
def dispatcher(engine: Engine, settings: Settings, smtp_server: SmtpTestServer, sms: RecordingSms) -> Dispatcher:
    transport = SmtpTransport(smtp_server.host, smtp_server.port, "none", timeout=5, envelope_from=SENDER)
    return Dispatcher(engine, settings, {"email": EmailChannel(settings, transport), "sms": sms}, worker="test")


def book(engine: Engine, settings: Settings, case_ref: str, mediator_id: int, **kw) -> int:
    args = {"start": START, "end": END, "mode": "in_person", "venue": "1 High Street, London N1 8HX", "now": NOW}
    with session_scope(engine) as db:
        outcome = book_session(
            db,
            case_reference=case_ref,
            mediator_ids=[mediator_id],
            settings=settings,
            calendar=CAL,
            **{**args, **kw},
        )
        assert outcome.session.id is not None
        return outcome.session.id


def invitations(server: SmtpTestServer) -> dict[str, Calendar]:
    """Each recipient's attached calendar, by address."""
    found = {}
    for mail in server.messages:
        [part] = [p for p in mail.message.walk() if p.get_content_type() == "text/calendar"]
        found[mail.rcpt_tos[0]] = Calendar.from_ical(part.get_content())
    return found


def event_of(calendar: Calendar):
    [event] = calendar.walk("VEVENT")
    return event


def reminders(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as db:
        rows = db.exec(select(OutboxMessage).where(OutboxMessage.template == "session_reminder")).all()
        return sorted(rows, key=lambda r: (r.due_at, r.to))


# ---- booking -----------------------------------------------------------------------------------------


def test_booking_emails_the_party_and_the_mediator_an_invitation(
    engine, settings, case_ref, mediator_id, dispatcher, smtp_server
):
    book(engine, settings, case_ref, mediator_id)
    dispatcher.run_once(now=NOW)

    got = invitations(smtp_server)
    assert set(got) == {PARENT, MEDIATOR}
    uids = {str(event_of(c)["uid"]) for c in got.values()}
    assert len(uids) == 1  # one session, one UID
    for calendar in got.values():
        assert str(calendar["method"]) == "REQUEST"
        event = event_of(calendar)
        assert int(event["sequence"]) == 0
        assert event.decoded("dtstart") == START
        assert "1 High Street" in str(event["location"])
    mail = next(m.message for m in smtp_server.messages if m.rcpt_tos == [PARENT])
    assert case_ref in mail["Subject"] and "Tuesday 19 January" in mail["Subject"]
    assert "Tuesday 19 January 2027, 10:00 to 12:00" in mail.get_body(("plain",)).get_content()


def test_reminders_are_planned_at_the_offsets_for_everyone_with_a_mobile(engine, settings, case_ref, mediator_id):
    book(engine, settings, case_ref, mediator_id)
    rows = reminders(engine)
    # 2 working days before Tuesday 19th at 10:00 is Friday 15th at 10:00; 2 hours before is 08:00.
    assert [(r.to, r.due_at) for r in rows] == [
        (PARENT_MOBILE, datetime(2027, 1, 15, 10, 0, tzinfo=UTC)),
        (MEDIATOR_MOBILE, datetime(2027, 1, 15, 10, 0, tzinfo=UTC)),
        (PARENT_MOBILE, datetime(2027, 1, 19, 8, 0, tzinfo=UTC)),
        (MEDIATOR_MOBILE, datetime(2027, 1, 19, 8, 0, tzinfo=UTC)),
    ]
    assert all(r.channel == "sms" and r.status == PENDING for r in rows)
    assert len({r.idempotency_key for r in rows}) == 4
    assert rows[0].idempotency_key.endswith(":sms:2wd@10:00")


def test_booking_twice_the_same_reminder_key_adds_no_row(engine, settings, case_ref, mediator_id):
    """The reminder rows' keys are the idempotency: planning again for the same session is a no-op."""
    from models.cases import Case
    from models.session_ops import Outcome, _plan
    from models.sessions import MediationSession

    session_id = book(engine, settings, case_ref, mediator_id)
    with session_scope(engine) as db:
        item = db.get(MediationSession, session_id)
        case = db.get(Case, item.case_id)
        _plan(db, item, case, settings, CAL, NOW, Outcome(item))
    assert len(reminders(engine)) == 4


def test_a_reminder_whose_time_has_passed_at_booking_is_not_planned(engine, settings, case_ref, mediator_id):
    # Booked on Monday 18th at 12:00 (short notice, agreed): the 2-working-day reminder has gone by.
    now = datetime(2027, 1, 18, 12, 0, tzinfo=UTC)
    book(engine, settings, case_ref, mediator_id, now=now, short_notice_agreed=True)
    assert {r.context["offset"] for r in reminders(engine)} == {"2h"}


def test_a_reminder_in_the_quiet_hours_moves_to_their_edge(engine, settings, case_ref, mediator_id):
    # A 09:30 session: 2 hours before is 07:30, inside 21:00-08:00, so it goes at 08:00.
    start = datetime(2027, 1, 19, 9, 30, tzinfo=UTC)
    book(engine, settings, case_ref, mediator_id, start=start, end=start + timedelta(hours=2))
    assert {r.due_at for r in reminders(engine) if r.context["offset"] == "2h"} == {
        datetime(2027, 1, 19, 8, 0, tzinfo=UTC)
    }


def test_short_notice_is_refused_without_the_parties_agreement_and_warns_with_it(
    engine, settings, case_ref, mediator_id
):
    now = datetime(2027, 1, 14, 9, 0, tzinfo=UTC)  # Thursday: 3 working days before Tuesday 19th
    with pytest.raises(SessionRefused, match="--short-notice-agreed"):
        book(engine, settings, case_ref, mediator_id, now=now)
    with session_scope(engine) as db:
        outcome = book_session(
            db,
            case_reference=case_ref,
            start=START,
            end=END,
            mode="phone",
            dial_in="0800 123 4567, PIN 1234",
            mediator_ids=[mediator_id],
            settings=settings,
            calendar=CAL,
            short_notice_agreed=True,
            now=now,
        )
        assert outcome.warnings and "short notice" in outcome.warnings[0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "video", "venue": None, "link": None}, "needs --link"),
        ({"mode": "video", "venue": None, "link": "http://x.example"}, "https://"),
        ({"mode": "skype"}, "--mode must be one of"),
        ({"end": START - timedelta(minutes=1)}, "end after it starts"),
        ({"start": NOW - timedelta(days=1)}, "has passed"),
    ],
)
def test_bad_bookings_are_refused_with_the_option_to_change(engine, settings, case_ref, mediator_id, changes, message):
    with pytest.raises(SessionRefused, match=message):
        book(engine, settings, case_ref, mediator_id, **changes)


# ---- rescheduling and cancelling ---------------------------------------------------------------------


def test_reschedule_sends_an_update_with_the_same_uid_and_a_higher_sequence_and_replaces_reminders(
    engine, settings, case_ref, mediator_id, dispatcher, smtp_server, sms
):
    session_id = book(engine, settings, case_ref, mediator_id)
    dispatcher.run_once(now=NOW)
    first_uid = str(event_of(invitations(smtp_server)[PARENT])["uid"])
    smtp_server.messages.clear()

    later = datetime(2027, 1, 26, 14, 0, tzinfo=UTC)
    with session_scope(engine) as db:
        outcome = reschedule_session(
            db, session_id, start=later, end=later + timedelta(hours=2), settings=settings, calendar=CAL, now=NOW
        )
        assert outcome.withdrawn == 4
    dispatcher.run_once(now=NOW)
    got = invitations(smtp_server)
    assert set(got) == {PARENT, MEDIATOR}
    event = event_of(got[PARENT])
    assert str(event["uid"]) == first_uid and int(event["sequence"]) == 1
    assert event.decoded("dtstart") == later

    # At the old reminders' times nothing goes; at the new ones, each person once.
    dispatcher.run_once(now=datetime(2027, 1, 15, 10, 0, 5, tzinfo=UTC))
    dispatcher.run_once(now=datetime(2027, 1, 19, 8, 0, 5, tzinfo=UTC))
    assert sms.given == []
    dispatcher.run_once(now=datetime(2027, 1, 22, 10, 0, 5, tzinfo=UTC))  # 2 working days before the 26th
    assert Counter(to for to, _, _ in sms.given) == {PARENT_MOBILE: 1, MEDIATOR_MOBILE: 1}
    statuses = Counter(r.status for r in reminders(engine))
    assert statuses == {WITHDRAWN: 4, SENT: 2, PENDING: 2}


def test_cancel_withdraws_reminders_cancels_the_invitation_and_texts_those_already_reminded(
    engine, settings, case_ref, mediator_id, dispatcher, smtp_server, sms
):
    session_id = book(engine, settings, case_ref, mediator_id)
    dispatcher.run_once(now=datetime(2027, 1, 15, 10, 0, 1, tzinfo=UTC))  # confirmations, first reminders
    assert len(sms.given) == 2
    smtp_server.messages.clear()

    cancel_at = datetime(2027, 1, 18, 9, 0, tzinfo=UTC)
    with session_scope(engine) as db:
        cancel_session(db, session_id, settings=settings, now=cancel_at)
    dispatcher.run_once(now=cancel_at)
    got = invitations(smtp_server)
    assert set(got) == {PARENT, MEDIATOR}
    assert str(got[PARENT]["method"]) == "CANCEL"
    assert str(event_of(got[PARENT])["status"]) == "CANCELLED"
    assert int(event_of(got[PARENT])["sequence"]) == 1
    assert sorted((to, t) for to, t, _ in sms.given[2:]) == [
        (PARENT_MOBILE, "session_cancelled"),
        (MEDIATOR_MOBILE, "session_cancelled"),
    ]

    # The 2-hour reminders never go.
    dispatcher.run_once(now=datetime(2027, 1, 19, 8, 0, 5, tzinfo=UTC))
    assert Counter(t for _, t, _ in sms.given) == {"session_reminder": 2, "session_cancelled": 2}
    with pytest.raises(SessionRefused, match="cancelled"), session_scope(engine) as db:
        cancel_session(db, session_id, settings=settings, now=cancel_at)


# ---- after downtime -----------------------------------------------------------------------------------


def test_after_downtime_a_useful_reminder_goes_at_once_and_a_useless_one_is_missed(
    engine, settings, case_ref, mediator_id, dispatcher, sms
):
    book(engine, settings, case_ref, mediator_id)
    dispatcher.run_once(now=NOW)  # the confirmations
    # Down from Friday 09:00 to Monday 18th: the Friday reminder is still useful (the session is ahead
    # and the 2-hour one not yet due): it goes at once.
    dispatcher.run_once(now=datetime(2027, 1, 18, 7, 0, tzinfo=UTC))
    assert Counter(t for _, t, _ in sms.given) == {"session_reminder": 2}
    # Down again until 10:30 on the day: the 2-hour reminder's session has begun: missed, not sent.
    stats = dispatcher.run_once(now=datetime(2027, 1, 19, 10, 30, tzinfo=UTC))
    assert stats.missed == 2 and len(sms.given) == 2
    assert Counter(r.status for r in reminders(engine)) == {SENT: 2, MISSED: 2}


def test_a_reminder_superseded_by_the_next_one_is_missed(engine, settings, case_ref, mediator_id, dispatcher, sms):
    book(engine, settings, case_ref, mediator_id)
    # Down until 08:30 on the day: both reminders are due; only the closer one is of use.
    dispatcher.run_once(now=datetime(2027, 1, 19, 8, 30, tzinfo=UTC))
    assert Counter((to, ctx["offset"]) for to, _, ctx in sms.given) == {
        (PARENT_MOBILE, "2h"): 1,
        (MEDIATOR_MOBILE, "2h"): 1,
    }


def test_a_reminder_to_a_suppressed_number_is_not_sent(engine, settings, case_ref, mediator_id, dispatcher, sms):
    book(engine, settings, case_ref, mediator_id)
    with session_scope(engine) as db:
        suppress(db, "sms", PARENT_MOBILE, "STOP")
    dispatcher.run_once(now=datetime(2027, 1, 15, 10, 0, 5, tzinfo=UTC))
    assert [to for to, _, _ in sms.given] == [MEDIATOR_MOBILE]


def test_a_reminder_goes_through_the_sms_channel_to_twilio_from_the_cases_office(
    engine, case_ref, mediator_id, tmp_path
):
    """The whole way: booked here, sent by telephony's SMS channel through the Twilio SDK."""
    from scheduler.dispatch import Dispatcher
    from telephony.sms_channel import SmsChannel
    from tests.twilio_api_server import fake_twilio
    from tests.twilio_webhooks import LONDON, twilio_settings

    with fake_twilio() as api:
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        book(engine, settings, case_ref, mediator_id)
        channel = SmsChannel.from_settings(settings, engine)
        Dispatcher(engine, settings, {"sms": channel}, worker="test").run_once(
            now=datetime(2027, 1, 15, 10, tzinfo=UTC)
        )
    texts = {request.form["To"]: request.form for request in api.requests}
    assert set(texts) == {PARENT_MOBILE, MEDIATOR_MOBILE}  # the 2-working-day reminder, to both
    parent = texts[PARENT_MOBILE]
    assert parent["From"] == LONDON  # a London case's reminders come from the London office
    assert "Tuesday 19 January at 10:00" in parent["Body"] and case_ref in parent["Body"]
    assert Counter(r.status for r in reminders(engine)) == {SENT: 2, PENDING: 2}


def test_a_held_session_starts_the_certificate_clock_and_withdraws_what_is_left(
    engine, settings, case_ref, mediator_id
):
    from models.case_clock import all_deadlines
    from models.session_ops import mark_held

    session_id = book(engine, settings, case_ref, mediator_id)
    with pytest.raises(SessionRefused, match="not started"), session_scope(engine) as db:
        mark_held(db, session_id, settings=settings, now=NOW)
    with session_scope(engine) as db:
        outcome = mark_held(db, session_id, settings=settings, now=START + timedelta(hours=2))
        assert outcome.withdrawn == 4  # no dispatcher ran here: all four still pending, now withdrawn
    with Session(engine) as db:
        kinds = {i.deadline.kind: i.deadline for i in all_deadlines(db, CAL, START.date()) if i.reference == case_ref}
    # Held on Tuesday 19 January: the certificate is due Friday 22nd.
    assert kinds["certificate_due"].due == datetime(2027, 1, 22).date()
    assert kinds["mediation_due"].done_on == START.date()


def test_replies_to_reminders_land_on_the_sessions_case_and_in_the_inbox(engine, settings, case_ref, mediator_id):
    """The mediator's "running late" (no party of the case) and a parent's "can we move it"."""
    from starlette.datastructures import ImmutableMultiDict

    from models.cases import Case
    from models.desk import CaseAttention
    from models.telephony import SmsMessage
    from models.types import utcnow
    from telephony.sms_in import receive

    soon = utcnow().replace(microsecond=0) + timedelta(days=1)  # a session tomorrow, booked today
    book(engine, settings, case_ref, mediator_id, start=soon, end=soon + timedelta(hours=2), now=utcnow(),
         short_notice_agreed=True)  # fmt: skip
    with session_scope(engine) as db:
        for n, (sender, body) in enumerate(
            ((MEDIATOR_MOBILE, "Running 10 min late"), (PARENT_MOBILE, "Can we move it?"))
        ):
            receive(db, f"SM{n:032x}", ImmutableMultiDict({"From": sender, "To": "+442073593635", "Body": body}),
                    settings=settings)  # fmt: skip
    with Session(engine) as db:
        case_id = db.exec(select(Case.id).where(Case.reference == case_ref)).one()
        matched = db.exec(select(SmsMessage.match, SmsMessage.case_id).order_by(SmsMessage.id)).all()
        assert matched == [("case", case_id), ("case", case_id)]  # neither went to triage
        assert db.exec(select(CaseAttention.case_id)).all() == [case_id]  # the case waits in the inbox
