"""Rows written and read with SQLAlchemy Core, on the session's connection: no SQLModel objects on the hot path.

Building a SQLModel object and flushing it costs about 0.3 ms (measured in intake), several times the
INSERT itself. Intake therefore writes plain rows: `insert_rows` (one executemany, nothing read
back) and `insert_row` (one row, its new id as SQLAlchemy reports it: the cursor's lastrowid on
SQLite, RETURNING on PostgreSQL; an explicit RETURNING cost SQLite a result set, 37 against 28 us).
A field a row leaves out gets its column's default, applied by SQLAlchemy Core: SQLModel puts a
field's `default`/`default_factory` on its column, and the JSON columns declared with `sa_column`
carry theirs (`Column(JSON, default=dict)`), so the row is the one `session.add(Model(**row))` would
have written. Unlike `session.add` it is sent at once: whatever it refers to must already be in
the database.

Statements on the hot path are built once (module constants with `bindparam`, or cached here) and
executed with parameters: building a statement and its cache key costs about 0.15 ms, ten times
executing one that SQLAlchemy has already compiled (its compiled cache serves the rest).

`run` and `run_many` execute on the session's connection, in its transaction (and savepoint, if any),
with SQLAlchemy's own type processing and error translation; they skip `Session.execute`'s ORM
dispatch, which a Core statement does not need. They do not autoflush: objects added to the
session and not flushed are not seen. `savepoint` undoes a block's rows alone should it raise (each
message in intake's batch, each webhook in telephony's), and pins the connection for the block.

Rows nobody reads before the transaction ends (timeline events, audit events, a message's raw bytes)
may be handed to `insert_later`: inside a `written_later` block (intake's batch, and each message's
savepoint in it) they are collected and written when the block ends, one executemany per table, so
a message costs fewer statements; outside one they are written at once. A row `until_commit` is
kept for the outermost block (the whole batch): only for rows the database cannot refuse for their
content (an id it gave, bytes, fixed text), so that one message's bad data never fails the batch.

Cost (measured for issue 9): SQLAlchemy's execution machinery (execution context, bind and default
processing, result set-up, events) costs some 30-50 us a statement over the driver's own ~10 us;
intake runs about 12 statements a message, so 0.2-0.6 ms of CPU a message. Of those, the savepoint's
two (SAVEPOINT, RELEASE) are sent as plain SQL through the public `exec_driver_sql` (`savepoint` says
why); every row still goes through Core. Fewer statements a message, not a private shortcut, is the
lever left.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, CursorResult, Executable, Insert, Table, insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel


def table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined]


def connection(session: Session) -> Connection:
    """The session's connection: inside a `savepoint` the one it was taken on (the savepoint pins it),
    else whatever `Session.connection` gives (which costs some 10 us a call: 12 calls a message)."""
    pinned: Connection | None = session.info.get(_PINNED)
    return pinned if pinned is not None else session.connection()


def run(
    session: Session, statement: Executable, params: Mapping[str, Any] | None = None
) -> CursorResult[*tuple[Any, ...]]:
    """`statement` with these parameters, in the session's transaction; its result."""
    return connection(session).execute(statement, params)


def run_many(session: Session, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """One executemany of a statement that returns nothing, rows all with the same keys."""
    if rows:
        connection(session).execute(statement, list(rows))


_PINNED = "mdesk.rows.connection"  # the connection of the innermost savepoint, in Session.info
_DEPTH = "mdesk.rows.depth"


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """What the block writes, undone alone if it raises (and the exception goes on): a SAVEPOINT on
    the session's connection, for blocks that write rows (this module's functions), not objects.

    SQLAlchemy's `begin_nested` compiles its SAVEPOINT and RELEASE anew each time (each has a name
    of its own, so neither is ever cached) and runs them through the ORM's transaction bookkeeping:
    some 100 us a message in intake, a tenth of its writing. These are the same two statements,
    sent as they are (`Connection.exec_driver_sql`), named by the block's depth. The ORM knows
    nothing of them, so it could not undo an object's failed flush: a block that leaves objects
    to flush is a bug, refused (and rolled back) as it ends. Should the savepoint be rolled back,
    every object in the session is expired (read again when next used), as rows under it may have
    gone."""
    conn = session.connection()
    depth = session.info.get(_DEPTH, 0) + 1
    name = f"mdesk_savepoint_{depth}"
    outer = session.info.get(_PINNED)
    conn.exec_driver_sql(f"SAVEPOINT {name}")
    session.info[_DEPTH], session.info[_PINNED] = depth, conn
    try:
        yield
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("objects were changed in a savepoint block: use Session.begin_nested")
    except BaseException:
        with suppress(DBAPIError):  # the connection itself failed: the transaction is lost anyway
            conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
            conn.exec_driver_sql(f"RELEASE SAVEPOINT {name}")
        session.expire_all()
        raise
    else:
        conn.exec_driver_sql(f"RELEASE SAVEPOINT {name}")
    finally:
        session.info[_DEPTH], session.info[_PINNED] = depth - 1, outer


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> None:
    run_many(session, _insert(model), rows)


def insert_row(session: Session, model: type[SQLModel], row: Mapping[str, Any]) -> int:
    """One row; returns its new primary key."""
    key = run(session, _insert(model), row).inserted_primary_key
    assert key is not None  # a single-row INSERT always has one
    return int(key[0])


@cache
def _insert(model: type[SQLModel]) -> Insert:
    return insert(table(model))


class _Later(NamedTuple):
    model: type[SQLModel]
    row: Mapping[str, Any]
    until_commit: bool


_LATER = "mdesk.rows.later"  # the key of the innermost block's rows in Session.info


def insert_later(
    session: Session, model: type[SQLModel], row: Mapping[str, Any], *, until_commit: bool = False
) -> None:
    """One row nobody reads before the transaction ends: written when the innermost `written_later`
    block ends (the outermost one if `until_commit`), or at once outside any block. Rows of a table
    are written in order when they have the same keys (give every row of a table the same keys)."""
    later: list[_Later] | None = session.info.get(_LATER)
    if later is None:
        insert_rows(session, model, [row])
    else:
        later.append(_Later(model, row, until_commit))


@contextmanager
def written_later(session: Session) -> Iterator[None]:
    """Rows given to `insert_later` in the block are written at its end, in the session's transaction
    or savepoint as it is then; rows `until_commit` go on to an enclosing block, if any. If the block
    raises they are dropped with it: the caller rolls back what they belonged to."""
    outer: list[_Later] | None = session.info.get(_LATER)
    mine: list[_Later] = []
    session.info[_LATER] = mine
    try:
        yield
    finally:
        if outer is None:
            del session.info[_LATER]
        else:
            session.info[_LATER] = outer
    now = mine if outer is None else [later for later in mine if not later.until_commit]
    groups: dict[tuple[type[SQLModel], tuple[str, ...]], list[Mapping[str, Any]]] = {}
    for later in now:
        groups.setdefault((later.model, tuple(later.row)), []).append(later.row)
    for (model, _keys), rows in groups.items():
        insert_rows(session, model, rows)
    if outer is not None:  # after the block's own rows: if they fail, the enclosing block never sees these
        outer.extend(later for later in mine if later.until_commit)
