"""Sending one SMS: through Twilio, or recorded by the console transport (the embedded default).

A transport returns the provider's id or raises one of the outbox's three errors
(models.outbox_claims), sorted here where Twilio's answer is known:

    429, 5xx, a timeout                      TransientSendError (retried with backoff)
    no connection, 401/403 (our credentials) TransportUnavailable (our outage: retried, never failed)
    400 21211 / 21610 / 21614                PermanentSendError, the number undeliverable by SMS
    any other 4xx                            PermanentSendError with Twilio's code and message
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from models.outbox_claims import PermanentSendError, TransientSendError, TransportUnavailable
from models.types import utcnow

log = logging.getLogger(__name__)

# Twilio's codes for a recipient number that will never take this SMS.
UNDELIVERABLE = {
    21211: "invalid 'To' phone number",
    21610: "recipient unsubscribed (STOP)",
    21614: "not a mobile number",
}


@dataclass(frozen=True, slots=True)
class Sent:
    sid: str
    status: str  # as the provider first reported it ("queued", "accepted", "recorded")


class SmsTransport(Protocol):
    kind: str

    def send(self, *, to: str, body: str, from_number: str, status_callback: str) -> Sent: ...


class TwilioSmsTransport:
    kind = "twilio"

    def __init__(self, client: Client, messaging_service_sid: str = "") -> None:
        self.client = client
        self.messaging_service_sid = messaging_service_sid

    def send(self, *, to: str, body: str, from_number: str, status_callback: str) -> Sent:
        sender = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": from_number}
        )
        try:
            message = self.client.messages.create(to=to, body=body, status_callback=status_callback, **sender)
        except TwilioRestException as exc:
            raise _sorted(exc, to) from exc
        except requests.Timeout as exc:
            # Twilio may have taken it: retried (a rare duplicate beats a lost reminder), as SMTP does.
            raise TransientSendError(f"Twilio did not answer in time: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            raise TransportUnavailable(f"Twilio's API cannot be reached: {type(exc).__name__}") from exc
        return Sent(str(message.sid), str(message.status or "queued"))


def _sorted(exc: TwilioRestException, to: str) -> Exception:
    code = exc.code if isinstance(exc.code, int) else None
    said = f"Twilio {exc.status}" + (f" error {code}" if code else "") + f": {exc.msg}"
    if exc.status == 429 or exc.status >= 500:
        return TransientSendError(said, code=code)
    if exc.status in (401, 403):
        return TransportUnavailable(f"{said} (check MDESK_TWILIO_ACCOUNT_SID and MDESK_TWILIO_AUTH_TOKEN)", code=code)
    if code in UNDELIVERABLE:
        return PermanentSendError(said, code=code, undeliverable=to)
    return PermanentSendError(said, code=code)


class ConsoleSmsTransport:
    """Records each SMS as a JSON file in a folder instead of sending it; never touches the network."""

    kind = "console"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def send(self, *, to: str, body: str, from_number: str, status_callback: str) -> Sent:
        sid = "SM" + secrets.token_hex(16)  # shaped like Twilio's, so the rest cannot tell
        record = {"sid": sid, "to": to, "from": from_number, "body": body, "at": utcnow().isoformat()}
        name = f"{utcnow():%Y%m%dT%H%M%S%fZ}-{sid}.json"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f".{name}.part"
            partial.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(partial, self.folder / name)
        except OSError as exc:
            raise TransientSendError(f"could not record the SMS: {exc}") from exc
        log.info("console SMS transport: recorded %s", name)
        return Sent(sid, "recorded")
