"""The statutory clock on stored cases (deadlines, the 08:00 digest, the certificate's last-day alert),
certificates observed at a real SMTP server, the reminder plan's rules, the calendar feed and the JSON API
over real uvicorn."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from inbox.email_channel import EmailChannel
from inbox.transports import SmtpTransport
from models.case_clock import all_deadlines, enqueue_certificate_alerts, enqueue_digests, record_event
from models.case_ops import add_party, ensure_contact, open_case
from models.certificates import CertificateRefused, issue_certificate
from models.db import session_scope
from models.mediators import add_mediator
from models.outbox import OutboxMessage
from models.reminder_plan import parse_offsets, parse_quiet_hours, plan_reminders
from models.session_ops import book_session
from models.settings import Settings
from models.staff import StaffUser
from models.workdays import WorkingDayCalendar
from scheduler.dispatch import Dispatcher
from scheduler.jobs import deadline_scan_job, in_digest_window
from tests.desk import add_staff, csrf_of, sign_in
from tests.smtp_server import SmtpTestServer
from tests.webserver import serve
from web.app import create_app

SENDER = "referrals@mediation-desk.example.org"
PARENT = "parent@example.net"
COORDINATOR = "coordinator@mediation-desk.example.org"
CAL = WorkingDayCalendar()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, var_dir=tmp_path / "var", mail_from=SENDER)


def new_case(engine: Engine, *, service: str, contact_on: datetime, region: str = "london") -> tuple[int, str]:
    with session_scope(engine) as db:
        case = open_case(
            db,
            service=service,
            local_authority="Camden",
            served=True,
            region=region,
            referrer_email=PARENT,
            draft={},
        )
        add_party(db, case.id, ensure_contact(db, email=PARENT, phone="+447700900123", name="Sam Parent"), "parent")
        record_event(db, case.id, "contact", contact_on.date())
        db.add(StaffUser(email=COORDINATOR, name="Coordinator", password_hash="x", office=region))
        return case.id, case.reference


def outbox(engine: Engine, template: str) -> list[OutboxMessage]:
    with Session(engine) as db:
        return list(db.exec(select(OutboxMessage).where(OutboxMessage.template == template)).all())


# ---- deadlines, digest, alert -------------------------------------------------------------------------


def test_a_certificate_request_is_due_in_3_working_days_and_alerts_on_its_last_day(engine):
    # Requested Tuesday 22 December 2026: due Tuesday 29th (Christmas, the weekend, Boxing Day observed).
    _, reference = new_case(engine, service="certificate", contact_on=datetime(2026, 12, 22, 11, tzinfo=UTC))
    with Session(engine) as db:
        [item] = [i for i in all_deadlines(db, CAL, date(2026, 12, 23)) if i.reference == reference]
    assert item.as_dict() | {"rule": "-"} == {
        "reference": reference,
        "kind": "certificate_due",
        "label": "Certificate due",
        "due": "2026-12-29",
        "working_days_left": 2,
        "status": "open",
        "starts": "2026-12-22",
        "done_on": None,
        "rule": "-",
    }
    with session_scope(engine) as db:
        assert enqueue_certificate_alerts(db, CAL, now=datetime(2026, 12, 24, 9, tzinfo=UTC)) == []
    for _ in range(2):  # the scan runs every 5 minutes: one alert all the same
        with session_scope(engine) as db:
            enqueue_certificate_alerts(db, CAL, now=datetime(2026, 12, 29, 8, 5, tzinfo=UTC))
    [alert] = outbox(engine, "certificate_last_day")
    assert alert.to == COORDINATOR and alert.context["case_reference"] == reference


def test_the_digest_lists_what_falls_due_within_2_working_days_and_what_is_overdue_once_a_day(engine):
    _, soon = new_case(engine, service="certificate", contact_on=datetime(2027, 1, 11, 10, tzinfo=UTC))
    with session_scope(engine) as db:
        late_case = open_case(
            db,
            service="certificate",
            local_authority="Kent",
            served=True,
            region="london",
            referrer_email="x@e.org",
            draft={},
        )
        record_event(db, late_case.id, "contact", date(2027, 1, 4))
    now = datetime(2027, 1, 12, 8, 0, tzinfo=UTC)  # Tuesday: `soon` due Thursday 14th, the other was due the 7th
    for _ in range(2):
        with session_scope(engine) as db:
            enqueue_digests(db, CAL, now=now)
    [digest] = outbox(engine, "deadline_digest")
    assert digest.to == COORDINATOR
    assert [(d["reference"], d["working_days_left"]) for d in digest.context["due_soon"]] == [(soon, 2)]
    assert [(d["reference"], d["working_days_left"]) for d in digest.context["overdue"]] == [(late_case.reference, -3)]
    with session_scope(engine) as db:  # Saturday: no digest
        assert enqueue_digests(db, CAL, now=datetime(2027, 1, 16, 8, 0, tzinfo=UTC)) == []


def test_a_digest_missed_at_08_00_is_written_by_the_next_scan_within_the_morning(engine, settings):
    new_case(engine, service="certificate", contact_on=datetime(2027, 1, 11, 10, tzinfo=UTC))
    assert not in_digest_window(datetime(2027, 1, 12, 7, 59, tzinfo=UTC), settings)
    deadline_scan_job(engine, settings, CAL, now=datetime(2027, 1, 12, 7, 59, tzinfo=UTC))
    assert outbox(engine, "deadline_digest") == []
    deadline_scan_job(engine, settings, CAL, now=datetime(2027, 1, 12, 9, 30, tzinfo=UTC))  # back up at 09:30
    deadline_scan_job(engine, settings, CAL, now=datetime(2027, 1, 12, 9, 35, tzinfo=UTC))
    assert len(outbox(engine, "deadline_digest")) == 1
    deadline_scan_job(engine, settings, CAL, now=datetime(2027, 1, 13, 13, 0, tzinfo=UTC))  # too late for the 13th's
    assert len(outbox(engine, "deadline_digest")) == 1


# ---- certificates ------------------------------------------------------------------------------------


def test_a_certificate_without_mediation_is_emailed_as_a_pdf_and_meets_its_deadline(
    engine, settings, smtp_server: SmtpTestServer
):
    case_id, reference = new_case(engine, service="certificate", contact_on=datetime(2027, 1, 11, 10, tzinfo=UTC))
    with session_scope(engine) as db:
        issued = issue_certificate(
            db, reference, settings=settings, calendar=CAL, now=datetime(2027, 1, 13, 15, tzinfo=UTC)
        )
    assert (issued.issued_on, issued.mediation_took_place, issued.status) == (date(2027, 1, 13), False, "met")
    transport = SmtpTransport(smtp_server.host, smtp_server.port, "none", timeout=5, envelope_from=SENDER)
    Dispatcher(engine, settings, {"email": EmailChannel(settings, transport)}, worker="t").run_once()
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == [PARENT] and reference in mail.message["Subject"]
    [pdf] = [p for p in mail.message.walk() if p.get_content_type() == "application/pdf"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
    for words in (reference, "Camden", "Sam Parent", "13 January 2027", "does not wish to pursue it"):
        assert words in " ".join(text.split())
    with Session(engine) as db:
        [certificate] = [i for i in all_deadlines(db, CAL, date(2027, 1, 20)) if i.case_id == case_id]
    assert (certificate.deadline.status, certificate.deadline.done_on) == ("met", date(2027, 1, 13))
    with pytest.raises(CertificateRefused, match=r"issued .* on 2027-01-13"), session_scope(engine) as db:
        issue_certificate(db, reference, settings=settings, calendar=CAL)


def test_a_certificate_after_mediation_says_so_and_a_late_one_shows_missed(engine, settings):
    case_id, reference = new_case(engine, service="mediation", contact_on=datetime(2027, 1, 4, 10, tzinfo=UTC))
    with session_scope(engine) as db:
        record_event(db, case_id, "mediation_held", date(2027, 1, 18))
    with session_scope(engine) as db:
        issued = issue_certificate(
            db, reference, settings=settings, calendar=CAL, now=datetime(2027, 1, 22, 10, tzinfo=UTC)
        )
    assert (issued.mediation_took_place, issued.status) == (True, "missed")  # due Thursday 21st
    [row] = outbox(engine, "certificate_issued")
    assert row.context["mediation_took_place"] is True and row.context["held_on"] == "18 January 2027"


# ---- the reminder plan's rules (pure) ---------------------------------------------------------------------


def test_a_reminder_in_the_quiet_hours_goes_the_evening_before_when_the_morning_edge_is_too_late():
    start = datetime(2027, 1, 19, 7, 45, tzinfo=UTC)  # an early session: 2 hours before is 05:45
    [early, two_hours] = plan_reminders(
        start,
        now=datetime(2027, 1, 4, tzinfo=UTC),
        offsets=parse_offsets("2wd@10:00,2h"),
        quiet=parse_quiet_hours("21:00-08:00"),
        calendar=CAL,
    )
    assert two_hours.due_at == datetime(2027, 1, 18, 20, 59, tzinfo=UTC)
    assert early.expires_at == two_hours.due_at and two_hours.expires_at == start


def test_quiet_hours_off_and_times_in_british_summer_time():
    start = datetime(2027, 6, 15, 8, 30, tzinfo=UTC)  # 09:30 in London (BST)
    planned = plan_reminders(
        start, now=datetime(2027, 6, 1, tzinfo=UTC), offsets=parse_offsets("1d@18:00,30m"), quiet=None, calendar=CAL
    )
    assert [p.due_at for p in planned] == [
        datetime(2027, 6, 14, 17, 0, tzinfo=UTC),
        datetime(2027, 6, 15, 8, 0, tzinfo=UTC),
    ]


@pytest.mark.parametrize("text", ["2x", "2h@10:00", "wd@10:00", "2wd@25:00"])
def test_bad_offsets_are_refused(text):
    with pytest.raises(ValueError):
        parse_offsets(text)


def test_bad_settings_are_one_line_naming_the_setting(tmp_path):
    from tests.cli import run_main

    result = run_main("sessions", "list", settings={"MDESK_VAR_DIR": str(tmp_path), "MDESK_SMS_QUIET_HOURS": "9pm"})
    assert result.returncode == 2
    assert "MDESK_SMS_QUIET_HOURS" in result.stderr and "Traceback" not in result.stderr


# ---- the feed and the API over real uvicorn ----------------------------------------------------------------


def test_the_calendar_feed_lists_the_mediators_sessions_and_a_new_link_revokes_the_old(engine, settings):
    from models.mediators import revoke_calendar_token

    _, reference = new_case(engine, service="mediation", contact_on=datetime(2027, 1, 4, 10, tzinfo=UTC))
    with session_scope(engine) as db:
        mediator = add_mediator(db, name="Alex", mobile="+447700900456", email="m@example.org", regions=["london"])
        token, mediator_id = mediator.calendar_token, mediator.id
    start = datetime(2027, 1, 19, 10, tzinfo=UTC)
    with session_scope(engine) as db:
        book_session(
            db,
            case_reference=reference,
            start=start,
            end=start + timedelta(hours=2),
            mode="video",
            link="https://meet.example.org/x",
            mediator_ids=[mediator_id],
            settings=settings,
            calendar=CAL,
            now=datetime(2027, 1, 4, 9, tzinfo=UTC),
        )
    web_settings = settings.model_copy(update={"cookie_secure": False})  # plain http on loopback
    with serve(create_app(engine, settings=web_settings)) as base:
        feed = httpx.get(f"{base}/calendar/{token}.ics")
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        [event] = Calendar.from_ical(feed.text).walk("VEVENT")
        assert event.decoded("dtstart") == start and "meet.example.org" in str(event["location"])
        assert PARENT not in feed.text  # the feed lists times and places, not the families
        assert httpx.get(f"{base}/api/sessions").status_code == 401  # the API is behind sign-in
        add_staff(engine)
        client, _ = sign_in(base)
        csrf = csrf_of(client)
        sessions = client.get("/api/sessions").json()
        assert [(s["case_reference"], len(s["reminders"])) for s in sessions] == [(reference, 4)]
        refused = client.post(
            "/api/sessions",
            headers={"X-CSRF-Token": csrf},
            json={
                "case_reference": reference,
                "start": "2027-01-20T10:00",
                "end": "2027-01-20T09:00",
                "mode": "video",
                "link": "https://x.example",
                "mediators": [mediator_id],
            },
        )
        assert refused.status_code == 422 and "end after it starts" in refused.json()["detail"]
        with session_scope(engine) as db:
            revoke_calendar_token(db, mediator_id)
        assert httpx.get(f"{base}/calendar/{token}.ics").status_code == 404
