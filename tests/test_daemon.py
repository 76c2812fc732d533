"""The daemon as an operator runs it: `python main.py run` against a real Dovecot and a real SMTP server.

Covers the whole path (IMAP IDLE -> case -> outbox -> SMTP), a clean SIGTERM, an IMAP restart while
idling, SIGKILL at random moments during a 500-message intake, and a loop with an autoresponder; and
that it never runs on with a part dead: a web port in use, /healthz after the mailbox recovers, the
database file deleted while it runs.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, func, select

from inbox.intake import Intake
from inbox.sources.imap import ImapSource
from inbox.sources.maildir import MaildirSource
from inbox.watch import MailboxWatcher
from models import db
from models.cases import Case
from models.mail import InboundMessage
from models.outbox import OutboxMessage
from scheduler.daemon import Daemon, DaemonError, dispatcher_from_settings
from tests import mailfactory
from tests.conftest import REPO
from tests.webserver import free_port


def daemon_env(imap_account, smtp_server, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDESK_")}
    env.update(
        MDESK_VAR_DIR=str(tmp_path / "var"),
        MDESK_IMAP_HOST=imap_account.host,
        MDESK_IMAP_PORT=str(imap_account.port),
        MDESK_IMAP_USER=imap_account.user,
        MDESK_IMAP_PASSWORD=imap_account.password,
        MDESK_IMAP_SECURITY="none",
        MDESK_SMTP_HOST=smtp_server.host,
        MDESK_SMTP_PORT=str(smtp_server.port),
        MDESK_SMTP_SECURITY="none",
        MDESK_MAIL_FROM="referrals@mediation-desk.example.org",
        MDESK_HTTP_PORT=str(free_port()),
        # A killed daemon's claimed rows are taken over after this long (production: minutes).
        MDESK_OUTBOX_LEASE_SECONDS="3",
    )
    return env


def maildir_env(tmp_path: Path) -> dict[str, str]:
    """The embedded defaults (SQLite and a Maildir under tmp_path, console transport)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDESK_")}
    env.update(MDESK_VAR_DIR=str(tmp_path / "var"), MDESK_HTTP_PORT=str(free_port()))
    return env


class DaemonProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> DaemonProcess:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "main.py", "run"], cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def signal(self, signum: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=60)

    def health(self) -> dict:
        return httpx.get(f"http://127.0.0.1:{self.env['MDESK_HTTP_PORT']}/healthz", timeout=5).json()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def env(imap_account, smtp_server, tmp_path):
    return daemon_env(imap_account, smtp_server, tmp_path)


@pytest.fixture
def database(env):
    engine = create_engine(f"sqlite:///{env['MDESK_VAR_DIR']}/mdesk.sqlite3")
    yield engine
    engine.dispose()


@pytest.fixture
def daemon(env, tmp_path):
    process = DaemonProcess(env, tmp_path / "daemon.log")
    yield process
    process.stop()


def wait_for(condition, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception:  # the database file may not exist yet
            result = None
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def processed(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(InboundMessage)).one()


def test_referrals_become_cases_and_families_get_one_acknowledgement_each(
    daemon, env, database, imap_account, smtp_server, tmp_path
):
    referral = mailfactory.referral(sender="Joanne Pryce <joanne@example.com>", message_id="<r1@example.com>")
    not_served = mailfactory.referral(
        sender="Sophie <sophie@example.org>",
        subject="Kent",
        body="Kent County Council refused to assess my son. Mediation please.\n",
    )
    machine = [
        mailfactory.out_of_office("unknown@example.com", sender="away@example.org"),
        mailfactory.bounce_of("unknown@mediation-desk.example.org", "gone@example.net"),
    ]
    for raw in (referral, not_served, *machine):
        imap_account.append(raw)
    daemon.start()
    wait_for(lambda: len(smtp_server.messages) >= 2, what="two acknowledgements")
    wait_for(lambda: processed(database) == 4, what="all four messages")

    by_rcpt = {mail.rcpt_tos[0]: mail.message for mail in smtp_server.messages}
    assert set(by_rcpt) == {"joanne@example.com", "sophie@example.org"}  # nothing to machine mail
    with Session(database) as session:
        camden = session.exec(select(Case).where(Case.referrer_email == "joanne@example.com")).one()
    ack = by_rcpt["joanne@example.com"]
    assert camden.reference in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<r1@example.com>" and "<r1@example.com>" in ack["References"]
    assert "020 7359 3635" in ack.get_body(("plain",)).get_content()
    assert "Kent" in by_rcpt["sophie@example.org"].get_body(("plain",)).get_content()

    # Processed mail is flagged on the server, never \Seen (a coordinator may read the mailbox too).
    for uid in imap_account.uids():
        flags = imap_account.flags(uid)
        assert b"$MdeskProcessed" in flags and b"\\Seen" not in flags

    health = wait_for(lambda: daemon.health(), what="/healthz")
    assert health["database"]["state"] == "ok" and health["mailbox"]["source"] == "imap"

    # The IMAP server restarts while the daemon idles: it reconnects by itself.
    imap_account.server.restart()
    imap_account.reconnect()
    imap_account.append(mailfactory.referral(sender="After Restart <after@example.com>"))
    wait_for(lambda: "after@example.com" in {m.rcpt_tos[0] for m in smtp_server.messages}, what="after restart")

    assert daemon.signal(signal.SIGTERM) == 0
    assert "stopped" in (tmp_path / "daemon.log").read_text()


def test_smtp_server_down_then_up_healthz_says_so_and_the_acknowledgement_goes_once(
    daemon, env, database, imap_account, smtp_server
):
    smtp_server.stop()
    imap_account.append(mailfactory.referral(sender="Waiting Parent <waiting@example.com>"))
    daemon.start()
    failing = wait_for(
        lambda: (t := daemon.health()["channels"]["email"])["state"] == "failing" and t, what="email failing"
    )
    assert "SMTP connection failed" in failing["detail"]
    with Session(database) as session:
        [ack] = session.exec(select(OutboxMessage)).all()
        assert ack.status == "pending" and ack.sent_at is None  # kept for the retry, not failed

    smtp_server.start()
    wait_for(lambda: smtp_server.messages, timeout=45, what="the acknowledgement after the outage")
    back = wait_for(lambda: (t := daemon.health()["channels"]["email"])["state"] == "ok" and t, what="email ok again")
    assert back["since"] > failing["since"]  # when it came back, not when it failed
    assert [m.rcpt_tos for m in smtp_server.messages] == [["waiting@example.com"]]


def test_sigkill_at_random_moments_loses_nothing_and_sends_nothing_twice(
    daemon, env, database, imap_account, smtp_server
):
    env["MDESK_INTAKE_WORKERS"] = "2"  # the reading workers die with the daemon and start again with it
    total = 500
    for i in range(total):
        if i % 10 == 9:
            raw = mailfactory.out_of_office("none@example.com", sender=f"away{i}@example.org")
        else:
            raw = mailfactory.referral(sender=f"Parent {i} <parent{i}@example.com>", message_id=f"<chaos-{i}@ex.com>")
        imap_account.append(raw)
    rng = random.Random(20261128)
    for _ in range(10):
        daemon.start()
        time.sleep(rng.uniform(1.0, 3.5))
        daemon.signal(signal.SIGKILL)
    daemon.start()
    wait_for(lambda: processed(database) >= total, timeout=180, what="every message taken in")
    wait_for(
        lambda: len({m.message["Message-ID"] for m in smtp_server.messages}) >= total - total // 10,
        timeout=120,
        what="every acknowledgement sent",
    )
    daemon.signal(signal.SIGTERM)

    with Session(database) as session:
        stored = session.exec(select(InboundMessage.message_id)).all()
        assert len(stored) == total and len(set(stored)) == total  # every message exactly once
        cases = session.exec(select(Case)).all()
        assert len(cases) == total - total // 10  # every referral exactly one case; no case for machine mail
        acks = session.exec(select(OutboxMessage.case_id)).all()
        assert sorted(Counter(acks).values()) == [1] * len(cases)  # exactly one acknowledgement per case
    delivered = Counter(str(m.message["Message-ID"]) for m in smtp_server.messages)
    assert len(delivered) == len(cases)
    # A kill between the SMTP server's 250 and our commit can only re-send the same message (same
    # Message-ID, which mail clients collapse): never more than one such repeat per kill.
    assert sum(delivered.values()) - len(delivered) <= 10
    assert not any(rcpt.startswith("away") for m in smtp_server.messages for rcpt in m.rcpt_tos)
    assert not [uid for uid in imap_account.uids() if b"$MdeskProcessed" not in imap_account.flags(uid)]


def test_an_autoresponder_that_answers_everything_gets_at_most_one_message_a_day(
    imap_account, smtp_server, settings, engine
):
    settings = settings.model_copy(
        update={
            "imap_host": imap_account.host,
            "imap_port": imap_account.port,
            "imap_user": imap_account.user,
            "imap_password": imap_account.password,
            "imap_security": "none",
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_security": "none",
        }
    )
    intake, dispatcher = Intake(engine, settings), dispatcher_from_settings(engine, settings)
    watcher = MailboxWatcher(ImapSource.from_settings(settings))
    imap_account.append(mailfactory.referral(sender="Busy Parent <busy@example.com>"))
    answered = 0
    for round_number in range(6):
        watcher.drain_once(intake.handle_batch)
        dispatcher.run_once()
        # A badly behaved autoresponder: answers each message we send with a fresh, person-like email.
        ours = [m for m in smtp_server.messages if "busy@example.com" in m.rcpt_tos]
        for _ in ours[answered:]:
            imap_account.append(
                mailfactory.message(
                    sender="Busy Parent <busy@example.com>",
                    subject=f"Thanks for your email ({round_number})",
                    body="Thanks for getting in touch, I will reply as soon as I can.\n",
                )
            )
        answered = len(ours)
    assert [m.rcpt_tos for m in smtp_server.messages] == [["busy@example.com"]]


# ---- never running on with a part dead ------------------------------------------------------------


def test_a_web_port_in_use_is_one_line_and_exit_1_never_running(tmp_path):
    env = maildir_env(tmp_path)
    with socket.socket() as holder:  # what else holds the port: another program's listening socket
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env["MDESK_HTTP_PORT"] = str(port)
        result = subprocess.run(
            [sys.executable, "main.py", "run"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    [line] = (result.stdout + result.stderr).splitlines()
    assert f"127.0.0.1:{port}" in line and "MDESK_HTTP_PORT" in line
    assert "running" not in line and "Traceback" not in line


def test_healthz_after_the_mailbox_recovers_clears_the_error_and_dates_the_change(daemon, env, database, imap_account):
    def mailbox() -> dict:
        return daemon.health()["mailbox"]

    daemon.start()
    up = wait_for(lambda: (m := mailbox())["state"] == "idle" and m, what="mailbox idle")
    assert up["detail"] == ""

    imap_account.server.stop()
    down = wait_for(lambda: (m := mailbox())["state"] == "disconnected" and m, what="mailbox disconnected")
    assert down["detail"]  # why it is down

    imap_account.server.start()
    imap_account.reconnect()
    back = wait_for(lambda: (m := mailbox())["state"] == "idle" and m, timeout=90, what="mailbox idle again")
    assert back["detail"] == ""  # the outage's error is gone with the outage
    assert datetime.fromisoformat(up["since"]) < datetime.fromisoformat(down["since"])
    assert datetime.fromisoformat(down["since"]) < datetime.fromisoformat(back["since"])

    # Handling a message is no change of state: `since` stays when the mailbox came back.
    imap_account.append(mailfactory.referral(sender="After Outage <after@example.com>"))
    wait_for(lambda: processed(database) == 1, what="the referral after the outage")
    after = wait_for(lambda: (m := mailbox())["state"] == "idle" and m, what="idle after the referral")
    assert after["since"] == back["since"] and after["detail"] == ""


def test_deleting_the_database_while_running_stops_the_daemon_and_leaves_new_mail_unmarked(tmp_path):
    env = maildir_env(tmp_path)
    var = tmp_path / "var"
    drop = MaildirSource(var / "maildir")
    for i in range(3):
        drop.drop(mailfactory.referral(sender=f"Before {i} <before{i}@example.com>"))
    database_file = var / "mdesk.sqlite3"
    engine = create_engine(f"sqlite:///{database_file}")
    daemon = DaemonProcess(env, tmp_path / "daemon.log").start()
    try:
        wait_for(lambda: processed(engine) == 3, what="the first referrals")
        engine.dispose()  # nothing of the test's may hold the old file
        wait_for(lambda: not any((var / "maildir" / "new").iterdir()), what="the first referrals marked")

        database_file.unlink()  # an operator's mistake: rm var/mdesk.sqlite3
        for i in range(3):
            drop.drop(mailfactory.referral(sender=f"After {i} <after{i}@example.com>"))
        assert daemon.proc.wait(timeout=60) == 1
    finally:
        daemon.stop()
    log = (tmp_path / "daemon.log").read_text()
    assert f"ERROR mdesk.daemon: the database file {database_file} was deleted while in use" in log
    # The referrals after the deletion are not marked: still in new/, for the next start.
    assert len(list((var / "maildir" / "new").iterdir())) == 3

    for leftover in var.glob("mdesk.sqlite3*"):  # start again with a fresh database
        leftover.unlink()
    daemon = DaemonProcess(env, tmp_path / "daemon2.log").start()
    try:
        engine = create_engine(f"sqlite:///{database_file}")
        wait_for(lambda: processed(engine) == 3, what="the referrals after the deletion, taken on restart")
        with Session(engine) as session:
            referrers = set(session.exec(select(Case.referrer_email)).all())
        assert referrers == {f"after{i}@example.com" for i in range(3)}
        assert daemon.signal(signal.SIGTERM) == 0
        engine.dispose()
    finally:
        daemon.stop()


def test_intake_on_a_deleted_database_marks_nothing_and_stops_the_watcher(tmp_path, settings, maildir):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'doomed.sqlite3'}")
    db.upgrade(engine)
    intake = Intake(engine, settings)
    source = MaildirSource(maildir)
    source.drop(mailfactory.referral(sender="First <first@example.com>"))
    assert MailboxWatcher(source).drain_once(intake.handle_batch) == 1

    (tmp_path / "doomed.sqlite3").unlink()
    source.drop(mailfactory.referral(sender="Second <second@example.com>"))
    with pytest.raises(db.DatabaseReplaced, match=r"doomed\.sqlite3 was deleted"):
        MailboxWatcher(source).drain_once(intake.handle_batch)
    assert len(list((maildir / "new").iterdir())) == 1  # the second referral, unmarked
    engine.dispose()


def test_a_part_that_stops_by_itself_stops_the_daemon_with_an_error(settings, caplog):
    daemon = Daemon(settings.model_copy(update={"http_port": free_port()}))
    failed: list[BaseException] = []

    def run() -> None:
        try:
            daemon.run()
        except DaemonError as exc:
            failed.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()  # not the main thread: the daemon installs no signal handlers
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{daemon.settings.http_port}/healthz", timeout=3), what="web")
        daemon.web_server.should_exit = True  # uvicorn returns, as it does after a fatal error of its own
        thread.join(timeout=60)
    finally:
        daemon.stop.set()
        thread.join(timeout=60)
    assert [str(exc) for exc in failed] == ["the web app stopped unexpectedly"]
    assert ("mdesk.daemon", logging.ERROR, "the web app stopped unexpectedly; stopping") in caplog.record_tuples
