"""Calls to the two offices, end to end: real uvicorn on loopback, Twilio's webhooks signed as Twilio
signs them, the TwiML a caller would hear, and the call log, timeline, inbox and call-back tasks a
coordinator would see."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from models import case_ops, db
from models.case_status import CLOSED
from models.cases import Case, InboxItem, TimelineEvent
from models.telephony import Call, CallbackTask
from tests.twilio_webhooks import LONDON, NATIONAL, PUBLIC, running_app, twilio_settings

# Thursday 3 December 2026, 11:00 in London (GMT): the London office is open.
OPEN = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)
EVENING = datetime(2026, 12, 3, 18, 30, tzinfo=UTC)
BOXING_DAY_OBSERVED = datetime(2026, 12, 28, 11, 0, tzinfo=UTC)  # Monday: Boxing Day (substitute day)
PARENT = "+447700900123"


def _case_with_phone(engine, phone: str, status: str = "new") -> tuple[int, str]:
    with db.session_scope(engine) as session:
        case = case_ops.open_case(
            session,
            service="mediation",
            local_authority="Camden",
            served=True,
            region="london",
            referrer_email=None,
            draft={},
        )
        contact = case_ops.ensure_contact(session, phone=phone, name="A parent")
        case_ops.add_party(session, case.id, contact, "parent")
        if status != "new":
            session.get(Case, case.id).status = status
    return case.id, case.reference


def _call(engine, sid: str) -> Call:
    with Session(engine) as session:
        return session.exec(select(Call).where(Call.call_sid == sid)).one()


def _timeline(engine, case_id: int) -> list[str]:
    with Session(engine) as session:
        events = session.exec(select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.id))
        return [f"{e.kind}: {e.summary}" for e in events if e.kind in ("call", "callback")]


def _xml(response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.text)


@pytest.fixture
def settings(tmp_path):
    return twilio_settings(tmp_path)


def test_an_answered_call_in_office_hours_is_put_through_and_logged_on_the_case(engine, settings):
    case_id, _ = _case_with_phone(engine, PARENT)
    with running_app(engine, settings, at=OPEN) as twilio:
        twiml = _xml(twilio.call("CA" + "1" * 32, PARENT))
        say, dial = twiml[0], twiml[1]
        assert say.tag == "Say" and "London office" in say.text and say.get("language") == "en-GB"
        assert dial.tag == "Dial" and dial.get("timeout") == "20" and dial.get("callerId") == PARENT
        assert dial.get("action") == f"{PUBLIC}/twilio/voice/dial?office=london"
        assert [n.text for n in dial.findall("Number")] == ["+442079460001"]
        hang_up = _xml(twilio.dial_action("CA" + "1" * 32, "completed", duration=95))
        assert [el.tag for el in hang_up] == ["Hangup"]
        twilio.status("CA" + "1" * 32, PARENT, duration=101)
    call = _call(engine, "CA" + "1" * 32)
    assert (call.outcome, call.office, call.from_number, call.duration_seconds) == ("answered", "london", PARENT, 101)
    assert call.case_id == case_id and call.match == "case" and call.recording_state == "none"
    assert _timeline(engine, case_id) == ["call: Call from 07700 900123 to the London office: answered, 101 s"]
    with Session(engine) as session:
        assert session.exec(select(CallbackTask)).all() == []


def test_a_missed_call_then_a_voicemail_makes_one_callback_task_due_next_working_day(engine, settings):
    sid = "CA" + "2" * 32
    with running_app(engine, settings, at=OPEN) as twilio:
        twilio.call(sid, "07700 900456")  # as a person might have typed it: still one number
        twiml = _xml(twilio.dial_action(sid, "no-answer"))
        say, record = twiml[0], twiml[1]
        assert "nobody in the London office can take your call" in say.text
        assert record.tag == "Record" and record.get("transcribe") == "true"
        assert record.get("maxLength") == "180"
        assert record.get("recordingStatusCallback") == f"{PUBLIC}/twilio/voice/recording"
        assert record.get("transcribeCallback") == f"{PUBLIC}/twilio/voice/transcription"
        bye = _xml(twilio.recorded(sid, "RE" + "2" * 32, 34))
        assert bye[0].tag == "Say" and bye[-1].tag == "Hangup"
        twilio.status(sid, "07700 900456", duration=60)
        twilio.recording(sid, "RE" + "2" * 32, 34)
        twilio.transcription(sid, "RE" + "2" * 32, "hello its about my son in camden please ring me back")
    call = _call(engine, sid)
    assert (call.outcome, call.recording_state, call.recording_seconds) == ("voicemail", "pending", 34)
    assert call.transcript == "hello its about my son in camden please ring me back"
    with Session(engine) as session:
        task = session.exec(select(CallbackTask)).one()
        # Thursday -> the end of Friday 4 December (17:00 in London, GMT).
        assert task.due_at == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
        assert (task.office, task.number, task.calls, task.voicemails) == ("london", "+447700900456", 1, 1)
        items = {item.kind: item for item in session.exec(select(InboxItem))}
        assert items["callback"].summary == "Call back 07700 900456 (London office) by Fri 4 Dec, 5.00pm"
        # No case has the number: a coordinator's triage item, showing the voicemail's words.
        assert "ring me back" in items["unknown_caller"].summary


def test_out_of_hours_and_at_the_weekend_the_caller_hears_the_office_hours_and_can_leave_a_message(engine, settings):
    for at, sid in ((EVENING, "CA" + "3" * 32), (SATURDAY, "CA" + "4" * 32)):
        with running_app(engine, settings, at=at) as twilio:
            twiml = _xml(twilio.call(sid, PARENT, to=NATIONAL))
        assert [el.tag for el in twiml] == ["Say", "Record", "Say"]
        assert "national office" in twiml[0].text and "Monday to Friday, 9.30am to 5pm" in twiml[0].text
        assert twiml[1].get("action") == f"{PUBLIC}/twilio/voice/recorded?office=national"
        assert _call(engine, sid).after_hours


def test_on_a_bank_holiday_the_office_is_closed_and_says_why(engine, settings):
    with running_app(engine, settings, at=BOXING_DAY_OBSERVED) as twilio:
        twiml = _xml(twilio.call("CA" + "5" * 32, PARENT))
        assert [el.tag for el in twiml] == ["Say", "Record", "Say"]
        assert "closed today for Boxing Day" in twiml[0].text
        twilio.status("CA" + "5" * 32, PARENT, duration=12)
    with Session(engine) as session:
        task = session.exec(select(CallbackTask)).one()
    # Monday 28th (a bank holiday) -> the next working day is Tuesday 29th.
    assert task.due_at == datetime(2026, 12, 29, 17, 0, tzinfo=UTC)
    assert _call(engine, "CA" + "5" * 32).outcome == "missed"


def test_a_withheld_number_is_logged_as_withheld_and_its_voicemail_reaches_triage(engine, settings):
    sid = "CA" + "6" * 32
    with running_app(engine, settings, at=OPEN) as twilio:
        dial = _xml(twilio.call(sid, "anonymous"))[1]
        assert dial.get("callerId") is None  # nothing to pass through
        twilio.dial_action(sid, "no-answer")
        twilio.recording(sid, "RE" + "6" * 32, 20)
        twilio.status(sid, "anonymous", duration=40)
        twilio.transcription(sid, "RE" + "6" * 32, "its jo from leeds about the tribunal")
    call = _call(engine, sid)
    assert (call.withheld, call.from_number, call.match, call.outcome) == (True, None, "withheld", "voicemail")
    with Session(engine) as session:
        assert session.exec(select(CallbackTask)).all() == []  # nobody to ring back
        item = session.exec(select(InboxItem)).one()
    assert item.kind == "triage" and "withheld number" in item.summary and "leeds" in item.summary


def test_repeated_and_reordered_callbacks_change_nothing(engine, settings):
    case_id, _ = _case_with_phone(engine, PARENT)
    sid, rec = "CA" + "7" * 32, "RE" + "7" * 32
    with running_app(engine, settings, at=OPEN) as twilio:
        # The final status and the recording overtake the voice webhook and the <Dial> action.
        for _ in range(2):
            twilio.transcription(sid, rec, "please call me back")
            twilio.status(sid, PARENT, duration=70)
            twilio.recording(sid, rec, 30)
            twilio.call(sid, PARENT)
            twilio.dial_action(sid, "no-answer")
            twilio.recorded(sid, rec, 30)
    call = _call(engine, sid)
    assert (call.outcome, call.duration_seconds, call.from_number, call.office) == ("voicemail", 70, PARENT, "london")
    assert _timeline(engine, case_id) == [
        "callback: Call back 07700 900123 (London office) by Fri 4 Dec, 5.00pm",
        "call: Call from 07700 900123 to the London office: voicemail left, 70 s",
        "call: Voicemail from 07700 900123 to the London office: please call me back",
    ]
    with Session(engine) as session:
        assert session.exec(select(CallbackTask)).one().calls == 1


def test_a_recording_after_the_call_was_settled_as_missed_counts_as_its_voicemail(engine, settings):
    sid = "CA" + "f" * 32
    with running_app(engine, settings, at=EVENING) as twilio:
        twilio.call(sid, PARENT)
        twilio.status(sid, PARENT, duration=50)  # out of hours: settled, missed
        assert _call(engine, sid).outcome == "missed"
        twilio.recording(sid, "RE" + "f" * 32, 20)
        twilio.recording(sid, "RE" + "f" * 32, 20)
    with Session(engine) as session:
        task = session.exec(select(CallbackTask)).one()
    assert (_call(engine, sid).outcome, task.calls, task.voicemails) == ("voicemail", 1, 1)


def test_a_status_callback_before_the_dial_action_does_not_make_an_answered_call_missed(engine, settings):
    sid = "CA" + "8" * 32
    with running_app(engine, settings, at=OPEN) as twilio:
        twilio.call(sid, PARENT)
        twilio.status(sid, PARENT, duration=300)
        assert _call(engine, sid).outcome == "missed"  # what the facts so far say...
        twilio.dial_action(sid, "completed", duration=290)
    assert _call(engine, sid).outcome == "answered"  # ...and the <Dial> action settles it
    with Session(engine) as session:
        assert session.exec(select(CallbackTask)).all() == []


def test_five_missed_calls_are_one_task_and_a_later_answered_call_closes_it(engine, settings):
    with running_app(engine, settings, at=OPEN) as twilio:
        for n in range(5):
            sid = f"CA{n:032d}"
            twilio.call(sid, PARENT)
            twilio.dial_action(sid, "no-answer")
            twilio.status(sid, PARENT, duration=25)
        with Session(engine) as session:
            task = session.exec(select(CallbackTask)).one()
            assert (task.calls, task.status) == (5, "open")
        twilio.call("CA" + "9" * 32, PARENT)
        twilio.dial_action("CA" + "9" * 32, "completed", duration=200)
    with Session(engine) as session:
        task = session.exec(select(CallbackTask)).one()
        assert (task.status, task.closed_by_call_sid, task.open_key) == ("done", "CA" + "9" * 32, None)
        callback_items = session.exec(select(InboxItem).where(InboxItem.kind == "callback")).all()
        assert [item.status for item in callback_items] == ["done"]
        # No case has the number: one triage item for the caller, however often they rang.
        [unknown] = session.exec(select(InboxItem).where(InboxItem.kind == "unknown_caller")).all()
        assert unknown.summary.count("Called again") == 5


def test_a_number_on_one_open_case_beats_its_closed_cases_and_several_open_cases_go_to_triage(engine, settings):
    open_id, _ = _case_with_phone(engine, PARENT)
    _case_with_phone(engine, PARENT, status=CLOSED)
    _, ref_a = _case_with_phone(engine, "+447700900777")
    _, ref_b = _case_with_phone(engine, "+447700900777")
    closed_only, _ = _case_with_phone(engine, "+447700900888", status=CLOSED)
    with running_app(engine, settings, at=OPEN) as twilio:
        twilio.call("CA" + "a" * 32, "+44 7700 900123")
        twilio.call("CA" + "b" * 32, "+447700900777")
        twilio.call("CA" + "c" * 32, "+447700900888")
    assert _call(engine, "CA" + "a" * 32).case_id == open_id
    assert _call(engine, "CA" + "c" * 32).case_id == closed_only
    several = _call(engine, "CA" + "b" * 32)
    assert (several.match, several.case_id) == ("several", None)
    with Session(engine) as session:
        item = session.get(InboxItem, several.inbox_item_id)
    assert item.kind == "unknown_caller" and ref_a in item.summary and ref_b in item.summary


def test_forged_requests_get_403_and_the_log_has_no_body(engine, settings, caplog):
    caplog.set_level(logging.DEBUG, logger="mdesk.telephony")
    with running_app(engine, settings, at=OPEN) as twilio:
        params = {"CallSid": "CA" + "d" * 32, "From": PARENT, "To": LONDON, "CallStatus": "ringing"}
        missing = twilio.post("/twilio/voice", params, signature=None)
        wrong = twilio.post("/twilio/voice", params, signature="bm90IGEgc2lnbmF0dXJl")
        # Signed for the loopback address the app listens on, not the public one Twilio uses.
        loopback = twilio.post(
            "/twilio/voice", params, signature=twilio.validator.compute_signature(twilio.base + "/twilio/voice", params)
        )
        # A valid signature with one parameter changed on the way.
        tampered = twilio.post(
            "/twilio/sms",
            {"MessageSid": "SM1", "From": PARENT, "Body": "hi"},
            signature=twilio.sign("/twilio/sms", {"MessageSid": "SM1", "From": PARENT, "Body": "bye"}),
        )
        huge = twilio.post("/twilio/sms", {"MessageSid": "SM2", "Body": "x" * 100_000})
    assert [r.status_code for r in (missing, wrong, loopback, tampered, huge)] == [403, 403, 403, 403, 413]
    assert missing.json() == {"detail": "missing X-Twilio-Signature"}
    assert wrong.json() == {"detail": "wrong X-Twilio-Signature"}
    with Session(engine) as session:
        assert session.exec(select(Call)).all() == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "refused: missing signature" in logged and "/twilio/voice" in logged
    assert "7700" not in logged and "hi" not in logged.split()


def test_a_replayed_request_is_answered_and_changes_nothing(engine, settings):
    case_id, _ = _case_with_phone(engine, PARENT)
    with running_app(engine, settings, at=OPEN) as twilio:
        first = twilio.call("CA" + "e" * 32, PARENT)
        replay = twilio.call("CA" + "e" * 32, PARENT)
        twilio.dial_action("CA" + "e" * 32, "no-answer")
        twilio.dial_action("CA" + "e" * 32, "no-answer")
        twilio.status("CA" + "e" * 32, PARENT, duration=5)
        twilio.status("CA" + "e" * 32, PARENT, duration=5)
    assert first.text == replay.text
    with Session(engine) as session:
        assert len(session.exec(select(Call)).all()) == 1
        assert [item.kind for item in session.exec(select(InboxItem))] == ["callback"]
    assert _timeline(engine, case_id) == [
        "callback: Call back 07700 900123 (London office) by Fri 4 Dec, 5.00pm",
        "call: Call from 07700 900123 to the London office: missed, 5 s",
    ]
