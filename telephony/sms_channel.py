"""SMS, the outbox's second channel (models.outbox_channel.Channel): the row's text from
templates/sms/, sent from the office's number (or the configured Messaging Service) with a status
callback, through Twilio or the console transport. What was sent is kept by its MessageSid
(models.telephony.SmsMessage) for the status callbacks and `sms list`.

A row's context may name the office ("office": "london"); otherwise the national office sends.

`find_sent` is what makes a crash between Twilio taking an SMS and the outbox recording it cost no
second SMS: the dispatcher asks it before sending again a row it has claimed before, and it looks in
Twilio's list of messages for one to the row's number, from the sender this row uses, whose text is
exactly what this row renders, taken no earlier than this row could have been sent (see
`earliest_send`). A lookup that fails is a retry, never a blind send (telephony.sms_transports).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.engine import Engine

from models.db import session_scope
from models.offices import Office, all_offices, office_by_region
from models.outbox import OutboxMessage
from models.outbox_channel import Channel, Rendered
from models.outbox_claims import PermanentSendError
from models.phones import to_e164
from models.settings import Settings
from telephony import sms_status
from telephony.segments import count_segments
from telephony.sms_transports import ConsoleSmsTransport, Sent, SmsTransport, TwilioSmsTransport
from telephony.texts import render_text
from telephony.twilio_api import twilio_client

STATUS_CALLBACK = "/twilio/sms/status"
log = logging.getLogger(__name__)
# How far Twilio's clock may be behind ours: a message it took is looked for from this much earlier.
CLOCK_SKEW = timedelta(minutes=2)


def earliest_send(row: OutboxMessage) -> datetime:
    """The earliest moment any earlier attempt of this row can have reached Twilio (less CLOCK_SKEW).

    The lapsed claim's own time is gone (the new claim overwrote it). A row never retried (no
    last_error) still has the due_at it was written with, and no claim comes before due_at; a row
    retried has had its due_at moved by the backoff, so only its creation bounds its attempts. Never
    before the row was written, so an identical text sent earlier by another row is not taken for it.
    """
    start = max(row.created_at, row.due_at) if row.last_error is None else row.created_at
    return start - CLOCK_SKEW


class SmsChannel(Channel):
    name = "sms"

    def __init__(self, settings: Settings, transport: SmsTransport, engine: Engine | None = None) -> None:
        self.settings = settings
        self.sms_transport = transport
        self.transport = transport.kind
        self.engine = engine

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> SmsChannel:
        """Twilio when its account SID and auth token are set, else the console (VAR_DIR/sent-sms)."""
        if settings.twilio_configured:
            transport: SmsTransport = TwilioSmsTransport(twilio_client(settings), settings.twilio_messaging_service_sid)
        else:
            transport = ConsoleSmsTransport(settings.var_dir / "sent-sms")
        return cls(settings, transport, engine)

    def office_of(self, row: OutboxMessage) -> Office:
        return office_by_region(str(row.context.get("office") or "")) or all_offices()[-1]

    def render(self, row: OutboxMessage) -> Rendered:
        context: dict[str, Any] = {key: value for key, value in row.context.items() if key != "office"}
        try:
            body = render_text(
                "sms", row.template, office=self.office_of(row), service_name=self.settings.service_name, **context
            )
        except TemplateError as exc:
            raise PermanentSendError(f"SMS template {row.template!r} cannot render: {exc}") from exc
        return Rendered(to=row.to, body=body)

    def send(self, row: OutboxMessage) -> str:
        rendered = self.render(row)
        to = to_e164(rendered.to)
        if to is None:
            raise PermanentSendError("not a phone number an SMS can go to", undeliverable=rendered.to)
        office = self.office_of(row)
        callback = self.settings.effective_public_base_url + STATUS_CALLBACK
        shape = count_segments(rendered.body)
        if shape.encoding == "UCS-2":
            # A character outside GSM-7 (a curly quote) sends the whole text as UCS-2 at up to twice the cost:
            # the template (or a value put in it) should say it in GSM-7. Template and count only: no text.
            log.warning("outbox %s: SMS %r goes as UCS-2, %d segments", row.id, row.template, shape.count)
        sent = self.sms_transport.send(to=to, body=rendered.body, from_number=office.phone, status_callback=callback)
        self._record(row, sent, to=to, body=rendered.body, office=office)
        return sent.sid

    def find_sent(self, row: OutboxMessage) -> str | None:
        """Twilio's MessageSid for this row if Twilio already took it (see the module's note), recorded
        as `send` records one; None if not (or the transport cannot tell: the console)."""
        rendered = self.render(row)
        to = to_e164(rendered.to)
        if to is None:
            return None  # `send` says why it cannot go
        office = self.office_of(row)
        found = self.sms_transport.find(to=to, body=rendered.body, from_number=office.phone, since=earliest_send(row))
        if found is None:
            return None
        self._record(row, found, to=to, body=rendered.body, office=office)
        return found.sid

    def _record(self, row: OutboxMessage, sent: Sent, *, to: str, body: str, office: Office) -> None:
        """The SMS as sent, by its MessageSid, for the status callbacks and `sms list`."""
        if self.engine is None:
            return
        shape = count_segments(body)
        with session_scope(self.engine) as session:
            sms_status.record_outbound(
                session,
                sent.sid,
                from_number=office.phone,
                to_number=to,
                body=body,
                status=sent.status,
                segments=shape.count,
                encoding=shape.encoding,
                office=office.region,
                outbox_id=row.id,
                case_id=row.case_id,
            )
