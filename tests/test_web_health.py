"""/healthz and /metrics over real HTTP on loopback."""

from __future__ import annotations

import httpx

from models import metrics
from tests.webserver import serve
from web.app import create_app
from web.health import Health


def test_healthz_reports_database_mailbox_and_transport(engine):
    health = Health()
    health.mailbox.state, health.transport.state = "idle", "ok"
    with serve(create_app(engine, health)) as base:
        response = httpx.get(f"{base}/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["state"] == "ok"
    assert body["mailbox"]["state"] == "idle" and body["transport"]["state"] == "ok"


def test_healthz_says_degraded_when_the_mailbox_is_unreachable(engine):
    health = Health()
    health.mailbox.state, health.mailbox.detail = "disconnected", "ConnectionRefusedError"
    with serve(create_app(engine, health)) as base:
        response = httpx.get(f"{base}/healthz")
    assert response.status_code == 503
    assert response.json()["mailbox"]["detail"] == "ConnectionRefusedError"


def test_metrics_are_prometheus_text_with_the_intake_counters(engine):
    before = metrics.CASES_OPENED._value.get()
    metrics.CASES_OPENED.inc()
    with serve(create_app(engine)) as base:
        response = httpx.get(f"{base}/metrics")
    assert f"mdesk_cases_opened_total {before + 1}" in response.text  # the live value, not just the name
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    for name in (
        "mdesk_messages_in_total",
        "mdesk_cases_opened_total",
        "mdesk_quarantined_total",
        "mdesk_outbox_sent_total",
        "mdesk_outbox_failed_total",
        "mdesk_outbox_lag_seconds",
        "mdesk_intake_lag_seconds",
    ):
        assert name in response.text
