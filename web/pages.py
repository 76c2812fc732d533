"""The inbox, the filtered mail, the audit log and the JSON API's inbox: thin adapters over models/."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine

from inbox.intake.promote import CannotPromote, open_case_from_message
from models.case_actions import attach_message, close_item
from models.case_queries import audit_rows, case_id_for_reference, filtered_mail
from models.db import session_scope
from models.reports import SERVICES as SERVICES_REPORTED
from models.reports import as_csv, monthly_totals, referrals_report
from models.session_reports import sessions_csv
from models.settings import Settings
from models.types import utcnow
from models.work_queue import WorkFilters, local_authority_choices, work_page
from web.case_sessions import deadlines_for_inbox, session_figures, session_figures_by_la
from web.render import page, reading, staff_of

SERVICES = ("mediation", "certificate", "disagreement_resolution", "facilitation")


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def filters_from(request: Request) -> WorkFilters:
    q = request.query_params
    try:
        page_number = max(1, int(q.get("page") or 1))
    except ValueError:
        page_number = 1
    return WorkFilters(
        office=q.get("office") or None,
        status=q.get("status") or None,
        service=q.get("service") or None,
        local_authority=q.get("la") or None,
        mine=q.get("mine") == "1",
        overdue=q.get("overdue") == "1",
        q=(q.get("q") or "")[:200],
        page=page_number,
    )


def router(engine: Engine, settings: Settings) -> APIRouter:
    r = APIRouter()

    @r.get("/")
    def home() -> Response:
        return RedirectResponse("/inbox", status_code=303)

    @r.get("/inbox")
    def inbox(request: Request) -> HTMLResponse:
        staff = staff_of(request)
        filters = filters_from(request)
        template = "inbox_list.html" if request.query_params.get("fragment") == "1" else "inbox.html"
        with reading(engine) as session:
            work = work_page(session, filters, staff_id=staff.id)
            deadlines = deadlines_for_inbox(session, settings, filters) if template == "inbox.html" else None
        return page(
            request,
            template,
            work=work,
            filters=filters,
            services=SERVICES,
            authorities=local_authority_choices(),
            deadlines=deadlines,
        )

    @r.post("/inbox/items/{item_id}/done")
    def item_done(request: Request, item_id: int) -> Response:
        staff = staff_of(request)
        with session_scope(engine) as session:
            close_item(session, item_id, staff.email)
        return RedirectResponse("/inbox", status_code=303)

    @r.post("/inbox/messages/{inbound_id}/attach")
    def attach(request: Request, inbound_id: int, reference: str = Form("")) -> Response:
        staff = staff_of(request)
        with session_scope(engine) as session:
            case_id = case_id_for_reference(session, reference)
            if case_id is None:
                raise HTTPException(404, f"No case {reference.strip()[:20]}: check the reference.")
            attach_message(session, inbound_id, case_id, staff.email)
        return RedirectResponse(f"/cases/{reference.strip().upper()}", status_code=303)

    @r.get("/api/inbox")
    def api_inbox(request: Request) -> JSONResponse:
        staff = staff_of(request)
        with reading(engine) as session:
            work = work_page(session, filters_from(request), staff_id=staff.id)
        items = [
            {
                "kind": i.kind,
                "at": i.at.isoformat(),
                "case_reference": i.reference,
                "summary": i.summary,
                "item_id": i.item_id,
                "overdue": i.overdue,
            }
            for i in work.items
        ]
        return JSONResponse({"total": work.total, "page": work.page, "pages": work.pages, "items": items})

    @r.get("/filtered")
    def filtered(request: Request) -> HTMLResponse:
        q = (request.query_params.get("q") or "")[:200]
        try:
            page_number = max(1, int(request.query_params.get("page") or 1))
        except ValueError:
            page_number = 1
        with reading(engine) as session:
            messages, total = filtered_mail(session, q=q, page=page_number)
        return page(request, "filtered.html", messages=messages, total=total, q=q, page_number=page_number)

    @r.post("/filtered/{inbound_id}/open-case")
    def open_case(request: Request, inbound_id: int) -> Response:
        staff = staff_of(request)
        try:
            with session_scope(engine) as session:
                case = open_case_from_message(session, settings, inbound_id, actor=staff.email)
        except CannotPromote as exc:
            with reading(engine) as session:
                messages, total = filtered_mail(session)
            return page(
                request,
                "filtered.html",
                status_code=409,
                messages=messages,
                total=total,
                q="",
                page_number=1,
                error=str(exc),
            )
        return RedirectResponse(f"/cases/{case.reference}", status_code=303)

    @r.get("/reports")
    def reports(request: Request) -> Response:
        today = utcnow().date()
        start = _date(request.query_params.get("from")) or date(today.year - 1, today.month, 1)
        end = _date(request.query_params.get("to")) or today
        la = request.query_params.get("la") or None
        with reading(engine) as session:
            rows = referrals_report(session, start, end, local_authority=la)
            figures = session_figures(session, settings, start, end, la)
            figures_by_la = [] if la else session_figures_by_la(session, settings, start, end)
        if request.query_params.get("format") == "sessions-csv":
            body = sessions_csv([(la or "All", figures), *figures_by_la])
            headers = {"Content-Disposition": f'attachment; filename="sessions-{start}-{end}.csv"'}
            return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
        if request.query_params.get("format") == "csv":
            headers = {"Content-Disposition": f'attachment; filename="referrals-{start}-{end}.csv"'}
            return Response(as_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
        totals = monthly_totals(rows)
        peak = max((n for _, n in totals), default=0)
        return page(
            request,
            "reports.html",
            rows=rows,
            totals=totals,
            peak=peak,
            start=start,
            end=end,
            la=la or "",
            authorities=local_authority_choices(),
            services=SERVICES_REPORTED,
            figures=figures,
            figures_by_la=figures_by_la,
        )

    @r.get("/admin/audit")
    def audit_log(request: Request) -> HTMLResponse:
        staff = staff_of(request)
        if not staff.is_admin:
            raise HTTPException(403, "The audit log is for admins.")
        entity = request.query_params.get("entity") or None
        entity_id = request.query_params.get("id") or None
        with session_scope(engine) as session:
            rows = audit_rows(session, entity=entity, entity_id=entity_id)
        return page(request, "audit.html", rows=rows, entity=entity or "", entity_id=entity_id or "")

    return r
