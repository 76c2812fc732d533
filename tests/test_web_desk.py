"""The coordinators' desk over real uvicorn: sign-in, the guard on every route, CSRF, the inbox, the
case page and its actions, hostile mail made inert, attachments as downloads, filtered mail."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import update
from sqlmodel import Session, select

from inbox.intake import Intake
from inbox.sources.base import MessageKey, SourceMessage
from models.cases import Case
from models.db import session_scope
from models.desk import CaseAttention, StaffSession
from models.mail import InboundMessage
from models.outbox import OutboxMessage
from models.staff import AuditEvent
from models.types import utcnow
from tests import mailfactory
from tests.cli import run_main
from tests.desk import PASSWORD, add_staff, csrf_of, hostile_referral, login_token, sign_in
from tests.webserver import serve
from web.app import create_app
from web.guard import is_open

_uids = iter(range(1, 10_000))


@pytest.fixture
def intake(engine, web_settings) -> Intake:
    return Intake(engine, web_settings)


def deliver(intake: Intake, raw: bytes) -> None:
    intake.handle(SourceMessage(MessageKey("imap://t@localhost/INBOX", 1, str(next(_uids))), raw))


@pytest.fixture
def app(engine, web_settings):
    add_staff(engine)
    return create_app(engine, settings=web_settings)


@pytest.fixture
def base(app):
    with serve(app) as url:
        yield url


def only_case(engine) -> Case:
    with Session(engine) as session:
        [case] = session.exec(select(Case)).all()
        return case


def test_every_route_but_the_open_ones_needs_sign_in(app, base):
    guarded = [r for r in app.state.desk_routes if isinstance(r, APIRoute) and not is_open(r.path)]
    assert len(guarded) >= 12
    client = httpx.Client(base_url=base)
    for route in guarded:
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in route.methods:
            response = client.request(method, path)
            if method == "GET" and not path.startswith("/api/"):
                assert response.status_code == 303, (method, path)
                assert response.headers["location"].startswith("/login?next=")
            else:
                assert response.status_code == 401, (method, path)
    assert client.get("/no/such/page").status_code == 303  # unknown paths are guarded too
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/metrics").status_code == 200


def test_sign_in_takes_you_where_you_were_going_and_sign_out_ends_the_session(base):
    client = httpx.Client(base_url=base)
    assert client.get("/filtered").headers["location"] == "/login?next=%2Ffiltered"
    token = login_token(client)
    response = client.post(
        "/login", data={"email": "COORD@example.org", "password": PASSWORD, "csrf_token": token, "next": "/filtered"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/filtered"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/filtered").status_code == 200
    stolen = dict(client.cookies)
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 303
    assert httpx.get(f"{base}/inbox", cookies=stolen).status_code == 303  # the old cookie signs nobody in


def test_sign_in_refuses_another_site_as_the_next_page(base):
    client = httpx.Client(base_url=base)
    token = login_token(client)
    data = {"email": "coord@example.org", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"}
    assert client.post("/login", data=data).headers["location"] == "/inbox"


def test_the_secure_flag_is_set_by_default(engine, settings):
    add_staff(engine)
    with serve(create_app(engine, settings=settings)) as url:
        form = httpx.get(f"{url}/login")
        assert "Secure" in form.headers["set-cookie"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        response = httpx.post(  # the browser would send the Secure cookie over https only: sent by hand here
            f"{url}/login",
            data={"email": "coord@example.org", "password": PASSWORD, "csrf_token": token},
            headers={"cookie": f"mdesk_login_csrf={token}"},
        )
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]


def test_failed_sign_ins_are_limited_even_with_the_right_password_after(base):
    client = httpx.Client(base_url=base)
    for _ in range(5):
        token = login_token(client)
        wrong = client.post("/login", data={"email": "coord@example.org", "password": "guess", "csrf_token": token})
        assert wrong.status_code == 401
        assert "do not match" in wrong.text
    token = login_token(client)
    right = client.post("/login", data={"email": "coord@example.org", "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 429 and "try again in" in right.text


def test_a_form_without_its_token_gets_403_and_changes_nothing(engine, base, intake):
    deliver(intake, mailfactory.referral())
    case = only_case(engine)
    client, _ = sign_in(base)
    without = client.post(f"/cases/{case.reference}/note", data={"text": "forged"})
    assert without.status_code == 403
    wrong = client.post(f"/cases/{case.reference}/note", data={"text": "forged", "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    login_without = httpx.post(f"{base}/login", data={"email": "coord@example.org", "password": PASSWORD})
    assert login_without.status_code == 403
    with_token = client.post(
        f"/cases/{case.reference}/note", data={"text": "Called mum", "csrf_token": csrf_of(client)}
    )
    assert with_token.status_code == 303
    page = client.get(f"/cases/{case.reference}").text
    assert "Called mum" in page and "forged" not in page


def test_an_idle_session_is_signed_out(engine, base):
    client, _ = sign_in(base)
    assert client.get("/inbox").status_code == 200
    with session_scope(engine) as session:
        session.exec(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    assert client.get("/inbox").status_code == 303
    assert client.get("/api/inbox").status_code == 401


def test_a_new_referral_is_in_the_inbox_and_leaves_it_when_triaged(engine, base, intake):
    client, _ = sign_in(base)
    assert "Nothing needs a person" in client.get("/inbox").text
    deliver(intake, mailfactory.referral())
    case = only_case(engine)
    inbox = client.get("/inbox").text
    assert case.reference in inbox and "New case" in inbox and "Elliot Pryce" in inbox
    assert case.reference in client.get("/inbox", params={"q": "joanne.pryce@example.com"}).text
    assert case.reference in client.get("/inbox", params={"q": "07700 900418"}).text
    assert case.reference in client.get("/inbox", params={"q": case.reference.lower()}).text
    assert case.reference not in client.get("/inbox", params={"q": "nobody-like-this"}).text
    assert case.reference not in client.get("/inbox", params={"status": "closed"}).text
    assert case.reference not in client.get("/inbox", params={"mine": "1"}).text
    token = csrf_of(client)
    refused = client.post(f"/cases/{case.reference}/status", data={"status": "session_held", "csrf_token": token})
    assert refused.status_code == 409 and "cannot move" in refused.text
    client.post(f"/cases/{case.reference}/status", data={"status": "triaged", "csrf_token": token})
    assert case.reference not in client.get("/inbox").text
    assert client.get("/api/inbox").json()["total"] == 0


def test_a_reply_on_a_case_waits_in_the_inbox_until_seen(engine, base, intake):
    deliver(intake, mailfactory.referral())
    case = only_case(engine)
    with Session(engine) as session:
        ack = session.exec(select(OutboxMessage)).one()
    deliver(intake, mailfactory.reply_to(ack.message_id, sender="joanne.pryce@example.com", subject="Re: ok"))
    client, _ = sign_in(base)
    token = csrf_of(client)
    client.post(f"/cases/{case.reference}/status", data={"status": "triaged", "csrf_token": token})
    assert "New reply" in client.get("/inbox").text
    client.post(f"/cases/{case.reference}/seen", data={"csrf_token": token})
    assert "New reply" not in client.get("/inbox").text
    with Session(engine) as session:
        assert session.exec(select(CaseAttention)).all() == []


def test_case_page_edits_are_audited_and_a_reply_is_queued_once(engine, base, intake):
    deliver(intake, mailfactory.referral())
    case = only_case(engine)
    client, _ = sign_in(base)
    token = csrf_of(client)
    client.post(
        f"/cases/{case.reference}/field", data={"name": "local_authority", "value": "Islington", "csrf_token": token}
    )
    page = client.get(f"/cases/{case.reference}").text
    assert "Local authority set to Islington" in page and "set by coord@example.org" in page
    assert only_case(engine).local_authority == "Islington"
    preview = client.post(
        f"/cases/{case.reference}/reply",
        data={
            "template": "coordinator_reply",
            "to": "joanne.pryce@example.com",
            "body": "We will call you on Tuesday.",
            "nonce": "n1",
            "intent": "preview",
            "csrf_token": token,
        },
    )
    assert "Your case " + case.reference in preview.text and "We will call you on Tuesday." in preview.text
    for _ in range(2):  # the same form sent twice
        client.post(
            f"/cases/{case.reference}/reply",
            data={
                "template": "coordinator_reply",
                "to": "joanne.pryce@example.com",
                "body": "We will call you on Tuesday.",
                "nonce": "n1",
                "intent": "send",
                "csrf_token": token,
            },
        )
    with Session(engine) as session:
        replies = session.exec(select(OutboxMessage).where(OutboxMessage.template == "coordinator_reply")).all()
        actions = [a.action for a in session.exec(select(AuditEvent).where(AuditEvent.entity == "case"))]
        field_edit = session.exec(select(AuditEvent).where(AuditEvent.action == "case.field_edited")).one()
    assert len(replies) == 1 and replies[0].automatic is False and replies[0].in_reply_to
    assert "case.viewed" in actions and "case.email_queued" in actions
    assert field_edit.actor == "coord@example.org" and field_edit.detail["after"] == "Islington"


def test_hostile_email_html_is_inert_and_attachments_are_downloads(engine, base, intake):
    deliver(intake, hostile_referral())
    case = only_case(engine)
    client, _ = sign_in(base)
    response = client.get(f"/cases/{case.reference}")
    html = response.text
    email = html[html.index('class="email-html"') :]
    email = email[: email.index("</article>")]
    assert "Maya Okafor" in email
    for bad in ("<script", "onerror", "javascript:", "<img", "style=", "tracker.invalid", "<style"):
        assert bad not in email.lower(), bad
    assert "Earlier messages (quoted)" in email
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "img-src 'self'" in csp and "style-src 'self'" in csp
    link = re.search(rf'href="(/cases/{case.reference}/attachments/\d+)"', html).group(1)
    download = client.get(link)
    assert download.headers["content-disposition"].startswith('attachment; filename="plan.html"')
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.content == b"<script>alert(1)</script>"
    other = client.get(f"/cases/MD-00-XXXX/attachments/{link.rsplit('/', 1)[1]}")
    assert other.status_code == 404


def test_a_wrongly_filtered_message_becomes_a_case_with_its_acknowledgement(engine, base, intake):
    raw = mailfactory.referral(
        sender="Sam Ade <sam.ade@example.com>", headers={"Auto-Submitted": "auto-generated", "Precedence": "bulk"}
    )
    deliver(intake, raw)
    with Session(engine) as session:
        message = session.exec(select(InboundMessage)).one()
        assert message.outcome == "automated" and session.exec(select(Case)).all() == []
    client, _ = sign_in(base)
    page = client.get("/filtered").text
    assert "sam.ade@example.com" in page
    for rule in message.rules:
        assert rule in page
    response = client.post(f"/filtered/{message.id}/open-case", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    case = only_case(engine)
    assert response.headers["location"] == f"/cases/{case.reference}"
    with Session(engine) as session:
        [ack] = session.exec(select(OutboxMessage)).all()
        again = session.get(InboundMessage, message.id)
    assert ack.template == "acknowledgement" and ack.to == "sam.ade@example.com" and ack.case_id == case.id
    assert again is not None and again.case_id == case.id
    twice = client.post(f"/filtered/{message.id}/open-case", data={"csrf_token": csrf_of(client)})
    assert twice.status_code == 409 and "already opened a case" in twice.text


def test_only_admins_read_the_audit_log(engine, base):
    add_staff(engine, "admin@example.org", role="admin", name="Ada Min")
    coordinator, _ = sign_in(base)
    assert coordinator.get("/admin/audit").status_code == 403
    admin, _ = sign_in(base, "admin@example.org")
    page = admin.get("/admin/audit").text
    assert "staff.signed_in" in page and "coord@example.org" in page


def test_user_add_from_the_command_line(tmp_path):
    env = {"MDESK_VAR_DIR": str(tmp_path / "var")}
    added = run_main(
        "user",
        "add",
        "new@example.org",
        "--name",
        "New Person",
        "--role",
        "admin",
        "--password-stdin",
        settings=env,
        input_text=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    again = run_main(
        "user",
        "add",
        "new@example.org",
        "--name",
        "N",
        "--role",
        "admin",
        "--password-stdin",
        settings=env,
        input_text=PASSWORD + "\n",
    )
    assert again.returncode == 2 and "already an account" in again.stderr
    short = run_main(
        "user",
        "add",
        "b@example.org",
        "--name",
        "B",
        "--role",
        "boss",
        "--password-stdin",
        settings=env,
        input_text="short\n",
    )
    assert short.returncode == 2 and "role must be one of coordinator, admin" in short.stderr


def test_the_report_counts_referrals_per_la_and_month_and_downloads_as_csv(engine, base, intake):
    deliver(intake, mailfactory.referral())
    deliver(intake, mailfactory.referral(sender="Other Parent <other@example.com>", subject="Certificate please",
                                         body="I need a mediation certificate. Camden is our council.\n"))  # fmt: skip
    client, _ = sign_in(base)
    page = client.get("/reports").text
    month = utcnow().strftime("%Y-%m")
    assert month in page and "Camden" in page
    csv_text = client.get("/reports", params={"format": "csv"}).text
    header, *lines = csv_text.strip().splitlines()
    assert header.startswith("month,local_authority,mediation,certificate")
    [camden] = [line for line in lines if ",Camden," in line]
    cells = dict(zip(header.split(","), camden.split(","), strict=True))
    assert (
        cells["month"] == month and cells["total"] == "2" and cells["mediation"] == "1" and cells["certificate"] == "1"
    )


def test_an_unplaced_email_is_attached_to_a_case_from_the_inbox(engine, base, intake):
    deliver(intake, mailfactory.referral())
    case = only_case(engine)
    with Session(engine) as session:
        ack = session.exec(select(OutboxMessage)).one()
    # A stranger answering our acknowledgement (forwarded to the school): no case takes it by itself.
    school = mailfactory.reply_to(
        ack.message_id, sender="School Office <office@school.example>", subject="Re: the meeting about Elliot"
    )
    deliver(intake, school)
    client, _ = sign_in(base)
    inbox = client.get("/inbox").text
    assert "Unplaced" in inbox and "office@school.example" in inbox
    inbound_id = re.search(r'action="/inbox/messages/(\d+)/attach"', inbox).group(1)
    response = client.post(
        f"/inbox/messages/{inbound_id}/attach",
        data={"reference": case.reference.lower(), "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 303 and response.headers["location"] == f"/cases/{case.reference}"
    page = client.get(f"/cases/{case.reference}").text
    assert "Email attached by a coordinator: Re: the meeting about Elliot" in page
    assert "Unplaced" not in client.get("/inbox").text
