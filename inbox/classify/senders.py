"""Who sent it: the mail system (MAILER-DAEMON, postmaster), no-reply and program addresses, bulk
senders' envelopes, an empty From. And `unanswerable`, which intake and the acknowledgement use
to avoid writing to an address nobody reads.

A no-reply or program sender may still relay a person's words (a web form's notification, an
"on behalf of" service); taking that for machine mail would lose a family's referral, so those
rules stand down when the mail names a person to answer (`relays_a_person`, `form_submission`).
"""

from __future__ import annotations

import re

from inbox.classify.facts import Facts
from inbox.classify.rule import AUTO_GENERATED, BOUNCE, rule
from inbox.mailtext import EMAIL_IN_TEXT

_DAEMON_LOCAL = re.compile(
    r"^(?:mailer[-_]?daemon|mail[-_]?daemon|mdaemon|mail\.?delivery|bounce-?notification|"
    r"microsoftexchange[0-9a-f]{32}|smtp-?gateway)$"
)
# postmaster@ must be read by a person (RFC 5321 4.5.1), so it only counts as the mail system
# when it does not sign with a person's name.
_POSTMASTER_LOCAL = re.compile(r"^post[-_.]?master$")
_DAEMON_NAME = re.compile(
    r"^(?:mail\s*delivery\s*(?:system|subsystem|service|daemon)|mailer[- ]daemon|postmaster|"
    r"mail\s+administrator|delivery\s+status\s+notification|internet\s+mail\s+delivery|post\s+office)\b"
)


def is_postmaster(f: Facts) -> bool:
    """postmaster@, whoever signs it: failure wording from there is a bounce (see bounce_text)."""
    return bool(_POSTMASTER_LOCAL.match(f.sender_local))


def is_mail_system(f: Facts) -> bool:
    if f.sender_local and _DAEMON_LOCAL.match(f.sender_local):
        return True
    if _POSTMASTER_LOCAL.match(f.sender_local):
        return not f.sender_name or f.sender_name == f.sender or bool(_DAEMON_NAME.match(f.sender_name))
    return False


@rule(BOUNCE)
def daemon_sender(f: Facts) -> str | None:
    """Mail from MAILER-DAEMON, postmaster or "Mail Delivery System" is a delivery report.
    Exchange Online sends its NDRs from MicrosoftExchange<32 hex>@."""
    if is_mail_system(f):
        return f"sender {f.sender_local}@ is a mail system"
    if f.sender_name and _DAEMON_NAME.match(f.sender_name):
        return f'sender "{f.sender_name}" is a mail system'
    return None


_NOREPLY = re.compile(
    r"(?:^|[._+-])(?:no-?reply\w*|do-?not-?reply|donot-?reply|dont-?reply|no_reply|do_not_reply|"
    r"ne-?pas-?repondre|nepasrepondre|keine-?antwort|no-?responder|unmonitored)(?:$|[._+-])"
)


def is_noreply(local: str) -> bool:
    """A local part that says nobody reads replies (noreply, do-not-reply, ne-pas-repondre, ...)."""
    return bool(_NOREPLY.search(local))


def unanswerable(address: str) -> bool:
    """An address nobody reads: no-reply (noreply@, do-not-reply@...) or a program's (root@,
    notifications@...). A web form's notification from one is answered at the address typed in it."""
    local = address.lower().rsplit("@", 1)[0]
    return bool(_NOREPLY.search(local) or _SYSTEM_LOCAL.match(local))


def _answerable(email: str, f: Facts) -> bool:
    """Someone else's address that a person reads: not the sender's, nor one this mail went to (us)."""
    recipients = {a.email for a in (*f.msg.to, *f.msg.cc)}
    return "@" in email and email != f.sender and email not in recipients and not unanswerable(email)


# A web form's notification: the form's own labelled fields, one of them the person's address.
# html_text renders a table row as "label | value", so either separator counts.
_FORM_EMAIL = re.compile(
    r"^[ \t*-]*(?:your\s+|contact\s+|parent(?:'s)?\s+|sender(?:'s)?\s+)?e-?mail(?:\s+address)?\s*[:|]\s*"
    rf"<?(?:mailto:)?({EMAIL_IN_TEXT.pattern})",
    re.I | re.M,
)
_FORM_FIELD = re.compile(
    r"^[ \t*-]*(?:your\s+|full\s+|first\s+|contact\s+)?(?:name|phone|telephone|mobile|message|enquiry|"
    r"comments?|subject|postcode|local\s+authority)(?:\s+number)?\s*(?:\([^)\n]{0,30}\))?\s*[:|]",
    re.I | re.M,
)


def form_submission(f: Facts) -> bool:
    """The body is a form's submission: labelled fields, one an address of the person who filled
    it in (not the sender's, not a no-reply), and at least one more field."""
    m = _FORM_EMAIL.search(f.lead)
    return m is not None and _answerable(m.group(1).lower(), f) and _FORM_FIELD.search(f.lead) is not None


def relays_a_person(f: Facts) -> bool:
    """A machine From that carries a person's words and asks for answers to them: a Reply-To naming
    someone else's real mailbox (web forms and "on behalf of" services put the person there; RFC
    5322 3.6.2), or a web form's submission naming the person's address in its fields. Taking
    either for machine mail would lose a referral."""
    return any(_answerable((a.email or "").lower(), f) for a in f.msg.reply_to or ()) or form_submission(f)


@rule(AUTO_GENERATED)
def noreply_sender(f: Facts) -> str | None:
    """noreply / no-reply / donotreply / do-not-reply senders say themselves that nobody reads
    replies (checked on From and on the envelope sender, the Return-Path) - unless a Reply-To
    names a person to answer instead: that is a person's message relayed (a web form), and taking
    it for machine mail would lose a referral."""
    if relays_a_person(f):
        return None
    if f.sender_local and _NOREPLY.search(f.sender_local):
        return f"sender {f.sender_local}@ is a no-reply address"
    rp_local = (f.return_path or "").rsplit("@", 1)[0]
    if rp_local and _NOREPLY.search(rp_local):
        return f"Return-Path {rp_local}@ is a no-reply address"
    return None


# Local parts that belong to programs or broadcast desks, never to a person writing a referral.
_SYSTEM_LOCAL = re.compile(
    r"^(?:root|cron|daemon|nobody|www-?data|apache|nginx|httpd|oracle|postgres|mysql|jenkins|"
    r"newsletters?|e?news|mailings?|mailer(?!-daemon)|notifications?|notify|notifier|alerts?|automated|"
    r"bounces?|marketing|campaigns?|promotions?|offers|deals|updates)(?:$|[-_+\d])"
)


@rule(AUTO_GENERATED)
def system_sender(f: Facts) -> str | None:
    """Sender is a program's or a broadcast desk's mailbox (root@, cron@, oracle@, newsletter@,
    news@, notifications@, alerts@, marketing@, ...), unless it relays a person's web form."""
    if f.sender_local and _SYSTEM_LOCAL.match(f.sender_local) and not form_submission(f):
        return f"sender {f.sender_local}@ is a system or broadcast mailbox"
    return None


# Envelope senders that route bounces back to a bulk sender (VERP, ESP bounce domains, Mailman).
_BULK_RETURN_PATH = re.compile(r"^bounces?[+=_.@-]|^bnc[+=_.-]|[@.]bounces?\.|-bounces?[+=@]|^msprvs")


@rule(AUTO_GENERATED)
def bulk_envelope(f: Facts) -> str | None:
    """Return-Path is a bulk sender's bounce-collecting address (bounces@, bounce-...@,
    @bounce.example.com, a list's -bounces@): the mail came from a mailing system."""
    rp = f.return_path or ""
    if rp and _BULK_RETURN_PATH.search(rp):
        return f"Return-Path {rp.rsplit('@', 1)[0][:30]}@ is a bulk sender's bounce address"
    return None


_EMPTY_ADDRESS = re.compile(r"<\s*>")


def from_is_empty(f: Facts) -> bool:
    """From: <>, an explicitly empty address (what a null reverse-path looks like in From)."""
    return bool(_EMPTY_ADDRESS.search(f.header("from")))


@rule(AUTO_GENERATED)
def empty_from(f: Facts) -> str | None:
    """From: <> (an explicitly empty address) is not a person's mail client; a bounce that has it
    is caught by the bounce rules first."""
    return "From has an empty address <>" if from_is_empty(f) else None
