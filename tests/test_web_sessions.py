"""Sessions, deadlines and calls on the case page over real uvicorn: book, move, cancel, record the
outcome and issue the certificate through the page's forms (each audited, CSRF-checked, a refusal a
plain sentence); the statutory deadlines with working days left; a voicemail's recording and transcript."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from models.case_ops import add_party, add_timeline, ensure_contact, open_case
from models.cases import Case
from models.db import session_scope
from models.mediators import add_mediator
from models.outbox import PENDING, WITHDRAWN, OutboxMessage
from models.sessions import HELD, CaseEvent, MediationSession
from models.staff import AuditEvent
from models.telephony import REC_STORED, VOICEMAIL, Call
from models.types import utcnow
from models.workdays import LONDON
from tests.desk import csrf_of, signed_in

PARENT, PARENT_MOBILE = "parent@example.net", "+447700900123"


@pytest.fixture
def reference(engine) -> str:
    with session_scope(engine) as db:
        case = open_case(
            db, service="mediation", local_authority="Camden", served=True, region="london",
            referrer_email=PARENT, draft={},
        )  # fmt: skip
        add_party(db, case.id, ensure_contact(db, email=PARENT, phone=PARENT_MOBILE, name="Sam Parent"), "parent")
        add_mediator(db, name="Alex Mediator", mobile="07700 900456", email="alex@example.org", regions=["london"])
        return case.reference


@pytest.fixture
def client(engine, web_settings, reference):
    with signed_in(engine, web_settings) as client:
        yield client


def local_input(days: int, hour: int) -> str:
    day = (datetime.now(LONDON) + timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:00"


def booking(client: httpx.Client, reference: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf_of(client, f"/cases/{reference}"),
        "start": local_input(21, 10),
        "end": local_input(21, 12),
        "mode": "video",
        "link": "https://meet.example.org/room-1",
        "mediator": "1",
    }
    return {**form, **changes}


def only_session(engine) -> MediationSession:
    with Session(engine) as db:
        [item] = db.exec(select(MediationSession)).all()
        return item


def actions_of(engine) -> list[str]:
    with Session(engine) as db:
        return [a.action for a in db.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def test_booking_from_the_case_page_shows_the_session_and_its_planned_reminders(engine, client, reference):
    response = client.post(f"/cases/{reference}/sessions", data=booking(client, reference))
    assert response.status_code == 303 and response.headers["location"].endswith("#sessions")
    page = client.get(f"/cases/{reference}").text
    item = only_session(engine)
    assert item.status == "scheduled" and item.booked_by == "coord@example.org"
    assert item.start_at.astimezone(LONDON).hour == 10  # the form's time is UK time
    assert "By video" in page and "https://meet.example.org/room-1" in page and "Alex Mediator" in page
    assert "Reminders (SMS)" in page
    assert page.count(PARENT_MOBILE) >= 2 and page.count("+447700900456") >= 2  # two offsets each
    assert "Pending" in page
    assert "session.booked" in actions_of(engine)


def test_short_notice_is_refused_with_a_sentence_and_booked_once_agreed(engine, client, reference):
    soon = booking(client, reference, start=local_input(1, 15), end=local_input(1, 16))
    refused = client.post(f"/cases/{reference}/sessions", data=soon)
    assert refused.status_code == 409
    assert "The parties agreed to short notice" in refused.text and "--short-notice" not in refused.text
    assert "Under 5 working days" in refused.text
    assert 'value="https://meet.example.org/room-1"' in refused.text  # what was typed is kept
    assert re.search(r'id="book-mediator-1"[^>]*checked', refused.text)
    with Session(engine) as db:
        assert db.exec(select(MediationSession)).all() == []
    agreed = client.post(f"/cases/{reference}/sessions", data={**soon, "short_notice_agreed": "yes"})
    assert agreed.status_code == 303
    assert "Short notice, agreed by the parties" in client.get(f"/cases/{reference}").text


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"start": "next tuesday"}, "Give the session&#39;s start as a date and a time."),
        ({"link": "http://meet.example.org/x"}, "The video link must start with https://"),
        ({"mode": "phone"}, "A phone session needs the dial-in details"),
        ({"mediator": ""}, "Choose at least one mediator"),
        ({"end": local_input(21, 9)}, "The session must end after it starts"),
    ],
)
def test_bad_bookings_are_answered_in_words_a_coordinator_understands(client, reference, changes, said):
    refused = client.post(f"/cases/{reference}/sessions", data=booking(client, reference, **changes))
    assert refused.status_code == 409
    assert said in refused.text
    assert "--" not in re.search(r'role="alert"><p>(.*?)</p>', refused.text).group(1)  # type: ignore[union-attr]


def test_move_cancel_and_a_form_without_its_token(engine, client, reference):
    client.post(f"/cases/{reference}/sessions", data=booking(client, reference))
    item = only_session(engine)
    token = csrf_of(client, f"/cases/{reference}")
    no_token = client.post(f"/cases/{reference}/sessions/{item.id}/cancel")
    assert no_token.status_code == 403 and only_session(engine).status == "scheduled"
    moved = client.post(
        f"/cases/{reference}/sessions/{item.id}/reschedule",
        data={"csrf_token": token, "start": local_input(28, 14), "end": local_input(28, 15)},
    )
    assert moved.status_code == 303
    after = only_session(engine)
    assert after.sequence == 1 and after.start_at.astimezone(LONDON).hour == 14
    with Session(engine) as db:
        keys = {
            r.idempotency_key: r.status
            for r in db.exec(select(OutboxMessage)).all()
            if "reminder:" in r.idempotency_key
        }
    assert {s for k, s in keys.items() if ":v0:" in k} == {WITHDRAWN}
    assert {s for k, s in keys.items() if ":v1:" in k} == {PENDING}
    cancelled = client.post(f"/cases/{reference}/sessions/{item.id}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303
    page = client.get(f"/cases/{reference}").text
    assert only_session(engine).status == "cancelled" and "Cancelled" in page
    again = client.post(f"/cases/{reference}/sessions/{item.id}/cancel", data={"csrf_token": token})
    assert again.status_code == 409 and "is cancelled" in again.text
    assert {"session.rescheduled", "session.cancelled"} <= set(actions_of(engine))


def test_recording_the_outcome_marks_the_session_held_and_meets_the_mediation_deadline(engine, client, reference):
    client.post(f"/cases/{reference}/sessions", data=booking(client, reference))
    item = only_session(engine)
    token = csrf_of(client, f"/cases/{reference}")
    early = client.post(
        f"/cases/{reference}/sessions/{item.id}/outcome", data={"csrf_token": token, "outcome": "agreement"}
    )
    assert early.status_code == 409 and "has not started yet" in early.text
    with session_scope(engine) as db:  # the session's day comes: it started an hour ago
        start = utcnow() - timedelta(hours=1)
        db.execute(update(MediationSession).values(start_at=start, end_at=start + timedelta(minutes=50)))
    page = client.get(f"/cases/{reference}").text
    assert "Record: session held" in page
    done = client.post(
        f"/cases/{reference}/sessions/{item.id}/outcome", data={"csrf_token": token, "outcome": "agreement"}
    )
    assert done.status_code == 303
    held = only_session(engine)
    assert held.status == HELD and held.outcome == "agreement"
    with Session(engine) as db:
        assert [e.kind for e in db.exec(select(CaseEvent)).all()] == ["mediation_held"]
        assert {r.status for r in db.exec(select(OutboxMessage)).all() if "reminder:" in r.idempotency_key} <= {
            WITHDRAWN, "sent", "missed",
        }  # fmt: skip
    page = client.get(f"/cases/{reference}").text
    assert "Agreement reached" in page
    deadlines = page[page.index('id="deadlines"') : page.index('id="sessions"')]
    assert "Mediation due by" in deadlines and "Met" in deadlines
    assert "session.outcome_recorded" in actions_of(engine)


def test_deadlines_show_working_days_left_and_the_certificate_is_issued_once(engine, client, reference):
    page = client.get(f"/cases/{reference}").text
    deadlines = page[page.index('id="deadlines"') : page.index('id="sessions"')]
    assert "Working days left" in deadlines and "Mediation due by" in deadlines and "Open" in deadlines
    token = csrf_of(client, f"/cases/{reference}")
    issued = client.post(f"/cases/{reference}/certificate", data={"csrf_token": token})
    assert issued.status_code == 303
    page = client.get(f"/cases/{reference}").text
    assert "Mediation certificate issued on" in page and "Issue the mediation certificate" not in page
    with Session(engine) as db:
        [mail] = [r for r in db.exec(select(OutboxMessage)).all() if r.template == "certificate_issued"]
    assert mail.to == PARENT
    again = client.post(f"/cases/{reference}/certificate", data={"csrf_token": token})
    assert again.status_code == 409 and "was issued" in again.text
    assert "certificate.issued" in actions_of(engine)


def test_a_voicemail_plays_from_storage_as_a_sandboxed_download_with_its_transcript(
    engine, client, reference, web_settings
):
    relative = "recordings/2026/12/RE1.mp3"
    stored = web_settings.var_dir / relative
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"ID3\x03\x00fake mp3 frames")
    with session_scope(engine) as db:
        case_id = db.exec(select(Case.id).where(Case.reference == reference)).one()
        call = Call(
            call_sid="CA1", from_number=PARENT_MOBILE, outcome=VOICEMAIL, case_id=case_id,
            recording_state=REC_STORED, recording_path=relative, transcript="Please call me back about Tuesday",
        )  # fmt: skip
        db.add(call)
        db.flush()
        said = "Voicemail (12 s) from 07700 900123 to the London office; transcript to follow"
        add_timeline(db, case_id, "call", said, data={"call_sid": "CA1", "what": "voicemail", "outcome": VOICEMAIL})
        call_id = call.id
    page = client.get(f"/cases/{reference}").text
    assert f'<audio controls preload="none" src="/cases/{reference}/calls/{call_id}/recording"' in page
    assert "Please call me back about Tuesday" in page
    audio = client.get(f"/cases/{reference}/calls/{call_id}/recording")
    assert audio.status_code == 200 and audio.content == b"ID3\x03\x00fake mp3 frames"
    assert audio.headers["content-type"] == "audio/mpeg"
    assert audio.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in audio.headers["content-security-policy"]
    assert client.get(f"/cases/OTHER-1/calls/{call_id}/recording").status_code == 404
    with session_scope(engine) as db:
        add_timeline(db, case_id, "sms", "Running 10 minutes late, sorry", data={"message_sid": "SM1"})
    page = client.get(f"/cases/{reference}").text
    assert '<span class="tag tag-sms">SMS</span>' in page and "Running 10 minutes late, sorry" in page
    assert "recording.played" in actions_of(engine)


def figures_of(page: str) -> dict[str, str]:
    section = page[page.index('id="sessions-report-h"') : page.index('id="chart-h"')]
    held = re.search(r'id="sessions-held">(\d+)<', section).group(1)  # type: ignore[union-attr]
    rate = re.search(r'id="agreement-rate">([^<]+)<', section).group(1)  # type: ignore[union-attr]
    headline = re.search(r'id="headline"><strong>([^<]+)<', section).group(1)  # type: ignore[union-attr]
    return {"held": held, "rate": rate, "headline": headline}


def test_the_report_counts_sessions_held_outcomes_and_the_headline(engine, client, reference):
    assert figures_of(client.get("/reports").text) == {"held": "0", "rate": "–", "headline": "–"}
    client.post(f"/cases/{reference}/sessions", data=booking(client, reference))
    item = only_session(engine)
    with session_scope(engine) as db:
        start = utcnow() - timedelta(hours=2)
        db.execute(update(MediationSession).values(start_at=start, end_at=start + timedelta(hours=1)))
    token = csrf_of(client, f"/cases/{reference}")
    client.post(f"/cases/{reference}/sessions/{item.id}/outcome", data={"csrf_token": token, "outcome": "no_agreement"})
    page = client.get("/reports").text
    assert figures_of(page) == {"held": "1", "rate": "0%", "headline": "0%"}
    assert "Median days from referral to first session" in page and "(1 case)" in page
    assert "Statutory deadlines met" in page
    by_la = page[page.index('id="sessions-by-la"') :]
    assert re.search(r"<th scope=\"row\">Camden</th><td>1</td><td>0%</td>", by_la)
    csv_text = client.get("/reports", params={"format": "sessions-csv"}).text.splitlines()
    assert csv_text[0].startswith("local_authority,sessions_held,agreement,partial_agreement,no_agreement")
    assert csv_text[1].startswith("All,1,0,0,1,0.0,1,0,0.0,") and csv_text[2].startswith("Camden,1,")
    other_la = client.get("/reports", params={"la": "Barnet"}).text
    assert figures_of(other_la)["held"] == "0"
