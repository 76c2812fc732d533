"""A message over `settings.max_message_mb`: kept raw, quarantined unread, its sender told.

Reading a message costs several times its size (a 100 MB one took 1 GB and 14 s), and its
attachments would be stored a second time, decoded. So a message over the limit is never parsed:
only its header block is (inbox.reading.read_headers), to know who sent it and whether a person did (the automated-mail
classifier runs on the headers alone). Its raw bytes are stored as they came, with no decoded
copy, and a coordinator finds it in quarantine with the reason. A person gets a short automatic
reply saying the email was too large and giving the offices' numbers, under the same rules as an
acknowledgement (inbox.acknowledge.automatic_reply_refused): the reply carries nothing the sender
wrote, not even a name.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlmodel import Session

from inbox.acknowledge import automatic_reply_refused
from inbox.classify import Verdict
from inbox.message import ParsedMessage
from models.offices import offices_for
from models.outbox_ops import enqueue_id, make_message_id
from models.settings import Settings

MB = 1024 * 1024
TEMPLATE = "too_large"


def reason(size: int, settings: Settings) -> str:
    return f"too large ({_mb(size)} MB; the limit is {_mb(settings.max_message_bytes, up=False)} MB)"


def answer(
    session: Session,
    settings: Settings,
    parsed: ParsedMessage,
    verdict: Verdict,
    inbound_id: int,
    size: int,
    received_at: datetime | None = None,
) -> str:
    """Queue the reply to a person's too-large message, or say why not; the reason to record."""
    if verdict.kind is not None:
        return f"no reply: automated ({verdict.kind}): " + "; ".join(verdict.reasons)
    # The From address only: a Reply-To would let a sender aim our reply at someone else.
    to = parsed.sender.email if parsed.sender and "@" in parsed.sender.email else ""
    refused = automatic_reply_refused(session, settings, to, received_at)
    if refused is not None:
        return f"no reply: {refused.reason}"
    references = [*parsed.references, parsed.message_id] if parsed.message_id else list(parsed.references)
    enqueue_id(
        session,
        key=f"too_large:inbound:{inbound_id}",
        fresh=True,  # the inbound row was written in this transaction
        channel="email",
        to=to,
        template=TEMPLATE,
        context={
            "size_mb": _mb(size),
            "limit_mb": _mb(settings.max_message_bytes, up=False),
            "offices": [
                {"name": o.name, "phone_display": o.phone_display, "hours": o.hours} for o in offices_for(None)
            ],
        },
        message_id=make_message_id(settings.mail_from_domain),
        in_reply_to=parsed.message_id,
        references=references[-20:],
    )
    return "reply queued: the email was too large to receive"


def _mb(size: int, *, up: bool = True) -> str:
    """Megabytes to one decimal, "41" rather than "41.0"; a message's size is rounded up, so one
    just over the limit never reads as the limit itself."""
    tenths = math.ceil(size * 10 / MB) if up else round(size * 10 / MB)
    return f"{tenths / 10:.1f}".removesuffix(".0")
