"""What /healthz reports: a snapshot the daemon's parts keep up to date, read by the web app, and
a probe of the database that answers in time whatever the database does."""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from models import db
from models.types import utcnow

log = logging.getLogger("mdesk.web.health")

ANSWER_SECONDS = 0.8  # /healthz answers within a second
SQLITE_BUSY_SECONDS = 0.5  # how long the probe waits for SQLite's write lock before saying "locked"
PG_CONNECT_SECONDS = 2  # libpq's minimum; the request stops waiting at ANSWER_SECONDS anyway
PG_STATEMENT_MS = 500


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

    def update(self, state: str, detail: str = "", now: datetime | None = None) -> None:
        """The new state; `since` moves only when the state changes (like the mailbox's)."""
        if state != self.state:
            self.since = now or utcnow()
        self.state, self.detail = state, detail


@dataclass
class Health:
    """Filled by the daemon (mailbox watcher, dispatcher); the web app only reads it."""

    mailbox: ComponentState = field(default_factory=ComponentState)
    channels: dict[str, ComponentState] = field(default_factory=dict)  # the outbox's, by name

    def channel(self, name: str) -> ComponentState:
        return self.channels.setdefault(name, ComponentState())


class DatabaseProbe:
    """The database's state for /healthz, within ANSWER_SECONDS whatever the database does.

    Each probe runs in a thread of its own; a request waits for it at most `answer_seconds` and
    otherwise says "not answering" (a later request takes the same probe's result, so a hung
    database holds one thread, not one per request). On SQLite the probe asks for what intake needs,
    the write lock (BEGIN IMMEDIATE, then ROLLBACK), on a connection of its own with a short busy
    timeout, so a lock held elsewhere reads "locked" instead of waiting out intake's 30 s; it opens the
    file without creating it, and first checks that the file is still the one the engine opened.
    PostgreSQL gets a connection of its own with connect and statement timeouts and runs SELECT 1.
    """

    def __init__(self, engine: Engine, answer_seconds: float = ANSWER_SECONDS) -> None:
        self.engine = engine
        self.answer_seconds = answer_seconds
        self._file = db.sqlite_file(engine)
        self._server = None if self._file else _probe_engine(engine)
        self._lock = threading.Lock()
        self._current: _Pending | None = None

    def state(self) -> dict[str, Any]:
        with self._lock:
            if self._current is None or self._current.done.is_set():
                self._current = _Pending()
                threading.Thread(target=self._probe, args=(self._current,), name="mdesk-health-db", daemon=True).start()
            pending = self._current
        if not pending.done.wait(self.answer_seconds):
            return self._answer("not answering", f"no answer within {self.answer_seconds:g} s")
        return pending.result

    def _probe(self, pending: _Pending) -> None:
        try:
            db.check_same_file(self.engine)
            if self._file is not None:
                _probe_sqlite(self._file)
            else:
                assert self._server is not None  # set in __init__ whenever there is no file
                with self._server.connect() as connection:
                    connection.execute(text("SELECT 1"))
            pending.result = self._answer("ok")
        except db.DatabaseReplaced as exc:
            pending.result = self._answer("replaced", str(exc))  # names the path: no personal data
        except (sqlite3.Error, DBAPIError) as exc:
            log.debug("health probe: database error", exc_info=True)
            pending.result = self._answer(db.describe_db_error(exc))
        finally:
            pending.done.set()

    def _answer(self, state: str, detail: str = "") -> dict[str, Any]:
        answer: dict[str, Any] = {"state": state, "dialect": self.engine.dialect.name}
        if detail:
            answer["detail"] = detail
        return answer


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    result: dict[str, Any] = field(default_factory=dict)


def _probe_sqlite(path: Path) -> None:
    # mode=rw: a missing file is an error (SQLITE_CANTOPEN), not a new empty database.
    connection = sqlite3.connect(
        f"{path.as_uri()}?mode=rw", uri=True, timeout=SQLITE_BUSY_SECONDS, isolation_level=None
    )
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def _probe_engine(engine: Engine) -> Engine:
    # Its own connections: the daemon's pool may be exhausted or waiting on the server.
    return create_engine(
        engine.url,
        poolclass=NullPool,
        hide_parameters=True,
        connect_args={"connect_timeout": PG_CONNECT_SECONDS, "options": f"-c statement_timeout={PG_STATEMENT_MS}"},
    )
