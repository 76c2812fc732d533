"""Process-wide counters for /metrics (Prometheus). Channels count; the web app exposes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry()

MESSAGES_IN = Counter(
    "mdesk_messages_in", "Messages taken in from the mailbox, by outcome", ["outcome"], registry=REGISTRY
)
PIPELINE_ERRORS = Counter(
    "mdesk_pipeline_errors",
    "Bugs caught in reading a message, by step (extract.<field>): the message went on without that part",
    ["step"],
    registry=REGISTRY,
)
CASES_OPENED = Counter("mdesk_cases_opened", "Cases opened from email", registry=REGISTRY)
QUARANTINED = Counter("mdesk_quarantined", "Messages put in quarantine", registry=REGISTRY)
OUTBOX_SENT = Counter("mdesk_outbox_sent", "Outbox messages sent", ["channel"], registry=REGISTRY)
OUTBOX_FAILED = Counter("mdesk_outbox_failed", "Outbox messages failed for good", ["channel"], registry=REGISTRY)
INTAKE_LAG = Gauge(
    "mdesk_intake_lag_seconds", "From a message's Date header to its case step committed", registry=REGISTRY
)
OUTBOX_LAG = Gauge("mdesk_outbox_lag_seconds", "How long the oldest due outbox message has waited", registry=REGISTRY)
