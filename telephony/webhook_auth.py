"""Is this request from Twilio? Its X-Twilio-Signature, checked with the twilio package's RequestValidator
against the address Twilio used: MDESK_PUBLIC_BASE_URL + path + query (behind a proxy the app's own
URL differs), and the form exactly as sent (repeated keys kept).

Without an auth token (development), webhooks are checked against a development token kept in
VAR_DIR/twilio-dev-token, made on first use and printed at start-up, so a developer can sign requests
(`twilio.request_validator.RequestValidator(token).compute_signature(...)`) and nothing is ever open.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

from models.settings import Settings

log = logging.getLogger(__name__)

DEV_TOKEN_FILE = "twilio-dev-token"
Form = ImmutableMultiDict[str, str]  # a webhook's parameters, repeated keys kept


def dev_token_path(settings: Settings) -> Path:
    return settings.var_dir / DEV_TOKEN_FILE


def webhook_token(settings: Settings) -> str:
    """The secret Twilio signs webhooks with: the auth token, or the development token."""
    if settings.twilio_auth_token:
        return settings.twilio_auth_token
    path = dev_token_path(settings)
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    try:
        # O_EXCL: two processes starting at once agree on the token the first one wrote.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(token + "\n")
    return token


class WebhookAuth:
    def __init__(self, token: str, public_base_url: str) -> None:
        self.validator = RequestValidator(token)
        self.base = public_base_url.rstrip("/")

    def url_for(self, path: str, query: str = "") -> str:
        """The address Twilio requested (and signed): the public base, the path, the query."""
        return self.base + path + (f"?{query}" if query else "")

    def form(self, body: bytes) -> Form:
        """The form as sent, repeated keys kept. Twilio sends application/x-www-form-urlencoded UTF-8."""
        return Form(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))

    def verify(self, path: str, query: str, form: Form, signature: str | None) -> str | None:
        """None when the signature is right; otherwise why not ("missing", "wrong"), for the log."""
        if not signature:
            return "missing"
        if not self.validator.validate(self.url_for(path, query), form, signature):
            return "wrong"
        return None
