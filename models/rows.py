"""Rows written and read with SQLAlchemy Core, on the session's connection: no SQLModel objects on the hot path.

Building a SQLModel object and flushing it costs about 0.3 ms (measured in intake), several times the
INSERT itself. Intake therefore writes plain rows: `insert_rows` (one executemany, nothing read
back) and `insert_row` (one row, its new id read back with RETURNING, SQLite >= 3.35 and
PostgreSQL). A field a row leaves out gets its column's default, applied by SQLAlchemy Core: SQLModel
puts a field's `default`/`default_factory` on its column, and the JSON columns declared with
`sa_column` carry theirs (`Column(JSON, default=dict)`), so the row is the one `session.add(Model(**row))`
would have written. Unlike `session.add` it is sent at once: whatever it refers to must already be in
the database.

Statements on the hot path are built once (module constants with `bindparam`, or cached here) and
executed with parameters: building a statement and its cache key costs about 0.15 ms, ten times
executing one that SQLAlchemy has already compiled (its compiled cache serves the rest).

`run` and `run_many` execute on `session.connection()`, in the session's transaction (and savepoint,
if any), with SQLAlchemy's own type processing and error translation; they skip `Session.execute`'s
ORM dispatch, which a Core statement does not need. They do not autoflush: objects added to the
session and not flushed are not seen.

Cost (measured for issue 9): SQLAlchemy's execution machinery (execution context, bind and default
processing, result set-up, events) costs some 30-50 us a statement over the driver's own ~10 us;
intake runs about 12 statements a message, so 0.2-0.6 ms of CPU a message. Fewer statements a
message, not a private shortcut, is the lever left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import CursorResult, Executable, Insert, Table, insert
from sqlmodel import Session, SQLModel


def table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined]


def run(
    session: Session, statement: Executable, params: Mapping[str, Any] | None = None
) -> CursorResult[*tuple[Any, ...]]:
    """`statement` with these parameters, in the session's transaction; its result."""
    return session.connection().execute(statement, params)


def run_many(session: Session, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """One executemany of a statement that returns nothing, rows all with the same keys."""
    if rows:
        session.connection().execute(statement, list(rows))


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> None:
    run_many(session, _insert(model), rows)


def insert_row(session: Session, model: type[SQLModel], row: Mapping[str, Any]) -> int:
    """One row; returns its new primary key."""
    return run(session, _insert_returning_id(model), row).scalar_one()


@cache
def _insert(model: type[SQLModel]) -> Insert:
    return insert(table(model))


@cache
def _insert_returning_id(model: type[SQLModel]) -> Insert:
    return insert(table(model)).returning(table(model).c.id)
