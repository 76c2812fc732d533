"""Raw bytes made parseable: the repairs that keep the stdlib parser from losing the headers, the MIME
tree built (compat32; the package docstring says why), and the parser's defects named for a coordinator."""

from __future__ import annotations

import email
import email.parser
import email.policy
import re
from email.message import Message

from inbox.parse.feed import RAW_BODY_BYTES, Feeder

MAX_JUNK_LINES = 3  # lines of junk tolerated before the headers (e.g. "---- Original email message ----")


# A header field line: a name of printable ASCII without ":" (RFC 5322 ftext), then a colon. Obsolete
# syntax (RFC 5322 4.5) allows white space before the colon, which the stdlib parser rejects.
_FIELD_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:")
_SPACE_BEFORE_COLON = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:")
# Any line of the header block that is neither a field, a continuation, nor empty.
_BAD_HEADER_LINE = re.compile(rb"^(?![ \t]|[\x21-\x39\x3b-\x7e]+:|\r?$)", re.MULTILINE)
_BARE_CR = re.compile(rb"\r(?!\n)")
_BLANK_LINE = re.compile(rb"\n\r?\n")
# Names that are certainly header fields: a broken line above one of these is a lost continuation.
_KNOWN_FIELD = re.compile(
    rb"^(?:x-[\x21-\x39\x3b-\x7e]*|content-[a-z-]+|list-[a-z-]+|arc-[a-z-]+|dkim-signature|received"
    rb"|return-path|delivered-to|from|to|cc|bcc|subject|date|message-id|in-reply-to|references|reply-to"
    rb"|sender|mime-version|thread-topic|thread-index|importance|priority|precedence|auto-submitted"
    rb"|authentication-results|received-spf|user-agent|organization|accept-language|content-language)"
    rb"[ \t]*:",
    re.IGNORECASE,
)


def repair_raw(raw: bytes, problems: list[str]) -> bytes:
    """Fix what makes the stdlib parser lose the headers: bare-CR line ends, junk before the headers,
    continuation lines without indentation, spaces before the colon. Only the header block is touched,
    and only when a cheap scan finds something wrong."""
    data = raw
    if has_bare_cr_line_ends(data):
        data = _BARE_CR.sub(b"\n", data)
        problems.append(BARE_CR_PROBLEM)
    return repair_header_block(data, problems)


BARE_CR_PROBLEM = "bare CR line endings; read as line breaks"
CR_SCAN_BYTES = 4096  # line ends are judged by the first line end within this many bytes


def has_bare_cr_line_ends(data: bytes) -> bool:
    """Whether the first line end (within CR_SCAN_BYTES) is a CR alone: then every bare CR is a line
    break. Looks at `data[: CR_SCAN_BYTES + 1]` only."""
    first_cr, first_lf = data.find(b"\r", 0, CR_SCAN_BYTES), data.find(b"\n", 0, CR_SCAN_BYTES)
    return first_cr != -1 and (first_lf == -1 or first_cr < first_lf) and data[first_cr + 1 : first_cr + 2] != b"\n"


def bare_crs_fixed(data: bytes) -> bytes:
    """Every CR not followed by LF made a LF (a CR at the very end too: give a trailing CR to the
    next piece of a stream rather than here)."""
    return _BARE_CR.sub(b"\n", data)


def header_block_end(data: bytes | bytearray, start: int = 0) -> int | None:
    """Where the first empty line (`\n\r?\n`) found at or after `start` begins, if there is one."""
    blank = _BLANK_LINE.search(data, start)
    return blank.start() if blank else None


def repair_header_block(data: bytes, problems: list[str]) -> bytes:
    """The header block of `data` rebuilt when a line of it is broken (junk, unindented continuations,
    space before a colon); the rest as it is. `data` may be a prefix of the message as long as it
    holds the first empty line (or is the whole message)."""
    blank = _BLANK_LINE.search(data)
    header_end = blank.start() + 1 if blank else len(data)
    block = data[:header_end]
    start = 0
    if block.startswith(b"From "):  # mbox envelope line; the stdlib parser keeps it as unixfrom
        start = block.find(b"\n") + 1 or len(block)
    if not _BAD_HEADER_LINE.search(block, start):
        return data
    return _rebuild_header_block(block, start, problems) + data[header_end:]


def _rebuild_header_block(block: bytes, start: int, problems: list[str]) -> bytes:
    lines = block[start:].split(b"\n")
    out: list[bytes] = []
    i = _skip_leading_junk(lines, problems)
    last_known = max((n for n, line in enumerate(lines) if _KNOWN_FIELD.match(line)), default=-1)
    folded = False
    for n in range(i, len(lines)):
        line = lines[n]
        if not line.strip(b"\r") or line[:1] in (b" ", b"\t"):
            out.append(line)
        elif _FIELD_LINE.match(line):
            if _SPACE_BEFORE_COLON.match(line):
                line = _SPACE_BEFORE_COLON.sub(rb"\1:", line, count=1)
                problems.append("white space before a header colon (obsolete syntax)")
            out.append(line)
        elif n < last_known and out:
            # A header folded without indentation (zammad mail054): a real field follows further down,
            # so this line cannot be the start of the body.
            out.append(b" " + line)
            folded = True
        else:
            out.extend(lines[n:])  # the body starts here without a blank line, as the parser expects
            break
    if folded:
        problems.append("header continuation line without indentation; joined to the header above")
    return block[:start] + b"\n".join(out)


def _skip_leading_junk(lines: list[bytes], problems: list[str]) -> int:
    """Lines before the first header field that are not fields themselves ("---- Original email
    message ----" in zammad mail068) are dropped when real fields follow right after them."""
    i = 0
    while i < min(len(lines), MAX_JUNK_LINES) and not _FIELD_LINE.match(lines[i]):
        if not lines[i].strip(b"\r") or lines[i][:1] in (b" ", b"\t"):
            return 0
        i += 1
    if i == 0 or i >= len(lines) or not _KNOWN_FIELD.match(lines[i]):
        return 0
    problems.append(f"{i} junk line(s) before the headers ignored")
    return i


# Bytes fed to the parser at a time. email.message_from_bytes decodes the whole message to one str and
# wraps it in a StringIO, whose buffer holds 4 bytes a character: 5x the message before a line is parsed
# (issue 8.5 measured 7x in all). Fed in chunks, the parser holds a chunk's text at a time; its own
# Parser.parse feeds 8,192 characters at a time too, so the tree is the same.
FEED_BYTES = 64 * 1024


def _parse_in_chunks(data: bytes) -> Message:
    """The tree, large bodies kept aside as views of `data` (inbox/parse/feed.py); should the parser's
    tree not hold them where they were taken from, or the feeder fail, the bytes are parsed again as
    they are."""
    if len(data) >= RAW_BODY_BYTES:  # else no body is large enough to keep aside
        feeder = Feeder(email.parser.BytesFeedParser(policy=email.policy.compat32))
        try:
            return feeder.feed_all(data)
        except MemoryError:
            raise  # the worker's bound: parsing again would only fail again
        except Exception:
            if feeder.parser_failed:
                raise  # the parser's own failure (RecursionError...): parse_tree's fallbacks meet it
            # NotAsFed, or a fault of the feeder's: the bytes are parsed as they are
    parser = email.parser.BytesFeedParser(policy=email.policy.compat32)
    view = memoryview(data)
    for start in range(0, len(data), FEED_BYTES):
        parser.feed(bytes(view[start : start + FEED_BYTES]))
    return parser.close()


def parse_tree(data: bytes, problems: list[str]) -> tuple[Message, bool]:
    """The MIME tree, and whether it had to be flattened (headers parsed, body one block of text)."""
    try:
        return _parse_in_chunks(data), False
    except RecursionError:
        # The stdlib parser recurses once per nested part; a few hundred nested message/rfc822 parts
        # exhaust the stack. The headers still parse, and the body is kept as plain text.
        problems.append("MIME parts nested too deeply to parse; body kept as plain text")
    except (LookupError, ValueError):
        # The parser decodes an RFC 2231 boundary ("boundary*=undefined''XX") with the codec it names;
        # a codec that always fails raises UnicodeError, one that is not a text codec LookupError.
        problems.append("MIME structure unreadable (a boundary in an unusable charset); body kept as plain text")
    parser = email.parser.BytesParser(policy=email.policy.compat32)
    return parser.parsebytes(data, headersonly=True), True


def defect_problems(parts: list[Message]) -> list[str]:
    names = {
        "NoBoundaryInMultipartDefect": "multipart without boundary",
        "StartBoundaryNotFoundDefect": "multipart boundary never found in the body",
        "CloseBoundaryNotFoundDefect": "multipart without closing boundary",
        "FirstHeaderLineIsContinuationDefect": "first header line is a continuation line",
        "MisplacedEnvelopeHeaderDefect": "mbox 'From ' line inside the headers",
        "MissingHeaderBodySeparatorDefect": "no blank line between headers and body",
        "MultipartInvariantViolationDefect": "multipart content type without parts",
        "InvalidMultipartContentTransferEncodingDefect": "multipart with a content transfer encoding",
        "InvalidBase64PaddingDefect": "base64 body with bad padding",
        "InvalidBase64CharactersDefect": "base64 body with invalid characters",
        "InvalidBase64LengthDefect": "base64 body with invalid length",
    }
    found: list[str] = []
    for part in parts:
        for defect in getattr(part, "defects", []) or []:
            text = names.get(type(defect).__name__, f"MIME defect: {type(defect).__name__}")
            if text not in found:
                found.append(text)
    return found


_LINE_END = re.compile(rb"\r\n|\r|\n")


def has_header_block(raw: bytes) -> bool:
    """Whether `raw` starts as an email message does: a header field on its first line (after an mbox
    "From " line, or the few junk lines parse_message skips too) and, before the first empty line, a
    field mail carries (From, To, Date, Subject, Message-ID, Received, Content-Type, X-...).

    Conservative on purpose: a text file whose first line happens to read "Note: ..." is not mail.
    parse_message reads anything; this is for callers that must tell a person "that is not an email".
    """
    lines = _LINE_END.split(raw[: 64 * 1024])
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    block = []
    for line in lines:
        if not line:
            break
        block.append(line)
    first = _skip_leading_junk(block, [])
    if first >= len(block) or not _FIELD_LINE.match(block[first]):
        return False
    return any(_KNOWN_FIELD.match(line) for line in block[first:])
