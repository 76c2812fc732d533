"""Reading workers: `read` (inbox/reading.py) in killable processes, bounded in time, while intake writes.

Parsing, classifying and extracting cost about 1.4 ms a message, more than intake's database work, so
`Readers` has worker processes read a batch while the main process writes the messages before them
(with no workers it reads in this process, as the messages are asked for). Reading is bounded in time
(settings.read_timeout_seconds) whatever takes the time, C code included (lexbor, regular
expressions), which no thread can interrupt and SIGALRM cannot reach outside the main thread: so each
worker is one process, fed and watched by one thread of ours, and a worker still on a message past
the bound is killed and replaced. That message becomes `Unread` (intake quarantines it, raw, with the
reason) and the worker's other messages go to its replacement. A worker that dies while reading makes
its message `Unread` the same way. Workers run nicer than intake's process (`_yield_to_intake`): the
writer, which cannot run in parallel, and the web pages come first; the readers take what is left.

Workers are plain `multiprocessing` processes from the forkserver context (public API only), each
with a duplex Pipe; messages go PER_TASK at a time (a send and a wake-up a message cost as much as
reading a small one), and a small next task is sent before the current one is done so the worker does
not wait for our thread (PIPELINE_BYTES says why that cannot deadlock). A reading travels back
without the message's bytes (the caller has them).

A large message (STREAM_BYTES and over) is sent in pieces and parsed from them, each piece dropped
once the parser has it (inbox/parse/stream.py): the worker never holds its bytes whole, which with
what the parser holds would be 3.6x the message (issue 8.5). Where the pieces cannot give the reading
the whole bytes would (the parser failed and the body is kept as text), the worker says so (_AGAIN)
and the message is sent again whole, with what is left of its time bound.

A worker's memory is bounded as its time is (Linux: RLIMIT_DATA): MEMORY_FACTOR times the largest
message it may be sent (ReadOptions.max_bytes), and MEMORY_SPARE, over what it holds when ready. The
stdlib parser holds some 60 bytes a line, so 39 MB of empty lines would take 1.4 GB; past the bound an
allocation fails (MemoryError) and the message is read as text, or quarantined, like any reading that
fails, and the worker goes on (or is replaced, should it fail sending the answer).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import mmap
import multiprocessing
import os
import queue
import resource
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from inbox.documents import load_readers
from inbox.parse import ByteChunks
from inbox.reading import Reading, ReadOptions, Unread, read
from inbox.sources.base import MessageKey, SourceMessage
from models.la_directory import Directory, load_directory
from models.offices import own_phone_numbers

log = logging.getLogger("mdesk.inbox.readers")

PER_TASK = 8  # messages a worker is sent at once
MAX_AHEAD = 2000  # readings announced and not yet asked for that are kept
# A task is sent while the worker is still on the one before only when its pickle is this small: the
# socket buffer (about 200 KB on Linux) then holds it without the worker reading, so our send never
# blocks while the worker blocks sending us a result. Larger tasks wait for the worker to be idle.
PIPELINE_BYTES = 32_768
# A large message's reading takes under 3x its size (its large bodies are kept aside as the pieces it
# came in: inbox/parse/feed.py); the rest is a margin for what the parser holds of many small parts.
MEMORY_FACTOR = 5
MEMORY_SPARE = 64 * 1024 * 1024
RENEW_KIB = 16 * 1024  # the bound is renewed once the worker's peak has grown by this much
STREAM_BYTES = 1024 * 1024  # a message this large is sent in pieces of PIECE_BYTES, and parsed from them
PIECE_BYTES = 1024 * 1024
READER_NICENESS = 10  # a reader's share of a core it contends for with the writer: about 1/10 (_yield_to_intake)


_READY = "ready"  # a worker's first message: warmed up, waiting for messages
_AGAIN = "again"  # a worker's answer for a message in pieces that it needs whole


# A message's bytes, received_at and declared size, and None; or, for a message sent again whole
# (_AGAIN), the seconds of its time bound left (inf: no bound).
Job = tuple[bytes, datetime | None, int | None, float | None]


def _serve(conn: Connection, options: ReadOptions) -> None:
    """A worker's life: read each task's messages in order and send each reading back as soon as it is
    done. It ends when intake closes the pipe or dies (EOF), so it never outlives intake by more than
    the message it is on."""
    _yield_to_intake()
    load_directory()  # before the first message, so that the bound is not spent on it
    own_phone_numbers()
    load_readers()
    gc.freeze()  # what it loaded lives as long as the worker: full collections need not scan it
    bound = _MemoryBound(options.max_bytes)
    with contextlib.suppress(EOFError, OSError):
        conn.send(_READY)
        while (jobs := conn.recv()) is not None:
            # A task is each message's time, size and number of pieces (pickled), then each message's
            # bytes as they are (send_bytes), whole or in pieces: a pickled list of messages would be a
            # second copy of every message on each side of the pipe (issue 8.5). All are taken before
            # the first is read, as `_Worker.send` expects.
            large = any(streamed for _received_at, _size, streamed in jobs)
            if large:
                bound.lift()  # several large messages may come at once: each is read within the bound
            messages = [_take(conn, streamed) for _received_at, _size, streamed in jobs]
            for message, (received_at, size, _streamed) in zip(messages, jobs, strict=True):
                bound.renew(force=large)
                large = False
                result = read(message, options, received_at=received_at, size=size)
                if isinstance(message, ByteChunks) and message.incomplete:
                    conn.send(_AGAIN)  # the pieces are gone: we are sent the message again, whole
                else:
                    conn.send(_bytes_left_out(result))


def _yield_to_intake() -> None:
    """Run at a lower priority (nice) than the process that writes what we read, and serves the web pages.

    On a machine with fewer cores than readers plus writer, an equal share made the writer (the one
    stage that cannot run in parallel) wait for a core while the readers, ahead of it, read on: their
    lead grew until the window fetched ahead was read, and then one core stood idle while the writer
    caught up alone. Yielding, the readers take whatever the writer leaves and keep pace with it
    (1,000 messages, runs alternated on two quiet cores: 408-487 -> 510-552 msg/s). Where the system
    does not let us (no nice), readers run as before."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(READER_NICENESS)


class _MemoryBound:
    """This process's data (heap and private mappings) limited to what it holds and what reading the
    largest message may take (the module's docstring says why); no limit where the system has none.

    Renewed before a message once the process has grown by RENEW_KIB (its peak RSS says so, at the
    cost of one system call a message): memory freed by a message that failed is kept by the
    allocator, and must not count against the next message."""

    def __init__(self, max_bytes: int | None) -> None:
        self.budget = None if max_bytes is None else MEMORY_FACTOR * max_bytes + MEMORY_SPARE
        self.peak = -1

    def lift(self) -> None:
        """No bound until the next `renew`: while a task's messages are taken in, what they hold
        counts as held, not against the reading of one."""
        if self.budget is None:
            return
        with contextlib.suppress(OSError, ValueError):
            _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
            resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))

    def renew(self, *, force: bool = False) -> None:
        if self.budget is None:
            return
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        if not force and self.peak >= 0 and peak - self.peak < RENEW_KIB:
            return  # grown by less than the spare: not worth reading /proc (0.1 ms) a message
        self.peak = peak
        try:
            status = Path("/proc/self/status").read_text()
            held = next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmData:"))
            _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
            limit = held + self.budget
            if hard == resource.RLIM_INFINITY or limit < hard:
                resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
        except (OSError, ValueError, StopIteration):  # not Linux: unbounded, as before
            self.budget = None


def _take(conn: Connection, streamed: int) -> bytes | ByteChunks:
    """One message's bytes from the pipe: whole, or (`streamed` bytes) its pieces, each into an
    anonymous mmap of its own that the parser closes once it has it (ByteChunks says why)."""
    if not streamed:
        return conn.recv_bytes()
    pieces = []
    for start in range(0, streamed, PIECE_BYTES):
        piece = mmap.mmap(-1, min(PIECE_BYTES, streamed - start))
        if conn.recv_bytes_into(piece) != len(piece):
            raise EOFError("a piece of a message was cut short")
        pieces.append(piece)
    return ByteChunks(pieces)


def _streamed(job: Job) -> int:
    """The size of a message sent in pieces of PIECE_BYTES; 0: sent whole (small, or sent again whole)."""
    raw, _received_at, _size, left = job
    return 0 if left is not None or len(raw) < STREAM_BYTES else len(raw)


def _bytes_left_out(result: Reading | Unread) -> Reading | Unread:
    """The reading without the message's bytes: the caller has them (`_with_raw` puts them back)."""
    parsed = result.parsed
    if parsed is not None:
        parsed.raw = b""
    return result


def _with_raw(result: Reading | Unread, raw: bytes) -> Reading | Unread:
    if result.parsed is not None:
        result.parsed.raw = raw
    return result


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """multiprocessing has every new worker import the program's __main__ (main.py: the CLI, web
    app and database, about 50 MB a worker), which reading never uses. Without a file or spec on
    __main__ it imports nothing; both are put back as soon as the process has been launched."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__}
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

    def __init__(self, options: ReadOptions) -> None:
        self.ended: str | None = None
        self._stopping = threading.Lock()
        # No set_forkserver_preload: Python 3.11's fork server imports preloaded modules before it
        # takes our sys.path, i.e. from the directory we were started in (seen: another checkout's
        # inbox.reading). Each worker imports what it needs itself, with our sys.path.
        context = multiprocessing.get_context("forkserver")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, options), name="mdesk-reader", daemon=True)
        with _LAUNCH, _main_module_hidden():
            self.process.start()
        theirs.close()
        if not self.conn.poll(START_SECONDS) or self.conn.recv() != _READY:
            self.stop()
            raise RuntimeError(f"a reading process did not start within {START_SECONDS:g} s")

    def send(self, items: Sequence[tuple[Job, Future]]) -> None:
        streamed = [_streamed(job) for job, _future in items]
        self.conn.send([(job[1], job[2], n) for (job, _future), n in zip(items, streamed, strict=True)])
        for (job, _future), n in zip(items, streamed, strict=True):
            raw = job[0]
            if not n:
                self.conn.send_bytes(raw)
            for start in range(0, n, PIECE_BYTES):
                self.conn.send_bytes(raw, start, min(PIECE_BYTES, n - start))  # no copy: a view

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
    jobs: list[Job]
    futures: list[Future]


class _Closed(Exception):
    """The readers were closed while a thread of theirs was busy."""


class _Pool:
    """`workers` threads, each feeding and watching one reading process, sharing one queue of tasks.

    Kept apart from `Readers` so that the threads do not keep it alive: an intake that is dropped
    without `close` (a test, a one-off command) has its workers stopped by the finaliser."""

    def __init__(self, workers: int, options: ReadOptions, timeout: float | None, *, eager: bool) -> None:
        self.tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self.options = options
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
        sent: deque[tuple[Job, Future]] = deque()  # with the worker, in the order it reads them
        held: list[tuple[Job, Future]] = []  # taken while the worker was busy, too large to send yet
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
                    for _job, future in [*sent, *held]:
                        future.set_exception(exc)
                    sent.clear()
                    held.clear()
                    self._retire(worker)
                    worker = None
        finally:
            for _job, future in [*sent, *held]:
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
                if sum(len(job[0]) for job, _ in items) > PIPELINE_BYTES:
                    held.extend(items)
                elif items:
                    assert worker is not None  # it has messages in hand
                    worker = self._send(worker, items, sent)
        assert worker is not None
        return self._receive(worker, sent, held)

    def _receive(self, worker: _Worker, sent: deque, held: list) -> _Worker | None:
        """The next reading; a worker past the bound on its message, or dead, is replaced, and that
        message alone becomes Unread. A message the worker needs whole goes to `held`, to be sent
        whole once the worker is idle."""
        job, future = sent[0]
        timeout = self.timeout if job[3] is None or self.timeout is None else job[3]
        started = time.monotonic()
        unread = None
        if not worker.conn.poll(timeout):
            unread = Unread(f"reading took longer than {self.timeout:g} s")
            log.warning("a message took longer than %g s to read; its reading process is stopped", self.timeout)
        else:
            try:
                result = worker.conn.recv()
                if isinstance(result, str) and result == _AGAIN:
                    sent.popleft()
                    left = math.inf if timeout is None else max(0.0, timeout - (time.monotonic() - started))
                    held.insert(0, ((job[0], job[1], job[2], left), future))
                    return worker
                future.set_result(result)
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

    def _claim(self, task: _Task | None) -> list[tuple[Job, Future]]:
        if task is None:
            raise _Closed
        claimed = zip(task.jobs, task.futures, strict=True)
        return [(job, future) for job, future in claimed if future.set_running_or_notify_cancel()]

    def _send(self, worker: _Worker, items: list[tuple[Job, Future]], sent: deque) -> _Worker:
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
        worker = _Worker(self.options)
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
    """One message submitted to the workers and where its reading will be."""

    key: MessageKey
    raw: bytes
    future: Future


class Readers:
    """Reads messages with `read`: in `workers` processes with a bound on each message (`timeout`
    seconds; None: no bound), started on first use (or by `start`) and stopped by `close` or when this
    object is dropped; with no workers, in this process, as they are asked for. A message over
    `options.max_bytes` is read here either way: its header block alone, never sent to a worker."""

    def __init__(
        self, workers: int, options: ReadOptions, timeout: float | None = None, *, directory: Directory | None = None
    ) -> None:
        self.workers = workers
        self.options = options
        self.timeout = timeout
        self.directory = directory  # for reading in this process (workers load the project's own)
        self._pool: _Pool | None = None
        self._finalizer: weakref.finalize | None = None
        self._ahead: dict[MessageKey, _Pending] = {}  # submitted by read_ahead

    def read_ahead(self, messages: Sequence[SourceMessage]) -> None:
        """Start reading messages that `read_all` will be asked for soon (a whole fetch of the
        watcher's), besides those announced before and not asked for yet. Without workers: nothing."""
        if not self.workers:
            return
        self._ahead.update((pending.key, pending) for pending in self._submit(self._for_workers(messages)))
        # Announced and never asked for (their batch failed, say): forgotten, oldest first.
        while len(self._ahead) > MAX_AHEAD:
            self._ahead.pop(next(iter(self._ahead))).future.cancel()

    def read_all(self, messages: Sequence[SourceMessage]) -> Iterator[Reading | Unread]:
        """The readings in order, each as soon as it is ready; with workers all are submitted at once
        (or were, by read_ahead), so the later ones are computed while the caller works on the
        earlier ones. Raises only if the workers themselves fail (no process would start)."""
        if not self.workers:
            return (self._read_here(m) for m in messages)
        to_workers = self._for_workers(messages)
        known = {m.key: self._ahead.pop(m.key, None) for m in to_workers}
        # Read ahead only if it was these very bytes; the rest are submitted now.
        fresh = [m for m in to_workers if (p := known[m.key]) is None or p.raw is not m.raw]
        pending = {**{k: p for k, p in known.items() if p is not None}, **{p.key: p for p in self._submit(fresh)}}
        return self._results(messages, pending)

    def start(self) -> None:
        """Start the workers now rather than for the first batch (about a second of imports)."""
        if self.workers:
            self._get_pool(eager=True)

    def close(self) -> None:
        self._ahead = {}
        if self._finalizer is not None:
            self._finalizer()  # the pool's close, once
            self._pool = self._finalizer = None

    def _for_workers(self, messages: Sequence[SourceMessage]) -> list[SourceMessage]:
        return [m for m in messages if not self._too_large(m)]

    def _too_large(self, message: SourceMessage) -> bool:
        limit = self.options.max_bytes
        return limit is not None and max(message.size or 0, len(message.raw)) > limit

    def _read_here(self, message: SourceMessage) -> Reading | Unread:
        return read(
            message.raw, self.options, received_at=message.received_at, size=message.size, directory=self.directory
        )

    def _submit(self, messages: Sequence[SourceMessage]) -> list[_Pending]:
        pool = self._get_pool()
        out: list[_Pending] = []
        for start in range(0, len(messages), PER_TASK):
            chunk = messages[start : start + PER_TASK]
            futures: list[Future] = [Future() for _ in chunk]
            pool.tasks.put(_Task([(m.raw, m.received_at, m.size, None) for m in chunk], futures))
            out += [_Pending(m.key, m.raw, future) for m, future in zip(chunk, futures, strict=True)]
        return out

    def _results(
        self, messages: Sequence[SourceMessage], pending: dict[MessageKey, _Pending]
    ) -> Iterator[Reading | Unread]:
        try:
            for message in messages:
                item = pending.get(message.key)
                yield self._read_here(message) if item is None else _with_raw(item.future.result(), item.raw)
        finally:
            for item in pending.values():  # work nobody will ask for (the caller stopped early)
                item.future.cancel()

    def _get_pool(self, *, eager: bool = False) -> _Pool:
        if self._pool is None:
            self._pool = _Pool(self.workers, self.options, self.timeout, eager=eager)
            self._finalizer = weakref.finalize(self, self._pool.close)
        return self._pool
