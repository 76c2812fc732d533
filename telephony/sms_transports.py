"""Sending one SMS: through Twilio, or recorded by the console transport (the embedded default).

A transport returns the provider's id or raises one of the outbox's three errors
(models.outbox_claims), sorted here where Twilio's answer is known:

    429, 5xx, a timeout                      TransientSendError (retried with backoff)
    no connection, 401/403 (our credentials) TransportUnavailable (our outage: retried, never failed)
    400 21211 / 21610 / 21614                PermanentSendError, the number undeliverable by SMS
    any other 4xx                            PermanentSendError with Twilio's code and message

`find` asks whether the provider already has a message (after a worker died between Twilio taking
it and the outbox recording it). Its failures never let the row go out blind, nor fail it for good
on their own: a timeout, 429, 5xx or any unexpected answer is a TransientSendError (looked up again
after the backoff, failed at the attempt cap like any retried row); no connection or 401/403 is
TransportUnavailable (our outage: retried, never failed).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
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

# Messages per page of a lookup: the messages to one number from one office in a day or so fit in one.
LOOKUP_PAGE_SIZE = 50
# Messages read, newest first, looking for one still queued at Twilio (no date_sent yet).
LOOKUP_UNDATED = 200
# At most this many sent since the row's earliest send are read: a bound on a runaway listing.
LOOKUP_DATED = 1000


@dataclass(frozen=True, slots=True)
class Sent:
    sid: str
    status: str  # as the provider first reported it ("queued", "accepted", "recorded")


class SmsTransport(Protocol):
    kind: str

    def send(self, *, to: str, body: str, from_number: str, status_callback: str) -> Sent: ...

    def find(self, *, to: str, body: str, from_number: str, since: datetime) -> Sent | None:
        """The message the provider took since `since` (UTC) to `to` with this body from this sender, if any."""
        ...


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
            # Twilio may have taken it: retried, and the retry first looks for it (find).
            raise TransientSendError(f"Twilio did not answer in time: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            raise TransportUnavailable(f"Twilio's API cannot be reached: {type(exc).__name__}") from exc
        return Sent(str(message.sid), str(message.status or "queued"))

    def find(self, *, to: str, body: str, from_number: str, since: datetime) -> Sent | None:
        try:
            return self._look(to=to, body=body, from_number=from_number, since=since)
        except TwilioRestException as exc:
            said = f"Twilio {exc.status} looking up an earlier send: {exc.msg}"
            if exc.status in (401, 403):
                raise TransportUnavailable(
                    f"{said} (check MDESK_TWILIO_ACCOUNT_SID and MDESK_TWILIO_AUTH_TOKEN)"
                ) from exc
            raise TransientSendError(said, code=exc.code if isinstance(exc.code, int) else None) from exc
        except TwilioException as exc:
            # A list page the SDK could not read says so with this and the HTTP response, not a code.
            status = getattr(exc.args[1], "status_code", None) if len(exc.args) > 1 else None
            if status in (401, 403):
                raise TransportUnavailable(
                    f"Twilio {status} looking up an earlier send"
                    " (check MDESK_TWILIO_ACCOUNT_SID and MDESK_TWILIO_AUTH_TOKEN)"
                ) from exc
            raise TransientSendError(f"Twilio {status} looking up an earlier send") from exc
        except requests.Timeout as exc:
            raise TransientSendError(f"Twilio did not answer a lookup in time: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            raise TransportUnavailable(f"Twilio's API cannot be reached: {type(exc).__name__}") from exc
        except (ValueError, KeyError, TypeError) as exc:  # an answer not shaped as Twilio's
            raise TransientSendError(f"Twilio's lookup answer could not be read: {type(exc).__name__}") from exc

    def _look(self, *, to: str, body: str, from_number: str, since: datetime) -> Sent | None:
        # With a Messaging Service Twilio picks the sender, so the listing is by recipient and the
        # service is checked on each message instead.
        sender = {} if self.messaging_service_sid else {"from_": from_number}
        # Twilio's DateSent filter goes by whole days (GMT): it narrows the listing to `since`'s day on,
        # and the time is checked here.
        dated = self.client.messages.stream(
            to=to, date_sent_after=since, page_size=LOOKUP_PAGE_SIZE, limit=LOOKUP_DATED, **sender
        )
        for message in dated:
            if self._is_it(message, body, from_number, since):
                return Sent(str(message.sid), str(message.status or "queued"))
        # One Twilio took but still holds in its queue (a burst from one number drains at its send rate)
        # has no date_sent, so no DateSent filter shows it: the newest messages, undated, read down to
        # `since` (Twilio lists newest first), at most LOOKUP_UNDATED of them.
        undated = self.client.messages.stream(to=to, page_size=LOOKUP_PAGE_SIZE, limit=LOOKUP_UNDATED, **sender)
        for message in undated:
            if message.date_created is not None and message.date_created < since:
                break
            if message.date_sent is None and self._is_it(message, body, from_number, since):
                return Sent(str(message.sid), str(message.status or "queued"))
        return None

    def _is_it(self, message: Any, body: str, from_number: str, since: datetime) -> bool:
        # A message still queued at Twilio has no date_sent yet: when it was created is when it was taken.
        when = message.date_sent or message.date_created
        if not str(message.direction or "").startswith("outbound") or message.body != body:
            return False
        if when is None or when < since:
            return False
        if self.messaging_service_sid:
            return message.messaging_service_sid == self.messaging_service_sid
        return message.from_ == from_number


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

    def find(self, *, to: str, body: str, from_number: str, since: datetime) -> Sent | None:
        return None  # a record is written whole or not at all (os.replace): nothing to look for
