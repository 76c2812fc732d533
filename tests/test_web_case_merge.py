"""Merging two cases on the desk over real uvicorn: the two-step form, CSRF, refusals on the case
page, the merged case's reference leading to the survivor."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from inbox.intake import Intake
from inbox.sources.base import MessageKey, SourceMessage
from models.cases import Case
from tests import mailfactory
from tests.desk import add_staff, csrf_of, sign_in
from tests.webserver import serve
from web.app import create_app

_uids = iter(range(1, 10_000))


@pytest.fixture
def base(engine, web_settings):
    add_staff(engine)
    with serve(create_app(engine, settings=web_settings)) as url:
        yield url


@pytest.fixture
def two(engine, web_settings) -> tuple[Case, Case]:
    """The parent's referral, then the school's about the same child."""
    intake = Intake(engine, web_settings)
    for raw in (
        mailfactory.referral(),
        mailfactory.referral(sender="Mr Hale <senco@school.example.org>", subject="Referral for Elliot Pryce"),
    ):
        intake.handle(SourceMessage(MessageKey("imap://t@localhost/INBOX", 1, str(next(_uids))), raw))
    with Session(engine) as session:
        first, second = session.exec(select(Case).order_by(Case.id)).all()
    return first, second


def test_two_steps_show_both_cases_then_merge_and_the_old_reference_leads_to_the_survivor(engine, base, two):
    first, second = two
    client, _ = sign_in(base)
    case_page = client.get(f"/cases/{second.reference}").text
    assert '<label for="merge-other">Merge with another case</label>' in case_page
    # Step 1 is a GET form on the case page; step 2 shows both, the survivor first, and changes nothing.
    confirm = client.get(f"/cases/{second.reference}/merge", params={"other": first.reference.lower()})
    assert confirm.status_code == 200
    rows = re.findall(r'<th scope="row"><a href="/cases/([^"]+)">', confirm.text)
    assert rows == [first.reference, second.reference]
    assert "Elliot" in confirm.text and "Carries on: opened first, its clock started the same day" in confirm.text
    assert f"Merge {second.reference} into {first.reference}</button>" in confirm.text
    with Session(engine) as session:
        assert session.get(Case, second.id).merged_into_id is None
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text).group(1)  # type: ignore[union-attr]
    other = re.search(r'name="other" value="([^"]+)"', confirm.text).group(1)  # type: ignore[union-attr]
    done = client.post(f"/cases/{second.reference}/merge", data={"other": other, "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{first.reference}#timeline"
    survivor = client.get(f"/cases/{first.reference}").text
    assert f"Merged into this case: {second.reference}" in survivor
    assert f"{second.reference} (new) merged into this case" in survivor
    old = client.get(f"/cases/{second.reference}")
    assert old.status_code == 303 and old.headers["location"] == f"/cases/{first.reference}"
    # The same form sent again: nothing more happens, and the page says it was merged already.
    again = client.get(f"/cases/{first.reference}/merge", params={"other": second.reference})
    assert f"{second.reference} was already merged into {first.reference}; nothing to do." in again.text
    assert "</button>" not in again.text.split("<table>")[1]
    with Session(engine) as session:
        assert session.get(Case, second.id).merged_into_id == first.id


def test_the_merge_post_without_its_token_gets_403_and_changes_nothing(engine, base, two):
    first, second = two
    client, _ = sign_in(base)
    forged = client.post(f"/cases/{first.reference}/merge", data={"other": second.reference})
    assert forged.status_code == 403
    wrong = client.post(f"/cases/{first.reference}/merge", data={"other": second.reference, "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    with Session(engine) as session:
        assert session.get(Case, second.id).merged_into_id is None
        assert session.get(Case, first.id).merged_into_id is None


def test_refusals_come_back_on_the_case_page(engine, base, two):
    first, second = two
    client, _ = sign_in(base)
    unknown = client.get(f"/cases/{first.reference}/merge", params={"other": "MD-26-ZZZZ"})
    assert unknown.status_code == 409 and "No case has the reference MD-26-ZZZZ." in unknown.text
    assert 'role="alert"' in unknown.text and f"<h1>{first.reference}" in unknown.text
    itself = client.post(
        f"/cases/{first.reference}/merge", data={"other": first.reference, "csrf_token": csrf_of(client)}
    )
    assert itself.status_code == 409 and "is this case: enter the other case&#39;s reference." in itself.text
    token = csrf_of(client, f"/cases/{second.reference}")
    closed = client.post(f"/cases/{second.reference}/status", data={"status": "closed", "csrf_token": token})
    assert closed.status_code == 303
    refused = client.post(
        f"/cases/{first.reference}/merge", data={"other": second.reference, "csrf_token": csrf_of(client)}
    )
    assert refused.status_code == 409
    assert f"{second.reference} is closed: reopen it first if it really is the same family&#39;s case." in refused.text
    with Session(engine) as session:
        assert session.get(Case, second.id).merged_into_id is None
