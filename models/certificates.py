"""Mediation certificates: the PDF (fpdf2, pure Python), and issuing one for a case in one transaction:
the issue date recorded as a `certificate_issued` event (which meets the certificate deadline), and the
email to the parent or young person with the PDF attached written to the outbox.

The certificate's words are a template (`templates/certificate/certificate.txt`); this module only lays
them out. One certificate a case: issuing again is refused with the date it was issued.
"""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from fpdf import FPDF
from jinja2.sandbox import SandboxedEnvironment
from sqlmodel import Session, col, select

from models.case_clock import case_dates, record_event
from models.case_ops import audit
from models.case_queries import case_id_for_reference
from models.case_status import CERTIFICATE_ISSUED
from models.cases import Case
from models.contacts import Contact, ContactPoint, Party
from models.deadlines import Kind, deadlines_for
from models.outbox_ops import enqueue_id
from models.session_ops import move_case
from models.sessions import CaseEvent
from models.settings import Settings
from models.types import utcnow
from models.workdays import WorkingDayCalendar

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "certificate"
# A Unicode font where the system has one (names in any script); else the PDF core font, with what it
# cannot show spelled in the nearest Latin letters.
UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
RECIPIENT_ROLES = ("parent", "young_person", "referrer")


class CertificateRefused(ValueError):
    """Cannot issue as asked: one line naming why."""


@dataclass(frozen=True, slots=True)
class Issued:
    case_reference: str
    issued_on: date
    mediation_took_place: bool
    emails: list[int]
    status: str  # the certificate deadline's status now: met, missed (or none: no deadline had started)


def certificate_text(context: dict[str, Any]) -> list[str]:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    text = env.get_template("certificate.txt").render(context)
    return [line for line in text.splitlines() if line.strip()]


def certificate_pdf(context: dict[str, Any]) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title("Mediation certificate")
    pdf.set_author(str(context.get("service_name", "")))
    pdf.add_page()
    unicode_font = UNICODE_FONT.exists()
    if unicode_font:
        pdf.add_font("body", fname=str(UNICODE_FONT))
        family = "body"
    else:
        family = "helvetica"
    for line in certificate_text(context):
        heading = line.startswith("# ")
        text = line[2:] if heading else line
        if not unicode_font:
            text = _latin1(text)
        pdf.set_font(family, size=18 if heading else 11)
        pdf.multi_cell(0, 10 if heading else 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    """What the core font can show: each other character as its nearest Latin letters ("?" if none)."""
    out = []
    for ch in text:
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii") or "?")
    return "".join(out)


def issue_certificate(
    db: Session,
    case_reference: str,
    *,
    settings: Settings,
    calendar: WorkingDayCalendar,
    now: datetime | None = None,
    actor: str = "system",
) -> Issued:
    now = now or utcnow()
    case_id = case_id_for_reference(db, case_reference)  # a merged case's reference: the survivor
    case = db.get(Case, case_id) if case_id is not None else None
    if case is None or case.id is None:
        raise CertificateRefused(f"no case {case_reference}; `cases list` shows them")
    before = db.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "certificate_issued")
    ).first()
    if before is not None:
        raise CertificateRefused(f"a certificate was issued for {case.reference} on {before.day.isoformat()}")
    people = _recipients(db, case.id)
    if not people:
        raise CertificateRefused(f"{case.reference} has no parent or young person with an email address to send it to")
    today = calendar.local_date(now)
    dates = case_dates(db, case)
    held = dates.mediation_held
    context = {
        "service_name": settings.service_name,
        "case_reference": case.reference,
        "local_authority": case.local_authority,
        "parties": [name for name, _ in people if name],
        "issued": _long(today),
        "requested": _long(calendar.local_date(dates.contact)) if dates.contact else "",
        "mediation_took_place": held is not None,
        "held_on": _long(calendar.local_date(held)) if held else "",
    }
    pdf = certificate_pdf(context)
    record_event(db, case.id, "certificate_issued", today, actor=actor)
    attachment = {
        "filename": f"mediation-certificate-{case.reference}.pdf",
        "content_type": "application/pdf",
        "base64": base64.b64encode(pdf).decode("ascii"),
    }
    emails = []
    for name, email in people:
        emails.append(
            enqueue_id(
                db,
                key=f"certificate:{case.id}:{email}",
                channel="email",
                to=email,
                template="certificate_issued",
                context={**context, "name": name, "attachments": [attachment]},
                case_id=case.id,
                automatic=False,
            )
        )
    audit(db, actor=actor, action="certificate.issued", entity="case", entity_id=case.id)
    move_case(db, case.id, CERTIFICATE_ISSUED, actor)
    deadline = next(
        (d for d in deadlines_for(case_dates(db, case), calendar, today) if d.kind is Kind.CERTIFICATE), None
    )
    return Issued(case.reference, today, held is not None, emails, str(deadline.status) if deadline else "none")


def _recipients(db: Session, case_id: int) -> list[tuple[str, str]]:
    """(name, email) of each parent or young person on the case (the referrer when neither is known)."""
    rows = db.exec(
        select(Party.role, Contact.name, ContactPoint.value)
        .join(Contact, col(Contact.id) == Party.contact_id)
        .join(ContactPoint, col(ContactPoint.contact_id) == Party.contact_id)
        .where(
            Party.case_id == case_id,
            col(Party.role).in_(RECIPIENT_ROLES),
            ContactPoint.kind == "email",
            col(ContactPoint.undeliverable_at).is_(None),
        )
        .order_by(col(Party.id), col(ContactPoint.id))
    ).all()
    preferred = [r for r in rows if r[0] != "referrer"] or list(rows)
    return list(dict.fromkeys((name, email) for _, name, email in preferred))


def _long(day: date) -> str:
    return f"{day.day} {day:%B %Y}"
