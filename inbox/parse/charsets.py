"""MIME charset labels to Python codecs, and bytes to text without ever failing: an unknown or wrong
charset falls back (and says so in `problems`) rather than hiding the text (RFC 2046 4.1.2)."""

from __future__ import annotations

import codecs
import re
from email.message import Message

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


SURROGATES = re.compile("[\udc80-\udcff]")


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
                label = charset_of(part)
                codec = codec_for(label)
                if label and codec and codec != "utf-8":
                    for candidate in (codec, *_SIBLINGS.get(codec, ())):
                        seen.setdefault(candidate, label if candidate == codec else candidate)
            self._codecs = sorted(seen.items(), key=lambda item: not item[0].startswith(_MULTIBYTE_PREFIXES))
        return self._codecs


NO_CHARSETS = Charsets([])


def from_8bit(value: str, charsets: Charsets, problems: list[str], name: str) -> str:
    """Header text as the parser left it (raw 8-bit bytes as surrogate escapes) made real text: RFC 6532
    UTF-8 first, then the charsets the message declares, then windows-1252."""
    if value.isascii() or not SURROGATES.search(value):
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


def charset_of(part: Message) -> str | None:
    charset = part.get_param("charset")  # documented to give None for a missing or unreadable header
    if isinstance(charset, tuple):  # RFC 2231 form
        charset = charset[2]
    return str(charset) if charset else None
