"""Helpers for the web desk's tests: a staff account, a signed-in HTTP client, hostile mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import httpx
from sqlalchemy.engine import Engine

from models.db import session_scope
from models.settings import Settings
from models.staff_ops import add_user
from models.types import utcnow
from tests.webserver import serve
from web.app import create_app

PASSWORD = "correct horse battery staple"
HOSTILE_HTML = """<html><head><style>body { display: none } .x { position: fixed; top: 0 }</style></head><body>
<p>Hello, my daughter <b>Maya Okafor</b> needs mediation with Camden council.</p>
<script>window.__pwned = 'script';</script>
<img src="x" onerror="window.__pwned = 'onerror'">
<p><a href="javascript:window.__pwned='link'">Click to see her plan</a></p>
<div style="position:fixed;top:0;left:0;width:100%;height:100%;background:white;z-index:9999">FAKE OVERLAY TEXT</div>
<p style="display:none">HIDDEN TEXT</p>
<img src="http://tracker.invalid/pixel.png" alt="tracker">
<blockquote>On Monday you wrote: an earlier message</blockquote>
</body></html>"""


def add_staff(
    engine: Engine, email: str = "coord@example.org", *, role: str = "coordinator", name: str = "Cora Ordinator"
) -> int:
    with session_scope(engine) as session:
        return add_user(session, email=email, name=name, role=role, office="london", password=PASSWORD)


def login_token(client: httpx.Client) -> str:
    page = client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def sign_in(
    base: str, email: str = "coord@example.org", password: str = PASSWORD
) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=base, timeout=30)
    token = login_token(client)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": "/inbox"})
    return client, response


@contextmanager
def signed_in(engine: Engine, settings: Settings) -> Iterator[httpx.Client]:
    """A coordinator signed in to the web desk, served over real HTTP on loopback."""
    add_staff(engine)
    with serve(create_app(engine, settings=settings)) as base:
        client, response = sign_in(base)
        assert response.status_code == 303
        yield client


def csrf_of(client: httpx.Client, path: str = "/inbox") -> str:
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def hostile_referral(sender: str = "Grace Okafor <grace.okafor@example.com>") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "referrals@mediation-desk.example.org"
    msg["Subject"] = "Mediation request for Maya"
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content("Hello, my daughter Maya Okafor needs mediation with Camden council.\n")
    msg.add_alternative(HOSTILE_HTML, subtype="html")
    msg.add_attachment(b"<script>alert(1)</script>", maintype="text", subtype="html", filename="plan.html")
    return msg.as_bytes()
