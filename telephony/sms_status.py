"""Status callbacks for the SMS we send: the row moves forward only (queued -> sent -> delivered or
undelivered/failed), whatever order the callbacks come in; a number the carrier says cannot take SMS
is marked undeliverable for SMS, like a bounced address."""

from __future__ import annotations

import logging

from sqlalchemy import Insert, bindparam, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.case_ops import add_timeline, mark_undeliverable
from models.outbox import OutboxMessage
from models.rows import run, table
from models.telephony import SMS_STATUS_RANK, SmsMessage
from models.types import utcnow

log = logging.getLogger(__name__)

SMS = table(SmsMessage)
OUTBOX = table(OutboxMessage)
# Twilio's codes for a number that will never take our SMS as it is.
UNDELIVERABLE_CODES = {
    21211: "not a valid phone number",
    21610: "the recipient has replied STOP",
    21614: "not a mobile number",
    30003: "unreachable handset",
    30005: "unknown number",
    30006: "landline or unreachable carrier",
}
_INSERT: dict[str, Insert] = {
    name: dialect.insert(SMS).on_conflict_do_nothing(index_elements=["message_sid"])
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_STATUS = (
    sql_update(SMS)
    .where(SMS.c.message_sid == bindparam("sid"))
    .values(
        status=bindparam("status"),
        error_code=bindparam("code"),
        updated_at=bindparam("now", type_=SMS.c.updated_at.type),
    )
)
_STATUS_OF = select(SMS.c.status).where(SMS.c.message_sid == bindparam("sid"))
_OUTBOX_OF = select(OUTBOX.c.id, OUTBOX.c.case_id, OUTBOX.c.to).where(OUTBOX.c.provider_id == bindparam("sid"))


def record_outbound(
    session: Session,
    sid: str,
    *,
    from_number: str,
    to_number: str,
    body: str,
    status: str,
    segments: int,
    encoding: str,
    office: str | None,
    outbox_id: int | None,
    case_id: int | None = None,
) -> None:
    """The SMS as we sent it (the channel calls this after Twilio took it); a status callback that
    came first has made the row already, and this fills in what it lacked."""
    now = utcnow()
    row = {
        "message_sid": sid,
        "direction": "outbound",
        "from_number": from_number,
        "to_number": to_number,
        "body": body,
        "status": status,
        "segments": segments,
        "encoding": encoding,
        "office": office,
        "outbox_id": outbox_id,
        "case_id": case_id,
        "created_at": now,
        "updated_at": now,
    }
    run(session, _INSERT[session.get_bind().dialect.name], row)
    run(
        session,
        sql_update(SMS)
        .where(SMS.c.message_sid == sid)
        .values(body=body, segments=segments, encoding=encoding, office=office, outbox_id=outbox_id, case_id=case_id),
    )


def update(
    session: Session, sid: str, status: str, *, error_code: int | None, from_number: str, to_number: str
) -> bool:
    """Apply one status callback; whether it moved the row forward."""
    status = status.lower()
    now = utcnow()
    outbox = run(session, _OUTBOX_OF, {"sid": sid}).first()
    row = {
        "message_sid": sid,
        "direction": "outbound",
        "from_number": from_number,
        "to_number": to_number,
        "status": status,
        "outbox_id": outbox.id if outbox else None,
        "case_id": outbox.case_id if outbox else None,
        "error_code": error_code,
        "created_at": now,
        "updated_at": now,
    }
    inserted = run(session, _INSERT[session.get_bind().dialect.name], row).rowcount == 1
    if not inserted:
        current = run(session, _STATUS_OF, {"sid": sid}).scalar_one()
        if SMS_STATUS_RANK.get(status, 0) <= SMS_STATUS_RANK.get(current, 0):
            return False  # a late callback for a state the message has passed
        run(session, _STATUS, {"sid": sid, "status": status, "code": error_code, "now": now})
    if status in ("undelivered", "failed"):
        reason = UNDELIVERABLE_CODES.get(error_code or 0)
        said = f"SMS to {to_number} {status}" + (f" (Twilio {error_code}: {reason})" if error_code else "")
        log.info("sms %s %s, Twilio error %s", sid, status, error_code)
        case_id = outbox.case_id if outbox else None
        if reason and to_number:
            mark_undeliverable(session, to_number, f"Twilio {error_code}: {reason}", case_id, channel="sms")
        elif case_id is not None:
            add_timeline(session, case_id, "delivery_failed", said, at=now, data={"message_sid": sid})
    return True
