"""Merging two cases (models/case_merge.py): everything of the merged case on the survivor, the old
reference leading there, refusals said plainly, a second merge a no-op. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, SQLModel, select

from inbox.intake import Intake
from inbox.sources.base import MessageKey, SourceMessage
from models import case_actions, case_merge, case_ops, db
from models.case_clock import case_dates, record_event
from models.case_merge import MergeRefused, merge_cases, plan_merge
from models.case_queries import case_id_for_reference, merged_into_reference
from models.cases import Case, InboxItem, TimelineEvent
from models.certificates import issue_certificate
from models.contacts import Contact, Party
from models.desk import CaseAttention
from models.mail import InboundMessage
from models.outbox import OutboxMessage
from models.reports import referrals_report
from models.sessions import CaseEvent, MediationSession
from models.staff import AuditEvent
from models.telephony import Call, CallbackTask, SmsMessage
from models.types import utcnow
from models.workdays import WorkingDayCalendar
from tests import mailfactory

_uids = iter(range(1, 10_000))
PARENT = "Joanne Pryce <joanne.pryce@example.com>"
SCHOOL = "Mr Hale <senco@school.example.org>"


def deliver(intake: Intake, raw: bytes) -> None:
    assert intake.handle(SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids))), raw))


@pytest.fixture
def intake(engine, settings) -> Intake:
    return Intake(engine, settings.model_copy(update={"read_timeout_seconds": 0}))


def two_cases(engine, intake) -> tuple[Case, Case]:
    """The parent's referral, then the school's about the same child: two cases, opened in that order."""
    deliver(intake, mailfactory.referral(sender=PARENT))
    deliver(intake, mailfactory.referral(sender=SCHOOL, subject="Referral for Elliot Pryce"))
    with Session(engine) as session:
        first, second = session.exec(select(Case).order_by(Case.id)).all()
    return first, second


def fill(engine, case_id: int) -> None:
    """One row of every other kind that names a case: calls, SMS, a call-back, a session, a clock event,
    an inbox item, unseen news."""
    now = utcnow()
    with db.session_scope(engine) as session:
        session.add(Call(call_sid=f"CA{case_id}", from_number="+447700900418", case_id=case_id))
        session.add(SmsMessage(message_sid=f"SM{case_id}", direction="inbound", body="hi", case_id=case_id))
        session.add(
            CallbackTask(
                office="london",
                number="+447700900418",
                due_at=now,
                case_id=case_id,
                first_call_sid=f"CA{case_id}",
                last_call_sid=f"CA{case_id}",
            )
        )
        session.add(
            MediationSession(
                uid=f"s{case_id}@example",
                case_id=case_id,
                start_at=now + timedelta(days=20),
                end_at=now + timedelta(days=20, hours=2),
                mode="video",
            )
        )
        session.add(InboxItem(kind="callback", summary="ring back", case_id=case_id))
        session.flush()
        record_event(session, case_id, "la_told", date.today())
        case_actions.needs_attention(session, case_id, "sms")


def rows_naming(engine, case_id: int) -> dict[str, int]:
    """Every row of every table with a foreign key to the case table that names this case (found from
    the schema, so a table added later is checked too)."""
    found: dict[str, int] = {}
    with Session(engine) as session:
        for t in SQLModel.metadata.sorted_tables:
            for column in t.columns:
                if (
                    any(fk.column.table.name == "case" for fk in column.foreign_keys)
                    and column.name != "merged_into_id"
                ):
                    n = session.execute(select(func.count()).select_from(t).where(column == case_id)).scalar_one()
                    if n:
                        found[f"{t.name}.{column.name}"] = n
    return found


def test_everything_of_the_merged_case_moves_onto_the_survivor(engine, intake):
    first, second = two_cases(engine, intake)
    fill(engine, second.id)
    before = rows_naming(engine, second.id)
    assert {
        "timelineevent.case_id",
        "inboundmessage.case_id",
        "outboxmessage.case_id",
        "party.case_id",
        "call.case_id",
        "smsmessage.case_id",
        "callbacktask.case_id",
        "mediationsession.case_id",
        "caseevent.case_id",
        "inboxitem.case_id",
        "caseattention.case_id",
    } <= set(before)
    with db.session_scope(engine) as session:
        result = merge_cases(session, second.reference, first.reference, actor="coord@example.org")
    assert (result.survivor, result.merged, result.already) == (first.reference, second.reference, False)
    assert result.message() == f"{second.reference} merged into {first.reference}."
    # Nothing names the merged case any more but its own "merged" event.
    assert rows_naming(engine, second.id) == {"timelineevent.case_id": 1}
    with Session(engine) as session:
        merged = session.get(Case, second.id)
        assert (merged.status, merged.merged_into_id) == ("closed", first.id)
        [note] = session.exec(select(TimelineEvent).where(TimelineEvent.case_id == second.id)).all()
        assert note.summary == f"Merged into {first.reference}"
        survivor_events = session.exec(select(TimelineEvent.summary).where(TimelineEvent.case_id == first.id)).all()
        assert f"{second.reference} (new) merged into this case" in survivor_events
        assert (
            session.exec(
                select(func.count()).select_from(InboundMessage).where(InboundMessage.case_id == first.id)
            ).one()
            == 2
        )
        assert (
            session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.case_id == first.id)).one()
            == 2
        )
        contacts = session.exec(select(Party.contact_id).where(Party.case_id == first.id)).all()
        assert len(set(contacts)) == 2  # the school's referrer joined the parent's case
        assert session.exec(select(CaseAttention.count).where(CaseAttention.case_id == first.id)).one() == 1
        audits = session.exec(
            select(AuditEvent.action, AuditEvent.entity_id).where(
                AuditEvent.action.in_(["case.merged", "case.merged_in"])
            )
        ).all()
        assert sorted(audits) == [("case.merged", str(second.id)), ("case.merged_in", str(first.id))]


def test_referral_details_the_survivor_lacks_come_from_the_merged_case(engine, intake):
    first, second = two_cases(engine, intake)
    with db.session_scope(engine) as session:
        case_actions.edit_field(session, first.id, "coord@example.org", "school", "")
        case_actions.edit_field(session, second.id, "coord@example.org", "school", "Hill Street Primary")
        case_actions.edit_field(session, second.id, "coord@example.org", "child_name", "E. Pryce")
        merge_cases(session, first.reference, second.reference, actor="coord@example.org")
    with Session(engine) as session:
        draft = session.get(Case, first.id).draft
    assert draft["school"] == "Hill Street Primary" and draft["evidence"]["school"]["source"] == "coordinator"
    assert draft["child_name"] == first.draft["child_name"]  # the survivor's own is kept


def test_a_person_in_both_cases_stays_one_party_row(engine, intake):
    first, second = two_cases(engine, intake)
    with db.session_scope(engine) as session:  # the parent is in the school's case too, as parent
        before = session.exec(select(Party.contact_id, Party.role).where(Party.case_id == first.id)).all()
        contact_id, role = before[0]
        case_ops.add_party(session, second.id, session.get(Contact, contact_id), role)
        theirs = session.exec(select(Party.contact_id, Party.role).where(Party.case_id == second.id)).all()
    assert (contact_id, role) in theirs
    with db.session_scope(engine) as session:
        merge_cases(session, first.reference, second.reference, actor="coord@example.org")
    with Session(engine) as session:
        after = session.exec(select(Party.contact_id, Party.role).where(Party.case_id == first.id)).all()
        assert len(after) == len(set(after))  # the parent once in each role
        assert set(after) == set(before) | set(theirs) and len(after) < len(before) + len(theirs)
        assert session.exec(select(func.count()).select_from(Party).where(Party.case_id == second.id)).one() == 0


def test_the_case_whose_clock_started_first_survives_whichever_way_round(engine, intake):
    first, second = two_cases(engine, intake)
    # The school's case records a first contact a week before the parent's case was opened.
    earlier = first.created_at.date() - timedelta(days=7)
    with db.session_scope(engine) as session:
        record_event(session, second.id, "contact", earlier)
        plan = plan_merge(session, first.reference, second.reference)
    assert (plan.survivor.reference, plan.merged.reference) == (second.reference, first.reference)
    assert plan.survivor.clock_start == earlier
    with db.session_scope(engine) as session:
        result = merge_cases(session, first.reference, second.reference, actor="coord@example.org")
    assert result.survivor == second.reference


def test_the_survivors_clock_is_not_moved_by_the_merged_cases_later_contact(engine, intake):
    first, second = two_cases(engine, intake)
    later = first.created_at.date() + timedelta(days=3)
    with db.session_scope(engine) as session:
        record_event(session, second.id, "contact", later)
    with db.session_scope(engine) as session:
        merge_cases(session, first.reference, second.reference, actor="coord@example.org")
    with Session(engine) as session:
        survivor = session.get(Case, first.id)
        assert case_dates(session, survivor).contact == first.created_at.date()


def test_merging_again_changes_nothing_and_says_so(engine, intake):
    first, second = two_cases(engine, intake)
    with db.session_scope(engine) as session:
        merge_cases(session, first.reference, second.reference, actor="coord@example.org")
    with Session(engine) as session:
        events = session.exec(select(func.count()).select_from(TimelineEvent)).one()
    for a, b in ((first.reference, second.reference), (second.reference.lower(), first.reference)):
        with db.session_scope(engine) as session:
            again = merge_cases(session, a, b, actor="coord@example.org")
        assert (
            again.already
            and again.message() == f"{second.reference} was already merged into {first.reference}; nothing changed."
        )
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(TimelineEvent)).one() == events


def test_refusals_say_what_to_do(engine, intake):
    first, second = two_cases(engine, intake)
    deliver(intake, mailfactory.referral(sender="Ann Other <ann@example.net>", subject="Mediation for Zoe"))
    with Session(engine) as session:
        third = session.exec(select(Case).order_by(Case.id.desc())).first()

    def refused(a: str, b: str) -> str:
        with pytest.raises(MergeRefused) as caught, db.session_scope(engine) as session:
            merge_cases(session, a, b, actor="coord@example.org")
        return str(caught.value)

    assert (
        refused(first.reference, first.reference)
        == f"{first.reference} is this case: enter the other case's reference."
    )
    assert refused(first.reference, "MD-26-ZZZZ") == "No case has the reference MD-26-ZZZZ."
    assert refused(first.reference, "  ") == "Enter the other case's reference (for example MD-26-ABCD)."
    with db.session_scope(engine) as session:
        case_actions.change_status(session, third.id, "coord@example.org", "closed")
    assert refused(first.reference, third.reference) == (
        f"{third.reference} is closed: reopen it first if it really is the same family's case."
    )
    with db.session_scope(engine) as session:
        merge_cases(session, first.reference, second.reference, actor="coord@example.org")
        case_actions.change_status(session, third.id, "coord@example.org", "in_progress")
    assert refused(second.reference, third.reference) == (
        f"{second.reference} was merged into {first.reference}: merge with {first.reference} instead."
    )
    with Session(engine) as session:  # nothing was half done by a refusal
        assert session.get(Case, third.id).merged_into_id is None


def test_a_later_merge_of_the_survivor_carries_the_old_reference_along(engine, intake):
    first, second = two_cases(engine, intake)
    deliver(intake, mailfactory.referral(sender="Ann Other <ann@example.net>", subject="Mediation for Zoe"))
    with Session(engine) as session:
        third = session.exec(select(Case).order_by(Case.id.desc())).first()
    with db.session_scope(engine) as session:
        merge_cases(session, third.reference, second.reference, actor="coord@example.org")  # into second
    with db.session_scope(engine) as session:
        merge_cases(session, first.reference, second.reference, actor="coord@example.org")
    with Session(engine) as session:
        assert case_id_for_reference(session, third.reference) == first.id
        assert merged_into_reference(session, third.reference) == first.reference
        assert session.get(Case, third.id).merged_into_id == first.id  # one hop, never a chain


def test_replies_to_the_merged_cases_reference_or_messages_land_on_the_survivor(engine, intake):
    first, second = two_cases(engine, intake)
    with Session(engine) as session:
        ack = session.exec(select(OutboxMessage).where(OutboxMessage.case_id == second.id)).one()
    with db.session_scope(engine) as session:
        merge_cases(session, first.reference, second.reference, actor="coord@example.org")
    deliver(intake, mailfactory.message(sender=SCHOOL, subject=f"About {second.reference}", body="One more thing.\n"))
    deliver(intake, mailfactory.reply_to(ack.message_id, sender="senco@school.example.org", subject="Re: referral"))
    # New-case mail from the merged case's referrer the same day is held on the survivor, not opened.
    again = "Hello, I am writing again about Elliot Pryce's mediation with Camden. Mr Hale, SENCo\n"
    deliver(intake, mailfactory.referral(sender=SCHOOL, subject="Elliot Pryce again", body=again))
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 2  # no new case opened
        placed = session.exec(select(InboundMessage.case_id).order_by(InboundMessage.id)).all()
        assert placed[-3:] == [first.id, first.id, first.id]
        assert case_id_for_reference(session, second.reference) == first.id


@pytest.mark.parametrize("second_pair", ["same pair reversed", "the merged case with a third"])
def test_two_merges_at_once_wait_for_each_other_and_move_once(engine, intake, monkeypatch, second_pair):
    """The second merge starts while the first holds both rows; on PostgreSQL it is seen waiting on
    the first's row lock (SQLite: on the database's write lock), then finds the first's outcome."""
    first, second = two_cases(engine, intake)
    deliver(intake, mailfactory.referral(sender="Ann Other <ann@example.net>", subject="Mediation for Zoe"))
    with Session(engine) as session:
        third = session.exec(select(Case).order_by(Case.id.desc())).first()
    pair = (
        (first.reference, second.reference)
        if second_pair == "same pair reversed"
        else (second.reference, third.reference)
    )
    outcomes: list[object] = []

    def other_merge() -> None:
        try:
            with db.session_scope(engine) as session:
                outcomes.append(merge_cases(session, pair[1], pair[0], actor="other@example.org"))
        except MergeRefused as exc:
            outcomes.append(str(exc))
        except Exception as exc:  # shown in the assertion below, not lost in the thread
            outcomes.append(repr(exc))
            raise

    started: list[threading.Thread] = []

    def while_holding_the_locks(session, case_ids) -> None:
        if started:
            return
        thread = threading.Thread(target=other_merge)
        started.append(thread)
        thread.start()
        if engine.dialect.name == "postgresql":
            pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            assert _blocked_behind(engine, pid), outcomes

    monkeypatch.setattr(case_merge, "refresh_stored_next_deadline", while_holding_the_locks)
    with db.session_scope(engine) as session:
        result = merge_cases(session, first.reference, second.reference, actor="coord@example.org")
    started[0].join()
    assert not result.already
    if second_pair == "same pair reversed":
        [again] = outcomes
        assert again.already and again.survivor == first.reference  # type: ignore[attr-defined]
    else:
        assert outcomes == [
            f"{second.reference} was merged into {first.reference}: merge with {first.reference} instead."
        ]
    with Session(engine) as session:
        merged_events = session.exec(select(TimelineEvent).where(TimelineEvent.kind == "merged")).all()
        assert len(merged_events) == 2  # one on each case, once
        assert session.get(Case, third.id).merged_into_id is None


def _blocked_behind(engine, pid: int) -> bool:
    """Whether another backend comes to wait on a lock `pid` holds (polled; the merge holding the lock
    is waiting for this answer, so the wait has an end: 30 s without it fails the test)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    deadline = time.monotonic() + 30
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            if connection.execute(query, {"pid": pid}).scalar():
                return True
            connection.rollback()  # pg_stat_activity is read once a transaction: a new one each time
            time.sleep(0.02)
    return False


def test_the_referrals_report_counts_a_merged_family_once(engine, intake):
    first, second = two_cases(engine, intake)
    today = first.created_at.date()

    def total() -> int:
        with Session(engine) as session:
            return sum(
                row.total for row in referrals_report(session, today - timedelta(days=1), today + timedelta(days=1))
            )

    assert total() == 2
    with db.session_scope(engine) as session:
        merge_cases(session, first.reference, second.reference, actor="coord@example.org")
    assert total() == 1


def parent_and_school(engine, service: str) -> list[tuple[int, str]]:
    """Two cases of one family, opened directly (no intake): the parent's, then the school's; id and reference."""
    opened = []
    with db.session_scope(engine) as session:
        for email in ("parent@example.net", "school@example.org"):
            case = case_ops.open_case(
                session, service=service, local_authority="Camden", served=True, region="london",
                referrer_email=email, draft={},
            )  # fmt: skip
            case_ops.add_party(session, case.id, case_ops.ensure_contact(session, email=email, name="Sam"), "parent")
            opened.append((case.id, case.reference))
    return opened


def test_a_certificate_issued_by_the_merged_cases_reference_is_the_survivors(engine, settings):
    (first_id, first_ref), (second_id, second_ref) = parent_and_school(engine, "certificate")
    with db.session_scope(engine) as session:
        merge_cases(session, first_ref, second_ref, actor="coord@example.org")
    with db.session_scope(engine) as session:
        issued = issue_certificate(session, second_ref, settings=settings, calendar=WorkingDayCalendar())
    assert issued.case_reference == first_ref
    with Session(engine) as session:
        kinds = session.exec(select(CaseEvent.case_id).where(CaseEvent.kind == "certificate_issued")).all()
        assert kinds == [first_id] and session.get(Case, second_id).status == "closed"


def test_a_session_booked_by_the_merged_cases_reference_is_the_survivors_and_a_closed_case_takes_none(engine, settings):
    from models.mediators import add_mediator
    from models.session_ops import SessionRefused, book_session

    (_, first_ref), (_, second_ref) = parent_and_school(engine, "mediation")
    with db.session_scope(engine) as session:
        mediator = add_mediator(session, name="Alex", mobile="07700 900456", email="m@example.org", regions=["london"])
        mediator_id = mediator.id
    with db.session_scope(engine) as session:
        merge_cases(session, first_ref, second_ref, actor="coord@example.org")
    start = utcnow() + timedelta(days=30)
    booking = {
        "start": start, "end": start + timedelta(hours=2), "mode": "phone", "dial_in": "0800 000 0000",
        "mediator_ids": [mediator_id], "settings": settings, "calendar": WorkingDayCalendar(),
    }  # fmt: skip
    with db.session_scope(engine) as session:
        booked = book_session(session, case_reference=second_ref, **booking)
        assert booked.session.case_id == case_id_for_reference(session, first_ref)
    with db.session_scope(engine) as session:
        case_actions.change_status(session, case_id_for_reference(session, first_ref), "c@example.org", "closed")
    with db.session_scope(engine) as session, pytest.raises(SessionRefused, match="is closed; reopen it"):
        book_session(session, case_reference=first_ref, **booking)
