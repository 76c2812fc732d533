"""Calls and SMS as `calls list` and `sms list` show them: one dict a row, newest first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from models.cases import Case
from models.rows import table
from models.telephony import REC_PENDING, REC_STORED, Call, SmsMessage

CALL, SMS, CASE = table(Call), table(SmsMessage), table(Case)

CALL_COLUMNS = ["sid", "direction", "from", "to", "office", "outcome", "case_reference", "started_at", "recording"]
SMS_COLUMNS = ["sid", "direction", "from", "to", "office", "status", "case_reference", "created_at"]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def recording_label(state: str) -> str:
    """stored / pending / none, as the issue's operator reads it (a failed download is still pending)."""
    return {REC_STORED: "stored", REC_PENDING: "pending"}.get(state, "none")


def call_rows(session: Session) -> Iterator[dict[str, Any]]:
    query = (
        select(CALL, CASE.c.reference)
        .join(CASE, CASE.c.id == CALL.c.case_id, isouter=True)
        .order_by(CALL.c.started_at.desc(), CALL.c.id.desc())
    )
    for row in session.execute(query):
        call = row._mapping
        yield {
            "sid": call["call_sid"],
            "direction": call["direction"],
            "from": call["from_number"] or ("withheld" if call["withheld"] else None),
            "to": call["to_number"],
            "office": call["office"],
            "outcome": call["outcome"],
            "case_reference": call["reference"],
            "started_at": _iso(call["started_at"]),
            "updated_at": _iso(call["updated_at"]),
            "duration_seconds": call["duration_seconds"],
            "after_hours": call["after_hours"],
            "recording": recording_label(call["recording_state"]),
            "recording_error": call["recording_error"],
            "transcript": call["transcript"],
        }


def sms_rows(session: Session) -> Iterator[dict[str, Any]]:
    query = (
        select(SMS, CASE.c.reference)
        .join(CASE, CASE.c.id == SMS.c.case_id, isouter=True)
        .order_by(SMS.c.created_at.desc(), SMS.c.id.desc())
    )
    for row in session.execute(query):
        sms = row._mapping
        yield {
            "sid": sms["message_sid"],
            "direction": sms["direction"],
            "from": sms["from_number"],
            "to": sms["to_number"],
            "office": sms["office"],
            "status": sms["status"],
            "error_code": sms["error_code"],
            "case_reference": sms["reference"],
            "created_at": _iso(sms["created_at"]),
            "updated_at": _iso(sms["updated_at"]),
            "segments": sms["segments"],
            "encoding": sms["encoding"],
            "keyword": sms["keyword"],
            "body": sms["body"],
        }
