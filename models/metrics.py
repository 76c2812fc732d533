"""Process-wide counters for /metrics (Prometheus). Channels count; the web app exposes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry()

MESSAGES_IN = Counter(
    "mdesk_messages_in", "Messages taken in from the mailbox, by outcome", ["outcome"], registry=REGISTRY
)
CASES_OPENED = Counter("mdesk_cases_opened", "Cases opened from email", registry=REGISTRY)
QUARANTINED = Counter("mdesk_quarantined", "Messages put in quarantine", registry=REGISTRY)
OUTBOX_SENT = Counter("mdesk_outbox_sent", "Outbox messages sent", ["channel"], registry=REGISTRY)
OUTBOX_FAILED = Counter("mdesk_outbox_failed", "Outbox messages failed for good", ["channel"], registry=REGISTRY)
INTAKE_LAG = Gauge(
    "mdesk_intake_lag_seconds", "From a message's Date header to its case step committed", registry=REGISTRY
)
OUTBOX_LAG = Gauge("mdesk_outbox_lag_seconds", "How long the oldest due outbox message has waited", registry=REGISTRY)
# Once per message taken in (committed), for each classifier rule that fired on it.
CLASSIFIER_RULE_HITS = Counter(
    "mdesk_classifier_rule_hits_total", "Classifier rules that fired, by rule", ["rule"], registry=REGISTRY
)
# A reading step that raised: a bug, counted by step ("classify:<rule>", "extract:<field>"), once per
# message taken in; the message went on without that part.
PIPELINE_ERRORS = Counter(
    "mdesk_pipeline_errors_total", "Faults in a reading step (a bug), by step", ["step"], registry=REGISTRY
)
MAILBOX_SKIPPED = Counter(
    "mdesk_mailbox_skipped_files",
    "Entries in the drop folder left where they are: unreadable, or not a regular file (each counted once)",
    registry=REGISTRY,
)
