"""Exactly one scheduler per deployment: the node holding a PostgreSQL advisory lock runs the periodic jobs.

Each daemon keeps one connection of its own and tries `pg_try_advisory_lock` on it every
`CHECK_SECONDS`. The lock belongs to that connection's server session: when the leader dies (even by
SIGKILL) its socket closes and the server releases the lock, and another daemon takes it at its next
check, within CHECK_SECONDS (the issue asks for 30 s). A leader checks its connection at each tick too:
a connection lost (server restart, network) means the lock may be gone, so it steps down at once and
tries again, rather than run on believing itself leader.

Outbox dispatch does not need leadership: due rows are claimed with FOR UPDATE SKIP LOCKED, so every
node dispatches and two never send the same row. On SQLite there is one daemon per file: always leader.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

# Any fixed 64-bit number shared by every node: "mdesk" in ASCII.
LOCK_KEY = 0x6D6465736B
CHECK_SECONDS = 10.0


class Leadership:
    def __init__(self, engine: Engine, *, key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None
        self._held = engine.dialect.name != "postgresql"
        self._lock = threading.Lock()

    @property
    def is_leader(self) -> bool:
        return self._held

    def check(self) -> bool:
        """Hold the lock if it is free; keep it while our connection lives. Whether we lead now."""
        if self.engine.dialect.name != "postgresql":
            return True
        with self._lock:
            was = self._held
            try:
                self._held = self._try()
            except Exception as exc:  # the server or the network: whatever it was, we may not hold the lock
                log.warning(
                    "leadership: connection lost (%s); not leading until the lock is held again", type(exc).__name__
                )
                self._drop()
                self._held = False
            if self._held != was:
                log.info("leadership: %s", "this node now runs the scheduled jobs" if self._held else "stepped down")
            return self._held

    def _try(self) -> bool:
        if self._connection is None:
            self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if self._held:
            self._connection.execute(text("SELECT 1"))
            return True
        return bool(self._connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())

    def release(self) -> None:
        """Give the lock up (at shutdown): closing the connection ends the server session that holds it."""
        with self._lock:
            self._drop()
            self._held = self.engine.dialect.name != "postgresql"

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()  # not back to the pool: the lock must go with the server session
                connection.close()
            except Exception:  # already broken: nothing more to release
                log.debug("leadership: closing a broken connection", exc_info=True)
