"""What intake needs from a bounce: the addresses that could not be reached (to mark them
undeliverable) and the Message-ID of our mail that bounced (to find its case). Both never raise."""

from __future__ import annotations

import logging
import re
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from inbox.classify.bounces import ACTION, DSN_PARTS
from inbox.classify.engine import Verdict, classify
from inbox.classify.facts import own_parts, part_text
from inbox.classify.rule import BOUNCE
from inbox.mailtext import EMAIL_IN_TEXT
from inbox.message import ParsedMessage
from inbox.parse import content_type

log = logging.getLogger("mdesk.inbox.classify")

_BOUNCE_TEXT_LIMIT = 16384  # a bounce's explanation plus the headers of the returned message

_ADDR = EMAIL_IN_TEXT.pattern
_RECIPIENT_FIELD = re.compile(
    r"^\s*(final|original)-recipient\s*:\s*(?:[\w.-]+\s*;)?\s*<?(" + _ADDR + r")>?", re.I | re.M
)
_TEXT_FAILED = (
    # Postfix, qmail, Courier: "<addr>: host ... said: 550 ..." at the start of a line.
    re.compile(
        r"^\s*<(" + _ADDR + r")>:?\s*(?:$|[^\n]{0,200}\b(?:unknown|said|rejected|failed|not|no\s+such|"
        r"quota|full|\d\.\d\.\d|5\d\d))",
        re.I | re.M,
    ),
    # Exim "The following address(es) failed:", Gmail "Delivery to the following recipient failed
    # permanently:", sendmail "had permanent fatal errors", Exchange "Delivery has failed to these
    # recipients or groups:": the addresses on the next few lines.
    re.compile(
        r"(?:following\s+address(?:\(es\)|es)?\s+failed|following\s+recipients?\s+failed|permanent\s+fatal\s+errors|"
        r"failed\s+to\s+these\s+recipients(?:\s+or\s+groups)?|could\s+not\s+be\s+delivered\s+to(?:\s+the\s+following)?|"
        r"following\s+recipients?\s+(?:could\s+not|was\s+not|were\s+not))[^\n]*\n((?:[^\n]*\n){0,4})",
        re.I,
    ),
    # "User some.name (addr) not listed", "addr: User unknown", "addr ... does not exist".
    re.compile(
        r"\b(" + _ADDR + r")\)?\s*(?:[:.]\s*|\s+)(?:user\s+unknown|not\s+listed|does\s+not\s+exist|"
        r"no\s+such\s+user|mailbox\s+(?:unavailable|full|not\s+found)|unknown\s+user|recipient\s+rejected)",
        re.I,
    ),
)
_RETURNED_START = re.compile(
    r"^(?:-{2,}\s*(?:original\s+message|this\s+is\s+a\s+copy|below\s+this\s+line|returned\s+message|"
    r"unsent\s+message)|.*(?:original\s+message\s+follows|message\s+headers\s+follow|copy\s+of\s+the\s+message))",
    re.I | re.M,
)


def _returned_cut(text: str) -> str:
    """A bounce's own explanation, without the copy of our message it carries (whose To: is ours)."""
    m = _RETURNED_START.search(text)
    return text[: m.start()] if m else text


def bounced_recipients(msg: ParsedMessage, *, verdict: Verdict | None = None) -> list[str]:
    """The addresses a bounce says could not be reached, lower case, in order, without repeats.

    From the delivery-status parts (Final-/Original-Recipient of each block whose Action is not
    delayed, delivered, relayed or expanded: a delay is not a failure), X-Failed-Recipients, and
    the usual text forms of non-standard bounces. Empty when the message is not a final bounce.
    A caller that has already classified `msg` may pass that verdict, so it is not worked out again.
    """
    try:
        return _bounced_recipients(msg, verdict)
    except Exception as exc:  # a bug: the bounce is still stored and classified, without its addresses
        _log_bug("bounced_recipients", exc)
        return []


def _bounced_recipients(msg: ParsedMessage, verdict: Verdict | None) -> list[str]:
    found: list[str] = []

    def add(addr: str) -> None:
        addr = addr.strip().strip("<>").lower()
        if "@" in addr and addr not in found:
            found.append(addr)

    for part in own_parts(msg):
        if content_type(part) not in DSN_PARTS:
            continue
        for block in re.split(r"\n\s*\n", part_text(part)):
            action = ACTION.search(block)
            if action and action.group(1).lower() in ("delayed", "delivered", "relayed", "expanded"):
                continue
            fields = {kind.lower(): addr for kind, addr in _RECIPIENT_FIELD.findall(block)}
            if fields:
                add(fields.get("final") or fields["original"])
    for _, addr in getaddresses([(msg.headers or {}).get("x-failed-recipients", "")]):
        add(addr)
    if found:
        return found
    if verdict is None:
        verdict = classify(msg)
    if verdict.kind != BOUNCE or verdict.delay:
        return []
    ours = {a.email.lower() for a in msg.to or [] if a and a.email}
    text = _returned_cut((msg.text or "")[:_BOUNCE_TEXT_LIMIT])
    for pattern in _TEXT_FAILED:
        for m in pattern.finditer(text):
            for addr in re.findall(_ADDR, m.group(1)):
                if addr.lower() not in ours:
                    add(addr)
        if found:
            break
    return found


_MESSAGE_ID = re.compile(r"^message-id\s*:\s*<?([^>\s]+)>?", re.I | re.M)


def original_message_id(msg: ParsedMessage, *, verdict: Verdict | None = None) -> str | None:
    """The Message-ID (without angle brackets) of the mail that bounced, so intake can find its case.

    From the returned message/rfc822 or text/rfc822-headers part, then a copy of the headers in
    the bounce text, then In-Reply-To / References (many MTAs and most auto-replies set them).
    A caller that has already classified `msg` may pass that verdict, so it is not worked out again.
    """
    try:
        return _original_message_id(msg, verdict)
    except Exception as exc:  # a bug: the bounce is still stored and classified, without its case
        _log_bug("original_message_id", exc)
        return None


def _log_bug(name: str, exc: Exception) -> None:
    # The exception's text and traceback may quote the message: its type at ERROR, the rest at DEBUG.
    log.error("%s failed (%s): a bug", name, type(exc).__name__)
    log.debug("%s traceback", name, exc_info=exc)


def _clean_id(value: object) -> str:
    return str(value or "").strip().strip("<>").strip()


def _original_message_id(msg: ParsedMessage, verdict: Verdict | None) -> str | None:
    own = msg.message_id
    for part in own_parts(msg):
        ctype = content_type(part)
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            mid = _clean_id(inner.get("message-id")) if isinstance(inner, Message) else ""
            if not mid:
                m = _MESSAGE_ID.search(part_text(part))
                mid = m.group(1) if m else ""
            if mid and mid != own:
                return mid
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers"):
            mid = _clean_id(HeaderParser().parsestr(part_text(part)).get("message-id"))
            if mid and mid != own:
                return mid
    if (verdict if verdict is not None else classify(msg)).kind is not None:
        m = _MESSAGE_ID.search((msg.text or "")[:_BOUNCE_TEXT_LIMIT])
        if m and m.group(1) != own:
            return m.group(1)
    if msg.in_reply_to:
        return msg.in_reply_to[0]
    if msg.references:
        return msg.references[-1]
    return None
