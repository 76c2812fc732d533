"""Sending Twilio's webhooks to our app as Twilio does: the parameters it sends (from the fixtures in
../shared/corpus/twilio/ where present), form-encoded, signed with the twilio package's RequestValidator
against the public address the app is configured with (not the loopback one it listens on)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

from models.settings import Settings
from models.workdays import WorkingDayCalendar
from telephony.routes import TwilioWebhooks
from tests.conftest import CORPUS
from tests.webserver import serve
from web.app import create_app

PUBLIC = "https://desk.example.org"
TOKEN = "test-auth-token-0123456789abcdef"
LONDON = "+442073593635"
NATIONAL = "+443330062835"
ACCOUNT = "AC" + "0" * 32

# Twilio's own template of an incoming call's parameters, where the shared fixtures are present.
_FIXTURE = CORPUS / "twilio" / "incoming_call.plugin-webhook.json"


def base_call_params() -> dict[str, str]:
    if _FIXTURE.exists():
        params = dict(json.loads(_FIXTURE.read_text(encoding="utf-8"))["request"]["body"])
    else:
        params = {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "Direction": "inbound"}
    params["AccountSid"] = ACCOUNT
    return params


class Twilio:
    """Twilio, as our webhooks see it."""

    def __init__(self, base: str, token: str = TOKEN, public: str = PUBLIC) -> None:
        self.base = base
        self.public = public
        self.validator = RequestValidator(token)
        self.http = httpx.Client(base_url=base, timeout=10)

    def sign(self, path: str, params: Mapping[str, str] | list[tuple[str, str]]) -> str:
        return self.validator.compute_signature(
            self.public + path, dict(params) if isinstance(params, list) else params
        )

    def post(self, path: str, params: Mapping[str, str], *, signature: str | None = "sign") -> httpx.Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "sign":
            signature = self.sign(path, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return self.http.post(path, data=dict(params), headers=headers)

    # A call's webhooks, with what Twilio sends for each.
    def call(self, sid: str, caller: str, to: str = LONDON, **extra: str) -> httpx.Response:
        params = base_call_params() | {
            "CallSid": sid,
            "From": caller,
            "Caller": caller,
            "To": to,
            "Called": to,
            "CallStatus": "ringing",
        }
        return self.post("/twilio/voice", params | extra)

    def dial_action(self, sid: str, status: str, office: str = "london", duration: int = 0) -> httpx.Response:
        params = {"AccountSid": ACCOUNT, "CallSid": sid, "DialCallStatus": status, "CallStatus": "in-progress"}
        if status == "completed":
            params["DialCallDuration"] = str(duration)
            params["DialCallSid"] = "CA" + sid[2:][::-1]
        return self.post(f"/twilio/voice/dial?office={office}", params)

    def recorded(self, sid: str, rec: str, seconds: int) -> httpx.Response:
        params = {"AccountSid": ACCOUNT, "CallSid": sid, "RecordingSid": rec, "RecordingDuration": str(seconds)}
        params["RecordingUrl"] = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{rec}"
        return self.post("/twilio/voice/recorded", params)

    def recording(self, sid: str, rec: str, seconds: int) -> httpx.Response:
        params = {
            "AccountSid": ACCOUNT,
            "CallSid": sid,
            "RecordingSid": rec,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{rec}",
            "RecordingStatus": "completed",
            "RecordingDuration": str(seconds),
            "RecordingChannels": "1",
            "RecordingSource": "RecordVerb",
        }
        return self.post("/twilio/voice/recording", params)

    def transcription(self, sid: str, rec: str, text: str) -> httpx.Response:
        params = {
            "AccountSid": ACCOUNT,
            "CallSid": sid,
            "RecordingSid": rec,
            "TranscriptionSid": "TR" + rec[2:],
            "TranscriptionText": text,
            "TranscriptionStatus": "completed",
            "TranscriptionType": "fast",
            "url": "https://api.twilio.com/x",
        }
        return self.post("/twilio/voice/transcription", params)

    def status(
        self, sid: str, caller: str, status: str = "completed", duration: int = 0, to: str = LONDON
    ) -> httpx.Response:
        params = {
            "AccountSid": ACCOUNT,
            "CallSid": sid,
            "From": caller,
            "To": to,
            "Direction": "inbound",
            "CallStatus": status,
            "CallDuration": str(duration),
            "Timestamp": "Thu, 03 Dec 2026 12:00:00 +0000",
            "SequenceNumber": "0",
        }
        return self.post("/twilio/voice/status", params)

    def sms(self, sid: str, sender: str, body: str, to: str = LONDON) -> httpx.Response:
        params = {
            "AccountSid": ACCOUNT,
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "From": sender,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        return self.post("/twilio/sms", params)

    def sms_status(self, sid: str, status: str, to: str, error: int | None = None) -> httpx.Response:
        params = {"AccountSid": ACCOUNT, "MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status}
        params |= {"To": to, "From": LONDON, "ApiVersion": "2010-04-01"}
        if error is not None:
            params["ErrorCode"] = str(error)
        return self.post("/twilio/sms/status", params)


def twilio_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "var_dir": tmp_path / "var",
        "public_base_url": PUBLIC,
        "twilio_account_sid": ACCOUNT,
        "twilio_auth_token": TOKEN,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[arg-type]


@contextmanager
def running_app(engine, settings: Settings, at: datetime | None = None) -> Iterator[Twilio]:
    """The web app on loopback with real uvicorn, its clock standing at `at` (None: the real clock)."""
    kwargs = {"clock": (lambda: at)} if at is not None else {}
    webhooks = TwilioWebhooks(engine, settings, WorkingDayCalendar(), **kwargs)  # type: ignore[arg-type]
    with serve(create_app(engine, settings=settings, twilio=webhooks)) as base:
        twilio = Twilio(base, token=settings.twilio_auth_token or TOKEN)
        try:
            yield twilio
        finally:
            twilio.http.close()
