"""Reading messages ahead, in worker processes: parse, classify and extract while intake writes.

Parsing, classifying and extracting are pure functions of the raw bytes and cost about 2 ms a
message, as much as intake's database work; with `intake_workers` > 0 a process pool does them for
a batch while the main process writes the messages before them. A `Reading` is what intake's steps
would have computed themselves, so they take it instead of calling the functions again. It travels
back pickled, without the parsed MIME tree (`ParsedMessage.message`): the two bounce facts that
need the tree are worked out in the worker too. A message the worker could not read (None) is read
by the steps themselves, as without workers, so a failure quarantines it exactly as before.
Messages travel to the workers PER_TASK at a time: a task costs the pool about as much as reading a
small message, so one task a message spent a fifth of the workers' time on the pool itself.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.context
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from dataclasses import dataclass

from inbox.classify import Verdict, bounced_recipients, classify, original_message_id
from inbox.extract import extract_referral
from inbox.message import ParsedMessage
from inbox.parse import parse_message
from inbox.referral import Referral
from inbox.sources.base import MessageKey, SourceMessage
from models.la_directory import load_directory
from models.offices import own_phone_numbers

log = logging.getLogger("mdesk.inbox.reading")

PER_TASK = 8  # messages a worker reads per task
MAX_AHEAD = 2000  # readings announced and not yet asked for that are kept


@dataclass(slots=True)
class Reading:
    parsed: ParsedMessage  # without .message
    verdict: Verdict
    referral: Referral | None  # for a person's mail; None for machine mail
    bounced: list[str]  # bounced_recipients, for a bounce
    original_message_id: str | None  # for a bounce

    def with_raw(self, raw: bytes) -> Reading:
        self.parsed.raw = raw
        return self


def read(raw: bytes, own_addresses: tuple[str, ...]) -> Reading | None:
    """In a worker: everything the steps compute from the bytes alone; None when any of it fails."""
    try:
        parsed = parse_message(raw)
        verdict = classify(parsed)
        referral = None
        bounced: list[str] = []
        original = None
        if verdict.kind is None:
            referral = extract_referral(
                parsed, directory=load_directory(), own_addresses=own_addresses, own_phones=own_phone_numbers()
            )
        elif verdict.kind == "bounce":
            bounced = bounced_recipients(parsed, verdict=verdict)
            original = original_message_id(parsed, verdict=verdict)
        parsed.message = None  # the tree does not pickle; nothing after this needs it
        parsed.raw = b""  # the caller has the bytes: `with_raw` puts them back instead of a copy
        return Reading(parsed, verdict, referral, bounced, original)
    except Exception:
        log.warning("reading a message ahead failed; intake reads it itself", exc_info=True)
        return None


def read_many(raws: list[bytes], own_addresses: tuple[str, ...]) -> list[Reading | None]:
    """In a worker: `read` for each of several messages, one task for the pool."""
    return [read(raw, own_addresses) for raw in raws]


def _warm() -> None:
    load_directory()


def _start_worker() -> None:
    """A worker exits with the process that started it, even one killed with SIGKILL."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="mdesk-reader-parent", daemon=True).start()
    _warm()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(0)


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """multiprocessing has every new worker import the program's __main__ (main.py: the CLI, web
    app and database, about 50 MB a worker), which reading never uses. Without a file or spec on
    __main__ it imports nothing; both are put back as soon as the process has been launched."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


class _LeanProcess(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):  # multiprocessing's name
        with _main_module_hidden():
            return multiprocessing.context.ForkServerProcess._Popen(process_obj)


class _LeanForkServer(multiprocessing.context.ForkServerContext):
    """The forkserver start method, with workers that skip importing __main__."""

    Process = _LeanProcess


@dataclass(slots=True)
class _Pending:
    """One message submitted for reading: the task reading it and its place in that task."""

    key: MessageKey
    raw: bytes
    future: Future | None  # None: no pool (intake reads the message itself)
    index: int


class Readers:
    """A pool of `workers` processes (forkserver), started on first use and shut down by `close`.

    A pool that breaks (a worker killed, say) is started again up to RESTARTS times; after that
    intake reads every message itself, as with no workers.
    """

    RESTARTS = 3

    def __init__(self, workers: int, own_addresses: tuple[str, ...]) -> None:
        self.workers = workers
        self.own_addresses = own_addresses
        self._pool: ProcessPoolExecutor | None = None
        self._restarts = 0
        self._ahead: dict[MessageKey, _Pending] = {}  # submitted by read_ahead

    def read_ahead(self, messages: Sequence[SourceMessage]) -> None:
        """Start reading messages that `read_all` will be asked for soon (a whole fetch of the
        watcher's), besides those announced before and not asked for yet."""
        self._ahead.update((pending.key, pending) for pending in self._submit(messages))
        # Announced and never asked for (their batch failed, say): forgotten, oldest first.
        while len(self._ahead) > MAX_AHEAD:
            del self._ahead[next(iter(self._ahead))]

    def read_all(self, messages: Sequence[SourceMessage]) -> Iterator[Reading | None]:
        """The readings in order, each as soon as it is ready; all are submitted at once (or were,
        by read_ahead), so the later ones are computed while the caller works on the earlier ones."""
        known = [self._ahead.pop(message.key, None) for message in messages]
        # Read ahead only if it was these very bytes; the rest are submitted now.
        fresh = iter(self._submit([m for m, p in zip(messages, known, strict=True) if p is None or p.raw is not m.raw]))
        pending = [p if p is not None and p.raw is m.raw else next(fresh) for m, p in zip(messages, known, strict=True)]
        return self._results(pending)

    def _submit(self, messages: Sequence[SourceMessage]) -> list[_Pending]:
        pool = self._get_pool()
        out: list[_Pending] = []
        for start in range(0, len(messages), PER_TASK):
            chunk = messages[start : start + PER_TASK]
            future = pool.submit(read_many, [m.raw for m in chunk], self.own_addresses) if pool is not None else None
            out += [_Pending(m.key, m.raw, future, index) for index, m in enumerate(chunk)]
        return out

    def _forget_ahead(self) -> None:
        for pending in self._ahead.values():
            if pending.future is not None:
                pending.future.cancel()
        self._ahead = {}

    def start(self) -> None:
        """Start the workers now rather than for the first batch (about a second of imports)."""
        pool = self._get_pool()
        if pool is not None:
            for future in [pool.submit(_warm) for _ in range(self.workers)]:
                future.result()

    def _results(self, pending: list[_Pending]) -> Iterator[Reading | None]:
        try:
            for item in pending:
                yield self._result(item.future, item.index, item.raw) if item.future is not None else None
        finally:
            # Work nobody will ask for (the caller stopped early), unless a later message read
            # ahead shares the task.
            shared = {id(ahead.future) for ahead in self._ahead.values()}
            for item in pending:
                if item.future is not None and id(item.future) not in shared:
                    item.future.cancel()

    def _result(self, future: Future, index: int, raw: bytes) -> Reading | None:
        try:
            reading = future.result()[index]
            return reading.with_raw(raw) if reading is not None else None
        except CancelledError:
            return None  # read in process instead; the pool is fine
        except Exception:  # a worker died (BrokenProcessPool) or the result did not pickle
            log.warning("a reading worker failed; intake reads the message itself", exc_info=True)
            self._discard()
            return None

    def _get_pool(self) -> ProcessPoolExecutor | None:
        if self._pool is None and self._restarts <= self.RESTARTS:
            context = _LeanForkServer()
            context.set_forkserver_preload(["inbox.reading"])
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker)
        return self._pool

    def _discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            self._restarts += 1
            if self._restarts > self.RESTARTS:
                log.error("reading workers keep failing: intake reads every message itself from now on")

    def close(self) -> None:
        self._forget_ahead()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
