"""Placing a person's new-case mail: opening a case from it, or holding it on a case its sender opened.

After a case is opened from an address, further new-case mail from it within NEW_CASE_WINDOW goes
to that case's triage (unless it names another child): a flood of notifications opens one case.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import TYPE_CHECKING

from inbox.classify import unanswerable
from inbox.reflection import follows_reply_to
from models.case_ops import (
    NewCase,
    add_parties_to_new_case,
    add_timeline,
    ensure_contact,
    open_case,
    open_inbox_item,
    recent_cases_of,
    touch_case,
)
from models.types import utcnow

if TYPE_CHECKING:  # the steps call these functions with their Step
    from inbox.intake.steps import Step

# A constant, not MDESK_AUTO_REPLY_WINDOW_HOURS: that one paces our automatic mail to an address
# (mail loops) and may be tuned for that alone; this one says which mail opens a case.
NEW_CASE_WINDOW = timedelta(hours=24)


def earlier_case_of_sender(step: Step) -> int | None:
    """A case opened from the same address within NEW_CASE_WINDOW that this mail is about: the one
    naming its child, else (it names no child) the first. None: open a case (another child, or none)."""
    recent = recent_cases_of(step.session, _referrer_email(step), utcnow() - NEW_CASE_WINDOW)
    if not recent:
        return None
    child = step.referral.child_name if step.referral else None
    if not child:
        return recent[0][0]
    return next((case_id for case_id, name in recent if name and _same_child(name, child)), None)


_NAME_WORDS = re.compile(r"[^\W\d_]+")


def _same_child(one: str, other: str) -> bool:
    """The same child's name, written in full or in part ("Elliot" and "Elliot Pryce"), any case."""
    words = [set(_NAME_WORDS.findall(unicodedata.normalize("NFKC", name).casefold())) for name in (one, other)]
    return bool(words[0] and words[1]) and (words[0] <= words[1] or words[1] <= words[0])


def hold_on_case(step: Step, case_id: int) -> None:
    """New-case mail from a case's sender soon after it opened: on that case's triage, unanswered."""
    reference = touch_case(step.session, case_id)
    step.inbound.case_id = case_id
    add_timeline(
        step.session,
        case_id,
        "message_in",
        f"Further email from the referrer (no new case opened): {step.parsed.subject[:200]}",
        inbound_message_id=step.inbound.id,
    )
    item_id = open_inbox_item(
        step.session,
        kind="triage",
        summary=(
            "Another email from the address this case was opened from, within a day, about the same "
            "child or none: no new case and no acknowledgement. Does it need a case of its own?"
        ),
        case_id=case_id,
        inbound_message_id=step.inbound.id,
    )
    step.finish(
        "triage",
        f"new-case mail from the sender of case {reference} within {NEW_CASE_WINDOW.total_seconds() / 3600:.0f} h, "
        f"naming no other child: on its triage (inbox item {item_id}), no new case",
    )


def open_case_from(step: Step, *, related_case_id: int | None) -> NewCase:
    referral = step.referral
    assert referral is not None and step.parsed.sender is not None
    sender = step.parsed.sender
    referrer_email = _referrer_email(step)
    case = open_case(
        step.session,
        service=referral.service,
        local_authority=referral.local_authority,
        served=referral.served,
        region=referral.region,
        referrer_email=referrer_email,
        draft=referral.to_dict(),
        related_case_id=related_case_id,
    )
    contact = ensure_contact(
        step.session,
        email=referrer_email,
        phone=referral.contact_phone,
        name=referral.referrer_name or sender.name,
    )
    roles = ["referrer", *([referral.referrer_role] if referral.referrer_role else [])]
    add_parties_to_new_case(step.session, case.id, contact, roles)
    add_timeline(
        step.session,
        case.id,
        "message_in",
        f"Case opened from email: {step.parsed.subject[:200]}",
        inbound_message_id=step.inbound.id,
    )
    if related_case_id:
        add_timeline(
            step.session,
            case.id,
            "note",
            "The subject names another case's reference, but the sender "
            "is not a party of it: check whether the two belong together.",
            data={"related": related_case_id},
        )
    return case


def _referrer_email(step: Step) -> str:
    """Who we answer: the referral's own address when the mail came from our own systems (our web
    form); else a Reply-To naming someone outside, in the sender's own domain or from a no-reply
    sender (inbox/reflection.py says why no other); else, from an address nobody reads (a form
    service's no-reply), the address typed into the form; else the sender."""
    sender = step.parsed.sender
    assert sender is not None
    ours = step.settings.mail_from_domain
    typed = step.referral.referrer_email.lower() if step.referral and step.referral.referrer_email else None
    if sender.email.rpartition("@")[2] == ours and typed:
        return typed
    for reply_to in step.parsed.reply_to:
        email = reply_to.email
        if "@" in email and not email.endswith("@" + ours) and follows_reply_to(sender.email, email):
            return email
    if typed and unanswerable(sender.email):
        return typed
    return sender.email
