"""Header values as text: unfolding, RFC 2047 encoded words, Message-IDs, Return-Path and Date."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from inbox.parse.charsets import Charsets, decode_bytes, from_8bit

# RFC 2047 encoded word. The encoded text may not contain "?", which keeps every match bounded by the
# next "?" (linear time even on a 200 KB header); spaces are allowed because Exchange folds inside words
# (zammad mail018). An RFC 2231 language suffix ("utf-8*en") is accepted and ignored.
ENCODED_WORD = re.compile(r"=\?([^?\s*]{1,64})(?:\*[^?\s]{0,32})?\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n|\r")


def unfold(value: str) -> str:
    """RFC 5322 2.2.3: unfolding removes the line breaks and keeps the white space after them."""
    if "\n" in value or "\r" in value:
        value = _FOLD.sub("", value)
    return value.strip()


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
    for match in ENCODED_WORD.finditer(value):
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
    """Decode the collected run of encoded words (charset trouble is noted by decode_bytes), each stretch of
    words in one charset (named as its first word names it) joined as bytes first. Indexed and joined once:
    popping the list's head and growing the bytes word by word was quadratic (a 3,300-word header took 8 ms)."""
    start = 0
    while start < len(pending):
        charset = pending[start][0]
        key = charset.lower()
        end = start + 1
        while end < len(pending) and pending[end][0].lower() == key:
            end += 1
        data = b"".join(word for _, word in pending[start:end])
        out.append(decode_bytes(data, charset, problems, f"header {name}"))
        start = end
    pending.clear()


def decode_header_text(value: str, charsets: Charsets, problems: list[str], name: str) -> str:
    """A raw header value (compat32: folded, 8-bit bytes as surrogates) as readable text."""
    return decode_words(unfold(from_8bit(value, charsets, problems, name)), problems, name)


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


def single_message_id(value: str) -> str | None:
    ids = message_ids(value)
    if ids:
        return ids[0]
    value = _CONTROLS.sub("", value).strip().strip("<>").strip()
    return (_NOT_IN_AN_ID.sub("", value.split()[0]) or None) if value else None


def return_path(value: str | None) -> str | None:
    if value is None:
        return None
    inner = value.strip()
    match = re.search(r"<([^<>]*)>", inner)
    if match:
        inner = match.group(1)
    return inner.strip().lower()


def parse_date(value: str | None, problems: list[str]) -> datetime | None:
    if value is None:
        problems.append("no Date header")
        return None
    parsed: datetime | None
    try:
        parsed = parsedate_to_datetime(value)
    except (ValueError, OverflowError):  # documented: ValueError; numbers too large for a date: OverflowError
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


def raw_get(part: Message, name: str) -> str | None:
    """A header's value as parsed. raw_items() never gives compat32's Header objects (made when a value
    holds 8-bit bytes), so one decoding path handles every header."""
    name = name.lower()
    for key, value in part.raw_items():
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return None


@dataclass(slots=True)
class Headers:
    raw: dict[str, list[str]]  # lower-cased name -> raw values in order
    decoded: dict[str, str]  # lower-cased name -> decoded first value


def read_headers(msg: Message, charsets: Charsets, problems: list[str]) -> Headers:
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
    return Headers(raw, decoded)
