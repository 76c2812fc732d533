"""The database: engine, sessions, migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout so the web app, intake and the
dispatcher can share one file; PostgreSQL is used as is. The SQLite file's identity is recorded when
the engine first opens it (`check_same_file`), and a database error is named by its cause
(`describe_db_error`) without its text, which may quote the statement.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

import models.deadline_marks  # (the stored deadlines follow every commit that moves them)
import models.tables  # noqa: F401  (every table registered on the metadata)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class DatabaseMissing(Exception):
    """The SQLite file (or, with `folder_missing`, its folder) is not there."""

    def __init__(self, path: Path, *, folder_missing: bool = False) -> None:
        super().__init__(f"{'folder of ' if folder_missing else ''}database {path} does not exist")
        self.path, self.folder_missing = path, folder_missing


class DatabaseDamaged(Exception):
    """SQLite's quick_check failed, or the file is not a SQLite database."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"database {path} is damaged: {detail}")
        self.path, self.detail = path, detail


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names (relative paths are relative to the working folder, as SQLite
    reads them); None for PostgreSQL and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().absolute()


def prepare_sqlite_file(url: str, *, var_dir: Path, create: bool) -> None:
    """Refuse a SQLite database that is not there, unless `create`; then make its folder only
    inside `var_dir`. A mistyped path elsewhere must not quietly become a new, empty database."""
    path = sqlite_path(url)
    if path is None or path.exists():
        return
    if not create:
        raise DatabaseMissing(path)
    if path.parent.is_dir():
        return  # SQLite creates the file
    if not path.parent.resolve().is_relative_to(var_dir.resolve()):
        raise DatabaseMissing(path, folder_missing=True)
    path.parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    """An engine; creates no folders (prepare_sqlite_file decides that)."""
    # hide_parameters: a database error must not carry a family's name or address into the log.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        path = sqlite_path(url)
        if path is not None:
            identity = _FileIdentity(path)
            _FILES[engine] = identity
            event.listen(engine, "connect", identity.record)  # after the pragmas: the file exists
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # pysqlite's legacy transaction handling opens a transaction only before a write, so a SAVEPOINT
    # sent first runs outside any transaction and its RELEASE commits on its own. SQLAlchemy's
    # documented remedy: switch pysqlite's handling off and emit BEGIN ourselves (_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Each message is written in a savepoint (inbox/intake/batches.py): SQLite keeps the pages a
    # savepoint may have to restore in a sub-journal, a temporary file past 64 KiB. In memory it cost
    # 30% less driver time a message in intake (issue 9); it holds one message's pages at most.
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # BEGIN IMMEDIATE takes the write lock up front and waits the busy timeout for it. A deferred
    # transaction that read first fails at once ("database is locked") when another connection
    # committed in between; on the embedded database correctness beats concurrent writers. A
    # read-only caller may ask for `execution_options(sqlite_begin="DEFERRED")`.
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session that only reads (listings, pages, metrics): on SQLite its transaction begins
    DEFERRED, so a reader never takes the write lock that intake and the outbox need; it is rolled
    back at the end. PostgreSQL's readers never block writers either way."""
    with Session(engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if config.attributes.pop("backfill_deadlines", False):  # set by 0011_next_deadline
            from models.deadline_store import backfill  # the clock's modules import this one's callers

            backfill(connection)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


# ---- what went wrong, and is it still our file ----------------------------------------------------


class DatabaseReplaced(Exception):
    """The SQLite file at the configured path is no longer the one this process opened (deleted,
    moved or replaced). Writing on would commit into a file nobody will read again, so whoever sees
    this stops: mail must stay unmarked on the server until a process with the right file takes it."""


class _FileIdentity:
    """(st_dev, st_ino) of the database file when the engine first opened it. While the engine's
    pooled connections hold the old file open its inode cannot be reused, so a new file at the path
    always shows a different identity."""

    def __init__(self, path: Path) -> None:
        self.path = path.expanduser().absolute()
        self.opened: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def record(self, _dbapi_connection: object, _record: object) -> None:
        with self._lock:
            if self.opened is None:
                st = os.stat(self.path)
                self.opened = (st.st_dev, st.st_ino)

    def check(self) -> None:
        if self.opened is None:
            return  # never opened: nothing written that could be lost
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise DatabaseReplaced(f"the database file {self.path} was deleted while in use") from None
        if (st.st_dev, st.st_ino) != self.opened:
            raise DatabaseReplaced(f"the database file {self.path} was replaced by another file while in use")


_FILES: weakref.WeakKeyDictionary[Engine, _FileIdentity] = weakref.WeakKeyDictionary()


def sqlite_file(engine: Engine) -> Path | None:
    """The SQLite file behind an engine from make_engine; None for PostgreSQL and in-memory SQLite."""
    identity = _FILES.get(engine)
    return identity.path if identity else None


def check_same_file(engine: Engine) -> None:
    """Raise DatabaseReplaced when the engine's SQLite file is not the one it opened.

    PostgreSQL has no file (a dropped database fails every statement instead): nothing to check."""
    identity = _FILES.get(engine)
    if identity is not None:
        identity.check()


# SQLite's primary result codes (sqlite_errorname, e.g. "SQLITE_READONLY_DBMOVED") and PostgreSQL's
# SQLSTATE codes and classes, by cause; checked in this order.
_SQLITE_CAUSES = (
    ("SQLITE_FULL", "disk full"),
    ("SQLITE_READONLY", "read-only"),
    ("SQLITE_BUSY", "locked"),
    ("SQLITE_LOCKED", "locked"),
    ("SQLITE_CANTOPEN", "unreachable"),
    ("SQLITE_IOERR", "disk I/O error"),
    ("SQLITE_CORRUPT", "corrupt"),
    ("SQLITE_NOTADB", "corrupt"),
)
_PG_CAUSES = (
    ("53100", "disk full"),  # disk_full
    ("25006", "read-only"),  # read_only_sql_transaction (a standby, default_transaction_read_only)
    ("55P03", "locked"),  # lock_not_available (lock_timeout)
    ("40P01", "locked"),  # deadlock_detected
    ("57014", "timed out"),  # query_canceled (statement_timeout)
    ("53300", "too many connections"),
    ("08", "unreachable"),  # connection_exception class
    ("57P", "unreachable"),  # admin/crash shutdown, cannot connect now
    ("3D000", "no such database"),
    ("28", "login refused"),  # invalid_authorization_specification class
)


def describe_db_error(exc: BaseException) -> str:
    """The cause of a database error in a few words ("disk full", "read-only", "locked",
    "unreachable", ...), safe to log at WARNING and to show on /healthz: the error's own text may
    quote the statement, so it is never part of the answer (log it at DEBUG)."""
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's exception
    if isinstance(orig, DatabaseReplaced):
        return "replaced"
    if isinstance(orig, sqlite3.Error) and "no such savepoint" in str(orig) and exc.__context__ is not None:
        # SQLite rolled the whole transaction back on an error (disk full may): the savepoint's own
        # rollback then fails, and the cause is the error before it.
        return describe_db_error(exc.__context__)
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "") or ""
        for prefix, cause in _SQLITE_CAUSES:
            if name.startswith(prefix):
                return cause
        return f"error ({name or type(orig).__name__})"
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        for prefix, cause in _PG_CAUSES:
            if sqlstate.startswith(prefix):
                return cause
        return f"error (SQLSTATE {sqlstate})"
    if type(orig).__module__.startswith("psycopg") and type(orig).__name__ == "OperationalError":
        # No SQLSTATE: libpq never reached a server that answered (refused, timed out, no route),
        # or the server refused the connection before a session began.
        text = str(orig)
        if "No space left" in text:
            return "disk full"
        if 'database "' in text and "does not exist" in text:
            return "no such database"
        if "password authentication failed" in text:
            return "login refused"
        return "unreachable"
    return f"error ({type(orig).__name__})"


def check_integrity(engine: Engine) -> None:
    """SQLite's quick_check (every page and index readable; O(size), seconds for gigabytes);
    raises DatabaseDamaged. Nothing to do on PostgreSQL, which checks its own pages."""
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is None:
        return
    try:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
            rows = [row[0] for row in connection.exec_driver_sql("PRAGMA quick_check")]
    except exc.DatabaseError as error:
        # "file is not a database", "database disk image is malformed": the file, not the setup.
        # OperationalError (locked, cannot open) is a different story and goes on up.
        if type(error.orig) is not sqlite3.DatabaseError:
            raise
        raise DatabaseDamaged(path, str(error.orig)) from error
    if rows != ["ok"]:
        raise DatabaseDamaged(path, "; ".join(rows[:3]))


def backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database at `target`, through SQLite's online backup API.

    One step (pages=-1) copies every page under a single read transaction: a snapshot as of one
    moment, while the daemon goes on writing (WAL readers do not block writers). The copy is
    quick_checked, then moved over `target` in one rename, so an earlier backup there is replaced
    only by a good one.
    """
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
            rows = [row[0] for row in dst.execute("PRAGMA quick_check")]
        if rows != ["ok"]:
            raise DatabaseDamaged(target, "; ".join(rows[:3]))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
