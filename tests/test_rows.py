"""models/rows.py: rows written and read with pre-built Core statements on the session's connection
come back as the ORM reads them (JSON, aware UTC datetimes, booleans), get their columns' defaults,
fail as SQLAlchemy's exceptions and keep to the session's transaction and savepoints, on SQLite and
on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from models.cases import Case, TimelineEvent
from models.db import session_scope
from models.mail import InboundMessage
from models.rows import insert_row, insert_rows, run, run_many, savepoint, table
from models.types import utcnow

CASE, TIMELINE = table(Case), table(TimelineEvent)
_CASE_BY_ID = select(CASE.c.reference, CASE.c.served, CASE.c.draft, CASE.c.created_at).where(
    CASE.c.id == bindparam("case_id")
)
_SERVED_CASES = select(CASE.c.id).where(CASE.c.served.is_(True), CASE.c.reference != "MD-00-0000")
_RENAME = update(CASE).where(CASE.c.id == bindparam("case_id")).values(reference=bindparam("reference"))
_BY_REFERENCES = select(CASE.c.id).where(CASE.c.reference.in_(bindparam("refs", expanding=True)))


def _case(reference: str, **more) -> dict:
    return {"reference": reference, "draft": {"child": "Ama", "needs": ["speech", "OT"]}, **more}


def test_values_come_back_as_the_orm_reads_them(engine):
    created = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    with session_scope(engine) as session:
        case_id = insert_row(session, Case, _case("MD-26-AAAA", served=True, created_at=created))
        row = run(session, _CASE_BY_ID, {"case_id": case_id}).one()
    assert row.served is True and row.draft == {"child": "Ama", "needs": ["speech", "OT"]}
    assert row.created_at == created and row.created_at.tzinfo is not None
    with session_scope(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and (case.reference, case.served, case.draft, case.created_at) == tuple(row)


def test_a_row_gets_its_columns_defaults_for_the_fields_it_leaves_out(engine):
    before = utcnow()
    with session_scope(engine) as session:
        case_id = insert_row(session, Case, {"reference": "MD-26-AAAB"})
        insert_rows(session, TimelineEvent, [{"case_id": case_id, "kind": "note"}] * 2)
        inbound_id = insert_row(
            session,
            InboundMessage,
            {"mailbox": "maildir:/x", "uid": "1", "sha256": "0" * 64, "dedupe_key": "k"},
        )
    with session_scope(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert (case.status, case.draft, case.served, case.related_case_id) == ("new", {}, None, None)
        assert before <= case.created_at <= utcnow() and case.created_at.tzinfo is not None
        events = session.execute(select(TimelineEvent).where(TimelineEvent.case_id == case_id)).scalars().all()
        assert [(e.summary, e.actor, e.data, e.at.tzinfo is not None) for e in events] == [("", "system", {}, True)] * 2
        inbound = session.get(InboundMessage, inbound_id)
        assert inbound is not None
        assert (inbound.status, inbound.reasons, inbound.rules, inbound.faults) == ("received", [], [], [])


def test_fixed_values_in_a_statement_are_sent_and_updates_apply(engine):
    with session_scope(engine) as session:
        served = insert_row(session, Case, _case("MD-26-BBBB", served=True))
        insert_row(session, Case, _case("MD-26-CCCC", served=False))
        assert run(session, _SERVED_CASES).scalars().all() == [served]
        run(session, _RENAME, {"case_id": served, "reference": "MD-26-DDDD"})
        assert run(session, _CASE_BY_ID, {"case_id": served}).scalar() == "MD-26-DDDD"


def test_run_many_writes_every_row(engine):
    with session_scope(engine) as session:
        insert_rows(session, Case, [_case(f"MD-26-E{i:03d}") for i in range(5)])
        ids = run(session, select(CASE.c.id).order_by(CASE.c.id)).scalars().all()
        run_many(session, _RENAME, [{"case_id": i, "reference": f"MD-26-F{i:03d}"} for i in ids])
        run_many(session, _RENAME, [])  # nothing to do is not an error
        insert_rows(session, Case, [])
    with session_scope(engine) as session:
        assert session.execute(select(CASE.c.reference).order_by(CASE.c.id)).scalars().all() == [
            f"MD-26-F{i:03d}" for i in ids
        ]


def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_a_savepoint_undoes_it(engine):
    with session_scope(engine) as session:
        insert_row(session, Case, _case("MD-26-FFFF"))
        with pytest.raises(IntegrityError) as raised, session.begin_nested():
            insert_row(session, Case, _case("MD-26-GGGG"))
            insert_row(session, Case, _case("MD-26-FFFF"))
        assert "Ama" not in str(raised.value)  # parameters never reach the message (logs)
        insert_row(session, Case, _case("MD-26-HHHH"))  # the transaction goes on after the savepoint
    with session_scope(engine) as session:
        assert sorted(session.execute(select(CASE.c.reference)).scalars()) == ["MD-26-FFFF", "MD-26-HHHH"]


def test_a_failing_savepoint_undoes_only_its_own_rows_and_the_transaction_goes_on(engine):
    with session_scope(engine) as session:
        insert_row(session, Case, _case("MD-26-SP01"))
        with savepoint(session):
            insert_row(session, Case, _case("MD-26-SP02"))
            with pytest.raises(IntegrityError), savepoint(session):  # nested: undone alone
                insert_row(session, Case, _case("MD-26-SP03"))
                insert_row(session, Case, _case("MD-26-SP01"))
            insert_row(session, Case, _case("MD-26-SP04"))
        with pytest.raises(RuntimeError), savepoint(session):  # any exception, not only the database's
            insert_row(session, Case, _case("MD-26-SP05"))
            raise RuntimeError("a step's bug")
        insert_row(session, Case, _case("MD-26-SP06"))
    with session_scope(engine) as session:
        assert sorted(session.execute(select(CASE.c.reference)).scalars()) == [
            "MD-26-SP01",
            "MD-26-SP02",
            "MD-26-SP04",
            "MD-26-SP06",
        ]


def test_a_savepoint_is_for_rows_objects_left_to_flush_in_it_are_refused_and_undone(engine):
    with session_scope(engine) as session:
        kept = Case(reference="MD-26-SP10", draft={})
        session.add(kept)
        session.flush()
        with pytest.raises(RuntimeError, match="begin_nested"), savepoint(session):
            insert_row(session, Case, _case("MD-26-SP11"))
            kept.status = "closed"  # the ORM could not undo its flush failing: not allowed here
        session.expunge(kept)
    with session_scope(engine) as session:
        assert session.execute(select(CASE.c.reference, CASE.c.status)).all() == [("MD-26-SP10", "new")]


def test_objects_are_read_again_after_a_savepoint_is_rolled_back(engine):
    with session_scope(engine) as session:
        case = session.get(Case, insert_row(session, Case, _case("MD-26-SP20")))
        assert case is not None
        with pytest.raises(RuntimeError, match="a step's bug"), savepoint(session):
            run(session, update(CASE).where(CASE.c.id == case.id).values(status="closed"))
            session.refresh(case)
            assert case.status == "closed"
            raise RuntimeError("a step's bug")
        assert case.status == "new"  # not what it was read as in the savepoint that is gone


def test_an_error_rolls_back_everything_the_transaction_wrote(engine):
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        insert_row(session, Case, _case("MD-26-JJJA"))
        insert_rows(session, Case, [_case("MD-26-JJJB"), _case("MD-26-JJJA")])
    with session_scope(engine) as session:
        assert session.execute(select(CASE.c.id)).first() is None


def test_a_naive_datetime_is_refused_not_stored_as_local_time(engine):
    with pytest.raises(Exception, match="naive datetime"), session_scope(engine) as session:
        insert_row(session, Case, _case("MD-26-KKKA", created_at=datetime(2026, 11, 2, 9, 30)))
    with session_scope(engine) as session:
        assert session.execute(select(CASE.c.id)).first() is None


def test_lists_rendered_at_execution_are_expanded(engine):
    with session_scope(engine) as session:
        first = insert_row(session, Case, _case("MD-26-JJJJ"))
        insert_row(session, Case, _case("MD-26-KKKK"))
        found = run(session, _BY_REFERENCES, {"refs": ["MD-26-JJJJ", "MD-26-ZZZZ"]}).scalars().all()
    assert found == [first]


def test_timeline_events_keep_their_time_and_links(engine):
    at = utcnow() - timedelta(days=1)
    with session_scope(engine) as session:
        case_id = insert_row(session, Case, _case("MD-26-LLLL"))
        insert_rows(session, TimelineEvent, [{"case_id": case_id, "kind": "note", "at": at, "data": {"n": 1}}])
        assert run(session, select(TIMELINE.c.at, TIMELINE.c.data)).one() == (at, {"n": 1})
