"""The inbox's search finds a case by its reference, the child's or a party's name, an email address, a
phone number as a coordinator types it, and its LA; and it follows the case as it changes (a field
corrected, a party added, a name learned): on PostgreSQL through `case_search`, kept by triggers
(models/search_index.py), on SQLite from the work rows' own columns."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from models.case_actions import edit_field
from models.case_ops import add_party, ensure_contact, open_case
from models.case_queries import case_id_for_reference
from models.db import session_scope
from models.work_queue import WorkFilters, work_page


def found(engine, q: str) -> set[str]:
    with Session(engine) as db:
        return {item.reference for item in work_page(db, WorkFilters(q=q), staff_id=None).items if item.reference}


@pytest.fixture
def cases(engine) -> tuple[str, str]:
    with session_scope(engine) as db:
        refs = []
        for parent, child, email, phone, la in (
            ("Joanne Pryce", "Elliot Pryce", "joanne.pryce@example.com", "+447700900418", "Camden"),
            ("Priya Shah", "Arjun Shah", "priya@example.net", "+447700900555", "Kent"),
        ):
            case = open_case(
                db, service="mediation", local_authority=la, served=True, region="london",
                referrer_email=email, draft={"child_name": child},
            )  # fmt: skip
            add_party(db, case.id, ensure_contact(db, email=email, phone=phone, name=parent), "parent")
            refs.append(case.reference)
    return refs[0], refs[1]


def test_a_case_is_found_by_reference_name_email_phone_and_la(engine, cases):
    pryce, shah = cases
    assert found(engine, pryce.lower()) == {pryce}
    assert found(engine, "joanne") == {pryce}  # the parent's name
    assert found(engine, "elliot") == {pryce}  # the child's, as extracted
    assert found(engine, "PRYCE") == {pryce}
    assert found(engine, "joanne.pryce@example.com") == {pryce}
    assert found(engine, "07700 900555") == {shah}  # typed as a coordinator says it
    assert found(engine, "+44 7700 900418") == {pryce}
    assert found(engine, "kent") == {shah}
    assert found(engine, "nobody-like-this") == set()


def test_the_search_follows_a_corrected_la_and_a_party_added_later(engine, cases):
    _, shah = cases
    with session_scope(engine) as db:
        case_id = case_id_for_reference(db, shah)
        assert case_id is not None
        edit_field(db, case_id, "coordinator@example.org", "local_authority", "Hampshire")
        add_party(db, case_id, ensure_contact(db, email="grace.okafor@example.org", name="Grace Okafor"), "la_officer")
        add_party(db, case_id, ensure_contact(db, email="sam@example.org"), "parent")
    with session_scope(engine) as db:
        ensure_contact(db, email="sam@example.org", name="Sam Adeyemi")  # the name learned from a later email
    assert found(engine, "hampshire") == {shah}
    assert found(engine, "kent") == set()
    assert found(engine, "okafor") == {shah}
    assert found(engine, "grace.okafor@example.org") == {shah}
    assert found(engine, "adeyemi") == {shah}
