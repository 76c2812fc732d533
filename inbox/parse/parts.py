"""One MIME part at a time: its type, disposition, decoded bytes, text and file name; and the walk
over every part of a tree."""

from __future__ import annotations

import binascii
import quopri
import re
import weakref
from email.message import Message

from inbox.parse.charsets import NO_CHARSETS, SURROGATES, charset_of, decode_bytes, from_8bit
from inbox.parse.headers import decode_words, raw_get

# Guards that keep the time per message bounded whatever arrives.
MAX_MIME_DEPTH = 40  # deeper nesting is only ever an attack or a loop of forwards
MAX_PARTS = 2_000
MAX_TEXT_CHARS = 2_000_000  # body text kept and analysed per part


# get_content_type() re-parses the header on every call, and the body choice asks often (13,000 calls
# on the corpus, 5% of all parse time): remember the answer per part object.
_content_types: weakref.WeakKeyDictionary[Message, str] = weakref.WeakKeyDictionary()


def content_type(part: Message) -> str:
    """The part's MIME type, lower case; worked out once per part object (classify asks again)."""
    known = _content_types.get(part)
    if known is not None:
        return known
    ctype = part.get_content_type()  # documented to give the default type for an invalid header
    _content_types[part] = ctype
    return ctype


def children_of(part: Message) -> list[Message] | None:
    """The parts inside a multipart or message/* part; None for a leaf. A leaf's get_payload() would
    decode its 8-bit bytes with the part's charset parameter, and a hostile one ("idna", "undefined")
    raises whatever the error handler, so the payload is only asked for once it is known to be a list."""
    if not part.is_multipart():
        return None
    return [child for child in part.get_payload() if isinstance(child, Message)]


def leaf_bytes(part: Message) -> bytes:
    """A leaf's body as its bytes, undecoded by any charset (get_payload(decode=True) undoes only the
    transfer encoding it knows)."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def disposition(part: Message) -> str:
    value = raw_get(part, "content-disposition") or ""
    return value.split(";", 1)[0].strip().lower()


def is_attachment(part: Message) -> bool:
    return disposition(part) == "attachment"


_KNOWN_CTE = {"", "7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue", "uue"}


def payload_bytes(part: Message, problems: list[str]) -> bytes:
    """The decoded body of a leaf part. A Content-Transfer-Encoding with stray spaces or semicolons
    ("quoted-printable ", "base64;") is cleaned first: the stdlib would leave such a body encoded."""
    raw_cte = raw_get(part, "content-transfer-encoding") or ""
    cte = raw_cte.strip().strip(";").strip().lower()
    if cte != raw_cte.lower() and cte in ("base64", "quoted-printable"):
        data = leaf_bytes(part)  # the stdlib does not know "base64;", so these are the encoded bytes
        if cte == "quoted-printable":
            return quopri.decodestring(data)
        clean = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        try:
            return binascii.a2b_base64(clean + b"=" * (-len(clean) % 4))
        except binascii.Error:  # a truncated body: one character more than whole groups of four
            problems.append(f"{content_type(part)} part could not be decoded; raw body kept")
            return data
    if cte not in _KNOWN_CTE:
        problems.append(f"unknown Content-Transfer-Encoding '{cte[:30]}'; body read as is")
    return leaf_bytes(part)  # compat32 records bad base64 as a defect and decodes what it can


_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([\w.:-]{1,40})", re.IGNORECASE)


def part_text(part: Message, problems: list[str]) -> str:
    data = payload_bytes(part, problems)
    if len(data) > MAX_TEXT_CHARS:
        problems.append(f"{content_type(part)} part longer than {MAX_TEXT_CHARS} bytes; the rest ignored")
        data = data[:MAX_TEXT_CHARS]
    charset = charset_of(part)
    ctype = content_type(part)
    if not charset and ctype == "text/html" and not data.isascii():
        meta = _META_CHARSET.search(data, 0, 4096)
        charset = meta.group(1).decode("ascii") if meta else None
    text = decode_bytes(data, charset, problems, f"{ctype} part")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _with_readable_params(part: Message) -> Message:
    """compat32 turns a Content-Disposition holding raw 8-bit bytes into a Header object and then
    replaces those bytes with U+FFFD when asked for a parameter; a copy of the two headers made real
    text first keeps "Hofjägeralle.jpg" (zammad mail057)."""
    fixed = None
    for name in ("content-disposition", "content-type"):
        value = raw_get(part, name)
        if value is not None and SURROGATES.search(value):
            if fixed is None:
                fixed = Message()
                for other in ("content-disposition", "content-type"):
                    other_value = raw_get(part, other)
                    if other_value is not None:
                        fixed[other] = other_value
            del fixed[name]
            fixed[name] = from_8bit(value, NO_CHARSETS, [], name)
    return fixed if fixed is not None else part


def filename_of(part: Message, problems: list[str]) -> str | None:
    try:
        name = _with_readable_params(part).get_filename()
    except (LookupError, ValueError):  # an RFC 2231 name in a codec that cannot decode it ("idna''...")
        problems.append(f"{content_type(part)} part: file name unreadable; kept without a name")
        return None
    if not name:
        return None
    name = str(name)
    if SURROGATES.search(name):
        data = name.encode("utf-8", "surrogateescape")
        try:
            name = data.decode("utf-8")
        except UnicodeDecodeError:
            name = data.decode("cp1252", errors="replace")
    if "=?" in name:  # RFC 2047 inside a parameter is not standard, but it is what Outlook sends
        name = decode_words(name, [], "filename")
    # Whatever survived as a lone surrogate (undecodable bytes) cannot be stored or shown: replace it.
    name = SURROGATES.sub("\ufffd", name).strip()
    return name or None


# A whole message inside a part: read as a forwarded message, its parts walked. (Other message/* parts,
# partial or external bodies and reports, are data, walked into by nobody.)
FORWARDED_TYPES = frozenset({"message/rfc822", "message/global", "message/news"})


def walk(msg: Message, problems: list[str], *, enclosed: bool = True, limit: int = MAX_PARTS) -> list[Message]:
    """Every part in the order Message.walk() gives, iteratively (no recursion limit), not into report
    blocks (delivery-status fields are not MIME parts). `enclosed`: also into forwarded messages;
    without, the message's own parts only (a bounce forwarded as an attachment is not our bounce)."""
    out: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        out.append(part)
        if len(out) >= limit:
            problems.append(f"more than {limit} MIME parts; the rest ignored")
            break
        ctype = content_type(part)
        if not (ctype.startswith("multipart/") or (enclosed and ctype in FORWARDED_TYPES)):
            continue
        children = children_of(part)
        if children is None:
            continue
        if depth >= MAX_MIME_DEPTH:
            problems.append(f"MIME parts nested deeper than {MAX_MIME_DEPTH}; deeper parts ignored")
            continue
        stack.extend((child, depth + 1) for child in reversed(children))
    return out
