"""Reading messages in worker processes: parse, classify and extract, bounded in time, while intake writes.

Parsing, classifying and extracting are pure functions of the raw bytes and cost about 2 ms a
message, as much as intake's database work; worker processes do them for a batch while the main
process writes the messages before them. A `Reading` is what intake's steps would have computed
themselves, so they take it instead of calling the functions again. It travels back pickled,
without the parsed MIME tree (`ParsedMessage.message`): the two bounce facts that need the tree are
worked out in the worker too.

Reading is bounded in time (settings.read_timeout_seconds) whatever takes the time, C code included
(lexbor, regular expressions), which no thread can interrupt and SIGALRM cannot reach outside the
main thread: so each worker is one process, fed and watched by one thread of ours, and a worker still
on a message past the bound is killed and replaced. That message becomes `Unread` (intake quarantines
it, raw, with the reason) and the worker's other messages go to its replacement. A worker that dies
while reading makes its message `Unread` the same way. A message whose reading raised (a bug) comes
back as None and intake reads it itself, so the failure is quarantined with its traceback as before.

Workers are plain `multiprocessing` processes from the forkserver context (public API only), each
with a duplex Pipe; messages go PER_TASK at a time (a send and a wake-up a message cost as much as
reading a small one), and a small next task is sent before the current one is done so the worker does
not wait for our thread (PIPELINE_BYTES says why that cannot deadlock).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import queue
import sys
import threading
import weakref
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection

from inbox.classify import Verdict, bounced_recipients, classify, original_message_id
from inbox.extract import extract_referral
from inbox.message import ParsedMessage
from inbox.parse import parse_message
from inbox.referral import Referral
from inbox.sources.base import MessageKey, SourceMessage
from models.la_directory import load_directory
from models.offices import own_phone_numbers

log = logging.getLogger("mdesk.inbox.reading")

PER_TASK = 8  # messages a worker is sent at once
MAX_AHEAD = 2000  # readings announced and not yet asked for that are kept
# A task is sent while the worker is still on the one before only when its pickle is this small: the
# socket buffer (about 200 KB on Linux) then holds it without the worker reading, so our send never
# blocks while the worker blocks sending us a result. Larger tasks wait for the worker to be idle.
PIPELINE_BYTES = 32_768


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


@dataclass(frozen=True, slots=True)
class Unread:
    """A message no worker finished reading (too slow, or its process died), and why: intake stores it
    raw and quarantines it, unread."""

    reason: str


def unread_message(raw: bytes) -> ParsedMessage:
    """The stored form of a message nobody could read: its bytes and their hash, nothing decoded."""
    return ParsedMessage(
        raw=raw, sha256=hashlib.sha256(raw).hexdigest(), message_id=None, in_reply_to=[], references=[],
        subject="", sender=None, reply_to=[], to=[], cc=[], return_path=None, date=None, headers={},
        content_types=[], text="", html=None, new_text="", quoted_text="", signature="", forwarded=[],
        attachments=[], problems=[],
    )  # fmt: skip


_READY = "ready"  # a worker's first message: warmed up, waiting for messages


def _serve(conn: Connection, own_addresses: tuple[str, ...]) -> None:
    """A worker's life: read each task's messages in order and send each reading back as soon as it is
    done. It ends when intake closes the pipe or dies (EOF), so it never outlives intake by more than
    the message it is on."""
    load_directory()  # before the first message, so that the bound is not spent on it
    own_phone_numbers()
    with contextlib.suppress(EOFError, OSError):
        conn.send(_READY)
        while (count := conn.recv()) is not None:
            # A task is its number of messages, then each message's bytes as they are (send_bytes): a
            # pickled list would be a second copy of every message on each side of the pipe (issue 8.5).
            # All are taken before the first is read, as `_Worker.send` expects.
            raws = [conn.recv_bytes() for _ in range(count)]
            for raw in raws:
                conn.send(read(raw, own_addresses))


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


_LAUNCH = threading.Lock()  # one launch at a time hides and restores __main__
START_SECONDS = 60.0  # a worker not ready by then is broken, whatever the messages


class _Worker:
    """One reading process (a fork of multiprocessing's fork server, so not of this threaded process)
    and our end of its pipe."""

    def __init__(self, own_addresses: tuple[str, ...]) -> None:
        self.ended: str | None = None
        self._stopping = threading.Lock()
        # No set_forkserver_preload: Python 3.11's fork server imports preloaded modules before it
        # takes our sys.path, i.e. from the directory we were started in (seen: another checkout's
        # inbox.reading). Each worker imports what it needs itself, with our sys.path.
        context = multiprocessing.get_context("forkserver")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, own_addresses), name="mdesk-reader", daemon=True)
        with _LAUNCH, _main_module_hidden():
            self.process.start()
        theirs.close()
        if not self.conn.poll(START_SECONDS) or self.conn.recv() != _READY:
            self.stop()
            raise RuntimeError(f"a reading process did not start within {START_SECONDS:g} s")

    def send(self, items: Sequence[tuple[bytes, Future]]) -> None:
        self.conn.send(len(items))
        for raw, _future in items:
            self.conn.send_bytes(raw)

    def kill(self) -> None:
        """Stop the process now, from any thread: the thread that drives it sees its pipe end and
        cleans up with `stop`."""
        with self._stopping:
            if self.ended is None:
                self.process.kill()

    def stop(self) -> str:
        """Kill the process (it holds nothing worth keeping), close our end and say how it ended; once
        is enough."""
        with self._stopping:  # our thread and `close` may both get here
            if self.ended is None:
                self.process.kill()
                self.process.join()
                code = self.process.exitcode
                self.conn.close()
                self.process.close()
                self.ended = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            return self.ended


@dataclass(eq=False, slots=True)
class _Task:
    raws: list[bytes]
    futures: list[Future]


class _Closed(Exception):
    """The readers were closed while a thread of theirs was busy."""


class _Pool:
    """`workers` threads, each feeding and watching one reading process, sharing one queue of tasks.

    Kept apart from `Readers` so that the threads do not keep it alive: an intake that is dropped
    without `close` (a test, a one-off command) has its workers stopped by the finaliser."""

    def __init__(self, workers: int, own_addresses: tuple[str, ...], timeout: float | None, *, eager: bool) -> None:
        self.tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self.own_addresses = own_addresses
        self.timeout = timeout
        self.closed = threading.Event()
        self.live: set[_Worker] = set()  # the processes now running, for `close`
        self._lock = threading.Lock()
        self._ready = threading.Semaphore(0)
        self.threads = [
            threading.Thread(target=self._drive, args=(eager,), name=f"mdesk-reader-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self.threads:
            thread.start()
        if eager:  # the caller wants the processes running now (the daemon, at start-up)
            for _thread in self.threads:
                self._ready.acquire(timeout=START_SECONDS)

    def close(self) -> None:
        self.closed.set()
        for _thread in self.threads:
            self.tasks.put(None)
        with self._lock:
            running = list(self.live)
        for worker in running:
            worker.kill()  # even mid-message: reading has no side effects to finish
        for thread in self.threads:
            thread.join(timeout=10)
        for worker in running:
            worker.stop()  # should a thread not have got there
        with contextlib.suppress(queue.Empty):
            while True:  # tasks no thread took: whoever waits for them must not wait for ever
                task = self.tasks.get_nowait()
                for future in task.futures if task is not None else ():
                    future.cancel()

    def pids(self) -> list[int]:
        with self._lock:
            return [worker.process.pid for worker in self.live if worker.process.pid is not None]

    # ---- in each thread ------------------------------------------------------------------------

    def _drive(self, eager: bool) -> None:
        sent: deque[tuple[bytes, Future]] = deque()  # with the worker, in the order it reads them
        held: list[tuple[bytes, Future]] = []  # taken while the worker was busy, too large to send yet
        worker: _Worker | None = None
        try:
            if eager:
                try:
                    worker = self._start()
                except Exception as exc:  # reported here; the first task tries again
                    log.error("a reading process would not start (%s)", type(exc).__name__)
                finally:
                    self._ready.release()
            while not self.closed.is_set():
                try:
                    worker = self._step(worker, sent, held)
                except _Closed:
                    break
                except Exception as exc:  # no reading process would start, say: not these messages' fault
                    log.error("reading workers failing (%s); the batch is left for the next round", type(exc).__name__)
                    log.debug("reading worker failure", exc_info=True)
                    for _raw, future in [*sent, *held]:
                        future.set_exception(exc)
                    sent.clear()
                    held.clear()
                    self._retire(worker)
                    worker = None
        finally:
            for _raw, future in [*sent, *held]:
                if not future.done():
                    future.set_exception(RuntimeError("the reading workers were closed"))
            self._retire(worker)

    def _step(self, worker: _Worker | None, sent: deque, held: list) -> _Worker | None:
        """Give the worker work if it has none (or a small next task), then wait for its next reading."""
        if not sent:
            if not held:
                held.extend(self._claim(self.tasks.get()))
            if not held:
                return worker  # all cancelled
            worker = worker or self._start()
            items = held[:]
            held.clear()
            worker = self._send(worker, items, sent)
        elif not held and len(sent) <= PER_TASK:
            with contextlib.suppress(queue.Empty):
                items = self._claim(self.tasks.get_nowait())
                if sum(len(raw) for raw, _ in items) > PIPELINE_BYTES:
                    held.extend(items)
                elif items:
                    worker = self._send(worker, items, sent)
        assert worker is not None
        return self._receive(worker, sent)

    def _receive(self, worker: _Worker, sent: deque) -> _Worker | None:
        """The next reading; a worker past the bound on its message, or dead, is replaced, and that
        message alone becomes Unread."""
        _raw, future = sent[0]
        unread = None
        if not worker.conn.poll(self.timeout):
            unread = Unread(f"reading took longer than {self.timeout:g} s")
            log.warning("a message took longer than %g s to read; its reading process is stopped", self.timeout)
        else:
            try:
                future.set_result(worker.conn.recv())
            except (EOFError, OSError):
                if self.closed.is_set():
                    raise _Closed from None
                worker.process.join(timeout=5)  # reaped before it is killed: its own exit status
                ended = worker.stop()
                unread = Unread(f"the process reading it ended ({ended})")
                log.error("a reading process ended while reading a message (%s)", ended)
        if unread is None:
            sent.popleft()
            return worker
        sent.popleft()
        future.set_result(unread)
        self._retire(worker)
        if self.closed.is_set():
            raise _Closed
        if not sent:
            return None
        replacement = self._start()  # the rest stay in `sent`: should this fail, the thread fails them
        replacement.send(list(sent))
        return replacement

    def _claim(self, task: _Task | None) -> list[tuple[bytes, Future]]:
        if task is None:
            raise _Closed
        claimed = zip(task.raws, task.futures, strict=True)
        return [(raw, future) for raw, future in claimed if future.set_running_or_notify_cancel()]

    def _send(self, worker: _Worker, items: list[tuple[bytes, Future]], sent: deque) -> _Worker:
        busy = bool(sent)
        sent.extend(items)  # first: should the send fail, the thread fails these futures
        try:
            worker.send(items)
        except OSError:
            if busy:  # it died on the message it was reading: `_receive` finds out and replaces it
                return worker
            log.warning("a reading process had ended while idle (%s); starting another", worker.stop())
            self._retire(worker)
            worker = self._start()
            worker.send(items)
        return worker

    def _start(self) -> _Worker:
        if self.closed.is_set():
            raise _Closed
        worker = _Worker(self.own_addresses)
        with self._lock:
            self.live.add(worker)
        return worker

    def _retire(self, worker: _Worker | None) -> None:
        if worker is None:
            return
        with self._lock:
            self.live.discard(worker)
        worker.stop()


@dataclass(slots=True)
class _Pending:
    """One message submitted for reading and where its reading will be."""

    key: MessageKey
    raw: bytes
    future: Future | None  # None: no workers (intake reads the message itself)


class Readers:
    """`workers` reading processes with a bound on each message (`timeout` seconds; None: no bound),
    started on first use (or by `start`) and stopped by `close` or when this object is dropped."""

    def __init__(self, workers: int, own_addresses: tuple[str, ...], timeout: float | None = None) -> None:
        self.workers = workers
        self.own_addresses = own_addresses
        self.timeout = timeout
        self._pool: _Pool | None = None
        self._finalizer: weakref.finalize | None = None
        self._ahead: dict[MessageKey, _Pending] = {}  # submitted by read_ahead

    def read_ahead(self, messages: Sequence[SourceMessage]) -> None:
        """Start reading messages that `read_all` will be asked for soon (a whole fetch of the
        watcher's), besides those announced before and not asked for yet."""
        self._ahead.update((pending.key, pending) for pending in self._submit(messages))
        # Announced and never asked for (their batch failed, say): forgotten, oldest first.
        while len(self._ahead) > MAX_AHEAD:
            pending = self._ahead.pop(next(iter(self._ahead)))
            if pending.future is not None:
                pending.future.cancel()

    def read_all(self, messages: Sequence[SourceMessage]) -> Iterator[Reading | Unread | None]:
        """The readings in order, each as soon as it is ready; all are submitted at once (or were,
        by read_ahead), so the later ones are computed while the caller works on the earlier ones.
        None: the reading raised (a bug), and the caller reads the message itself to see the failure."""
        known = [self._ahead.pop(message.key, None) for message in messages]
        # Read ahead only if it was these very bytes; the rest are submitted now.
        fresh = iter(self._submit([m for m, p in zip(messages, known, strict=True) if p is None or p.raw is not m.raw]))
        pending = [p if p is not None and p.raw is m.raw else next(fresh) for m, p in zip(messages, known, strict=True)]
        return self._results(pending)

    def start(self) -> None:
        """Start the workers now rather than for the first batch (about a second of imports)."""
        self._get_pool(eager=True)

    def close(self) -> None:
        self._ahead = {}
        if self._finalizer is not None:
            self._finalizer()  # the pool's close, once
            self._pool = self._finalizer = None

    def _submit(self, messages: Sequence[SourceMessage]) -> list[_Pending]:
        pool = self._get_pool()
        out: list[_Pending] = []
        for start in range(0, len(messages), PER_TASK):
            chunk = messages[start : start + PER_TASK]
            futures = [Future() for _ in chunk]
            pool.tasks.put(_Task([m.raw for m in chunk], futures))
            out += [_Pending(m.key, m.raw, future) for m, future in zip(chunk, futures, strict=True)]
        return out

    def _results(self, pending: list[_Pending]) -> Iterator[Reading | Unread | None]:
        try:
            for item in pending:
                reading = item.future.result() if item.future is not None else None
                yield reading.with_raw(item.raw) if isinstance(reading, Reading) else reading
        finally:
            for item in pending:  # work nobody will ask for (the caller stopped early)
                if item.future is not None:
                    item.future.cancel()

    def _get_pool(self, *, eager: bool = False) -> _Pool:
        if self._pool is None:
            self._pool = _Pool(self.workers, self.own_addresses, self.timeout, eager=eager)
            self._finalizer = weakref.finalize(self, self._pool.close)
        return self._pool
