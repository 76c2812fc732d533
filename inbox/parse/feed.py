"""The message fed to the stdlib parser with its large bodies kept aside as raw pieces (issue 8.5).

The stdlib parser holds a leaf's body as a list of lines (about 1.7x its size as str objects; 8-bit text,
held as surrogates, twice that), joins them (1x) and trims the last line end (1x again). So a large body is
never shown to it: the bytes are followed as they are fed, with the stdlib's own rules (a header block ends
at its first empty line; a multipart's parts are cut at lines matching its boundary's regular expression,
the outermost matching multipart taking the line; a message/* part holds a message), and each leaf body of
RAW_BODY_BYTES or more is replaced by a short token. The bytes themselves stay where they are: views of the
caller's bytes, or the 64 KB pieces a stream is fed in (`RawBody`); `raw_body_of(part)` gives them, and
inbox/parse/parts.py decodes from them only as much as it needs (the start of a text, a file's hash a
megabyte at a time).

Where the bytes are anything but plain (a header line the parser would not take, a boundary inside a header
block, a delivery-status report, a boundary reused by a nested multipart), the rest of the message is fed
as it is, and the parser reads it as it always did. After the parse every token must be the whole payload of
one leaf (the line end the parser trims from a part before a boundary is seen in the payload, so it is
known, not guessed); otherwise `Feeder.close` raises `NotAsFed` and the caller parses the bytes unchanged.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
import secrets
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

RAW_BODY_BYTES = 256 * 1024  # a leaf body this large is kept aside, not given to the parser
MAX_HEADER_BLOCK = 256 * 1024  # a part's header block longer than this: the rest is fed as it is
MAX_DELIMITER_LINE = 8 * 1024  # a line that begins "--" is held until its end, up to this long
PIECE_BYTES = 64 * 1024  # the bytes are looked at this many at a time

# The stdlib's feedparser.headerRE, on bytes: a header field or continuation line.
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")
_EMPTY_LINES = (b"\r\n", b"\n", b"\r")
_DASHES = re.compile(rb"--")  # a literal: searched far faster than a class followed by it
_LINE_END_CHAR = re.compile(rb"[\r\n]")


class NotAsFed(Exception):
    """The parser's tree does not hold the bodies kept aside where they were taken from."""


class RawBody:
    """A leaf's body as the parser would have had it (before any transfer decoding), in pieces."""

    __slots__ = ("__weakref__", "pieces", "size")

    def __init__(self, pieces: list[memoryview]) -> None:
        self.pieces = pieces
        self.size = sum(len(p) for p in pieces)

    def __len__(self) -> int:
        return self.size

    def chunks(self) -> Iterator[memoryview]:
        yield from self.pieces

    def head(self, limit: int) -> bytes:
        """The first `limit` bytes (all of them when shorter)."""
        out = bytearray()
        for piece in self.pieces:
            if len(out) >= limit:
                break
            out += piece[: limit - len(out)]
        return bytes(out)

    def tobytes(self) -> bytes:
        return b"".join(self.pieces)

    def _trimmed(self, count: int) -> RawBody:
        pieces = list(self.pieces)
        while count and pieces:
            last = pieces.pop()
            cut = min(count, len(last))
            count -= cut
            if len(last) > cut:
                pieces.append(last[: len(last) - cut])
        return RawBody(pieces)


_raw_bodies: weakref.WeakKeyDictionary[Message, RawBody] = weakref.WeakKeyDictionary()


def raw_body_of(part: Message) -> RawBody | None:
    """The body kept aside for this leaf, if it was (its payload is then a token, not its body)."""
    return _raw_bodies.get(part)


@dataclass(slots=True)
class _Frame:
    """A multipart being read: its delimiter line's pattern (the stdlib's, on bytes)."""

    sep: bytes
    pattern: re.Pattern[bytes]
    digest: bool  # multipart/digest: a part without Content-Type is a message
    preamble: bool = True


@dataclass(slots=True)
class _Kept:
    token: str
    body: RawBody
    eol: bytes  # the line end fed after the token


_HEAD, _LEAF, _TEXT, _SKIP, _PASS = "head", "leaf", "text", "skip", "pass"


class Feeder:
    """Feeds `parser` a message's bytes, given in pieces, with large leaf bodies kept aside. The pieces
    are kept as they are given (views, not copies), so a caller feeding its own bytes should not
    change them; `close` gives the tree."""

    def __init__(self, parser: email.parser.BytesFeedParser) -> None:
        self.parser = parser
        self.state = _HEAD
        self.frames: list[_Frame] = []
        self.default_type = "text/plain"
        self.head = bytearray()  # the header block being read
        self.line = bytearray()  # a line begun in an earlier piece (header block, or a "--" line)
        self.line_start = True  # the next byte of a body starts a line
        self.held: list[memoryview] = []  # the leaf body read so far
        self.held_size = 0
        self.kept: list[_Kept] = []
        self.nonce = secrets.token_hex(8)
        self.parser_failed = False  # the parser itself raised: feeding it the bytes as they are would too

    # ---- input -------------------------------------------------------------------------------

    def feed(self, data: bytes | memoryview) -> None:
        whole = memoryview(data)
        for start in range(0, len(whole), PIECE_BYTES):
            self._feed(whole[start : start + PIECE_BYTES])

    def feed_all(self, data: bytes) -> Message:
        self.feed(data)
        return self.close()

    def _feed(self, view: memoryview) -> None:
        while len(view):
            if self.state == _PASS:
                self._out(view)
                return
            view = self._head(view) if self.state == _HEAD else self._body(view)

    def close(self) -> Message:
        if self.state != _PASS and self.line:
            line, self.line = bytes(self.line), bytearray()
            if self.state == _HEAD:
                self._head_line(line)
            else:
                self._line(line)
        if self.state == _LEAF:
            self._end_leaf()
        elif self.state == _HEAD and self.head:
            self._out(bytes(self.head))
        try:
            msg = self.parser.close()
        except Exception:
            self.parser_failed = True
            raise
        self._attach(msg)
        return msg

    def _out(self, data: bytes | memoryview) -> None:
        if len(data):
            try:
                self.parser.feed(data if isinstance(data, bytes) else bytes(data))
            except Exception:
                self.parser_failed = True
                raise

    def _bail(self) -> None:
        """The rest goes to the parser as it is (what has been read of the current part first)."""
        if self.state == _HEAD:
            self._out(bytes(self.head))
            self.head = bytearray()
        if self.state == _LEAF:
            for piece in self.held:
                self._out(piece)
            self.held, self.held_size = [], 0
        self._out(bytes(self.line))
        self.line = bytearray()
        self.state = _PASS

    # ---- header blocks -------------------------------------------------------------------------

    def _head(self, view: memoryview) -> memoryview:
        pos = 0
        while self.state == _HEAD:
            if self.line.endswith(b"\r"):  # a CR at the end of the last piece: is a LF next?
                end = 1 if view[pos : pos + 1].tobytes() == b"\n" else 0
                self.line += view[pos : pos + end]
                pos += end
            else:
                found = _LINE_END_CHAR.search(view, pos)
                if found is None or (view[found.start()] == 13 and found.start() + 1 == len(view)):
                    self.line += view[pos:]
                    if len(self.line) + len(self.head) > MAX_HEADER_BLOCK:
                        self._bail()
                    return view[len(view) :]
                end = found.start() + 1
                if view[found.start()] == 13 and view[end : end + 1].tobytes() == b"\n":
                    end += 1
                self.line += view[pos:end]
                pos = end
            line, self.line = bytes(self.line), bytearray()
            self._head_line(line)
            if pos >= len(view):
                break
        if self.state == _PASS:
            self._out(view[pos:])
            return view[len(view) :]
        return view[pos:]

    def _head_line(self, line: bytes) -> None:
        if any(frame.pattern.match(line) for frame in self.frames):
            self.line = bytearray(line)
            self._bail()  # a part cut short inside its header block: the parser's rules are subtler
            return
        if line in _EMPTY_LINES:
            block, self.head = bytes(self.head) + line, bytearray()
            self._out(block)
            self._begin_body(block)
        elif _HEADER_LINE.match(line) and len(self.head) + len(line) <= MAX_HEADER_BLOCK:
            self.head += line
        else:
            self.line = bytearray(line)
            self._bail()

    def _begin_body(self, block: bytes) -> None:
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(block)
        headers.set_default_type(self.default_type)
        self.default_type = "text/plain"
        self.line_start = True
        ctype = headers.get_content_type()
        maintype = ctype.partition("/")[0]
        if ctype == "message/delivery-status":
            self._bail()  # blocks of fields, parsed by their own rules
        elif maintype == "message":
            self.state = _HEAD  # a whole message follows, read as the parser reads it
        elif maintype == "multipart":
            try:
                boundary = headers.get_boundary()
                sep = ("--" + boundary).encode("ascii", "surrogateescape") if boundary is not None else None
            except (LookupError, ValueError, UnicodeError):
                self._bail()
                return
            if sep is None:
                self.state = _LEAF  # the parser reads a multipart without a boundary as one body
            elif any(frame.sep == sep for frame in self.frames):
                self._bail()
            else:
                pattern = re.compile(re.escape(sep) + rb"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")
                self.frames.append(_Frame(sep, pattern, ctype == "multipart/digest"))
                self.state = _TEXT
        else:
            self.state = _LEAF

    # ---- bodies --------------------------------------------------------------------------------

    def _body(self, view: memoryview) -> memoryview:
        """Runs of the body and its lines that begin "--", each passed on, until the state changes."""
        pos, size = 0, len(view)
        state = self.state
        if self.line:  # a "--" line begun in the last piece
            if self.line.endswith(b"\r"):
                end: int | None = 1 if view[:1].tobytes() == b"\n" else 0
            else:
                end = _line_end(view, 0)
            if end is None:
                self.line += view
                if len(self.line) > MAX_DELIMITER_LINE:  # too long for a boundary line
                    line, self.line = bytes(self.line), bytearray()
                    self._run(line)
                    self.line_start = False
                return view[size:]
            self.line += view[:end]
            line, self.line = bytes(self.line), bytearray()
            pos = end
            self._line(line)
            if self.state != state:
                return view[pos:]
        while pos < size:
            if self.line_start and (view[pos : pos + 2].tobytes() == b"--" or (size - pos == 1 and view[pos] == 45)):
                start = pos
            elif self.state == _SKIP:
                self.state = _HEAD  # the part's header block starts here
                return view[pos:]
            else:
                start = _candidate(view, pos)
            if start < 0:
                rest = bytes(view[pos:])
                last = max(rest.rfind(b"\n"), rest.rfind(b"\r"))
                if rest[last + 1 :] == b"-" and (last >= 0 or self.line_start):
                    self._run(view[pos : pos + last + 1])  # the "-" may begin a boundary line
                    self.line = bytearray(b"-")
                else:
                    self._run(view[pos:])
                return view[size:]
            if start > pos:
                self._run(view[pos:start])
            end = _line_end(view, start)
            if end is None:
                self.line = bytearray(view[start:])
                return view[size:]
            line = bytes(view[start:end])
            pos = end
            self.line_start = True
            self._line(line)
            if self.state != state:
                return view[pos:]
        return view[size:]

    def _run(self, data: bytes | memoryview) -> None:
        """Body bytes that are no boundary line: held (a leaf's) or passed on (a preamble or epilogue)."""
        if not len(data):
            return
        self.line_start = data[-1] in (10, 13)
        if self.state == _LEAF:
            self.held.append(data if isinstance(data, memoryview) else memoryview(data))
            self.held_size += len(data)
        else:
            self._out(data)

    def _line(self, line: bytes) -> None:
        """A whole line that begins "--" (or a last line): a boundary of a multipart being read, or text."""
        matches = [(n, mo) for n, frame in enumerate(self.frames) if (mo := frame.pattern.match(line))]
        if not matches:
            if self.state == _SKIP:
                self.state = _HEAD  # the part's first line, begun "--": a header block would not
                self._head_line(line)
            else:
                self._run(line)
            return
        if len(matches) > 1 or (self.state == _SKIP and matches[0][0] != len(self.frames) - 1):
            self.line = bytearray(line)
            self._bail()
            return
        n, mo = matches[0]
        if self.state == _SKIP:
            self._out(line)  # the parser takes boundary lines one after another as one
            return
        if self.state == _LEAF:
            self._end_leaf()
        del self.frames[n + 1 :]  # the parts of inner multiparts end with the line of an outer one
        frame = self.frames[n]
        self._out(line)
        if mo.group("end"):
            if frame.preamble:  # a closing boundary first: the parser keeps the text as the body
                self.state = _PASS
                return
            self.frames.pop()
            self.state = _TEXT  # the epilogue
        else:
            frame.preamble = False
            self.default_type = "message/rfc822" if frame.digest else "text/plain"
            self.state = _SKIP

    def _end_leaf(self) -> None:
        held, size = self.held, self.held_size
        self.held, self.held_size = [], 0
        self.state = _TEXT  # until the boundary line just read is handled
        if size < RAW_BODY_BYTES:
            for piece in held:
                self._out(piece)
            return
        eol = _ending(held)
        token = f"mdesk-raw-body:{self.nonce}:{len(self.kept)}"
        self.kept.append(_Kept(token, RawBody(held), eol))
        self._out(token.encode("ascii") + eol)

    # ---- after the parse -----------------------------------------------------------------------

    def _attach(self, msg: Message) -> None:
        if not self.kept:
            return
        by_token = {kept.token: kept for kept in self.kept}
        found = 0
        prefix = f"mdesk-raw-body:{self.nonce}:"
        for part in msg.walk():
            payload = getattr(part, "_payload", None)  # as parsed: get_payload() would decode 8-bit text
            if not isinstance(payload, str) or not payload.startswith(prefix):
                continue
            token = payload.rstrip("\r\n")
            kept = by_token.get(token)
            if kept is None:
                raise NotAsFed("a token the feeder never wrote")
            if payload == token:
                _raw_bodies[part] = kept.body._trimmed(len(kept.eol))
            elif payload == token + kept.eol.decode("ascii"):
                _raw_bodies[part] = kept.body
            else:
                raise NotAsFed("a token with more than its line end")
            found += 1
        if found != len(self.kept):
            raise NotAsFed(f"{len(self.kept) - found} bodies kept aside are not where they were taken from")


def _candidate(view: memoryview, pos: int) -> int:
    """Where the first line after `pos` that begins "--" (a boundary line, perhaps) begins; -1: none."""
    for found in _DASHES.finditer(view, pos + 1):
        if view[found.start() - 1] in (10, 13):
            return found.start()
    return -1


def _line_end(view: memoryview, start: int) -> int | None:
    """The index after the line end of the line at `start`; None when it is not in `view` (a CR at the
    very end may be half of a CRLF)."""
    found = _LINE_END_CHAR.search(view, start)
    if found is None:
        return None
    at = found.start()
    if view[at] == 13:
        if at + 1 == len(view):
            return None
        return at + 2 if view[at + 1] == 10 else at + 1
    return at + 1


def _ending(pieces: list[memoryview]) -> bytes:
    """The line end the held body ends with ("" when none)."""
    tail = b""
    for piece in reversed(pieces):
        tail = bytes(piece[-2:]) + tail
        if len(tail) >= 2:
            break
    if tail.endswith(b"\r\n"):
        return b"\r\n"
    if tail.endswith((b"\n", b"\r")):
        return tail[-1:]
    return b""
