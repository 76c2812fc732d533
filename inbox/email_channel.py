"""Email, the outbox's first channel (models.outbox_channel.Channel): composed from the row's
templates (inbox.compose), sent over SMTP or recorded by the console transport (inbox.transports).

Everything the dispatcher once knew of email lives here: a row written without a Message-ID gets
one before its first send (`prepare`), a template that cannot render is a permanent failure, and
one SMTP connection serves a whole dispatch round (`batch`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from inbox.compose import TemplateError, render_email, render_parts
from inbox.transports import ConsoleTransport, EmailTransport, SmtpTransport, transport_from_settings
from models.outbox import OutboxMessage
from models.outbox_channel import Channel, Rendered
from models.outbox_claims import PermanentSendError
from models.outbox_ops import make_message_id
from models.settings import Settings


class EmailChannel(Channel):
    name = "email"

    def __init__(self, settings: Settings, transport: EmailTransport, *, templates_dir: Path | None = None) -> None:
        self.settings = settings
        self.email_transport = transport
        self.templates_dir = templates_dir
        self.transport = _kind(transport)

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailChannel:
        """SMTP when MDESK_SMTP_HOST is set, else the console transport (inbox.transports)."""
        return cls(settings, transport_from_settings(settings))

    def prepare(self, row: OutboxMessage) -> dict[str, Any]:
        # Intake writes its rows with a Message-ID; a row written without one gets it before the
        # first send, so every retry reuses it and a bounce or reply can still find the row.
        return {} if row.message_id else {"message_id": make_message_id(self.settings.mail_from_domain)}

    def render(self, row: OutboxMessage) -> Rendered:
        with _template_failure():
            subject, text, html = render_parts(row, settings=self.settings, templates_dir=self.templates_dir)
        return Rendered(to=row.to, body=text, subject=subject, html=html)

    def send(self, row: OutboxMessage) -> str:
        with _template_failure():
            msg = render_email(row, settings=self.settings, templates_dir=self.templates_dir)
        return self.email_transport.send(msg)

    @contextmanager
    def batch(self) -> Iterator[None]:
        batch = getattr(self.email_transport, "batch", None)  # a bare EmailTransport need not have one
        if batch is None:
            yield
            return
        with batch():
            yield


@contextmanager
def _template_failure() -> Iterator[None]:
    """A template that cannot render fails the row for good: the server is not at fault."""
    try:
        yield
    except TemplateError as exc:
        raise PermanentSendError(str(exc)) from exc


def _kind(transport: EmailTransport) -> str:
    if isinstance(transport, SmtpTransport):
        return "smtp"
    if isinstance(transport, ConsoleTransport):
        return "console"
    return type(transport).__name__
