"""Each outbox channel on /healthz and in the metrics, by name, as the daemon keeps them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.engine import Engine

from inbox.email_channel import EmailChannel
from inbox.transports import ConsoleTransport
from models import db
from models.db import session_scope
from models.outbox_claims import TransportUnavailable
from models.outbox_ops import enqueue
from models.settings import Settings
from scheduler.daemon import Daemon
from scheduler.dispatch import Dispatcher
from tests.fake_channels import RecordingSms
from tests.webserver import serve
from web.app import create_app
from web.health import ComponentState, Health

NUMBER = "+447700900123"


@pytest.fixture
def daemon(settings: Settings) -> Iterator[Daemon]:
    daemon = Daemon(settings)
    db.upgrade(daemon.engine)
    yield daemon
    daemon.engine.dispose()


def two_channels(daemon: Daemon, sms: RecordingSms) -> Dispatcher:
    email = EmailChannel(daemon.settings, ConsoleTransport(daemon.settings.var_dir / "sent"))
    return Dispatcher(daemon.engine, daemon.settings, {"email": email, "sms": sms}, worker="w")


def enqueue_sms(engine: Engine) -> None:
    with session_scope(engine) as session:
        enqueue(session, key="sms:1", channel="sms", to=NUMBER, template="reminder", context={})


def test_healthz_reports_each_channel_by_name(daemon: Daemon) -> None:
    sms = RecordingSms(TransportUnavailable("20003 Authentication Error"))
    dispatcher = two_channels(daemon, sms)
    enqueue_sms(daemon.engine)

    daemon._dispatch(dispatcher)

    with serve(create_app(daemon.engine, daemon.health)) as base:
        body = httpx.get(f"{base}/healthz").json()
    assert "transport" not in body
    assert body["channels"]["email"]["state"] == "ok" and body["channels"]["email"]["detail"] == "console"
    assert body["channels"]["sms"]["state"] == "failing"
    assert body["channels"]["sms"]["detail"] == "20003 Authentication Error"
    assert body["channels"]["sms"]["since"] is not None
    assert body["status"] == "ok"  # a channel down delays messages; it does not make the desk degraded


def test_a_failed_dispatch_round_shows_on_every_channel_and_is_logged_at_error(
    daemon: Daemon, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenBatch(RecordingSms):
        @contextmanager
        def batch(self) -> Iterator[None]:
            raise RuntimeError(f"bug while opening a batch for {NUMBER}")
            yield

    dispatcher = two_channels(daemon, BrokenBatch())
    enqueue_sms(daemon.engine)

    daemon._dispatch(dispatcher)  # the scheduler's job: must not raise

    states = {name: (c.state, c.detail) for name, c in daemon.health.channels.items()}
    assert states == {
        "email": ("failing", "dispatch round failed: RuntimeError"),
        "sms": ("failing", "dispatch round failed: RuntimeError"),
    }
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "RuntimeError" in error.getMessage() and NUMBER not in error.getMessage()


def test_a_channel_state_dates_its_last_change_not_its_last_round() -> None:
    state = ComponentState()
    t0, t1, t2 = (datetime(2026, 12, 3, 9, minute, tzinfo=UTC) for minute in (0, 1, 2))
    state.update("ok", "smtp", now=t0)
    state.update("ok", "smtp", now=t1)
    assert state.since == t0
    state.update("failing", "SMTP connection failed", now=t2)
    assert (state.state, state.detail, state.since) == ("failing", "SMTP connection failed", t2)


def test_healthz_lists_the_channels_the_daemon_has(engine: Engine) -> None:
    health = Health()
    health.channel("email").update("ok", "smtp")
    health.channel("sms")  # not yet dispatched
    with serve(create_app(engine, health)) as base:
        channels = httpx.get(f"{base}/healthz").json()["channels"]
    assert {name: c["state"] for name, c in channels.items()} == {"email": "ok", "sms": "unknown"}


def test_metrics_say_the_outbox_lag_is_unknown_when_the_database_cannot_answer(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no tables: every query fails
    try:
        with serve(create_app(engine)) as base:
            response = httpx.get(f"{base}/metrics")
    finally:
        engine.dispose()
    assert response.status_code == 200  # the other figures still count
    assert "mdesk_outbox_lag_seconds NaN" in response.text  # not a stale number
    assert any(r.levelno == logging.ERROR and "OperationalError" in r.getMessage() for r in caplog.records)
