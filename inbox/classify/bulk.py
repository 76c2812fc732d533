"""Bulk and notification mail told apart from a person's: the marks of bulk-sending platforms,
a newsletter's footer, a notification that says nobody reads its mailbox.

A person who answers or forwards a newsletter to us is a person, and a council's disclaimer
("do not reply to this email if you are not the intended recipient") is a person's mail: the text
rules match whole sentences a newsletter or notification writes, not words a person might use.
"""

from __future__ import annotations

import re

from inbox.classify.facts import Facts, said
from inbox.classify.rule import AUTO_GENERATED, rule
from inbox.gated import Gated
from inbox.mailtext import FORWARD_SUBJECT

# Headers only bulk and transactional sending platforms add (Gmail's Feedback-ID for bulk senders,
# SendGrid, Mailchimp/Mandrill, Mailjet, Brevo, the CSA certification, ...). Mailgun's X-Mailgun-Tag
# is left out: it is an instruction to Mailgun that survives into one-to-one mail (talon/outlook.eml).
_BULK_HEADER_PREFIXES = (
    "feedback-id",
    "x-campaign",
    "x-mc-user",
    "x-mandrill-user",
    "x-mailchimp",
    "x-sg-eid",
    "x-sg-id",
    "x-csa-complaints",
    "x-newsletter",
    "x-bulkmail",
    "x-mailjet-campaign",
    "x-sib-id",
    "x-ems-",
)
_BULK_MAILER = re.compile(
    r"mailchimp|mailjet|sendinblue|brevo|phplist|campaign\s*monitor|getresponse|mailpoet|constant\s*contact|"
    r"acumbamail|newsletter|bulk\s*mail|mass\s*mail|sendy|mautic|hubspot|marketo|pardot|eloqua|exacttarget|"
    r"emarsys|klaviyo|rapidmail|cleverreach",
    re.I,
)
# Some gateways stamp their bulk ("infomail") verdict on the mail.
_BULK_VERDICT_HEADERS = ("x-antispameurope-detected-infomail", "x-bulk-mail", "x-is-bulk")


@rule(AUTO_GENERATED)
def bulk_mailer(f: Facts) -> str | None:
    """Marks of bulk-sending platforms: Feedback-ID, X-Campaign, X-SG-EID, X-CSA-Complaints, a
    newsletter X-Mailer, a gateway's bulk verdict, or Microsoft's bulk complaint level (BCL) at or
    above its default bulk threshold of 7."""
    for name in f.headers:
        if name.startswith(_BULK_HEADER_PREFIXES):
            return f"{name} header (bulk sending platform)"
    mailer = f.header("x-mailer") or f.header("user-agent")
    if mailer and _BULK_MAILER.search(mailer):
        return f"X-Mailer {mailer[:40]!r} is a bulk mailer"
    for name in _BULK_VERDICT_HEADERS:
        if f.header(name).lower() in ("yes", "true", "1"):
            return f"{name}: yes"
    m = re.search(r"\bBCL:(\d)", f.header("x-microsoft-antispam"))
    if m and int(m.group(1)) >= 7:
        return f"Microsoft bulk complaint level BCL:{m.group(1)}"
    return None


# What a newsletter says to its reader. Not "opt out" or "unsubscribe me", which a person writes
# (a parent may well "opt out of mediation").
_UNSUBSCRIBE = Gated(
    re.compile(
        # Each branch's first character, so that the engine leaves every other position at once.
        r"""(?=[cdhmnorstuvwy|\u00b7\u2022])(?:
            (?:click|tap)\s+here\s+to\s+unsubscribe | here\s+to\s+unsubscribe
          | to\s+unsubscribe(?:\s*,|\s+from\s+(?:this|these|our|future|all)
                             |\s+(?:click|visit|please|go\s+to|follow|send|use))
          | \bunsubscribe\s+(?:here|now|link|from\s+(?:this|our|these|further|all|future|the))
          | \bunsubscribe\s*[|\u00b7\u2022] | [|\u00b7\u2022]\s*unsubscribe\b
          | (?:no\s+longer\s+wish|do\s+not\s+wish|don'?t\s+want)\s+to\s+receive\s+(?:these|such|our|further|future|this)
          | you\s+(?:are\s+)?receiv(?:e|ing)\s+this\s+(?:e-?mail|message|newsletter)\s+because
          | (?:view|read|open)\s+(?:this\s+(?:e-?mail|message|newsletter)\s+)?(?:in|with)\s+(?:your|a|the)\s+
                (?:web\s+)?browser
          | to\s+stop\s+receiving\s+(?:these|such|our)\s+e-?mails
          | manage\s+your\s+(?:e-?mail\s+)?(?:preferences|subscriptions?)
          | this\s+(?:e-?mail|message|newsletter)\s+(?:does\s+not|doesn'?t|is\s+not)\s+display(?:ing)?\s+
                (?:correctly|properly)
          | having\s+trouble\s+(?:viewing|reading)\s+this\s+(?:e-?mail|message)
          | wenn\s+diese\s+(?:e-?mail|nachricht|mail)\s+nicht\s+(?:richtig|korrekt)\s+(?:dargestellt|angezeigt)
          | newsletter\s+(?:abbestellen|abmelden) | hier\s+abmelden
          | si\s+ce\s+(?:message|courriel|mail)\s+ne\s+s'affiche\s+pas | se\s+d.sinscrire | se\s+d.sabonner
          | darse\s+de\s+baja | cancelar\s+(?:la\s+)?suscripci.n
        )""",
        re.IGNORECASE | re.VERBOSE,
    ),
    # each branch in order ("received" is in most bounces, so not "receiv": wish/want to receive,
    # receiving this ... because, stop receiving)
    (
        "unsubscribe",
        "wish",
        "want",
        "because",
        "receiving",
        "browser",
        "manage",
        "display",
        "trouble",
        "wenn",
        "newsletter",
        "abmelden",
        "affiche",
        "sinscrire",
        "sabonner",
        "baja",
        "cancelar",
    ),
)


@rule(AUTO_GENERATED)
def unsubscribe_footer(f: Facts) -> str | None:
    """A newsletter without list headers still tells its reader how to unsubscribe or view it in a
    browser (top or bottom of the body). Not counted on a reply or a forward: a person who answers
    or forwards a newsletter to us is a person."""
    if f.msg.in_reply_to or f.msg.references or f.msg.forwarded or FORWARD_SUBJECT.match(f.subject):
        return None
    m = _UNSUBSCRIBE.search(f.lead, f.lead_low) or _UNSUBSCRIBE.search(f.tail, f.tail_low)
    return f"newsletter wording: {said(m, 50)}" if m else None


# Whole sentences only: a council's disclaimer says "Please do not reply to this email address if
# you are not the intended recipient", which is a person's mail.
_SENTENCE_END = r"\s*(?:[.!]|,?\s+(?:as|because|since)\s|\s*$)"
_DO_NOT_REPLY = Gated(
    re.compile(
        # (?=[dpt]): the branches' first letters, so that the engine leaves every other position at once.
        r"(?=[dpt])(?:(?:please\s+)?do\s+not\s+(?:reply|respond)\s+(?:directly\s+)?to\s+this\s+(?:e-?mail|message)(?:\s+address)?"
        + _SENTENCE_END
        + r"|this\s+(?:e-?mail\s+address|mailbox|inbox)\s+is\s+(?:not\s+monitored|unattended|unmonitored)"
        + _SENTENCE_END
        + r"|this\s+(?:e-?mail|message)\s+(?:was\s+|has\s+been\s+)?(?:automatically\s+generated|sent\s+from\s+an?\s+"
        r"(?:unmonitored|automated)))",
        re.I | re.M,
    ),
    # do not reply/respond, not monitored/unattended/unmonitored, automatically/automated
    ("reply", "respond", "monitored", "unattended", "automat"),
)


@rule(AUTO_GENERATED)
def do_not_reply_text(f: Facts) -> str | None:
    """A notification that says nobody reads its mailbox ("Please do not reply to this email")."""
    m = _DO_NOT_REPLY.search(f.lead, f.lead_low)
    return f"body says {said(m, 50)}" if m else None
