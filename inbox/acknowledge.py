"""The acknowledgement a new case gets: decided here, written to the outbox in intake's transaction.

Rules (RFC 3834 and MISSION.md): only a person's new mail is answered; never our own addresses;
never an address that bounced; at most one automatic message per address in the window (so an
autoresponder that answers everything we send cannot start a loop). Nothing the sender chose is
reflected (inbox/reflection.py): no acknowledgement for mail claiming our own domain unless our mail
server confirms it, nor where our mail server says DMARC failed, nor to an address over SMTP's limits.
The message carries a Message-ID recorded now, and In-Reply-To/References of the mail it answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from inbox.classify import unanswerable
from inbox.message import ParsedMessage
from inbox.referral import Referral
from inbox.reflection import claims_our_domain, greeting_name, trusted_dmarc, within_smtp_limits
from models.case_ops import NewCase, add_timeline
from models.offices import offices_for
from models.outbox_ops import enqueue_id, make_message_id, suppressed_or_sent_recently
from models.settings import Settings
from models.types import utcnow


def acknowledge(
    session: Session,
    settings: Settings,
    case: NewCase,
    msg: ParsedMessage,
    referral: Referral,
    inbound_id: int,
    received_at: datetime | None = None,
) -> str:
    """Queue the acknowledgement for a new case, or say why not. Returns the reason recorded.

    `received_at`: when the mailbox got the mail (not its Date header, which the sender sets)."""
    refused = _unverified(session, settings, case, msg)
    if refused:
        return refused
    to = case.referrer_email or ""  # intake's _referrer_email: a Reply-To only where it may be followed
    refusal = automatic_reply_refused(session, settings, to, received_at)
    if refusal is not None:
        if refusal.note:
            add_timeline(session, case.id, "note", f"No acknowledgement sent: {refusal.note}")
        return f"no acknowledgement: {refusal.reason}"
    template = "not_served" if referral.served is False else "acknowledgement"
    references = [*msg.references, msg.message_id] if msg.message_id else list(msg.references)
    outbox_id = enqueue_id(
        session,
        key=f"ack:case:{case.id}",
        fresh=True,  # the case was opened in this transaction: nothing was queued for it yet
        channel="email",
        to=to,
        template=template,
        context=_context(settings, case, msg, referral, to=to),
        case_id=case.id,
        message_id=make_message_id(settings.mail_from_domain),
        in_reply_to=msg.message_id,
        references=references[-20:],
    )
    add_timeline(
        session,
        case.id,
        "message_out",
        f"Acknowledgement ({template.replace('_', ' ')}) queued",
        outbox_id=outbox_id,
        inbound_message_id=inbound_id,
    )
    return f"acknowledgement queued ({template})"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why no automatic message may go to an address: the reason recorded on the mail it answers,
    and, where that mail has a case, a note for its timeline (None: the reason says enough)."""

    reason: str
    note: str | None = None


def automatic_reply_refused(
    session: Session, settings: Settings, to: str, received_at: datetime | None = None
) -> Refusal | None:
    """The rules every automatic answer to incoming mail obeys (the acknowledgement, the reply to a
    message too large to take), or None when this one may go to `to`."""
    if not to or claims_our_domain(to, settings) or unanswerable(to):
        return Refusal("no address of the sender's to answer")
    if not within_smtp_limits(to):
        return Refusal("the address is longer than SMTP allows (RFC 5321)")
    max_age = timedelta(hours=settings.ack_max_age_hours)
    if received_at is not None and settings.ack_max_age_hours > 0 and utcnow() - received_at > max_age:
        # Mail from before intake ran (a mailbox with history) or a long outage: "we have your
        # referral" weeks later would alarm a family more than help; a coordinator decides.
        days = (utcnow() - received_at).days
        return Refusal(
            f"received {days} day(s) ago",
            f"the email reached the mailbox {days} day(s) ago, "
            f"longer ago than {settings.ack_max_age_hours} hours. Contact the family if needed.",
        )
    hours = settings.auto_reply_window_hours
    suppressed, sent_recently = suppressed_or_sent_recently(session, to, window=timedelta(hours=hours))
    if suppressed:
        return Refusal("the address is marked undeliverable")
    if sent_recently:
        return Refusal(
            f"one already went to this address within {hours} h",
            f"this address already had an automatic message from us in the last {hours} hours.",
        )
    return None


def _unverified(session: Session, settings: Settings, case: NewCase, msg: ParsedMessage) -> str | None:
    """Why this mail must not be acknowledged, whoever it names, though its case opens: our mail
    server says it is forged, or it claims our own domain unconfirmed (inbox/reflection.py)."""
    dmarc = trusted_dmarc(msg, settings.trusted_authserv_id)
    sender = msg.sender.email if msg.sender else ""
    if dmarc.result == "fail":
        add_timeline(
            session,
            case.id,
            "note",
            "No acknowledgement sent: our mail server found that this email failed DMARC, so its "
            "sender may not be who it claims to be. Check before contacting anyone about it.",
        )
        return "no acknowledgement: DMARC failed (Authentication-Results of our mail server)"
    if claims_our_domain(sender, settings) and not (
        dmarc.result == "pass" and claims_our_domain(dmarc.header_from, settings)
    ):
        # Our own website's form is the one sender in our domain that writes to us; anyone can put
        # our domain in From, so only our mail server's DMARC pass tells the form apart.
        add_timeline(
            session,
            case.id,
            "note",
            "No acknowledgement sent: the email claims to come from our own domain, and our mail server "
            "did not confirm it. Contact the family if the referral is genuine.",
        )
        return "no acknowledgement: the From claims our own domain, not confirmed by DMARC"
    return None


def _context(settings: Settings, case: NewCase, msg: ParsedMessage, referral: Referral, *, to: str) -> dict:
    sender = msg.sender.email if msg.sender else ""
    # A greeting name only for the From's own mailbox: the name came with the mail, and anyone else
    # (a Reply-To, an address typed into a form) did not choose it.
    names = [referral.referrer_name or "", msg.sender.name if msg.sender else ""] if to == sender else []
    return {
        "reference": case.reference,
        "recipient_name": greeting_name(names, settings),
        "service": case.service,
        "local_authority": case.local_authority,
        "served": case.served,
        "region": case.region,
        "service_name": settings.service_name,
        "offices": [
            {
                "name": o.name,
                "name_in_sentence": o.name_in_sentence,
                "phone_display": o.phone_display,
                "address": o.address,
                "hours": o.hours,
            }
            for o in offices_for(case.region)
        ],
    }
