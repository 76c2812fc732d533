"""Is this mail from a machine? The referrals mailbox must never acknowledge machine mail.

An acknowledgement sent to a bounce, an out-of-office or a mailing list starts a mail loop or
spams a list (RFC 3834 section 2), so `classify` runs on every message before intake may reply.
The opposite mistake costs more here: intake stores machine mail without opening a case, so a
family's referral taken for machine mail gets no case and no acknowledgement. Every rule is
therefore built on evidence a person's mail client does not produce, and a heuristic that can
be fooled by what a person writes needs a second, independent sign before it counts.

The check is a table of small named rules (Mailman's shape), grouped by kind of evidence:

    engine.py        Verdict, the rule table RULES, classify()
    rule.py          Rule (name, kind, check, description) and the three kinds
    facts.py         what the rules look at, worked out once per message
    bounces.py       DSNs, MTA failure notices, delay warnings
    headers.py       Auto-Submitted, Precedence, autoresponder and list headers, notifier marks
    autoreplies.py   out-of-office and auto-reply subjects and text, challenge-response
    senders.py       mail system, no-reply and program senders; `unanswerable`
    reports.py       abuse/DMARC reports, read receipts
    bulk.py          bulk platforms, newsletter footers, "do not reply" notices
    spam.py          spam filter verdicts and weak spam signals
    bounce_facts.py  what intake needs from a bounce: `bounced_recipients`, `original_message_id`
"""

from inbox.classify.bounce_facts import bounced_recipients, original_message_id
from inbox.classify.engine import PRECEDENCE, RULES, RuleError, Verdict, classify
from inbox.classify.facts import Facts
from inbox.classify.rule import AUTO_GENERATED, AUTO_REPLY, BOUNCE, Rule, rule
from inbox.classify.senders import unanswerable

__all__ = [
    "AUTO_GENERATED",
    "AUTO_REPLY",
    "BOUNCE",
    "PRECEDENCE",
    "RULES",
    "Facts",
    "Rule",
    "RuleError",
    "Verdict",
    "bounced_recipients",
    "classify",
    "original_message_id",
    "rule",
    "unanswerable",
]
