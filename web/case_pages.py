"""The case page and what a coordinator does on it. Every view and every change is audited; every
change goes through models/case_actions.py and redirects back (a reload never repeats it)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from inbox.compose import TemplateError, render_parts
from inbox.parse import parse_message
from inbox.parse.attachments import stored_attachment_bytes
from models import case_actions as actions
from models.case_ops import audit
from models.case_queries import (
    CaseView,
    attachment_of_case,
    case_id_for_reference,
    case_view,
    merged_into_reference,
)
from models.case_status import CLOSED, IN_PROGRESS, TRANSITIONS
from models.db import session_scope
from models.outbox import OutboxMessage
from models.privacy import PrivacyRefused, anonymise_case, person_export
from models.raw_mail import load_raw
from models.settings import Settings
from models.staff_ops import Staff, staff_names
from web import case_merge_pages, case_sessions
from web.email_html import sanitise
from web.render import page, reading, staff_of

MAX_BODY_CHARS = 200_000


@dataclass(slots=True)
class MessageBody:
    """One email on the timeline, as the family wrote it, made safe."""

    html: str | None  # sanitised
    text: str  # the new words (quoted history and signature removed)
    quoted: str  # the quoted history, folded on the page


def message_body(raw: bytes) -> MessageBody:
    parsed = parse_message(raw)
    html = sanitise(parsed.html[:MAX_BODY_CHARS]) if parsed.html else None
    return MessageBody(
        html, parsed.new_text[:MAX_BODY_CHARS] or parsed.text[:MAX_BODY_CHARS], parsed.quoted_text[:MAX_BODY_CHARS]
    )


def router(engine: Engine, settings: Settings) -> APIRouter:
    r = APIRouter()

    def load(session: Session, reference: str) -> CaseView:
        case_id = case_id_for_reference(session, reference)
        view = case_view(session, case_id) if case_id is not None else None
        if view is None:
            raise HTTPException(404, "No such case.")
        return view

    def show(
        request: Request, reference: str, *, error: str = "", status_code: int = 200, preview: dict | None = None
    ) -> HTMLResponse:
        staff = staff_of(request)
        with session_scope(engine) as session:
            view = load(session, reference)
            bodies = {
                e.inbound_id: message_body(raw)
                for e in view.timeline
                if e.inbound_id is not None and (raw := load_raw(session, e.inbound_id)) is not None
            }
            # Each email's body once, with the event that brought it in (not our answer that names it).
            body_events: dict[int, int] = {}
            for e in reversed(view.timeline):
                if e.inbound_id is not None and e.kind != "message_out":
                    body_events.setdefault(e.inbound_id, e.id)
            audit(session, actor=staff.email, action="case.viewed", entity="case", entity_id=view.id)
            coordinators = staff_names(session)
            extras = case_sessions.case_extras(session, view.id, settings, form=case_sessions.form_of(request))
        allowed = sorted(TRANSITIONS.get(view.status, ()))
        if view.status == CLOSED:
            allowed = [IN_PROGRESS]
        recipients = sorted(
            {p.value for party in view.parties for p in party.points if p.kind == "email"}
            | ({view.referrer_email} if view.referrer_email else set())
        )
        return page(
            request,
            "case.html",
            status_code=status_code,
            case=view,
            bodies=bodies,
            body_events=set(body_events.values()),
            error=error,
            allowed=allowed,
            coordinators=coordinators,
            fields=actions.FIELD_LABELS,
            templates=actions.REPLY_TEMPLATES,
            recipients=recipients,
            nonce=secrets.token_urlsafe(16),
            preview=preview,
            extras=extras,
        )

    def act(request: Request, reference: str, do, anchor: str = "") -> Response:  # type: ignore[no-untyped-def]
        staff = staff_of(request)
        try:
            with session_scope(engine) as session:
                view_id = case_id_for_reference(session, reference)
                if view_id is None:
                    raise HTTPException(404, "No such case.")
                do(session, view_id, staff)
        except actions.ActionRefused as exc:
            return show(request, reference, error=str(exc), status_code=409)
        return RedirectResponse(f"/cases/{quote(reference)}{anchor}", status_code=303)

    @r.get("/cases/{reference}")
    def case_page(request: Request, reference: str) -> Response:
        """A merged case's reference leads to the case it was merged into (which names it at the top)."""
        with reading(engine) as session:
            survivor = merged_into_reference(session, reference)
        if survivor is not None:
            return RedirectResponse(f"/cases/{quote(survivor)}", status_code=303)
        return show(request, reference)

    @r.post("/cases/{reference}/note")
    def add_note(request: Request, reference: str, text: str = Form("")) -> Response:
        return act(request, reference, lambda s, cid, st: actions.note(s, cid, st.email, text), "#timeline")

    @r.post("/cases/{reference}/status")
    def set_status(request: Request, reference: str, status: str = Form("")) -> Response:
        return act(request, reference, lambda s, cid, st: actions.change_status(s, cid, st.email, status))

    @r.post("/cases/{reference}/assign")
    def assign(request: Request, reference: str, coordinator_id: str = Form("")) -> Response:
        target = int(coordinator_id) if coordinator_id.isdigit() else None
        return act(request, reference, lambda s, cid, st: actions.assign(s, cid, st.email, target))

    @r.post("/cases/{reference}/field")
    def edit_field(request: Request, reference: str, name: str = Form(""), value: str = Form("")) -> Response:
        return act(
            request, reference, lambda s, cid, st: actions.edit_field(s, cid, st.email, name, value), "#referral"
        )

    @r.post("/cases/{reference}/seen")
    def seen(request: Request, reference: str) -> Response:
        return act(request, reference, lambda s, cid, st: actions.mark_seen(s, cid, st.email))

    @r.post("/cases/{reference}/reply")
    def reply(
        request: Request,
        reference: str,
        template: str = Form(""),
        to: str = Form(""),
        body: str = Form(""),
        nonce: str = Form(""),
        intent: str = Form("preview"),
    ) -> Response:
        staff = staff_of(request)
        if intent != "send":
            row = OutboxMessage(
                idempotency_key="preview",
                channel="email",
                to=to,
                template=template,
                context=actions.reply_context(reference.upper(), staff.name, body),
            )
            try:
                if template not in actions.REPLY_TEMPLATES:
                    raise actions.ActionRefused("Choose a template.")
                subject, text, _html = render_parts(row, settings=settings)
            except (TemplateError, actions.ActionRefused) as exc:
                return show(request, reference, error=str(exc), status_code=409)
            preview = {"template": template, "to": to, "body": body, "nonce": nonce, "subject": subject, "text": text}
            return show(request, reference, preview=preview)
        return act(
            request,
            reference,
            lambda s, cid, st: actions.queue_reply(
                s,
                cid,
                actor=st.email,
                actor_name=st.name,
                nonce=nonce or secrets.token_urlsafe(16),
                template=template,
                to=to,
                body=body,
                domain=settings.mail_from_domain,
            ),
            "#timeline",
        )

    @r.get("/people/{contact_id}/export")
    def export_person(request: Request, contact_id: int) -> Response:
        """Everything held about one person, as a JSON download (admins: a subject access request)."""
        staff = staff_of(request)
        if not staff.is_admin:
            raise HTTPException(403, "Exports are for admins.")
        with session_scope(engine) as session:
            try:
                document = person_export(session, contact_id=contact_id)
            except PrivacyRefused as exc:
                raise HTTPException(404, str(exc)) from None
            audit(session, actor=staff.email, action="person.exported", entity="contact", entity_id=contact_id)
        body = json.dumps(document, ensure_ascii=False, indent=2, default=str)
        headers = {"Content-Disposition": f'attachment; filename="person-{contact_id}.json"'}
        return Response(body, media_type="application/json", headers=headers)

    @r.post("/cases/{reference}/anonymise")
    def anonymise(request: Request, reference: str) -> Response:
        if not staff_of(request).is_admin:
            raise HTTPException(403, "Only an admin can anonymise a case.")

        def do(session: Session, case_id: int, staff: Staff) -> None:
            try:
                anonymise_case(session, case_id, actor=staff.email)
            except PrivacyRefused as exc:
                raise actions.ActionRefused(str(exc)) from None

        return act(request, reference, do)

    @r.get("/cases/{reference}/attachments/{attachment_id}")
    def attachment(request: Request, reference: str, attachment_id: int) -> Response:
        """Always a download (Content-Disposition: attachment), never shown in our page's origin."""
        staff = staff_of(request)
        with session_scope(engine) as session:
            case_id = case_id_for_reference(session, reference)
            stored = attachment_of_case(session, case_id, attachment_id) if case_id is not None else None
            if stored is None:
                raise HTTPException(404, "No such attachment on this case.")
            raw = load_raw(session, stored.inbound_message_id) or b""
            data = stored_attachment_bytes(stored, raw)
            audit(
                session,
                actor=staff.email,
                action="attachment.downloaded",
                entity="case",
                entity_id=case_id,
                attachment_id=attachment_id,
            )
        name = (stored.filename or f"attachment-{attachment_id}").replace("\r", "").replace("\n", "")
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
        headers = {
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
            "Content-Security-Policy": "sandbox; default-src 'none'",
        }
        return Response(data, media_type=stored.content_type or "application/octet-stream", headers=headers)

    r.include_router(case_merge_pages.router(engine, show))
    r.include_router(case_sessions.router(settings, act))
    r.include_router(case_sessions.recording_router(engine, settings, staff_of))
    return r
