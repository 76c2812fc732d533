"""Address headers read tolerantly: From, To, Cc, Reply-To, and whom to answer when From gives no address."""

from __future__ import annotations

import re
from email.message import Message
from email.utils import getaddresses

from inbox.mailtext import EMAIL_IN_HEADER
from inbox.message import Address
from inbox.parse.charsets import Charsets, from_8bit
from inbox.parse.headers import ENCODED_WORD, Headers, decode_words, unfold

MAX_ADDRESS_HEADER = 32 * 1024  # address parsing is the slowest header work; a longer To is truncated

_PLAUSIBLE_ADDR = re.compile(r'^(?:"[^"]*"|[^@\s"]+)@[^@\s]+$|^[^@\s]+$')
_ASCII_SPACES = re.compile(r"[ \t]+")
_COMMA_GUARD = "\ue010"  # a comma inside an encoded word must not split the address list
# `Name <a@b>`, `"Name" <a@b>` or `a@b` alone, with no character that would need the full RFC 5322 grammar.
_SIMPLE_ADDRESS = re.compile(
    r'^\s*(?:"?([^"<>,;:()\\@\[\]]*?)"?\s*<([^<>\s",;:()\\@\[\]]+@[^<>\s",;:()\\@\[\]]+)>'
    r'|([^<>\s",;:()\\@\[\]]+@[^<>\s",;:()\\@\[\]]+))\s*$'
)


def parse_addresses(value: str, charsets: Charsets, problems: list[str], name: str) -> list[Address]:
    text = unfold(from_8bit(value, charsets, problems, name))
    if len(text) > MAX_ADDRESS_HEADER:
        problems.append(f"header {name} longer than {MAX_ADDRESS_HEADER // 1024} KB; only the start was read")
        text = text[:MAX_ADDRESS_HEADER]
    simple = _SIMPLE_ADDRESS.match(text)
    if simple:  # most From/To values: one plain address, no need for the (slow) full grammar
        display, addr = simple.group(1) or "", simple.group(2) or simple.group(3)
        display = _ASCII_SPACES.sub(" ", display.strip())  # as getaddresses joins the words of a name
        return [Address(name=decode_words(display, problems, name).strip(), email=addr.lower())]
    if "=?" in text:
        text = ENCODED_WORD.sub(lambda m: m.group().replace(",", _COMMA_GUARD), text)
    try:
        pairs = getaddresses([text])
    except (RecursionError, ValueError, TypeError, IndexError):  # nested comments "((((" recurse
        problems.append(f"header {name} is not a valid address list; addresses picked out of the text")
        return [Address(name="", email=found.lower()) for found in EMAIL_IN_HEADER.findall(text)]
    if any(addr and not _PLAUSIBLE_ADDR.match(addr) and "@" in addr and " " not in addr for _, addr in pairs):
        # getaddresses gave up ("bob@x.com bill@y.com" -> "@y.com"): take the addresses we can see.
        problems.append(f"header {name} is not a valid address list; addresses picked out of the text")
        return [Address(name="", email=found.lower()) for found in EMAIL_IN_HEADER.findall(text)]
    result = []
    for display, addr in pairs:
        display = _without_comment(display, text)
        display = decode_words(display.replace(_COMMA_GUARD, ","), problems, name).strip()
        addr = addr.replace(_COMMA_GUARD, ",").strip()
        if " " in addr and not addr.startswith('"'):
            # "Test test@example.com" without angle brackets: the last word is the address.
            head, _, addr = addr.rpartition(" ")
            display = display or head.strip()
        if display or addr:
            result.append(Address(name=display, email=addr.lower()))
    return result


_QUOTED_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _without_comment(display: str, header: str) -> str:
    """getaddresses folds a trailing comment into the name: "MAILER-DAEMON (Mail Delivery System)
    <postmaster@x>" names MAILER-DAEMON; the comment is not part of the phrase (RFC 5322 3.4). A
    parenthesis inside a quoted name ("Jo Bloggs (SENCO)") stays."""
    if not display.endswith(")") or "(" not in display:
        return display
    cut = display.rfind("(")
    phrase = display[:cut].strip()
    if phrase and display[cut:] in _QUOTED_STRING.sub("", header):
        return phrase
    return display


def first_sender(addresses: list[Address]) -> Address | None:
    """The From address to answer: the first with a domain, else the first with any address (a bare
    "MAILER-DAEMON"), else the first name (zammad mail017 has a junk From before the real one)."""
    for address in addresses:
        if "@" in address.email:
            return address
    for address in addresses:
        if address.email:
            return address
    return addresses[0] if addresses else None


def sender_of(msg: Message, headers: Headers, charsets: Charsets, problems: list[str]) -> Address | None:
    """From; when it gives no address (spam and some gateways omit it or send `From: "name" <>`), the
    address replies would go to: Reply-To, then Sender, then the mbox envelope line. A display name
    from From is kept."""
    sender = first_sender(addresses_of(headers, "from", charsets, problems))
    if sender is not None and sender.email:
        return sender
    problems.append("From header has no usable address" if "from" in headers.raw else "no From header")
    name = sender.name if sender else ""
    for field_name in ("reply-to", "sender"):
        other = first_sender(addresses_of(headers, field_name, charsets, problems))
        if other is not None and "@" in other.email:
            problems.append(f"sender taken from {field_name.title()}")
            return Address(name=name or other.name, email=other.email)
    envelope = (msg.get_unixfrom() or "").split()
    if len(envelope) > 1 and "@" in envelope[1]:
        problems.append("sender taken from the mbox envelope line")
        return Address(name=name, email=envelope[1].strip("<>").lower())
    return sender


def addresses_of(headers: Headers, name: str, charsets: Charsets, problems: list[str]) -> list[Address]:
    result: list[Address] = []
    for value in headers.raw.get(name, []):
        result.extend(parse_addresses(value, charsets, problems, name.title()))
    return result
