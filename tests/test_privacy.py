"""Data protection: a person's export holds what we have on them; an anonymised closed case keeps
nothing that names anyone and still counts; the retention job anonymises only what is due."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from inbox.intake import Intake
from inbox.sources.base import MessageKey, SourceMessage
from models.case_status import CLOSED
from models.cases import Case, TimelineEvent
from models.contacts import Contact, ContactPoint
from models.db import session_scope
from models.mail import InboundMessage, StoredAttachment
from models.outbox import OutboxMessage
from models.privacy import PrivacyRefused, anonymise_case, person_export, run_retention
from models.raw_mail import load_raw
from models.staff import AuditEvent
from models.types import utcnow
from tests import mailfactory
from tests.desk import add_staff, csrf_of, sign_in
from tests.webserver import serve
from web.app import create_app

_uids = iter(range(1, 10_000))


@pytest.fixture
def intake(engine, settings) -> Intake:
    return Intake(engine, settings.model_copy(update={"read_timeout_seconds": 0}))


def deliver(intake: Intake, raw: bytes) -> None:
    intake.handle(SourceMessage(MessageKey("imap://t@localhost/INBOX", 1, str(next(_uids))), raw))


def close_all(engine, *, closed_ago: timedelta = timedelta(0)) -> None:
    with session_scope(engine) as session:
        session.exec(update(Case).values(status=CLOSED, updated_at=utcnow() - closed_ago))


def test_a_persons_export_holds_their_cases_messages_and_what_we_sent(engine, intake):
    deliver(intake, mailfactory.with_attachment(1000))
    with Session(engine) as session:
        document = person_export(session, email="Joanne.Pryce@example.com")
        with pytest.raises(PrivacyRefused):
            person_export(session, email="stranger@example.com")
    json.dumps(document, default=str)  # one JSON document
    assert document["contact"]["name"] == "Joanne Pryce"
    assert {p["value"] for p in document["contact_points"]} == {"joanne.pryce@example.com", "+447700900418"}
    assert {c["role"] for c in document["cases"]} == {"referrer", "parent"}
    assert "EHC plan from Camden" in document["messages_received_from"][0]["raw"]
    assert document["messages_sent_to"][0]["template"] == "acknowledgement"


def test_anonymising_a_closed_case_leaves_nothing_that_names_anyone(engine, intake):
    deliver(intake, mailfactory.with_attachment(1000))
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
    with session_scope(engine) as session, pytest.raises(PrivacyRefused):
        anonymise_case(session, case.id, actor="t")  # still open
    close_all(engine)
    with session_scope(engine) as session:
        anonymise_case(session, case.id, actor="admin@example.org")
    with Session(engine) as session:
        after = session.get(Case, case.id)
        assert after is not None and after.reference == case.reference and after.service == "mediation"
        assert after.referrer_email is None and "child_name" not in after.draft
        assert all(e.summary == "(removed)" for e in session.exec(select(TimelineEvent)))
        messages = session.exec(select(InboundMessage)).all()
        assert messages and all(m.sender_email is None for m in messages)
        assert [load_raw(session, m.id) for m in messages] == [None] * len(messages)  # the bytes deleted
        assert session.exec(select(StoredAttachment)).all() == []
        assert session.exec(select(ContactPoint)).all() == []
        assert [c.name for c in session.exec(select(Contact))] == [""]
        assert [o.to for o in session.exec(select(OutboxMessage))] == ["(removed)"]
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "case.anonymised")).one()
        assert audit.actor == "admin@example.org"
        dump = " ".join(str(v) for row in session.exec(select(Case)) for v in row.model_dump().values())
        assert "Pryce" not in dump and "Elliot" not in dump


def test_the_retention_job_anonymises_closed_cases_past_the_years_only(engine, intake):
    deliver(intake, mailfactory.referral())
    deliver(intake, mailfactory.referral(sender="Other Parent <other@example.com>"))
    with Session(engine) as session:
        old, recent = session.exec(select(Case).order_by(Case.id)).all()
    close_all(engine, closed_ago=timedelta(days=365 * 6 + 10))
    with session_scope(engine) as session:
        session.exec(update(Case).where(Case.id == recent.id).values(updated_at=utcnow() - timedelta(days=365 * 5)))
    with session_scope(engine) as session:
        assert run_retention(session, years=6) == 1
    with session_scope(engine) as session:
        assert run_retention(session, years=6) == 0  # done once
    with Session(engine) as session:
        assert session.get(Case, old.id).referrer_email is None
        assert session.get(Case, recent.id).referrer_email == "other@example.com"


def test_admins_export_and_anonymise_from_the_case_page(engine, intake, settings):
    deliver(intake, mailfactory.referral())
    add_staff(engine, "admin@example.org", role="admin", name="Ada Min")
    add_staff(engine)
    close_all(engine)
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        contact = session.exec(select(Contact)).one()
    with serve(create_app(engine, settings=settings.model_copy(update={"cookie_secure": False}))) as base:
        coordinator, _ = sign_in(base)
        assert coordinator.get(f"/people/{contact.id}/export").status_code == 403
        token = csrf_of(coordinator)
        assert coordinator.post(f"/cases/{case.reference}/anonymise", data={"csrf_token": token}).status_code == 403
        admin, _ = sign_in(base, "admin@example.org")
        export = admin.get(f"/people/{contact.id}/export")
        assert export.headers["content-disposition"].startswith("attachment")
        assert export.json()["contact"]["name"] == "Joanne Pryce"
        done = admin.post(f"/cases/{case.reference}/anonymise", data={"csrf_token": csrf_of(admin)})
        assert done.status_code == 303
        assert "Joanne" not in admin.get(f"/cases/{case.reference}").text
