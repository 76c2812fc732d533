"""What /healthz reports: a snapshot the daemon's parts keep up to date, read by the web app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ComponentState:
    state: str = "unknown"  # e.g. connected, idle, disconnected, ok, failing, disabled
    detail: str = ""
    since: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "detail": self.detail,
            "since": self.since.isoformat() if self.since else None,
            **self.extra,
        }


@dataclass
class Health:
    """Filled by the daemon (mailbox watcher, dispatcher); the web app only reads it."""

    mailbox: ComponentState = field(default_factory=ComponentState)
    transport: ComponentState = field(default_factory=ComponentState)
