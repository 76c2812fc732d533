"""The mediators page over real uvicorn, and the CLI's edit/deactivate/reactivate: the office adds a
mediator and gets their private calendar feed once; edits (a new mobile takes the reminders not yet
sent); deactivation is refused while a session lies ahead and takes the mediator off the booking form;
a new feed address retires the old one. Every change is audited and CSRF-checked; refusals are sentences."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from models.case_ops import add_party, ensure_contact, open_case
from models.db import make_engine, session_scope, upgrade
from models.mediators import add_mediator
from models.outbox import PENDING, SENT, OutboxMessage
from models.session_ops import book_session, cancel_session
from models.sessions import Mediator
from models.settings import Settings
from models.staff import AuditEvent
from models.types import utcnow
from models.workdays import WorkingDayCalendar
from tests.cli import run_main
from tests.desk import csrf_of, signed_in
from tests.webserver import serve
from web.app import create_app

PARENT = "parent@example.net"


@pytest.fixture
def client(engine, web_settings):
    with signed_in(engine, web_settings) as client:
        yield client


def form(client: httpx.Client, path: str, **fields: str | list[str]) -> dict[str, str | list[str]]:
    return {"csrf_token": csrf_of(client, path), **fields}


def a_case_with_a_session(engine, settings, mediator_id: int, *, days: int = 30) -> tuple[str, int]:
    with session_scope(engine) as db:
        case = open_case(
            db, service="mediation", local_authority="Camden", served=True, region="london",
            referrer_email=PARENT, draft={},
        )  # fmt: skip
        add_party(db, case.id, ensure_contact(db, email=PARENT, phone="+447700900123", name="Sam Parent"), "parent")
        start = utcnow() + timedelta(days=days)
        booked = book_session(
            db, case_reference=case.reference, start=start, end=start + timedelta(hours=2), mode="phone",
            dial_in="0800 000 0000 pin 1234", mediator_ids=[mediator_id], settings=settings,
            calendar=WorkingDayCalendar(),
        )  # fmt: skip
        assert booked.session.id is not None
        return case.reference, booked.session.id


def audit_actions(engine, mediator_id: int) -> list[tuple[str, str]]:
    with Session(engine) as db:
        rows = db.exec(
            select(AuditEvent).where(AuditEvent.entity == "mediator", AuditEvent.entity_id == str(mediator_id))
        )
        return [(r.action, r.actor) for r in rows.all()]


def test_adding_a_mediator_shows_their_calendar_feed_once_and_lists_them(client, engine):
    fields = {"name": "Alex  Mediator", "mobile": "07700 900456", "email": "Alex@Example.org", "regions": ["london"]}
    added = client.post("/mediators", data=form(client, "/mediators", **fields))
    assert added.status_code == 201
    with Session(engine) as db:
        [mediator] = db.exec(select(Mediator)).all()
    assert (mediator.name, mediator.mobile, mediator.email, mediator.regions) == (
        "Alex Mediator", "+447700900456", "alex@example.org", ["london"],
    )  # fmt: skip
    feed = f"/calendar/{mediator.calendar_token}.ics"
    assert feed in added.text and "shown this once" in added.text
    listing = client.get("/mediators")
    assert "Alex Mediator" in listing.text and mediator.calendar_token not in listing.text
    assert client.get(feed).status_code == 200
    assert audit_actions(engine, mediator.id) == [("mediator.added", "coord@example.org")]


def test_a_bad_mobile_is_refused_in_a_sentence_and_the_form_keeps_what_was_typed(client, engine):
    fields = {"name": "Alex Mediator", "mobile": "12345", "email": "alex@example.org", "regions": ["london"]}
    refused = client.post("/mediators", data=form(client, "/mediators", **fields))
    assert refused.status_code == 422
    assert "is not a valid phone number; give it as +447700900123" in refused.text.replace("&#39;", "'")
    assert 'value="alex@example.org"' in refused.text
    with Session(engine) as db:
        assert db.exec(select(Mediator)).all() == []


def test_a_change_without_its_form_token_is_refused(client, engine):
    fields = {"name": "Alex Mediator", "mobile": "07700 900456", "email": "alex@example.org"}
    assert client.post("/mediators", data=fields).status_code == 403
    with Session(engine) as db:
        assert db.exec(select(Mediator)).all() == []


def test_the_page_needs_sign_in(engine, web_settings):
    with serve(create_app(engine, settings=web_settings)) as base:
        anonymous = httpx.get(f"{base}/mediators", follow_redirects=False)
    assert anonymous.status_code in (303, 307, 401) and "/login" in anonymous.headers.get("location", "/login")


def test_a_new_mobile_takes_the_reminders_not_yet_sent(client, engine, settings):
    with session_scope(engine) as db:
        mediator_id = add_mediator(db, name="Alex", mobile="07700 900456", email="a@example.org", regions=["london"]).id
    a_case_with_a_session(engine, settings, mediator_id)
    with session_scope(engine) as db:  # one of the mediator's reminders already went
        rows = db.exec(select(OutboxMessage).where(OutboxMessage.to == "+447700900456")).all()
        assert len(rows) >= 2
        rows[0].status = SENT
        db.add(rows[0])
        sent_id = rows[0].id
    fields = {"name": "Alex", "mobile": "+44 7700 900999", "email": "a@example.org", "regions": ["london", "national"]}
    edited = client.post(f"/mediators/{mediator_id}", data=form(client, f"/mediators/{mediator_id}", **fields))
    assert edited.status_code == 303 and "+447700900999" in client.get(edited.headers["location"]).text
    with Session(engine) as db:
        reminders = db.exec(select(OutboxMessage).where(OutboxMessage.template == "session_reminder")).all()
        mine = [r for r in reminders if ":m" in r.idempotency_key]
        assert {r.to for r in mine if r.id == sent_id} == {"+447700900456"}
        assert {r.to for r in mine if r.status == PENDING} == {"+447700900999"}
        parents = [r for r in reminders if ":c" in r.idempotency_key]
        assert parents and {r.to for r in parents} == {"+447700900123"}
    assert [action for action, _ in audit_actions(engine, mediator_id)] == ["mediator.added", "mediator.edited"]


def test_deactivating_is_refused_while_a_session_lies_ahead_then_takes_them_off_the_booking_form(
    client, engine, settings
):
    with session_scope(engine) as db:
        mediator_id = add_mediator(db, name="Alex", mobile="07700 900456", email="a@example.org", regions=["london"]).id
    reference, session_id = a_case_with_a_session(engine, settings, mediator_id)
    path = f"/mediators/{mediator_id}"
    refused = client.post(f"{path}/active", data=form(client, path, active="no"))
    assert refused.status_code == 409
    assert "1 session(s) ahead" in refused.text and reference in refused.text
    with session_scope(engine) as db:
        cancel_session(db, session_id, settings=settings)
    assert client.post(f"{path}/active", data=form(client, path, active="no")).status_code == 303
    case_page = client.get(f"/cases/{reference}").text
    assert not re.search(rf'name="mediator"[^>]*value="{mediator_id}"', case_page)
    assert "Inactive" in client.get("/mediators").text
    assert client.post(f"{path}/active", data=form(client, path, active="yes")).status_code == 303
    assert re.search(rf'name="mediator"[^>]*value="{mediator_id}"', client.get(f"/cases/{reference}").text)
    actions = [action for action, _ in audit_actions(engine, mediator_id)]
    assert actions == ["mediator.added", "mediator.deactivated", "mediator.reactivated"]


def test_a_new_calendar_feed_address_retires_the_old_one(client, engine):
    with session_scope(engine) as db:
        mediator = add_mediator(db, name="Alex", mobile="07700 900456", email="a@example.org", regions=["london"])
        mediator_id, old = mediator.id, f"/calendar/{mediator.calendar_token}.ics"
    path = f"/mediators/{mediator_id}"
    made = client.post(f"{path}/calendar", data=form(client, path))
    assert made.status_code == 200
    new = re.search(r"/calendar/[\w-]+\.ics", made.text).group(0)  # type: ignore[union-attr]
    assert new != old
    assert client.get(old).status_code == 404 and client.get(new).status_code == 200
    assert new not in client.get(path).text  # shown once


def test_edit_deactivate_and_reactivate_from_the_cli(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'mdesk.sqlite3'}")
    upgrade(engine)
    settings = Settings(_env_file=None, var_dir=tmp_path, mail_from="referrals@mediation-desk.example.org")
    with session_scope(engine) as db:
        mediator_id = add_mediator(db, name="Alex", mobile="07700 900456", email="a@example.org", regions=["london"]).id
    _, session_id = a_case_with_a_session(engine, settings, mediator_id)
    env = {"MDESK_VAR_DIR": str(tmp_path)}

    edited = run_main("mediators", "edit", str(mediator_id), "--mobile", "07700 900999", settings=env)
    assert edited.returncode == 0, edited.stderr
    bad = run_main("mediators", "edit", str(mediator_id), "--email", "not an address", settings=env)
    assert bad.returncode == 1 and bad.stderr.strip() == "'not an address' is not an email address"
    refused = run_main("mediators", "deactivate", str(mediator_id), settings=env)
    assert refused.returncode == 1 and "session(s) ahead" in refused.stderr and "Traceback" not in refused.stderr
    with session_scope(engine) as db:
        cancel_session(db, session_id, settings=settings)
    assert run_main("mediators", "deactivate", str(mediator_id), settings=env).returncode == 0
    unknown = run_main("mediators", "reactivate", "99", settings=env)
    assert unknown.returncode == 1 and "no mediator 99" in unknown.stderr
    assert run_main("mediators", "reactivate", str(mediator_id), settings=env).returncode == 0
    with Session(engine) as db:
        mediator = db.get(Mediator, mediator_id)
        assert mediator is not None and (mediator.mobile, mediator.email, mediator.active) == (
            "+447700900999", "a@example.org", True,
        )  # fmt: skip
