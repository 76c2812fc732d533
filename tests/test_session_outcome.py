"""A held session's outcome, recorded from the CLI as an operator runs it (main.py in a subprocess):
the session held with its outcome, its pending reminders withdrawn, mediation held on the case's clock;
a session not started yet, or an unknown outcome, refused in one line."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from models.case_ops import add_party, ensure_contact, open_case
from models.db import make_engine, session_scope, upgrade
from models.mediators import add_mediator
from models.outbox import PENDING, WITHDRAWN, OutboxMessage
from models.session_ops import book_session
from models.sessions import CaseEvent
from models.settings import Settings
from models.types import utcnow
from models.workdays import WorkingDayCalendar
from tests.cli import run_main


def test_the_outcome_from_the_cli(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'mdesk.sqlite3'}")
    upgrade(engine)
    settings = Settings(_env_file=None, var_dir=tmp_path, mail_from="referrals@mediation-desk.example.org")
    booked_at = utcnow() - timedelta(days=20)
    with session_scope(engine) as db:
        case = open_case(
            db, service="mediation", local_authority="Camden", served=True, region="london",
            referrer_email="p@example.net", draft={},
        )  # fmt: skip
        add_party(db, case.id, ensure_contact(db, email="p@example.net", phone="+447700900123", name="Sam"), "parent")
        mediator = add_mediator(db, name="Alex", mobile="07700 900456", email="a@example.org", regions=["london"])
        start = utcnow() - timedelta(hours=3)
        past = book_session(
            db, case_reference=case.reference, start=start, end=start + timedelta(hours=2), mode="phone",
            dial_in="0800 000 0000 pin 1234", mediator_ids=[mediator.id], settings=settings,
            calendar=WorkingDayCalendar(), now=booked_at,
        ).session.id  # fmt: skip
        ahead = utcnow() + timedelta(days=30)
        future = book_session(
            db, case_reference=case.reference, start=ahead, end=ahead + timedelta(hours=2), mode="phone",
            dial_in="0800 000 0000 pin 1234", mediator_ids=[mediator.id], settings=settings,
            calendar=WorkingDayCalendar(),
        ).session.id  # fmt: skip
    env = {"MDESK_VAR_DIR": str(tmp_path)}

    held = run_main("sessions", "outcome", str(past), "--outcome", "partial_agreement", "--json", settings=env)
    assert held.returncode == 0, held.stderr
    view = json.loads(held.stdout)
    assert (view["status"], view["outcome"]) == ("held", "partial_agreement")
    with Session(engine) as db:
        reminders = [r for r in db.exec(select(OutboxMessage)).all() if r.idempotency_key.startswith("reminder:")]
        assert {r.status for r in reminders if r.idempotency_key.startswith(f"reminder:s{past}:")} == {WITHDRAWN}
        assert {r.status for r in reminders if r.idempotency_key.startswith(f"reminder:s{future}:")} == {PENDING}
        [event] = db.exec(select(CaseEvent)).all()
        assert (event.kind, event.day) == ("mediation_held", start.astimezone(settings.zone).date())

    early = run_main("sessions", "outcome", str(future), "--outcome", "agreement", settings=env)
    assert early.returncode == 1 and "has not started yet" in early.stderr and "Traceback" not in early.stderr
    unknown = run_main("sessions", "outcome", str(past), "--outcome", "happy", settings=env)
    assert unknown.returncode == 1 and "choose the outcome" in unknown.stderr
    engine.dispose()
