"""Any bytes in, one ParsedMessage out: MIME parsed once, headers decoded, the readable body chosen,
replies, signatures and forwards separated, attachments listed. Never raises.

Why compat32 and our own header decoding. Measured on ../shared (374 corpus files + 20 referral samples,
5.5 MB), best of 8 interleaved rounds on a 2-core container:
    message_from_bytes(raw, policy=policy.default)                      ~940 msg/s
    the same, then From/To/Cc/Subject/Date/Message-ID and get_body()    ~400 msg/s
    message_from_bytes(raw, policy=policy.compat32)                   ~3,850 msg/s
    parse_message (compat32 tree, every header decoded, body chosen,
    HTML made text, replies split, attachments hashed)                ~1,480 msg/s  (1.57x the first line)
policy.default builds a structured header object for every header it is asked for, and raises or gives
up on exactly the broken headers this mailbox gets (unknown charsets, bad encoded words, raw 8-bit
bytes). So the tree is built with compat32 and the headers are decoded here, tolerantly, each failure
written down in `problems`.

Problems are plain English for a coordinator looking at the quarantine list: what was wrong and what we
did about it ("charset 'x-unknown' unknown; decoded as windows-1252").
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.parser
import email.policy
import hashlib
import io
import quopri
import re
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.generator import BytesGenerator, Generator
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from inbox.html_text import html_to_text
from inbox.mailtext import EMAIL_IN_HEADER
from inbox.message import Address, Attachment, ForwardedPart, ParsedMessage
from inbox.reply_split import split_reply

# Guards that keep the time per message bounded whatever arrives.
MAX_ADDRESS_HEADER = 32 * 1024  # address parsing is the slowest header work; a longer To is truncated
MAX_MIME_DEPTH = 40  # deeper nesting is only ever an attack or a loop of forwards
MAX_PARTS = 2_000
MAX_TEXT_CHARS = 2_000_000  # body text kept and analysed per part
MAX_JUNK_LINES = 3  # lines of junk tolerated before the headers (e.g. "---- Original email message ----")

# --- raw bytes repair ---------------------------------------------------------------------------------

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


def _repair_raw(raw: bytes, problems: list[str]) -> bytes:
    """Fix what makes the stdlib parser lose the headers: bare-CR line ends, junk before the headers,
    continuation lines without indentation, spaces before the colon. Only the header block is touched,
    and only when a cheap scan finds something wrong."""
    data = raw
    first_cr, first_lf = data.find(b"\r", 0, 4096), data.find(b"\n", 0, 4096)
    if first_cr != -1 and (first_lf == -1 or first_cr < first_lf) and data[first_cr + 1 : first_cr + 2] != b"\n":
        data = _BARE_CR.sub(b"\n", data)
        problems.append("bare CR line endings; read as line breaks")
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


# --- charsets -----------------------------------------------------------------------------------------

# Labels seen in real mail that Python does not know, or knows as a narrower charset than the sender
# meant. Following the WHATWG Encoding Standard, ISO-8859-1 and ASCII labels are read as windows-1252
# and the GB and Korean labels as their supersets, because that is what mail clients actually send.
_CHARSET_ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "unicode-2-0-utf-7": "utf-7",
    "x-unicode20utf7": "utf-7",
    "utf7": "utf-7",
    "cp-1252": "cp1252",
    "windows1252": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "big5": "big5hkscs",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
}
# Labels that mean "no real charset": read as UTF-8 when the bytes allow, else windows-1252. The
# ASCII ones are honest (8-bit bytes under them are a sender's slip); the others are reported.
_ASCII_LABELS = {"", "us-ascii", "ascii", "us_ascii", "ansi_x3.4-1968", "7bit"}
_NO_CHARSET = _ASCII_LABELS | {
    "x-unknown",
    "unknown",
    "unknown-8bit",
    "x-user-defined",
    "none",
    "default",
    "8bit",
    "charset",
}
# Python codecs that are not text charsets a mail could mean (they transform or execute escapes).
_NOT_MAIL_CODECS = {
    "unicode_escape",
    "raw_unicode_escape",
    "idna",
    "punycode",
    "undefined",
    "mbcs",
    "oem",
    "palmos",
    "rot_13",
    "uu_codec",
    "base64_codec",
    "hex_codec",
    "zlib_codec",
    "bz2_codec",
    "quopri_codec",
}
# Charsets in which ASCII bytes need not mean ASCII text (7-bit stateful encodings, and UTF-16/32
# whose NUL-padded bytes can all be ASCII).
_SEVEN_BIT_CODECS = {
    "utf-7",
    "iso2022_jp",
    "iso2022_jp_1",
    "iso2022_jp_2",
    "iso2022_jp_2004",
    "iso2022_jp_3",
    "iso2022_jp_ext",
    "iso2022_kr",
    "hz",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "utf-32-le",
    "utf-32-be",
}
_codec_cache: dict[str, str | None] = {}
# When the declared charset fails, the bytes are most often in its regional sibling (Japanese mailers
# label Shift_JIS as ISO-2022-JP: zammad mail093).
_SIBLINGS = {
    "iso2022_jp_ext": ("cp932", "euc_jp"),
    "iso2022_jp": ("cp932", "euc_jp"),
    "cp932": ("euc_jp",),
    "euc_jp": ("cp932",),
    "gb18030": ("big5hkscs",),
    "big5hkscs": ("gb18030",),
}


def codec_for(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, or None when the label names no usable charset."""
    key = (label or "").strip().strip("\"'").lower()
    if len(key) > 64:  # no charset name is this long; do not cache what an attacker sends
        return None
    if key in _codec_cache:
        return _codec_cache[key]
    name: str | None
    if key in _NO_CHARSET:
        name = None
    else:
        name = _CHARSET_ALIASES.get(key) or _CHARSET_ALIASES.get(key.replace("_", "-"))
        if name is None:
            try:
                info = codecs.lookup(key)
                name = info.name if info._is_text_encoding and info.name not in _NOT_MAIL_CODECS else None
            except (LookupError, ValueError, TypeError):
                name = None
    if len(_codec_cache) < 512:
        _codec_cache[key] = name
    return name


def decode_bytes(data: bytes, label: str | None, problems: list[str], what: str) -> str:
    """Text from bytes in a declared charset, falling back rather than failing (RFC 2046 4.1.2 says an
    unknown charset must not stop the reader from seeing the text)."""
    codec = codec_for(label)
    if data.isascii() and (codec is None or codec not in _SEVEN_BIT_CODECS):
        return data.decode("ascii")
    clean_label = (label or "").strip().strip("\"'")
    if codec is None:
        if clean_label.lower() not in _ASCII_LABELS:
            fallback, text = _guess_decode(data)
            problems.append(f"{what}: charset '{clean_label[:40]}' unknown; decoded as {fallback}")
            return text
        fallback, text = _guess_decode(data)
        if fallback != "utf-8":
            problems.append(f"{what}: 8-bit text without a charset; decoded as {fallback}")
        return text
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError, ValueError):
        pass
    for sibling in ("utf-8", *_SIBLINGS.get(codec, ())):
        if sibling == codec:
            continue
        try:
            text = data.decode(sibling)
        except UnicodeDecodeError:
            continue
        problems.append(f"{what}: not valid {clean_label[:40]}; decoded as {sibling}")
        return text
    problems.append(f"{what}: not valid {clean_label[:40]}; undecodable bytes replaced")
    try:
        return data.decode(codec, errors="replace")
    except (UnicodeError, LookupError, ValueError):
        return data.decode("cp1252", errors="replace")


def _guess_decode(data: bytes) -> tuple[str, str]:
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        return "windows-1252", data.decode("cp1252", errors="replace")


# --- header values ------------------------------------------------------------------------------------

# RFC 2047 encoded word. The encoded text may not contain "?", which keeps every match bounded by the
# next "?" (linear time even on a 200 KB header); spaces are allowed because Exchange folds inside words
# (zammad mail018). An RFC 2231 language suffix ("utf-8*en") is accepted and ignored.
_ENCODED_WORD = re.compile(r"=\?([^?\s*]{1,64})(?:\*[^?\s]{0,32})?\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n|\r")
_SURROGATES = re.compile("[\udc80-\udcff]")


def unfold(value: str) -> str:
    """RFC 5322 2.2.3: unfolding removes the line breaks and keeps the white space after them."""
    if "\n" in value or "\r" in value:
        value = _FOLD.sub("", value)
    return value.strip()


_MULTIBYTE_PREFIXES = ("gb", "big5", "cp949", "cp950", "cp936", "euc", "cp932", "shift", "iso2022", "johab", "hz")


class Charsets:
    """The charsets a message declares, worked out only when a header holds raw 8-bit bytes (rare) and
    ordered for guessing: multi-byte charsets first, because decoding random bytes with them fails
    loudly, while a single-byte charset "succeeds" on anything."""

    def __init__(self, parts: list[Message]) -> None:
        self._parts = parts
        self._codecs: list[tuple[str, str]] | None = None

    def codecs(self) -> list[tuple[str, str]]:
        if self._codecs is None:
            seen: dict[str, str] = {}
            for part in self._parts[:50]:
                label = _charset_of(part)
                codec = codec_for(label)
                if label and codec and codec != "utf-8":
                    for candidate in (codec, *_SIBLINGS.get(codec, ())):
                        seen.setdefault(candidate, label if candidate == codec else candidate)
            self._codecs = sorted(seen.items(), key=lambda item: not item[0].startswith(_MULTIBYTE_PREFIXES))
        return self._codecs


_NO_CHARSETS = Charsets([])


def _from_8bit(value: str, charsets: Charsets, problems: list[str], name: str) -> str:
    """Header text as the parser left it (raw 8-bit bytes as surrogate escapes) made real text: RFC 6532
    UTF-8 first, then the charsets the message declares, then windows-1252."""
    if value.isascii() or not _SURROGATES.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for codec, label in charsets.codecs():
        try:
            text = data.decode(codec)
        except (UnicodeError, LookupError, ValueError):
            continue
        problems.append(f"header {name} has raw 8-bit bytes; decoded as {label}")
        return text
    problems.append(f"header {name} has raw 8-bit bytes; decoded as windows-1252")
    return data.decode("cp1252", errors="replace")


def decode_words(value: str, problems: list[str], name: str) -> str:
    """Decode RFC 2047 encoded words anywhere in `value` (also inside quotes, as mail clients do).
    White space between adjacent encoded words is dropped (RFC 2047 6.2), and adjacent words in one
    charset are joined as bytes first, so a multi-byte character split across two words survives."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []  # (charset, bytes) of the current run of encoded words
    last = 0
    broken = False
    for match in _ENCODED_WORD.finditer(value):
        gap = value[last : match.start()]
        if gap and not (pending and gap.isspace()):
            _flush_words(pending, out, problems, name)
            out.append(gap)
        charset, encoding, text = match.groups()
        data = _decode_word_text(encoding, text)
        if data is None:
            _flush_words(pending, out, problems, name)
            out.append(match.group())
            broken = True
        else:
            pending.append((charset, data))
        last = match.end()
    _flush_words(pending, out, problems, name)
    out.append(value[last:])
    if broken:
        problems.append(f"header {name} is not valid RFC 2047")
    return "".join(out)


_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def _decode_word_text(encoding: str, text: str) -> bytes | None:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        return None
    try:
        if encoding in "bB":
            raw = re.sub(rb"\s+", b"", raw).rstrip(b"=")
            if _NOT_BASE64.search(raw):
                return None
            return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))  # Postel: senders drop the padding
        return binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        return None


def _flush_words(pending: list[tuple[str, bytes]], out: list[str], problems: list[str], name: str) -> None:
    """Decode the collected run of encoded words (charset trouble is noted by decode_bytes)."""
    while pending:
        charset = pending[0][0]
        data = b""
        while pending and pending[0][0].lower() == charset.lower():
            data += pending.pop(0)[1]
        out.append(decode_bytes(data, charset, problems, f"header {name}"))


def decode_header_text(value: str, charsets: Charsets, problems: list[str], name: str) -> str:
    """A raw header value (compat32: folded, 8-bit bytes as surrogates) as readable text."""
    return decode_words(unfold(_from_8bit(value, charsets, problems, name)), problems, name)


# --- addresses ----------------------------------------------------------------------------------------

_PLAUSIBLE_ADDR = re.compile(r'^(?:"[^"]*"|[^@\s"]+)@[^@\s]+$|^[^@\s]+$')
_ASCII_SPACES = re.compile(r"[ \t]+")
_COMMA_GUARD = "\ue010"  # a comma inside an encoded word must not split the address list
# `Name <a@b>`, `"Name" <a@b>` or `a@b` alone, with no character that would need the full RFC 5322 grammar.
_SIMPLE_ADDRESS = re.compile(
    r'^\s*(?:"?([^"<>,;:()\\@\[\]]*?)"?\s*<([^<>\s",;:()\\@\[\]]+@[^<>\s",;:()\\@\[\]]+)>'
    r'|([^<>\s",;:()\\@\[\]]+@[^<>\s",;:()\\@\[\]]+))\s*$'
)


def parse_addresses(value: str, charsets: Charsets, problems: list[str], name: str) -> list[Address]:
    text = unfold(_from_8bit(value, charsets, problems, name))
    if len(text) > MAX_ADDRESS_HEADER:
        problems.append(f"header {name} longer than {MAX_ADDRESS_HEADER // 1024} KB; only the start was read")
        text = text[:MAX_ADDRESS_HEADER]
    simple = _SIMPLE_ADDRESS.match(text)
    if simple:  # most From/To values: one plain address, no need for the (slow) full grammar
        display, addr = simple.group(1) or "", simple.group(2) or simple.group(3)
        display = _ASCII_SPACES.sub(" ", display.strip())  # as getaddresses joins the words of a name
        return [Address(name=decode_words(display, problems, name).strip(), email=addr.lower())]
    if "=?" in text:
        text = _ENCODED_WORD.sub(lambda m: m.group().replace(",", _COMMA_GUARD), text)
    try:
        pairs = getaddresses([text])
    except (RecursionError, ValueError, TypeError, IndexError):  # nested comments "((((" recurse
        problems.append(f"header {name} is not a valid address list; addresses picked out of the text")
        return [Address(name="", email=found.lower()) for found in EMAIL_IN_HEADER.findall(text)]
    if any(addr and not _PLAUSIBLE_ADDR.match(addr) and "@" in addr and " " not in addr for _, addr in pairs):
        # getaddresses gave up ("bob@x.com bill@y.com" -> "@y.com"): take the addresses we can see.
        problems.append(f"header {name} is not a valid address list; addresses picked out of the text")
        return [Address(name="", email=found.lower()) for found in EMAIL_IN_HEADER.findall(text)]
    result = []
    for display, addr in pairs:
        display = _without_comment(display, text)
        display = decode_words(display.replace(_COMMA_GUARD, ","), problems, name).strip()
        addr = addr.replace(_COMMA_GUARD, ",").strip()
        if " " in addr and not addr.startswith('"'):
            # "Test test@example.com" without angle brackets: the last word is the address.
            head, _, addr = addr.rpartition(" ")
            display = display or head.strip()
        if display or addr:
            result.append(Address(name=display, email=addr.lower()))
    return result


_QUOTED_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _without_comment(display: str, header: str) -> str:
    """getaddresses folds a trailing comment into the name: "MAILER-DAEMON (Mail Delivery System)
    <postmaster@x>" names MAILER-DAEMON; the comment is not part of the phrase (RFC 5322 3.4). A
    parenthesis inside a quoted name ("Jo Bloggs (SENCO)") stays."""
    if not display.endswith(")") or "(" not in display:
        return display
    cut = display.rfind("(")
    phrase = display[:cut].strip()
    if phrase and display[cut:] in _QUOTED_STRING.sub("", header):
        return phrase
    return display


def _first_sender(addresses: list[Address]) -> Address | None:
    """The From address to answer: the first with a domain, else the first with any address (a bare
    "MAILER-DAEMON"), else the first name (zammad mail017 has a junk From before the real one)."""
    for address in addresses:
        if "@" in address.email:
            return address
    for address in addresses:
        if address.email:
            return address
    return addresses[0] if addresses else None


def _sender(msg: Message, headers: _Headers, charsets: Charsets, problems: list[str]) -> Address | None:
    """From; when it gives no address (spam and some gateways omit it or send `From: "name" <>`), the
    address replies would go to: Reply-To, then Sender, then the mbox envelope line. A display name
    from From is kept."""
    sender = _first_sender(_addresses_of(headers, "from", charsets, problems))
    if sender is not None and sender.email:
        return sender
    problems.append("From header has no usable address" if "from" in headers.raw else "no From header")
    name = sender.name if sender else ""
    for field_name in ("reply-to", "sender"):
        other = _first_sender(_addresses_of(headers, field_name, charsets, problems))
        if other is not None and "@" in other.email:
            problems.append(f"sender taken from {field_name.title()}")
            return Address(name=name or other.name, email=other.email)
    envelope = (msg.get_unixfrom() or "").split()
    if len(envelope) > 1 and "@" in envelope[1]:
        problems.append("sender taken from the mbox envelope line")
        return Address(name=name, email=envelope[1].strip("<>").lower())
    return sender


_MSG_ID = re.compile(r"<([^<>\s]+)>")
# What no header may carry (NUL, other C0 and C1 controls, DEL), nor an ID (CR, LF, spaces): an ID
# keeping them would reach our own In-Reply-To, or make PostgreSQL refuse the row (NUL) every time.
# Controls go before the IDs are picked out (a stray one would hide an ID); the separators after.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NOT_IN_AN_ID = re.compile(r"[\x00-\x20\x7f-\x9f]")


def message_ids(value: str) -> list[str]:
    """Message-IDs from In-Reply-To/References, without angle brackets; tolerant of bare ids."""
    value = _CONTROLS.sub("", value)
    found = _MSG_ID.findall(value) or [token.strip("<>,;") for token in value.split() if "@" in token]
    return [cleaned for cleaned in (_NOT_IN_AN_ID.sub("", found_id) for found_id in found) if cleaned]


def _single_message_id(value: str) -> str | None:
    ids = message_ids(value)
    if ids:
        return ids[0]
    value = _CONTROLS.sub("", value).strip().strip("<>").strip()
    return (_NOT_IN_AN_ID.sub("", value.split()[0]) or None) if value else None


def _return_path(value: str | None) -> str | None:
    if value is None:
        return None
    inner = value.strip()
    match = re.search(r"<([^<>]*)>", inner)
    if match:
        inner = match.group(1)
    return inner.strip().lower()


def _parse_date(value: str | None, problems: list[str]) -> datetime | None:
    if value is None:
        problems.append("no Date header")
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:  # the stdlib raises ValueError, TypeError or IndexError depending on the damage
        parsed = _numeric_date(value)
        if parsed is None:
            problems.append(f"Date header {value[:60]!r} unparseable")
            return None
        problems.append(f"Date header {value[:60]!r} is not RFC 5322; read as day/month/year")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # RFC 5322 "-0000": time is UTC, zone unknown
    return parsed


# Web-form mailers write "06/10/2025 21:17"; this service is in England, so numeric dates are day first.
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")


def _numeric_date(value: str) -> datetime | None:
    match = _NUMERIC_DATE.match(value)
    if match is None:
        return None
    day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


# --- the tree -----------------------------------------------------------------------------------------


def _raw_get(part: Message, name: str) -> str | None:
    """A header's value as parsed. raw_items() never gives compat32's Header objects (made when a value
    holds 8-bit bytes), so one decoding path handles every header."""
    name = name.lower()
    for key, value in part.raw_items():
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return None


# get_content_type() re-parses the header on every call, and the body choice asks often (13,000 calls
# on the corpus, 5% of all parse time): remember the answer per part object.
_content_types: weakref.WeakKeyDictionary[Message, str] = weakref.WeakKeyDictionary()


def content_type(part: Message) -> str:
    """The part's MIME type, lower case; worked out once per part object (classify asks again)."""
    known = _content_types.get(part)
    if known is not None:
        return known
    try:
        ctype = part.get_content_type()
    except Exception:
        ctype = "application/octet-stream"
    _content_types[part] = ctype
    return ctype


def _charset_of(part: Message) -> str | None:
    try:
        charset = part.get_param("charset")
    except Exception:
        return None
    if isinstance(charset, tuple):  # RFC 2231 form
        charset = charset[2]
    return str(charset) if charset else None


def _disposition(part: Message) -> str:
    value = _raw_get(part, "content-disposition") or ""
    return value.split(";", 1)[0].strip().lower()


def _is_attachment(part: Message) -> bool:
    return _disposition(part) == "attachment"


_KNOWN_CTE = {"", "7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue", "uue"}


def _payload_bytes(part: Message, problems: list[str]) -> bytes:
    """The decoded body of a leaf part. A Content-Transfer-Encoding with stray spaces or semicolons
    ("quoted-printable ", "base64;") is cleaned first: the stdlib would leave such a body encoded."""
    raw_cte = _raw_get(part, "content-transfer-encoding") or ""
    cte = raw_cte.strip().strip(";").strip().lower()
    try:
        if cte != raw_cte.lower() and cte in ("base64", "quoted-printable"):
            payload = part.get_payload(decode=False)
            data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
            if cte == "base64":
                data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
                return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
            return quopri.decodestring(data)
        if cte not in _KNOWN_CTE:
            problems.append(f"unknown Content-Transfer-Encoding '{cte[:30]}'; body read as is")
        data = part.get_payload(decode=True)
    except Exception:
        problems.append(f"{content_type(part)} part could not be decoded; raw body kept")
        payload = part.get_payload()
        return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    return data if isinstance(data, bytes) else b""


_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([\w.:-]{1,40})", re.IGNORECASE)


def _part_text(part: Message, problems: list[str]) -> str:
    data = _payload_bytes(part, problems)
    if len(data) > MAX_TEXT_CHARS:
        problems.append(f"{content_type(part)} part longer than {MAX_TEXT_CHARS} bytes; the rest ignored")
        data = data[:MAX_TEXT_CHARS]
    charset = _charset_of(part)
    ctype = content_type(part)
    if not charset and ctype == "text/html" and not data.isascii():
        meta = _META_CHARSET.search(data, 0, 4096)
        charset = meta.group(1).decode("ascii") if meta else None
    text = decode_bytes(data, charset, problems, f"{ctype} part")
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(slots=True)
class _Body:
    leaves: list[Message] = field(default_factory=list)  # text/plain or text/html parts, in order
    html: Message | None = None  # the HTML alternative of the body, even when plain text was chosen
    # Every part that is a rendering of the body (alternatives not chosen included): not attachments.
    renderings: list[Message] = field(default_factory=list)


class _Reader:
    """One message tree read once: text decoded per part is cached, problems are collected."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self._texts: dict[int, str] = {}

    def text_of(self, part: Message) -> str:
        key = id(part)
        if key not in self._texts:
            self._texts[key] = _part_text(part, self.problems)
        return self._texts[key]

    def readable(self, part: Message) -> str:
        text = self.text_of(part)
        if content_type(part) == "text/html":
            try:
                return html_to_text(text)
            except Exception:
                self.problems.append("HTML part could not be read; shown as source")
                return text
        return text

    # Body choice ------------------------------------------------------------------------------

    def body(self, part: Message, depth: int = 0) -> _Body:
        if depth > MAX_MIME_DEPTH:
            return _Body()
        ctype = content_type(part)
        maintype, _, subtype = ctype.partition("/")
        if maintype == "message":
            return _Body()  # forwarded or report data, never the body of this message
        if maintype == "multipart":
            children = part.get_payload()
            if not isinstance(children, list):
                # "multipart" without a boundary (or with no parts): its text is all there is.
                return _Body([part]) if isinstance(children, str) and children.strip() else _Body()
            return self._multipart_body(subtype, part, children, depth)
        if ctype in ("text/plain", "text/html") and not _is_attachment(part):
            return _Body([part], part if ctype == "text/html" else None)
        return _Body()

    def _multipart_body(self, subtype: str, part: Message, children: list, depth: int) -> _Body:
        children = [c for c in children if isinstance(c, Message)]
        if not children or subtype == "encrypted":
            return _Body()
        if subtype == "alternative":
            return self._alternative_body(children, depth)
        if subtype == "related":
            return self.body(_related_root(part, children), depth + 1)
        if subtype in ("signed", "report"):
            return self.body(children[0], depth + 1)
        return self._mixed_body(children, depth)

    def _alternative_body(self, children: list[Message], depth: int) -> _Body:
        choices = [self.body(child, depth + 1) for child in children]
        html = next((c.html for c in reversed(choices) if c.html is not None), None)
        renderings = [p for c in choices for p in (*c.leaves, *c.renderings)]
        readable = [c for c in choices if any(self.text_of(p).strip() for p in c.leaves)]
        for choice in readable:  # RFC 2046 orders alternatives plainest first: take plain unless empty
            if all(content_type(p) == "text/plain" for p in choice.leaves):
                return _Body(choice.leaves, html, renderings)
        if readable:  # else the richest alternative that has something in it
            return _Body(readable[-1].leaves, html or readable[-1].html, renderings)
        chosen = next((c for c in choices if c.leaves), _Body([], html))
        return _Body(chosen.leaves, chosen.html or html, renderings)

    def _mixed_body(self, children: list[Message], depth: int) -> _Body:
        """The first readable child is the body; later inline text parts without a file name are body
        too (Apple Mail splits text around an inline image into several text/plain parts)."""
        body = _Body()
        for child in children:
            if _is_attachment(child):
                continue
            if body.leaves:
                if content_type(child) in ("text/plain", "text/html") and not _filename(child):
                    body.leaves.append(child)
                    body.renderings.append(child)
                continue
            found = self.body(child, depth + 1)
            if found.leaves:
                body = found
        return body


def _related_root(part: Message, children: list[Message]) -> Message:
    """RFC 2387: the part named by the "start" parameter, else the first."""
    try:
        start = part.get_param("start")
    except Exception:
        start = None
    if isinstance(start, str) and start:
        wanted = start.strip().strip("<>")
        for child in children:
            if (_raw_get(child, "content-id") or "").strip().strip("<>") == wanted:
                return child
    return children[0]


def _with_readable_params(part: Message) -> Message:
    """compat32 turns a Content-Disposition holding raw 8-bit bytes into a Header object and then
    replaces those bytes with U+FFFD when asked for a parameter; a copy of the two headers made real
    text first keeps "Hofjägeralle.jpg" (zammad mail057)."""
    fixed = None
    for name in ("content-disposition", "content-type"):
        value = _raw_get(part, name)
        if value is not None and _SURROGATES.search(value):
            if fixed is None:
                fixed = Message()
                for other in ("content-disposition", "content-type"):
                    if _raw_get(part, other) is not None:
                        fixed[other] = _raw_get(part, other)
            del fixed[name]
            fixed[name] = _from_8bit(value, _NO_CHARSETS, [], name)
    return fixed if fixed is not None else part


def _filename(part: Message) -> str | None:
    try:
        name = _with_readable_params(part).get_filename()
    except Exception:
        return None
    if not name:
        return None
    name = str(name)
    if _SURROGATES.search(name):
        data = name.encode("utf-8", "surrogateescape")
        try:
            name = data.decode("utf-8")
        except UnicodeDecodeError:
            name = data.decode("cp1252", errors="replace")
    if "=?" in name:  # RFC 2047 inside a parameter is not standard, but it is what Outlook sends
        name = decode_words(name, [], "filename")
    # Whatever survived as a lone surrogate (undecodable bytes) cannot be stored or shown: replace it.
    name = _SURROGATES.sub("\ufffd", name).strip()
    return name or None


# --- walking the tree ---------------------------------------------------------------------------------

_FORWARDED_TYPES = {"message/rfc822", "message/global", "message/news"}


def _walk(msg: Message, problems: list[str]) -> list[Message]:
    """Every part in the order Message.walk() gives, iteratively (no recursion limit), descending into
    forwarded messages but not into report blocks (delivery-status fields are not MIME parts)."""
    out: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        out.append(part)
        if len(out) >= MAX_PARTS:
            problems.append(f"more than {MAX_PARTS} MIME parts; the rest ignored")
            break
        ctype = content_type(part)
        if not (ctype.startswith("multipart/") or ctype in _FORWARDED_TYPES):
            continue
        children = part.get_payload()
        if not isinstance(children, list):
            continue
        if depth >= MAX_MIME_DEPTH:
            problems.append(f"MIME parts nested deeper than {MAX_MIME_DEPTH}; deeper parts ignored")
            continue
        stack.extend((child, depth + 1) for child in reversed(children) if isinstance(child, Message))
    return out


def _report_bytes(part: Message) -> bytes:
    """The fields of a message/delivery-status (which the parser splits into header blocks) or similar
    report part, as text a bounce classifier can read."""
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    blocks = []
    for block in payload or []:
        if isinstance(block, Message) and block.keys():
            blocks.append("\n".join(f"{k}: {v}" for k, v in block.raw_items()) + "\n")
    return "\n".join(blocks).encode("utf-8", "surrogateescape")


class _VerbatimHeaders(email.policy.Compat32):
    """Write headers back exactly as they came in (compat32 keeps their original folding). The stock
    generator re-folds every header through email.header.Header, which took 17% of all parse time on
    the corpus just to re-serialise forwarded and bounced messages."""

    def fold(self, name: str, value: str) -> str:
        return f"{name}: {value}{self.linesep}"

    def fold_binary(self, name: str, value: str) -> bytes:
        return f"{name}: {value}{self.linesep}".encode("utf-8", "surrogateescape")


_VERBATIM = _VerbatimHeaders(linesep="\n")
_LINE_ENDS = re.compile(r"\r\n|\r|\n")  # email.generator's NLCRE


def _with_line_ends(lines: str, linesep: str) -> str:
    """What email.generator's _write_lines writes, as one string: every line end made `linesep`, and
    nothing added after the last line end. With "\n" and no CR that is the text itself."""
    if linesep == "\n" and "\r" not in lines:
        return lines
    return _LINE_ENDS.sub(linesep, lines)


class _WholeBodyBytesGenerator(BytesGenerator):
    """The stock generator writes a body line by line, two writes per line (most of the time spent
    re-serialising forwarded messages); this writes the same bytes at once."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_with_line_ends(lines, self._NL))


class _WholeBodyGenerator(Generator):
    """The text twin of _WholeBodyBytesGenerator, for parts the bytes generator cannot write."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_with_line_ends(lines, self._NL))


def _message_bytes(part: Message, problems: list[str]) -> bytes:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    try:
        out = io.BytesIO()
        _WholeBodyBytesGenerator(out, mangle_from_=False, policy=_VERBATIM).flatten(inner)
        return out.getvalue()
    except Exception:
        pass
    try:  # a damaged part can hold text the bytes generator cannot write; the text generator can
        text = io.StringIO()
        _WholeBodyGenerator(text, mangle_from_=False, policy=_VERBATIM).flatten(inner)
        return text.getvalue().encode("utf-8", "surrogateescape")
    except Exception:
        problems.append("forwarded message could not be re-serialised; its attachment is empty")
        return b""


def _attachment(part: Message, payload: bytes) -> Attachment:
    ctype = content_type(part)
    cid = _raw_get(part, "content-id")
    cid = (unfold(cid).strip("<>") or None) if cid else None
    filename = _filename(part)
    if filename is None and ctype in _FORWARDED_TYPES:
        inner = part.get_payload()
        subject = _raw_get(inner[0], "subject") if isinstance(inner, list) and inner else None
        if subject:
            text = decode_words(_from_8bit(unfold(subject), _NO_CHARSETS, [], "subject"), [], "subject")
            filename = f"{text[:80]}.eml"
    return Attachment(
        filename=filename,
        content_type=ctype,
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        payload=payload,
        content_id=cid,
        inline=_disposition(part) == "inline",
    )


# --- the message --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Headers:
    raw: dict[str, list[str]]  # lower-cased name -> raw values in order
    decoded: dict[str, str]  # lower-cased name -> decoded first value


def _read_headers(msg: Message, charsets: Charsets, problems: list[str]) -> _Headers:
    raw: dict[str, list[str]] = {}
    decoded: dict[str, str] = {}
    for name, value in msg.raw_items():
        key = name.lower().strip()
        value = value if isinstance(value, str) else str(value)
        if key in raw:
            raw[key].append(value)
            continue
        raw[key] = [value]
        decoded[key] = decode_header_text(value, charsets, problems, name.strip())
    return _Headers(raw, decoded)


def _addresses_of(headers: _Headers, name: str, charsets: Charsets, problems: list[str]) -> list[Address]:
    result: list[Address] = []
    for value in headers.raw.get(name, []):
        result.extend(parse_addresses(value, charsets, problems, name.title()))
    return result


def _defect_problems(parts: list[Message]) -> list[str]:
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


def _forwarded_of(part: Message, reader: _Reader, problems: list[str]) -> tuple[ForwardedPart, _Body] | None:
    """The message inside a message/rfc822 part as a ForwardedPart, with the parts that make its body."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        return None
    children = inner.get_payload()
    children = [c for c in children if isinstance(c, Message)] if isinstance(children, list) else []
    charsets = Charsets([inner, *children])
    sender_raw = _raw_get(inner, "from")
    sender = None
    if sender_raw is not None:
        sender = _first_sender(parse_addresses(sender_raw, charsets, problems, "From (forwarded)"))
    subject = _raw_get(inner, "subject")
    date = _raw_get(inner, "date")
    body = reader.body(inner)
    forwarded = ForwardedPart(
        sender=sender,
        subject=decode_header_text(subject, charsets, problems, "Subject (forwarded)") if subject else "",
        date=unfold(date) if date else "",
        text=_join_texts(reader, body.leaves),
    )
    return forwarded, body


def _join_texts(reader: _Reader, leaves: list[Message]) -> str:
    texts = [reader.readable(leaf).strip() for leaf in leaves]
    return "\n\n".join(text for text in texts if text)


def _parse_tree(data: bytes, problems: list[str]) -> tuple[Message, bool]:
    """The MIME tree, and whether it had to be flattened (headers parsed, body one block of text)."""
    try:
        return email.message_from_bytes(data, policy=email.policy.compat32), False
    except RecursionError:
        # The stdlib parser recurses once per nested part; a few hundred nested message/rfc822 parts
        # exhaust the stack. The headers still parse, and the body is kept as plain text.
        problems.append("MIME parts nested too deeply to parse; body kept as plain text")
        parser = email.parser.BytesParser(policy=email.policy.compat32)
        return parser.parsebytes(data, headersonly=True), True


def _build(raw: bytes, problems: list[str]) -> ParsedMessage:
    data = _repair_raw(raw, problems)
    msg, flat = _parse_tree(data, problems)
    parts = _walk(msg, problems)
    charsets = Charsets(parts)
    headers = _read_headers(msg, charsets, problems)
    problems.extend(p for p in _defect_problems(parts) if p not in problems)

    reader = _Reader(problems)
    body = _Body([msg]) if flat else reader.body(msg)
    text = _join_texts(reader, body.leaves)
    html = reader.text_of(body.html) if body.html is not None else None

    body_ids = {id(leaf) for leaf in (*body.leaves, *body.renderings)}
    forwarded: list[ForwardedPart] = []
    attachments: list[Attachment] = []
    for part in parts:
        _collect_part(part, reader, body_ids, forwarded, attachments, problems)

    subject = headers.decoded.get("subject", "")
    split = split_reply(text, subject)
    sender = _sender(msg, headers, charsets, problems)
    message_id_raw = headers.raw.get("message-id", [None])[0]
    if message_id_raw is None:
        problems.append("no Message-ID header")
    date_raw = headers.raw.get("date", [None])[0]
    return ParsedMessage(
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        message_id=_single_message_id(unfold(message_id_raw)) if message_id_raw else None,
        in_reply_to=message_ids(unfold(headers.raw["in-reply-to"][0])) if "in-reply-to" in headers.raw else [],
        references=message_ids(unfold(" ".join(headers.raw.get("references", [])))),
        subject=subject,
        sender=sender,
        reply_to=_addresses_of(headers, "reply-to", charsets, problems),
        to=_addresses_of(headers, "to", charsets, problems),
        cc=_addresses_of(headers, "cc", charsets, problems),
        return_path=_return_path(unfold(headers.raw["return-path"][0]) if "return-path" in headers.raw else None),
        date=_parse_date(unfold(date_raw) if date_raw is not None else None, problems),
        headers=headers.decoded,
        content_types=[content_type(part) for part in parts],
        text=text,
        html=html,
        new_text=split.new_text,
        quoted_text=split.quoted_text,
        signature=split.signature,
        forwarded=forwarded + split.forwarded,
        attachments=attachments,
        problems=list(dict.fromkeys(problems)),  # the same trouble seen twice is one problem
        authentication_results=[unfold(value) for value in headers.raw.get("authentication-results", [])],
        message=msg,
    )


def _collect_part(
    part: Message,
    reader: _Reader,
    body_ids: set[int],
    forwarded: list[ForwardedPart],
    attachments: list[Attachment],
    problems: list[str],
) -> None:
    """Sort one walked part: forwarded message, report data, attachment, or nothing (containers, body)."""
    ctype = content_type(part)
    if ctype in _FORWARDED_TYPES:
        found = _forwarded_of(part, reader, problems)
        if found is not None:
            forwarded.append(found[0])
            body_ids.update(id(leaf) for leaf in (*found[1].leaves, *found[1].renderings))
        attachments.append(_attachment(part, _message_bytes(part, problems)))
        return
    if ctype.startswith("message/"):
        attachments.append(_attachment(part, _report_bytes(part)))
        return
    if ctype.startswith("multipart/") and isinstance(part.get_payload(), list):
        return
    if id(part) not in body_ids:
        attachments.append(_attachment(part, _payload_bytes(part, problems)))


def _fallback_message(raw: bytes, problems: list[str]) -> ParsedMessage:
    """What is left when even the tolerant path failed: the bytes as text, so nothing is lost."""
    text = raw[:MAX_TEXT_CHARS].decode("utf-8", errors="replace")
    return ParsedMessage(
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        message_id=None,
        in_reply_to=[],
        references=[],
        subject="",
        sender=None,
        reply_to=[],
        to=[],
        cc=[],
        return_path=None,
        date=None,
        headers={},
        content_types=[],
        text=text,
        html=None,
        new_text=text,
        quoted_text="",
        signature="",
        forwarded=[],
        attachments=[],
        problems=problems,
        message=None,
    )


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse any bytes into a ParsedMessage. Never raises: what could not be understood is in `problems`."""
    problems: list[str] = []
    try:
        if not isinstance(raw, bytes):
            raw = bytes(raw)
    except Exception:
        problems.append(f"input of type {type(raw).__name__} is not bytes; nothing to parse")
        return _fallback_message(b"", problems)
    if not raw.strip():
        problems.append("empty message")
    try:
        return _build(raw, problems)
    except Exception as exc:  # the edge of intake: a bug here must quarantine one message, not stop all
        problems.append(f"message could not be parsed ({type(exc).__name__}: {str(exc)[:120]}); kept as text")
        return _fallback_message(raw, problems)
