"""/healthz and /metrics over real HTTP on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx

from models import db, metrics
from tests.webserver import serve
from web.app import create_app
from web.health import Health


def test_healthz_reports_database_mailbox_and_channels(engine):
    health = Health()
    health.mailbox.state = "idle"
    health.channel("email").update("ok", "smtp")
    with serve(create_app(engine, health)) as base:
        response = httpx.get(f"{base}/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["state"] == "ok"
    assert body["mailbox"]["state"] == "idle" and body["channels"]["email"]["state"] == "ok"


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


HOLD_EXCLUSIVE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


def test_healthz_answers_in_time_and_says_locked_while_another_process_holds_the_database(tmp_path):
    path = tmp_path / "mdesk.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_EXCLUSIVE, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout.readline() == b"locked\n"
        with serve(create_app(engine, Health())) as base:
            response = httpx.get(f"{base}/healthz", timeout=3)  # intake itself would wait 30 s for the lock
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
        engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["database"]["state"] == "locked"


HOLD_WRITE_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")  # as intake holds it while it writes a batch
print("writing", flush=True)
sys.stdin.read()
"""


def test_metrics_answer_with_the_outbox_lag_while_intake_holds_the_write_lock(tmp_path):
    path = tmp_path / "mdesk.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout.readline() == b"writing\n"
        with serve(create_app(engine, Health())) as base:
            # A reader that asked for the write lock would wait the 30 s busy timeout, then report NaN.
            response = httpx.get(f"{base}/metrics", timeout=10)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
        engine.dispose()
    assert response.status_code == 200
    assert "mdesk_outbox_lag_seconds 0.0" in response.text


def test_healthz_says_the_database_file_was_deleted(tmp_path):
    path = tmp_path / "mdesk.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    path.unlink()
    with serve(create_app(engine, Health())) as base:
        response = httpx.get(f"{base}/healthz", timeout=3)
    engine.dispose()
    assert response.status_code == 503
    database = response.json()["database"]
    assert database["state"] == "replaced" and str(path) in database["detail"]


def test_healthz_answers_in_time_when_the_database_server_hangs():
    # A PostgreSQL host that accepts the connection and then says nothing (a hung server, a stuck
    # proxy): libpq would wait for its greeting; /healthz does not.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen()
        engine = db.make_engine(f"postgresql+psycopg://mdesk@127.0.0.1:{hung.getsockname()[1]}/mdesk")
        with serve(create_app(engine, Health())) as base:
            response = httpx.get(f"{base}/healthz", timeout=3)
        engine.dispose()
    assert response.status_code == 503
    assert response.json()["database"]["state"] == "not answering"
