"""Where intake's CPU goes, a message at a time: reading versus writing, and what a statement costs.

bench/intake.py gives the end-to-end figure; this one takes it apart, in one process and without an
IMAP server, on the same mix of mail (`material` of bench/intake.py):
  - reading (inbox/reading.py `read`: parse, classify, extract), CPU a message;
  - writing (intake's steps and statements into a new SQLite database, readings made beforehand),
    CPU a message, and statements a message by kind;
  - what one INSERT costs through SQLAlchemy Core as intake runs it (a pre-built statement on the
    session's connection), through `Connection.exec_driver_sql`, and on the driver alone.
CPU time (this thread's), best of --rounds: the machine is shared and noisy.
Usage: python bench/intake_cost.py [-n 600] [--rounds 3]
"""

from __future__ import annotations

import argparse
import collections
import itertools
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.intake import material, unique  # noqa: E402
from inbox.intake import Intake  # noqa: E402
from inbox.reading import ReadOptions, read  # noqa: E402
from inbox.sources.base import MessageKey, SourceMessage  # noqa: E402
from models import db  # noqa: E402
from models.la_directory import load_directory  # noqa: E402
from models.settings import Settings  # noqa: E402
from models.staff import AuditEvent  # noqa: E402

AUDIT_SQL = "INSERT INTO auditevent (at, actor, action, entity, entity_id, detail) VALUES (?, ?, ?, ?, ?, ?)"


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    raws = [unique(raw, i) for i, raw in zip(range(args.n), itertools.cycle(material()), strict=False)]
    work = Path(tempfile.mkdtemp(prefix="mdesk-cost-"))
    settings = Settings(_env_file=None, var_dir=work, intake_workers=0, read_timeout_seconds=0)
    options = ReadOptions(settings.own_addresses, settings.max_message_bytes)
    load_directory()

    reading_ms = min(cpu_ms(lambda: [read(raw, options) for raw in raws]) / len(raws) for _ in range(args.rounds))
    print(f"reading (parse, classify, extract): {reading_ms:.2f} ms CPU a message")

    best, kinds = float("inf"), collections.Counter[str]()
    for round_no in range(args.rounds):
        ms, kinds = writing(settings.model_copy(update={"var_dir": work / f"w{round_no}"}), raws)
        best = min(best, ms)
    total = sum(kinds.values())
    print(f"writing (steps and statements, SQLite):  {best:.2f} ms CPU a message, {total / len(raws):.1f} statements")
    for kind, count in kinds.most_common():
        print(f"  {count / len(raws):5.2f}  {kind}")

    core, driver_sql, driver = statement_costs(settings.model_copy(update={"var_dir": work / "s"}), args.rounds)
    print(
        f"one INSERT: SQLAlchemy Core {core:.1f} us, exec_driver_sql {driver_sql:.1f} us, sqlite3 alone {driver:.1f} us"
    )
    print(f"statements at the Core price: {total / len(raws) * core / 1000:.2f} ms of the writing's {best:.2f} ms")


def cpu_ms(work: Any) -> float:
    start = time.thread_time()
    work()
    return (time.thread_time() - start) * 1000


def writing(settings: Settings, raws: list[bytes]) -> tuple[float, collections.Counter[str]]:
    """Intake's writing alone: the readings are made first and handed to it."""
    db.prepare_sqlite_file(settings.effective_database_url, var_dir=settings.var_dir, create=True)
    engine = db.make_engine(settings.effective_database_url)
    db.upgrade(engine)
    intake = Intake(engine, settings)
    now = datetime.now(UTC)
    messages = [SourceMessage(MessageKey("bench", 1, str(i)), raw, now, len(raw)) for i, raw in enumerate(raws)]
    readings = dict(zip((m.key for m in messages), intake.readers.read_all(messages), strict=True))
    intake.readers.read_all = lambda batch: iter([readings[m.key] for m in batch])  # type: ignore[method-assign]
    kinds = collections.Counter[str]()

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        words = statement.split()
        kinds[" ".join(words[:3]) if words[0] in ("INSERT", "UPDATE", "SELECT") else words[0]] += 1

    ms = cpu_ms(lambda: intake.handle_batch(messages)) / len(messages)
    intake.close()
    engine.dispose()
    return ms, kinds


def statement_costs(settings: Settings, rounds: int, n: int = 3000) -> tuple[float, float, float]:
    """Microseconds for one INSERT of an audit row, three ways, inside one transaction."""
    db.prepare_sqlite_file(settings.effective_database_url, var_dir=settings.var_dir, create=True)
    engine = db.make_engine(settings.effective_database_url)
    db.upgrade(engine)
    statement = insert(AuditEvent.__table__)  # type: ignore[attr-defined]
    row = {"actor": "bench", "action": "x", "entity": "case", "entity_id": "1"}
    plain = ("2026-01-01 00:00:00", "bench", "x", "case", "1", "{}")
    best = [float("inf")] * 3
    with Session(engine) as session:
        connection = session.connection()
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for _ in range(rounds):
            ways = (
                lambda: [session.connection().execute(statement, row) for _ in range(n)],
                lambda: [connection.exec_driver_sql(AUDIT_SQL, plain) for _ in range(n)],
                lambda: [cursor.execute(AUDIT_SQL, plain) for _ in range(n)],
            )
            best = [min(b, cpu_ms(way) * 1000 / n) for b, way in zip(best, ways, strict=True)]
        session.rollback()
    engine.dispose()
    return best[0], best[1], best[2]


if __name__ == "__main__":
    main()
