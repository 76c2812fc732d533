"""One real transaction around many savepoints: what a batch of intake needs.

On SQLite, pysqlite (Python < 3.12's legacy transaction control, which `db.make_engine` keeps) opens
a transaction only before an INSERT/UPDATE/DELETE. A SAVEPOINT sent first therefore starts a
transaction of its own, and its RELEASE commits it (measured: rows of a released savepoint were
visible to other connections, and a later rollback did not undo them). So the batch begins with
`BEGIN IMMEDIATE`: one transaction for all its savepoints, holding the write lock from the start so
a writer that commits meanwhile (the dispatcher, the web app) cannot invalidate our snapshot half-way
(a deferred transaction would then fail at its first write instead of waiting the busy timeout).
PostgreSQL begins a transaction on the first statement, savepoints included: nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.db import session_scope


@contextmanager
def batch_scope(engine: Engine) -> Iterator[Session]:
    """Like `session_scope` (commit on success, roll back on error), safe for `begin_nested()`."""
    with session_scope(engine) as session:
        if engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session
