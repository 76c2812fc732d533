"""One MIME part at a time: its type, disposition, decoded bytes, text and file name; and the walk
over every part of a tree."""

from __future__ import annotations

import binascii
import hashlib
import quopri
import re
import weakref
from collections.abc import Iterable, Iterator
from email.message import Message

from inbox.parse.charsets import NO_CHARSETS, SURROGATES, charset_of, decode_bytes, from_8bit
from inbox.parse.feed import RawBody, raw_body_of
from inbox.parse.headers import decode_words, raw_get

# Guards that keep the time per message bounded whatever arrives.
MAX_MIME_DEPTH = 40  # deeper nesting is only ever an attack or a loop of forwards
MAX_PARTS = 2_000
MAX_TEXT_CHARS = 2_000_000  # body text kept and analysed per part
MAX_HTML_CHARS = 1_000_000  # of an HTML part (made text, it is a fraction of that)


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


_DECODED_CTE = frozenset({"base64", "quoted-printable", "x-uuencode", "uuencode", "uue", "x-uue"})


def leaf_bytes(part: Message) -> bytes:
    """A leaf's body as its bytes, undecoded by any charset (get_payload(decode=True) undoes only the
    transfer encoding it knows). A body kept aside while parsing (inbox/parse/feed.py) is decoded the
    same way from its bytes."""
    raw = raw_body_of(part)
    if raw is not None:
        return _raw_leaf_bytes(part, raw)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _raw_leaf_bytes(part: Message, raw: RawBody) -> bytes:
    cte = str(part.get("content-transfer-encoding", "")).lower()  # as get_payload reads it
    if cte not in _DECODED_CTE:
        return raw.tobytes()  # what get_payload(decode=True) gives back for any other encoding
    if cte == "base64":
        try:  # decoded a piece at a time: the stdlib would split the text into lines and join them
            return b"".join(list(_base64_decoded(raw.chunks())))
        except _NotPlainBase64:
            pass  # the stdlib's tolerant decoding decides what it means
    as_parsed = Message()  # the part as the parser would have made it, to decode it the same way
    as_parsed["Content-Transfer-Encoding"] = part.get("content-transfer-encoding", "")
    as_parsed.set_payload(raw.tobytes().decode("ascii", "surrogateescape"))
    data = as_parsed.get_payload(decode=True)
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


# A base64 body as the stdlib decodes it without repairs: alphabet characters (line breaks removed), a
# multiple of four of them, up to two "=" at the very end (what base64.b64decode(validate=True) takes).
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]*")
_BASE64_END = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
DIGEST_CHARS = 1024 * 1024  # of a base64 body decoded and hashed at a time


def base64_digest(part: Message) -> tuple[int, str] | None:
    """Size and sha256 of a base64 leaf's decoded bytes, decoded a megabyte at a time and not kept.
    payload_bytes would hold the body about five times over at once (the stdlib splits it into lines,
    joins them and decodes: issue 8.5). None when the body is not plain base64 (stray characters, bad
    padding, a header other than exactly "base64"): payload_bytes then decides what it means, so the
    hash is always of the bytes payload_bytes gives."""
    pieces = _base64_body(part)
    if pieces is None:
        return None
    digest = hashlib.sha256()
    size = 0
    try:
        for data in _base64_decoded(pieces):
            digest.update(data)
            size += len(data)
    except _NotPlainBase64:
        return None
    return size, digest.hexdigest()


def raw_digest(part: Message) -> tuple[int, str] | None:
    """Size and sha256 of a leaf kept aside while parsing whose bytes are its content (no transfer
    encoding to undo), hashed piece by piece; None for any other part."""
    raw = raw_body_of(part)
    if raw is None or str(part.get("content-transfer-encoding", "")).lower() in _DECODED_CTE:
        return None
    digest = hashlib.sha256()
    for piece in raw.chunks():
        digest.update(piece)
    return raw.size, digest.hexdigest()


def base64_prefix(part: Message, limit: int) -> tuple[bytes, int] | None:
    """The first `limit` bytes of a base64 leaf's decoded bytes and their size, decoded a megabyte at a
    time: what payload_bytes would give, for a body read as text (only its start is kept). None when
    the body is not plain base64, as for base64_digest."""
    pieces = _base64_body(part)
    if pieces is None:
        return None
    kept = bytearray()
    size = 0
    try:
        for data in _base64_decoded(pieces):
            if len(kept) < limit:
                kept += data[: limit - len(kept)]
            size += len(data)
    except _NotPlainBase64:
        return None
    return bytes(kept), size


def quoted_printable_prefix(part: Message, limit: int) -> tuple[bytes, int] | None:
    """The start of a large quoted-printable leaf's decoded bytes (more than `limit` of them), decoded
    from the start of its text alone (cut after a line end; QP decodes line by line), and the size
    of its encoded body: what payload_bytes would give, for a body read as text. None when the body is
    small, not plain ASCII, its header other than exactly "quoted-printable", or its start decodes to
    `limit` bytes or fewer: payload_bytes then decodes it whole."""
    if part.is_multipart() or (raw_get(part, "content-transfer-encoding") or "").lower() != "quoted-printable":
        return None
    enough = 3 * limit + 3  # "=XX" is three characters for one byte
    raw = raw_body_of(part)
    if raw is not None:  # the bytes themselves: what the stdlib would decode, 8-bit or not
        if raw.size <= enough:
            return None
        start, size = raw.head(enough), raw.size
    else:
        text = part.get_payload()
        if not isinstance(text, str) or len(text) <= enough or not text.isascii():
            return None
        start, size = text[:enough].encode("ascii"), len(text)
    cut = start.rfind(b"\n") + 1
    decoded = binascii.a2b_qp(start[:cut]) if cut else b""
    return (decoded, max(size, len(decoded))) if len(decoded) > limit else None


def raw_prefix(part: Message, limit: int, problems: list[str]) -> tuple[bytes, int] | None:
    """The first `limit` bytes of a leaf kept aside while parsing whose bytes are its content, and its
    size; None for any other part (payload_bytes decides)."""
    raw = raw_body_of(part)
    if raw is None:
        return None
    raw_cte = raw_get(part, "content-transfer-encoding") or ""
    cte = raw_cte.strip().strip(";").strip().lower()
    if cte in ("base64", "quoted-printable") or raw_cte.lower() in _DECODED_CTE:
        return None
    if cte not in _KNOWN_CTE:
        problems.append(f"unknown Content-Transfer-Encoding '{cte[:30]}'; body read as is")
    return raw.head(limit), raw.size


class _NotPlainBase64(Exception):
    pass


def _base64_body(part: Message) -> Iterator[bytes | memoryview] | None:
    """A base64 leaf's encoded body, a piece at a time; None for any other part."""
    if part.is_multipart() or (raw_get(part, "content-transfer-encoding") or "").lower() != "base64":
        return None
    raw = raw_body_of(part)
    if raw is not None:
        return raw.chunks()
    text = part.get_payload()
    return _ascii_pieces(text) if isinstance(text, str) else None


def _ascii_pieces(text: str) -> Iterator[bytes]:
    for start in range(0, len(text), DIGEST_CHARS):
        try:
            yield text[start : start + DIGEST_CHARS].encode("ascii")
        except UnicodeEncodeError:  # 8-bit bytes in a base64 body: not plain base64
            raise _NotPlainBase64 from None


def _base64_decoded(pieces: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """A plain base64 body decoded a piece at a time; _NotPlainBase64 when it is not plain."""
    carry = b""
    ahead = iter(pieces)
    current = next(ahead, None)
    while current is not None:
        following = next(ahead, None)
        chunk = carry + bytes(current).translate(None, b"\r\n")
        if following is None:
            if len(chunk) % 4 or not _BASE64_END.fullmatch(chunk):
                raise _NotPlainBase64
            whole, carry = chunk, b""
        else:
            if not _BASE64_RUN.fullmatch(chunk):
                raise _NotPlainBase64
            cut = len(chunk) - len(chunk) % 4
            whole, carry = chunk[:cut], chunk[cut:]
        yield binascii.a2b_base64(whole)
        current = following


_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([\w.:-]{1,40})", re.IGNORECASE)


def part_text(part: Message, problems: list[str], cuts: list[int] | None = None) -> str:
    """A text part's text, from the start of its body: MAX_TEXT_CHARS bytes of plain text, MAX_HTML_CHARS
    of HTML. A body longer than that adds its size to `cuts` (the message is stored whole; a note says
    its text was not read to the end)."""
    # A large body (an HTML newsletter's images inline, a long log pasted in) decoded whole would be
    # held two or three times over besides the tree; only its start is read.
    ctype = content_type(part)
    limit = MAX_HTML_CHARS if ctype == "text/html" else MAX_TEXT_CHARS
    known = base64_prefix(part, limit) or quoted_printable_prefix(part, limit) or raw_prefix(part, limit, problems)
    data, size = known if known is not None else (payload_bytes(part, problems), -1)
    if max(size, len(data)) > limit:
        problems.append(f"{ctype} part longer than {limit} bytes; the rest ignored")
        if cuts is not None:
            cuts.append(max(size, len(data)))
        data = data[:limit]
    charset = charset_of(part)
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
                    if (other_value := raw_get(part, other)) is not None:
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
