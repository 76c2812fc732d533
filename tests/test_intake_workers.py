"""Intake with reading workers (settings.intake_workers): the same outcomes as reading in process.

The workers parse, classify and extract in other processes; here the in-process functions are made
to fail, so every outcome below comes from what the workers read.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from inbox import reading as reading_module
from inbox.intake import Intake
from inbox.readers import Readers
from inbox.reading import Reading, ReadOptions
from inbox.sources.base import MessageKey, SourceMessage
from models.cases import Case, TimelineEvent
from models.mail import InboundMessage, QuarantineEntry
from models.outbox import OutboxMessage
from models.outbox_ops import is_suppressed
from tests import mailfactory

_uids = iter(range(1, 10_000))


def batch_of(*raws: bytes) -> list[SourceMessage]:
    return [SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids))), raw) for raw in raws]


def _not_in_process(*_args, **_kwargs):
    raise AssertionError("read in process although a worker should have read it")


@pytest.fixture
def intake(engine, settings, monkeypatch):
    for name in ("parse_message", "classify", "extract_referral", "bounced_recipients", "original_message_id"):
        monkeypatch.setattr(reading_module, name, _not_in_process)
    intake = Intake(engine, settings.model_copy(update={"intake_workers": 2}))
    assert intake.readers.workers == 2
    yield intake
    intake.close()


def test_workers_read_a_mixed_batch_with_the_outcomes_of_reading_in_process(engine, intake):
    first = mailfactory.referral(message_id="<w1@example.com>")
    assert intake.handle_batch(batch_of(first, mailfactory.referral(sender="other@example.com"))) == 2
    with Session(engine) as session:
        ack = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        assert ack is not None and ack.in_reply_to == "w1@example.com"
        case_id, ack_id, to = ack.case_id, ack.message_id, ack.to
    second = batch_of(
        mailfactory.reply_to(ack_id, sender=to, subject="Re: your referral"),
        mailfactory.out_of_office(ack_id),
        mailfactory.bounce_of(ack_id, to),
        b"To: referrals@mediation-desk.example.org\r\nSubject: help\r\n\r\nPlease call me back.\r\n",
        first,  # handed out again: known by what it is
    )
    intake.read_ahead(second)  # as the watcher does with its whole fetch, then hands it over in chunks
    assert intake.handle_batch(second[:2]) == 2
    assert intake.handle_batch(second[2:]) == 3
    with Session(engine) as session:
        stored = session.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [m.outcome for m in stored] == ["new_case", "new_case", "reply", "automated", "bounce", None]
        assert [m.case_id for m in stored[2:5]] == [case_id] * 3
        assert stored[5].status == "quarantined"
        assert "no sender address" in session.exec(select(QuarantineEntry)).one().reason
        assert len(session.exec(select(Case)).all()) == 2
        assert len(session.exec(select(OutboxMessage)).all()) == 2
        assert is_suppressed(session, "email", to)
        events = session.exec(select(TimelineEvent).where(TimelineEvent.case_id == case_id)).all()
        assert any(e.kind == "bounce" and "User unknown" in e.summary for e in events)
        assert any("Automatic auto reply" in e.summary for e in events)


def test_messages_read_ahead_are_all_read_by_workers_whatever_the_chunks_handed_over():
    readers = Readers(2, ReadOptions(("referrals@mediation-desk.example.org",)))
    try:
        messages = batch_of(*(mailfactory.referral(sender=f"parent{n}@example.com") for n in range(40)))
        readers.read_ahead(messages[:25])
        readers.read_ahead(messages[25:])  # the next window, announced before the first is handed over
        readings = []
        for start in range(0, len(messages), 3):  # chunks that straddle the workers' tasks
            readings += list(readers.read_all(messages[start : start + 3]))
    finally:
        readers.close()
    assert all(isinstance(reading, Reading) for reading in readings)
    assert [r.parsed.sender.email for r in readings] == [f"parent{n}@example.com" for n in range(40)]
    assert readers._ahead == {}


def test_readers_yield_the_cpu_to_the_process_that_writes_and_serves_pages():
    import os

    readers = Readers(2, ReadOptions(("referrals@mediation-desk.example.org",)))
    try:
        readers.start()
        [reading] = readers.read_all(batch_of(mailfactory.referral()))  # and they still read
        theirs = [os.getpriority(os.PRIO_PROCESS, pid) for pid in readers._pool.pids()]
    finally:
        readers.close()
    assert isinstance(reading, Reading)
    assert len(theirs) == 2
    assert all(nice > os.getpriority(os.PRIO_PROCESS, 0) for nice in theirs)  # the higher, the nicer


_KILLED_PARENT = """
import os, signal
from inbox.readers import Readers
from inbox.reading import ReadOptions
if __name__ == "__main__":
    readers = Readers(2, ReadOptions(("referrals@mediation-desk.example.org",)))
    readers.start()
    print(" ".join(str(pid) for pid in readers._pool.pids()), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_reading_workers_exit_when_intake_is_killed(tmp_path):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = tmp_path / "killed_parent.py"
    script.write_text(_KILLED_PARENT)
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


_HEAVY_MAIN = """
import os, sys
if __name__ != "__main__":  # imported again, as multiprocessing does in its workers by default
    open(os.environ["MARKER"], "a").write(f"imported in {os.getpid()}\\n")
from inbox.readers import Readers
from inbox.reading import ReadOptions
from tests import mailfactory
from inbox.sources.base import MessageKey, SourceMessage
if __name__ == "__main__":
    file_before = sys.modules["__main__"].__file__
    readers = Readers(2, ReadOptions(("referrals@mediation-desk.example.org",)))
    readers.start()
    message = SourceMessage(MessageKey("m", 1, "1"), mailfactory.referral())
    [reading] = readers.read_all([message])
    readers.close()
    print(reading.parsed is not None, sys.modules["__main__"].__file__ == file_before, flush=True)
"""


def test_workers_do_not_import_the_programs_main_module(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script, marker = tmp_path / "heavy_main.py", tmp_path / "imported.txt"
    script.write_text(_HEAVY_MAIN)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "MARKER": str(marker)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.split() == ["True", "True"], done.stderr[-2000:]  # read by a worker; __main__ intact
    assert not marker.exists(), marker.read_text()


def test_workers_read_a_date_of_birth_against_when_the_mailbox_got_a_message_without_a_date(engine, intake):
    """Dates are read against the message's Date, else when the mailbox got it: a worker is told that
    time as reading in process is, so both find the child's date of birth (the one `read`)."""
    import re
    from datetime import UTC, datetime

    raw = re.sub(rb"(?im)^Date:[^\n]*\n", b"", mailfactory.referral())
    assert b"\nDate:" not in raw and b"DOB 04/02/2015" in raw
    [message] = batch_of(raw)
    message = SourceMessage(message.key, raw, received_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    assert intake.handle_batch([message]) == 1
    with Session(engine) as session:
        [case] = session.exec(select(Case)).all()
        assert case.draft["child_dob"] == "2015-02-04"
