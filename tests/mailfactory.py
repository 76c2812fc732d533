"""Messages written for the tests: a person's referral, replies, machine mail, bounces of our own mail."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from models.types import utcnow

_counter = itertools.count(1)


def referral(
    *,
    sender: str = "Joanne Pryce <joanne.pryce@example.com>",
    subject: str = "Mediation request - my son Elliot",
    body: str | None = None,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    n = next(_counter)
    body = body or (
        "Hello,\n\nMy son Elliot Pryce (DOB 04/02/2015) has an EHC plan from the London Borough of Camden.\n"
        "Camden issued an amended plan on 6 November naming a mainstream school. We would like mediation\n"
        "about Section I please.\n\nMy mobile is 07700 900 418.\n\nJoanne Pryce\n"
    )
    return message(
        sender=sender, subject=subject, body=body, message_id=message_id or f"<ref-{n}@example.com>", headers=headers
    )


def message(
    *,
    sender: str,
    subject: str,
    body: str,
    message_id: str | None = None,
    to: str = "referrals@mediation-desk.example.org",
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def reply_to(original_id: str, *, sender: str, subject: str, body: str = "Thank you, that is helpful.\n") -> bytes:
    return message(
        sender=sender,
        subject=subject,
        body=body,
        headers={"In-Reply-To": f"<{original_id}>", "References": f"<{original_id}>"},
    )


def out_of_office(original_id: str, *, sender: str = "Joanne Pryce <joanne.pryce@example.com>") -> bytes:
    return message(
        sender=sender,
        subject="Automatic reply: Your referral",
        body="I am out of the office until Monday with limited access to email.\n",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": f"<{original_id}>"},
    )


def bounce_of(original_id: str, recipient: str, *, status: str = "5.1.1", action: str = "failed") -> bytes:
    """An RFC 3464 delivery status notification for a message of ours."""
    boundary = f"dsn-{next(_counter)}"
    code = "550" if status.startswith("5") else "451"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        f"To: referrals@mediation-desk.example.org\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(utcnow())}\r\n"
        f"Message-ID: <dsn-{next(_counter)}@mx.example.com>\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
        f"Your message could not be delivered to {recipient}.\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {code} {status} <{recipient}>: Recipient address rejected: User unknown\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Mediation Desk <referrals@mediation-desk.example.org>\r\nTo: {recipient}\r\n"
        f"Subject: Your referral\r\nMessage-ID: <{original_id}>\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def with_attachment(
    size: int,
    *,
    sender: str = "Joanne Pryce <joanne.pryce@example.com>",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A referral with a PDF of `size` bytes attached (base64: the message is about 4/3 of that)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "referrals@mediation-desk.example.org"
    msg["Subject"] = "Mediation request - EHC plan attached"
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id or f"<big-{next(_counter)}@example.com>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content("Hello,\n\nPlease find my son's EHC plan from Camden attached.\n\nJoanne Pryce\n07700 900 418\n")
    pattern = bytes(range(256))
    payload = (pattern * (size // len(pattern) + 1))[:size]
    msg.add_attachment(payload, maintype="application", subtype="pdf", filename="ehc-plan.pdf")
    return msg.as_bytes()
