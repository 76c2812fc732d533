"""What every field reader may look at: the message's sources and form fields, our own addresses,
numbers and postcodes, the sender, the reference day and the LA directory. Built once per message and
never changed by a reader; what one reader finds and another needs goes through the step table
(`inbox.extract.steps`), never through the context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from inbox.classify import unanswerable
from inbox.documents import DocumentText
from inbox.extract.forms import FormField, parse_fields
from inbox.extract.numbers import to_e164
from inbox.extract.sources import Source, build_sources
from inbox.message import ParsedMessage
from models.la_directory import Directory
from models.offices import own_places, own_postcodes

# The body speaks as the council ("our decision", "our panel"): the signature then names the council.
_OUR_LA = re.compile(
    r"(?i)\bour\s+(?:decision|la\b|local authority|authority|council|panel|send?\s+(?:team|service|panel)"
    r"|(?:sen|send|statutory)\s+(?:assessment\s+)?(?:team|service|panel))"
)


@dataclass(frozen=True, slots=True)
class Context:
    msg: ParsedMessage
    sources: list[Source]
    fields: list[FormField]
    own_phones: frozenset[str]  # E.164
    own_emails: frozenset[str]
    own_domains: frozenset[str]
    own_postcodes: frozenset[str]
    ref_date: date | None  # the day the message is read against (see inbox.extract.dates)
    sender_name: str
    sender_email: str
    sender_is_us: bool  # a website form relayed from our own address or a form service's no-reply one
    writes_for_la: bool  # the body speaks as the council ("our decision", "our panel")
    directory: Directory
    documents_read: bool = False  # attachments were read: the body's own words then outrank them

    def by_name(self, *names: str) -> list[Source]:
        return [s for s in self.sources if s.name in names]

    def fields_of(self, kind: str) -> list[FormField]:
        """The form fields of one kind that have a value."""
        return [f for f in self.fields if f.kind == kind and f.value]

    def own_quote(self, src: Source) -> bool:
        """Quoted text the sender wrote themselves (or whose writer is unknown), never ours or a third party's."""
        return not src.from_us and (not src.author or src.author == self.sender_email)


@lru_cache(maxsize=16)
def _own_e164(own_phones: tuple[str, ...]) -> frozenset[str]:
    """Our offices' numbers in E.164. They come from configuration, the same for every message, and
    phonenumbers.parse made converting them a tenth of all extraction time."""
    return frozenset(filter(None, (to_e164(p) for p in own_phones)))


def reference_day(msg: ParsedMessage, fallback: date | None) -> date | None:
    """The day the message was written (its Date), else the one the caller gives (when it reached us)."""
    if isinstance(msg.date, datetime):
        return msg.date.date()
    return fallback


def build_context(
    msg: ParsedMessage,
    *,
    directory: Directory,
    own_addresses: Sequence[str],
    own_phones: Sequence[str],
    reference: date | None,
    documents: Sequence[DocumentText] = (),
) -> Context:
    own_emails = {a.lower() for a in own_addresses if a}
    if msg.to:
        own_emails.add(msg.to[0].email.lower())  # the mailbox this was sent to is ours
    own_emails.discard("")
    own_domains = frozenset(e.rpartition("@")[2] for e in own_emails)
    postcodes = own_postcodes()
    sender = msg.sender
    sender_email = (sender.email if sender else "").lower()
    # A form relayed by our own website, or by a form service's address nobody reads: the person
    # who wrote it is in its fields (and Reply-To), not in From.
    sender_is_us = bool(sender_email) and (
        sender_email in own_emails or sender_email.rpartition("@")[2] in own_domains or unanswerable(sender_email)
    )
    sources = build_sources(
        msg, frozenset(own_emails), postcodes, sender_is_us=sender_is_us, documents=documents, own_places=own_places()
    )
    body = " ".join(src.norm for src in sources if src.name in ("body", "forwarded"))
    return Context(
        msg=msg,
        sources=sources,
        fields=parse_fields(sources),
        own_phones=_own_e164(tuple(own_phones)),
        own_emails=frozenset(own_emails),
        own_domains=own_domains,
        own_postcodes=postcodes,
        ref_date=reference_day(msg, reference),
        sender_name=(sender.name if sender else "") or "",
        sender_email=sender_email,
        sender_is_us=sender_is_us,
        writes_for_la=bool(_OUR_LA.search(body)),
        directory=directory,
        documents_read=any(src.name == "attachment" for src in sources),
    )


def letters_signed_by_sender(ctx: Context) -> list[tuple[Source, int]]:
    """An attached letter the sender wrote and signed (an advocate's letter on headed paper, the email
    saying only "please see attached"): its words are the sender's own, like the body's. A council's
    letter beside a form is signed by someone else and says nothing of who the sender is."""
    name = ctx.sender_name.strip()
    if len(name.split()) < 2:
        return []
    out = []
    for src in ctx.by_name("attachment"):
        tail_start = max(0, len(src.norm) - 400)
        at = src.norm.lower().find(name.lower(), tail_start)
        if at < 0:
            continue
        line_start = src.norm.rfind("\n", 0, at) + 1
        if "|" in src.norm[line_start:at] or ":" in src.norm[line_start:at]:
            continue  # a form's answer ("Parent's name | Leila Hassan"), not a signature
        if _SIGNED_OFF.search(src.norm[max(0, line_start - 200) : line_start]):
            out.append((src, at))
    return out


_SIGNED_OFF = re.compile(
    r"(?i)\b(?:yours (?:sincerely|faithfully|truly)|(?:kind|best|warm)(?:est)? (?:regards|wishes)"
    r"|regards|many thanks|thank you)\b[ ,.]*\n"
)
