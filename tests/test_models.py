"""The database and the rules in models/: migrations, aware UTC, references, outbox idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from models import case_ops, db
from models.case_status import can_move
from models.cases import Case
from models.outbox import OutboxMessage
from models.outbox_ops import enqueue, is_suppressed, suppressed_or_sent_recently
from models.references import ALPHABET, find_references, new_reference


def test_migrations_bring_an_empty_database_to_head(engine):
    assert db.current_revision(engine) is not None
    db.upgrade(engine)  # a second upgrade is a no-op, as on every daemon start


def test_datetimes_come_back_aware_utc(engine):
    with db.session_scope(engine) as session:
        case = case_ops.open_case(
            session, service=None, local_authority=None, served=None, region=None, referrer_email=None, draft={}
        )
        case_id = case.id
    with Session(engine) as session:
        loaded = session.get(Case, case_id)
        assert loaded.created_at.tzinfo is not None
        assert loaded.created_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(engine):
    with pytest.raises(Exception, match="naive"), db.session_scope(engine) as session:
        session.add(Case(reference="MD-26-AAAA", created_at=datetime(2026, 1, 1)))


def test_references_are_readable_and_found_in_subjects():
    ref = new_reference(datetime(2026, 11, 28, tzinfo=UTC))
    assert ref.startswith("MD-26-") and all(ch in ALPHABET for ch in ref[-4:])
    assert find_references(f"Re: Your referral [{ref.lower()}] and again {ref}") == [ref]
    assert find_references("Re: MD-26-0O1I is not one of ours") == []


def test_every_case_gets_its_own_reference(engine):
    with db.session_scope(engine) as session:
        refs = {
            case_ops.open_case(
                session, service=None, local_authority=None, served=None, region=None, referrer_email=None, draft={}
            ).reference
            for _ in range(200)
        }
    assert len(refs) == 200


def test_enqueue_is_idempotent_on_its_key(engine):
    with db.session_scope(engine) as session:
        first = enqueue(session, key="ack:case:1", channel="email", to="a@example.org", template="t", context={})
        again = enqueue(session, key="ack:case:1", channel="email", to="a@example.org", template="t", context={})
        assert first.id == again.id
    with Session(engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_throttle_sees_automatic_messages_in_the_window(engine):
    with db.session_scope(engine) as session:
        enqueue(session, key="k1", channel="email", to="Parent@Example.org", template="t", context={})
    with Session(engine) as session:
        day = timedelta(hours=24)
        assert suppressed_or_sent_recently(session, "parent@example.org", window=day) == (False, True)
        later = datetime.now(UTC) + timedelta(hours=25)
        assert suppressed_or_sent_recently(session, "parent@example.org", window=day, now=later) == (False, False)


def test_a_bounce_marks_the_address_undeliverable_and_suppressed(engine):
    with db.session_scope(engine) as session:
        case = case_ops.open_case(
            session, service=None, local_authority=None, served=None, region=None, referrer_email=None, draft={}
        )
        contact = case_ops.ensure_contact(session, email="Gone@Example.org", name="Gone")
        case_ops.add_party(session, case.id, contact, "referrer")
        case_ops.mark_undeliverable(session, "gone@example.org", "550 5.1.1 User unknown", case.id)
    with Session(engine) as session:
        assert is_suppressed(session, "email", "GONE@example.org")
        assert suppressed_or_sent_recently(session, "GONE@example.org", window=timedelta(hours=1)) == (True, False)
        assert case_ops.case_ids_for_email(session, "gone@example.org") == [case.id]


def test_case_lifecycle_allows_only_the_documented_moves():
    assert can_move("new", "triaged") and can_move("new", "certificate_issued")
    assert not can_move("closed", "new") and not can_move("new", "session_held")


def test_a_released_savepoint_is_undone_when_its_transaction_rolls_back(engine):
    """pysqlite's legacy transaction handling let a SAVEPOINT's RELEASE commit on its own on SQLite."""
    with pytest.raises(RuntimeError), db.session_scope(engine) as session:
        with session.begin_nested():
            session.add(Case(reference="MD-26-CCCC"))
            session.flush()
        raise RuntimeError("the batch failed")
    with Session(engine) as session:
        assert session.exec(select(Case)).all() == []
