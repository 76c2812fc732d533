"""Reading messages ahead, in worker processes: parse, classify and extract while intake writes.

Parsing, classifying and extracting are pure functions of the raw bytes and cost about 2 ms a
message, as much as intake's database work; with `intake_workers` > 0 a process pool does them for
a batch while the main process writes the messages before them. A `Reading` is what intake's steps
would have computed themselves, so they take it instead of calling the functions again. It travels
back pickled, without the parsed MIME tree (`ParsedMessage.message`): the two bounce facts that
need the tree are worked out in the worker too. A message the worker could not read (None) is read
by the steps themselves, as without workers, so a failure quarantines it exactly as before.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from inbox.automated import Verdict, bounced_recipients, classify, original_message_id
from inbox.extract import extract_referral
from inbox.message import ParsedMessage
from inbox.parse import parse_message
from inbox.referral import Referral
from inbox.sources.base import MessageKey, SourceMessage
from models.la_directory import load_directory
from models.offices import own_phone_numbers

log = logging.getLogger("mdesk.inbox.reading")


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
            bounced, original = bounced_recipients(parsed), original_message_id(parsed)
        parsed.message = None  # the tree does not pickle; nothing after this needs it
        parsed.raw = b""  # the caller has the bytes: `with_raw` puts them back instead of a copy
        return Reading(parsed, verdict, referral, bounced, original)
    except Exception:
        log.warning("reading a message ahead failed; intake reads it itself", exc_info=True)
        return None


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
        self._ahead: dict[MessageKey, tuple[bytes, Future]] = {}  # submitted by read_ahead

    def read_ahead(self, messages: Sequence[SourceMessage]) -> None:
        """Start reading messages that `read_all` will be asked for soon (the watcher's whole fetch)."""
        pool = self._get_pool()
        self._forget_ahead()
        if pool is not None:
            self._ahead = {m.key: (m.raw, pool.submit(read, m.raw, self.own_addresses)) for m in messages}

    def read_all(self, messages: Sequence[SourceMessage]) -> Iterator[Reading | None]:
        """The readings in order, each as soon as it is ready; all are submitted at once (or were,
        by read_ahead), so the later ones are computed while the caller works on the earlier ones."""
        pool = self._get_pool()
        futures: list[tuple[bytes, Future | None]] = []
        for message in messages:
            raw, future = self._ahead.pop(message.key, (None, None))
            if future is None or raw is not message.raw:
                future = pool.submit(read, message.raw, self.own_addresses) if pool is not None else None
            futures.append((message.raw, future))
        return self._results(futures)

    def _forget_ahead(self) -> None:
        for _raw, future in self._ahead.values():
            future.cancel()
        self._ahead = {}

    def start(self) -> None:
        """Start the workers now rather than for the first batch (about a second of imports)."""
        pool = self._get_pool()
        if pool is not None:
            for future in [pool.submit(_warm) for _ in range(self.workers)]:
                future.result()

    def _results(self, futures: list[tuple[bytes, Future | None]]) -> Iterator[Reading | None]:
        try:
            for raw, future in futures:
                yield self._result(future, raw) if future is not None else None
        finally:
            for _raw, future in futures:
                if future is not None:
                    future.cancel()

    def _result(self, future: Future, raw: bytes) -> Reading | None:
        try:
            reading = future.result()
            return reading.with_raw(raw) if reading is not None else None
        except Exception:  # a worker died (BrokenProcessPool) or the result did not pickle
            log.warning("a reading worker failed; intake reads the message itself", exc_info=True)
            self._discard()
            return None

    def _get_pool(self) -> ProcessPoolExecutor | None:
        if self._pool is None and self._restarts <= self.RESTARTS:
            context = multiprocessing.get_context("forkserver")
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
