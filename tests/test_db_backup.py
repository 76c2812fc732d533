"""`main.py db backup PATH`: a consistent copy of the live SQLite database, made while another
connection writes; pg_dump advice for PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading

from inbox.sources.maildir import MaildirSource
from tests import mailfactory
from tests.test_cli_operator import SECRET, cli, corrupt_a_page, one_line


def _writer(path, stop: threading.Event, written: list[int]) -> None:
    """Another process's connection (as the daemon's would be): one committed row after another."""
    connection = sqlite3.connect(path, timeout=30)
    try:
        while not stop.is_set():
            with connection:
                connection.execute("INSERT INTO filler VALUES (randomblob(500))")
            written.append(1)
    finally:
        connection.close()


def test_backup_while_another_connection_writes_is_a_consistent_copy_with_the_rows(tmp_path):
    source = MaildirSource(tmp_path / "var" / "maildir")
    source.connect()
    for n in range(3):
        source.drop(mailfactory.referral(sender=f"Parent {n} <parent{n}@example.com>"))
    assert cli("ingest", "--once", tmp_path=tmp_path).returncode == 0
    database = tmp_path / "var" / "mdesk.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE filler (x BLOB)")
        connection.executemany("INSERT INTO filler VALUES (randomblob(500))", [()] * 2000)
    connection.close()

    stop, written = threading.Event(), []
    writer = threading.Thread(target=_writer, args=(database, stop, written))
    writer.start()
    try:
        while len(written) < 20:  # the writer is under way before the backup starts
            stop.wait(0.05)
        backup = tmp_path / "backup.sqlite3"
        result = cli("db", "backup", str(backup), tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"written to {backup}" in result.stdout
    finally:
        stop.set()
        writer.join()

    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        emails = {row[0] for row in copy.execute('SELECT referrer_email FROM "case"')}
        assert emails == {f"parent{n}@example.com" for n in range(3)}
        rows = copy.execute("SELECT count(*) FROM filler").fetchone()[0]
        assert 2000 + 20 <= rows <= 2000 + len(written)
    finally:
        copy.close()

    # The copy is a working database: the commands read it.
    listed = cli("cases", "list", "--json", tmp_path=tmp_path, MDESK_DATABASE_URL=f"sqlite:///{backup}")
    assert len(listed.stdout.splitlines()) == 3


def test_backup_into_a_folder_writes_a_dated_file(tmp_path):
    assert cli("db", "upgrade", tmp_path=tmp_path).returncode == 0
    folder = tmp_path / "backups"
    folder.mkdir()
    assert cli("db", "backup", str(folder), tmp_path=tmp_path).returncode == 0
    (made,) = folder.iterdir()
    assert made.name.startswith("mdesk-") and made.suffix == ".sqlite3"


def test_a_damaged_database_is_not_backed_up_over_a_good_backup(tmp_path):
    assert cli("db", "upgrade", tmp_path=tmp_path).returncode == 0
    backup = tmp_path / "backup.sqlite3"
    assert cli("db", "backup", str(backup), tmp_path=tmp_path).returncode == 0
    good = backup.read_bytes()
    corrupt_a_page(tmp_path / "var" / "mdesk.sqlite3")
    one_line(cli("db", "backup", str(backup), tmp_path=tmp_path), 1, "is damaged", "restore it from a backup")
    assert backup.read_bytes() == good


def test_backup_of_postgresql_gives_pg_dump_advice_and_exit_2(tmp_path):
    url = f"postgresql+psycopg://mdesk:{SECRET}@127.0.0.1:5432/mdesk"
    one_line(
        cli("db", "backup", "/tmp/x.dump", tmp_path=tmp_path, MDESK_DATABASE_URL=url),
        2,
        "pg_dump --format=custom --file /tmp/x.dump 'postgresql://mdesk:***@127.0.0.1:5432/mdesk'",
    )
