"""A voicemail is a referral too: the transcript of a voicemail, and an SMS from a number no single case
has, are read by the same referral extractor as email, and the fields, with the words each came from,
are kept on the call or SMS row (`reading`) and summed up on its triage item.

The extractor lives in `inbox/`; a channel never imports another, so the daemon hands this job the
reader (`inbox.text_reading.read_text`, as `Referral.to_dict()`): see scheduler/daemon.py. Reading runs
in the scheduler, not in the webhook, so Twilio gets its answer at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Engine

from models.cases import InboxItem
from models.db import session_scope
from models.phone_match import CASE_MATCH
from models.phones import display
from models.rows import table
from models.telephony import Call, SmsMessage

log = logging.getLogger(__name__)

TextReader = Callable[[str], dict[str, Any]]  # text -> Referral.to_dict(): the fields and their evidence
CALL, SMS, ITEM = table(Call), table(SmsMessage), table(InboxItem)
BATCH = 20
_APPEND = update(ITEM).where(ITEM.c.id == bindparam("item_id")).values(summary=ITEM.c.summary + bindparam("more"))


def read_waiting_texts(engine: Engine, reader: TextReader, *, limit: int = BATCH) -> int:
    """Read the transcripts and SMS not read yet; how many were read."""
    done = 0
    for model, text_column, waiting in (
        (CALL, CALL.c.transcript, CALL.c.transcript.is_not(None)),
        (SMS, SMS.c.body, (SMS.c.direction == "inbound") & SMS.c.keyword.is_(None) & (SMS.c.match != CASE_MATCH)),
    ):
        with session_scope(engine) as session:
            rows = session.execute(
                select(model.c.id, text_column, model.c.inbox_item_id)
                .where(waiting, model.c.reading.is_(None))
                .order_by(model.c.id)
                .limit(limit)
            ).all()
        for row_id, text, item_id in rows:
            reading = reader(text or "")
            with session_scope(engine) as session:
                claimed = session.execute(
                    update(model).where(model.c.id == row_id, model.c.reading.is_(None)).values(reading=reading)
                ).rowcount  # type: ignore[attr-defined]
                if claimed == 1 and item_id is not None:
                    said = describe(reading)
                    if said:
                        session.execute(_APPEND, {"item_id": item_id, "more": f" | Read from it: {said}"})
            done += 1
    if done:
        log.info("telephony: read %d transcripts and texts for referral fields", done)
    return done


def describe(reading: dict[str, Any]) -> str:
    """The fields a coordinator triages by, in a line: "service mediation; council Camden (served, london); ..."."""
    parts = []
    if reading.get("service"):
        parts.append(f"service {reading['service']}")
    if reading.get("local_authority"):
        served = "served" if reading.get("served") else "not served"
        region = f", {reading['region']}" if reading.get("region") else ""
        parts.append(f"council {reading['local_authority']} ({served}{region})")
    if reading.get("contact_phone"):
        parts.append(f"phone {display(reading['contact_phone'])}")
    if reading.get("child_name"):
        parts.append(f"child {reading['child_name']}")
    if reading.get("child_dob"):
        parts.append(f"born {reading['child_dob']}")
    if reading.get("referrer_role"):
        parts.append(f"caller is a {reading['referrer_role'].replace('_', ' ')}")
    return "; ".join(parts)
