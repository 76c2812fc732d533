"""Case operations written as Core rows: the reference collision, contacts found again."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import case_ops, db
from models.cases import Case
from models.contacts import Contact, ContactPoint


def _open(session):
    return case_ops.open_case(
        session, service=None, local_authority=None, served=None, region=None, referrer_email="A@Example.org", draft={}
    )


def test_a_taken_reference_is_retried_with_a_fresh_one(engine, monkeypatch):
    references = iter(["MD-26-AAAA", "MD-26-AAAA", "MD-26-BBBB"])
    monkeypatch.setattr(case_ops, "new_reference", lambda _now: next(references))
    with db.session_scope(engine) as session:
        first, second = _open(session), _open(session)
    assert (first.reference, second.reference) == ("MD-26-AAAA", "MD-26-BBBB")
    with Session(engine) as session:
        stored = session.exec(select(Case).order_by(Case.id)).all()
        assert [(c.id, c.reference, c.referrer_email) for c in stored] == [
            (first.id, "MD-26-AAAA", "a@example.org"),
            (second.id, "MD-26-BBBB", "a@example.org"),
        ]
        assert stored[0].status == "new" and stored[0].created_at.tzinfo is not None


def test_a_contact_is_found_again_by_either_point_and_named_once(engine):
    with db.session_scope(engine) as session:
        first = case_ops.ensure_contact(session, email="Parent@Example.org")
        again = case_ops.ensure_contact(session, email="parent@example.org", phone="+447700900123", name="Sam")
        by_phone = case_ops.ensure_contact(session, phone="+447700900123", name="Someone else")
    assert first.id == again.id == by_phone.id
    with Session(engine) as session:
        assert session.get(Contact, first.id).name == "Sam"
        points = session.exec(select(ContactPoint).order_by(ContactPoint.id)).all()
        assert [(p.kind, p.value) for p in points] == [("email", "parent@example.org"), ("phone", "+447700900123")]


def test_a_number_shared_by_two_families_never_joins_them_into_one_contact(engine):
    with db.session_scope(engine) as session:
        worker = case_ops.ensure_contact(
            session, email="worker@familycentre.example", phone="+441632960001", name="Ann"
        )
        parent = case_ops.ensure_contact(session, email="parent@example.org", phone="+441632960001", name="Bea")
        # By the number alone, with two owners: nobody is guessed, a new contact holds it.
        caller = case_ops.ensure_contact(session, phone="+441632960001", name="")
    assert len({worker.id, parent.id, caller.id}) == 3
    with Session(engine) as session:
        assert session.get(Contact, parent.id).name == "Bea"  # not the worker's contact, renamed or not
        owners = session.exec(select(ContactPoint.contact_id).where(ContactPoint.value == "+441632960001")).all()
        assert sorted(owners) == sorted([worker.id, parent.id, caller.id])


def test_an_email_address_belongs_to_one_contact(engine):
    with db.session_scope(engine) as session:
        first = case_ops.ensure_contact(session, email="parent@example.org")
        other = case_ops.ensure_contact(session, phone="+447700900123")
    with pytest.raises(IntegrityError), db.session_scope(engine) as session:
        session.add(ContactPoint(contact_id=other.id, kind="email", value="parent@example.org"))
    assert first.id != other.id
