"""10,000 reminders falling due within one minute, sent by real daemons (scheduler.daemon.Daemon, forked)
to a local Twilio-like SMS endpoint (tests/sms_sink.py; telephony's Twilio channel is not used yet):
sends/s, lateness (received at the endpoint minus due) p50/p99/max, duplicates, missed.

Baseline in the same run: the endpoint alone, posted to in a loop from one process (no database), so the
daemons' rate reads as a fraction of what the endpoint and this machine allow.

Usage: python bench/reminders.py [--count 10000] [--spread 60] [--daemons 1] [--postgres]
       (--postgres: a fresh schema in MDESK_BENCH_POSTGRES_URL, default the test database on 127.0.0.1)
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import bindparam, create_engine, text, update
from sqlmodel import Session, func, select

from models.db import make_engine, session_scope, upgrade
from models.outbox import MISSED, PENDING, SENDING, OutboxMessage
from models.outbox_ops import enqueue_id
from models.settings import Settings
from tests.sms_sink import SinkSms, SmsSink

PG_URL = os.environ.get("MDESK_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LEAD_SECONDS = 5.0  # the burst starts this long after seeding, so the daemons are up


def _daemon(var_dir: str, url: str, sink_url: str) -> None:
    from scheduler.daemon import Daemon

    # read_timeout_seconds=0: no mail-reading processes (a forked daemon has no mail to read here)
    settings = Settings(_env_file=None, var_dir=Path(var_dir), database_url=url, read_timeout_seconds=0)
    Daemon(settings, channels={"sms": SinkSms(sink_url)}).run(web=False)


def seed(url: str, count: int) -> list[str]:
    """`count` reminder rows, parked far in the future until `schedule` sets when they fall due."""
    engine = make_engine(url)
    upgrade(engine)
    parked = datetime(2100, 1, 1, tzinfo=UTC)
    keys = []
    with session_scope(engine) as db:
        for n in range(count):
            key = f"reminder:s{n // 4}:v0:c{n % 4}:sms:2h"
            keys.append(key)
            enqueue_id(
                db,
                key=key,
                channel="sms",
                to=f"+447700{n:06d}",
                template="session_reminder",
                context={"offset": "2h", "expires_at": parked.isoformat()},
                automatic=False,
                due_at=parked,
                fresh=True,
            )
    engine.dispose()
    return keys


def schedule(url: str, keys: list[str], spread: float) -> dict[str, datetime]:
    """The rows fall due evenly over `spread` seconds from LEAD_SECONDS from now (one executemany)."""
    start = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
    due = {key: start + timedelta(seconds=spread * n / len(keys)) for n, key in enumerate(keys)}
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    statement = update(table).where(table.c.idempotency_key == bindparam("key")).values(due_at=bindparam("due"))
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(statement, [{"key": key, "due": when} for key, when in due.items()])
    engine.dispose()
    return due


def baseline(sink: SmsSink, count: int) -> float:
    """Posts a second from one process to the endpoint, no database."""
    from models.outbox import OutboxMessage as Row

    channel = SinkSms(sink.url)
    began = time.perf_counter()
    for n in range(count):
        channel.send(Row(idempotency_key=f"baseline:{n}", channel="sms", to="+447700900000", template="x"))
    return count / (time.perf_counter() - began)


def outstanding(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            return db.exec(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_([PENDING, SENDING]))  # type: ignore[attr-defined]
            ).one()
    finally:
        engine.dispose()


def missed(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            return db.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == MISSED)).one()
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which they fall due")
    parser.add_argument("--daemons", type=int, default=1)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: max instances" while a round runs

    work = Path(tempfile.mkdtemp(prefix="mdesk-bench-reminders-"))
    schema = None
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{work / 'mdesk.sqlite3'}"

    sink = SmsSink()
    base_rate = baseline(sink, 1000)
    sink.sends.clear()
    sink.by_key.clear()
    keys = seed(url, args.count)
    context = multiprocessing.get_context("fork")
    daemons = []
    for n in range(args.daemons):
        (work / f"d{n}").mkdir()
        process = context.Process(target=_daemon, args=(str(work / f"d{n}"), url, sink.url), daemon=True)
        process.start()
        daemons.append(process)
    due = schedule(url, keys, args.spread)
    limit = time.time() + LEAD_SECONDS + args.spread + 120
    sink.wait_for(args.count, timeout=max(0.0, limit - time.time()))
    while outstanding(url) and time.time() < limit:  # a row missed (not sent) ends too
        time.sleep(0.5)
    for process in daemons:
        os.kill(process.pid, signal.SIGTERM)
    for process in daemons:
        process.join(30)

    sends = list(sink.sends)
    counts = sink.counts()
    lateness = sorted(max(0.0, at - due[key].timestamp()) for key, _, at in sends if key in due)
    first = min(at for _, _, at in sends) if sends else 0.0
    last = max(at for _, _, at in sends) if sends else 0.0
    sent_keys = set(counts)
    store = f"PostgreSQL, {args.daemons} daemon(s)" if args.postgres else f"SQLite, {args.daemons} daemon(s)"
    print(f"{store}: {args.count} reminders due within {args.spread:g} s, sent to the local Twilio-like endpoint")
    print(
        f"  sent {len(sent_keys)}, duplicates {sum(counts.values()) - len(sent_keys)}, missed {missed(url)}, "
        f"never sent {len(set(due) - sent_keys)}"
    )
    if lateness:
        p99 = lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))]
        print(
            f"  lateness p50 {statistics.median(lateness):.2f} s, p99 {p99:.2f} s, max {lateness[-1]:.2f} s; "
            f"over 60 s late: {sum(1 for x in lateness if x > 60)}"
        )
        burst = max(last - first, 1e-9)
        print(
            f"  sends/s over the burst {len(sends) / burst:.0f} (due at {args.count / args.spread:.0f}/s); "
            f"endpoint alone {base_rate:.0f}/s from one process"
        )
    sink.close()
    if schema:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
