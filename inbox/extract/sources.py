"""The parts of a message extraction reads, each a `Source` with a weight for how much its words count.

The message is split into the subject, the sender's new words, forwarded messages, the quoted history,
the signature and the From header, and each attachment read as a document is one more source (an
unticked option and our own address blanked in its normalised text). Matching runs on a *normalised*
copy of each text with exactly the same length (non-breaking spaces, curly quotes and "> " reply
prefixes turned into plain characters), so spans found there point at the original words. Only the
first part of a huge source is read (_READ_LIMIT).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from inbox.documents import DocumentText
from inbox.extract.ticks import blank_unticked
from inbox.gated import Gated, ascii_twin, fold, plain_ascii
from inbox.mailtext import EMAIL_IN_TEXT, FORWARD_MARKER, SIGN_OFF_WORDS
from inbox.message import ParsedMessage

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
# A line that closes a letter: what follows is the writer's name, title, numbers.
_SIGN_OFF = re.compile(rf"(?im)^[ ]*(?:{SIGN_OFF_WORDS})[ ,.!]*$")
_DISCLAIMER = Gated(  # the lookahead names the words' first letters: other positions are left at once
    r"(?i)(?=[cdfilmpruv])(?:\b(?:confidential|intended recipient|intended solely|disclaimer|privileged"
    r"|views expressed|received this (?:e-?mail|message) in error|virus|data protection act|freedom of information"
    r"|monitored|legally|unauthori[sz]ed)\b)",
    (
        "confidential", "intended", "disclaimer", "privileged", "views expressed", "received this", "virus",
        "data protection act", "freedom of information", "monitored", "legally", "unauthori",
    ),
)  # fmt: skip


@dataclass(slots=True)
class Source:
    name: str  # subject | body | forwarded | quoted | signature | header | attachment
    text: str  # the original text, spans point here
    norm: str  # same length, for matching
    weight: float
    signoff: int  # where the writer's sign-off block starts (len(text) when none is seen)
    from_us: bool = False  # quoted text that we wrote (our own reply being answered)
    author: str = ""  # quoted text: the address in its attribution line ("On ..., X <x@y> wrote:"), if any
    skip: list[tuple[int, int]] = field(default_factory=list)  # disclaimer paragraphs
    low: str = ""  # norm folded for the cheap gates of Gated patterns (inbox.gated.fold)
    gate_hits: dict[int, bool] = field(default_factory=dict)  # gate -> found in low (cues share gates)
    anchor_spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # anchor -> where (cues share)
    # The matches of a pattern several readers run over the whole text (a shared Gated, a plain one by `matches`).
    kept: dict[Gated | re.Pattern[str], list[re.Match[str]]] = field(default_factory=dict)
    # For "forwarded": each forwarded message's span in the joined text and its sender's address.
    parts: list[tuple[int, int, str]] = field(default_factory=list)
    file: str = ""  # for "attachment": the file's name, as the sender named it

    def part_sender(self, pos: int) -> str | None:
        for a, b, email in self.parts:
            if a <= pos < b:
                return email
        return None

    def in_signoff(self, pos: int) -> bool:
        return self.name == "signature" or pos >= self.signoff

    def skipped(self, pos: int) -> bool:
        return any(a <= pos < b for a, b in self.skip)

    def finditer(self, pattern: Gated) -> Iterator[re.Match[str]]:
        """The pattern's matches in the normalised text (spans point at the original words too)."""
        if pattern.shared:
            return iter(self._kept(pattern))
        return pattern.finditer(self.norm, self.low, self.gate_hits, self.anchor_spans)

    def search(self, pattern: Gated) -> re.Match[str] | None:
        """The first of `finditer`'s matches."""
        if pattern.shared:
            found = self._kept(pattern)
            return found[0] if found else None
        return pattern.search(self.norm, self.low, memo=self.gate_hits, anchors=self.anchor_spans)

    def matches(self, rx: re.Pattern[str]) -> list[re.Match[str]]:
        """Every match of a plain pattern in the normalised text, found once per source (the dates,
        read for a date of birth and again for a decision letter's date)."""
        found = self.kept.get(rx)
        if found is None:
            twin = _TWINS.get(rx)
            if twin is None:
                twin = _TWINS[rx] = ascii_twin(rx)
            found = self.kept[rx] = list((twin if plain_ascii(self.norm, self.gate_hits) else rx).finditer(self.norm))
        return found

    def _kept(self, pattern: Gated) -> list[re.Match[str]]:
        """A shared pattern's matches, found once (the topics and the service both read the school's)."""
        found = self.kept.get(pattern)
        if found is None:
            found = self.kept[pattern] = list(pattern.finditer(self.norm, self.low, self.gate_hits, self.anchor_spans))
        return found


# The ASCII twin of each pattern read by `Source.matches` (inbox/gated.py says when it matches alike).
_TWINS: dict[re.Pattern[str], re.Pattern[str]] = {}


def _normalise(text: str) -> str:
    # Of the same-length replacements only tab and CR are ASCII: on an ASCII text (most) two replaces
    # give what translate does, without its lookup of every character.
    out = text.replace("\t", " ").replace("\r", " ") if text.isascii() else text.translate(_SAME_LENGTH)
    if ">" not in out:  # every reply prefix holds one: the scan of every line start is skipped (most texts)
        return out
    return _REPLY_PREFIX.sub(lambda m: " " * len(m.group()), out)


# How much of each source is read. A referral says what matters near the top; reading a 100 KB pasted
# report or a pathological 130 KB subject line would only cost time (spans stay valid: it is a prefix).
_READ_LIMIT = {
    "subject": 500, "header": 500, "signature": 3_000, "quoted": 10_000, "body": 20_000, "forwarded": 20_000,
    "attachment": 30_000,
}  # fmt: skip
# Trust, highest first: what the sender writes now (body), a form or letter they attach, what they
# forward or quote from earlier mail. A form's answers are read as fields (forms.py), which count more.
ATTACHMENT_WEIGHT = 0.9


def _make_source(
    name: str,
    text: str,
    weight: float,
    *,
    from_us: bool = False,
    author: str = "",
    parts: list[tuple[int, int, str]] | None = None,
    file: str = "",
    own_places: tuple[str, ...] = (),
) -> Source:
    text = text[: _READ_LIMIT.get(name, 20_000)]
    norm = _normalise(text)
    if name == "attachment":
        norm = _blank(blank_unticked(norm), own_places)
    signoff = len(text)
    if name in ("body", "forwarded"):
        signoff = _find_signoff(norm)
    low = fold(norm)
    skip = []
    # Most texts have no disclaimer word at all: one gated look at the whole text spares the search of
    # each paragraph (a match in a paragraph is a match in the whole text: paragraphs are cut at blank
    # lines, and what surrounds one is white space, so \b reads the same).
    if _DISCLAIMER.search(norm, low) is not None:
        skip = [(m.start(), m.end()) for m in _paragraphs(norm) if _DISCLAIMER.rx.search(m.group())]
    return Source(
        name,
        text,
        norm,
        weight,
        signoff,
        from_us=from_us,
        author=author,
        skip=skip,
        low=low,
        parts=parts or [],
        file=file,
    )


def _blank(norm: str, pieces: tuple[str, ...]) -> str:
    """Our own address printed on a form (its header, a "return to" box) blanked: never the family's."""
    for piece in pieces:
        at = norm.find(piece)
        while at >= 0:
            norm = norm[:at] + " " * len(piece) + norm[at + len(piece) :]
            at = norm.find(piece, at + len(piece))
    return norm


_PARAGRAPH = re.compile(r"(?s)\S.*?(?=\n[ ]*\n|\Z)")


def _paragraphs(text: str) -> Iterator[re.Match[str]]:
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
    msg: ParsedMessage,
    own_emails: frozenset[str],
    own_postcodes: frozenset[str],
    *,
    sender_is_us: bool = False,
    documents: Sequence[DocumentText] = (),
    own_places: tuple[str, ...] = (),
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
        marker = FORWARD_MARKER.search(body)
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
    for doc in documents:
        if doc.read:
            sources.append(
                _make_source("attachment", doc.text, ATTACHMENT_WEIGHT, file=doc.filename, own_places=own_places)
            )
    return [s for s in sources if s.text.strip()]


def _quoted_author(quoted: str) -> str:
    """The address in the quote's attribution ("On Mon, X <x@y> wrote:", "From: X <x@y>"), or ""."""
    found = EMAIL_IN_TEXT.search(quoted[:400])
    return found.group().lower() if found else ""


def _quoted_from_us(msg: ParsedMessage, own_emails: frozenset[str], own_postcodes: frozenset[str]) -> bool:
    """Is the quoted history our own earlier reply? Its phone numbers are then ours, not theirs."""
    quoted = msg.quoted_text or ""
    if not quoted:
        return False
    if _quoted_author(quoted) in own_emails:
        return True
    return any(pc in quoted for pc in own_postcodes)
