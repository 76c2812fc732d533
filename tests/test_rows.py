"""rows.run and rows.run_many: the hot path's statements on the DBAPI connection give exactly what
session.execute gives (types, errors, transactions, savepoints), on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from models.cases import Case
from models.db import session_scope
from models.outbox import OutboxMessage
from models.rows import insert_row, insert_rows, run, run_many, table

CASE, OUTBOX = table(Case), table(OutboxMessage)
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
        fast = run(session, _CASE_BY_ID, {"case_id": case_id}).first()
        slow = session.execute(_CASE_BY_ID, {"case_id": case_id}).first()
    assert tuple(fast) == tuple(slow)
    assert fast.served is True and fast.draft == {"child": "Ama", "needs": ["speech", "OT"]}
    assert fast.created_at == created and fast.created_at.tzinfo is not None
    with session_scope(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.reference == "MD-26-AAAA" and case.draft["needs"] == ["speech", "OT"]


def test_fixed_values_in_a_statement_are_sent_and_updates_apply(engine):
    with session_scope(engine) as session:
        served = insert_row(session, Case, _case("MD-26-BBBB", served=True))
        insert_row(session, Case, _case("MD-26-CCCC", served=False))
        assert run(session, _SERVED_CASES).scalars() == [served]
        run(session, _RENAME, {"case_id": served, "reference": "MD-26-DDDD"})
        assert run(session, _CASE_BY_ID, {"case_id": served}).scalar() == "MD-26-DDDD"


def test_run_many_writes_every_row(engine):
    with session_scope(engine) as session:
        insert_rows(session, Case, [_case(f"MD-26-E{i:03d}") for i in range(5)])
        run_many(session, _RENAME, [])  # nothing to do is not an error
    with session_scope(engine) as session:
        assert session.execute(select(CASE.c.reference).order_by(CASE.c.reference)).scalars().all() == [
            f"MD-26-E{i:03d}" for i in range(5)
        ]


def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_a_savepoint_undoes_it(engine):
    with session_scope(engine) as session:
        insert_row(session, Case, _case("MD-26-FFFF"))
        with pytest.raises(IntegrityError) as raised, session.begin_nested():
            insert_row(session, Case, _case("MD-26-FFFF"))
        assert "Ama" not in str(raised.value)  # parameters never reach the message (logs)
        insert_row(session, Case, _case("MD-26-GGGG"))  # the transaction goes on after the savepoint
    with session_scope(engine) as session:
        assert sorted(session.execute(select(CASE.c.reference)).scalars()) == ["MD-26-FFFF", "MD-26-GGGG"]


def test_an_error_rolls_back_everything_the_transaction_wrote(engine):
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        insert_row(session, Case, _case("MD-26-HHHH"))
        insert_row(session, Case, _case("MD-26-HHHH"))
    with session_scope(engine) as session:
        assert session.execute(select(CASE.c.id)).first() is None


def test_statements_rendered_at_execution_still_run_through_sqlalchemy(engine):
    with session_scope(engine) as session:
        first = insert_row(session, Case, _case("MD-26-JJJJ"))
        insert_row(session, Case, _case("MD-26-KKKK"))
        found = run(session, _BY_REFERENCES, {"refs": ["MD-26-JJJJ", "MD-26-ZZZZ"]}).scalars().all()
    assert found == [first]
