"""Reminders through real daemons (forked processes running scheduler.daemon.Daemon) to the local
Twilio-like sink: killed with SIGKILL during a burst, ten times, each reminder still sent exactly once;
the same through the real SMS channel (the Twilio SDK) to the local Twilio-like API, each daemon killed
in the worst moment (Twilio has taken the SMS, the daemon has not heard back); two daemons on one
PostgreSQL sending one burst with no duplicates, and leadership passing when the leader is killed."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from models.db import make_engine, session_scope, upgrade
from models.outbox import SENT, OutboxMessage
from models.outbox_ops import enqueue_id
from models.settings import Settings
from models.telephony import SmsMessage
from models.types import utcnow
from scheduler.leadership import LOCK_KEY
from tests.conftest import PG_URL
from tests.sms_sink import SinkSms, SmsSink
from tests.twilio_api_server import fake_twilio
from tests.twilio_webhooks import ACCOUNT, PUBLIC, TOKEN

FORK = multiprocessing.get_context("fork")


@pytest.fixture
def sink() -> Iterator[SmsSink]:
    server = SmsSink()
    yield server
    server.close()


def seed(engine: Engine, count: int) -> set[str]:
    """`count` reminder rows, all due now, each with its own key: a burst."""
    now = utcnow()
    keys = set()
    with session_scope(engine) as db:
        for n in range(count):
            key = f"reminder:s{n // 4}:v0:c{n % 4}:sms:2h"
            keys.add(key)
            enqueue_id(
                db,
                key=key,
                channel="sms",
                to=f"+4477009{n:05d}",
                template="session_reminder",
                context={"offset": "2h", "expires_at": (now + timedelta(days=1)).isoformat()},
                automatic=False,
                due_at=now,
                fresh=True,
            )
    return keys


def _daemon(var_dir: str, url: str, sink_url: str) -> None:
    # A short lease, so a killed daemon's claims pass on soon; no mail-reading processes (no mail here).
    settings = Settings(
        _env_file=None,
        var_dir=Path(var_dir),
        database_url=url,
        outbox_lease_seconds=2,
        outbox_batch=10,
        read_timeout_seconds=0,
    )
    from scheduler.daemon import Daemon

    Daemon(settings, channels={"sms": SinkSms(sink_url)}).run(web=False)


def start_daemon(var_dir: Path, url: str, sink: SmsSink):
    process = FORK.Process(target=_daemon, args=(str(var_dir), url, sink.url), daemon=True)
    process.start()
    return process


def sent_count(engine: Engine) -> int:
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == SENT)).one()


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_sigkill_during_a_burst_ten_times_sends_each_reminder_once(tmp_path, sink):
    url = f"sqlite:///{tmp_path / 'mdesk.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    keys = seed(engine, 200)
    kills = 0
    for _ in range(10):
        process = start_daemon(tmp_path, url, sink)
        got_some = sink.wait_for(len(sink.sends) + 10, timeout=60)
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        kills += 1
        if not got_some:
            break
    assert kills == 10 and len(sink.sends) < len(keys)  # every kill fell inside the burst
    process = start_daemon(tmp_path, url, sink)
    assert wait_until(lambda: sent_count(engine) == len(keys), timeout=90)
    os.kill(process.pid, signal.SIGTERM)
    process.join(30)
    counts = sink.counts()
    assert set(counts) == keys
    assert [key for key, n in counts.items() if n != 1] == []
    engine.dispose()


def _twilio_daemon(var_dir: str, url: str, api_url: str) -> None:
    # The daemon's own channels (channels_from_settings): the real SmsChannel through the Twilio SDK.
    settings = Settings(
        _env_file=None,
        var_dir=Path(var_dir),
        database_url=url,
        outbox_lease_seconds=2,
        outbox_batch=10,
        read_timeout_seconds=0,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_api_url=api_url,
        public_base_url=PUBLIC,
    )
    from scheduler.daemon import Daemon

    Daemon(settings).run(web=False)


def test_sigkill_after_twilio_took_an_sms_sends_it_once_through_the_real_sms_channel(tmp_path):
    url = f"sqlite:///{tmp_path / 'mdesk.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    numbers = set()
    with session_scope(engine) as db:
        for n in range(40):
            numbers.add(f"+4477009{n:05d}")
            enqueue_id(
                db,
                key=f"crash:{n}",
                channel="sms",
                to=f"+4477009{n:05d}",
                template="help",
                context={"office": "london"},
                automatic=False,
                due_at=utcnow(),
                fresh=True,
            )
    with fake_twilio() as api:
        daemon = None
        kill_at = 0
        killed: list[str] = []  # the number whose SMS Twilio took as its daemon died
        died = threading.Event()

        def die_mid_send(form: dict[str, str]) -> bool:
            if daemon is None or len(api.sent) < kill_at:
                return False
            os.kill(daemon.pid, signal.SIGKILL)  # before Twilio's answer reaches it
            killed.append(form["To"])
            died.set()
            return True

        api.on_taken = die_mid_send
        for _ in range(3):
            died.clear()
            kill_at = len(api.sent) + 5
            daemon = FORK.Process(target=_twilio_daemon, args=(str(tmp_path), url, api.base), daemon=True)
            daemon.start()
            assert died.wait(60)
            daemon.join()
        daemon = None
        last = FORK.Process(target=_twilio_daemon, args=(str(tmp_path), url, api.base), daemon=True)
        last.start()
        assert wait_until(lambda: sent_count(engine) == len(numbers), timeout=60)
        os.kill(last.pid, signal.SIGTERM)
        last.join(30)
        sends = Counter(form["To"] for form in api.sent)
    assert len(killed) == 3 and len(sends) == len(numbers) == len(set(sends))
    assert [number for number, n in sends.items() if n != 1] == []  # the three taken as a daemon died too
    with Session(engine) as db:
        rows = {row.to: row for row in db.exec(select(OutboxMessage))}
        recorded = {sms.message_sid: sms for sms in db.exec(select(SmsMessage))}
    sid_of = {form["To"]: form["sid"] for form in api.sent}
    for number in killed:  # recorded sent with the sid Twilio gave the dead daemon, as a normal send would be
        assert rows[number].provider_id == sid_of[number]
        assert recorded[sid_of[number]].outbox_id == rows[number].id
    engine.dispose()


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, Engine]]:
    from tests.conftest import _postgres_engine

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin, engine = _postgres_engine(schema)
    upgrade(engine)
    yield schema, engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _leader(engine: Engine) -> str | None:
    """The application_name of the daemon holding the scheduler's advisory lock, if any."""
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND (l.classid::bigint << 32 | l.objid::bigint) = :key"
            ),
            {"key": LOCK_KEY},
        ).scalar()


@pytest.mark.postgres
def test_two_daemons_on_one_postgresql_send_a_burst_once_and_leadership_passes(tmp_path, sink, pg_schema):
    schema, engine = pg_schema
    keys = seed(engine, 200)
    daemons = {}
    for name in ("daemon-a", "daemon-b"):
        url = f"{PG_URL}?options=-csearch_path%3D{schema}&application_name={name}"
        (tmp_path / name).mkdir()
        daemons[name] = start_daemon(tmp_path / name, url, sink)
    try:
        assert wait_until(lambda: sent_count(engine) == len(keys), timeout=90)
        counts = sink.counts()
        assert set(counts) == keys and [key for key, n in counts.items() if n != 1] == []

        assert wait_until(lambda: _leader(engine) is not None, timeout=30)
        leader = _leader(engine)
        assert leader in daemons
        os.kill(daemons[leader].pid, signal.SIGKILL)
        daemons[leader].join()
        follower = next(name for name in daemons if name != leader)
        assert wait_until(lambda: _leader(engine) == follower, timeout=30)  # taken over within 30 s
    finally:
        for process in daemons.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
                process.join(30)
