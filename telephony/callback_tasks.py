"""Call-back tasks: a missed call or a voicemail is a caller to ring back by the end of the next working
day. One open task per office and number, however often they rang (CallbackTask.open_key); a later
answered call from that number closes it. Each task is also an inbox item (kind "callback") so it is
seen where coordinators work; closing the task closes the item.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Insert, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.case_ops import add_timeline, open_inbox_item
from models.cases import InboxItem
from models.offices import office_by_region
from models.phones import display
from models.rows import run, table
from models.telephony import CallbackTask
from models.workdays import WorkingDayCalendar

TASK = table(CallbackTask)
ITEM = table(InboxItem)

_INSERT: dict[str, Insert] = {
    name: dialect.insert(TASK).on_conflict_do_nothing(index_elements=["open_key"]).returning(TASK.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_OPEN = select(TASK.c.id, TASK.c.voicemails, TASK.c.inbox_item_id).where(TASK.c.open_key == bindparam("key"))
_ANOTHER_CALL = (
    update(TASK)
    .where(TASK.c.id == bindparam("task_id"))
    .values(
        calls=TASK.c.calls + 1,
        voicemails=TASK.c.voicemails + bindparam("voicemail"),
        last_call_sid=bindparam("sid"),
    )
)
_SET_ITEM = update(TASK).where(TASK.c.id == bindparam("task_id")).values(inbox_item_id=bindparam("item_id"))
_OPEN_OF_NUMBER = select(TASK.c.id, TASK.c.inbox_item_id, TASK.c.case_id).where(
    TASK.c.number == bindparam("number"), TASK.c.status == "open"
)
_CLOSE = (
    update(TASK)
    .where(TASK.c.id == bindparam("task_id"), TASK.c.status == "open")
    .values(
        status="done",
        open_key=None,
        closed_at=bindparam("now", type_=TASK.c.closed_at.type),
        closed_by_call_sid=bindparam("sid"),
    )
)
_CLOSE_ITEM = (
    update(ITEM)
    .where(ITEM.c.id == bindparam("item_id"), ITEM.c.status == "open")
    .values(status="done", closed_at=bindparam("now", type_=ITEM.c.closed_at.type))
)


def due_by(office_region: str, when: datetime, calendar: WorkingDayCalendar) -> datetime:
    """The end (the office's closing time) of the next working day after `when`, in London, as UTC."""
    office = office_by_region(office_region)
    day = calendar.next_working_day(calendar.local_date(when))
    closes = office.opening.closing_time if office else datetime.min.time().replace(hour=17)
    return datetime.combine(day, closes, tzinfo=calendar.tz).astimezone(when.tzinfo)


def note_missed_call(
    session: Session,
    *,
    office: str,
    number: str,
    call_sid: str,
    case_id: int | None,
    voicemail: bool,
    calendar: WorkingDayCalendar,
    now: datetime,
) -> int:
    """The open task for this caller at this office, made now or counted once more; its id."""
    key = f"{office}:{number}"
    existing = run(session, _OPEN, {"key": key}).first()
    if existing is not None:
        run(session, _ANOTHER_CALL, {"task_id": existing.id, "voicemail": int(voicemail), "sid": call_sid})
        return existing.id
    due = due_by(office, now, calendar)
    place = office_by_region(office)
    summary = (
        f"Call back {display(number)} ({place.name if place else office}) by "
        f"{due.astimezone(calendar.tz):%a %-d %b, %-I.%M%p}".replace("AM", "am").replace("PM", "pm")
    )
    row = {
        "open_key": key,
        "office": office,
        "number": number,
        "due_at": due,
        "calls": 1,
        "voicemails": int(voicemail),
        "case_id": case_id,
        "first_call_sid": call_sid,
        "last_call_sid": call_sid,
        "created_at": now,
    }
    task_id = run(session, _INSERT[session.get_bind().dialect.name], row).scalar()
    if task_id is None:  # written by another transaction since we looked (PostgreSQL): count this call
        return note_missed_call(
            session,
            office=office,
            number=number,
            call_sid=call_sid,
            case_id=case_id,
            voicemail=voicemail,
            calendar=calendar,
            now=now,
        )
    item_id = open_inbox_item(session, kind="callback", summary=summary, office=office, case_id=case_id)
    run(session, _SET_ITEM, {"task_id": task_id, "item_id": item_id})
    if case_id is not None:
        add_timeline(session, case_id, "callback", summary, at=now, data={"task_id": task_id})
    return task_id


def close_tasks_of(session: Session, number: str, call_sid: str, *, now: datetime) -> int:
    """An answered call from this number: its open call-back tasks are done. How many were open."""
    closed = 0
    for task in run(session, _OPEN_OF_NUMBER, {"number": number}).all():
        run(session, _CLOSE, {"task_id": task.id, "now": now, "sid": call_sid})
        if task.inbox_item_id is not None:
            run(session, _CLOSE_ITEM, {"item_id": task.inbox_item_id, "now": now})
        if task.case_id is not None:
            add_timeline(
                session,
                task.case_id,
                "callback",
                "Call-back done: the caller got through",
                at=now,
                data={"task_id": task.id},
            )
        closed += 1
    return closed
