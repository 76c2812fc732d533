"""Sign-in and sign-out. The sign-in form has no session yet, so its CSRF token is double-submitted:
a random value in a cookie of its own and in the form, which must match."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine

from models.db import session_scope
from models.settings import Settings
from models.staff_ops import RateLimited, sign_in, sign_out
from web.guard import LOGIN_CSRF_COOKIE, SESSION_COOKIE, cookie_value
from web.render import page, staff_of


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (//evil.example, https://...)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/inbox"
    return target


def router(engine: Engine, settings: Settings) -> APIRouter:
    r = APIRouter()

    def login_page(request: Request, *, error: str = "", status_code: int = 200, email: str = "") -> HTMLResponse:
        # One token per browser until it signs in: a second tab (or the favicon's redirect here) must
        # not invalidate the form already open.
        token = cookie_value(request.scope, LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = page(
            request,
            "login.html",
            status_code=status_code,
            csrf=token,
            error=error,
            email=email,
            next=safe_next(request.query_params.get("next")),
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, secure=settings.cookie_secure, samesite="strict", path="/login"
        )
        return response

    @r.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @r.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        return login_page(request)

    @r.post("/login")
    def login(
        request: Request,
        email: str = Form(""),
        password: str = Form(""),
        csrf_token: str = Form(""),
        next: str = Form("/inbox"),
    ) -> Response:
        expected = cookie_value(request.scope, LOGIN_CSRF_COOKIE) or ""
        if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
            return Response("This form has expired. Reload the sign-in page and try again.", status_code=403)
        client = request.client.host if request.client else "unknown"
        try:
            with session_scope(engine) as session:
                result = sign_in(session, email, password, client=client, max_failures=settings.login_max_failures)
        except RateLimited as exc:
            return login_page(request, error=f"Sign-in is paused: {exc}.", status_code=429, email=email)
        if result is None:
            return login_page(
                request, error="That email address and password do not match.", status_code=401, email=email
            )
        token, _staff = result
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE, token, httponly=True, secure=settings.cookie_secure, samesite="lax", path="/"
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @r.post("/logout")
    def logout(request: Request) -> Response:
        staff = staff_of(request)
        with session_scope(engine) as session:
            sign_out(session, staff)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return r
