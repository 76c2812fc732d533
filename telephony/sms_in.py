"""An SMS comes in: stored by its MessageSid first (a repeated webhook is a no-op), then what it asks
(STOP, START, HELP), then who sent it: one case -> its timeline; several or none -> a triage item, whose
text the referral extractor reads later (telephony/readings.py)."""

from __future__ import annotations

import logging

from sqlalchemy import Insert, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.case_actions import needs_attention
from models.case_ops import add_timeline, open_inbox_item, touch_case
from models.offices import all_offices, office_by_number
from models.outbox import Suppression
from models.outbox_ops import enqueue_id, suppress
from models.phone_match import CASE_MATCH, match_phone
from models.phones import display, to_e164
from models.rows import run, table
from models.settings import Settings
from models.telephony import SmsMessage
from models.types import utcnow
from telephony.segments import count_segments
from telephony.sms_keywords import HELP, START, STOP, keyword_of
from telephony.webhook_auth import Form

log = logging.getLogger(__name__)

SMS = table(SmsMessage)
SUPPRESSION = table(Suppression)
_INSERT: dict[str, Insert] = {
    name: dialect.insert(SMS).on_conflict_do_nothing(index_elements=["message_sid"]).returning(SMS.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_MATCHED = (
    update(SMS)
    .where(SMS.c.id == bindparam("row_id"))
    .values(match=bindparam("match"), case_id=bindparam("case_id"), inbox_item_id=bindparam("inbox_item_id"))
)
_LIFT = (
    update(SUPPRESSION)
    .where(
        SUPPRESSION.c.channel == "sms", SUPPRESSION.c.value == bindparam("number"), SUPPRESSION.c.lifted_at.is_(None)
    )
    .values(lifted_at=bindparam("now", type_=SUPPRESSION.c.lifted_at.type))
)


def receive(session: Session, sid: str, form: Form, *, settings: Settings) -> int | None:
    """Store and act on one incoming SMS; its row id, or None when it was here already."""
    raw_from = str(form.get("From") or "")
    sender = to_e164(raw_from) or raw_from
    to = to_e164(str(form.get("To") or "")) or str(form.get("To") or "")
    office = office_by_number(to) or all_offices()[-1]
    body = str(form.get("Body") or "")
    keyword = keyword_of(body)
    shape = count_segments(body)
    now = utcnow()
    row = {
        "message_sid": sid,
        "direction": "inbound",
        "from_number": sender,
        "to_number": to,
        "office": office.region,
        "body": body,
        "status": "received",
        "segments": shape.count,
        "encoding": shape.encoding,
        "keyword": keyword,
        "created_at": now,
        "updated_at": now,
    }
    row_id = run(session, _INSERT[session.get_bind().dialect.name], row).scalar()
    if row_id is None:
        return None  # Twilio retried a webhook we already took
    if keyword == STOP:
        suppress(session, "sms", sender, f"replied {body.strip().upper()} by SMS")
        log.info("sms %s: sender opted out (STOP)", sid)
    elif keyword == START:
        run(session, _LIFT, {"number": sender.lower(), "now": now})
        _reply(session, sid, sender, "started", office.region)
    elif keyword == HELP:
        _reply(session, sid, sender, "help", office.region)
    found = match_phone(session, to_e164(raw_from))
    changes: dict[str, object] = {"match": found.kind, "case_id": None, "inbox_item_id": None}
    said = f"SMS from {display(sender) if sender.startswith('+') else sender}: {body}"
    if found.kind == CASE_MATCH and found.case_id is not None:
        changes["case_id"] = found.case_id
        add_timeline(session, found.case_id, "sms", said[:2000], at=now, data={"message_sid": sid, "keyword": keyword})
        touch_case(session, found.case_id)
        if keyword is None:
            needs_attention(session, found.case_id, "sms")  # in the coordinators' inbox until seen
    elif keyword is None:
        who = f" (on cases {', '.join(found.candidates)})" if found.candidates else ""
        changes["inbox_item_id"] = open_inbox_item(
            session, kind="triage", summary=f"{said}{who}"[:2000], office=office.region
        )
    run(session, _MATCHED, {**changes, "row_id": row_id})
    return row_id


def _reply(session: Session, sid: str, to: str, template: str, office: str) -> None:
    """An answer to a keyword, through the outbox (keyed by the message it answers: sent once)."""
    if not to.startswith("+"):
        return  # a short code or an alphanumeric sender cannot be answered
    enqueue_id(
        session,
        key=f"sms-{template}:{sid}",
        channel="sms",
        to=to,
        template=template,
        context={"office": office},
        automatic=False,
    )
