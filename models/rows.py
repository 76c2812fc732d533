"""Rows written and read with SQLAlchemy Core: no SQLModel objects on the hot path.

Building a SQLModel object and flushing it costs about 0.3 ms (measured in intake), several times the
INSERT itself. Intake therefore writes plain rows: `insert_rows` (one executemany, nothing read
back) and `insert_row` (one row, its new id read back with RETURNING, SQLite >= 3.35 and
PostgreSQL). Each row gets the model's own defaults for the fields it leaves out (`default` or
`default_factory`), so it is the row `session.add(Model(**row))` would have written. Unlike
`session.add` it is sent at once: whatever it refers to must already be in the database.

Statements on the hot path are built once (module constants with `bindparam`, or cached here) and
executed with parameters: building a statement and its cache key costs about 0.15 ms, ten times
executing one that SQLAlchemy has already compiled.

`run` and `run_many` go one step further for those statements: SQLAlchemy's execution machinery
(execution context, parameter and result processing, events) costs about 20-40 us a statement, ten
times what SQLite itself spends on a small INSERT, and intake runs a dozen of them a message. They
compile the statement once per dialect and set of columns, then run it on the session's own DBAPI
connection, in its transaction, with the same type processors SQLAlchemy would apply (JSON,
UTCDateTime, booleans); database errors come out as SQLAlchemy's exceptions all the same. A
statement they cannot run that way exactly (values computed at execution, expanding IN lists) goes
through `session.execute` instead, so the result never differs, only the cost.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import Executable, Insert, Table, Update, exc, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import Session, SQLModel


def table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined,return-value]


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    run_many(session, _insert(model), [with_defaults(model, row) for row in rows])


def insert_row(session: Session, model: type[SQLModel], row: Mapping[str, Any]) -> int:
    """One row; returns its new primary key."""
    return run(session, _insert_returning_id(model), with_defaults(model, row)).scalar_one()


@cache
def _insert(model: type[SQLModel]) -> Insert:
    return insert(table(model))


@cache
def _insert_returning_id(model: type[SQLModel]) -> Insert:
    return insert(table(model)).returning(table(model).c.id)


def with_defaults(model: type[SQLModel], row: Mapping[str, Any]) -> dict[str, Any]:
    return {**{name: make() for name, make in _defaults(model).items() if name not in row}, **row}


@cache
def _defaults(model: type[SQLModel]) -> dict[str, Callable[[], Any]]:
    """Field name -> a maker of its default, for every field except the primary key."""
    primary = {column.name for column in table(model).primary_key.columns}
    out: dict[str, Callable[[], Any]] = {}
    for name, info in model.model_fields.items():
        if name in primary:
            continue
        if info.default_factory is not None:
            out[name] = info.default_factory  # type: ignore[assignment]
        elif info.default is not PydanticUndefined:
            out[name] = lambda value=info.default: value
    return out


# ---- running built statements on the DBAPI connection ----------------------------------------------


class Rows(list):
    """A statement's rows (named tuples), with the Result methods the hot path uses."""

    def first(self) -> Any:
        return self[0] if self else None

    def scalar(self) -> Any:
        return self[0][0] if self else None

    def scalar_one(self) -> Any:
        if len(self) != 1:
            raise exc.NoResultFound("expected one row") if not self else exc.MultipleResultsFound("more than one row")
        return self[0][0]

    def scalars(self) -> Rows:
        return Rows(row[0] for row in self)

    def all(self) -> list[Any]:
        return list(self)


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    positional: bool
    # (name in the SQL, key in the caller's parameters, required, value if not given, bind processor)
    binds: tuple[tuple[str, str, bool, Any, Callable[[Any], Any] | None], ...]
    row: type | None  # named tuple of the result columns; None: no rows come back
    results: tuple[Callable[[Any], Any] | None, ...]

    def parameters(self, params: Mapping[str, Any]) -> tuple | dict:
        values = [
            (name, process(value) if process is not None else value)
            for name, key, required, default, process in self.binds
            for value in ((params[key] if required else params.get(key, default)),)
        ]
        return tuple(value for _name, value in values) if self.positional else dict(values)

    def rows(self, fetched: Iterable[Sequence[Any]]) -> Rows:
        assert self.row is not None
        if any(self.results):
            return Rows(
                self.row(*(p(v) if p is not None else v for p, v in zip(self.results, r, strict=True))) for r in fetched
            )
        return Rows(self.row(*r) for r in fetched)


_prepared: dict[tuple[int, str, tuple[str, ...]], tuple[Executable, _Prepared | None]] = {}


def run(session: Session, statement: Executable, params: Mapping[str, Any] | None = None) -> Any:
    """`session.execute(statement, params)` for a statement built once (see the module's docstring);
    returns its rows (Rows) or, for a statement that cannot run directly, SQLAlchemy's Result."""
    params = params or {}
    connection = session.connection()
    prepared = _prepare(statement, connection.dialect, params)
    if prepared is None:
        return session.execute(statement, params)
    cursor = _cursor(connection)
    values = prepared.parameters(params)
    try:
        cursor.execute(prepared.sql, values)
        return prepared.rows(cursor.fetchall()) if prepared.row is not None else Rows()
    except connection.dialect.loaded_dbapi.Error as error:
        raise _translated(connection, prepared.sql, error, cursor) from error
    finally:
        cursor.close()


def run_many(session: Session, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """One executemany of a statement that returns nothing, rows all with the same columns."""
    if not rows:
        return
    connection = session.connection()
    prepared = _prepare(statement, connection.dialect, rows[0])
    if prepared is None or prepared.row is not None:
        session.execute(statement, list(rows))
        return
    cursor = _cursor(connection)
    try:
        cursor.executemany(prepared.sql, [prepared.parameters(row) for row in rows])
    except connection.dialect.loaded_dbapi.Error as error:
        raise _translated(connection, prepared.sql, error, cursor) from error
    finally:
        cursor.close()


def _cursor(connection: Any) -> Any:
    # The session's connection, already in its transaction (and savepoint, if any).
    return connection.connection.driver_connection.cursor()


def _translated(connection: Any, sql: str, error: Exception, cursor: Any) -> BaseException:
    """The DBAPI error as SQLAlchemy raises it (IntegrityError, OperationalError...), parameters hidden."""
    dialect = connection.dialect
    invalidated = dialect.is_disconnect(error, connection.connection.driver_connection, cursor)
    if invalidated:
        connection.invalidate(error)
    return exc.DBAPIError.instance(
        sql, None, error, dialect.loaded_dbapi.Error, hide_parameters=True,
        connection_invalidated=invalidated, dialect=dialect,
    )  # fmt: skip


def _prepare(statement: Executable, dialect: Dialect, params: Mapping[str, Any]) -> _Prepared | None:
    # INSERT and UPDATE compile to the columns given; a SELECT is the same whatever the parameters.
    keys = tuple(sorted(params)) if isinstance(statement, Insert | Update) else ()
    cache_key = (id(statement), dialect.name, keys)
    cached = _prepared.get(cache_key)
    if cached is None or cached[0] is not statement:
        cached = (statement, _compile(statement, dialect, keys))
        _prepared[cache_key] = cached
    return cached[1]


def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Prepared | None:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
    sql = compiled.string
    if (
        getattr(compiled, "insert_prefetch", None)
        or getattr(compiled, "update_prefetch", None)
        or getattr(compiled, "postfetch", None)  # set on INSERT and UPDATE only
        or "POSTCOMPILE" in sql
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.escaped_bind_names
    ):
        return None  # values SQLAlchemy computes or renders at execution: let it run the statement
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    binds = []
    for name in names:
        bind = compiled.binds[name]
        if bind.callable is not None:
            return None
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, bind.key, bind.required, bind.value, process))
    # A SELECT's columns, or an INSERT/UPDATE's RETURNING columns (none: no rows come back).
    if isinstance(statement, UpdateBase):
        columns = [(c["name"], c["type"]) for c in statement.returning_column_descriptions]
    else:
        columns = [(column.key, column.type) for column in statement.selected_columns]
    row = namedtuple("Row", [name for name, _type in columns], rename=True) if columns else None
    results = tuple(type_.dialect_impl(dialect).result_processor(dialect, None) for _name, type_ in columns)
    return _Prepared(sql, compiled.positional, tuple(binds), row, results)
