"""Run a mail source forever: hand each pending message to intake, mark it once committed, wait.

The watcher owns the connection's life: any network or server error closes it and reconnects with
capped exponential backoff (with jitter), forever, until `stop` is set. It logs once per change of
state (connected, disconnected and reconnecting, connected again), never once per retry, and never
a subject or an address above DEBUG. `state`, `since`, `last_error` and `last_ok_at` feed /healthz:
`since` is when the mailbox last went up (connected or idle: the watcher moves between those two with
every batch, which is no news) or down (connecting, disconnected), and `last_error` is cleared when
it comes back up.

`handle_batch(messages)` (intake's) commits a list of messages, CHUNK at a time (`stop` is checked
between chunks), and returns how many of them, from the start of the list, are committed; that
prefix is marked with one call (`mark_processed_many`). Anything short of the whole chunk (the
database is down, say) leaves the rest for later: the watcher backs off before trying again. A
handler that raises is a bug in intake (which quarantines what it cannot understand): it is logged at
ERROR, shown in `last_error` (/healthz), and treated like 0 so no message is lost. The exception is
DatabaseReplaced (models/db.py): the database intake committed to is not the one it opened, so no
later round can do better; the watcher marks nothing and re-raises it, ending run() and drain_once().

`read_ahead(messages)`, when given, is told each whole fetch before its chunks are handed over (intake
starts reading them in workers); the watcher then fetches the next window at once, before handling
this one, and tells read_ahead of it too, so the workers are never left waiting while this process
talks to the server. The window fetched ahead is only held: it is marked, like any other, after its
own commit. `run` and `drain_once` go through the same loop (`_process`).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Literal

from inbox.sources.base import TRANSIENT_ERRORS, MailSource, MessageKey, SourceError, SourceMessage
from models.db import DatabaseReplaced

log = logging.getLogger("mdesk.inbox.watch")

BatchHandler = Callable[[list[SourceMessage]], int]
ReadAhead = Callable[[list[SourceMessage]], None]
State = Literal["connecting", "connected", "idle", "disconnected"]
UP: tuple[State, ...] = ("connected", "idle")

STOP_CHECK_SECONDS = 0.25  # how often the stop relay looks at `stop` (it then interrupts wait())
CHUNK = 50  # messages per handle_batch call: one transaction and one mark on the server


class _Backoff:
    """1 s doubling to 60 s, each delay jittered by +-20% so a fleet does not retry in step."""

    def __init__(self, first: float, cap: float) -> None:
        self.first, self.cap = first, cap
        self.attempts = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.first * 2**self.attempts)
        self.attempts += 1
        return min(self.cap, delay * random.uniform(0.8, 1.2))

    def reset(self) -> None:
        self.attempts = 0


class MailboxWatcher:
    def __init__(
        self,
        source: MailSource,
        *,
        batch: int = 200,
        wait_seconds: float = 300.0,
        backoff_first: float = 1.0,
        backoff_cap: float = 60.0,
    ) -> None:
        self.source = source
        self.batch = batch
        # wait() returns at least this often; the pending() that follows doubles as a liveness check.
        self.wait_seconds = wait_seconds
        self.state: State = "disconnected"
        self.since = datetime.now(UTC)  # when the mailbox last went up or down (see the module doc)
        self.last_error: str | None = None  # why it is down, or why intake is refusing; None when well
        self.last_ok_at: datetime | None = None  # the last round trip that worked
        self._reconnect = _Backoff(backoff_first, backoff_cap)
        self._retry = _Backoff(backoff_first, backoff_cap)  # after a handler said "not now"
        self._outage_logged = False
        self._handler_failing = False
        self._marked: set[MessageKey] = set()  # marked in the previous round of this connection
        self._read_ahead: ReadAhead | None = None
        self._fetched: list[SourceMessage] = []  # the next window, fetched ahead (see _fetch_ahead)
        self._announced: set[MessageKey] = set()  # the window read_ahead was last told of

    # -- forever ----------------------------------------------------------------------------------

    def run(self, handle_batch: BatchHandler, stop: threading.Event, *, read_ahead: ReadAhead | None = None) -> None:
        self._read_ahead = read_ahead
        finished = threading.Event()
        relay = threading.Thread(target=self._relay_stop, args=(stop, finished), name="mdesk-watch-stop", daemon=True)
        relay.start()
        try:
            while not stop.is_set():
                self._session(handle_batch, stop)
                if not stop.is_set():
                    stop.wait(self._reconnect.next_delay())
        finally:
            finished.set()
            self._set_state("disconnected")

    def _relay_stop(self, stop: threading.Event, finished: threading.Event) -> None:
        # `stop` belongs to the caller (a signal handler sets it); a blocked IDLE cannot see it,
        # so this thread turns it into source.interrupt().
        while not finished.is_set():
            if stop.wait(STOP_CHECK_SECONDS):
                self.source.interrupt()
                return

    def _session(self, handle_batch: BatchHandler, stop: threading.Event) -> None:
        """One connection, from connect to the error (or stop) that ends it."""
        try:
            self._connect()
            while not stop.is_set():
                self._round(handle_batch, stop)
        except DatabaseReplaced:
            raise  # not the mailbox's fault, and no reconnect helps: see the module doc
        except TRANSIENT_ERRORS as exc:
            self._lost(exc)
        except Exception as exc:  # a boundary: the watcher outlives a bug
            # A bug (ours or a library's), not the network. Dying would stop intake silently;
            # instead it is logged with its traceback and retried like an outage.
            self._lost(exc, unexpected=True)
        finally:
            self.source.close()

    def _connect(self) -> None:
        self._set_state("connecting")
        self.source.connect()
        self._marked = set()
        self._fetched = []
        self._set_ok("connected")
        if self._outage_logged:
            log.info("mailbox connected again: %s (%d failed attempts)", self.source.name, self._reconnect.attempts)
        else:
            log.info("mailbox connected: %s", self.source.name)
        self._outage_logged = False

    def _lost(self, exc: BaseException, *, unexpected: bool = False) -> None:
        was_connected = self.state in UP
        self._set_state("disconnected")
        self.last_error = _describe(exc)
        if not self._outage_logged:
            verb = "disconnected" if was_connected else "unavailable"
            log.log(
                logging.ERROR if unexpected else logging.WARNING,
                "mailbox %s: %s: %s; reconnecting with backoff",
                verb, self.source.name, self.last_error,
                exc_info=unexpected,
            )  # fmt: skip
            self._outage_logged = True
        else:
            log.debug("mailbox still unavailable: %s", self.last_error)

    def _round(self, handle_batch: BatchHandler, stop: threading.Event) -> None:
        """One batch: handle what is pending, or wait for news when nothing is."""
        batch = self._next_window()
        self._set_ok("connected")
        self._reconnect.reset()  # a round trip worked: the next outage starts from a short delay
        if not batch:
            self._set_state("idle")
            self.source.wait(self.wait_seconds)
            self._set_ok("connected")
            return
        self._check_marks_stuck(batch)
        marked, ok = self._process(batch, handle_batch, stop)
        self._marked = set(marked)
        if not ok:
            stop.wait(self._retry.next_delay())

    def _process(
        self,
        batch: list[SourceMessage],
        handle_batch: BatchHandler,
        stop: threading.Event,
        held: Collection[MessageKey] = (),
    ) -> tuple[list[MessageKey], bool]:
        """Commit and mark CHUNK messages at a time: the keys marked, and False when intake committed
        less (back off). `held`: keys handled before in this drain, never fetched again."""
        self._announce(batch)
        self._fetch_ahead({*held, *(m.key for m in batch)})
        marked: list[MessageKey] = []
        for start in range(0, len(batch), CHUNK):
            if stop.is_set():  # finish the current chunk, not the batch
                self._fetched = []
                return marked, True
            chunk = batch[start : start + CHUNK]
            committed = [m.key for m in chunk[: self._handle(handle_batch, chunk)]]
            if committed:
                self._mark_many(committed)
                marked += committed
                self._retry.reset()
            if len(committed) < len(chunk):
                self._fetched = []  # after the back-off, the next round asks the server afresh
                return marked, False
        return marked, True

    def _next_window(self, exclude: Collection[MessageKey] = ()) -> list[SourceMessage]:
        """The window fetched ahead, if any; else what the source has pending now."""
        fetched, self._fetched = self._fetched, []
        return fetched or self.source.pending(self.batch, exclude=exclude)

    def _fetch_ahead(self, held: Collection[MessageKey]) -> None:
        """Fetch the next window now (leaving out `held`, the messages in hand) and announce it, so
        the reading workers go on to it without waiting for this process to finish the current one.
        Without read_ahead nothing would overlap: the next window is fetched when it is needed."""
        if self._read_ahead is None:
            return
        self._fetched = self.source.pending(self.batch, exclude=held)
        self._announce(self._fetched)

    def _announce(self, batch: list[SourceMessage]) -> None:
        """Tell read_ahead of the messages in this window it was not told of as the last one."""
        if self._read_ahead is None:
            return
        new = [m for m in batch if m.key not in self._announced]
        self._announced = {m.key for m in batch}
        if new:  # else the window fetched ahead, already announced
            self._read_ahead(new)

    def _mark_many(self, keys: Sequence[MessageKey]) -> None:
        mark_many = getattr(self.source, "mark_processed_many", None)
        if mark_many is not None:
            mark_many(keys)
            return
        for key in keys:  # a source that can only mark one at a time
            self.source.mark_processed(key)

    def _check_marks_stuck(self, batch: list[SourceMessage]) -> None:
        # A message we marked in the previous round is pending again: the server did not keep
        # the mark. Reconnecting (and saying so in last_error) beats handing it out in a loop.
        again = [m.key for m in batch if m.key in self._marked]
        self._marked = set()
        if again:
            raise SourceError(f"{len(again)} message(s) still pending after being marked processed")

    def _handle(self, handle_batch: BatchHandler, chunk: list[SourceMessage]) -> int:
        """How many of the chunk intake committed (a prefix); 0 when it raised."""
        try:
            committed = int(handle_batch(chunk))
        except DatabaseReplaced:
            raise
        except Exception as exc:  # a boundary: a bug in intake leaves the chunk for the next round
            if not self._handler_failing:
                # The exception text may quote a message: the traceback goes to DEBUG only.
                log.error(
                    "intake raised %s on a batch of %d from uid %s; left for the next round",
                    type(exc).__name__,
                    len(chunk),
                    chunk[0].key.uid,
                )
            log.debug("intake traceback", exc_info=True)
            self._handler_failing = True
            self.last_error = f"intake raised {type(exc).__name__}"
            return 0
        committed = max(0, min(committed, len(chunk)))
        if committed and self._handler_failing:
            log.info("intake is taking messages again")
            self._handler_failing = False
            self.last_error = None
        return committed

    def _set_ok(self, state: State) -> None:
        self._set_state(state)
        self.last_ok_at = datetime.now(UTC)

    def _set_state(self, state: State) -> None:
        """Change state; going up or down moves `since`, and coming back up clears the error."""
        if (state in UP) != (self.state in UP):
            self.since = datetime.now(UTC)
            if state in UP:
                self.last_error = None
        self.state = state

    # -- once -------------------------------------------------------------------------------------

    def drain_once(self, handle_batch: BatchHandler, *, read_ahead: ReadAhead | None = None) -> int:
        """Connect, handle everything pending, close; the number of messages committed.

        Source errors propagate (the CLI reports them); stops early when intake says "not now".
        """
        handled: set[MessageKey] = set()
        self._read_ahead = read_ahead
        never = threading.Event()
        try:
            self._connect()
            while True:
                fresh = [m for m in self._next_window(exclude=handled) if m.key not in handled]
                if not fresh:
                    return len(handled)
                marked, ok = self._process(fresh, handle_batch, never, held=handled)
                handled.update(marked)
                if not ok:
                    return len(handled)
        finally:
            self.source.close()
            self._set_state("disconnected")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or "no detail"
    return f"{type(exc).__name__}: {text[:200]}"
