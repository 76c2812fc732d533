"""Referral fields from one email, read the way a careful coordinator reads it.

`extract_referral(msg)` returns a `Referral` whose every value carries `Evidence`: the source
("subject", "body", "forwarded", "quoted", "signature", "header"), the span and the words there.

How it reads (the rules come from MISSION.md and the labelled samples' README):
- The message is split into *sources*: the subject, the sender's new words, forwarded messages, the
  quoted history, the signature and the From header. Each field is found by a small extractor that
  collects *candidates* with cue words around them, weighs them by source (new text beats quoted text,
  a signature counts least) and by cue, and keeps the best. Nothing is keyed to anyone's wording: the
  cues are the phrases people use for a role, a service, a council, a child, a phone number.
- Councils come only from the LA directory (`models.la_directory`): a town alone names no council.
  Mentions in postal addresses (ours included), e-mail addresses and disclaimers do not count; a
  council the family moved away from is demoted, one that "now holds the plan" promoted.
- Quoted text we wrote (our own reply) and forwarded letters from third parties give facts (the
  council, the child) but never the sender's phone number.
- Matching runs on a *normalised* copy of each text with exactly the same length (non-breaking
  spaces, curly quotes and "> " reply prefixes turned into plain characters), so spans found there
  point at the original words. Only the first part of a huge source is read (see _READ_LIMIT).

It never raises: any text in, a `Referral` out (a field that cannot be read stays None, and a bug in
one field's extractor is logged and leaves the others intact).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

import phonenumbers

from inbox.classify import unanswerable
from inbox.message import ParsedMessage
from inbox.referral import Evidence, Referral

if TYPE_CHECKING:
    from models.la_directory import Directory, LocalAuthority

log = logging.getLogger(__name__)

OWN_PHONES = ("+442073593635", "+443330062835")

# ---------------------------------------------------------------------------------------------------
# Sources: the parts of a message, each with a weight for how much its words count.
# ---------------------------------------------------------------------------------------------------

# Same-length replacements, so a span in the normalised text is the same span in the original.
_SAME_LENGTH = str.maketrans(
    {
        "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u2002": " ",
        "\u2003": " ", "\u200b": " ", "\u200c": " ", "\u200d": " ", "\u2060": " ", "\ufeff": " ",
        "\t": " ", "\r": " ", "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2013": "-",
        "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u201c": '"', "\u201d": '"',
    }
)  # fmt: skip
_REPLY_PREFIX = re.compile(r"(?m)^ *(?:> ?)+")
_FORWARD_MARKER = re.compile(
    r"(?im)^[ >]*(?:-{2,} ?(?:forwarded message|original message) ?-{2,}|begin forwarded message:)"
)
# A line that closes a letter: what follows is the writer's name, title, numbers.
_SIGN_OFF = re.compile(
    r"(?im)^[ ]*(?:(?:kind|best|warm|warmest|many|with)?\s*(?:regards|wishes|thanks)|thank you(?: so much)?"
    r"|thanks(?: again| so much)?|yours (?:sincerely|faithfully|truly)|best|cheers|all the best|diolch"
    r"|take care|sincerely)[ ,.!]*$"
)
_DISCLAIMER = re.compile(
    r"(?i)\b(?:confidential|intended recipient|intended solely|disclaimer|privileged|views expressed"
    r"|received this (?:e-?mail|message) in error|virus|data protection act|freedom of information"
    r"|monitored|legally|unauthori[sz]ed)\b"
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")


@dataclass(slots=True)
class Source:
    name: str  # subject | body | forwarded | quoted | signature | header
    text: str  # the original text, spans point here
    norm: str  # same length, for matching
    weight: float
    signoff: int  # where the writer's sign-off block starts (len(text) when none is seen)
    from_us: bool = False  # quoted text that we wrote (our own reply being answered)
    author: str = ""  # quoted text: the address in its attribution line ("On ..., X <x@y> wrote:"), if any
    skip: list[tuple[int, int]] = field(default_factory=list)  # disclaimer paragraphs
    low: str = ""  # norm.lower(), for the cheap gates of _Rx
    gate_hits: dict[re.Pattern[str], bool] = field(default_factory=dict)  # gate -> found in low (cues share gates)
    # For "forwarded": each forwarded message's span in the joined text and its sender's address.
    parts: list[tuple[int, int, str]] = field(default_factory=list)

    def part_sender(self, pos: int) -> str | None:
        for a, b, email in self.parts:
            if a <= pos < b:
                return email
        return None

    def in_signoff(self, pos: int) -> bool:
        return self.name == "signature" or pos >= self.signoff

    def skipped(self, pos: int) -> bool:
        return any(a <= pos < b for a, b in self.skip)


@dataclass(slots=True)
class FormField:
    """One "Label: value" line (website forms, tables made text, "Phone - 0770...")."""

    kind: str
    label: str
    value: str
    source: Source
    start: int  # span of the value
    end: int


@dataclass(slots=True)
class Ctx:
    msg: ParsedMessage
    sources: list[Source]
    fields: list[FormField]
    own_phones: frozenset[str]
    own_emails: frozenset[str]
    own_domains: frozenset[str]
    own_postcodes: frozenset[str]
    ref_date: date | None
    sender_name: str
    sender_email: str
    sender_is_us: bool  # a website form relayed from our own address or a form service's no-reply one
    writes_for_la: bool = False  # the body speaks as the council ("our decision", "our panel")
    role: str | None = None
    directory: Directory | None = None

    def by_name(self, *names: str) -> list[Source]:
        return [s for s in self.sources if s.name in names]


def _normalise(text: str) -> str:
    out = text.translate(_SAME_LENGTH)
    return _REPLY_PREFIX.sub(lambda m: " " * len(m.group()), out)


# How much of each source is read. A referral says what matters near the top; reading a 100 KB pasted
# report or a pathological 130 KB subject line would only cost time (spans stay valid: it is a prefix).
_READ_LIMIT = {"subject": 500, "header": 500, "signature": 3_000, "quoted": 10_000, "body": 20_000, "forwarded": 20_000}


def _make_source(
    name: str,
    text: str,
    weight: float,
    *,
    from_us: bool = False,
    author: str = "",
    parts: list[tuple[int, int, str]] | None = None,
) -> Source:
    text = text[: _READ_LIMIT.get(name, 20_000)]
    norm = _normalise(text)
    signoff = len(text)
    if name in ("body", "forwarded"):
        signoff = _find_signoff(norm)
    skip = [(m.start(), m.end()) for m in _paragraphs(norm) if _DISCLAIMER.search(m.group())]
    return Source(
        name,
        text,
        norm,
        weight,
        signoff,
        from_us=from_us,
        author=author,
        skip=skip,
        low=norm.lower(),
        parts=parts or [],
    )


_REGEX_SYNTAX = re.compile(r"[\\.^$*+?{}\[\]|()]")  # a needle without any of these is plain text


class _Rx:
    """A pattern with a cheap gate: it runs only when every needle group has a hit in the lower-cased
    text. Most cues need a word ("mediat", "certificate", "assess") that most emails lack, and one scan
    for a few literal words is far cheaper than the cue's own pattern. Needles are regex fragments
    (r"\bmediat" keeps "immediately" from opening the gate)."""

    __slots__ = ("after", "anchor", "before", "gates", "rx")

    def __init__(
        self, pattern: str, *needles: str | tuple[str, ...], anchor: str | None = None, reach: tuple[int, int] = (0, 0)
    ) -> None:
        self.rx = re.compile(pattern)
        groups = [(n,) if isinstance(n, str) else n for n in needles]
        # Each gate: its pattern (the key its hit is remembered under, shared by cues with the same
        # needles) and, when every needle is plain text, the needles themselves: `in` finds a word
        # several times faster than a regex scan, and gates are most of the scanning extraction does.
        self.gates = tuple(
            (re.compile("|".join(group)), None if any(_REGEX_SYNTAX.search(n) for n in group) else group)
            for group in groups
        )
        # A word every match contains: the pattern then runs only in windows around it (reach = chars
        # before, after), not from every position of the text. Lookarounds still see the whole text.
        self.anchor = re.compile(anchor, re.IGNORECASE) if anchor else None
        self.before, self.after = reach

    def ready(self, src: Source) -> bool:
        hits = src.gate_hits
        for gate, words in self.gates:
            hit = hits.get(gate)
            if hit is None:
                low = src.low
                hit = any(word in low for word in words) if words is not None else gate.search(low) is not None
                hits[gate] = hit
            if not hit:
                return False
        return True

    def finditer(self, src: Source):
        if not self.ready(src):
            return iter(())
        if self.anchor is None:
            return self.rx.finditer(src.norm)
        return self._around_anchors(src.norm)

    def _around_anchors(self, norm: str):
        done = 0  # end of the last match given: windows may overlap, matches may not repeat
        for a in self.anchor.finditer(norm):  # type: ignore[union-attr]
            if a.start() < done:
                continue
            end = min(len(norm), a.end() + self.after)
            if not self.before:  # the match starts at the anchor: one attempt, not a scan
                m = self.rx.match(norm, a.start(), end)
                if m:
                    done = m.end()
                    yield m
                continue
            for m in self.rx.finditer(norm, max(a.start() - self.before, done), end):
                if m.start() >= done:
                    done = m.end()
                    yield m

    def search(self, src: Source) -> re.Match[str] | None:
        return next(iter(self.finditer(src)), None)


_PARAGRAPH = re.compile(r"(?s)\S.*?(?=\n[ ]*\n|\Z)")


def _paragraphs(text: str):
    return _PARAGRAPH.finditer(text)


def _find_signoff(norm: str) -> int:
    """The last closing line ("Kind regards,") in the later part of the text, else len(text)."""
    last = None
    for m in _SIGN_OFF.finditer(norm):
        last = m
    if last is not None and last.start() >= len(norm) * 0.3:
        return last.start()
    return len(norm)


def build_sources(
    msg: ParsedMessage, own_emails: frozenset[str], own_postcodes: frozenset[str], *, sender_is_us: bool = False
) -> list[Source]:
    body = msg.new_text or ""
    forwarded = ""
    parts: list[tuple[int, int, str]] = []
    for part in msg.forwarded:
        if part.text:
            if forwarded:
                forwarded += "\n\n"
            parts.append((len(forwarded), len(forwarded) + len(part.text), part.sender.email if part.sender else ""))
            forwarded += part.text
    if forwarded:
        # Parsers differ on whether the forwarded block stays in new_text: never read it twice.
        marker = _FORWARD_MARKER.search(body)
        if marker:
            body = body[: marker.start()]
    if not body.strip() and not forwarded and not msg.quoted_text:
        body = msg.text or ""
    sources = [
        _make_source("body", body, 1.0),
        _make_source("forwarded", forwarded, 1.0, parts=parts),
        _make_source("subject", msg.subject or "", 0.7),
        _make_source(
            "quoted",
            msg.quoted_text or "",
            0.6,
            from_us=_quoted_from_us(msg, own_emails, own_postcodes),
            author=_quoted_author(msg.quoted_text or ""),
        ),
        _make_source("signature", msg.signature or "", 0.35),
    ]
    # The person behind the message: From, or for a website form relayed from our own address, Reply-To.
    sender = msg.reply_to[0] if sender_is_us and msg.reply_to else msg.sender
    header = f"{sender.name} <{sender.email}>" if sender else ""
    sources.append(_make_source("header", header, 0.2))
    return [s for s in sources if s.text.strip()]


_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def _quoted_author(quoted: str) -> str:
    """The address in the quote's attribution ("On Mon, X <x@y> wrote:", "From: X <x@y>"), or ""."""
    found = _EMAIL.search(quoted[:400])
    return found.group().lower() if found else ""


def _quoted_from_us(msg: ParsedMessage, own_emails: frozenset[str], own_postcodes: frozenset[str]) -> bool:
    """Is the quoted history our own earlier reply? Its phone numbers are then ours, not theirs."""
    quoted = msg.quoted_text or ""
    if not quoted:
        return False
    if _quoted_author(quoted) in own_emails:
        return True
    return any(pc in quoted for pc in own_postcodes)


# ---------------------------------------------------------------------------------------------------
# Form fields: "Label: value", "Label - value", "Label | value", or a label line then "| value".
# ---------------------------------------------------------------------------------------------------

_FIELD_LINE = re.compile(
    r"(?m)^[ ]*(?P<label>[A-Za-z][A-Za-z0-9'()/.&?, ]{0,45}?)[ ]*(?::|\||[ ]-[ ]|-(?=[ ]))[ ]*(?P<value>[^\n]*?)[ |]*$"
)
# A table whose cells came out one per line ("Name of child\n\nFelix Ashdown", or "\n| Felix Ashdown").
_FIELD_NEXT_LINE = re.compile(
    r"(?m)^[ ]*(?P<label>[A-Za-z][A-Za-z0-9'()/.&?, ]{0,45}?)[ ]*:?[ ]*\n(?:[ ]*\n)?[ ]*\|?[ ]*(?P<value>[^\n]*?)[ |]*$"
)
_FIELD_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dob", re.compile(r"(?i)\b(?:d\.? ?o\.? ?b\.?|date of birth|birth ?date|born)")),
    ("child_name", re.compile(
        r"(?i)^(?:(?:the )?(?:child|young person|pupil|student|learner|son|daughter)(?:'?s)?(?: full)?(?: name)?"
        r"|(?:full )?name of (?:the )?(?:child|young person|pupil|student|learner)"
        r"|(?:child|young person|pupil|student|learner)(?:'?s)? (?:full |first |given )?name)$")),
    ("phone", re.compile(r"(?i)\b(?:phone|tel|telephone|mobile|mob|contact (?:no|number)|number|whatsapp|ddi)\b")),
    ("email", re.compile(r"(?i)\be-?mail\b")),
    ("la", re.compile(r"(?i)\b(?:local authority|council|la|borough|authority)\b")),
    ("role", re.compile(r"(?i)^(?:i am a|i am|i'm a|role|relationship(?: to (?:the )?(?:child|young person))?|you are"
                        r"|are you a|capacity|who are you|referrer type|enquirer type)\b")),
    ("school", re.compile(r"(?i)\b(?:school|setting|college|nursery|education provider|current placement)\b")),
    ("referrer_name", re.compile(r"(?i)^(?:your |full |contact |referrer'?s? |parent'?s? |parent/carer'?s? )?"
                                 r"(?:full )?name(?: of referrer)?$|^(?:parent|parent/carer|parent\(s\)|referrer)$")),
)  # fmt: skip
_FIELD_BLOCKLIST = re.compile(r"(?i)\b(?:reason|about|message|what|why|how|details|availability|time|hear)\b")


def parse_fields(sources: list[Source]) -> list[FormField]:
    out: list[FormField] = []
    for src in sources:
        if src.name not in ("body", "forwarded", "quoted"):
            continue
        for rx in (_FIELD_LINE, _FIELD_NEXT_LINE):
            for m in rx.finditer(src.norm):
                label = m.group("label").strip()
                if len(label.split()) > 7 or src.skipped(m.start()):
                    continue
                kind = _field_kind(label)
                if kind:
                    value = m.group("value")
                    out.append(FormField(kind, label, value.strip(), src, m.start("value"), m.end("value")))
        out.extend(_column_fields(src))
    return out


_LINE = re.compile(r"[^\n]+")
_CELL = re.compile(r"[^|]+")


def _column_fields(src: Source) -> list[FormField]:
    """A table with a header row: "Child's name | Date of birth | School" over "Ava Lee | 02/03/2015 | ..."."""
    out: list[FormField] = []
    if src.norm.count("|") < 4:
        return out
    rows = [m for m in _LINE.finditer(src.norm) if m.group().count("|") >= 1 and m.group().strip(" |")]
    for head, data in pairwise(rows):
        heads = [c for c in _CELL.finditer(head.group()) if c.group().strip()]
        cells = [c for c in _CELL.finditer(data.group()) if c.group().strip()]
        if len(heads) < 2 or len(heads) != len(cells) or src.norm.count("\n", head.end(), data.start()) > 2:
            continue
        kinds = [_field_kind(h.group().strip()) for h in heads]
        if sum(k is not None for k in kinds) < 2:
            continue  # not a header row
        for kind, h, c in zip(kinds, heads, cells, strict=True):
            if kind:
                raw = c.group()
                lead = len(raw) - len(raw.lstrip())
                value = raw.strip()
                start = data.start() + c.start() + lead
                out.append(FormField(kind, h.group().strip(), value, src, start, start + len(value)))
    return out


def _field_kind(label: str) -> str | None:
    low = label.lower().strip(" .?")
    for kind, rx in _FIELD_KINDS:
        if rx.search(low):
            if kind in ("la", "school", "phone") and _FIELD_BLOCKLIST.search(low):
                continue
            if kind == "la" and re.search(r"(?i)\b(?:officer|contact|e-?mail|phone|tel|name of officer)\b", low):
                continue
            return kind
    return None


def _fields(ctx: Ctx, kind: str) -> list[FormField]:
    return [f for f in ctx.fields if f.kind == kind and f.value]


# ---------------------------------------------------------------------------------------------------
# Evidence helpers
# ---------------------------------------------------------------------------------------------------


def _snippet(src: Source, start: int, end: int, width: int = 70) -> str:
    """The line around a span, trimmed to about `width` characters each side."""
    text = src.text
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        line_end = len(text)
    a = max(line_start, start - width)
    b = min(line_end, end + width)
    snippet = " ".join(text[a:b].split())
    return ("…" if a > line_start else "") + snippet + ("…" if b < line_end else "")


def _evidence(value: object, src: Source, start: int, end: int) -> Evidence:
    return Evidence(value, src.name, start, end, _snippet(src, start, end))


@dataclass(slots=True)
class Candidate:
    value: object
    score: float
    src: Source
    start: int
    end: int
    order: int = 0  # tie-break: lower is earlier / better source


_SOURCE_ORDER = {"body": 0, "forwarded": 1, "subject": 2, "signature": 3, "quoted": 4, "header": 5}


def _order(src: Source, pos: int) -> int:
    return _SOURCE_ORDER.get(src.name, 9) * 1_000_000 + pos


def _best(cands: list[Candidate]) -> Candidate | None:
    if not cands:
        return None
    return max(cands, key=lambda c: (c.score, -c.order))


def _clause_before(norm: str, pos: int, limit: int = 90) -> str:
    """Text before pos back to the start of its sentence or line (at most `limit` characters)."""
    a = max(0, pos - limit)
    chunk = norm[a:pos]
    cut = max(chunk.rfind("\n"), chunk.rfind(". "), chunk.rfind("! "), chunk.rfind("? "), chunk.rfind("; "))
    return chunk[cut + 1 :] if cut >= 0 else chunk


_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n[ ]*\n|\n[ ]*\|")
_SENTENCE_START = re.compile(r"(?s).*(?:[.!?]\s|\n[ ]*\n|\n[ ]*\|)")


def _sentence_around(norm: str, start: int, end: int, limit: int = 160) -> tuple[int, int]:
    """The sentence (or paragraph line, or table cell) holding a span, at most `limit` each side."""
    a = max(0, start - limit)
    m = _SENTENCE_START.match(norm, a, start)
    s = m.end() if m else a
    m = _SENTENCE_END.search(norm, end, end + limit)
    e = m.end() if m else min(len(norm), end + limit)
    return s, e


# ---------------------------------------------------------------------------------------------------
# Service
# ---------------------------------------------------------------------------------------------------

_SETTING = r"(?:school|academy|college|nursery|setting|pre-?school|headteacher|head teacher|senco|trust)"
# Words that may stand between "like"/"request" and "mediation" in a request ("like to try SEN mediation").
_REQUEST_GAP = (
    r"(?:(?:to|go|try|have|attend|request|ask|for|arrange|book|start|proceed|with|use|access|a|an|the|some|formal"
    r"|sen|send|ehc|ehcp|independent|statutory|please|into|through|do|get|set|up|refer|apply|us|me|them|her|him"
    r"|our|my|this|pursue|begin|going|family|her|his|their|onto|down|route|of|straight|first)\s+){0,5}?"
)
_SETTING_ANCHOR = rf"\b{_SETTING}\b"
_SETTINGS = ("school", "academy", "college", "nursery", "setting", "head", "senco", "trust")
_DETERMINER = r"(?:(?:the|my|his|her|their|our|a|[\w'-]+'s)\s+)?(?:[\w-]+\s+)?"
_MEDIATE_NEG = _Rx(
    r"(?i)(?:\bnot|n't|\bno longer|\bnever)\s+(?:\w+\s+){0,3}?"
    r"(?:interested in|want(?:ing)?|wish(?:ing)?|like|going|need)\s+(?:to\s+)?"
    r"(?:go\s+ahead\s+with\s+|try\s+|attend\s+|have\s+|do\s+|take\s+part\s+in\s+|proceed\s+with\s+"
    r"|pursue\s+|go\s+(?:to|through)\s+|engage\s+(?:in|with)\s+)?(?:the\s+|a\s+|any\s+)?mediat\w*"
    r"|\b(?:decline[sd]?|declining|refuse[sd]?|waive[sd]?|opt(?:ing|ed)?\s+out\s+of|skip(?:ping)?)\s+"
    r"(?:the\s+)?mediat\w*"
    r"|\bwithout\s+(?:going\s+(?:to|through)\s+)?mediation\b",
    r"\bmediat",
    anchor=r"\bmediat",
    reach=(140, 20),
)
# The school or setting not doing what the plan says: disagreement resolution, and a dispute topic.
_SETTING_FAILS = _Rx(
    rf"(?i)\b{_SETTING}(?:'s)?\s+(?:is\s+|are\s+|has\s+|have\s+|does\s+|do\s+|will\s+|still\s+|just\s+|only\s+)?"
    r"(?:n't|not|never|no longer|cannot|can't|won't|isn't|aren't|hasn't|haven't|doesn't|don't|failed to"
    r"|failing to|refus\w* to)\s+(?:\w+\s+){0,2}?(?:follow\w*|deliver\w*|provid\w*|implement\w*|doing|do|stick\w*"
    r"|put\w* in place|meet\w*|fund\w*|giv\w*|us\w*)\b",
    _SETTINGS,
    ("n't", "not", "never", "no longer", "fail", "refus"),
    anchor=_SETTING_ANCHOR,
    reach=(0, 120),
)
_SETTING_SHOULD = _Rx(
    rf"(?i)\b{_SETTING}\s+to\s+(?:actually\s+)?(?:stick\s+to|follow|deliver|implement|do\s+what|provide\s+what)",
    _SETTINGS,
    anchor=_SETTING_ANCHOR,
    reach=(0, 60),
)
_BARE_MEDIATION = _Rx(r"(?i)\bmediat(?:e|ion)\b", r"\bmediat")  # a mention, not yet a request
_CUE = tuple[str, float, _Rx]
_SERVICE_CUES: tuple[_CUE, ...] = (
    ("certificate", 2.5, _Rx(
        r"(?i)\b(?:issue|send|need|want|like|request|have|get|obtain|provide|requesting|issuing|apply for)\s+"
        r"(?:\w+\s+){0,3}?(?:mediation\s+)?certificate", "certificate", anchor="certificate", reach=(90, 12))),
    ("certificate", 4.0, _Rx(
        r"(?i)\bcertificate\s+only\b|\bonly\s+(?:\w+\s+){0,2}(?:a|the)\s+(?:mediation\s+)?certificate"
        r"|\bjust\s+(?:\w+\s+){0,2}(?:a|the)\s+(?:mediation\s+)?certificate"
        r"|\bcertificate\s+(?:so\s+(?:that\s+)?(?:we|i|they|she|he)\s+(?:can|could|may)|in\s+order\s+to|to)\s+"
        r"(?:\w+\s+){0,2}?(?:appeal|register|lodge|go\s+to|apply|take)", "certificate", anchor="certificate",
        reach=(60, 90))),
    ("certificate", 2.0, _Rx(
        r"(?i)\bcertificate\s+(?:request|please|required|needed)\b|\brequest\s+for\s+(?:a\s+|the\s+)?(?:mediation\s+)?"
        r"certificate", "certificate", anchor="certificate", reach=(60, 30))),
    ("facilitation", 4.0, _Rx(
        r"(?i)\bfacilitat(?:ed|ion|or|ors|e|ing)\b|\bindependent\s+chair\w*|\bchair(?:ed)?\s+(?:the|a|an|this|our)\s+"
        r"(?:[\w-]+\s+){0,3}?(?:meeting|review|tac|team around)", ("facilitat", "chair"))),
    ("disagreement_resolution", 5.0, _Rx(r"(?i)\bdisagreement[\s-]+resolution\b", "disagreement")),
    ("disagreement_resolution", 4.0, _Rx(
        rf"(?i)\bmediat\w*\s+(?:meeting\s+|session\s+)?(?:with|between)\s+{_DETERMINER}{_SETTING}\b",
        r"\bmediat", _SETTINGS, anchor=r"\bmediat", reach=(0, 90))),
    ("disagreement_resolution", 3.0, _Rx(
        rf"(?i)\bbetween\s+(?:myself|me|us|the\s+family|the\s+parents?|parents?|the\s+school)\s+and\s+"
        rf"(?:[\w'-]+\s+){{0,5}}?{_SETTING}\b", "between", _SETTINGS)),
    ("disagreement_resolution", 2.5, _SETTING_FAILS),
    ("disagreement_resolution", 2.5, _SETTING_SHOULD),
    ("disagreement_resolution", 2.0, _Rx(
        r"(?i)\bnot\s+(?:arguing|disputing|disagreeing|challenging|unhappy)\s+(?:with\s+)?(?:the\s+)?"
        r"(?:council|la|local authority)\b"
        r"|\bnothing wrong with\s+(?:what'?s?\s+(?:is\s+)?(?:written\s+)?in\s+)?the\s+plan"
        r"|\b(?:it'?s|is)\s+a\s+good\s+plan\b|\bhappy with\s+(?:the|her|his)\s+plan\b",
        ("not ", "nothing wrong", "good plan", "happy with"))),
    ("disagreement_resolution", 3.0, _Rx(
        r"(?i)\bresolv\w*\s+(?:a\s+|the\s+|our\s+|this\s+)?(?:disagreement|dispute|issue|problem|conflict)s?\s+with\s+"
        rf"{_DETERMINER}{_SETTING}\b", "resolv", _SETTINGS)),
    ("disagreement_resolution", 1.5, _Rx(
        r"(?i)\btop[\s-]?up\s+funding\b"
        r"|\b(?:complaint|disagreement|dispute|falling out)\s+with\s+(?:the|his|her|their)\s+"
        r"(?:school|academy|college|nursery|setting)",
        ("top", "complaint", "disagreement", "dispute", "falling out"))),
    ("mediation", 3.0, _Rx(
        r"(?i)\b(?:request(?:s|ing|ed)?|apply(?:ing)?|ask(?:s|ing|ed)?\s+for|like|want(?:s|ing)?|try(?:ing)?|go\s+to"
        r"|go\s+for|going\s+to|start|arrange|book|refer\w*|needs?|seek\w*|proceed\s+(?:to|with)|have|attend"
        r"|progress\s+to|to"
        r"|get|getting|organi[sz]e|sort|go\s+ahead(?:\s+and)?|set\s+up|help\s+(?:us\s+|me\s+)?with"
        r"|interested\s+in|looking\s+for|opt\s+for|pursue|pursuing|use|access|begin|take\s+up)"
        rf"\s+{_REQUEST_GAP}mediation\b"
        rf"(?!\s+(?:meeting\s+|session\s+)?(?:with|between)\s+{_DETERMINER}{_SETTING}\b)"
        r"|\b(?:like|want|wish|willing|happy|agree|prepared|ready)\s+to\s+(?:try\s+to\s+)?mediate\b",
        r"\bmediat", anchor=r"\bmediat", reach=(110, 120))),
    ("mediation", 2.5, _Rx(
        r"(?i)\bmediation\s+(?:[\w-]+\s+|-\s+){0,2}?(?:referral|request|application|meeting|session)\b"
        r"|\b(?:asked|like|want|wish)\s+(?:me\s+|us\s+)?to\s+refer\b|\brefer(?:ral)?\s+(?:\w+\s+){0,3}?to\s+(?:you|your"
        r"\s+service)\b"
        r"|\b(?:refer\w*|request)\s+(?:him|her|them|the family|mum|dad|(?:ms|mrs|mr|miss|dr)\.?\s+\w+)\s+(?:for|to)\s+"
        r"mediation", (r"\bmediat", "refer"), anchor=r"\bmediat|\brefer", reach=(60, 80))),
    ("mediation", 0.5, _BARE_MEDIATION),
)  # fmt: skip
_ENQUIRY_CUES: tuple[tuple[float, _Rx], ...] = (
    (3.0, _Rx(
        r"(?i)\b(?:haven't|have not|havent|not yet|hasn't|has not)\s+(?:yet\s+|really\s+)?decided\b"
        r"|\bnot sure\s+(?:yet\s+)?(?:if|whether)\b|\b(?:before|until)\s+(?:i|we)\s+decide\b"
        r"|\bdecide\s+(?:if|whether)\b|\bundecided\b|\b(?:thinking|think) about (?:whether|if)\b"
        r"|\bdifference\s+between\b",
        ("decide", "not sure", "think", "difference"))),
    (2.0, _Rx(
        r"(?i)\bhow (?:does|do|would|will|can) (?:it|this|mediation|the process|your service|that) work"
        r"|\bhow it works\b|\b(?:does|do|would|will) (?:your|the) service (?:cover|work|apply|deal|help)"
        r"|\bdo you (?:cover|work|deal|offer|provide|do)\b|\b(?:can|could) (?:you|someone|anyone) "
        r"(?:point|tell|advise|explain)\b|\b(?:just\s+)?(?:want|wanted|like|need)\s+to\s+(?:know|find out|understand)\b"
        r"|\bmore information\b|\bsome (?:advice|information)\b|\bwondering (?:if|whether)\b|\bquick question\b"
        r"|\bam i (?:eligible|able)\b|\bcan i (?:ask|get|have) (?:a|some) (?:question|advice|information)"
        r"|\bwhat (?:happens|is involved)\b|\binformation\s+(?:about|on|regarding)\b",
        ("how", "do", "can you", "to know", "find out", "understand", "information", "advice", "wonder", "question",
         "explain", "am i", "what"))),
)  # fmt: skip
# "Can I ask for mediation without my parents?", "Can parents self-refer, or does it have to come through the
# council?": a question about who may ask or how, not yet a request. Counts only in a question without "please"
# that also carries a marker of eligibility or procedure.
_ELIGIBILITY_Q = _Rx(
    r"(?i)\b(?:can|could|do|does|should|must|may|would)\s+(?:i|we|parents?|families|carers?|young\s+people"
    r"|a\s+young\s+person|they|he|she|my\s+(?:mum|dad|parents?|son|daughter|child))\b(?:\s+[\w'-]+){0,4}?\s+"
    r"(?:ask|apply|request|self-?refer|refer|go|need|have\s+to)\b",
    ("can", "could", "do", "should", "must", "may", "would"),
)
_ELIGIBILITY_MARK = re.compile(
    r"(?i)\b(?:myself|themselves|without|on\s+(?:my|our|their)\s+own|allowed|or\s+(?:does|do|is|will|must|has)"
    r"|have\s+to|has\s+to|need\s+to|still|even\s+(?:if|though)|directly|at\s+my\s+age|eligible|over\s+\d\d|under\s+\d\d)\b"
)


def _eligibility_questions(src: Source) -> int:
    n = 0
    for m in _ELIGIBILITY_Q.finditer(src):
        s, e = _sentence_around(src.norm, m.start(), m.end())
        sentence = src.norm[s:e].strip()
        if sentence.endswith("?") and "please" not in sentence.lower() and _ELIGIBILITY_MARK.search(sentence):
            n += 1
    return n


_APPEALABLE_TOPICS = frozenset(
    {"refusal_to_assess", "refusal_to_issue", "section_b", "section_f", "section_i", "refusal_to_reassess",
     "refusal_to_amend", "cease_plan"}
)  # fmt: skip


def extract_service(ctx: Ctx, topics: list[str]) -> tuple[str | None, Evidence | None]:
    """What the sender asks for; None when it is a question with no request yet."""
    scores: dict[str, float] = {}
    best_hit: dict[str, Candidate] = {}
    enquiry = bare = 0.0
    for src in ctx.by_name("body", "forwarded", "subject"):
        negations = [(m.start(), m.end()) for m in _MEDIATE_NEG.finditer(src)]
        for a, b in negations:
            _add_score(scores, best_hit, "certificate", 4.0 * src.weight, src, a, b)
        for service, weight, rx in _SERVICE_CUES:
            for m in rx.finditer(src):
                if src.skipped(m.start()) or any(a < m.end() and m.start() < b for a, b in negations):
                    continue
                if rx is _BARE_MEDIATION:
                    bare += weight * src.weight
                    w = weight * src.weight
                else:
                    w = weight * src.weight * _question_factor(src.norm, m.start(), m.end())
                _add_score(scores, best_hit, service, w, src, m.start(), m.end())
        for weight, rx in _ENQUIRY_CUES:
            enquiry += sum(weight * src.weight for _ in rx.finditer(src))
        enquiry += 3.0 * src.weight * _eligibility_questions(src)
    # A request needs more than a bare mention of the word "mediation".
    request = sum(scores.values()) - bare
    if request <= 0.6:
        return None, None
    if any(t in _APPEALABLE_TOPICS for t in topics):
        scores["mediation"] = scores.get("mediation", 0.0) + 1.5
    service = max(scores, key=lambda k: scores[k])
    if enquiry >= scores[service]:
        return None, None
    hit = best_hit.get(service)
    return service, (_evidence(service, hit.src, hit.start, hit.end) if hit else None)


def _add_score(scores, best_hit, key: str, w: float, src: Source, a: int, b: int) -> None:
    scores[key] = scores.get(key, 0.0) + w
    cur = best_hit.get(key)
    if cur is None or w > cur.score:
        best_hit[key] = Candidate(key, w, src, a, b)


def _question_factor(norm: str, start: int, end: int) -> float:
    """A request phrased as a question without "please" ("Can I ask for mediation myself?") counts half."""
    s, e = _sentence_around(norm, start, end)
    sentence = norm[s:e].strip()
    if sentence.endswith("?") and not re.search(r"(?i)\bplease\b", sentence):
        return 0.5
    return 1.0


# ---------------------------------------------------------------------------------------------------
# Local authority
# ---------------------------------------------------------------------------------------------------

_STREET_WORDS = re.compile(
    r"(?:Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Drive|Dr|Close|Way|Place|Crescent|Gardens|Grove|Terrace|Square|Hill"
    r"|Park|Row|Walk|Court|Mews|Parade|Rise|Green|Coldfield|Vale|Business|House|Centre|Center|Hospital|Station"
    r"|Airport|University|Town|United|FC|Villa|Rovers|Wanderers)\b"
)
_DESIGNATORS = re.compile(
    r"(?:Council|County|City|Borough|Metropolitan|Local|Authority|LA|SEN|SEND|SENDIASS|IASS|EHC|EHCP|Children|"
    r"Childrens|Children's|Education|Inclusion|Family|Families)\b"
)
_HONORIFIC_BEFORE = re.compile(r"(?i)\b(?:mr|mrs|ms|miss|mx|dr|prof|sir|lady|lord|st)\.?\s+$")
_MOVED_FROM = re.compile(
    r"(?i)\b(?:moved|relocated|transferr\w*|came|come)\s+(?:here\s+|over\s+|house\s+|area\s+)?(?:\w+\s+){0,2}?"
    r"from\s+(?:the\s+)?$"
    r"|\b(?:previously|formerly|originally|used\s+to\s+(?:live|be|have\s+(?:an?\s+)?(?:ehcp|plan))|lived)"
    r"(?:\s+(?:in|with|at|under|by|from))?\s+(?:the\s+)?$"
    r"|\b(?:previous|former|old|last|original)\s+(?:la|local authority|council|borough|authority)\s*"
    r"(?:was|is|,|:|-|\()?\s*(?:the\s+)?$"
)
_MOVED_TO = re.compile(
    r"(?i)\b(?:moved|relocated|transferr\w*)\b[^.\n]{0,60}?\bto\s+(?:the\s+)?$"
    r"|\bnow\s+(?:with|in|under|at|(?:live|living|lives|based)\s+in)\s+(?:the\s+)?$"
    r"|\b(?:we|they|i|family)\s+(?:now\s+)?(?:live|lives|living|are)\s+in\s+(?:the\s+)?$"
    r"|\b(?:new|current|home)\s+(?:la|local authority|council|borough|authority)\s*(?:is|,|:|-|\()?\s*(?:the\s+)?$"
    r"|\bmaintained by\s+(?:the\s+)?$|\b(?:ehcp|ehc plan|plan)\s+(?:is\s+)?(?:from|with)\s+(?:the\s+)?$"
)
# After the name: "Trafford now hold his plan", "Herts have taken over the plan".
_NOW_RESPONSIBLE = re.compile(
    r"(?i)\s+(?:(?:county|city|borough)\s+)?(?:council\s+)?(?:now|currently)\s+(?:hold|holds|maintain|maintains"
    r"|has|have|is|are|own|owns)\b|\s+(?:(?:council\s+)?(?:have|has)\s+)?(?:now\s+)?(?:taken|took)\s+over\b"
)
_ELSEWHERE = re.compile(
    r"(?i)\b(?:school|college|placement|provision|setting|unit|academy)\s+(?:is\s+)?(?:\w+\s+){0,4}?in\s+(?:the\s+)?$"
    r"|\b(?:border|boundary)\s+(?:in|into|with|from)\s+$|\bout[\s-]of[\s-](?:county|borough|area)\b[^.\n]*$"
)
_COUNCIL_NAMED = re.compile(
    r"\b((?:[A-Z][\w'&-]+\s+){0,3}?[A-Z][\w'&-]+)\s+"
    r"(?:(?:City|County|Borough|Metropolitan Borough|District)\s+)?Council\b"
)


def extract_local_authority(ctx: Ctx, directory: Directory | None) -> tuple[LocalAuthority | None, Evidence | None]:
    """The council responsible for the child now, from directory mentions scored by source and cue."""
    if directory is None:
        return None, None
    cands: list[Candidate] = []
    moved_from: set[str] = set()
    for src in ctx.sources:
        if src.name == "header":
            cands.extend(_header_la_candidates(src, ctx, directory))
            continue
        for cand, demoted in _la_candidates(src, directory, ctx):
            cands.append(cand)
            if demoted:
                moved_from.add(cand.value.name)  # type: ignore[attr-defined]
    cands.extend(_la_field_candidates(ctx, directory))
    if not cands:
        return None, None
    totals: dict[str, float] = {}
    for c in cands:
        name = c.value.name  # type: ignore[attr-defined]
        if name in moved_from:
            c.score *= 0.1  # the council the family left: responsible no longer
        totals[name] = totals.get(name, 0.0) + c.score
    first_seen: dict[str, int] = {}
    for c in sorted(cands, key=lambda c: c.order):
        first_seen.setdefault(c.value.name, c.order)  # type: ignore[attr-defined]
    winner = max(totals, key=lambda n: (totals[n], -first_seen[n]))
    best = _best([c for c in cands if c.value.name == winner])  # type: ignore[attr-defined]
    assert best is not None
    la = best.value
    return la, _evidence(la.name, best.src, best.start, best.end)  # type: ignore[attr-defined]


def _la_candidates(src: Source, directory: Directory, ctx: Ctx):
    found = list(_safe_find(directory, src.norm))
    covered = [(m.start, m.end) for m in found]
    for m in _COUNCIL_NAMED.finditer(src.norm):
        # "Warington Borough Council": a misspelt council the gazetteer's find missed; lookup is tolerant.
        if any(a < m.end() and m.start() < b for a, b in covered):
            continue
        la = _safe_lookup(directory, m.group(1))
        if la is not None:
            found.append(_Mention(la, m.start(), m.end(), m.group(0), True))
    for mention in found:
        weight = _la_mention_weight(src, mention, ctx)
        if weight is None:
            continue
        before = _clause_before(src.norm, mention.start, 110)
        after = src.norm[mention.end : mention.end + 50]
        demoted = bool(_MOVED_FROM.search(before))
        if demoted:
            weight *= 0.1
        elif _MOVED_TO.search(before) or _NOW_RESPONSIBLE.match(after):
            weight *= 2.0
        elif _ELSEWHERE.search(before):
            weight *= 0.4  # "his school is in Kingston": a place, not his council
        yield Candidate(mention.authority, weight, src, mention.start, mention.end, _order(src, mention.start)), demoted


@dataclass(slots=True)
class _Mention:
    authority: LocalAuthority
    start: int
    end: int
    text: str
    explicit: bool


def _la_mention_weight(src: Source, mention, ctx: Ctx) -> float | None:
    """How much one mention counts, or None when it is not about the family's council at all."""
    norm = src.norm
    start, end = mention.start, mention.end
    if src.skipped(start) or _inside_address_token(norm, start, end):
        return None
    line_start = norm.rfind("\n", 0, start) + 1
    line_end = norm.find("\n", end)
    line = norm[line_start : line_end if line_end >= 0 else len(norm)]
    if any(pc in line for pc in ctx.own_postcodes) or _in_postal_address(line, start - line_start):
        return None  # a postal address (ours, a school's, a council office's) is not the child's council
    if _HONORIFIC_BEFORE.search(norm[max(0, start - 8) : start]):
        return None  # "Mrs Sutton", "St Helens Road": a person or a saint, not a borough
    if mention.text.strip().lower() == "london":
        return None
    weight = src.weight
    after = norm[end : end + 40]
    nxt = re.match(r" ([A-Z][\w'&-]*)", after)
    if not mention.explicit and nxt and not _DESIGNATORS.match(nxt.group(1)):
        if _STREET_WORDS.match(nxt.group(1)):
            return None  # "Birmingham Road", "Sutton Coldfield", "Derby Hospital"
        weight *= 0.3  # part of another proper noun ("Harrow Way School"?): weak
    if re.match(r"\s*(?:Road|Rd|Street|St|Lane|Avenue|Way|Place)\b", after):
        return None
    if mention.explicit:
        weight *= 2.0
    if src.in_signoff(start) and src.name != "signature":
        weight *= 0.35  # a signature's team or employer name: the body outweighs it
    if ctx.writes_for_la and src.in_signoff(start):
        weight /= 0.35  # "our decision", signed "SEND Officer, X Council": the signature names the LA
    return weight


_ADDRESS_SEGMENT = re.compile(r"[^|,;]+")


def _in_postal_address(line: str, pos: int) -> bool:
    """Is pos inside the address part of a line ("Civic Centre, Victoria Road, Hartlepool TS24 8AY")?

    Only the comma/bar-separated piece holding the postcode or a house number is address: the council
    name earlier on a signature line ("Hartlepool Borough Council | Civic Centre, ...") still counts."""
    if not _POSTCODE.search(line):
        return False
    for seg in _ADDRESS_SEGMENT.finditer(line):
        if seg.start() <= pos < seg.end():
            piece = seg.group()
            return bool(_POSTCODE.search(piece) or re.match(r"\s*\d", piece))
    return False


def _inside_address_token(norm: str, start: int, end: int) -> bool:
    a = start
    while a > 0 and not norm[a - 1].isspace():
        a -= 1
    b = end
    while b < len(norm) and not norm[b].isspace():
        b += 1
    token = norm[a:b]
    return "@" in token or "://" in token or token.lower().startswith("www.")


def _la_field_candidates(ctx: Ctx, directory: Directory):
    for f in _fields(ctx, "la"):
        mentions = list(_safe_find(directory, f.value))
        la = mentions[0].authority if mentions else _safe_lookup(directory, f.value)
        if la is None:
            continue
        start, end = f.start, f.end
        if mentions:
            start, end = f.start + mentions[0].start, f.start + mentions[0].end
        # A form's "Local authority:" answer is the family's own statement of it: strongest.
        yield Candidate(la, 6.0 * f.source.weight, f.source, start, end, _order(f.source, start))


def _header_la_candidates(src: Source, ctx: Ctx, directory: Directory):
    """An LA officer's address (…@lewisham.gov.uk) hints weakly at their council."""
    domain = ctx.sender_email.rpartition("@")[2]
    if not re.search(r"\.gov\.uk$", domain):
        return
    at = src.norm.rfind("@")
    labels = domain.removesuffix(".gov.uk").split(".")
    for label in labels:
        if label in ("example", "www", "mail"):
            continue
        la = _safe_lookup(directory, label.replace("-", " "))
        if la is not None:
            pos = max(at, 0)
            yield Candidate(la, 0.3, src, pos, len(src.text), _order(src, pos))
            return


def _safe_find(directory: Directory, text: str):
    try:
        return directory.find(text)
    except Exception as exc:  # the directory is another module's: a bug there must not lose the referral
        _log_failure("la_directory.find", exc)
        return []


def _safe_lookup(directory: Directory, text: str) -> LocalAuthority | None:
    try:
        return directory.lookup(text)
    except Exception as exc:
        _log_failure("la_directory.lookup", exc)
        return None


# ---------------------------------------------------------------------------------------------------
# Role
# ---------------------------------------------------------------------------------------------------

_JOB_TITLE = re.compile(
    r"(?i)\b(?:senco|sendco|sen(?:d)?\s+(?:officer|caseworker|case officer|coordinator|co-ordinator|manager|lead"
    r"|advisor|adviser|practitioner)|case\s?worker|casework officer|social worker|family support worker|advocate"
    r"|sendiass|\biass\b|parent partnership|educational psychologist|head\s?teacher|head of|deputy head"
    r"|assistant head|principal|inclusion (?:manager|lead|officer|coordinator)|teacher|key\s?worker|support worker"
    r"|officer|practitioner|therapist|nurse|paediatrician|consultant|manager|co-?ordinator|adviser|advisor"
    r"|solicitor|paralegal|clinician|psychologist|director|team leader|specialist)\b"
)
_ROLE_CUES: tuple[tuple[str, float, _Rx], ...] = (
    ("young_person", 3.0, _Rx(
        r"(?i)\b(?:i'?m|i am|im)\s+(?:now\s+|aged\s+|only\s+)?(?:1[6-9]|2[0-5])\b"
        r"(?!\s*(?:minutes|mins|hours|hrs|weeks|months|days|miles|%|:|\.\d|am|pm|years? old (?:son|daughter)))"
        r"|\b(?:i'?m|i am)\s+a\s+young\s+(?:person|adult)\b",
        ("i'm", "i am", "im "))),
    ("young_person", 2.0, _Rx(
        r"(?i)\bmy\s+(?:own\s+|new\s+|draft\s+|final\s+|current\s+)?(?:ehcp|ehc\s+plan|e\.h\.c\.p)\b"
        r"|\bi\s+(?:have|'ve got|have got|got)\s+(?:an?\s+)?(?:ehcp|ehc\s+plan)\b"
        r"|\b(?:ask|apply|request|refer)\w*\s+(?:for\s+)?(?:mediation\s+)?(?:for\s+)?myself\b",
        ("my ", "i have", "i've", "i got", "myself"))),
    ("young_person", 1.0, _Rx(
        r"(?i)\bmy\s+(?:mum|mom|dad|mother|father|parents|carer|foster\s+carer|aunt|college|course|apprenticeship"
        r"|careers\s+adviser|tutor)\b",
        "my ")),
    ("parent", 3.0, _Rx(
        r"(?i)\b(?:my|our)\s+(?:[\w-]+\s+){0,2}?(?:son|daughter|child|children|grandson|granddaughter|stepson"
        r"|stepdaughter|step-son|step-daughter|boy|girl|twins|kids?|little one|foster\s+(?:son|daughter|child)"
        r"|grandchild)\b",
        ("my ", "our "))),
    ("parent", 3.0, _Rx(
        r"(?i)\b(?:i'?m|i am)\s+(?:his|her|their|[\w-]+'s)\s+(?:mum|mom|dad|mother|father|parent|carer|grandmother"
        r"|grandfather|nan|gran|grandma|grandad|special guardian|guardian|foster carer|step-?mum|step-?dad|aunt"
        r"|uncle)\b"
        r"|\(\s*[\w-]+'s\s+(?:mum|mom|dad|mother|father|carer|nan|gran|grandma|grandad|grandmother|grandfather"
        r"|guardian|special guardian)\s*\)|\bi\s+(?:am|'m)\s+(?:a\s+|the\s+)?(?:special guardian|kinship carer"
        r"|foster carer|parent|carer)\b|\bi\s+have\s+parental responsibility\b|\bas\s+(?:a\s+)?parents?\b"
        r"|\b(?:mum|mom|dad|mother|father)\s+(?:to|of)\s+[A-Z]",
        ("i'm", "i am", "'s", "as a parent", "as parent", "parental", "mum ", "mom ", "dad ", "mother ", "father "))),
    ("professional", 3.0, _Rx(
        r"(?i)\b(?:i\s+am|i'm|i\s+work\s+as)\s+(?:the|a|an|one of the)\s+(?:[\w-]+\s+){0,3}?(?:senco|sendco|officer"
        r"|caseworker|case worker|social worker|advocate|teacher|worker|adviser|advisor|co-?ordinator|manager|head"
        r"|practitioner|therapist|nurse|psychologist|solicitor)\b|\bon\s+behalf\s+of\b|\bwriting\s+from\b"
        r"|\b(?:i\s+am|i'm)\s+[\w-]+'s\s+(?:[\w-]+\s+){0,2}?(?:senco|social worker|key\s?worker|advocate|teacher"
        r"|case\s?worker|support worker|therapist|nurse|psychologist|paediatrician|officer|advisor|adviser)\b",
        ("i am", "i'm", "i work", "behalf", "writing from"))),
    ("professional", 2.0, _Rx(
        r"(?i)\b(?:our|one of our)\s+(?:students?|pupils?|learners?|young people|families|clients?|service users?"
        r"|cases?)\b|\bparents?\s+(?:have|has)\s+(?:given\s+)?consent\w*|\bwith\s+(?:the\s+)?(?:parents?'?|family'?s?|"
        r"mum'?s?|dad'?s?)\s+(?:full\s+)?consent|\bplease find (?:below|attached) (?:a|the|my|our) (?:[\w-]+\s+)?"
        r"referral|\b(?:refer(?:ring)?|referral for)\s+(?:her|him|them|the family|this family|mum|dad"
        r"|(?:ms|mrs|mr|miss|dr)\.?\s+\w+)\b|\b(?:ddi|direct line|direct dial)\b",
        ("our ", "consent", "please find", "refer", "ddi", "direct line", "direct dial"))),
    ("professional", 1.0, _Rx(r"(?i)\bthe\s+(?:family|parents|mother|father|child's parents)\b", "the ")),
)  # fmt: skip
_PRO_DOMAIN = re.compile(r"(?i)(?:\.gov\.uk|\.nhs\.(?:uk|net)|\.sch\.uk|\.police\.uk|sendiass|iass|council)$|sendiass")
_FORM_ROLE = (
    ("young_person", re.compile(r"(?i)\byoung person\b|\bstudent\b|\bmyself\b")),
    (
        "professional",
        re.compile(r"(?i)\bprofessional|\bsenco\b|\bschool\b|\bofficer\b|\bworker\b|\bpractitioner|\bsendiass"),
    ),
    ("parent", re.compile(r"(?i)\bparent|\bcarer|\bguardian|\bmum\b|\bdad\b|\bmother|\bfather|\bgrand")),
)


def extract_role(ctx: Ctx) -> tuple[str, Evidence | None]:
    """Who is writing: the young person, a family member, or a professional for a family."""
    for f in _fields(ctx, "role"):
        for role, rx in _FORM_ROLE:
            if rx.search(f.value):
                return role, _evidence(role, f.source, f.start, f.end)
    scores = {"parent": 0.0, "young_person": 0.0, "professional": 0.0}
    hits: dict[str, Candidate] = {}
    for src in ctx.by_name("body", "forwarded", "subject", "signature", "quoted"):
        if src.name == "quoted" and not (src.author and _own_quote(ctx, src)):
            continue  # an earlier message counts only when the sender wrote it
        factor = 0.5 if src.name == "quoted" else 1.0
        for role, weight, rx in _ROLE_CUES:
            for m in rx.finditer(src):
                if src.skipped(m.start()):
                    continue
                _add_score(scores, hits, role, weight * factor, src, m.start(), m.end())
    said_professional = scores["professional"]  # what the words say, before titles and domains
    for src in ctx.by_name("body", "forwarded", "signature"):
        title = _signoff_title(src)
        if title:
            _add_score(scores, hits, "professional", 3.0, src, *title)
    if _PRO_DOMAIN.search(ctx.sender_email.rpartition("@")[2]):
        header = ctx.by_name("header")
        if header:
            _add_score(scores, hits, "professional", 1.5, header[0], 0, len(header[0].text))
    role = max(scores, key=lambda r: (scores[r], r == "parent"))
    if scores[role] <= 0:
        return "parent", None  # a person writing about a child with no other cue: a family member
    if role != "parent" and scores["parent"] >= scores[role]:
        role = "parent"
    if role == "professional" and said_professional < 2.0 and scores["parent"] >= 3.0:
        # "my son" from a work address signed "Teacher, Oak Primary": a parent writing from work.
        role = "parent"
    hit = hits.get(role)
    return role, (_evidence(role, hit.src, hit.start, hit.end) if hit else None)


def _signoff_title(src: Source) -> tuple[int, int] | None:
    """The line with a job title after a sign-off ("Senior SEND Officer | London Borough of X")."""
    if src.name == "signature":
        zone_start = 0
    elif src.signoff < len(src.norm):
        zone_start = src.signoff
    else:
        return None
    for line in re.finditer(r"[^\n]+", src.norm[zone_start:]):
        text = line.group()
        if len(text) <= 90 and text.count(" ") <= 12 and _JOB_TITLE.search(text):
            return zone_start + line.start(), zone_start + line.end()
    return None


# ---------------------------------------------------------------------------------------------------
# Phone
# ---------------------------------------------------------------------------------------------------

_PHONE = re.compile(r"(?<![\w+/.-])(?:\+|00)[\d (). -]{9,22}\d(?![\w/])|(?<![\w+/.-])\(?0[\d (). -]{8,18}\d(?![\w/])")
_PHONE_SELF = re.compile(
    r"(?i)(?:\b(?:call|ring|phone|text|whatsapp|contact|reach|get hold of|get me)\s+(?:me|us)\b|\bme\s+on\b"
    r"|\bmy\s+(?:[\w-]+\s+){0,2}?(?:number|no|line|mobile|phone|tel|cell|dial|contact)\b|\bmy number'?s\b"
    r"|\b(?:ddi|direct(?:\s+(?:line|dial|number|tel|no))?|work mobile|mob|mobile|m|t|tel|telephone|phone|home"
    r"|contact number|contact no)\b\.?\s*[:.|-]?\s*$)"
)
_PHONE_TEAM = re.compile(
    r"(?i)\b(?:team|switchboard|office|reception|main|general|helpline|help line|enquiries|enquiry line|service|"
    r"department|duty|front desk|fax|school|academy|hub|advice line|secretary|pa|assistant|colleague)\b[^\n]{0,25}$"
)
_PHONE_DIRECT = re.compile(r"(?i)\b(?:ddi|direct|mob|mobile|my)\b")
# The writer's own choice among their numbers: "Home X but mobile is best: Y", "Y (preferred)".
_PHONE_BEST = re.compile(r"(?i)\b(?:best|preferred|easiest|quickest)\b(?!\s+(?:wishes|regards))[^\n,;.]{0,20}$")
_PHONE_BEST_AFTER = re.compile(
    r"(?i)\s*(?:\(\s*(?:best|preferred|easiest|quickest)\b|[-,]?\s*(?:is|are|would be)\s+(?:the\s+)?"
    r"(?:best|easiest|preferred|quickest)\b)"
)
_PHONE_ASKED_OTHER = re.compile(
    r"(?i)\b(?:please\s+)?(?:call|ring|phone|contact)\s+(?:my\s+)?(?:husband|wife|partner)\b[^\n]{0,30}$"
)
# Long digit runs that are references, not numbers to ring.
_PHONE_NOT = re.compile(
    r"(?i)\b(?:ref(?:erence)?|case\s+(?:no|number|ref)|nhs(?:\s+no|\s+number)?|upn|uln|account|order|invoice"
    r"|claim|policy)\b[^\n]{0,15}$"
)
_PHONE_OTHER = re.compile(
    r"(?i)\b(?:her|his|their|parents?'?|parent\(s\)|mum'?s?|dad'?s?|mother'?s?|father'?s?|husband'?s?|wife'?s?|"
    r"partner'?s?|carer'?s?|grandparents?'?s?|(?:ms|mrs|mr|miss|dr)\.?\s+[\w-]+'s)\s+(?:[\w.]+\s+){0,2}?"
    r"(?:number|no|tel|phone|mobile|contact|mob)\b|\b(?:try|or)\s+(?:my\s+)?(?:husband|wife|partner|mum|dad|mother|"
    r"father|ex|[\w-]+'s)\b|\b(?:husband|wife|partner)\b|\bparents?(?:\(s\))?\s*(?:tel|phone|mobile|number|contact)"
)


def extract_phone(ctx: Ctx) -> tuple[str | None, Evidence | None]:
    """The best number to call the sender back on, as E.164."""
    cands: list[Candidate] = []
    seen_field_spans: set[tuple[str, int]] = set()
    for f in _fields(ctx, "phone"):
        for cand in _phone_candidates(ctx, f.source, f.start, f.end, label=f.label):
            cands.append(cand)
            seen_field_spans.add((f.source.name, cand.start))
    for src in ctx.sources:
        if src.name in ("header", "subject") or (src.name == "quoted" and not _own_quote(ctx, src)):
            continue
        for cand in _phone_candidates(ctx, src, 0, len(src.norm)):
            if (src.name, cand.start) not in seen_field_spans:
                cands.append(cand)
    best = _best([c for c in cands if c.score > -50])
    if best is None:
        return None, None
    return str(best.value), _evidence(best.value, best.src, best.start, best.end)


def _own_quote(ctx: Ctx, src: Source) -> bool:
    """Quoted text the sender wrote themselves (or whose writer is unknown), never ours or a third party's."""
    return not src.from_us and (not src.author or src.author == ctx.sender_email)


def _phone_candidates(ctx: Ctx, src: Source, a: int, b: int, label: str | None = None):
    for m in _PHONE.finditer(src.norm, a, b):
        number = _to_e164(m.group())
        if number is None or number in ctx.own_phones or src.skipped(m.start()):
            continue
        line_start = src.norm.rfind("\n", 0, m.start()) + 1
        line_end = src.norm.find("\n", m.end())
        line = src.norm[line_start : line_end if line_end >= 0 else len(src.norm)]
        if any(pc in line for pc in ctx.own_postcodes):
            continue
        if src.name == "forwarded":
            author = src.part_sender(m.start())
            if author and ctx.sender_email and author.lower() != ctx.sender_email:
                continue  # a forwarded letter's numbers are its writer's (the council's), not the sender's
        score = {"body": 3.0, "forwarded": 3.0, "signature": 2.5, "quoted": 0.5}.get(src.name, 1.0)
        if label is not None:
            score += 1.0
            prefix = label + ": "
        else:
            prefix = _phone_prefix(src.norm, line_start, m.start())
        if _PHONE_NOT.search(prefix[-30:]):
            continue
        if _PHONE_SELF.search(prefix[-45:]):
            score += 2.0
            if ctx.role == "professional" and _PHONE_DIRECT.search(prefix[-30:]):
                score += 0.5  # "DDI"/"Mob" is the person; a bare "Tel" on a signature is often the office
        if _PHONE_BEST.search(prefix[-40:]) or _PHONE_BEST_AFTER.match(src.norm, m.end(), m.end() + 30):
            score += 2.5
        if _PHONE_TEAM.search(prefix[-30:]):
            score -= 2.0
        if _PHONE_OTHER.search(prefix[-60:]):
            # Someone else's number: for a professional the parent's is never theirs to give as a call-back;
            # for a parent a partner's is the second choice, unless they ask us to ring the partner.
            if ctx.role == "professional":
                score -= 100.0
            elif _PHONE_ASKED_OTHER.search(prefix[-60:]):
                score += 2.0
            else:
                score -= 4.0
        yield Candidate(number, score, src, m.start(), m.end(), _order(src, m.start()))


def _phone_prefix(norm: str, line_start: int, pos: int) -> str:
    """The words leading to a number: its line, or the sentence before when the number stands alone."""
    prefix = norm[max(line_start, pos - 120) : pos]
    # Cut at an earlier number on the same line, so "call me on X, or try my husband on Y" splits.
    earlier = list(_PHONE.finditer(prefix))
    if earlier:
        prefix = prefix[earlier[-1].end() :]
    if not prefix.strip(" |:-"):
        # Label on the line before a table cell ("Parent tel.\n| +44 ...", "Parent tel.\n\n+44 ...").
        before = norm[max(0, line_start - 120) : line_start].rstrip()
        prefix = before[before.rfind("\n") + 1 :].strip() + ": " + prefix
    return prefix


def _to_e164(raw: str) -> str | None:
    text = raw.replace("(0)", "").strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        text = "+" + digits[2:]
        digits = digits[2:]
    if not 9 <= len(digits) <= 15:
        return None
    try:
        num = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    if num.country_code == 44:
        national = str(num.national_number)
        # UK numbers: geographic (1, 2), non-geographic (3), mobile (7), special (8). Fictional Ofcom drama
        # ranges (07700 900xxx, 01632 960xxx) are not "valid" to phonenumbers but are real to a tester.
        if len(national) not in (9, 10) or national[0] not in "12378":
            return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


# ---------------------------------------------------------------------------------------------------
# People's names
# ---------------------------------------------------------------------------------------------------


def _upper_class() -> str:
    """A character class of the capital letters of the Latin, Greek and Cyrillic blocks (re has no \\p{Lu})."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x41, 0x530):
        if chr(code).isupper():
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "[" + "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges) + "]"


# Months that are also first names (April, May, June, July, August, Jan) and "Will" are left out on purpose.
# A capitalised word, with accents (also combining ones), hyphens and apostrophes: "Zoë", "Hartley-Bennett",
# "O'Brien", "Whitcombe's". Only capitalised words can be names, so the scan skips everything else.
_NAME_TOKEN = re.compile(
    r"(?<![\w@.])" + _upper_class() + r"(?:[^\W\d_]|[\u0300-\u036f])*(?:[-'](?:[^\W\d_]|[\u0300-\u036f])+)*"
)
_NOT_NAMES = _words(
    "i a an the my our his her their your we he she they it this that these those mr mrs ms miss mx dr "
    "prof sir madam dear hi hello hiya hey thanks thank regards kind best many yours sincerely please re "
    "fw fwd fwd: cc council borough county city london royal local authority la sen send senco sendiass "
    "iass ehc ehcp ehcna plan plans section sections school schools academy college nursery primary "
    "secondary infant infants junior juniors high grammar centre center unit trust federation mediation "
    "mediator mediations referral referrals request enquiry question certificate tribunal appeal "
    "disagreement resolution facilitation facilitated meeting meetings year reception dob d.o.b date "
    "birth born age aged monday tuesday wednesday thursday friday saturday sunday january february march "
    "september october november december feb mar apr jun jul aug sep sept "
    "oct nov dec team service services office officer department children's childrens children social "
    "care health nhs camhs salt ot ta lsa parent parents carer mum dad mother father son daughter child "
    "grandmother grandfather nan gran also and or but so if when then after before since until as at in "
    "on of for to from with by about regarding subject note information details message phone tel mobile "
    "email name address postcode consent yes no not new final draft annual review amended independent "
    "specialist mainstream special needs provision support education psychologist speech language therapy "
    "autism adhd asd down's down whatsapp teams zoom online sir/madam kids colleagues everyone all team, "
    "is was are has have had can could would should shall did does do just still only there here "
    "what why how who where which while good morning afternoon evening warm wishes cheers diolch "
)
_INSTITUTION_AFTER = re.compile(
    r" (?:School|Academy|College|Nursery|Primary|Secondary|High|Infants?|Juniors?|Centre|Center|Council|Borough"
    r"|County|Trust|Hospital|Road|Street|Lane|Avenue|Close|Drive|Way|Team|Service|Services|SENDIASS|IASS|SEN|SEND)\b"
)


@dataclass(slots=True)
class NameSpan:
    tokens: list[str]
    start: int
    end: int
    possessive: bool  # written as "Ella's"

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def _is_name_word(tok: str, *, first: bool) -> bool:
    if not tok or not tok[0].isupper() or tok.lower() in _NOT_NAMES:
        return False
    apostrophe = tok.find("'")
    if 0 < apostrophe < len(tok) - 1 and tok[apostrophe + 1].islower():
        return False  # "I'm", "We'd", "Don't": contractions, where "O'Brien" has a capital
    if len(tok) == 1:
        return first  # an initial ("K Asante")
    return not (tok.isupper() and len(tok) > 3)  # "EHCP", "CAMHS": acronyms, not names


def name_spans(norm: str, a: int = 0, b: int | None = None) -> list[NameSpan]:
    """Runs of 1-3 capitalised name words on one line ("Zoë Hartley-Bennett", "Ella Whitcombe's").

    One pass over the word tokens: a run grows while the next token is a name word one space after
    the last, and ends at anything else (a possessive ends it too)."""
    b = len(norm) if b is None else b
    spans: list[NameSpan] = []
    run: list[str] = []
    run_start = run_end = -1
    closed = True
    for m in _NAME_TOKEN.finditer(norm, a, b):
        start, stop = m.span()
        tok = m.group()
        possessive = tok.endswith("'s")
        core = tok[:-2] if possessive else tok.rstrip("'")
        name_like = (
            _is_name_word(core, first=True)
            and not _glued_to_address(norm, start, stop)
            and not _glued_to_digits(norm, stop)
        )
        joins = (
            name_like
            and not closed
            and start == run_end + 1
            and norm[run_end] == " "
            and len(run) < 3
            and not (len(run[-1]) == 1 and len(core) == 1)
        )
        if joins and len(core) == 1:
            joins = False  # an initial only starts a name ("K Asante"), it never follows one
        if not joins:
            _close_run(spans, run, run_start, run_end, closed)
            run, closed = [], True
            if not name_like:
                continue
            run_start = start
        run.append(core)
        run_end = start + len(core)
        closed = False
        if possessive:
            if _valid_run(run):
                spans.append(NameSpan(run, run_start, run_end, True))
            run, closed = [], True
    _close_run(spans, run, run_start, run_end, closed)
    return spans


def _valid_run(run: list[str]) -> bool:
    return bool(run) and not (len(run) == 1 and len(run[0]) == 1)


def _close_run(spans: list[NameSpan], run: list[str], start: int, end: int, closed: bool) -> None:
    if not closed and _valid_run(run):
        spans.append(NameSpan(run, start, end, False))


def _glued_to_address(norm: str, start: int, stop: int) -> bool:
    """Part of an e-mail address or domain ("renee.osei@example.com"), not a written name."""
    if start > 0 and (norm[start - 1].isalnum() or norm[start - 1] in "@._"):
        return True
    return stop + 1 < len(norm) and norm[stop] in "@." and norm[stop + 1].isalnum()


def _glued_to_digits(norm: str, stop: int) -> bool:
    """A reference code ("KM-25-0877", "SEND-44871", "AB12"), not a name: letters run straight into digits."""
    if stop < len(norm) and norm[stop].isdigit():
        return True
    return stop + 1 < len(norm) and norm[stop] in "-/_" and norm[stop + 1].isdigit()


def _clean_display_name(name: str) -> str:
    """ "Stanhope, Olivia: RBKC" -> "Olivia Stanhope"; drops organisation tails and quotes."""
    name = name.strip().strip('"').strip()
    name = re.split(r"\s*[:(|\[]\s*|\s+-\s+|\s+via\s+", name, maxsplit=1)[0]
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        if last and first and " " not in last:
            name = f"{first} {last}"
    return " ".join(name.split())


# ---------------------------------------------------------------------------------------------------
# Child
# ---------------------------------------------------------------------------------------------------

_CHILD_BEFORE: tuple[tuple[float, re.Pattern[str]], ...] = (
    (4.0, re.compile(
        r"(?i)\b(?:my|our)\s+(?:[\w-]+\s+){0,3}?(?:son|daughter|child|grandson|granddaughter|stepson|stepdaughter"
        r"|step-son|step-daughter|boy|girl|nephew|niece|foster\s+(?:son|daughter|child)|grandchild|ward|twins?)"
        r"\s*[,(]?\s*(?:(?:who\s+is\s+|is\s+)?(?:called|named)\s+|is\s+)?$")),
    (3.0, re.compile(
        r"(?i)\b(?:her|his|their|the\s+family's|ms\s+\w+'s|mrs\s+\w+'s|mr\s+\w+'s)\s+(?:[\w-]+\s+){0,2}?"
        r"(?:son|daughter|child|grandson|granddaughter|stepson|stepdaughter)\s*,?\s*$")),
    (4.0, re.compile(
        r"(?i)\b(?:one\s+of\s+our|our|a|the)\s+(?:[\w-]+\s+)?"
        r"(?:students?|pupils?|learners?|young\s+people|young\s+person|children|child)\s*[,:(-]?\s*$")),
    (4.0, re.compile(
        r"(?i)\b(?:mum|mom|mummy|dad|daddy|mother|father|parent|carer|guardian|grandma|nan)\s+(?:to|of)\s+$")),
    (4.0, re.compile(
        r"(?i)\b(?:(?:son|daughter|child|grandson|granddaughter)'?s|his|her|their)\s+(?:full\s+)?names?"
        r"\s+(?:is|are)\s+$")),
    (3.0, re.compile(r"(?i)\b(?:pupils?|students?|learners?|young\s+person|child)\b[^.\n]{0,25},\s*$")),
    (2.0, re.compile(r"(?i)\b(?:for|regarding|re:?|about|concerning|on behalf of|named|called)\s+$")),
)  # fmt: skip
_CHILD_AFTER: tuple[tuple[float, re.Pattern[str]], ...] = (
    (4.0, re.compile(
        r"(?i)^\s*\(\s*(?:dob|d\.o\.b|born|aged?\b|\d{1,2}\s*(?:\)|years?|yrs?|y/?o|,)|year\s*\d|y\d|yr\s*\d"
        r"|date of birth|reception|nursery)")),
    (3.5, re.compile(r"(?i)^\s*,?\s*(?:dob|d\.o\.b|born\b|aged\s+\d|date of birth|who is \d|age \d)")),
    (3.0, re.compile(
        r"(?i)^\s*,\s*(?:\d{1,2}\s*,\s*)?(?:whose|who\s+(?:has|is|attends))\s+(?:\w+\s+)?"
        r"(?:ehcp|ehc|plan|needs|statement|school|in\s+year|autistic|diagnosed)"
        r"|^\s*,\s*(?:y|yr|year)\s*\d{1,2}\b|^\s*,\s*(?:aged?\s+)?\d{1,2}\s*(?:\)|,|years?|yrs?|y/?o)")),
    (2.0, re.compile(
        r"(?i)^\s+(?:is|was|turned|turns)\s+(?:now\s+|only\s+|just\s+)?"
        r"(?:\d{1,2}\b|aged|in\s+year|born|in\s+reception|in\s+nursery)")),
)  # fmt: skip
_POSSESSIVE_AFTER = re.compile(
    r"(?i)^\s*(?:ehc|ehcp|plan|school|needs|mum|dad|mother|father|grandmother|grandfather|parents?|carers?|ta\b|"
    r"teacher|annual review|provision|speech|therapy|behaviour|education|placement|case|class|nursery|college|"
    r"diagnosis|support|1:1|one-to-one|health|attendance|social worker|special guardian)"
)
# The word right before a name that says it is someone else: a title, a greeting, a relative, a job.
_NOT_CHILD_BEFORE = _words(
    "mr mrs ms miss mx dr prof sir dear hi hello hiya hey morning thanks regards husband wife partner mum dad "
    "mother father grandmother grandfather nan gran aunt auntie uncle sister brother sibling teacher senco worker "
    "officer headteacher head manager colleague adviser advisor caseworker coordinator co-ordinator psychologist "
    "therapist cc"
)
# The last word before a name that can start a child cue (the regexes of _CHILD_BEFORE end in one of these, or
# in punctuation): checking it first spares most capitalised words the regex scans.
_CHILD_CUE_LAST = _words(
    "son daughter child grandson granddaughter stepson stepdaughter step-son step-daughter boy girl nephew niece "
    "grandchild ward twin twins called named is student students pupil pupils learner learners people person "
    "children to of are for regarding re re: about concerning"
)
_LAST_WORD = re.compile(r"([\w'-]+)[.,]?\s*$")


def _last_word(before: str) -> str:
    m = _LAST_WORD.search(before[-30:])
    return m.group(1).lower() if m else ""


_SUBJECT_CHILD = re.compile(
    r"(?i)(?:referral|request|mediation|certificate|enquiry|resolution|meeting|facilitation|appeal|ehcp?|plan|re)"
    r"\b[^\n]{0,40}?(?:[-:|]|\bfor|\bre)\s*$"
)
_TYPED_NAME = re.compile(r"^[^\W\d_][\w'-]*(?: [^\W\d_][\w'-]*){0,3}$")
_SELF_INTRO = re.compile(r"(?i)\b(?:i'?m|i am|im|my name is|my name's|this is)\s+$")


def extract_child(ctx: Ctx) -> tuple[str | None, Evidence | None]:
    """The child's (or the young person's own) name, as written, full where the email gives it."""
    excluded = _writer_names(ctx) if ctx.role != "young_person" else set()
    scores: dict[str, float] = {}
    hits: dict[str, Candidate] = {}
    variants: dict[str, list[Candidate]] = {}
    for f in _fields(ctx, "child_name"):
        spans = name_spans(f.source.norm, f.start, f.end)
        if not spans and _TYPED_NAME.match(f.value):
            # Typed in capitals ("Child's name: JAMES O'NEILL"): the field says it is a name, keep it as written.
            offset = f.source.norm.find(f.value, f.start, f.end)
            spans = [NameSpan(f.value.split(), offset, offset + len(f.value), False)] if offset >= 0 else []
        if spans:
            _add_child(scores, hits, variants, spans[0], 6.0 * f.source.weight, f.source)
    for src in ctx.by_name("body", "forwarded", "subject", "quoted", "signature", "header"):
        for span in name_spans(src.norm):
            w = _child_cue_weight(ctx, src, span, excluded)
            if w is None:
                continue
            factor = {"subject": 0.8, "header": 1.0}.get(src.name, src.weight)
            _add_child(scores, hits, variants, span, w * factor, src)
    _merge_initials(scores, variants)
    live = {k: v for k, v in scores.items() if v > 0 and k in hits and not _is_place(ctx, hits[k].value)}
    if not live:
        return None, None
    key = max(live, key=lambda k: (live[k], -hits[k].order))
    full = _full_name(key, variants)
    hit = hits[key]
    if full is not None:
        return full.value, _evidence(full.value, full.src, full.start, full.end)  # type: ignore[return-value]
    return str(hit.value), _evidence(hit.value, hit.src, hit.start, hit.end)


def _is_place(ctx: Ctx, name: object) -> bool:
    """ "Local authority: Cardiff" is not a child called Cardiff."""
    if ctx.directory is None:
        return False
    text = str(name)
    return any(m.start == 0 and m.end >= len(text.split()[0]) for m in _safe_find(ctx.directory, text))


def _add_child(scores, hits, variants, span: NameSpan, w: float, src: Source) -> None:
    key = span.tokens[0].lower()
    scores[key] = scores.get(key, 0.0) + w
    cand = Candidate(span.text, w, src, span.start, span.end, _order(src, span.start))
    variants.setdefault(key, []).append(cand)
    if w >= 1.0 and (key not in hits or w > hits[key].score):
        hits[key] = Candidate(
            span.tokens[0] if len(span.tokens[0]) > 1 else span.text,
            w,
            src,
            span.start,
            span.start + len(span.tokens[0]),
            cand.order,
        )


def _child_cue_weight(ctx: Ctx, src: Source, span: NameSpan, excluded: set[str]) -> float | None:
    norm = src.norm
    text_low = span.text.lower()
    first_low = span.tokens[0].lower()
    before = _clause_before(norm, span.start, 80)
    after = norm[span.end : span.end + 40]
    if src.name == "header":
        # The From name is the child only when the young person writes for themselves.
        return 3.0 if ctx.role == "young_person" and span.start < norm.find("<") else None
    if text_low in excluded or (len(span.tokens) == 1 and first_low in {e.split()[0] for e in excluded if e}):
        return None
    last = _last_word(before)
    if last in _NOT_CHILD_BEFORE or _INSTITUTION_AFTER.match(after):
        return None
    if src.in_signoff(span.start) and ctx.role != "young_person":
        return None  # a sign-off names the writer
    weight = 0.0
    if last in _CHILD_CUE_LAST or before.rstrip()[-1:] in (",", "(", ":", "-"):
        for w, rx in _CHILD_BEFORE:
            if rx.search(before):
                weight = max(weight, w)
                break
    for w, rx in _CHILD_AFTER:
        if not span.possessive and rx.match(after):
            weight += w
            break
    if span.possessive and _POSSESSIVE_AFTER.search(norm[span.end + 2 : span.end + 40]):
        weight += 1.5
    if src.name == "subject" and _SUBJECT_CHILD.search(norm[max(0, span.start - 60) : span.start]):
        weight += 3.0
    if ctx.role == "young_person":
        if _SELF_INTRO.search(before[-20:]):
            weight += 4.0
        elif src.in_signoff(span.start):
            weight += 2.0
    if weight == 0.0 and src.name in ("body", "forwarded"):
        return 0.3  # a plain mention: counts only for a name some cue already found
    return weight


def _writer_names(ctx: Ctx) -> set[str]:
    names = set()
    for name in (ctx.sender_name, *(f.value for f in _fields(ctx, "referrer_name"))):
        clean = _clean_display_name(name).lower()
        if clean:
            names.add(clean)
    return names


def _merge_initials(scores: dict[str, float], variants: dict[str, list[Candidate]]) -> None:
    """ "K Asante" in a subject backs "Kwame Asante" in the body."""
    for key in [k for k in scores if len(k) == 1]:
        surnames = {str(c.value).split()[-1] for c in variants.get(key, []) if " " in str(c.value)}
        for other, cands in variants.items():
            if (
                other != key
                and other.startswith(key)
                and any(" " in str(c.value) and str(c.value).split()[-1] in surnames for c in cands)
            ):
                scores[other] = scores.get(other, 0.0) + scores[key]
                scores[key] = 0.0
                break


def _full_name(key: str, variants: dict[str, list[Candidate]]) -> Candidate | None:
    """The most often written multi-word form of the chosen first name, anywhere in the message."""
    multi = [c for c in variants.get(key, []) if " " in str(c.value)]
    if not multi:
        return None
    counts: dict[str, int] = {}
    for c in multi:
        counts[str(c.value)] = counts.get(str(c.value), 0) + 1
    best = max(multi, key=lambda c: (counts[str(c.value)], c.score, -c.order))
    return best


# ---------------------------------------------------------------------------------------------------
# Dates: date of birth, decision letter
# ---------------------------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH_RX = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = re.compile(
    r"(?i)\b(?:(?P<d1>\d{1,2})\s*(?P<sep>[/.-])\s*(?P<m1>\d{1,2})\s*(?P=sep)\s*(?P<y1>\d{4}|\d{2})(?!\d)"
    r"|(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH_RX + r"\.?,?(?:\s+(?P<y2>\d{4}))?\b"
    r"|"
    + _MONTH_RX.replace("mon>", "mon3>")
    + r"\.?\s+(?:the\s+)?(?P<d3>\d{1,2})(?:st|nd|rd|th)?,?(?:\s+(?P<y3>\d{4}))?\b"
    r"|(?P<y4>(?:19|20)\d\d)-(?P<m4>\d\d)-(?P<d4>\d\d)\b)"
)
_DOB_CUE = re.compile(
    r"(?i)(?:\bd\.?\s?o\.?\s?b\b\.?|\bdate of birth|\bbirth ?date|\bborn(?:\s+on)?|\bbirthday(?:\s+is)?)"
    r"[\s:|=(\-]*(?:is\s+|on\s+)?(?:the\s+)?$"
)
_DECISION_CUE = re.compile(
    r"(?i)\b(?:letter|decision|decided|refus\w*|issued|finalised|finalized|final\s+(?:ehc\s+)?plan"
    r"|amended\s+(?:final\s+)?plan|dated|wrote|written|notice|notified|informed|told\s+(?:us|me)|panel|declined"
    r"|won'?t|will\s+not|not\s+to)\b"
)
_NOT_DECISION = re.compile(
    r"(?i)\b(?:week\s+beginning|w/c|meeting\s+(?:on|is)|appointment|available|availability|hearing\s+(?:on|is)"
    r"|session|start(?:s|ing)?\s+(?:on|in)|deadline|until|by\s+$)"
)


def _date_from(m: re.Match[str], ref: date | None) -> tuple[date | None, bool]:
    """The date a match names (UK day/month order) and whether its year was written."""
    gd = m.groupdict()
    try:
        if gd["y4"]:
            day, month, year_s = int(gd["d4"]), int(gd["m4"]), gd["y4"]
        elif gd["d1"]:
            day, month, year_s = int(gd["d1"]), int(gd["m1"]), gd["y1"]
            if month > 12 >= day:
                day, month = month, day  # "03/14/2014" cannot be day/month: read it the only way it can be
        elif gd["d2"]:
            day, month, year_s = int(gd["d2"]), _MONTHS[gd["mon"][:3].lower()], gd["y2"]
        else:
            day, month, year_s = int(gd["d3"]), _MONTHS[gd["mon3"][:3].lower()], gd["y3"]
        if year_s is None:
            if ref is None:
                return None, False
            guess = date(ref.year, month, day)
            return (guess if guess <= ref else date(ref.year - 1, month, day)), False
        year = int(year_s)
        if year < 100:
            pivot = (ref.year if ref else 2025) % 100
            year += 2000 if year <= pivot else 1900
        return date(year, month, day), True
    except (ValueError, KeyError, TypeError):
        return None, False


def extract_dob(ctx: Ctx, child: Evidence | None = None) -> tuple[date | None, Evidence | None]:
    """A full date of birth when one is written next to a DOB cue (never an age, never another date).

    With several (siblings), the one written nearest the child's name wins."""
    cands: list[Candidate] = []
    for f in _fields(ctx, "dob"):
        for m in _DATE.finditer(f.source.norm, f.start, f.end):
            d, full = _date_from(m, ctx.ref_date)
            if d and full and _plausible_dob(d, ctx.ref_date):
                cands.append(Candidate(d, 5.0, f.source, m.start(), m.end(), _order(f.source, m.start())))
    for src in ctx.by_name("body", "forwarded", "subject", "quoted"):
        for m in _DATE.finditer(src.norm):
            if not _DOB_CUE.search(src.norm[max(0, m.start() - 30) : m.start()]):
                continue
            d, full = _date_from(m, ctx.ref_date)
            if d and full and _plausible_dob(d, ctx.ref_date):
                cands.append(Candidate(d, 4.0 * src.weight, src, m.start(), m.end(), _order(src, m.start())))
    if child is not None and len(cands) > 1:
        for c in cands:
            if c.src.name == child.source:
                c.score += 1.0 / (1.0 + abs(c.start - child.end) / 100)
    best = _best(cands)
    if best is None:
        return None, None
    return best.value, _evidence(best.value, best.src, best.start, best.end)  # type: ignore[return-value]


_HEADER_LINE = re.compile(r"(?i)^\s*(?:on\s.{0,120}wrote:?\s*$|(?:date|sent|from|to|subject)\s*:)")


def _header_line(norm: str, pos: int) -> bool:
    """A date in a reply's attribution ("On 12 Jun 2025, X wrote:") or a forwarded header is when an email
    was sent, not a decision."""
    line_start = norm.rfind("\n", 0, pos) + 1
    line_end = norm.find("\n", pos)
    return bool(_HEADER_LINE.match(norm[line_start : line_end if line_end >= 0 else len(norm)]))


def _plausible_dob(d: date, ref: date | None) -> bool:
    ref = ref or date.today()
    return d <= ref and (ref.year - d.year) <= 30


def extract_decision_date(ctx: Ctx) -> tuple[date | None, Evidence | None]:
    """The date of the LA's decision letter: a past date in a sentence about a letter or decision."""
    cands: list[Candidate] = []
    for src in ctx.by_name("body", "forwarded", "quoted"):
        for m in _DATE.finditer(src.norm):
            if _DOB_CUE.search(src.norm[max(0, m.start() - 30) : m.start()]) or _header_line(src.norm, m.start()):
                continue
            d, _full = _date_from(m, ctx.ref_date)
            if d is None or (ctx.ref_date and d > ctx.ref_date):
                continue
            if ctx.ref_date and (ctx.ref_date - d).days > 800:
                continue
            s, e = _sentence_around(src.norm, m.start(), m.end())
            sentence = src.norm[s:e]
            cues = list(_DECISION_CUE.finditer(sentence))
            if not cues or _NOT_DECISION.search(src.norm[max(s, m.start() - 30) : m.start()]):
                continue
            rel = m.start() - s
            distance = min(abs(c.start() - rel) for c in cues)
            score = src.weight * (3.0 - min(distance, 100) / 50)
            cands.append(Candidate(d, score, src, m.start(), m.end(), _order(src, m.start())))
    best = _best(cands)
    if best is None:
        return None, None
    return best.value, _evidence(best.value, best.src, best.start, best.end)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------
# School, EHC plan, dispute topics, access needs
# ---------------------------------------------------------------------------------------------------

_SCHOOL = re.compile(
    r"\b(?P<name>(?:(?:St\.?|Saint|The|[A-Z][\w'-]*|of|the|and|&|C of E|CE|RC|Church of England|Catholic)\s+){1,6}"
    r"(?:Primary School|Secondary School|Junior School|Infant School|Infants School|High School|Grammar School"
    r"|Free School|Special School|School|Academy|College|Nursery|Primary|Infants|Juniors|Federation))\b"
)
_SCHOOL_NOT = re.compile(
    r"(?i)^(?:the\s+)?(?:a|an|my|our|his|her|their|this|that|new|local|current|mainstream|special"
    r"|specialist|independent|secondary|primary|infant|junior|fe|sixth form)\b"
)


_SCHOOL_WORDS = _words(
    "the of and & c e ce rc school academy college nursery primary secondary junior juniors infant infants high "
    "grammar free special federation church england catholic"
)


def extract_school(ctx: Ctx) -> tuple[str | None, Evidence | None]:
    for f in _fields(ctx, "school"):
        value = f.value.strip(" .")
        if value and not re.match(r"(?i)^(?:n/?a|none|not known|unknown|-)$", value):
            return value, _evidence(value, f.source, f.start, f.end)
    for src in ctx.by_name("body", "forwarded", "subject", "signature"):
        for m in _SCHOOL.finditer(src.norm):
            name = m.group("name").strip()
            words = name.split()
            # Drop sentence words caught before the name ("At Brookfield Academy" -> "Brookfield Academy").
            while words and (words[0].lower() in _NOT_NAMES - {"the"} or words[0] in ("of", "and", "&")):
                words.pop(0)
            if not any(w.lower() not in _SCHOOL_WORDS for w in words) or _SCHOOL_NOT.match(" ".join(words)):
                continue  # "The School", "Primary School": a kind of school, not one school's name
            name = " ".join(words)
            if src.skipped(m.start()):
                continue
            start = m.end("name") - len(name)
            return name, _evidence(name, src, start, m.end("name"))
    return None, None


_EHCP_YES = _Rx(
    r"(?i)\b(?:has|have|with|got|holds?|her|his|their|my|our|the|current|existing|final|amended|[\w-]+'s)\s+"
    r"(?:an?\s+)?(?:ehcp|ehc\s+plan|education,?\s+health\s+and\s+care\s+plan|statement)\b"
    r"(?!\s+(?:assessment|needs assessment|application|request))"
    r"|\bannual\s+review\b|\bsections?\s+[a-k]\b|\b(?:cease|ceasing)\b"
    r"|\bplan\s+(?:was|has been|is)\s+(?:finalised|issued|maintained|transferred|amended)"
    r"|\b(?:her|his|their|my|[\w-]+'s)\s+(?:current\s+|existing\s+|final\s+|amended\s+|new\s+)?plan\b",
    ("ehc", "annual review", "section", "plan", "ceas", "statement"),
)
# Said outright that there is no plan (a refusal to assess or issue says it too, through the topics).
_EHCP_NO = _Rx(
    r"(?i)\b(?:no|without\s+an?|doesn'?t\s+have\s+an?|does\s+not\s+have\s+an?|hasn'?t\s+got\s+an?|not\s+got\s+an?)\s+"
    r"(?:ehcp|ehc\s+plan|plan)\b|\b(?:on|at|receiving|gets?)\s+sen\s+support\b",
    ("ehc", "plan", "sen support"),
)
_NO_PLAN_TOPICS = ("refusal_to_assess", "refusal_to_issue")


def extract_has_ehc_plan(ctx: Ctx, topic_evidence: dict[str, Evidence]) -> tuple[bool | None, Evidence | None]:
    """Whether an EHC plan exists: a refusal to assess or issue means not yet, whatever else is said of plans."""
    for topic in _NO_PLAN_TOPICS:
        ev = topic_evidence.get(f"dispute_topics/{topic}")
        if ev is not None:
            return False, Evidence(False, ev.source, ev.start, ev.end, ev.snippet)
    for rx, value in ((_EHCP_YES, True), (_EHCP_NO, False)):
        for src in ctx.by_name("body", "forwarded", "subject", "quoted"):
            m = rx.search(src)
            if m and not src.skipped(m.start()):
                return value, _evidence(value, src, m.start(), m.end())
    return None, None


_TOPICS: tuple[tuple[str, _Rx], ...] = (
    ("refusal_to_reassess", _Rx(
        r"(?i)\b(?:refus\w*|declin\w*|decided\s+not|won'?t|will\s+not|not)\s+(?:to\s+)?re-?assess\w*"
        r"|\bre-?assessment\b[^.\n]{0,40}\b(?:refused|declined|turned down)",
        "assess")),
    ("refusal_to_assess", _Rx(
        r"(?i)\b(?:refus\w*|declin\w*|decided\s+not|won'?t|will\s+not|not|turned\s+down)\s+(?:to\s+)?(?:carry\s+out\s+"
        r"an?\s+|do\s+an?\s+|undertake\s+an?\s+|agree\s+to\s+an?\s+)?(?:ehc\s+|ehcp\s+|statutory\s+)?(?:needs\s+)?"
        r"assess(?!ment\s+(?:report|advice))\w*|\b(?:ehcp?|ehc|needs|statutory)\s+assessment\s+(?:request\s+)?"
        r"(?:was\s+|has\s+been\s+)?(?:refused|declined|turned down|rejected)"
        r"|\b(?:turned\s+down|refused|rejected|declined|said\s+no\s+to)\s+(?:our|my|the|a|an|her|his|their)\s+"
        r"(?:\w+\s+){0,2}?(?:request|application|referral)\s+for\s+(?:an?\s+)?(?:ehc\w*\s+)?(?:needs\s+)?assessment"
        r"|\behcna\b[^.\n]{0,30}\b(?:refused|turned down|rejected|declined)",
        ("assess", "ehcna"))),
    ("refusal_to_issue", _Rx(
        r"(?i)\b(?:refus\w*|declin\w*|decided\s+not|won'?t|will\s+not|not)\s+(?:to\s+)?(?:be\s+)?(?:issu\w*|prepar\w*|"
        r"produc\w*|writ\w*|mak\w*)\s+(?:an?\s+)?(?:ehcp|ehc\s+plan|plan|idp)\b|\bnot\s+to\s+issue\b"
        r"|\b(?:needs\s+can\s+be\s+"
        r"met|can\s+be\s+met)\s+(?:by|at|within|through|from)\s+(?:\w+\s+){0,2}?(?:school|sen\s+support|existing)",
        ("issu", "prepar", "produc", "writ", "mak", "met "))),
    ("section_b", _Rx(r"(?i)\bsections?\s+b\b", "section")),
    ("section_f", _Rx(
        r"(?i)\bsection\s+f\b|\bsections\s+[b-i](?:\s*(?:,|and|&)\s*[b-i])*\s*(?:,|and|&)\s*f\b|\b(?:cut|reduc\w*|"
        r"remov\w*|halv\w*)\b[^.\n]{0,40}\b(?:1:1|one-to-one|hours|support|therapy|provision|ta\b)",
        ("section", "cut", "reduc", "remov", "halv"))),
    ("section_i", _Rx(
        r"(?i)\bsection\s+i\b|\bsections\s+[b-h](?:\s*(?:,|and|&)\s*[b-h])*\s*(?:,|and|&)\s*i\b|\bnam(?:ed|es|ing)\s+"
        r"(?:a|an|the)\s+(?:[\w-]+\s+){0,4}?(?:school|college|placement|secondary|primary|academy)|\bschool\s+named\b",
        ("section", "nam"))),
    ("refusal_to_amend", _Rx(
        r"(?i)\b(?:refus\w*|declin\w*|decided\s+not|won'?t|will\s+not|not)\s+(?:to\s+)?amend\w*|\bplan\s+will\s+stay\s+"
        r"(?:as\s+it\s+is|the\s+same)",
        ("amend", "stay"))),
    ("cease_plan", _Rx(
        r"(?i)\bceas(?:e|ed|ing)\b[^.\n]{0,40}\b(?:plan|ehcp|maintain)|\b(?:plan|ehcp)\b[^.\n]{0,80}\bceas(?:e|ed"
        r"|ing)\b",
        "ceas")),
    ("health", _Rx(
        r"(?i)\bsections?\s+[cg]\b|\bhealth\s+(?:provision|needs|element|section|commissioner)\b|\b(?:icb|ccg)\b",
        ("section", "health", "icb", "ccg"))),
    ("social_care", _Rx(
        r"(?i)\bsections?\s+[dh]\b|\bsocial\s+care\s+(?:provision|needs|element|section)\b|\bshort\s+breaks\b"
        r"|\brespite\b",
        ("section", "social care", "short breaks", "respite"))),
    ("school_duties", _SETTING_FAILS),
    ("school_duties", _SETTING_SHOULD),
    ("la_health_disagreement", _Rx(
        r"(?i)\b(?:la|council|local authority)\s+and\s+(?:the\s+)?(?:health|icb|ccg|nhs)\b[^.\n]{0,60}"
        r"\b(?:disagree|dispute|won'?t agree|can'?t agree)|\bhealth\s+commissioner\b",
        "health")),
)  # fmt: skip


def extract_topics(ctx: Ctx) -> tuple[list[str], dict[str, Evidence]]:
    topics: list[str] = []
    evidence: dict[str, Evidence] = {}
    for src in ctx.by_name("body", "forwarded", "subject", "quoted"):
        for topic, rx in _TOPICS:
            if topic in topics:
                continue
            m = rx.search(src)
            if m and not src.skipped(m.start()):
                topics.append(topic)
                evidence[f"dispute_topics/{topic}"] = _evidence(topic, src, m.start(), m.end())
    if "refusal_to_reassess" in topics and "refusal_to_assess" in topics:
        topics.remove("refusal_to_assess")  # "refused to re-assess" also reads as "...assess"
        evidence.pop("dispute_topics/refusal_to_assess")
    order = {t: i for i, (t, _) in enumerate(_TOPICS)}
    topics.sort(key=lambda t: order[t])
    return topics, evidence


_LANGUAGES = _words(
    "Albanian Amharic Arabic Bengali Bulgarian Cantonese Chinese Czech Dari Farsi French German Greek Gujarati "
    "Hindi Hungarian Italian Kurdish Latvian Lithuanian Malayalam Mandarin Nepali Pashto Persian Polish Portuguese "
    "Punjabi Romanian Russian Slovak Somali Spanish Swahili Sylheti Tagalog Tamil Telugu Tigrinya Turkish Twi "
    "Ukrainian Urdu Vietnamese Welsh Yoruba Igbo Lingala Estonian Makaton BSL"
)
_LANG_RX = r"(?P<lang>" + "|".join(sorted(_LANGUAGES, key=lambda w: (-len(w), w))) + r"|British Sign Language)"
_ACCESS: tuple[tuple[Callable[[re.Match[str]], str], _Rx], ...] = (
    (lambda m: f"interpreter: {_lang(m)}", _Rx(
        r"(?i)\b" + _LANG_RX + r"\s+(?:speaking\s+)?(?:interpreter|translator|speaker)"
        r"|\binterpret\w*\s+(?:in|for|into)\s+"
        + _LANG_RX.replace("lang>", "lang2>") + r"|\b(?:first|home|main|only)\s+language\s+is\s+"
        + _LANG_RX.replace("lang>", "lang3>") + r"|\b(?:speaks?|speak\s+only)\s+" + _LANG_RX.replace("lang>", "lang4>")
        + r"\s+only\b",
        ("interpret", "translat", "speaker", "language", "speak"))),
    (lambda m: "interpreter", _Rx(r"(?i)\b(?:need|needs|require|requires|would like|with)\s+(?:an?\s+)?"
                                         r"(?:interpreter|translator)|\benglish\s+is\s+not\s+(?:my|our|his|her|their)"
                                         r"\s+first\s+language|\b(?:limited|little|no)\s+english\b",
        ("interpret", "translat", "english"))),
    (lambda m: "online preferred", _Rx(
        r"(?i)\bonline\s+(?:preferred|please|if possible|would be (?:best|better|easier))"
        r"|\bprefer\w*\s+(?:\w+\s+){0,6}?"
        r"(?:online|video|teams|zoom|virtual)|\b(?:online|virtual|video)\s+(?:meeting|session"
        r"|mediation)\s+(?:would be|is)"
        r"\s+(?:best|better|easier|preferred)",
        ("online", "video", "teams", "zoom", "virtual"))),
    (lambda m: "in person preferred", _Rx(
        r"(?i)\bprefer\w*\s+(?:\w+\s+){0,6}?(?:in\s+person|face\s+to\s+face|face-to-face)|\b(?:in\s+person|face[\s-]to"
        r"[\s-]face)\s+(?:preferred|please|if possible)",
        ("person", "face"))),
    (lambda m: "hearing impairment: text not calls", _Rx(
        r"(?i)\b(?:i'?m|i\s+am|i\s+have\s+(?:a\s+)?)\s*(?:deaf|hard\s+of\s+hearing|hearing\s+impair\w*)[\s\S]{0,300}?"
        r"\b(?:text|whatsapp|email|sms)\b|\b(?:text|whatsapp|sms)\b[^.\n]{0,80}(?:don'?t|do not|can'?t"
        r"|cannot)\s+(?:\w+\s+)?"
        r"(?:like|do|use|manage|hear)\s+(?:\w+\s+)?(?:phone\s+)?calls[^.\n]{0,40}\bhearing",
        ("deaf", "hearing"))),
    (lambda m: "hearing impairment", _Rx(
        r"(?i)\b(?:i'?m|i\s+am|i\s+have\s+(?:a\s+)?)\s*(?:deaf|hard\s+of\s+hearing|hearing\s+impair\w*)",
        ("deaf", "hearing"))),
    (lambda m: "text not calls", _Rx(
        r"(?i)\b(?:text|whatsapp|sms|email)\s+(?:me\s+)?(?:only|rather than|instead of|not)\b|\b(?:don'?t|do not|can'?t"
        r"|cannot)\s+(?:really\s+)?(?:like|do|manage|take|answer)\s+(?:phone\s+)?calls",
        ("text", "whatsapp", "sms", "email", "calls"))),
    (lambda m: "wheelchair access", _Rx(
        r"(?i)\bwheelchair|\bstep-free\b|\bground floor\b", ("wheelchair", "step-free", "ground floor"))),
    (lambda m: "BSL interpreter", _Rx(r"(?i)\bBSL\b|\bBritish Sign Language\b", ("bsl", "sign language"))),
    (lambda m: "large print / accessible documents", _Rx(
        r"(?i)\blarge\s+print\b|\bscreen\s+reader\b|\bbraille\b", ("large print", "screen reader", "braille"))),
    (lambda m: "adjustments: autism", _Rx(
        r"(?i)\b(?:i'?m|i\s+am)\s+autistic\b|\bi\s+have\s+(?:autism|asd)\b", ("autis", "asd"))),
)  # fmt: skip


def _lang(m: re.Match[str]) -> str:
    for g in ("lang", "lang2", "lang3", "lang4"):
        value = m.groupdict().get(g)
        if value:
            return "BSL" if value.lower() in ("bsl", "british sign language") else value.title()
    return "unknown"


def extract_access_needs(ctx: Ctx) -> tuple[list[str], dict[str, Evidence]]:
    needs: list[str] = []
    evidence: dict[str, Evidence] = {}
    for src in ctx.by_name("body", "forwarded", "subject"):
        for describe, rx in _ACCESS:
            m = rx.search(src)
            if not m or src.skipped(m.start()):
                continue
            need = describe(m)
            if need in needs or any(n.startswith(need) for n in needs):
                continue
            needs.append(need)
            evidence[f"access_needs/{need}"] = _evidence(need, src, m.start(), m.end())
    if "BSL interpreter" in needs and "interpreter: BSL" in needs:
        needs.remove("BSL interpreter")
    # The combined "hearing impairment: text not calls" says both halves already.
    if "hearing impairment: text not calls" in needs:
        needs = [n for n in needs if n not in ("hearing impairment", "text not calls")]
    evidence = {k: v for k, v in evidence.items() if k.partition("/")[2] in needs}
    return needs, evidence


# ---------------------------------------------------------------------------------------------------
# Referrer
# ---------------------------------------------------------------------------------------------------


def extract_referrer(ctx: Ctx) -> tuple[str | None, str | None, dict[str, Evidence]]:
    """Who to answer: the From person, or for a website form the name and address typed into it."""
    evidence: dict[str, Evidence] = {}
    name = _clean_display_name(ctx.sender_name) if not ctx.sender_is_us else ""
    email = ctx.sender_email if not ctx.sender_is_us else ""
    header = ctx.by_name("header")
    if ctx.sender_is_us:
        reply_to = ctx.msg.reply_to[0] if ctx.msg.reply_to else None
        if reply_to is not None:
            name, email = _clean_display_name(reply_to.name), reply_to.email
        for f in _fields(ctx, "referrer_name"):
            if not name:
                name = f.value
                evidence["referrer_name"] = _evidence(name, f.source, f.start, f.end)
        for f in _fields(ctx, "email"):
            found = _EMAIL.search(f.value)
            if found and not email:
                email = found.group().lower()
                evidence["referrer_email"] = _evidence(email, f.source, f.start, f.end)
    if header and name and "referrer_name" not in evidence:
        evidence["referrer_name"] = Evidence(name, "header", 0, len(header[0].text), header[0].text)
    if header and email and "referrer_email" not in evidence:
        evidence["referrer_email"] = Evidence(email, "header", 0, len(header[0].text), header[0].text)
    return name or None, email or None, evidence


# ---------------------------------------------------------------------------------------------------
# The whole
# ---------------------------------------------------------------------------------------------------


@cache
def _default_directory() -> Directory | None:
    """The project's LA directory, loaded once. Without it councils stay unknown and nothing else breaks."""
    try:
        from models.la_directory import load_directory

        return load_directory()
    except Exception as exc:
        _log_failure("loading the LA directory", exc)
        return None


@cache
def _own_postcodes() -> frozenset[str]:
    codes = {"N1 8HX", "B72 1EA"}
    try:
        from models.offices import all_offices

        for office in all_offices():
            codes.update(_POSTCODE.findall(office.address))
    except Exception:  # the offices file is optional for extraction: the built-in two still apply
        log.debug("offices not readable; using built-in office postcodes", exc_info=True)
    return frozenset(codes)


@lru_cache(maxsize=16)
def _own_e164(own_phones: tuple[str, ...]) -> frozenset[str]:
    """Our offices' numbers in E.164. They come from configuration, the same for every message, and
    phonenumbers.parse made converting them a tenth of all extraction time."""
    return frozenset(filter(None, (_to_e164(p) for p in own_phones)))


_OUR_LA = re.compile(
    r"(?i)\bour\s+(?:decision|la\b|local authority|authority|council|panel|send?\s+(?:team|service|panel)"
    r"|(?:sen|send|statutory)\s+(?:assessment\s+)?(?:team|service|panel))"
)


def _ref_date(msg: ParsedMessage) -> date | None:
    if isinstance(msg.date, datetime):
        return msg.date.date()
    return None


def build_context(msg: ParsedMessage, own_addresses: Sequence[str] = (), own_phones: Sequence[str] = OWN_PHONES) -> Ctx:
    own_emails = {a.lower() for a in own_addresses if a}
    if msg.to:
        own_emails.add(msg.to[0].email.lower())  # the mailbox this was sent to is ours
    own_emails.discard("")
    own_domains = frozenset(e.rpartition("@")[2] for e in own_emails)
    postcodes = _own_postcodes()
    sender = msg.sender
    sender_email = (sender.email if sender else "").lower()
    # A form relayed by our own website, or by a form service's address nobody reads: the person
    # who wrote it is in its fields (and Reply-To), not in From.
    sender_is_us = bool(sender_email) and (
        sender_email in own_emails or sender_email.rpartition("@")[2] in own_domains or unanswerable(sender_email)
    )
    sources = build_sources(msg, frozenset(own_emails), postcodes, sender_is_us=sender_is_us)
    body = " ".join(src.norm for src in sources if src.name in ("body", "forwarded"))
    return Ctx(
        writes_for_la=bool(_OUR_LA.search(body)),
        msg=msg,
        sources=sources,
        fields=parse_fields(sources),
        own_phones=_own_e164(tuple(own_phones)),
        own_emails=frozenset(own_emails),
        own_domains=own_domains,
        own_postcodes=postcodes,
        ref_date=_ref_date(msg),
        sender_name=(sender.name if sender else "") or "",
        sender_email=sender_email,
        sender_is_us=sender_is_us,
    )


def extract_referral(
    msg: ParsedMessage,
    *,
    directory: Directory | None = None,
    own_addresses: Sequence[str] = (),
    own_phones: Sequence[str] = OWN_PHONES,
) -> Referral:
    """Every referral field this email gives, each with its evidence. Never raises."""
    ref = Referral()
    try:
        ctx = build_context(msg, own_addresses, own_phones)
    except Exception as exc:
        _log_failure("reading the message", exc)
        return ref
    if directory is None:
        directory = _default_directory()
    ctx.directory = directory
    steps: tuple[tuple[str, Callable[[], None]], ...] = (
        ("role", lambda: _set_role(ref, ctx)),
        ("referrer", lambda: _set_referrer(ref, ctx)),
        ("local_authority", lambda: _set_la(ref, ctx, directory)),
        ("topics", lambda: _set_list(ref, "dispute_topics", *extract_topics(ctx))),
        ("service", lambda: _set(ref, "service", *extract_service(ctx, ref.dispute_topics))),
        ("phone", lambda: _set(ref, "contact_phone", *extract_phone(ctx))),
        ("child", lambda: _set(ref, "child_name", *extract_child(ctx))),
        ("dob", lambda: _set(ref, "child_dob", *extract_dob(ctx, ref.evidence.get("child_name")))),
        ("decision_date", lambda: _set(ref, "decision_date", *extract_decision_date(ctx))),
        ("school", lambda: _set(ref, "school", *extract_school(ctx))),
        ("has_ehc_plan", lambda: _set(ref, "has_ehc_plan", *extract_has_ehc_plan(ctx, ref.evidence))),
        ("access_needs", lambda: _set_list(ref, "access_needs", *extract_access_needs(ctx))),
    )
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # one field's bug must not lose the others: the coordinator fills it in
            _log_failure(name, exc)
    return ref


def _log_failure(step: str, exc: Exception) -> None:
    """Our bug, logged without the email's words: the type at WARNING, the traceback only at DEBUG (an
    exception's message may quote the text, and personal data stays out of logs above DEBUG)."""
    log.warning("referral extraction: %s failed (%s)", step, type(exc).__name__)
    log.debug("referral extraction: %s failed", step, exc_info=exc)


def _set(ref: Referral, name: str, value: object, evidence: Evidence | None) -> None:
    setattr(ref, name, value)
    if value is not None and evidence is not None:
        ref.evidence[name] = evidence


def _set_list(ref: Referral, name: str, values: list[str], evidence: dict[str, Evidence]) -> None:
    setattr(ref, name, values)
    ref.evidence.update(evidence)


def _set_role(ref: Referral, ctx: Ctx) -> None:
    role, evidence = extract_role(ctx)
    ctx.role = role
    _set(ref, "referrer_role", role, evidence)


def _set_referrer(ref: Referral, ctx: Ctx) -> None:
    name, email, evidence = extract_referrer(ctx)
    ref.referrer_name, ref.referrer_email = name, email
    ref.evidence.update(evidence)


def _set_la(ref: Referral, ctx: Ctx, directory: Directory | None) -> None:
    la, evidence = extract_local_authority(ctx, directory)
    if la is None:
        return
    served = bool(getattr(la, "served", False))
    ref.local_authority = la.name
    ref.served = served
    ref.region = getattr(la, "region", None) if served else None
    if evidence is not None:
        ref.evidence["local_authority"] = evidence
