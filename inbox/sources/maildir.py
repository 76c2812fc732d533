"""The embedded default source: a local Maildir drop folder (new/, cur/, tmp/).

A message is pending while it sits in new/, or in cur/ without the "S" info flag (a file someone
put straight into cur/). Marking renames it to cur/NAME:2,S, the way a Maildir reader records that
it has seen a message; custom flag letters are not portable between Maildir tools, so the rename
itself is the mark. The key's uid is the file's unique base name (what comes before ":2,").

Whoever writes into the folder is not trusted: only regular files are taken, opened without
following links (a link to /etc/passwd must not become a case), and an entry that cannot be taken
(unreadable, a link, a directory, a FIFO, a socket) is left where it is, logged once and listed in
`skipped_files` for /healthz; the rest of the folder is taken as usual. Nothing is ever
overwritten: a base name used before (a tool that names every file "s001.eml") gets a unique one
before it is handed out, and moves use link-then-unlink, which fails where the target exists.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from inbox.sources.base import MessageKey, SourceError, SourceMessage
from models import metrics

log = logging.getLogger("mdesk.inbox.maildir")

INFO = ":2,"  # Maildir info separator and version; flags follow in ASCII order
PROCESSED = "S"
POLL_SECONDS = 0.5  # wait() looks at the folder this often
BATCH_BYTES = 64 * 1024 * 1024  # a pending() batch stops growing here (but always holds one message)
# O_NOFOLLOW: a link is refused by the kernel (ELOOP), not checked and then raced; O_NONBLOCK: a
# FIFO that slipped past the listing opens at once instead of waiting for a writer forever.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class _Entry:
    path: Path
    base: str
    mtime_ns: int
    size: int


@dataclass(slots=True)
class _Listing:
    """One look at new/ and cur/: what is pending, what cannot be taken, which names are used."""

    pending: list[_Entry]
    odd: dict[str, str]  # "new/NAME" -> why it is not taken (not a regular file)
    names: set[str]  # "sub/NAME" of every entry not marked processed (only those can be skipped)
    marked: dict[str, str]  # base name -> the path of its processed file in cur/


class MaildirSource:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser().resolve()
        self.name = f"maildir:{self.path}"
        self.mailbox_id = self.name
        self._interrupted = threading.Event()
        self._paths: dict[str, Path] = {}  # uid -> where pending() last saw it, so marking needs no scan
        self._listed: tuple[int, int, int] | None = None  # the folder's signature as pending() saw it
        self._skipped: dict[str, str] = {}  # "new/NAME" -> why it is left: logged and counted once
        # Read by /healthz from another thread: a tuple, replaced whole after each pending().
        self.skipped_files: tuple[str, ...] = ()

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
        listing = self._list()
        self._forget_skipped(listing.names)
        for name, why in listing.odd.items():
            self._skip(name, why)
        entries = self._unique(listing)
        entries.sort(key=lambda e: (e.mtime_ns, e.base))
        if exclude:
            entries = [e for e in entries if MessageKey(self.mailbox_id, 0, e.base) not in exclude]
        out: list[SourceMessage] = []
        total = 0
        for entry in entries:
            if len(out) >= limit or (out and total + entry.size > BATCH_BYTES):
                break
            read = self._read(entry)
            if read is None:
                continue
            raw, size = read
            self._paths[entry.base] = entry.path
            received = datetime.fromtimestamp(entry.mtime_ns / 1e9, UTC)  # delivery time, as Maildir readers take it
            out.append(SourceMessage(MessageKey(self.mailbox_id, 0, entry.base), raw, received, size=size))
            total += len(raw)
        self.skipped_files = tuple(sorted(self._skipped))
        return out

    def _list(self) -> _Listing:
        listing = _Listing([], {}, set(), {})
        marked = listing.marked
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as it:
                for item in it:
                    if sub == "cur":  # cur/ grows forever: a processed file costs a partition, no stat
                        base, info, flags = item.name.partition(INFO)
                        if info and PROCESSED in flags:
                            marked[base] = item.path
                            continue
                    self._look_at(listing, sub, item)
        return listing

    def _look_at(self, listing: _Listing, sub: str, item: os.DirEntry) -> None:
        if item.name.startswith("."):  # Maildir readers ignore dot files
            return
        name = f"{sub}/{item.name}"
        listing.names.add(name)
        try:
            st = item.stat(follow_symlinks=False)  # the entry itself: a link is a link, not its target
        except FileNotFoundError:
            return
        if stat.S_ISREG(st.st_mode):
            listing.pending.append(_Entry(Path(item.path), _base(item.name), st.st_mtime_ns, st.st_size))
        else:
            listing.odd[name] = _kind(st.st_mode)

    def _read(self, entry: _Entry) -> tuple[bytes, int] | None:
        """The file's bytes and size, or None: gone meanwhile, or not to be taken (then skipped)."""
        name = f"{entry.path.parent.name}/{entry.path.name}"
        try:
            fd = os.open(entry.path, _OPEN_FLAGS)
        except FileNotFoundError:  # marked or removed by someone else since the listing
            return None
        except OSError as exc:
            # ELOOP: it became a link since the listing; ENXIO: a socket. Anything else (EACCES,
            # EIO, ...) is this one file's problem, not the folder's: the rest is still taken.
            self._skip(name, _open_failure(exc))
            return None
        try:
            st = os.fstat(fd)  # what was opened, not what the listing saw
            if not stat.S_ISREG(st.st_mode):
                self._skip(name, _kind(st.st_mode))
                return None
            with open(fd, "rb", buffering=0, closefd=False) as fh:
                raw = fh.readall()  # one buffer of the file's size: no second copy
        except OSError as exc:
            self._skip(name, f"unreadable ({exc.strerror or type(exc).__name__})")
            return None
        finally:
            os.close(fd)
        self._skipped.pop(name, None)  # readable now (its permissions were fixed)
        return raw, st.st_size

    def _skip(self, name: str, why: str) -> None:
        """Leave one entry where it is; said once (not every poll) and counted once."""
        if self._skipped.get(name) == why:
            return
        if name not in self._skipped:
            metrics.MAILBOX_SKIPPED.inc()
        self._skipped[name] = why
        # The file name only: it is ours or the delivering program's, never the message's content.
        log.warning("drop folder %s: %s is not taken: %s; it is left where it is", self.path, name, why)

    def _forget_skipped(self, names: set[str]) -> None:
        """Entries no longer in the folder (removed or renamed by someone) are no longer skipped."""
        for name in [name for name in self._skipped if name not in names]:
            del self._skipped[name]

    def _unique(self, listing: _Listing) -> list[_Entry]:
        """The pending entries, each with a base name of its own: a name a processed file in cur/
        or another pending entry has already is replaced by a unique one, so one message can never
        take another's key (and be taken for it) nor overwrite it when marked."""
        seen: set[str] = set()
        out: list[_Entry] = []
        for entry in listing.pending:
            if entry.base not in seen and entry.base not in listing.marked:
                seen.add(entry.base)
                out.append(entry)
                continue
            done = listing.marked.get(entry.base)
            if done is not None and _same_file(entry.path, Path(done)):
                # A mark interrupted between its link and its unlink: finish it.
                entry.path.unlink(missing_ok=True)
                continue
            renamed = _rename_unique(entry)
            if renamed is not None:
                seen.add(renamed.base)
                out.append(renamed)
        return out

    # -- marking ----------------------------------------------------------------------------------

    def mark_processed(self, key: MessageKey) -> None:
        if key.mailbox != self.mailbox_id:
            raise ValueError(f"key belongs to {key.mailbox}, not {self.mailbox_id}")
        for _ in range(3):
            path = self._locate(key.uid)
            if path is None or _is_marked(path):
                self._paths.pop(key.uid, None)
                return  # already marked (or removed): marking is idempotent
            flags = _with_flag(_flags(path.name), PROCESSED)
            try:
                _move_to_free_name(path, self.path / "cur", key.uid, f"{INFO}{flags}")
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
        listing = self._list()
        for entry in listing.pending:
            if entry.base == uid:
                return entry.path
        marked = listing.marked.get(uid)
        return Path(marked) if marked is not None else None

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
        """Deliver one message: written to tmp/, flushed, then moved into new/ (never half a file,
        never over another file)."""
        self.connect()
        name = _unique_name()
        tmp = self.path / "tmp" / name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            final = _move_to_free_name(tmp, self.path / "new", name, "")
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


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link (links are never followed)"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _open_failure(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return _kind(stat.S_IFLNK)
    if exc.errno == errno.ENXIO:
        return _kind(stat.S_IFSOCK)
    return f"unreadable ({exc.strerror or type(exc).__name__})"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samestat(a.lstat(), b.lstat())
    except FileNotFoundError:
        return False


def _rename_unique(entry: _Entry) -> _Entry | None:
    """The entry under a new unique base name in its folder (its info flags kept); None if it is gone."""
    flags = f"{INFO}{_flags(entry.path.name)}" if INFO in entry.path.name else ""
    try:
        path = _move_to_free_name(entry.path, entry.path.parent, f"{entry.base}.{_unique_name()}", flags)
    except FileNotFoundError:
        return None
    log.info("drop folder: a file reused the name %s; it is taken as %s", entry.base, path.name)
    return _Entry(path, _base(path.name), entry.mtime_ns, entry.size)


def _move_to_free_name(source: Path, folder: Path, base: str, suffix: str) -> Path:
    """Move `source` to folder/BASE+SUFFIX, or, where that name is taken, to a unique name in
    its place: never over another file. Raises FileNotFoundError when `source` is gone."""
    target = folder / f"{base}{suffix}"
    while True:
        try:
            _move_no_replace(source, target)
            return target
        except FileExistsError:
            target = folder / f"{base}.{_unique_name()}{suffix}"


def _move_no_replace(source: Path, target: Path) -> None:
    """rename() replaces an existing target without a word; link() refuses (EEXIST), atomically."""
    try:
        os.link(source, target, follow_symlinks=False)
    except (FileExistsError, FileNotFoundError):
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # No hard links here (a filesystem without them, or protected_hardlinks on a file of
        # another user's): check, then rename. Only a writer racing us inside the same
        # microsecond could slip in between.
        if target.exists() or target.is_symlink():
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from exc
        source.rename(target)
        return
    source.unlink()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
