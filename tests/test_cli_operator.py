"""An operator's mistakes at the command line: one line naming the setting, its value (never a
password) and what is expected; exit 2 for configuration, 1 when a server refused. Real subprocesses,
a real PostgreSQL and a real Dovecot."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest

from inbox.sources.maildir import MaildirSource
from models.settings import Settings
from tests import mailfactory
from tests.cli import run_main
from tests.conftest import PG_URL

SECRET = "Hunter2-not-for-logs"


def cli(*args: str, tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    return run_main(*args, settings={"MDESK_VAR_DIR": str(tmp_path / "var"), "MDESK_LOG_LEVEL": "INFO", **settings})


def one_line(result: subprocess.CompletedProcess, exit_code: int, *expected: str) -> str:
    """The whole output (stdout and stderr) is one line that says each of `expected`."""
    output = result.stdout + result.stderr
    assert result.returncode == exit_code, output
    assert len(output.splitlines()) == 1, output
    assert "Traceback" not in output and SECRET not in output
    for text in expected:
        assert text in output, output
    return output


def _postgres_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError:
        return False
    return True


needs_postgres = pytest.mark.skipif(not _postgres_reachable(), reason="PostgreSQL not running on 127.0.0.1:5432")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- the database ------------------------------------------------------------------------------------


def test_unreachable_postgresql_is_one_line_with_the_password_masked(tmp_path):
    url = f"postgresql+psycopg://mdesk:{SECRET}@127.0.0.1:{_closed_port()}/mdesk"
    output = one_line(cli("cases", "list", tmp_path=tmp_path, MDESK_DATABASE_URL=url), 1, "MDESK_DATABASE_URL=")
    assert "mdesk:***@127.0.0.1" in output and "refused" in output.lower()


@pytest.mark.postgres
@needs_postgres
def test_a_database_that_does_not_exist_is_one_line(tmp_path):
    url = PG_URL.replace("postgresql+psycopg://", "postgres://").rsplit("/", 1)[0] + "/mdesk_no_such_db"
    url = url.replace("postgres://postgres@", f"postgres://postgres:{SECRET}@")
    one_line(
        cli("db", "upgrade", tmp_path=tmp_path, MDESK_DATABASE_URL=url),
        1,
        "MDESK_DATABASE_URL=postgresql+psycopg://",
        '"mdesk_no_such_db" does not exist',
        "createdb",
    )


@pytest.fixture
def pg_schema():
    """A schema of its own in the test database, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"t_cli_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.mark.postgres
@needs_postgres
@pytest.mark.parametrize("scheme", ["postgres://", "postgresql://"])
def test_postgres_urls_without_our_driver_are_accepted_as_postgresql(tmp_path, pg_schema, scheme):
    url = PG_URL.replace("postgresql+psycopg://", scheme) + f"?options=-csearch_path%3D{pg_schema}"
    result = cli("db", "upgrade", tmp_path=tmp_path, MDESK_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout
    listed = cli("cases", "list", "--json", tmp_path=tmp_path, MDESK_DATABASE_URL=url)
    assert (listed.returncode, listed.stdout) == (0, "")


def test_a_bare_file_path_as_the_database_url_says_what_to_write(tmp_path):
    path = tmp_path / "mdesk.db"
    one_line(
        cli("cases", "list", tmp_path=tmp_path, MDESK_DATABASE_URL=str(path)),
        2,
        f"MDESK_DATABASE_URL={path}",
        f"sqlite:///{path}",
    )
    assert not path.exists()


# ---- the mailbox settings ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["tls", "TLS", "SSL", "StartTLS"])
def test_security_is_read_case_insensitively_and_tls_means_implicit_tls(tmp_path, value):
    result = cli("db", "upgrade", tmp_path=tmp_path, MDESK_IMAP_SECURITY=value, MDESK_SMTP_SECURITY=value)
    assert result.returncode == 0, result.stderr
    settings = Settings(_env_file=None, imap_security=value, smtp_security=value)
    expected = "starttls" if value == "StartTLS" else "ssl"
    assert (settings.imap_security, settings.smtp_security) == (expected, expected)
    assert settings.effective_imap_port == (143 if expected == "starttls" else 993)


@pytest.mark.parametrize("name", ["MDESK_IMAP_SECURITY", "MDESK_SMTP_SECURITY"])
def test_an_unknown_security_names_the_allowed_values(tmp_path, name):
    one_line(
        cli("cases", "list", tmp_path=tmp_path, **{name: "tls1.3"}), 2, f"{name}=tls1.3", "ssl", "starttls", "none"
    )


def test_a_port_that_is_not_a_number_is_one_line(tmp_path):
    one_line(cli("cases", "list", tmp_path=tmp_path, MDESK_IMAP_PORT="imaps"), 2, "MDESK_IMAP_PORT=imaps", "993")


def test_every_wrong_setting_in_the_one_line_and_a_password_in_a_url_masked(tmp_path):
    output = one_line(
        cli("cases", "list", tmp_path=tmp_path, MDESK_IMAP_PORT="imaps", MDESK_DATABASE_URL=f"mysql://u:{SECRET}@h/d"),
        2,
        "MDESK_IMAP_PORT=imaps",
        "MDESK_DATABASE_URL=mysql://u:***@h/d",
    )
    assert SECRET not in output


def test_the_traceback_comes_only_at_debug(tmp_path):
    result = cli("cases", "list", tmp_path=tmp_path, MDESK_IMAP_PORT="imaps", MDESK_LOG_LEVEL="DEBUG")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("MDESK_IMAP_PORT=imaps: expected a port number")


def test_a_wrong_imap_password_under_ingest_once_is_one_line_and_exit_1(tmp_path, imap_account):
    imap_account.append(mailfactory.referral())
    result = cli(
        "ingest",
        "--once",
        tmp_path=tmp_path,
        MDESK_IMAP_HOST=imap_account.host,
        MDESK_IMAP_PORT=str(imap_account.port),
        MDESK_IMAP_USER=imap_account.user,
        MDESK_IMAP_PASSWORD=SECRET,
        MDESK_IMAP_SECURITY="none",
    )
    # INFO logging is on: no Alembic chatter before the line.
    one_line(result, 1, f"MDESK_IMAP_USER={imap_account.user}", "MDESK_IMAP_PASSWORD=(not shown)", "refused the login")
    assert b"$MdeskProcessed" not in imap_account.flags(imap_account.uids()[0])


def test_an_unreachable_imap_server_under_ingest_once_is_one_line(tmp_path):
    port = _closed_port()
    one_line(
        cli("ingest", "--once", tmp_path=tmp_path, MDESK_IMAP_HOST="127.0.0.1", MDESK_IMAP_PORT=str(port)),
        1,
        f"MDESK_IMAP_HOST=127.0.0.1, MDESK_IMAP_PORT={port}",
    )


def test_an_smtp_server_that_cannot_be_reached_under_ingest_once_says_so_and_exits_1(tmp_path):
    source = MaildirSource(tmp_path / "var" / "maildir")
    source.connect()
    source.drop(mailfactory.referral())
    port = _closed_port()
    result = cli(
        "ingest",
        "--once",
        tmp_path=tmp_path,
        MDESK_SMTP_HOST="127.0.0.1",
        MDESK_SMTP_PORT=str(port),
        MDESK_SMTP_SECURITY="none",
        MDESK_LOG_LEVEL="WARNING",
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert "1 message(s) handled" in lines and "Traceback" not in result.stderr
    # The outbox logs its retry (WARNING); the command ends on the one line that says what to fix.
    assert lines[-1].startswith(f"MDESK_SMTP_HOST=127.0.0.1, MDESK_SMTP_PORT={port}: cannot send")
    assert "waits in the outbox" in lines[-1]


def test_a_drop_folder_that_cannot_be_written_under_ingest_once_is_one_line(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the drop folder should be")
    one_line(
        cli("ingest", "--once", tmp_path=tmp_path, MDESK_MAILDIR=str(blocker)),
        1,
        f"MDESK_MAILDIR={blocker}: ",
        "cannot create the drop folder",
    )


# ---- a mistyped SQLite path ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("cases", "list"), ("outbox", "list"), ("quarantine", "list")])
def test_reading_commands_refuse_a_database_that_does_not_exist(tmp_path, command):
    missing = tmp_path / "nonexistent" / "dir" / "x.db"
    one_line(
        cli(*command, tmp_path=tmp_path, MDESK_DATABASE_URL=f"sqlite:///{missing}"),
        2,
        f"MDESK_DATABASE_URL=sqlite:///{missing}",
        f"no database file at {missing}",
    )
    assert not (tmp_path / "nonexistent").exists()
    # The embedded default too: nothing made under the var folder by reading.
    one_line(cli(*command, tmp_path=tmp_path), 2, "MDESK_VAR_DIR=", "db upgrade")
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("command", [("db", "upgrade"), ("ingest", "--once")])
def test_writing_commands_make_no_folder_outside_the_var_dir(tmp_path, command):
    missing = tmp_path / "nonexistent" / "dir" / "x.db"
    one_line(
        cli(*command, tmp_path=tmp_path, MDESK_DATABASE_URL=f"sqlite:///{missing}"),
        2,
        f"the folder {missing.parent} does not exist",
    )
    assert not (tmp_path / "nonexistent").exists()


def test_writing_commands_make_the_file_and_folders_inside_the_var_dir(tmp_path):
    outside = tmp_path / "mdesk.db"
    assert cli("db", "upgrade", tmp_path=tmp_path, MDESK_DATABASE_URL=f"sqlite:///{outside}").returncode == 0
    assert outside.exists()
    inside = tmp_path / "var" / "db" / "mdesk.db"
    assert cli("db", "upgrade", tmp_path=tmp_path, MDESK_DATABASE_URL=f"sqlite:///{inside}").returncode == 0
    assert inside.exists()
    result = cli("cases", "list", "--json", tmp_path=tmp_path, MDESK_DATABASE_URL=f"sqlite:///{inside}")
    assert (result.returncode, result.stdout) == (0, "")


# ---- a damaged database ----------------------------------------------------------------------------


def corrupt_a_page(path: Path) -> None:
    """Garbage over one page in the middle of the file: a b-tree page of the filler table."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE filler (x BLOB)")
        connection.executemany("INSERT INTO filler VALUES (randomblob(200))", [()] * 3000)
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()  # the last connection checkpoints the WAL into the file
    with path.open("r+b") as file:
        file.seek(pages // 2 * size)
        file.write(b"garbage!" * (size // 8))


def test_a_damaged_database_is_refused_at_start_with_how_to_restore(tmp_path):
    source = MaildirSource(tmp_path / "var" / "maildir")
    source.connect()
    source.drop(mailfactory.referral(sender="Early Parent <early@example.com>"))
    assert cli("ingest", "--once", tmp_path=tmp_path).returncode == 0
    database = tmp_path / "var" / "mdesk.sqlite3"
    corrupt_a_page(database)
    source.drop(mailfactory.referral(sender="Later Parent <later@example.com>"))

    for command in (("cases", "list"), ("ingest", "--once"), ("db", "upgrade")):
        one_line(cli(*command, tmp_path=tmp_path), 1, f"the database {database} is damaged", "main.py db backup")
    # ingest refused before reading: the new mail waits, unmarked.
    assert len(list((tmp_path / "var" / "maildir" / "new").iterdir())) == 1
