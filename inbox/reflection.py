"""What keeps an acknowledgement from being reflected: nobody can make us send their words, under our
name, to an address of their choosing.

An acknowledgement is our own fixed text with the case reference. The one thing in it that comes
from the mail it answers is the greeting's name, and only when it looks like a person's name and the
acknowledgement goes back to the From address (else "Hello,"). Where it goes is decided here too:
a Reply-To in another domain than the From is not followed, since nothing vouches for it (DMARC
authenticates the From's domain, never the Reply-To), and mail claiming our own domain is answered
only when our own mail server says DMARC passed for it (our website's form).

Authentication-Results (RFC 8601) are believed only from the authserv-id named by
MDESK_TRUSTED_AUTHSERV_ID: anyone can write such a header, and RFC 8601 5 has our own border server
remove copies bearing its id from incoming mail, so that id is the only one that can be trusted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import authres

from inbox.classify import unanswerable
from inbox.message import ParsedMessage
from models.settings import Settings

# RFC 5321 4.5.3.1: a local part of at most 64 octets, a domain of at most 255, and a path of at most
# 256 octets with its angle brackets (so 254 for the address itself).
MAX_LOCAL, MAX_DOMAIN, MAX_ADDRESS = 64, 255, 254

MAX_NAME_CHARS = 60
MAX_NAME_WORDS = 6
# Letters only, in words joined by a space, hyphen, apostrophe or full stop ("Mrs J. O'Neil-Smith"):
# no digits, no "@", no URL, no punctuation a message could be written with.
_NAME = re.compile(r"[^\W\d_]+(?:(?:[ '’.-]|\. )[^\W\d_]+)*\.?")
# Words that name an organisation, a department or a demand, never a person: "Mediation Desk Billing",
# "Accounts Team", "Final Notice" are someone's chosen text, not a name to greet.
# fmt: off
_NOT_A_PERSON = frozenset((
    "account", "accounts", "admin", "administration", "administrator", "alert", "alerts", "bank", "billing",
    "click", "council", "customer", "department", "desk", "director", "enquiries", "enquiry", "fee", "fees",
    "final", "finance", "helpdesk", "info", "invoice", "invoices", "mediation", "notice", "notification",
    "notifications", "noreply", "office", "overdue", "password", "pay", "payment", "payments", "refund",
    "refunds", "reply", "required", "security", "service", "services", "support", "system", "team", "update",
    "urgent", "verify", "warning",
))
# fmt: on


def greeting_name(candidates: list[str], settings: Settings) -> str:
    """The first candidate that looks like a person's name, or "" for the template's neutral greeting."""
    for candidate in candidates:
        name = " ".join(candidate.split())
        if looks_like_a_person(name, settings.service_name):
            return name
    return ""


def looks_like_a_person(name: str, service_name: str) -> bool:
    if not name or len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name):
        return False
    words = re.split(r"[ '’.-]+", name.lower())
    if len(name.split()) > MAX_NAME_WORDS or any(word in _NOT_A_PERSON for word in words):
        return False
    return service_name.lower() not in name.lower()


def claims_our_domain(address: str, settings: Settings) -> bool:
    """The address is in our own domain or one of its subdomains."""
    domain = address.rpartition("@")[2].lower()
    ours = settings.mail_from_domain
    return domain == ours or domain.endswith("." + ours)


def within_smtp_limits(address: str) -> bool:
    local, _, domain = address.rpartition("@")
    return (
        len(local.encode()) <= MAX_LOCAL and len(domain.encode()) <= MAX_DOMAIN and len(address.encode()) <= MAX_ADDRESS
    )


def follows_reply_to(sender: str, reply_to: str) -> bool:
    """Whether a Reply-To is where we answer: in the From's own domain (that domain's choice), or from
    a form service's no-reply From, whose person is only in the Reply-To. A Reply-To in another domain
    is not: nothing vouches for it (DMARC checks the From's domain), so following it let anyone aim
    our mail at a third party; the From is answered instead."""
    return unanswerable(sender) or reply_to.rpartition("@")[2] == sender.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class Dmarc:
    """What our own mail server said about DMARC for this message: "pass", "fail", or None (nothing
    believable), and the From domain it evaluated."""

    result: str | None
    header_from: str = ""


def trusted_dmarc(msg: ParsedMessage, authserv_id: str) -> Dmarc:
    """The DMARC verdict of the Authentication-Results headers bearing `authserv_id`; any fail wins."""
    if not authserv_id:
        return Dmarc(None)
    verdicts: list[Dmarc] = []
    for value in msg.authentication_results:
        try:
            header = authres.AuthenticationResultsHeader.parse_value(value)
        except authres.AuthResError:
            continue  # unreadable: says nothing either way
        if (header.authserv_id or "").lower() != authserv_id.lower():
            continue
        for result in header.results:
            if result.method == "dmarc":
                header_from = next((p.value for p in result.properties if (p.type, p.name) == ("header", "from")), "")
                verdicts.append(Dmarc(result.result.lower(), (header_from or "").lower()))
    failed = [v for v in verdicts if v.result == "fail"]
    passed = [v for v in verdicts if v.result == "pass"]
    return (failed or passed or [Dmarc(None)])[0]
