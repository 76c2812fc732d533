"""The stored deadlines (models.deadline_store) are what models.case_clock computes, after every kind of
change that moves them: a case opened, a session booked, moved, cancelled and held with its outcome, the
certificate issued, a clock event recorded, a field edited, the case closed and reopened; and the
inbox's list read from them is the list computed from every case (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from models.case_actions import change_status, edit_field
from models.case_clock import case_deadlines, record_event
from models.case_ops import add_party, ensure_contact, open_case
from models.case_status import OPEN_STATUSES
from models.cases import Case
from models.certificates import issue_certificate
from models.db import session_scope
from models.deadline_queue import stored_deadlines_due
from models.deadline_store import backfill
from models.mediators import add_mediator
from models.session_ops import book_session, cancel_session, reschedule_session
from models.session_outcome import record_outcome
from models.sessions import PendingDeadline
from models.types import utcnow
from models.workdays import WorkingDayCalendar
from tests.deadlines_computed import deadlines_due

CAL = WorkingDayCalendar()
PARENT = "parent@example.net"


def stored(engine, case_id: int) -> set[tuple[str, date]]:
    with Session(engine) as db:
        rows = db.exec(select(PendingDeadline).where(PendingDeadline.case_id == case_id)).all()
        return {(row.kind, row.due) for row in rows}


def computed(engine, case_id: int) -> set[tuple[str, date]]:
    """The case's deadlines not yet met, as its page computes them (none once it is closed)."""
    with Session(engine) as db:
        case = db.get(Case, case_id)
        assert case is not None
        if case.status not in OPEN_STATUSES:
            return set()
        return {
            (str(item.deadline.kind), item.deadline.due)
            for item in case_deadlines(db, case, CAL, utcnow())
            if item.deadline.done_on is None
        }


def open_one(engine, service: str, **draft) -> tuple[int, str]:
    with session_scope(engine) as db:
        case = open_case(
            db, service=service, local_authority="Camden", served=True, region="london",
            referrer_email=PARENT, draft=draft,
        )  # fmt: skip
        add_party(db, case.id, ensure_contact(db, email=PARENT, phone="+447700900123", name="Sam Parent"), "parent")
        return case.id, case.reference


def booked(engine, settings, reference: str, start, *, now=None) -> int:
    with session_scope(engine) as db:
        mediator = add_mediator(
            db, name="Alex", mobile="07700 900456", email=f"a{start:%H%M%S%f}@example.org", regions=["london"]
        )
        return book_session(
            db, case_reference=reference, start=start, end=start + timedelta(hours=2), mode="phone",
            dial_in="0800 000 0000 pin 1234", mediator_ids=[mediator.id], settings=settings, calendar=CAL, now=now,
        ).session.id  # fmt: skip


def test_the_stored_deadlines_follow_a_case_through_its_life(engine, settings):
    case_id, reference = open_one(engine, "mediation", health_issues=True)
    opened = stored(engine, case_id)
    assert {kind for kind, _ in opened} == {"mediation_due", "health_notice_due"}
    assert opened == computed(engine, case_id)

    with session_scope(engine) as db:
        record_event(db, case_id, "la_told", utcnow().date() + timedelta(days=2))
    assert stored(engine, case_id) == computed(engine, case_id) != opened  # counted from the LA told

    ahead = utcnow() + timedelta(days=20)
    session_id = booked(engine, settings, reference, ahead)
    assert stored(engine, case_id) == computed(engine, case_id)
    with session_scope(engine) as db:
        reschedule_session(
            db, session_id, start=ahead + timedelta(days=2), end=ahead + timedelta(days=2, hours=2),
            settings=settings, calendar=CAL,
        )  # fmt: skip
    assert stored(engine, case_id) == computed(engine, case_id)
    with session_scope(engine) as db:
        cancel_session(db, session_id, settings=settings)
    assert stored(engine, case_id) == computed(engine, case_id)

    started = utcnow() - timedelta(hours=3)
    held = booked(engine, settings, reference, started, now=started - timedelta(days=10))
    with session_scope(engine) as db:
        record_outcome(db, held, outcome="agreement", settings=settings)
    after_outcome = stored(engine, case_id)
    assert after_outcome == computed(engine, case_id)
    assert "mediation_due" not in {kind for kind, _ in after_outcome}  # met by the session held
    assert "certificate_due" in {kind for kind, _ in after_outcome}  # now counting

    with session_scope(engine) as db:
        issue_certificate(db, reference, settings=settings, calendar=CAL)
    assert "certificate_due" not in {kind for kind, _ in stored(engine, case_id)}
    assert stored(engine, case_id) == computed(engine, case_id)

    with session_scope(engine) as db:
        record_event(db, case_id, "la_decision_letter", utcnow().date())
    assert "appeal_window_closes" in {kind for kind, _ in stored(engine, case_id)}
    assert stored(engine, case_id) == computed(engine, case_id)

    with session_scope(engine) as db:
        change_status(db, case_id, "coordinator@example.org", "closed")
    assert stored(engine, case_id) == set()
    with session_scope(engine) as db:
        change_status(db, case_id, "coordinator@example.org", "in_progress")  # reopened
    assert stored(engine, case_id) == computed(engine, case_id) != set()


def test_editing_the_service_changes_which_deadlines_run(engine):
    case_id, _ = open_one(engine, "mediation")
    assert {kind for kind, _ in stored(engine, case_id)} == {"mediation_due"}
    with session_scope(engine) as db:
        edit_field(db, case_id, "coordinator@example.org", "service", "certificate")
    assert {kind for kind, _ in stored(engine, case_id)} == {"certificate_due"}
    assert stored(engine, case_id) == computed(engine, case_id)


def test_a_change_rolled_back_leaves_the_stored_deadlines_as_they_were(engine):
    case_id, _ = open_one(engine, "mediation")
    before = stored(engine, case_id)
    try:
        with session_scope(engine) as db:
            change_status(db, case_id, "coordinator@example.org", "closed")
            raise RuntimeError("the request failed")
    except RuntimeError:
        pass
    assert stored(engine, case_id) == before != set()


def test_the_inbox_list_from_the_stored_deadlines_is_the_computed_one(engine):
    today = CAL.local_date(utcnow())
    for days_ago in (0, 1, 2, 3, 5, 8, 40):
        for service in ("certificate", "mediation"):
            case_id, _ = open_one(engine, service)
            with session_scope(engine) as db:
                record_event(db, case_id, "contact", today - timedelta(days=days_ago))
    letter, _ = open_one(engine, "mediation")
    with session_scope(engine) as db:
        record_event(db, letter, "la_decision_letter", today - timedelta(days=61))  # window closing or closed
    with Session(engine) as db:
        expected = deadlines_due(db, CAL, today)
        shown, total = stored_deadlines_due(db, CAL, today, limit=None)
        late, late_total = stored_deadlines_due(db, CAL, today, overdue_only=True, limit=3)
    assert expected and any(d.overdue for d in expected) and any(not d.overdue for d in expected)
    assert [(d.reference, d.label, d.due, d.days_left, d.overdue) for d in shown] == [
        (d.reference, d.label, d.due, d.days_left, d.overdue) for d in expected
    ]
    assert total == len(expected)
    assert late == [d for d in shown if d.overdue][:3] and late_total == sum(d.overdue for d in expected)


def test_backfill_rebuilds_what_a_write_outside_the_models_left_behind(engine):
    case_id, _ = open_one(engine, "certificate")
    with session_scope(engine) as db:
        db.connection().execute(PendingDeadline.__table__.delete())  # type: ignore[attr-defined]
    assert stored(engine, case_id) == set()
    assert backfill(engine) >= 1
    assert stored(engine, case_id) == computed(engine, case_id) != set()


def test_a_merge_moves_the_stored_deadlines_onto_the_survivor(engine, settings):
    from models.case_merge import merge_cases

    first_id, first = open_one(engine, "mediation")
    second_id, second = open_one(engine, "mediation")
    booked(engine, settings, second, utcnow() + timedelta(days=20))  # the session moves with the merge
    assert stored(engine, second_id) == computed(engine, second_id) != set()
    with session_scope(engine) as db:
        result = merge_cases(db, first, second, actor="coord@example.org")
    survivor_id = first_id if result.survivor == first else second_id
    merged_id = second_id if survivor_id == first_id else first_id
    assert stored(engine, merged_id) == set()  # closed: nothing due on it
    assert stored(engine, survivor_id) == computed(engine, survivor_id) != set()
    with Session(engine) as db:
        due, _ = stored_deadlines_due(db, CAL, CAL.local_date(utcnow()) + timedelta(days=90), limit=None)
    listed = {item.reference for item in due}
    assert result.survivor in listed and result.merged not in listed


def test_a_batch_of_referrals_has_its_deadlines_stored_and_a_fault_in_one_case_spares_the_rest(
    engine, settings, monkeypatch
):
    """Intake commits a batch at once, each message in a savepoint: the deadlines are worked out once, at
    the batch's commit; a case whose deadlines raise (a bug) is counted and left out, the batch commits."""
    from inbox.intake import Intake
    from inbox.sources.base import MessageKey, SourceMessage
    from models import deadline_store
    from models.metrics import PIPELINE_ERRORS
    from tests import mailfactory

    real = deadline_store.deadlines_where

    def faulty(db, calendar, today, conditions):
        found = real(db, calendar, today, conditions)
        bea = db.exec(select(Case.id).where(Case.referrer_email == "bea@example.net")).all()
        if any(item.case_id in bea for item in found):
            raise ValueError("a bug in the clock's rules")
        return found

    monkeypatch.setattr(deadline_store, "deadlines_where", faulty)
    faults = PIPELINE_ERRORS.labels("deadlines")._value.get()
    senders = ["Ann One <ann@example.net>", "Bea Two <bea@example.net>", "Cal Three <cal@example.net>"]
    messages = [
        SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, str(uid)), mailfactory.referral(sender=sender))
        for uid, sender in enumerate(senders, start=1)
    ]
    intake = Intake(engine, settings.model_copy(update={"read_timeout_seconds": 0, "intake_workers": 0}))
    assert intake.handle_batch(messages) == 3
    with Session(engine) as db:
        cases = db.exec(select(Case).order_by(Case.id)).all()
    assert [case.referrer_email for case in cases] == ["ann@example.net", "bea@example.net", "cal@example.net"]
    assert stored(engine, cases[1].id) == set() != computed(engine, cases[1].id)
    for case in (cases[0], cases[2]):
        assert stored(engine, case.id) == computed(engine, case.id) != set()
    assert PIPELINE_ERRORS.labels("deadlines")._value.get() == faults + 1
