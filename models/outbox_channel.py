"""What the outbox dispatcher needs of a channel (email, SMS, ...): render a row, send it, and
sort a failure. The dispatcher holds a mapping name -> Channel and knows nothing else of them.

Failures are sorted by raising one of the three errors of `models.outbox_claims`, not by returning
a classification: the transport knows what went wrong at the point it catches its library's error
(smtplib's, Twilio's), and an exception is the one shape that carries the reason, the provider's
code and the undeliverable address there without a second success-or-failure type.

    TransientSendError    retried with backoff, failed at the attempt cap
    TransportUnavailable  our own outage (relay down, credentials refused): retried, never failed
    PermanentSendError    failed with the reason; `undeliverable` marks the address (a bounce)

A template that cannot render is a PermanentSendError too: the row, not the server, is wrong.
Anything else a channel raises is a bug: the dispatcher keeps the row for a retry and logs it.

A channel subclasses `Channel` to inherit the defaults of `prepare` and `batch`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from models.outbox import OutboxMessage


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a row sends, as its recipient will read it (for a preview before it goes)."""

    to: str
    body: str
    subject: str | None = None  # email only
    html: str | None = None  # email's HTML alternative, when its template has one


class Channel(Protocol):
    name: str  # the rows' `channel` value it sends ("email", "sms")
    transport: str  # what carries it, shown on /healthz ("smtp", "console", ...)
    # Rows it may send at once, each from its own thread (an HTTP API: SMS); 1: one at a time, in order
    # (SMTP over one connection).
    parallel: int = 1

    def render(self, row: OutboxMessage) -> Rendered:
        """The row as it would be sent; PermanentSendError when its template cannot render."""
        ...

    def send(self, row: OutboxMessage) -> str:
        """Render and send the row; the provider's id for it. Raises the errors above."""
        ...

    def prepare(self, row: OutboxMessage) -> dict[str, Any]:
        """Fields to fix on the row before its first send (committed by the dispatcher, so every
        retry reuses them): email's Message-ID, which replies and bounces find the row by."""
        return {}

    def find_sent(self, row: OutboxMessage) -> str | None:
        """The provider's id for this row if the provider already has it, else None. Asked before sending
        again a row claimed before (its worker died, perhaps after the provider accepted it and before
        `record_sent`; or a send timed out): a channel whose provider can say (an SMS API listing what
        it accepted) makes that crash cost no second message. A lookup that fails raises one of the
        errors above, so the row is retried rather than sent blind. Default: cannot tell."""
        return None

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Around one dispatch round's sends (SMTP keeps one connection open for all of them)."""
        yield
