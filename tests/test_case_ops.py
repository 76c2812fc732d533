"""Case operations written as Core rows: the reference collision, contacts found again."""

from __future__ import annotations

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
