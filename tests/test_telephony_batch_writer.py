"""The webhooks' batch writer: many webhooks at once share a commit, one's failure is its own, and
nobody hears "done" before the commit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, select

from models.case_ops import open_inbox_item
from models.cases import InboxItem
from telephony.batch_writer import BatchWriter


def test_concurrent_work_is_committed_and_a_failure_rolls_back_only_its_own(engine):
    writer = BatchWriter(engine)

    def work(n: int) -> int:
        def write(session):
            item = open_inbox_item(session, kind="triage", summary=f"item {n}")
            if n == 7:
                raise ValueError("this webhook's own bug")
            return item

        return writer.run(write)

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(work, n) for n in range(40)]
    errors = [n for n, f in enumerate(futures) if f.exception() is not None]
    assert errors == [7] and isinstance(futures[7].exception(), ValueError)
    with Session(engine) as session:
        summaries = sorted(item.summary for item in session.exec(select(InboxItem)))
    assert summaries == sorted(f"item {n}" for n in range(40) if n != 7)


def test_a_failed_commit_fails_every_webhook_of_the_batch(engine, monkeypatch):
    writer = BatchWriter(engine)

    def commit_fails(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Session, "commit", commit_fails)
    with pytest.raises(RuntimeError, match="disk full"):
        writer.run(lambda session: open_inbox_item(session, kind="triage", summary="lost?"))
    monkeypatch.undo()
    with Session(engine) as session:
        assert session.exec(select(InboxItem)).all() == []
