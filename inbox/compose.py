"""Turning an outbox row into an email. Composing is separate from sending (inbox.transports).

Templates live in `templates/email/` as `<template>.subject.txt`, `<template>.txt` and
`<template>.html` (the HTML part is optional: without it the message is plain text). A coordinator
may edit them, so they run in Jinja2's sandbox; HTML is autoescaped, text is not. An undefined name
is an error rather than a blank: better a failed row on the case timeline than "Dear ,".

Every failure to render, whatever its cause, surfaces as `TemplateError`, which the email channel
(inbox.email_channel) turns into a permanent failure with the reason.

A row's context may carry `attachments` (see `_attach`): written with the row, so every retry sends the
same file.

Message-ID, In-Reply-To and References go out exactly as written, folded only between IDs
(`ID_POLICY`): the stdlib folds a header longer than 78 characters and, when one ID alone is longer
(Outlook and Exchange IDs often are), RFC 2047-encodes it, and no mail program threads on that.
"""

from __future__ import annotations

import base64
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from models.outbox import OutboxMessage
from models.settings import Settings
from models.types import utcnow

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"


class TemplateError(jinja2.TemplateError):
    """A template that could not be rendered (missing, invalid, unsafe, or failing on this row)."""


_ID_HEADERS = frozenset({"message-id", "in-reply-to", "references"})
_SOFT_LIMIT = 78  # RFC 5322 2.1.1: lines SHOULD be no longer; an ID longer than this gets a line of its own
_ID_MAX = 900  # an ID this long cannot travel on one line with its header name within 998 octets


class _IdPolicy(EmailPolicy):
    """The default policy, except that the threading headers are stored as given (an ID that happens to
    look like an encoded word is not decoded) and folded between IDs, never encoded."""

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if name.lower() in _ID_HEADERS and isinstance(value, str):
            return name, value
        return super().header_store_parse(name, value)

    def fold(self, name: str, value: str) -> str:
        if name.lower() in _ID_HEADERS:
            return _fold_ids(name, str(value), self.linesep)
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _ID_HEADERS:
            # clean_id keeps printable ASCII only, so this never fails on what compose wrote.
            return _fold_ids(name, str(value), self.linesep).encode("ascii")
        return super().fold_binary(name, value)


ID_POLICY = _IdPolicy()  # otherwise email.policy.default


def _fold_ids(name: str, value: str, linesep: str) -> str:
    lines = [f"{name}:"]
    for token in value.split():
        if len(lines[-1]) + 1 + len(token) > _SOFT_LIMIT and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += f" {token}"
    return linesep.join(lines) + linesep


def render_parts(
    row: OutboxMessage, *, settings: Settings, templates_dir: Path | None = None
) -> tuple[str, str, str | None]:
    """The row's subject, plain text and HTML (None without an HTML template): what the family reads."""
    env = _environment(Path(templates_dir or TEMPLATES_DIR).resolve())
    context = {"service_name": settings.service_name, **row.context}
    subject = _one_line(_render(env, f"{row.template}.subject.txt", context))
    if not subject:
        raise TemplateError(f"{row.template}.subject.txt rendered an empty subject")
    text = _render(env, f"{row.template}.txt", context)
    html = _render(env, f"{row.template}.html", context) if _exists(env, f"{row.template}.html") else None
    return subject, text, html


def render_email(row: OutboxMessage, *, settings: Settings, templates_dir: Path | None = None) -> EmailMessage:
    """The message for an email row, with the Message-ID recorded on the row (never a new one)."""
    if not row.message_id:
        # Intake records the Message-ID when it writes the row, so replies and bounces can find it;
        # minting one here would break that link on every retry.
        raise ValueError(f"outbox row {row.id} has no Message-ID")
    subject, text, html = render_parts(row, settings=settings, templates_dir=templates_dir)

    msg = EmailMessage(policy=ID_POLICY)
    _set_headers(msg, row, settings=settings, subject=subject)
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
        for part in msg.iter_parts():
            # add_alternative builds the part as a whole message, with its own MIME-Version:
            # RFC 2045 puts that header on the message only.
            del part["MIME-Version"]
    _attach(msg, row.context.get("attachments") or [])
    return msg


def _attach(msg: EmailMessage, attachments: list[dict[str, Any]]) -> None:
    """Files written with the row (a session's .ics, a certificate's PDF): `text` for a text file, or
    `base64` for bytes, with `filename` and `content_type` ("text/calendar; method=REQUEST")."""
    for item in attachments:
        maintype, _, rest = str(item["content_type"]).partition("/")
        subtype, *param_texts = (p.strip() for p in rest.split(";"))
        params = dict(p.split("=", 1) for p in param_texts if "=" in p)
        if "text" in item:
            msg.add_attachment(str(item["text"]), subtype=subtype, filename=item["filename"], params=params)
        else:
            data = base64.b64decode(item["base64"])
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=item["filename"], params=params)


def _set_headers(msg: EmailMessage, row: OutboxMessage, *, settings: Settings, subject: str) -> None:
    # The name families see is the service's, whatever display name MDESK_MAIL_FROM carries.
    msg["From"] = Address(display_name=settings.service_name, addr_spec=settings.mail_from_address)
    msg["To"] = row.to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = _angle(clean_id(row.message_id or ""))
    # The IDs of the mail we answer came from its sender: whatever no header may carry is dropped.
    in_reply_to = _sendable(row.in_reply_to)
    if in_reply_to:
        msg["In-Reply-To"] = _angle(in_reply_to)
    references = [ref for ref in map(_sendable, row.references) if ref] or ([in_reply_to] if in_reply_to else [])
    if references:
        msg["References"] = " ".join(_angle(ref) for ref in references)
    if row.automatic:
        # RFC 3834, so other responders leave it alone; the Exchange header stops out-of-office
        # and auto-replies to our acknowledgements. No "Precedence: bulk": it hurts deliverability.
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"


@cache
def _environment(templates_dir: Path) -> SandboxedEnvironment:
    # Cached per folder; FileSystemLoader checks mtimes, so an edited template is picked up.
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(env: SandboxedEnvironment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except Exception as exc:  # a template is user content: any failure in it is its failure
        raise TemplateError(f"{name}: {type(exc).__name__}: {exc}") from exc


def _exists(env: SandboxedEnvironment, name: str) -> bool:
    try:
        env.get_template(name)
    except jinja2.TemplateNotFound:
        return False
    except Exception as exc:  # it exists but does not compile: report that, do not drop the part
        raise TemplateError(f"{name}: {type(exc).__name__}: {exc}") from exc
    return True


def _one_line(text: str) -> str:
    return " ".join(text.split())


_NOT_IN_AN_ID = re.compile(r"[^\x21-\x7e]|[<>]")  # anything but printable ASCII, and the brackets


def clean_id(message_id: str) -> str:
    """A Message-ID as it may travel in our headers: printable ASCII, no spaces, no brackets."""
    return _NOT_IN_AN_ID.sub("", message_id)


def _sendable(message_id: str | None) -> str | None:
    """The ID cleaned, or None when nothing fit to send is left of it (empty, or too long for a line)."""
    cleaned = clean_id(message_id or "")
    return cleaned if cleaned and len(cleaned) <= _ID_MAX else None


def _angle(message_id: str) -> str:
    return f"<{message_id}>"
