"""Turning an outbox row into an email. Composing is separate from sending (inbox.transports).

Templates live in `templates/email/` as `<template>.subject.txt`, `<template>.txt` and
`<template>.html` (the HTML part is optional: without it the message is plain text). A coordinator
may edit them, so they run in Jinja2's sandbox; HTML is autoescaped, text is not. An undefined name
is an error rather than a blank: better a failed row on the case timeline than "Dear ,".

Every failure to render, whatever its cause, surfaces as `TemplateError`, which the dispatcher
records as a permanent failure with the reason.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
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


def render_email(row: OutboxMessage, *, settings: Settings, templates_dir: Path | None = None) -> EmailMessage:
    """The message for an email row, with the Message-ID recorded on the row (never a new one)."""
    if not row.message_id:
        # Intake records the Message-ID when it writes the row, so replies and bounces can find it;
        # minting one here would break that link on every retry.
        raise ValueError(f"outbox row {row.id} has no Message-ID")
    env = _environment(Path(templates_dir or TEMPLATES_DIR).resolve())
    context = {"service_name": settings.service_name, **row.context}
    subject = _one_line(_render(env, f"{row.template}.subject.txt", context))
    if not subject:
        raise TemplateError(f"{row.template}.subject.txt rendered an empty subject")
    text = _render(env, f"{row.template}.txt", context)
    html = _render(env, f"{row.template}.html", context) if _exists(env, f"{row.template}.html") else None

    msg = EmailMessage()
    _set_headers(msg, row, settings=settings, subject=subject)
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def _set_headers(msg: EmailMessage, row: OutboxMessage, *, settings: Settings, subject: str) -> None:
    msg["From"] = Address(display_name=settings.service_name, addr_spec=sender_address(settings))
    msg["To"] = row.to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = _angle(row.message_id or "")
    if row.in_reply_to:
        msg["In-Reply-To"] = _angle(row.in_reply_to)
    references = list(row.references) or ([row.in_reply_to] if row.in_reply_to else [])
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


def sender_address(settings: Settings) -> str:
    """The bare address of `mail_from`, whether configured as "a@b" or as "Name <a@b>"."""
    return parseaddr(settings.mail_from)[1] or settings.mail_from


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _angle(message_id: str) -> str:
    return f"<{message_id.strip().strip('<>')}>"
