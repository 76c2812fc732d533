"""The extraction step table: its order is checked, and a step that raises is a fault a coordinator sees.

A real email that trips a bug is not at hand (it would be fixed), so these tests run a copy of the table
with a failing step in it: the table is data, and running a copy is how a new channel would too.
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from inbox.extract import STEPS, extract_referral
from inbox.extract.step import Step, check_table, one
from models.la_directory import load_directory
from tests.test_extract import make_msg

BODY = (
    "My son Max Rowe (DOB 01/01/2015) needs mediation, Haringey refused to assess. "
    "Call me on 07700 900123.\n\nThanks,\nJo Bloggs"
)


def _failing(ctx, got):
    raise ValueError(f"could not read {ctx.msg.new_text}")  # a bug whose message quotes the email


def _with_failing(name: str) -> tuple[Step, ...]:
    return tuple(dataclasses.replace(s, read=_failing) if s.name == name else s for s in STEPS)


def test_a_failing_step_loses_only_its_field_and_says_so(caplog):
    caplog.set_level(logging.DEBUG)
    r = extract_referral(make_msg(BODY), directory=load_directory(), steps=_with_failing("child_dob"))
    assert r.child_dob is None
    assert r.problems == ["the child_dob reader failed (a fault, not missing from the email)"]
    assert r.faults == ["child_dob"]
    # Everything else is still read.
    assert (r.child_name, r.local_authority, r.service) == ("Max Rowe", "Haringey", "mediation")
    assert r.contact_phone == "+447700900123"
    assert r.to_dict()["problems"] == r.problems  # stored with the case's draft
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert [rec.getMessage() for rec in errors] == ["referral extraction: the child_dob step failed (ValueError)"]
    above_debug = " ".join(f"{rec.getMessage()} {rec.exc_text or ''}" for rec in caplog.records if rec.levelno > 10)
    assert "Max" not in above_debug and "Haringey" not in above_debug


def test_without_faults_nothing_is_recorded():
    r = extract_referral(make_msg(BODY), directory=load_directory())
    assert r.faults == [] and r.problems == []
    assert r.child_dob is not None


def test_a_step_that_needs_a_later_one_is_refused():
    phone = next(s for s in STEPS if s.name == "contact_phone")
    role = next(s for s in STEPS if s.name == "referrer_role")
    with pytest.raises(ValueError, match="needs"):
        check_table([phone, role])
    check_table([role, phone])


def test_a_field_filled_twice_or_unknown_is_refused():
    role = next(s for s in STEPS if s.name == "referrer_role")
    with pytest.raises(ValueError, match="already filled"):
        check_table([role, dataclasses.replace(role, name="again")])
    with pytest.raises(ValueError, match="names no referral field"):
        check_table([dataclasses.replace(role, fills=("mood",))])


def test_a_step_returning_a_field_it_does_not_declare_is_a_fault():
    def school_writing_the_service(ctx, got):
        return one("service", "certificate", None)

    sneaky = tuple(dataclasses.replace(s, read=school_writing_the_service) if s.name == "school" else s for s in STEPS)
    r = extract_referral(make_msg(BODY), directory=load_directory(), steps=sneaky)
    assert r.faults == ["school"] and r.service == "mediation"
