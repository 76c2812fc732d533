"""Who to answer: the From person, or for a website form the name and address typed into it."""

from __future__ import annotations

from inbox.extract.context import Context
from inbox.extract.evidence import evidence_at
from inbox.extract.names import clean_display_name
from inbox.mailtext import EMAIL_IN_TEXT
from inbox.referral import Evidence


def extract_referrer(ctx: Context) -> tuple[str | None, str | None, dict[str, Evidence]]:
    """Who to answer: the From person, or for a website form the name and address typed into it."""
    evidence: dict[str, Evidence] = {}
    name = clean_display_name(ctx.sender_name) if not ctx.sender_is_us else ""
    email = ctx.sender_email if not ctx.sender_is_us else ""
    header = ctx.by_name("header")
    if ctx.sender_is_us:
        reply_to = ctx.msg.reply_to[0] if ctx.msg.reply_to else None
        if reply_to is not None:
            name, email = clean_display_name(reply_to.name), reply_to.email
        for f in ctx.fields_of("referrer_name"):
            if not name:
                name = f.value
                evidence["referrer_name"] = evidence_at(name, f.source, f.start, f.end)
        for f in ctx.fields_of("email"):
            found = EMAIL_IN_TEXT.search(f.value)
            if found and not email:
                email = found.group().lower()
                evidence["referrer_email"] = evidence_at(email, f.source, f.start, f.end)
    if header and name and "referrer_name" not in evidence:
        evidence["referrer_name"] = Evidence(name, "header", 0, len(header[0].text), header[0].text)
    if header and email and "referrer_email" not in evidence:
        evidence["referrer_email"] = Evidence(email, "header", 0, len(header[0].text), header[0].text)
    return name or None, email or None, evidence
