"""A second outbox channel for tests, written against models.outbox_channel.Channel alone."""

from __future__ import annotations

from models.outbox import OutboxMessage
from models.outbox_channel import Channel, Rendered


class RecordingSms(Channel):
    """A second channel written against models.outbox_channel.Channel alone, as SMS will be: it
    records the rows it is given and answers with each of the outcomes the interface allows."""

    name = "sms"
    transport = "test"

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)  # raised by the next sends, in order
        self.given: list[tuple[str, str, dict]] = []

    def render(self, row: OutboxMessage) -> Rendered:
        return Rendered(to=row.to, body=f"{row.template}: {row.context}")

    def send(self, row: OutboxMessage) -> str:
        self.given.append((row.to, row.template, row.context))
        if self.failures:
            raise self.failures.pop(0)
        return f"SM{len(self.given):032d}"
