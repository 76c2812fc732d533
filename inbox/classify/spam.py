"""Spam: the verdicts the filters in front of the mailbox stamp on it, and, for unmarked spam,
two or more independent weak signals that a person's mail rarely shows together."""

from __future__ import annotations

import functools
import ipaddress
import re

from inbox.classify.facts import HEAD_CHARS, Facts
from inbox.classify.rule import AUTO_GENERATED, rule
from inbox.message import ParsedMessage

# Spam verdicts stamped by the filters in front of the mailbox (SpamAssassin, rspamd, Microsoft EOP,
# Barracuda): a filter's "yes" is better evidence than anything we could guess.
_SPAM_SUBJECT_TAG = re.compile(r"^\s*(?:\*{2,}\s*spam\s*\*{2,}|\[spam\]|\{spam\??\}|\(spam\)|spam:)", re.I)


@rule(AUTO_GENERATED)
def spam_verdict(f: Facts) -> str | None:
    """A spam filter upstream said spam: X-Spam-Flag: YES, X-Spam-Status: Yes, X-Spam: yes,
    Microsoft SFV:SPM or SCL >= 5, or a [SPAM] subject tag."""
    if f.header("x-spam-flag").lower().startswith("yes"):
        return "X-Spam-Flag: YES"
    if f.header("x-spam-status").lower().startswith("yes"):
        return "X-Spam-Status: Yes"
    for name in ("x-spam", "x-barracuda-spam-status", "x-spam-verdict"):
        if f.header(name).lower().startswith(("yes", "spam")):
            return f"{name.title()}: {f.header(name)[:20]}"
    forefront = f.header("x-forefront-antispam-report")
    if re.search(r"\bSFV:(?:SPM|BLK)\b", forefront):
        return "Microsoft EOP verdict SFV:SPM"
    m = re.search(r"\bSCL:(\d)", forefront + " " + f.header("x-ms-exchange-organization-scl"))
    if m and int(m.group(1)) >= 5:
        return f"Microsoft spam confidence SCL:{m.group(1)}"
    if _SPAM_SUBJECT_TAG.match(f.subject):
        return "subject tagged as spam"
    return None


# Postfix "from helo (unknown [ip])", qmail "from unknown (HELO helo) (ip)": no reverse DNS.
_RDNS_NONE = re.compile(
    r"^from\s+(?:\S+\s+\(unknown\s+\[(?P<a>[0-9a-f.:]+)\]|unknown\s+\(helo\s[^)]*\)\s+\((?:[^)@]*@)?\[?(?P<b>[0-9a-f.:]+))",
    re.I,
)
_FREEMAIL_HELO = re.compile(
    r"^from\s+(?:gmail\.com|googlemail\.com|hotmail\.com|outlook\.com|live\.com|yahoo\.[a-z.]+|aol\.com|"
    r"msn\.com|qq\.com|163\.com|126\.com|sina\.com|icloud\.com)\s",
    re.I,
)


# Pure, and dear (ipaddress builds the special-purpose networks it compares with at every call: a third of
# spam_signals); the relays that hand us mail are few and recur, so their answers are kept (bounded).
@functools.lru_cache(maxsize=4096)
def _public_ip(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).is_global
    except ValueError:
        return False


def _receiving_hop(msg: ParsedMessage) -> str:
    """The Received header our side wrote when the mail came in from outside: the topmost one with
    a "from" clause naming a public address. Lower hops are the sender's word and prove nothing."""
    try:
        values = (msg.message.get_all("received") or []) if msg.message is not None else []
    except Exception:
        return ""
    for value in list(values)[:6]:
        text = " ".join(str(value).split())
        if not text.lower().startswith("from "):
            continue
        ips = [a or b for a, b in re.findall(r"\[([0-9a-f.:]+)\]|\(([0-9.]+)\)", text)]
        if ips and not any(_public_ip(ip) for ip in ips):
            continue  # an internal relay hop
        return text
    return ""


def _spam_signals(f: Facts) -> list[str]:
    """SpamAssassin-style weak signals; none is enough alone, a person's mail rarely shows two."""
    signals: list[str] = []
    hop = _receiving_hop(f.msg)
    m = _RDNS_NONE.match(hop)
    if m and _public_ip(m.group("a") or m.group("b") or ""):
        signals.append("sending host has no reverse DNS")
    if _FREEMAIL_HELO.match(hop):
        signals.append("HELO claims a webmail domain")
    if not f.has("message-id"):
        signals.append("no Message-ID")
    mailer = f.header("x-mailer").lower()
    if mailer.startswith(("microsoft outlook express", "foxmail")):
        signals.append(f"X-Mailer {mailer[:30]!r}, long dead and a spam-bot favourite")
    html = (f.msg.html or "")[: HEAD_CHARS * 4].lower()
    if "<img" in html and len(f.lead.strip()) < 40 and not any(a.inline for a in f.msg.attachments or ()):
        signals.append("HTML that is only a remote image")
    return signals


@rule(AUTO_GENERATED)
def spam_signals(f: Facts) -> str | None:
    """Unmarked spam: two or more independent weak signals (no reverse DNS at our receiving hop, a
    forged webmail HELO, no Message-ID, an Outlook Express/FoxMail X-Mailer, remote-image-only HTML)."""
    signals = _spam_signals(f)
    return "spam signals: " + ", ".join(signals) if len(signals) >= 2 else None
