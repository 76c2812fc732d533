"""Mail sources and the watcher, against a real IMAP server on loopback and a real Maildir.

What a coordinator would notice: every referral handed to intake once, byte for byte; reading it
leaves it unread in their client; a restart of the mail server heals by itself; nothing is marked
that intake did not commit. Timing is only ever checked as "returned before the (generous) timeout".
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from inbox.sources.base import TRANSIENT_ERRORS, MessageKey, SourceError, SourceMessage
from inbox.sources.imap import ImapSource
from inbox.sources.maildir import MaildirSource
from inbox.watch import MailboxWatcher
from tests.imap_server import ImapAccount, ImapTestServer

TIMEOUT = 10.0  # generous: every wait here ends long before it unless something is broken
PROCESSED = b"$MdeskProcessed"


def mail(n: int, note: str = "") -> bytes:
    """A small referral-like message, CRLF throughout as a server stores it."""
    lines = [
        f"From: Parent {n} <parent{n}@example.org>",
        "To: referrals@mediation-desk.example.org",
        f"Subject: Referral {n} {note}".rstrip(),
        f"Message-ID: <ref-{n}-{time.time_ns()}@example.org>",
        "Date: Mon, 03 Mar 2025 10:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        f"Please contact us about our son (message {n}).",
        "Thanks",
        "",
    ]
    return "\r\n".join(lines).encode()


def returns_before(timeout: float, call: Callable[[], object]) -> float:
    """Run call() and return how long it took, failing only if it ran out the whole timeout."""
    started = time.monotonic()
    call()
    elapsed = time.monotonic() - started
    assert elapsed < timeout - 1.0, f"returned only after {elapsed:.1f}s"
    return elapsed


def eventually(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the timeout"
        time.sleep(0.05)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def make_source(imap_account: ImapAccount) -> Iterator[Callable[..., ImapSource]]:
    """ImapSource for this test's account; flag mode unless the server keeps no keywords."""
    made: list[ImapSource] = []

    def make(**overrides: Any) -> ImapSource:
        options: dict[str, Any] = {"security": "none", "poll_seconds": 0.5}
        if not imap_account.server.keeps_keywords:
            options["processed_folder"] = "Processed"
        options.update(overrides)
        source = ImapSource(imap_account.host, imap_account.port, imap_account.user, imap_account.password, **options)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


@pytest.fixture
def source(make_source: Callable[..., ImapSource]) -> ImapSource:
    src = make_source()
    src.connect()
    return src


def needs_keywords(server: ImapTestServer) -> None:
    if not server.keeps_keywords:
        pytest.skip(f"{server.kind} keeps no custom keywords")


class Recorder:
    """A batch handler that records what it was given and commits each message, in order, until
    `answer` says no for one (the database is down, say): how many it committed."""

    def __init__(self, answer: Callable[[SourceMessage, int], bool] = lambda m, n: True) -> None:
        self.keys: list[MessageKey] = []
        self.raws: dict[MessageKey, bytes] = {}
        self._answer = answer
        self._lock = threading.Lock()

    def __call__(self, messages: list[SourceMessage]) -> int:
        for committed, message in enumerate(messages):
            with self._lock:
                self.keys.append(message.key)
                self.raws[message.key] = message.raw
                seen = self.keys.count(message.key)
            if not self._answer(message, seen):
                return committed
        return len(messages)


class Running:
    """A MailboxWatcher.run in a thread, stopped (and joined) at the end of the test."""

    def __init__(self, watcher: MailboxWatcher, handler: Recorder) -> None:
        self.watcher, self.stop = watcher, threading.Event()
        self.thread = threading.Thread(target=watcher.run, args=(handler, self.stop), daemon=True)
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "watcher did not stop"


@pytest.fixture
def run_watcher() -> Iterator[Callable[[MailboxWatcher, Recorder], Running]]:
    running: list[Running] = []

    def start(watcher: MailboxWatcher, handler: Recorder) -> Running:
        running.append(Running(watcher, handler))
        return running[-1]

    yield start
    for r in running:
        r.stop.set()
        r.thread.join(TIMEOUT)


# -- IMAP: reading ----------------------------------------------------------------------------


def test_pending_returns_raw_bytes_with_uidvalidity_in_uid_order(imap_account, source):
    raws = [mail(n) for n in range(3)]
    uids = [imap_account.append(raw) for raw in raws]

    got = source.pending()

    assert [m.raw for m in got] == raws  # byte-identical, CRLF as stored
    assert [m.key.uid for m in got] == [str(uid) for uid in uids]
    assert {m.key.uidvalidity for m in got} == {imap_account.uidvalidity()}
    assert {m.key.mailbox for m in got} == {source.mailbox_id}
    assert source.mailbox_id.endswith(f"@{imap_account.host}:{imap_account.port}/INBOX")
    assert imap_account.user not in source.name  # name goes to logs and /healthz


def test_pending_says_when_the_mailbox_got_each_message(imap_account, source, drop_folder):
    # The server's INTERNALDATE, not the Date header: intake does not acknowledge mail from long ago.
    long_ago = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    imap_account.client.append("INBOX", mail(1), msg_time=long_ago)
    imap_account.append(mail(2))
    old, new = source.pending()
    assert old.received_at == long_ago
    assert new.received_at is not None and abs(new.received_at - datetime.now(UTC)) < timedelta(minutes=5)

    path = drop_folder.drop(mail(3))
    os.utime(path, (long_ago.timestamp(), long_ago.timestamp()))
    [dropped] = drop_folder.pending()
    assert dropped.received_at == long_ago


def test_pending_respects_the_limit_oldest_first(imap_account, source):
    uids = [imap_account.append(mail(n)) for n in range(5)]
    assert [m.key.uid for m in source.pending(limit=2)] == [str(u) for u in uids[:2]]


def test_reading_does_not_mark_mail_seen(imap_account, source):
    uid = imap_account.append(mail(1))
    assert len(source.pending()) == 1
    assert b"\\Seen" not in imap_account.flags(uid)


def test_mail_a_coordinator_already_read_is_still_pending(imap_account, source):
    uid = imap_account.append(mail(1), flags=[b"\\Seen"])
    assert [m.key.uid for m in source.pending()] == [str(uid)]


# -- IMAP: marking ----------------------------------------------------------------------------


def test_mark_processed_sets_the_keyword_and_hides_the_message(imap_account, source):
    needs_keywords(imap_account.server)
    first, second = imap_account.append(mail(1)), imap_account.append(mail(2))
    message = source.pending()[0]

    source.mark_processed(message.key)
    source.mark_processed(message.key)  # twice is fine

    assert PROCESSED in imap_account.flags(first)
    assert b"\\Seen" not in imap_account.flags(first)  # still unread for the coordinator
    assert [m.key.uid for m in source.pending()] == [str(second)]


def test_custom_flag_name_is_used(imap_account, make_source):
    needs_keywords(imap_account.server)
    uid = imap_account.append(mail(1))
    src = make_source(processed_flag="$Referral")
    src.connect()
    src.mark_processed(src.pending()[0].key)
    assert b"$Referral" in imap_account.flags(uid)
    assert src.pending() == []


def test_mark_processed_moves_to_a_folder_it_creates(imap_account, make_source):
    raw = mail(1)
    imap_account.append(raw)
    src = make_source(processed_folder="Processed")
    src.connect()
    assert "Processed" not in imap_account.folders()
    key = src.pending()[0].key

    src.mark_processed(key)
    src.mark_processed(key)  # already moved: not an error

    assert imap_account.uids("INBOX") == []
    moved = imap_account.uids("Processed")
    assert len(moved) == 1
    assert imap_account.client.fetch(moved, ["BODY.PEEK[]"])[moved[0]][b"BODY[]"] == raw
    assert src.pending() == []


def test_move_falls_back_to_copy_delete_expunge_without_move(imap_account, make_source):
    imap_account.append(mail(1))
    keep = imap_account.append(mail(2))
    src = make_source(processed_folder="Done")
    src.connect()
    src._has_move = False  # as on a server without RFC 6851 MOVE
    src.mark_processed(src.pending()[0].key)

    assert imap_account.uids("INBOX") == [keep]  # UID EXPUNGE removed only ours
    assert len(imap_account.uids("Done")) == 1
    assert [m.key.uid for m in src.pending()] == [str(keep)]


def test_flag_mode_is_accepted_only_where_the_server_keeps_keywords(imap_account, make_source):
    source = make_source(processed_folder="")
    if not imap_account.server.keeps_keywords:  # pymap: the flag would be dropped, mail handed out forever
        with pytest.raises(SourceError, match="processed folder"):
            source.connect()
        return
    source.connect()  # Dovecot: PERMANENTFLAGS offers \* (new keywords)
    imap_account.append(mail(0))
    [message] = source.pending()
    source.mark_processed(message.key)
    assert source.pending() == []


def test_uidvalidity_change_gives_new_keys_and_refuses_stale_marks(imap_account, make_source):
    folder = "Referrals"
    imap_account.client.create_folder(folder)
    for n in range(2):
        imap_account.append(mail(n), folder=folder)
    src = make_source(folder=folder)
    src.connect()
    before = src.pending()
    old_validity = before[0].key.uidvalidity

    # Recreate the folder with the same messages: the server must give it a new UIDVALIDITY.
    imap_account.client.rename_folder(folder, "Referrals-old")
    imap_account.client.create_folder(folder)
    imap_account.client.select_folder("Referrals-old")
    imap_account.client.copy(imap_account.client.search("ALL"), folder)

    after = src.pending()
    assert [m.raw for m in after] == [m.raw for m in before]
    assert {m.key.uidvalidity for m in after} == {imap_account.uidvalidity(folder)} != {old_validity}
    with pytest.raises(SourceError, match="UIDVALIDITY"):
        src.mark_processed(before[0].key)


# -- IMAP: waiting ----------------------------------------------------------------------------


def test_idle_wakes_up_when_mail_arrives(imap_account, source):
    assert source.idle_supported
    assert source.pending() == []
    threading.Timer(0.5, imap_account.append, args=(mail(1),)).start()

    returns_before(TIMEOUT, lambda: source.wait(TIMEOUT))

    assert len(source.pending()) == 1


def test_interrupt_breaks_idle(source):
    threading.Timer(0.3, source.interrupt).start()
    returns_before(TIMEOUT, lambda: source.wait(TIMEOUT))
    source.pending()  # the connection is still usable afterwards


def test_interrupt_before_wait_is_not_lost(source):
    source.interrupt()  # SIGTERM while intake was busy: the next wait must not block
    returns_before(TIMEOUT, lambda: source.wait(TIMEOUT))


def test_short_idle_slices_re_issue_idle_and_stay_usable(imap_account, make_source):
    src = make_source(idle_seconds=0.5)  # re-issue IDLE every half second instead of 25 minutes
    src.connect()
    src.wait(1.6)
    imap_account.append(mail(1))
    assert len(src.pending()) == 1


def test_without_idle_wait_polls(imap_account, make_source):
    src = make_source(use_idle=False, poll_seconds=0.5)
    src.connect()
    assert not src.idle_supported
    returns_before(TIMEOUT, lambda: src.wait(TIMEOUT))  # one poll interval, not the timeout
    imap_account.append(mail(1))
    assert len(src.pending()) == 1


def test_interrupt_breaks_a_poll_wait(make_source):
    src = make_source(use_idle=False, poll_seconds=60)
    src.connect()
    threading.Timer(0.3, src.interrupt).start()
    returns_before(TIMEOUT, lambda: src.wait(TIMEOUT))


# -- IMAP: configuration ---------------------------------------------------------------------


def test_plaintext_is_warned_about_off_loopback_only(caplog):
    with caplog.at_level(logging.WARNING, logger="mdesk.inbox.imap"):
        ImapSource("127.0.0.1", 143, "u", "p", security="none")
        ImapSource("localhost", 143, "u", "p", security="none")
        assert caplog.records == []
        ImapSource("mail.example.org", 143, "u", "p", security="none")
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "without TLS" in caplog.records[0].getMessage()


def test_from_settings_reads_the_imap_fields():
    from models.settings import Settings

    settings = Settings(
        imap_host="imap.example.org", imap_user="referrals", imap_password="pw", imap_security="starttls",
        imap_folder="Referrals", imap_processed_folder="Done", imap_processed_flag="$Done",
        imap_idle_seconds=600, imap_poll_seconds=12.5,
    )  # fmt: skip
    src = ImapSource.from_settings(settings)
    assert (src.host, src.port, src.user, src.security) == ("imap.example.org", 143, "referrals", "starttls")
    assert (src.folder, src.processed_folder, src.processed_flag) == ("Referrals", "Done", "$Done")
    assert (src.idle_seconds, src.poll_seconds) == (600, 12.5)
    assert "pw" not in src.name and "referrals" not in src.name


def test_starttls_to_a_server_without_it_fails_as_a_reconnectable_error(make_source):
    # Our test servers offer no TLS: STARTTLS must fail loudly, never fall back to plaintext.
    src = make_source(security="starttls")
    with pytest.raises(TRANSIENT_ERRORS):
        src.connect()


# -- the watcher over IMAP --------------------------------------------------------------------


def test_watcher_handles_each_message_exactly_once_and_marks_it(imap_account, make_source, run_watcher):
    raws = [mail(n) for n in range(20)]
    for raw in raws:
        imap_account.append(raw)
    handler = Recorder()
    running = run_watcher(MailboxWatcher(make_source(), batch=7), handler)

    eventually(lambda: len(handler.keys) >= 20)
    eventually(lambda: running.watcher.state == "idle")
    running.finish()

    assert len(handler.keys) == len(set(handler.keys)) == 20
    assert sorted(handler.raws.values()) == sorted(raws)
    assert running.watcher.last_ok_at is not None and running.watcher.last_ok_at.tzinfo is not None
    check = make_source()
    check.connect()
    assert check.pending() == []  # all marked


def test_watcher_reconnects_after_a_server_restart_and_logs_it_once(imap_account, make_source, run_watcher, caplog):
    caplog.set_level(logging.INFO, logger="mdesk.inbox.watch")
    handler = Recorder()
    watcher = MailboxWatcher(make_source(), backoff_first=0.2, backoff_cap=1.0)
    running = run_watcher(watcher, handler)
    eventually(lambda: watcher.state == "idle")
    caplog.clear()

    imap_account.server.restart()
    imap_account.reconnect()
    if not imap_account.server.persistent:  # pymap forgets its users' mail, not the user
        imap_account.user, imap_account.password = imap_account.server.user(imap_account.user)
        imap_account.reconnect()
    imap_account.append(mail(99, "after restart"))

    eventually(lambda: len(handler.keys) == 1, timeout=20)
    running.finish()
    lines = [r.getMessage() for r in caplog.records if r.name == "mdesk.inbox.watch"]
    assert len([x for x in lines if x.startswith("mailbox disconnected")]) == 1, lines
    assert len([x for x in lines if x.startswith("mailbox connected")]) == 1, lines
    assert watcher.last_error is None  # recovered: /healthz shows no stale error (issue 7 item 5)


def test_handler_saying_not_now_leaves_the_message_for_the_next_round(imap_account, make_source, run_watcher):
    uid = imap_account.append(mail(1))
    handler = Recorder(answer=lambda message, seen: seen > 1)  # the database is down the first time
    watcher = MailboxWatcher(make_source(), backoff_first=0.2)

    assert watcher.drain_once(handler) == 0
    if imap_account.server.keeps_keywords:
        assert PROCESSED not in imap_account.flags(uid)
    assert imap_account.uids("INBOX") == [uid]

    running = run_watcher(watcher, handler)
    eventually(lambda: len(handler.keys) == 2)
    eventually(lambda: watcher.state == "idle")
    running.finish()
    assert handler.keys[0] == handler.keys[1]
    check = make_source()
    check.connect()
    assert check.pending() == []


def test_a_raising_handler_does_not_lose_the_message(imap_account, make_source, caplog):
    imap_account.append(mail(1))

    def broken(messages: list[SourceMessage]) -> int:
        raise RuntimeError("Subject: Referral 1 for parent1@example.org")  # text that must not be logged

    watcher = MailboxWatcher(make_source())
    with caplog.at_level(logging.INFO, logger="mdesk.inbox.watch"):
        assert watcher.drain_once(broken) == 0
    assert watcher.drain_once(Recorder()) == 1
    text = " ".join(r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)
    assert "RuntimeError" in text
    assert "parent1@example.org" not in text


def test_drain_once_handles_everything_then_closes(imap_account, make_source):
    for n in range(3):
        imap_account.append(mail(n))
    watcher = MailboxWatcher(make_source(), batch=2)
    assert watcher.drain_once(Recorder()) == 3
    assert watcher.drain_once(Recorder()) == 0
    assert watcher.state == "disconnected"


def test_watcher_keeps_retrying_an_unreachable_server_and_logs_once(caplog):
    caplog.set_level(logging.DEBUG, logger="mdesk.inbox.watch")
    src = ImapSource("127.0.0.1", _closed_port(), "nobody", "x", security="none", timeout=2)
    watcher = MailboxWatcher(src, backoff_first=0.05, backoff_cap=0.1)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(Recorder(), stop), daemon=True)
    thread.start()
    eventually(lambda: len([r for r in caplog.records if r.levelno == logging.DEBUG]) >= 3)
    stop.set()
    thread.join(TIMEOUT)

    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(loud) == 1 and loud[0].startswith("mailbox unavailable"), loud
    assert "ConnectionRefusedError" in (watcher.last_error or "")
    assert watcher.state == "disconnected"


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


# -- Maildir ----------------------------------------------------------------------------------


@pytest.fixture
def drop_folder(maildir: Path) -> MaildirSource:
    src = MaildirSource(maildir)
    src.connect()
    return src


def test_maildir_drop_then_pending_then_mark(drop_folder, maildir):
    raw = mail(1)
    path = drop_folder.drop(raw)
    assert path.parent == maildir / "new"
    assert list((maildir / "tmp").iterdir()) == []

    [message] = drop_folder.pending()
    assert message.raw == raw
    assert message.key == MessageKey(f"maildir:{maildir.resolve()}", 0, path.name)

    drop_folder.mark_processed(message.key)
    drop_folder.mark_processed(message.key)  # idempotent

    assert list((maildir / "new").iterdir()) == []
    assert [p.name for p in (maildir / "cur").iterdir()] == [f"{path.name}:2,S"]
    assert drop_folder.pending() == []


def test_maildir_files_put_straight_into_cur_are_pending(drop_folder, maildir):
    (maildir / "cur" / "plain-file").write_bytes(mail(1))  # no info part at all
    (maildir / "cur" / "flagged:2,F").write_bytes(mail(2))  # a flag, but not ours
    (maildir / "cur" / "done:2,S").write_bytes(mail(3))  # already processed
    (maildir / "new" / ".hidden").write_bytes(mail(4))  # dot files are not mail

    pending = drop_folder.pending()
    assert sorted(m.key.uid for m in pending) == ["flagged", "plain-file"]
    for message in pending:
        drop_folder.mark_processed(message.key)
    assert sorted(p.name for p in (maildir / "cur").iterdir()) == [
        "done:2,S",
        "flagged:2,FS",
        "plain-file:2,S",
    ]


def test_maildir_pending_is_oldest_first(drop_folder, maildir):
    paths = [drop_folder.drop(mail(n)) for n in range(3)]
    for age, path in zip((10, 30, 20), paths, strict=True):  # make the first drop the middle one
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    assert [m.key.uid for m in drop_folder.pending()] == [paths[1].name, paths[2].name, paths[0].name]


def test_maildir_wait_returns_early_on_a_drop(drop_folder):
    threading.Timer(0.3, drop_folder.drop, args=(mail(1),)).start()
    returns_before(TIMEOUT, lambda: drop_folder.wait(TIMEOUT))
    assert len(drop_folder.pending()) == 1


def test_maildir_wait_returns_on_interrupt(drop_folder):
    threading.Timer(0.3, drop_folder.interrupt).start()
    returns_before(TIMEOUT, lambda: drop_folder.wait(TIMEOUT))


def test_maildir_creates_its_folders(tmp_path):
    src = MaildirSource(tmp_path / "var" / "maildir")
    src.connect()
    assert sorted(p.name for p in (tmp_path / "var" / "maildir").iterdir()) == ["cur", "new", "tmp"]


def test_watcher_over_a_maildir(drop_folder, maildir, run_watcher):
    for n in range(3):
        drop_folder.drop(mail(n))
    handler = Recorder()
    running = run_watcher(MailboxWatcher(MaildirSource(maildir)), handler)
    eventually(lambda: len(handler.keys) == 3)
    eventually(lambda: running.watcher.state == "idle")
    drop_folder.drop(mail(3))  # a drop while it waits is picked up
    eventually(lambda: len(handler.keys) == 4)
    running.finish()
    assert len(set(handler.keys)) == 4
    assert drop_folder.pending() == []


# -- marking many, and the batch watcher -----------------------------------------------------


def test_mark_processed_many_marks_the_set_with_one_command(imap_account, source):
    needs_keywords(imap_account.server)
    uids = [imap_account.append(mail(n)) for n in range(5)]
    pending = source.pending()

    source.mark_processed_many([m.key for m in pending[:3]])
    source.mark_processed_many([m.key for m in pending[:3]])  # twice is fine
    source.mark_processed_many([])

    for uid in uids[:3]:
        assert PROCESSED in imap_account.flags(uid) and b"\\Seen" not in imap_account.flags(uid)
    assert [m.key.uid for m in source.pending()] == [str(u) for u in uids[3:]]


def test_mark_processed_many_moves_the_set(imap_account, make_source):
    for n in range(3):
        imap_account.append(mail(n))
    src = make_source(processed_folder="Processed")
    src.connect()
    src.mark_processed_many([m.key for m in src.pending()[:2]])
    assert len(imap_account.uids("INBOX")) == 1 and len(imap_account.uids("Processed")) == 2


def test_mark_processed_many_refuses_a_stale_uidvalidity_and_marks_none(imap_account, source):
    needs_keywords(imap_account.server)
    uids = [imap_account.append(mail(n)) for n in range(2)]
    first, second = source.pending()
    stale = MessageKey(second.key.mailbox, second.key.uidvalidity + 1, second.key.uid)
    with pytest.raises(SourceError, match="UIDVALIDITY"):
        source.mark_processed_many([first.key, stale])
    assert all(PROCESSED not in imap_account.flags(uid) for uid in uids)


class BatchRecorder:
    """A batch handler that commits at most `limit` messages of each call (None: all of them)."""

    def __init__(self, limit: int | None = None) -> None:
        self.calls: list[list[MessageKey]] = []
        self.limit = limit

    def __call__(self, messages: list[SourceMessage]) -> int:
        self.calls.append([m.key for m in messages])
        return len(messages) if self.limit is None else min(self.limit, len(messages))


def test_drain_once_with_a_batch_handler_marks_only_what_was_committed(imap_account, make_source):
    needs_keywords(imap_account.server)
    uids = [imap_account.append(mail(n)) for n in range(3)]
    handler = BatchRecorder(limit=2)  # the database went away after two

    assert MailboxWatcher(make_source()).drain_once(handler) == 2

    assert [[key.uid for key in call] for call in handler.calls] == [[str(uid) for uid in uids]]
    assert [PROCESSED in imap_account.flags(uid) for uid in uids] == [True, True, False]
    assert MailboxWatcher(make_source()).drain_once(BatchRecorder()) == 1
    assert PROCESSED in imap_account.flags(uids[2])


def test_drain_once_with_a_raising_batch_handler_marks_nothing(imap_account, make_source):
    imap_account.append(mail(1))

    def broken(messages: list[SourceMessage]) -> int:
        raise RuntimeError("bug")

    watcher = MailboxWatcher(make_source())
    assert watcher.drain_once(broken) == 0
    assert watcher.drain_once(BatchRecorder()) == 1


def test_watcher_with_a_batch_handler_takes_chunks_and_marks_them(imap_account, make_source):
    count = 120  # more than one chunk of a batch of 200
    for n in range(count):
        imap_account.append(mail(n))
    handler = BatchRecorder()
    watcher = MailboxWatcher(make_source())
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(handler, stop), daemon=True)
    thread.start()
    try:
        eventually(lambda: sum(map(len, handler.calls)) >= count)
        eventually(lambda: watcher.state == "idle")
    finally:
        stop.set()
        thread.join(TIMEOUT)
    keys = [key for call in handler.calls for key in call]
    assert len(keys) == len(set(keys)) == count
    assert max(map(len, handler.calls)) <= 50
    check = make_source()
    check.connect()
    assert check.pending() == []


def test_pending_leaves_out_the_keys_the_caller_holds(imap_account, source, drop_folder, maildir):
    uids = [imap_account.append(mail(n)) for n in range(4)]
    held = {m.key for m in source.pending(limit=2)}
    assert [m.key.uid for m in source.pending(limit=2, exclude=held)] == [str(u) for u in uids[2:]]
    for n in range(3):
        drop_folder.drop(mail(n))
    first = drop_folder.pending(limit=1)
    rest = drop_folder.pending(exclude={m.key for m in first})
    assert len(rest) == 2 and first[0].key not in {m.key for m in rest}


def test_watcher_fetches_the_next_window_ahead_and_announces_each_message_once(imap_account, make_source):
    needs_keywords(imap_account.server)
    count = 70  # windows of 30: 30, 30, 10
    uids = [imap_account.append(mail(n)) for n in range(count)]
    events: list[tuple[str, list[str]]] = []

    def read_ahead(messages: list[SourceMessage]) -> None:
        events.append(("announced", [m.key.uid for m in messages]))

    def handle_batch(messages: list[SourceMessage]) -> int:
        events.append(("handled", [m.key.uid for m in messages]))
        return len(messages)

    watcher = MailboxWatcher(make_source(), batch=30)
    assert watcher.drain_once(handle_batch, read_ahead=read_ahead) == count

    announced = [uid for kind, keys in events if kind == "announced" for uid in keys]
    handled = [uid for kind, keys in events if kind == "handled" for uid in keys]
    assert announced == handled == [str(u) for u in uids]  # each once, in order
    # The second window was on its way to the readers before the first was handed to intake.
    assert [kind for kind, _keys in events[:3]] == ["announced", "announced", "handled"]
    check = make_source()
    check.connect()
    assert check.pending() == []


def test_a_window_fetched_ahead_is_left_unmarked_when_intake_stops(imap_account, make_source):
    needs_keywords(imap_account.server)
    uids = [imap_account.append(mail(n)) for n in range(8)]
    handler = BatchRecorder(limit=2)  # the database went away after two

    watcher = MailboxWatcher(make_source(), batch=4)
    assert watcher.drain_once(handler, read_ahead=lambda messages: None) == 2
    assert [PROCESSED in imap_account.flags(uid) for uid in uids] == [True, True] + [False] * 6
    rest = BatchRecorder()
    assert MailboxWatcher(make_source()).drain_once(rest) == 6
    assert [key.uid for call in rest.calls for key in call] == [str(u) for u in uids[2:]]
