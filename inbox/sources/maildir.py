"""The embedded default source: a local Maildir drop folder (new/, cur/, tmp/).

A message is pending while it sits in new/, or in cur/ without the "S" info flag (a file someone
put straight into cur/). Marking renames it to cur/NAME:2,S, the way a Maildir reader records that
it has seen a message; custom flag letters are not portable between Maildir tools, so the rename
itself is the mark. The key's uid is the file's unique base name (what comes before ":2,").
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from inbox.sources.base import MessageKey, SourceError, SourceMessage

INFO = ":2,"  # Maildir info separator and version; flags follow in ASCII order
PROCESSED = "S"
POLL_SECONDS = 0.5  # wait() looks at the folder this often
BATCH_BYTES = 64 * 1024 * 1024  # a pending() batch stops growing here (but always holds one message)

_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class _Entry:
    path: Path
    base: str
    mtime_ns: int
    size: int


class MaildirSource:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser().resolve()
        self.name = f"maildir:{self.path}"
        self.mailbox_id = self.name
        self._interrupted = threading.Event()
        self._paths: dict[str, Path] = {}  # uid -> where pending() last saw it, so marking needs no scan
        self._listed: tuple[int, int, int] | None = None  # the folder's signature as pending() saw it

    # -- lifecycle --------------------------------------------------------------------------------

    def connect(self) -> None:
        try:
            for sub in ("cur", "new", "tmp"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceError(f"{self.name}: cannot create the drop folder: {exc.strerror}") from exc
        if not os.access(self.path / "new", os.W_OK | os.X_OK):
            raise SourceError(f"{self.name}: new/ is not writable")

    def close(self) -> None:
        self._paths.clear()

    # -- reading ----------------------------------------------------------------------------------

    def pending(self, limit: int = 200, exclude: Collection[MessageKey] = ()) -> list[SourceMessage]:
        # Taken before the listing: wait() compares against it, so a drop that lands after the
        # listing but before wait() starts still wakes it.
        self._listed = self._signature()
        entries = sorted(self._pending_entries(), key=lambda e: (e.mtime_ns, e.base))
        if exclude:
            entries = [e for e in entries if MessageKey(self.mailbox_id, 0, e.base) not in exclude]
        entries = entries[:limit]
        out: list[SourceMessage] = []
        total = 0
        for entry in entries:
            if out and total + entry.size > BATCH_BYTES:
                break
            try:
                raw = entry.path.read_bytes()
            except FileNotFoundError:  # marked or removed by someone else since the listing
                continue
            self._paths[entry.base] = entry.path
            received = datetime.fromtimestamp(entry.mtime_ns / 1e9, UTC)  # delivery time, as Maildir readers take it
            out.append(SourceMessage(MessageKey(self.mailbox_id, 0, entry.base), raw, received))
            total += len(raw)
        return out

    def _pending_entries(self) -> list[_Entry]:
        return self._scan("new") + self._scan("cur", unmarked_only=True)

    def _scan(self, sub: str, *, unmarked_only: bool = False) -> list[_Entry]:
        entries = []
        with os.scandir(self.path / sub) as it:
            for item in it:
                if item.name.startswith("."):  # Maildir readers ignore dot files
                    continue
                if unmarked_only and PROCESSED in _flags(item.name):  # cur/ grows forever: skip the stat
                    continue
                try:
                    st = item.stat()
                except FileNotFoundError:
                    continue
                if item.is_file():
                    entries.append(_Entry(Path(item.path), _base(item.name), st.st_mtime_ns, st.st_size))
        return entries

    # -- marking ----------------------------------------------------------------------------------

    def mark_processed(self, key: MessageKey) -> None:
        if key.mailbox != self.mailbox_id:
            raise ValueError(f"key belongs to {key.mailbox}, not {self.mailbox_id}")
        for _ in range(3):
            path = self._locate(key.uid)
            if path is None or _is_marked(path):
                self._paths.pop(key.uid, None)
                return  # already marked (or removed): marking is idempotent
            target = self.path / "cur" / f"{key.uid}{INFO}{_with_flag(_flags(path.name), PROCESSED)}"
            try:
                path.rename(target)
            except FileNotFoundError:  # moved by someone else since we found it: look again
                self._paths.pop(key.uid, None)
                continue
            self._paths.pop(key.uid, None)
            return
        raise SourceError(f"{self.name}: message {key.uid} keeps moving; not marked")

    def mark_processed_many(self, keys: Sequence[MessageKey]) -> None:
        """One rename each: a Maildir has no command for many."""
        for key in keys:
            self.mark_processed(key)

    def _locate(self, uid: str) -> Path | None:
        cached = self._paths.get(uid)
        if cached is not None and cached.exists():
            return cached
        for sub in ("new", "cur"):
            for entry in self._scan(sub):
                if entry.base == uid:
                    return entry.path
        return None

    # -- waiting ----------------------------------------------------------------------------------

    def interrupt(self) -> None:
        self._interrupted.set()

    def wait(self, timeout: float) -> None:
        """Poll the folder every POLL_SECONDS; return when it changes, at timeout, or on interrupt()."""
        deadline = time.monotonic() + max(0.0, timeout)
        before = self._listed or self._signature()
        self._listed = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self._interrupted.wait(min(POLL_SECONDS, remaining)):
                self._interrupted.clear()
                return
            if self._signature() != before:
                return

    def _signature(self) -> tuple[int, int, int]:
        # Directory mtimes change on every create/rename inside; the count of new/ covers
        # filesystems whose mtimes are too coarse to tell two changes in one second apart.
        try:
            new, cur = self.path / "new", self.path / "cur"
            return new.stat().st_mtime_ns, cur.stat().st_mtime_ns, len(os.listdir(new))
        except FileNotFoundError as exc:
            raise SourceError(f"{self.name} has gone away") from exc

    # -- writing ----------------------------------------------------------------------------------

    def drop(self, raw: bytes) -> Path:
        """Deliver one message: written to tmp/, flushed, then renamed into new/ (never half a file)."""
        self.connect()
        name = _unique_name()
        tmp = self.path / "tmp" / name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            final = self.path / "new" / name
            tmp.rename(final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.path / "new")
        return final


def _base(name: str) -> str:
    return name.split(INFO, 1)[0]


def _flags(name: str) -> str:
    return name.split(INFO, 1)[1] if INFO in name else ""


def _is_marked(path: Path) -> bool:
    """Processed: in cur/ with "S" among its info flags."""
    return path.parent.name == "cur" and PROCESSED in _flags(path.name)


def _with_flag(flags: str, flag: str) -> str:
    return "".join(sorted(set(flags) | {flag}))


def _unique_name() -> str:
    """A Maildir unique name: seconds, microseconds, pid and a counter, then the host name."""
    now = time.time_ns()
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
    return f"{now // 10**9}.M{(now // 1000) % 10**6}P{os.getpid()}Q{next(_counter)}.{host}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
