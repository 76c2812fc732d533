"""A message parsed from its bytes in pieces, each dropped once the parser has it (issue 8.5).

`parse_message(raw)` needs the message whole, and the stdlib parser then holds a large part's lines
(about 1.7x the part as str objects), joins them (1x) and trims the last line end (1x again): with the
bytes themselves, 3.7x the message at once. A reading worker is sent a large message in pieces
(`ByteChunks`); parsed from them, each piece leaves memory once fed, except the 64 KB pieces of the
large bodies that inbox/parse/feed.py keeps aside (never shown to the parser): about 1x in all.

The tree is the one `parse_message` builds from the same bytes: the same repairs, applied as the
bytes go by (a bare CR at the end of a piece waits for the next one; the header block is gathered
until its empty line and repaired as `repair_raw` repairs it), and the parser is fed the same bytes
(it does not depend on how they are cut). The sha256 is of the bytes as they came. Where
parse_message would take a path that needs the bytes whole (the parser failed and the body is kept
as text, or reading the tree raised), the stream cannot: `StreamIncomplete` is raised and the caller
reads the whole bytes instead (inbox/readers.py asks for them again).
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import mmap
from collections import deque
from collections.abc import Sequence
from email.message import Message

from inbox.parse.feed import Feeder
from inbox.parse.repair import (
    BARE_CR_PROBLEM,
    CR_SCAN_BYTES,
    FEED_BYTES,
    bare_crs_fixed,
    has_bare_cr_line_ends,
    header_block_end,
    repair_header_block,
)


class StreamIncomplete(Exception):
    """The message cannot be read from its pieces the way it would be from its whole bytes."""


class ByteChunks:
    """A message's bytes as pieces, in order, consumed by the parse (`parse_message` accepts it).
    `incomplete` is set when they could not be read as the whole bytes would be.

    A piece may be an anonymous mmap (inbox/readers.py receives them so): it is closed once parsed, so
    its memory goes back to the system then. A piece of bytes goes back to the allocator, which may
    keep it (glibc does, once it has raised its mmap threshold): the parser's small objects would not
    reuse it, and the peak would be as if the message were held whole."""

    def __init__(self, pieces: Sequence[bytes | mmap.mmap]) -> None:
        self.pieces = deque(pieces)
        self.size = sum(map(len, self.pieces))
        self.incomplete = False

    def __len__(self) -> int:
        return self.size


class _Repairs:
    """repair_raw's repairs, applied to a stream of bytes: what to feed the parser, piece by piece."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.start = b""  # the first bytes, until the line ends can be judged
        self.bare_cr: bool | None = None  # unknown until CR_SCAN_BYTES + 1 bytes (or the end) are in
        self.carry = b""  # a CR at the end of a piece: a bare CR or half of a CRLF
        self.head = bytearray()  # repaired so far, until the header block's empty line is in it
        self.head_done = False

    def feed(self, piece: bytes) -> bytes:
        if self.bare_cr is None:
            self.start += piece
            if len(self.start) <= CR_SCAN_BYTES:
                return b""
            piece, self.start = self.start, b""
            self._judge(piece)
        return self._header(self._line_ends(piece, last=False))

    def close(self) -> bytes:
        out = b""
        if self.bare_cr is None:
            piece, self.start = self.start, b""
            self._judge(piece)
            out = self._line_ends(piece, last=True)
        else:
            out = self._line_ends(b"", last=True)
        out = self._header(out)
        if not self.head_done:  # no empty line anywhere: the whole message is its header block
            out = self._head_repaired()
        return out

    def _judge(self, first: bytes) -> None:
        self.bare_cr = has_bare_cr_line_ends(first)
        if self.bare_cr:
            self.problems.append(BARE_CR_PROBLEM)

    def _line_ends(self, piece: bytes, *, last: bool) -> bytes:
        if not self.bare_cr:
            return piece
        piece, self.carry = self.carry + piece, b""
        if not last and piece.endswith(b"\r"):
            piece, self.carry = piece[:-1], b"\r"
        return bare_crs_fixed(piece)

    def _header(self, piece: bytes) -> bytes:
        if self.head_done:
            return piece
        searched = max(0, len(self.head) - 2)  # an empty line may straddle the two
        self.head += piece
        if header_block_end(self.head, searched) is None:
            return b""
        return self._head_repaired()

    def _head_repaired(self) -> bytes:
        self.head_done = True
        head, self.head = bytes(self.head), bytearray()
        return repair_header_block(head, self.problems)


def parse_tree_streamed(chunks: ByteChunks, problems: list[str]) -> tuple[Message, str, bool]:
    """The MIME tree of the message in `chunks` (emptied), the sha256 of its bytes, and whether they
    are all white space. Raises StreamIncomplete where parse_tree would fall back to the whole bytes."""
    feeder = Feeder(email.parser.BytesFeedParser(policy=email.policy.compat32))
    repairs = _Repairs(problems)
    digest = hashlib.sha256()
    blank = True
    try:
        while chunks.pieces:
            piece = chunks.pieces.popleft()  # ours alone from here: gone once fed
            with memoryview(piece) as view:
                for start in range(0, len(view), FEED_BYTES):
                    data = bytes(view[start : start + FEED_BYTES])
                    digest.update(data)
                    blank = blank and data.isspace()
                    feeder.feed(repairs.feed(data))
            if isinstance(piece, mmap.mmap):
                piece.close()
            del piece
        feeder.feed(repairs.close())
        return feeder.close(), digest.hexdigest(), blank
    except Exception as exc:  # RecursionError, a codec's error...: parse_tree's fallback needs the whole bytes
        raise StreamIncomplete(type(exc).__name__) from exc
