"""A database error is named by its cause (disk full, read-only, locked, unreachable), never by its
text: the real errors of SQLite and PostgreSQL, and what intake logs at WARNING when they happen."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError

from inbox.intake import Intake
from inbox.sources.base import MessageKey, SourceMessage
from models import db
from tests import mailfactory
from tests.conftest import PG_URL
from tests.webserver import free_port


def sqlite_error(path, *statements: str, uri: str = "") -> sqlite3.Error:
    try:
        connection = sqlite3.connect(uri or str(path), uri=bool(uri), timeout=0, isolation_level=None)
    except sqlite3.Error as exc:
        return exc
    try:
        for statement in statements:
            connection.execute(statement)
    except sqlite3.Error as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("no error")


@pytest.fixture
def sqlite_file(tmp_path):
    path = tmp_path / "x.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (x TEXT)")
    return path


def test_sqlite_errors_are_named_by_cause(sqlite_file):
    full = sqlite_error(sqlite_file, "PRAGMA max_page_count = 2", "INSERT INTO t VALUES (hex(randomblob(20000)))")
    assert db.describe_db_error(full) == "disk full"
    assert db.describe_db_error(sqlite_error(sqlite_file, "PRAGMA query_only = 1", "INSERT INTO t VALUES ('a')")) == (
        "read-only"
    )
    holder = sqlite3.connect(sqlite_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert db.describe_db_error(sqlite_error(sqlite_file, "BEGIN IMMEDIATE")) == "locked"
    finally:
        holder.close()
    missing = sqlite_error(None, "SELECT 1", uri=f"{(sqlite_file.parent / 'none.sqlite3').as_uri()}?mode=rw")
    assert db.describe_db_error(missing) == "unreachable"


@pytest.mark.postgres
def test_postgresql_errors_are_named_by_cause():
    def error(url: str, *statements: str) -> DBAPIError:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        except DBAPIError as exc:
            return exc
        finally:
            engine.dispose()
        raise AssertionError("no error")

    closed = PG_URL.replace("127.0.0.1:5432", f"127.0.0.1:{free_port()}")
    assert db.describe_db_error(error(closed, "SELECT 1")) == "unreachable"
    read_only = error(PG_URL, "SET TRANSACTION READ ONLY", "CREATE TABLE mdesk_never_made (x int)")
    if "could not connect" in str(read_only) or "connection failed" in str(read_only):
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    assert db.describe_db_error(read_only) == "read-only"
    assert db.describe_db_error(error(PG_URL, "SET statement_timeout = 10", "SELECT pg_sleep(1)")) == "timed out"
    assert db.describe_db_error(error(PG_URL.rsplit("/", 1)[0] + "/no_such_db_mdesk", "SELECT 1")) == (
        "no such database"
    )


@pytest.mark.parametrize(
    ("pragma", "cause"),
    [("PRAGMA query_only = 1", "read-only"), ("PRAGMA max_page_count = 1", "disk full")],
)
def test_intake_logs_the_cause_of_a_database_error_at_warning_and_no_personal_data(
    tmp_path, settings, caplog, pragma, cause
):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'mdesk.sqlite3'}")
    db.upgrade(engine)
    if "max_page_count" in pragma:
        with engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
        pragma = f"PRAGMA max_page_count = {pages}"  # not one page more: the disk is full
    engine.dispose()
    event.listen(engine, "connect", lambda connection, _record: connection.execute(pragma))
    # Big enough to need new pages (the raw message is stored): a small one fits in pages there already.
    body = "My son needs mediation about his EHC plan from Camden.\n" + "Notes from school.\n" * 20000
    raw = mailfactory.referral(sender="Joanne Pryce <joanne.pryce@example.com>", body=body)
    message = SourceMessage(MessageKey("maildir:/test", 0, "m1"), raw)
    with caplog.at_level(logging.DEBUG, logger="mdesk"):
        assert Intake(engine, settings).handle_batch([message]) == 0  # nothing committed, nothing marked
    engine.dispose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert f"database unavailable ({cause}); 1 message(s) stay on the server for the next round" in warnings
    assert not any("Pryce" in line or "joanne" in line for line in warnings)
