"""Split a mail body into what the sender wrote now, the history they quoted, their signature, and any
messages they forwarded inline.

Why not simply `mailparser_reply.EmailReplyParser`: it cuts everything after the first sign-off or
"- item" line (a referral's bullet list would vanish), and its "On ... wrote:" patterns backtrack
quadratically on long lines. We keep its language tables (the "wrote:" line of many mail clients and
languages, sign-off phrases, "Sent from my ..." lines) and apply them line by line to short candidate
lines only, inside a small state machine that never drops text: every line ends up in exactly one of
new_text, quoted_text, signature or a forwarded part, and if stripping would leave nothing new the whole
text is kept as new_text.

A forwarded message is not quoted history: a professional forwarding a parent's request is the
referral. Explicit forward separators always open a ForwardedPart; Outlook-style "From:/Sent:" header
blocks and "-----Original Message-----" do so when the subject says the mail is a forward (Fwd:, WG:,
TR:, RV: ...), and otherwise start quoted history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from inbox.mailtext import BEGIN_FORWARD_LINE, EMAIL_IN_TEXT, FORWARD_SUBJECT, SEPARATOR_LINE, SIGN_OFF_WORDS
from inbox.message import Address, ForwardedPart

# A line longer than this is never a reply/forward marker, so the per-line patterns stay cheap.
MAX_MARKER_LINE = 400
# A signature after "-- " is at most this many lines; a longer tail is content, not a signature.
MAX_SIGNATURE_LINES = 25
# A sign-off ("Kind regards,") counts only within this many trailing non-empty lines.
SIGNOFF_WINDOW = 10
MAX_SIGNOFF_TAIL_LINE = 100


@dataclass(slots=True)
class ReplySplit:
    new_text: str
    quoted_text: str
    signature: str
    forwarded: list[ForwardedPart] = field(default_factory=list)


class _Kind(Enum):
    REPLY = "reply"
    FORWARD = "forward"


@dataclass(slots=True)
class _Marker:
    kind: _Kind
    start: int  # first line of the marker
    body_start: int  # first line after the marker and its header lines
    headers: dict[str, str]


# --- separators -------------------------------------------------------------------------------------

_OUTLOOK_RULE = re.compile(r"^_{10,}$")

# --- header lines inside a forwarded or quoted block ---------------------------------------------------

_HEADER_KEYS = {
    "from": (
        "from",
        "von",
        "de",
        "van",
        "da",
        "od",
        "fra",
        "från",
        "lähettäjä",
        "feladó",
        "от",
        "发件人",
        "寄件者",
        "差出人",
        "보낸 사람",
        "보낸사람",
        "expéditeur",
        "remitente",
    ),
    "date": (
        "date",
        "sent",
        "datum",
        "gesendet",
        "envoyé",
        "enviado",
        "fecha",
        "inviato",
        "data",
        "verzonden",
        "sendt",
        "skickat",
        "wysłano",
        "odesláno",
        "lähetetty",
        "дата",
        "отправлено",
        "发送时间",
        "日付",
        "送信日時",
        "보낸 날짜",
    ),
    "to": (
        "to",
        "an",
        "à",
        "a",
        "para",
        "aan",
        "til",
        "till",
        "do",
        "komu",
        "vastaanottaja",
        "кому",
        "收件人",
        "宛先",
        "받는 사람",
        "destinataire",
    ),
    "cc": ("cc", "kopie", "kopia", "kopi", "копия", "抄送"),
    "subject": (
        "subject",
        "betreff",
        "objet",
        "asunto",
        "oggetto",
        "onderwerp",
        "emne",
        "ämne",
        "temat",
        "předmět",
        "aihe",
        "тема",
        "主题",
        "件名",
        "제목",
        "assunto",
    ),
}
_KEY_OF = {word: key for key, words in _HEADER_KEYS.items() for word in words}
# "Key: value", "*Key:* value" (bold, from HTML), "Key: | value" or "Key | value" (a Lotus Notes header
# table made text).
_HEADER_LINE = re.compile(
    r"^\*{0,2}(?P<key>[^\W\d_][\w .'-]{0,20}?)\*{0,2}\s*(?:[:：]\*{0,2}\s*(?:\|\s*)?|\|\s*)(?P<value>.*)$"
)
_HEADER_SCAN_LINES = 8  # how far below a From: line the rest of its header block may reach

# --- "On <date>, <name> wrote:" --------------------------------------------------------------------------

_WROTE_VERBS = (
    r"wrote|writes|schrieb|a [ée]crit|escribi[óo]|ha scritto|schreef|escreveu|napisa[łl](?:\(a\))?"
    r"|skrev|kirjoitti|[íi]rta|napsal(?:\(a\))?|пишет|написал(?:\(а\))?|yazd[ıi]|写道|が書きました"
)
_WROTE = re.compile(rf"(?:^|[\s>,])(?:{_WROTE_VERBS})\s*[:：]$", re.IGNORECASE)
_WROTE_INTRO = re.compile(r"^(?:on|am|le|el|il|op|em|w dniu|dnia|den|dne|às|на|le\s|\d)", re.IGNORECASE)
_HAS_ADDRESS_OR_DATE = re.compile(r"@|\d")

_SIG_DASHES = re.compile(r"^--\s?$|^—\s?$")


def _library_patterns() -> tuple[list[re.Pattern[str]], list[str], list[str]]:
    """Language tables from mail-parser-reply: "wrote:" header regexes, sign-off phrases, "sent from"
    phrases. Read defensively: if a future release reshapes its constants we fall back to our own."""
    try:
        from mailparser_reply.constants import MAIL_LANGUAGES
    except Exception:  # pragma: no cover - the dependency is pinned; this is only a safety net
        return [], [], []
    wrote: list[re.Pattern[str]] = []
    signoffs: list[str] = []
    sent_from: list[str] = []
    for table in MAIL_LANGUAGES.values():
        try:
            if isinstance(table.get("wrote_header"), str):
                wrote.append(re.compile(table["wrote_header"], re.IGNORECASE | re.MULTILINE))
            for phrase in table.get("signatures") or []:
                signoffs.append(phrase)
            if table.get("sent_from"):
                sent_from.append(table["sent_from"])
        except (re.error, TypeError, AttributeError):
            continue
    return wrote, signoffs, sent_from


_LIB_WROTE, _LIB_SIGNOFFS, _LIB_SENT_FROM = _library_patterns()


def _compile_signoff() -> re.Pattern[str]:
    phrases = [SIGN_OFF_WORDS]
    for phrase in _LIB_SIGNOFFS:
        phrase = phrase.rstrip(",")
        try:
            re.compile(phrase)
        except re.error:
            continue
        phrases.append(phrase)
    return re.compile(rf"^(?:{'|'.join(phrases)})\b(?P<tail>.*)$", re.IGNORECASE)


_SIGNOFF = _compile_signoff()
_NAME_WORD = re.compile(r"^[^\W\d_][\w.'-]{0,30}$")


def _is_signoff(line: str) -> bool:
    """The whole line is a sign-off, optionally with punctuation and a short name: "Kind regards,",
    "Thanks, Sam", "Best wishes Kelly", "Mit freundlichen Grüßen". Never a sentence that starts so
    ("Thanks for your help")."""
    match = _SIGNOFF.match(line)
    if match is None:
        return False
    tail = match.group("tail").strip()
    bare = tail.strip(",.!-– ")
    if not bare:
        return True
    words = bare.split()
    if len(words) > 3 or not all(_NAME_WORD.match(word) for word in words):
        return False
    # After a comma or dash any short name; without one, only capitalised words ("Thanks Sam").
    return tail[0] in ",-–" or all(word[0].isupper() for word in words)


_SENT_FROM = re.compile(
    rf"^(?:sent from (?:my|mail for|yahoo|outlook|samsung|the)|sent via|get outlook for"
    rf"{''.join('|' + p for p in _LIB_SENT_FROM)})",
    re.IGNORECASE,
)


# --- public API ---------------------------------------------------------------------------------------


def split_reply(text: str, subject: str = "") -> ReplySplit:
    """Split `text` (a readable body) into new text, quoted history, signature and forwarded messages."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    is_forward = bool(FORWARD_SUBJECT.match(subject or ""))
    markers = _find_markers(lines, is_forward)
    new_lines, quoted_lines, forwarded = _assign_lines(lines, markers)
    body_lines, sig_lines = _split_signature(new_lines)
    new_text = _join(body_lines)
    if not new_text:
        # Never leave nothing: a message that is all quote, all signature or a bare forward keeps its
        # whole text as what the sender said (the forwarded parts stay listed as well).
        return ReplySplit(new_text=text.strip(), quoted_text="", signature="", forwarded=forwarded)
    return ReplySplit(new_text, _join(quoted_lines), _join(sig_lines), forwarded)


# --- finding markers --------------------------------------------------------------------------------


def _find_markers(lines: list[str], is_forward: bool) -> dict[int, _Marker]:
    markers: dict[int, _Marker] = {}
    budget = [_LIB_MAX_TRIES]
    i = 0
    while i < len(lines):
        marker = _marker_at(lines, i, is_forward, budget)
        if marker is None:
            i += 1
            continue
        markers[marker.start] = marker
        i = max(marker.body_start, i + 1)
    return markers


def _marker_at(lines: list[str], i: int, is_forward: bool, budget: list[int]) -> _Marker | None:
    line = lines[i].strip()
    if not line or len(line) > MAX_MARKER_LINE or line[0] == ">":
        return None
    first = line[0]
    if first in "-=_*" or (first.isalpha() and line.endswith(":")):
        found = _separator_marker(lines, i, line, is_forward)
        if found:
            return found
    if line[-1] in ":：":
        found = _wrote_marker(lines, i, line, budget)
        if found:
            return found
    return _header_block_marker(lines, i, is_forward)


def _separator_marker(lines: list[str], i: int, line: str, is_forward: bool) -> _Marker | None:
    match = SEPARATOR_LINE.match(line)
    if match:
        kind = _Kind.FORWARD if match.group("fwd") or is_forward else _Kind.REPLY
    elif BEGIN_FORWARD_LINE.match(line):
        kind = _Kind.FORWARD
    else:
        return None
    headers, body_start = _read_header_block(lines, i + 1, skip_blank=2)
    return _Marker(kind, i, body_start, headers)


def _wrote_marker(lines: list[str], i: int, line: str, budget: list[int]) -> _Marker | None:
    # Clients wrap long attributions: "On Thu, 12 Jun 2025 at 15:41, Sam <\nsam@example.org> wrote:".
    # The line above belongs to it when it starts like an attribution and this line does not.
    prev = lines[i - 1].strip() if i > 0 else ""
    if (
        prev
        and prev[0] != ">"
        and not _WROTE_INTRO.match(line)
        and _WROTE_INTRO.match(prev)
        and len(prev) + len(line) <= MAX_MARKER_LINE
        and _is_wrote_line(f"{prev} {line}", budget)
    ):
        return _Marker(_Kind.REPLY, i - 1, i + 1, {})
    if _is_wrote_line(line, budget):
        return _Marker(_Kind.REPLY, i, i + 1, {})
    return None


# mail-parser-reply's patterns backtrack ("On\s(?:.+?\s?.+?)\s?wrote:"), quadratically in the line
# length: they only see short lines, and only so many per message.
_LIB_MAX_LINE = 200
_LIB_MAX_TRIES = 20


def _is_wrote_line(line: str, budget: list[int]) -> bool:
    if _WROTE.search(line) and (_WROTE_INTRO.match(line) or _HAS_ADDRESS_OR_DATE.search(line)):
        return True
    if len(line) > _LIB_MAX_LINE or budget[0] <= 0:
        return False
    budget[0] -= 1
    return any(pattern.search(line) for pattern in _LIB_WROTE)


def _header_block_marker(lines: list[str], i: int, is_forward: bool) -> _Marker | None:
    """Outlook and friends: a run of "From:", "Sent:", "To:", "Subject:" lines without a separator, in
    any order (GMX starts with "Gesendet:", Apple with "Subject:")."""
    if _header_key(lines[i]) is None or (i > 0 and _header_key(lines[i - 1]) is not None):
        return None
    headers, body_start = _read_header_block(lines, i, skip_blank=0)
    if "from" not in headers or len(headers) < 3:  # From plus two of Sent/Date, To, Cc, Subject
        return None
    start = i
    # An Outlook rule ("________") or blank lines just above belong to the marker.
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j >= 0 and _OUTLOOK_RULE.match(lines[j].strip()):
        start = j
    kind = _Kind.FORWARD if is_forward else _Kind.REPLY
    return _Marker(kind, start, body_start, headers)


def _header_key(line: str) -> str | None:
    line = line.strip()
    if not line or len(line) > MAX_MARKER_LINE:
        return None
    # Every body line is asked, and most have no separator at all: `in` rules them out far cheaper
    # than the pattern, which needs one of these three.
    if ":" not in line and "|" not in line and "：" not in line:
        return None
    match = _HEADER_LINE.match(line)
    return _KEY_OF.get(match.group("key").strip().lower()) if match else None


def _read_header_block(lines: list[str], i: int, skip_blank: int) -> tuple[dict[str, str], int]:
    """Read "Key: value" lines from line i; returns the headers (canonical keys) and the line after."""
    headers: dict[str, str] = {}
    n = len(lines)
    while skip_blank and i < n and not lines[i].strip():
        i += 1
        skip_blank -= 1
    last_key = ""
    scanned = 0
    while i < n and scanned < _HEADER_SCAN_LINES:
        line = lines[i].strip()
        if not line:
            break
        match = _HEADER_LINE.match(line) if len(line) <= MAX_MARKER_LINE * 4 else None
        key = _KEY_OF.get(match.group("key").strip().lower()) if match else None
        if match is None or key is None:
            if last_key in ("to", "cc") and len(headers) < 5:
                headers[last_key] += " " + line  # a wrapped recipient list
                i += 1
                scanned += 1
                continue
            break
        if key in headers:
            break  # a second From: is the next block
        headers[key] = match.group("value").strip().strip("*").strip()
        last_key = key
        i += 1
        scanned += 1
    while i < n and not lines[i].strip():
        i += 1
    return headers, i


# --- assigning lines --------------------------------------------------------------------------------


class _State(Enum):
    NEW = 1
    QUOTED = 2  # everything from here on is history
    QUOTED_GT = 3  # a "> " block under an attribution; unquoted text after it is new again
    FORWARD = 4


def _assign_lines(lines: list[str], markers: dict[int, _Marker]) -> tuple[list[str], list[str], list[ForwardedPart]]:
    new: list[str] = []
    quoted: list[str] = []
    forwarded: list[ForwardedPart] = []
    current: list[str] = []
    current_marker: _Marker | None = None
    state = _State.NEW
    skip_until = 0
    for i, line in enumerate(lines):
        marker = markers.get(i)
        if marker and (marker.kind is _Kind.FORWARD or state is not _State.QUOTED):
            if marker.kind is _Kind.FORWARD:
                if current_marker is not None:
                    forwarded.append(_forwarded_part(current_marker, current))
                current_marker, current = marker, []
                state = _State.FORWARD
                skip_until = marker.body_start
                continue
            if state in (_State.NEW, _State.QUOTED_GT):
                state = _State.QUOTED_GT if _next_is_quote(lines, marker.body_start) else _State.QUOTED
                quoted.extend(lines[i : marker.body_start])
                skip_until = marker.body_start
                continue
        if i < skip_until:
            continue
        if state is _State.FORWARD:
            current.append(line)
        elif state is _State.QUOTED or _is_quote(line) or (state is _State.QUOTED_GT and not line.strip()):
            quoted.append(line)
        else:
            state = _State.NEW
            new.append(line)
    if current_marker is not None:
        forwarded.append(_forwarded_part(current_marker, current))
    return new, quoted, forwarded


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _next_is_quote(lines: list[str], i: int) -> bool:
    for line in lines[i : i + 3]:
        if line.strip():
            return _is_quote(line)
    return False


def _forwarded_part(marker: _Marker, lines: list[str]) -> ForwardedPart:
    headers = marker.headers
    return ForwardedPart(
        sender=address_from_text(headers["from"]) if headers.get("from") else None,
        subject=headers.get("subject", ""),
        date=headers.get("date", ""),
        text=_join(lines),
    )


def address_from_text(value: str) -> Address:
    """ "Name <a@b>", "a@b [mailto:a@b]", "Smith, Jo <jo@x>" as written in a quoted header line."""
    match = EMAIL_IN_TEXT.search(value)
    email = match.group().strip(".").lower() if match else ""
    name = value
    if match:
        name = EMAIL_IN_TEXT.sub("", value)
    name = re.sub(r"\[mailto:[^\]]*\]|<[^>]*>|[<>\[\]]", "", name).strip().strip("\"'").strip()
    if name.lower() == "mailto:":
        name = ""
    return Address(name=name, email=email)


# --- signatures -------------------------------------------------------------------------------------


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    for finder in (_dash_signature, _sent_from_signature, _signoff_signature):
        start = finder(lines, end)
        if start is not None and any(line.strip() for line in lines[:start]):
            return lines[:start], lines[start:end]
    return lines, []


def _dash_signature(lines: list[str], end: int) -> int | None:
    """The standard "-- " delimiter (also "--", which mail clients and HTML conversion often leave)."""
    for i in range(max(0, end - MAX_SIGNATURE_LINES - 1), end):
        if _SIG_DASHES.match(lines[i]):
            return i
    return None


def _sent_from_signature(lines: list[str], end: int) -> int | None:
    seen = 0
    for i in range(end - 1, -1, -1):
        line = lines[i].strip()
        if not line:
            continue
        if len(line) <= 80 and _SENT_FROM.match(line):
            return i
        seen += 1
        if seen >= 3:
            return None
    return None


def _signoff_signature(lines: list[str], end: int) -> int | None:
    """ "Kind regards,\\nName\\nRole\\nPhone" at the very end; only short lines may follow the sign-off."""
    window: list[int] = []
    for i in range(end - 1, -1, -1):
        if lines[i].strip():
            window.append(i)
            if len(window) >= SIGNOFF_WINDOW:
                break
    for i in reversed(window):  # earliest first, so the whole trailing block goes together
        line = lines[i].strip()
        if len(line) > 60 or not _is_signoff(line):
            continue
        if all(len(lines[j].strip()) <= MAX_SIGNOFF_TAIL_LINE for j in range(i + 1, end)):
            return i
    return None


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip()
