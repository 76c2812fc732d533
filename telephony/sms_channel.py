"""SMS, the outbox's second channel (models.outbox_channel.Channel): the row's text from
templates/sms/, sent from the office's number (or the configured Messaging Service) with a status
callback, through Twilio or the console transport. What was sent is kept by its MessageSid
(models.telephony.SmsMessage) for the status callbacks and `sms list`.

A row's context may name the office ("office": "london"); otherwise the national office sends.
"""

from __future__ import annotations

import logging
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
from telephony.sms_transports import ConsoleSmsTransport, SmsTransport, TwilioSmsTransport
from telephony.texts import render_text
from telephony.twilio_api import twilio_client

STATUS_CALLBACK = "/twilio/sms/status"
log = logging.getLogger(__name__)


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
        if self.engine is not None:
            with session_scope(self.engine) as session:
                sms_status.record_outbound(
                    session,
                    sent.sid,
                    from_number=office.phone,
                    to_number=to,
                    body=rendered.body,
                    status=sent.status,
                    segments=shape.count,
                    encoding=shape.encoding,
                    office=office.region,
                    outbox_id=row.id,
                    case_id=row.case_id,
                )
        return sent.sid
