"""One row per call, completed by whichever callback comes, in whatever order, as often as it comes.

Every webhook hands `record_call` the facts it carries (`CallFacts`). The row keeps the first value of
each fact (a repeat changes nothing) and the outcome is worked out from the facts together, never from
the order they came in:

    a recording with sound          voicemail
    <Dial> answered                 answered
    <Dial> busy                     busy
    <Dial> or the call failed       failed
    anything else, once it ended    missed

What a call leads to is written once each, when the facts are there, and remembered in `noted`: the
call on its case's timeline (or an inbox item when the number matches several cases or none), the
voicemail and its transcript, a call-back task for a missed call or a voicemail, and the closing of a
caller's open call-back tasks when a later call of theirs is answered.

A call is "settled" once it ended and we know what happened at the <Dial> (or nobody was rung): a
status callback overtaking the <Dial> action must not make an answered call look missed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Insert, Update, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.case_ops import add_timeline, open_inbox_item, touch_case
from models.cases import InboxItem
from models.offices import office_by_number, office_by_region
from models.phone_match import CASE_MATCH, WITHHELD, PhoneMatch, match_phone
from models.phones import display, is_withheld, to_e164
from models.rows import run, table
from models.telephony import (
    ANSWERED,
    BUSY,
    FAILED,
    MISSED,
    REC_NONE,
    REC_PENDING,
    VOICEMAIL,
    Call,
    CallbackTask,
)
from models.types import utcnow
from models.workdays import WorkingDayCalendar
from telephony.callback_tasks import close_tasks_of, note_missed_call

log = logging.getLogger(__name__)

CALL = table(Call)
ITEM = table(InboxItem)
FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
# The call's row, made if new, in one statement: an upsert whose update changes nothing returns the row
# either way (and on PostgreSQL holds its lock to the end of the transaction, as FOR UPDATE would; on
# SQLite, BEGIN IMMEDIATE already serialises writers).
_UPSERT: dict[str, Insert] = {
    name: dialect.insert(CALL)
    .on_conflict_do_update(index_elements=["call_sid"], set_={"call_sid": dialect.insert(CALL).excluded.call_sid})
    .returning(*CALL.c)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_OPEN_ITEM_OF_NUMBER = (
    select(CALL.c.inbox_item_id)
    .join(ITEM, ITEM.c.id == CALL.c.inbox_item_id)
    .where(CALL.c.from_number == bindparam("number"), ITEM.c.status == "open", ITEM.c.kind == "unknown_caller")
    .limit(1)
)
_TASK_VOICEMAIL = (
    update(table(CallbackTask))
    .where(table(CallbackTask).c.id == bindparam("task_id"))
    .values(voicemails=table(CallbackTask).c.voicemails + 1)
)
_ITEM_APPEND = update(ITEM).where(ITEM.c.id == bindparam("item_id")).values(summary=ITEM.c.summary + bindparam("more"))


@dataclass(slots=True)
class CallFacts:
    """What one webhook says of a call; None: it says nothing of that."""

    from_raw: str | None = None  # From as Twilio sent it ("+447700900123", "anonymous", "")
    to: str | None = None
    direction: str | None = None
    status: str | None = None  # CallStatus
    duration: int | None = None  # CallDuration (seconds)
    dial_status: str | None = None
    recording_sid: str | None = None
    recording_url: str | None = None
    recording_seconds: int | None = None
    transcript: str | None = None
    transcript_status: str | None = None
    after_hours: bool | None = None


@dataclass(frozen=True, slots=True)
class CallState:
    """The call as it stands after a webhook: what the TwiML and the tests read."""

    sid: str
    office: str | None
    outcome: str | None
    case_id: int | None
    match: str | None


def record_call(
    session: Session, sid: str, facts: CallFacts, *, calendar: WorkingDayCalendar, now: datetime | None = None
) -> CallState:
    """Merge one webhook's facts into the call's row and write what they lead to, once each."""
    now = now or utcnow()
    upsert = _UPSERT[session.get_bind().dialect.name]
    before = dict(run(session, upsert, {"call_sid": sid, "started_at": now, "updated_at": now}).one()._mapping)
    row = dict(before)
    _merge(row, facts)
    if row["match"] is None and (row["from_number"] or row["withheld"]):
        _match(session, row)
    row["outcome"] = outcome_of(row)
    _consequences(session, row, calendar=calendar, now=now)
    changed = {key: value for key, value in row.items() if value != before[key]}
    if changed:
        changed["updated_at"] = now
        run(session, _update_of(frozenset(changed)), {**changed, "row_id": row["id"]})
    return CallState(sid, row["office"], row["outcome"], row["case_id"], row["match"])


@cache
def _update_of(columns: frozenset[str]) -> Update:
    """UPDATE of these columns, built once per set (models/rows.py: building costs more than running)."""
    values = {name: bindparam(name, type_=CALL.c[name].type) for name in columns}
    return update(CALL).where(CALL.c.id == bindparam("row_id")).values(**values)


def _merge(row: dict[str, Any], facts: CallFacts) -> None:
    """The first value of each fact stays; a final status replaces a passing one, never the reverse."""
    if facts.from_raw is not None and row["from_number"] is None and not row["withheld"]:
        number = to_e164(facts.from_raw)
        row["from_number"] = number
        row["withheld"] = number is None and is_withheld(facts.from_raw)
    if facts.to and not row["to_number"]:
        row["to_number"] = to_e164(facts.to) or facts.to
        office = office_by_number(row["to_number"])
        row["office"] = row["office"] or (office.region if office else None)
    if facts.status and (row["status"] not in FINAL_STATUSES or facts.status in FINAL_STATUSES):
        row["status"] = row["status"] if row["status"] in FINAL_STATUSES else facts.status
    for name in ("direction", "dial_status", "recording_sid", "recording_url", "recording_seconds"):
        value = getattr(facts, name)
        if value is not None and row[name] is None:
            row[name] = value
    if facts.duration is not None:
        row["duration_seconds"] = max(row["duration_seconds"] or 0, facts.duration)
    if facts.after_hours:
        row["after_hours"] = True
    if facts.transcript_status and row["transcript_status"] != "completed":
        row["transcript_status"] = facts.transcript_status
        if facts.transcript_status == "completed" and facts.transcript is not None:
            row["transcript"] = facts.transcript.strip()
    if row["recording_sid"] and row["recording_state"] == REC_NONE:
        row["recording_state"] = REC_PENDING  # due at once: the daemon stores it (telephony/recordings.py)


def outcome_of(row: dict[str, Any]) -> str | None:
    """What happened to the call, from its facts alone (the module docstring's table)."""
    if row["recording_sid"] and (row["recording_seconds"] is None or row["recording_seconds"] > 0):
        return VOICEMAIL
    dial = row["dial_status"]
    if dial in ("completed", "answered"):
        return ANSWERED
    if dial == "busy":
        return BUSY
    if dial == "failed" or row["status"] == "failed":
        return FAILED
    if dial in ("no-answer", "canceled") or row["status"] in FINAL_STATUSES:
        return MISSED
    return None


def is_settled(row: dict[str, Any]) -> bool:
    """Ended, and what happened at the <Dial> known (or nobody was rung)."""
    ended = row["status"] in FINAL_STATUSES
    return ended and bool(row["after_hours"] or row["dial_status"] or row["recording_sid"])


def _match(session: Session, row: dict[str, Any]) -> None:
    found = match_phone(session, row["from_number"])
    row["match"] = found.kind
    if found.kind == CASE_MATCH:
        row["case_id"] = found.case_id
    elif found.kind != WITHHELD:
        # Several cases, or none: a coordinator decides; we never guess. A caller who rings again before
        # that is one item, with each call added to it.
        item_id = run(session, _OPEN_ITEM_OF_NUMBER, {"number": row["from_number"]}).scalar()
        if item_id is None:
            summary = _unknown_summary(row, found)
            item_id = open_inbox_item(session, kind="unknown_caller", summary=summary, office=row["office"])
        else:
            run(session, _ITEM_APPEND, {"item_id": item_id, "more": f" | Called again, to the {_office_name(row)}"})
        row["inbox_item_id"] = item_id


def _consequences(session: Session, row: dict[str, Any], *, calendar: WorkingDayCalendar, now: datetime) -> None:
    noted: list[str] = list(row["noted"] or [])
    number = row["from_number"]
    had_task = row["callback_task_id"] is not None  # made by an earlier callback, before any voicemail
    if row["outcome"] == ANSWERED and number and "answered" not in noted:
        close_tasks_of(session, number, row["call_sid"], now=now)
        noted.append("answered")
    if row["match"] is None:
        return  # who called is not known yet (a callback overtook the call itself): nowhere to write
    settled = is_settled(row)
    if settled and row["outcome"] in (MISSED, VOICEMAIL, BUSY) and number and row["callback_task_id"] is None:
        office = row["office"] or "national"
        row["callback_task_id"] = note_missed_call(
            session,
            office=office,
            number=number,
            call_sid=row["call_sid"],
            case_id=row["case_id"],
            voicemail=row["outcome"] == VOICEMAIL,
            calendar=calendar,
            now=now,
        )
    if settled and "call" not in noted:
        _note(session, row, "call", _call_summary(row), now)
        noted.append("call")
    if row["outcome"] == VOICEMAIL and "voicemail" not in noted:
        if had_task:
            # The call was settled as missed before its recording came: the task counts the voicemail now.
            run(session, _TASK_VOICEMAIL, {"task_id": row["callback_task_id"]})
        if row["withheld"] and row["inbox_item_id"] is None and row["case_id"] is None:
            # A withheld caller cannot be rung back: their message must reach a coordinator.
            who = _unknown_summary(row, PhoneMatch(WITHHELD))
            row["inbox_item_id"] = open_inbox_item(session, kind="triage", summary=who, office=row["office"])
        _note(session, row, "voicemail", _voicemail_summary(row), now)
        noted.append("voicemail")
        if row["transcript"]:
            noted.append("transcript")  # the voicemail's note quotes it already
    if row["transcript"] and "transcript" not in noted:
        _note(session, row, "transcript", f"Voicemail transcript: {row['transcript']}", now)
        noted.append("transcript")
    row["noted"] = noted


def _note(session: Session, row: dict[str, Any], what: str, summary: str, now: datetime) -> None:
    """On the case's timeline; without a case, added to the triage item's summary (each part once)."""
    data = {"call_sid": row["call_sid"], "what": what, "outcome": row["outcome"]}
    if row["case_id"] is not None:
        add_timeline(session, row["case_id"], "call", summary, at=now, data=data)
        touch_case(session, row["case_id"])
    elif row["inbox_item_id"] is not None:
        part = (
            summary.partition(": ")[2]
            if what == "call"
            else summary.partition(" to the ")[0] + ": " + (row["transcript"] or "transcript to follow")
        )
        if what == "transcript":
            part = summary
        run(session, _ITEM_APPEND, {"item_id": row["inbox_item_id"], "more": f"; {part}"[:2000]})


def _caller(row: dict[str, Any]) -> str:
    if row["from_number"]:
        return display(row["from_number"])
    return "a withheld number" if row["withheld"] else "an unknown number"


def _office_name(row: dict[str, Any]) -> str:
    office = office_by_region(row["office"])
    return office.name if office else "our number"


def _call_summary(row: dict[str, Any]) -> str:
    said = {
        ANSWERED: "answered",
        MISSED: "missed",
        VOICEMAIL: "voicemail left",
        BUSY: "line busy",
        FAILED: "failed",
    }.get(row["outcome"] or "", "ended")
    length = f", {row['duration_seconds']} s" if row["duration_seconds"] else ""
    hours = " (out of hours)" if row["after_hours"] else ""
    return f"Call from {_caller(row)} to the {_office_name(row)}{hours}: {said}{length}"


def _voicemail_summary(row: dict[str, Any]) -> str:
    seconds = f" ({row['recording_seconds']} s)" if row["recording_seconds"] else ""
    text = f": {row['transcript']}" if row["transcript"] else "; transcript to follow"
    return f"Voicemail{seconds} from {_caller(row)} to the {_office_name(row)}{text}"


def _unknown_summary(row: dict[str, Any], found: PhoneMatch) -> str:
    who = f"Call from {_caller(row)} to the {_office_name(row)}"
    if found.kind == WITHHELD:
        return who
    if found.candidates:
        return f"{who}: the number is on several cases ({', '.join(found.candidates)}); which one?"
    return f"{who}: no case has this number"


def call_facts_fields() -> tuple[str, ...]:
    return tuple(f.name for f in fields(CallFacts))
