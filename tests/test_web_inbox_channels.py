"""The inbox shows what the other channels make: call-backs owed, voicemails and SMS to place, and the
statutory deadlines due within 2 working days or overdue, most urgent first (real uvicorn, signed in)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from models.case_actions import change_status
from models.case_ops import open_case, open_inbox_item
from models.cases import Case
from models.db import session_scope
from models.types import utcnow
from models.workdays import WorkingDayCalendar
from telephony.callback_tasks import note_missed_call
from tests.deadlines_computed import deadlines_due
from tests.desk import signed_in


@pytest.fixture
def client(engine, web_settings):
    with signed_in(engine, web_settings) as client:
        yield client


def new_case(engine, service: str, opened_days_ago: int, region: str = "london") -> str:
    with session_scope(engine) as db:
        case = open_case(
            db, service=service, local_authority="Camden", served=True, region=region,
            referrer_email=f"{service}{opened_days_ago}@example.net", draft={},
        )  # fmt: skip
        db.execute(update(Case).where(Case.id == case.id).values(created_at=utcnow() - timedelta(days=opened_days_ago)))
        return case.reference


def test_call_backs_voicemails_and_sms_to_place_are_in_the_inbox(engine, client):
    with session_scope(engine) as db:
        note_missed_call(
            db, office="london", number="+447700900123", call_sid="CA1", case_id=None, voicemail=True,
            calendar=WorkingDayCalendar(), now=utcnow(),
        )  # fmt: skip
        open_inbox_item(db, kind="triage", summary="SMS from 07700 900777: can we move Tuesday?", office="london")
        open_inbox_item(
            db, kind="unknown_caller", summary="Call from 07700 900888 to the London office", office="london"
        )
    page = client.get("/inbox").text
    assert "Call back" in page and "07700 900123" in page
    assert "can we move Tuesday?" in page and "Unknown caller" in page
    assert page.index("Call back") < page.index("can we move Tuesday?")  # a call-back owed comes first


def test_deadlines_due_soon_or_overdue_are_listed_most_urgent_first(engine, client):
    late = new_case(engine, "certificate", 30)  # a certificate due within 3 working days of the request
    later = new_case(engine, "certificate", 10)
    fresh = new_case(engine, "mediation", 0)  # nothing due for weeks
    page = client.get("/inbox").text  # at once: stored when the cases were opened
    assert "Statutory deadlines due or overdue" in page
    listed = page[page.index('id="due-h"') : page.index('id="worklist"')]
    assert late in listed and later in listed and fresh not in listed
    assert listed.index(late) < listed.index(later)  # the longest overdue first
    assert "Overdue" in listed and "Certificate due" in listed
    national = client.get("/inbox?office=national").text
    assert late not in national.split('id="worklist"')[0]


def test_a_certificate_due_in_two_working_days_is_listed_and_one_due_later_is_not(engine):
    monday = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    with session_scope(engine) as db:
        for days in (0, 3):
            case = open_case(
                db, service="certificate", local_authority="Camden", served=True, region="london",
                referrer_email=f"c{days}@example.net", draft={},
            )  # fmt: skip
            db.execute(update(Case).where(Case.id == case.id).values(created_at=monday + timedelta(days=days)))
    with Session(engine) as db:
        found = deadlines_due(db, WorkingDayCalendar(), date(2027, 3, 2))  # Tuesday
    assert [(d.label, d.due, d.days_left, d.overdue) for d in found] == [
        ("Certificate due", date(2027, 3, 4), 2, False)  # asked Monday: 3 working days, due Thursday
    ]


def test_a_deadline_leaves_the_inbox_when_its_case_closes_and_returns_when_reopened(engine, client):
    late = new_case(engine, "certificate", 30)
    assert late in client.get("/inbox").text.split('id="worklist"')[0]
    with session_scope(engine) as db:
        case_id = db.exec(select(Case.id).where(Case.reference == late)).one()
        change_status(db, case_id, "coordinator@example.org", "closed")
    assert late not in client.get("/inbox").text.split('id="worklist"')[0]  # no wait for a refresh
    with session_scope(engine) as db:
        change_status(db, case_id, "coordinator@example.org", "in_progress")
    assert late in client.get("/inbox").text.split('id="worklist"')[0]
