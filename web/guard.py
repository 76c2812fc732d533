"""Every request but a few open ones needs a signed-in coordinator; every unsafe request needs its
form token (CSRF); every response carries the security headers.

A pure ASGI middleware rather than a dependency on each route, so a route added later cannot forget
it: unknown paths are guarded too. Open: health and metrics (no personal data), the static assets,
the sign-in page, the Twilio webhooks (they check Twilio's signature instead) and the token calendar
feeds (the token is their key).

The form token is checked here for every POST, PUT, PATCH and DELETE: the `csrf_token` field of a
urlencoded form, or the `X-CSRF-Token` header (the page's script sends that). The body is read once,
bounded, and handed on unchanged.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, quote

from anyio import to_thread
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.db import session_scope
from models.staff_ops import Staff, check_token, record_check

SESSION_COOKIE = "mdesk_session"
LOGIN_CSRF_COOKIE = "mdesk_login_csrf"
OPEN_EXACT = frozenset({"/healthz", "/metrics", "/login", "/favicon.ico"})
OPEN_PREFIXES = ("/static/", "/twilio/", "/calendar/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 1024 * 1024
CSRF_REFUSED = "This form has expired or did not come from this site. Go back, reload the page and try again."
# No script, style, image, frame or form target but our own; nothing may frame us. Email HTML is
# sanitised on top of this (web/email_html.py): the policy is what holds if sanitising ever misses.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; media-src 'self'; object-src 'none'; frame-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def is_open(path: str) -> bool:
    return path in OPEN_EXACT or path.startswith(OPEN_PREFIXES)


def cookie_value(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed Cookie header signs nobody in
                return None
            if name in jar:
                return jar[name].value
    return None


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class DeskGuard:
    def __init__(self, app: ASGIApp, *, engine: Engine, idle: timedelta) -> None:
        self.app = app
        self.engine = engine
        self.idle = idle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send, private=not scope["path"].startswith("/static/"))
        path = scope["path"]
        if is_open(path):
            await self.app(scope, receive, send)
            return
        token = cookie_value(scope, SESSION_COOKIE)
        staff = await to_thread.run_sync(self._staff, token) if token else None
        if staff is None:
            await _refuse_unsigned(scope, send)
            return
        scope.setdefault("state", {})["staff"] = staff
        if scope["method"] not in SAFE_METHODS:
            body = await _read_body(receive)
            if body is None:
                await _plain(send, 413, "The form is too large.")
                return
            if not _csrf_ok(scope, body, staff.csrf_token):
                await _plain(send, 403, CSRF_REFUSED)
                return
            receive = _replay(body)
        await self.app(scope, receive, send)

    def _staff(self, token: str) -> Staff | None:
        # Read without the write lock; write (at most every 30 s a session, or to end it) only if asked.
        with Session(self.engine.execution_options(sqlite_begin="DEFERRED")) as session:
            check = check_token(session, token, idle=self.idle)
        if check.write:
            with session_scope(self.engine) as session:
                record_check(session, check)
        return check.staff


def form_token(body: bytes) -> str | None:
    try:
        values = parse_qs(body.decode("utf-8"), keep_blank_values=True).get("csrf_token")
    except UnicodeDecodeError:
        return None
    return values[0] if values else None


def _csrf_ok(scope: Scope, body: bytes, expected: str) -> bool:
    given = header(scope, b"x-csrf-token")
    content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
    if given is None and content_type == "application/x-www-form-urlencoded":
        given = form_token(body)
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _with_headers(send: Send, *, private: bool) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {key.lower() for key, _ in headers}
            headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            if private and b"cache-control" not in present:
                headers.append((b"cache-control", b"no-store"))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def _refuse_unsigned(scope: Scope, send: Send) -> None:
    """A page asked for in a browser goes to sign-in (and back after); anything else gets 401."""
    wants_page = (
        scope["method"] in ("GET", "HEAD")
        and not scope["path"].startswith("/api/")
        and header(scope, b"hx-request") is None
        and header(scope, b"x-requested-with") is None
    )
    if not wants_page:
        await _plain(send, 401, "Sign in first.", extra=[(b"www-authenticate", b'Cookie realm="mdesk"')])
        return
    target = scope["path"] + (("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else "")
    location = "/login?next=" + quote(target, safe="")
    await send({"type": "http.response.start", "status": 303, "headers": [(b"location", location.encode())]})
    await send({"type": "http.response.body", "body": b""})


async def _plain(send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode()})
