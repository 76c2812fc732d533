"""The drop folder and the mailbox against what a hostile or careless writer leaves there.

An unreadable file, a link to a file outside the folder, a FIFO, a directory, a name used twice, a
message larger than the limit: each is built here on the real filesystem (or a real Dovecot), and
what is checked is what an operator would notice: the rows in the database, the files left in the
folder, the one warning line, /healthz.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from inbox.intake import Intake
from inbox.sources import maildir as maildir_module
from inbox.sources.imap import ImapSource
from inbox.sources.maildir import MaildirSource
from inbox.watch import MailboxWatcher
from models import db, metrics
from models.mail import InboundMessage, QuarantineEntry, StoredAttachment
from models.outbox import OutboxMessage
from models.raw_mail import load_raw
from scheduler.daemon import Daemon
from tests import mailfactory
from tests.cli import run_main
from tests.webserver import serve
from web.app import create_app

MB = 1024 * 1024


@pytest.fixture
def drop_folder(maildir: Path) -> MaildirSource:
    src = MaildirSource(maildir)
    src.connect()
    return src


def take_all(source: MaildirSource | ImapSource, intake: Intake) -> int:
    """What `ingest --once` does: everything pending through intake, marked once committed."""
    return MailboxWatcher(source).drain_once(intake.handle_batch)


def stored(engine) -> list[InboundMessage]:
    with Session(engine) as session:
        return list(session.exec(select(InboundMessage).order_by(InboundMessage.id)))


def raws(engine) -> list[bytes | None]:
    with Session(engine) as session:
        return [load_raw(session, m.id) for m in session.exec(select(InboundMessage).order_by(InboundMessage.id))]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- an unreadable file ------------------------------------------------------------------------


def _without_root_powers() -> list[str]:
    """A prefix that runs a command as the daemon runs in production: without the power to read
    any file whatever its permissions. Root (as here and in CI) has CAP_DAC_OVERRIDE, so a file
    with mode 000 is still readable to it; setpriv drops that (and CAP_DAC_READ_SEARCH) from the
    bounding set, so the kernel answers EACCES exactly as it does to an ordinary service user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): cannot make a file unreadable to root")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_an_unreadable_file_is_skipped_with_one_warning_and_the_rest_is_taken(tmp_path):
    var = tmp_path / "var"
    source = MaildirSource(var / "maildir")
    source.connect()
    first = source.drop(mailfactory.referral(sender="first@example.com"))
    locked = source.drop(mailfactory.referral(sender="locked@example.com", subject="Private: my daughter Ffion"))
    last = source.drop(mailfactory.referral(sender="last@example.com"))
    locked.chmod(0)

    settings = {"MDESK_VAR_DIR": str(var), "MDESK_LOG_LEVEL": "WARNING"}
    result = run_main("ingest", "--once", "--no-send", settings=settings, prefix=_without_root_powers())

    assert result.returncode == 0, result.stderr
    assert "2 message(s) handled" in result.stderr
    warnings = [line for line in result.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and f"new/{locked.name}" in warnings[0] and "Permission denied" in warnings[0]
    assert "Ffion" not in result.stderr and "locked@example.com" not in result.stderr  # the name only
    assert names(var / "maildir" / "new") == [locked.name]  # left where it is, for someone to fix
    assert names(var / "maildir" / "cur") == sorted([f"{first.name}:2,S", f"{last.name}:2,S"])
    engine = db.make_engine(f"sqlite:///{var / 'mdesk.sqlite3'}")
    try:
        assert sorted(m.sender_email for m in stored(engine)) == ["first@example.com", "last@example.com"]
    finally:
        engine.dispose()


# -- links, directories, FIFOs and sockets ------------------------------------------------------


def _odd_entries(maildir: Path, outside: Path) -> list[str]:
    """A link to a file outside, a dangling link, a FIFO, a directory and a socket, in new/."""
    new = maildir / "new"
    (new / "passwd-link").symlink_to(outside)
    (new / "dangling-link").symlink_to(maildir / "gone")
    os.mkfifo(new / "fifo")
    (new / "a-directory").mkdir()
    made = ["new/a-directory", "new/dangling-link", "new/fifo", "new/passwd-link"]
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(new / "sock"))  # a path over 107 bytes cannot be a socket's: then there is none
        made.append("new/sock")
    except OSError:
        pass
    finally:
        sock.close()
    return sorted(made)


def test_links_fifos_directories_and_sockets_are_left_in_place_and_logged_once(drop_folder, maildir, tmp_path, caplog):
    secret = tmp_path / "secret.eml"
    secret.write_bytes(mailfactory.referral(sender="root@example.com", body="SECRET-4711 do not store\n"))
    odd = _odd_entries(maildir, secret)
    real = drop_folder.drop(mailfactory.referral())
    before = metrics.MAILBOX_SKIPPED._value.get()
    caplog.set_level(logging.INFO, logger="mdesk.inbox.maildir")

    for _ in range(3):  # every poll: never blocked on the FIFO, never a second warning
        assert [m.key.uid for m in drop_folder.pending()] == [real.name]

    warned = sorted(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert len(warned) == len(odd) and all(name in line for name, line in zip(odd, warned, strict=True))
    assert metrics.MAILBOX_SKIPPED._value.get() == before + len(odd)
    assert list(drop_folder.skipped_files) == odd
    assert names(maildir / "new") == sorted([real.name, *(name.removeprefix("new/") for name in odd)])


def test_a_link_to_a_file_outside_the_folder_never_reaches_the_database(
    drop_folder, maildir, tmp_path, engine, settings
):
    secret = tmp_path / "secret.eml"
    secret.write_bytes(mailfactory.referral(sender="root@example.com", body="SECRET-4711 do not store\n"))
    _odd_entries(maildir, secret)
    drop_folder.drop(mailfactory.referral())

    assert take_all(drop_folder, Intake(engine, settings)) == 1
    [message] = stored(engine)
    assert b"SECRET-4711" not in raws(engine)[0] and message.sender_email == "joanne.pryce@example.com"
    with Session(engine) as session:
        # Attachments are kept inside the raw message now (payload only for small report parts).
        assert all(b"SECRET-4711" not in (a.payload or b"") for a in session.exec(select(StoredAttachment)))
    assert (maildir / "new" / "passwd-link").is_symlink() and secret.read_bytes().count(b"SECRET-4711") == 1


def test_healthz_counts_and_names_the_files_the_drop_folder_leaves(drop_folder, maildir, tmp_path, settings):
    os.mkfifo(maildir / "new" / "fifo")
    (maildir / "new" / "link").symlink_to(tmp_path / "elsewhere")
    drop_folder.drop(mailfactory.referral())
    watcher = MailboxWatcher(drop_folder)
    watcher.source.pending()
    daemon = Daemon(settings)
    try:
        daemon._refresh_mailbox_health(watcher)
        db.upgrade(daemon.engine)
        with serve(create_app(daemon.engine, daemon.health)) as base:
            mailbox = httpx.get(f"{base}/healthz").json()["mailbox"]
    finally:
        daemon.engine.dispose()
    assert mailbox["skipped_files"] == 2
    assert mailbox["skipped_file_names"] == ["new/fifo", "new/link"]


# -- a file name used twice ------------------------------------------------------------------


def test_a_reused_file_name_is_never_lost(drop_folder, maildir, engine, settings):
    intake = Intake(engine, settings)
    first = mailfactory.referral(sender="first@example.com")
    second = mailfactory.referral(sender="second@example.com")
    (maildir / "new" / "s001.eml").write_bytes(first)  # a tool that names every file the same
    assert take_all(drop_folder, intake) == 1
    (maildir / "new" / "s001.eml").write_bytes(second)
    assert take_all(drop_folder, intake) == 1

    assert raws(engine) == [first, second]
    cur = names(maildir / "cur")
    assert len(cur) == 2 and "s001.eml:2,S" in cur  # the first kept its name; the second got its own
    assert sorted((maildir / "cur" / name).read_bytes() for name in cur) == sorted([first, second])
    assert names(maildir / "new") == []
    with Session(engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 2  # each family acknowledged


def test_marking_never_overwrites_a_file_that_took_the_name_meanwhile(drop_folder, maildir):
    mine = drop_folder.drop(mailfactory.referral(sender="mine@example.com"))
    [message] = drop_folder.pending()
    other = mailfactory.referral(sender="other@example.com")
    (maildir / "cur" / f"{mine.name}:2,S").write_bytes(other)  # another reader got there first

    drop_folder.mark_processed(message.key)
    assert names(maildir / "new") == []
    contents = sorted((maildir / "cur" / name).read_bytes() for name in names(maildir / "cur"))
    assert contents == sorted([message.raw, other])
    assert drop_folder.pending() == []


def test_drop_never_overwrites_a_message_of_the_same_name(drop_folder, maildir, monkeypatch):
    # The same unique name twice (two hosts with one name, a clock set back): forced here.
    real = maildir_module._unique_name
    names_given = iter(["1700000000.M1P1Q1.host", "1700000000.M1P1Q1.host"])
    monkeypatch.setattr(maildir_module, "_unique_name", lambda: next(names_given, None) or real())
    first, second = mailfactory.referral(sender="a@example.com"), mailfactory.referral(sender="b@example.com")
    drop_folder.drop(first)
    drop_folder.drop(second)
    assert sorted(p.read_bytes() for p in (maildir / "new").iterdir()) == sorted([first, second])


# -- a message over the size limit, through the real sources --------------------------------------


def _sqlite(tmp_path: Path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'big.sqlite3'}")
    db.upgrade(engine)
    return engine


def _kept_raw_and_quarantined(engine, raw: bytes) -> None:
    [message] = stored(engine)
    with Session(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
        assert session.exec(select(StoredAttachment)).all() == []
    assert raws(engine) == [raw] and message.status == "quarantined"
    assert re.fullmatch(r"too large \(41(\.\d)? MB; the limit is 40 MB\)", entry.reason), entry.reason


@pytest.mark.slow
def test_a_41_mb_message_in_the_drop_folder_is_kept_raw_and_quarantined_and_a_39_mb_one_is_read(
    drop_folder, tmp_path, settings
):
    assert settings.max_message_mb == 40  # the default
    engine = _sqlite(tmp_path)
    try:
        big = mailfactory.with_attachment(30 * MB + MB // 2)
        assert 41 * MB < len(big) < 42 * MB
        drop_folder.drop(big)
        machine = mailfactory.with_attachment(30 * MB + MB // 2, sender="Portal <noreply@portal.example.com>")
        drop_folder.drop(machine)
        assert take_all(drop_folder, Intake(engine, settings)) == 2
        with Session(engine) as session:
            [reply] = session.exec(select(OutboxMessage)).all()  # the person's, not the machine's
            reasons = [entry.reason for entry in session.exec(select(QuarantineEntry))]
        assert (reply.template, reply.to) == ("too_large", "joanne.pryce@example.com")
        assert raws(engine) == [big, machine] and [m.status for m in stored(engine)] == ["quarantined"] * 2
        assert all(re.fullmatch(r"too large \(41(\.\d)? MB; the limit is 40 MB\)", r) for r in reasons), reasons

        ordinary = mailfactory.with_attachment(28 * MB, sender="under@example.com")
        assert 37 * MB < len(ordinary) < 40 * MB
        drop_folder.drop(ordinary)
        assert take_all(drop_folder, Intake(engine, settings)) == 1
        last = stored(engine)[-1]
        assert (last.sender_email, last.status, last.outcome) == ("under@example.com", "processed", "new_case")
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_41_mb_message_over_imap_is_kept_raw_and_quarantined_and_its_sender_told(imap_account, tmp_path, settings):
    engine = _sqlite(tmp_path)
    big = mailfactory.with_attachment(30 * MB + MB // 2).replace(b"\n", b"\r\n")  # as the server keeps it
    imap_account.append(big)
    source = ImapSource(imap_account.host, imap_account.port, imap_account.user, imap_account.password, security="none")
    if not imap_account.server.keeps_keywords:
        source.processed_folder = "Processed"
    try:
        assert take_all(source, Intake(engine, settings)) == 1
        _kept_raw_and_quarantined(engine, big)
        with Session(engine) as session:
            [reply] = session.exec(select(OutboxMessage)).all()
        assert (reply.template, reply.to) == ("too_large", "joanne.pryce@example.com")
    finally:
        source.close()
        engine.dispose()
