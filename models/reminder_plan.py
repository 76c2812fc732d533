"""When a session's reminders go: the offsets (MDESK_REMINDER_OFFSETS), the quiet hours
(MDESK_SMS_QUIET_HOURS) and the working-day calendar, applied to a session's start. Pure: `now` is passed in.

An offset is `Nwd@HH:MM` (the N-th working day before the session's day, at that local time), `Nd@HH:MM`
(calendar days), `Nh` or `Nm` (hours or minutes before the start). A reminder falling in the quiet hours
is moved to the edge of the window: to its end (08:00) when that is still before the session, otherwise
to just before its start (20:59 the evening before).

Each planned reminder also carries `expires_at`: past it, sending would be no use (the session has begun,
or the next, closer reminder to the same person is due), so the dispatcher marks it missed instead of
sending it after downtime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.workdays import WorkingDayCalendar

_OFFSET = re.compile(r"^(?P<n>\d{1,3})(?P<unit>wd|d|h|m)(?:@(?P<at>\d{1,2}:\d{2}))?$")
_QUIET = re.compile(r"^(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$")
_BEFORE_QUIET = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Offset:
    label: str  # as written: "2wd@10:00", part of each reminder's idempotency key
    n: int
    unit: str  # wd | d | h | m
    at: time | None  # the local time of day, for wd and d

    def due(self, start: datetime, calendar: WorkingDayCalendar) -> datetime:
        """The moment this offset names before a session starting at `start` (aware), in UTC."""
        if self.unit in ("h", "m"):
            return start - timedelta(hours=self.n) if self.unit == "h" else start - timedelta(minutes=self.n)
        tz = calendar.tz
        on = start.astimezone(tz).date()
        day = calendar.subtract_working_days(on, self.n) if self.unit == "wd" else on - timedelta(days=self.n)
        at = self.at or start.astimezone(tz).time()
        return _local(day, at, tz)


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time  # 21:00
    end: time  # 08:00

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # the window crosses midnight

    def move_out(self, when: datetime, session_start: datetime, tz: ZoneInfo) -> datetime:
        """`when` (UTC) if outside the window; else its end if that is before the session, else just
        before its start."""
        local = when.astimezone(tz)
        if not self.contains(local.time().replace(tzinfo=None)):
            return when
        end_day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        window_end = _local(end_day, self.end, tz)
        if window_end < session_start:
            return window_end
        start_day = local.date() if local.time() >= self.start else local.date() - timedelta(days=1)
        return _local(start_day, self.start, tz) - _BEFORE_QUIET


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    offset: str
    due_at: datetime  # UTC
    expires_at: datetime  # UTC: not sent at or after this (marked missed)


def parse_offsets(text: str) -> tuple[Offset, ...]:
    """`2wd@10:00,2h` -> the offsets; ValueError with what is expected."""
    offsets = []
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        match = _OFFSET.match(part)
        if not match:
            raise ValueError(f"{part!r}: expected offsets such as 2wd@10:00 (working days), 1d@18:00, 2h or 30m")
        unit, at = match["unit"], match["at"]
        if at and unit in ("h", "m"):
            raise ValueError(f"{part!r}: a time of day goes with wd or d only (2wd@10:00)")
        offsets.append(Offset(part, int(match["n"]), unit, _clock(at) if at else None))
    return tuple(offsets)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """`21:00-08:00` -> the window; empty -> None (no quiet hours)."""
    text = text.strip()
    if not text:
        return None
    match = _QUIET.match(text)
    if not match:
        raise ValueError("expected a window such as 21:00-08:00, or empty for none")
    start, end = _clock(match[1]), _clock(match[2])
    if start == end:
        raise ValueError("the window's start and end are the same; leave it empty for no quiet hours")
    return QuietHours(start, end)


def plan_reminders(
    start: datetime,
    *,
    now: datetime,
    offsets: tuple[Offset, ...],
    quiet: QuietHours | None,
    calendar: WorkingDayCalendar,
) -> list[PlannedReminder]:
    """The reminders one recipient gets for a session starting at `start`, soonest first: none whose time
    has passed at `now`; two offsets landing on the same moment send once."""
    moments: dict[datetime, str] = {}
    for offset in offsets:
        due = offset.due(start, calendar)
        if quiet is not None:
            due = quiet.move_out(due, start, calendar.tz)
        if now < due < start:
            moments.setdefault(due.astimezone(UTC), offset.label)
    ordered = sorted(moments.items())
    planned = []
    for index, (due, label) in enumerate(ordered):
        expires = ordered[index + 1][0] if index + 1 < len(ordered) else start.astimezone(UTC)
        planned.append(PlannedReminder(label, due, expires))
    return planned


def parse_time_of_day(text: str) -> time:
    """`08:00` -> 08:00; ValueError otherwise."""
    if not re.fullmatch(r"\d{1,2}:\d{2}", text.strip()):
        raise ValueError(f"{text!r}: expected a time of day such as 08:00")
    return _clock(text.strip())


def _clock(text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return time(hours, minutes)


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    # fold=0: in the autumn's repeated hour, the first 01:30; a spring-forward gap moves on by the hour.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
