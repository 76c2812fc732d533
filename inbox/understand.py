"""One email read as a coordinator would: `parse-email` and the parse benchmark.

The reading is inbox/reading.py's `read`, the one intake's steps consume: parse, classify, and (for a
person's mail) extract. With a `timeout` (parse-email passes settings.read_timeout_seconds) it happens
in a reading process, one kept for all the calls of a command, and a message that takes longer raises
Unreadable instead of holding the command for as long as it takes.
"""

from __future__ import annotations

from datetime import datetime

from inbox.readers import Readers
from inbox.reading import Reading, ReadOptions, Unread
from inbox.sources.base import MessageKey, SourceMessage
from models.la_directory import Directory, load_directory


class Unreadable(Exception):
    """The message could not be read (within the bound, or at all: the reason says why)."""


def understand(
    raw: bytes,
    *,
    directory: Directory | None = None,
    own_addresses: tuple[str, ...] = (),
    timeout: float | None = None,
    received_at: datetime | None = None,
) -> Reading:
    """The message's Reading; Unreadable when reading did not finish. `received_at`: when the
    mailbox got it (dates are read against it); for a file, None, as intake has for a message whose
    source gives no time."""
    if timeout and (directory is None or directory is load_directory()):
        readers = _bounded(own_addresses, timeout)
    else:  # no bound, or a directory of the caller's (workers read with the project's own)
        readers = Readers(0, ReadOptions(own_addresses), directory=directory)
    [result] = list(readers.read_all([SourceMessage(_KEY, raw, received_at)]))
    if isinstance(result, Unread):
        raise Unreadable(result.reason)  # a bug's traceback may quote the message: not printed
    return result


_KEY = MessageKey("understand", 0, "0")
_READERS: dict[tuple[tuple[str, ...], float], Readers] = {}  # one reading process for a command's calls


def _bounded(own_addresses: tuple[str, ...], timeout: float) -> Readers:
    readers = _READERS.get((own_addresses, timeout))
    if readers is None:
        readers = _READERS[own_addresses, timeout] = Readers(1, ReadOptions(own_addresses), timeout)
    return readers
