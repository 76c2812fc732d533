"""England's working days, as the SEND Regulations 2014 and the Tribunal's rules count them.

A working day is any day other than a Saturday or Sunday, Christmas Day, Good Friday, or a bank holiday
under the Banking and Financial Dealings Act 1971 in England and Wales (MISSION.md; the definition the
SEND Regulations 2014 and the Tribunal Procedure (HESC) Rules 2008 use). Christmas Day and Good Friday are named
apart because in England they are common-law holidays, not bank holidays under the 1971 Act; the
`holidays` package happens to list them, but the rule does not depend on that.

Counting follows the regulations' usual reading: "within 3 working days of the contact" does not count
the day of the contact; the deadline is the 3rd working day after it. Pure and I/O-free: the bank holidays
come from the `holidays` package's tables (offline), loaded once per year and kept.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from dateutil.easter import easter

LONDON = ZoneInfo("Europe/London")
ONE_DAY = timedelta(days=1)
_WEEKEND = {5: "Saturday", 6: "Sunday"}

HolidaySource = Callable[[int], Mapping[date, str]]


def bank_holidays_england_and_wales(year: int) -> dict[date, str]:
    """The year's bank holidays in England and Wales (the two share one list), with substitute days.

    `subdiv="ENG"`: the package's England list, which includes the substitute ("observed") days and the
    one-off days (2022's Jubilee and state funeral, 2023's coronation); Wales's list is the same (tested).
    A one-off bank holiday proclaimed after the installed release is missing until `holidays` is upgraded.
    """
    return dict(holidays.country_holidays("GB", subdiv="ENG", years=year).items())


def local_date(when: date | datetime, tz: ZoneInfo = LONDON) -> date:
    """The day in England on which something happened. An aware datetime (we store UTC) is converted first:
    a request at 23:30 UTC on a Thursday in summer arrived at 00:30 on Friday in London. A naive datetime is
    refused rather than guessed at."""
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"naive datetime {when.isoformat()}: pass an aware one (UTC)")
        return when.astimezone(tz).date()
    return when


@dataclass(frozen=True, slots=True)
class _Year:
    names: dict[date, str]  # every non-working holiday of the year, weekend or not, by name
    weekday_ordinals: tuple[int, ...]  # the ones falling Monday to Friday, sorted: what counting subtracts


def _weekdays_through(ordinal: int) -> int:
    """How many Mondays-to-Fridays there are from 0001-01-01 (a Monday, ordinal 1) through `ordinal`."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


class WorkingDayCalendar:
    """England's working days. Build one and share it: each year's holidays are loaded on first use and
    kept, so the calls are dictionary lookups and arithmetic (cheap enough for every case in an inbox)."""

    def __init__(self, source: HolidaySource = bank_holidays_england_and_wales, tz: ZoneInfo = LONDON) -> None:
        self._source = source
        self.tz = tz
        self._years: dict[int, _Year] = {}

    def _year(self, year: int) -> _Year:
        loaded = self._years.get(year)
        if loaded is None:
            names = dict(self._source(year))
            # Named by the regulations themselves, whatever the source lists (see the module docstring).
            names.setdefault(date(year, 12, 25), "Christmas Day")
            names.setdefault(easter(year) - timedelta(days=2), "Good Friday")
            weekday_ordinals = tuple(sorted(d.toordinal() for d in names if d.weekday() < 5))
            # Two threads may load the same year at once; both build the same value, the last one stays.
            loaded = self._years[year] = _Year(names, weekday_ordinals)
        return loaded

    def holiday_name(self, day: date) -> str | None:
        """The bank holiday (or Christmas Day, Good Friday) on `day`, if any."""
        return self._year(day.year).names.get(day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._year(day.year).names

    def why_not_working(self, day: date) -> str | None:
        """None for a working day; otherwise the reason a person reads: "Sunday", "Good Friday",
        "Saturday, Boxing Day"."""
        reasons = [r for r in (_WEEKEND.get(day.weekday()), self.holiday_name(day)) if r]
        return ", ".join(reasons) or None

    def next_working_day(self, day: date) -> date:
        """The first working day after `day` (a working `day` itself is not returned)."""
        day += ONE_DAY
        while not self.is_working_day(day):
            day += ONE_DAY
        return day

    def on_or_after(self, day: date) -> date:
        """`day` if it is a working day, else the next one (the Tribunal's rule 12(2) for a period that
        ends on a day other than a working day)."""
        return day if self.is_working_day(day) else self.next_working_day(day)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start`; `start` itself is never counted, and n=0 gives `start`.

        An event on a non-working day needs no special case: counting begins with the next working day,
        so a contact on Saturday, Sunday or Friday has the same 3-working-day deadline (Wednesday). We chose
        this over "deemed received on the next working day" (which would make a weekend contact's deadline
        Thursday) because it is the earlier of the two readings, so the service never promises a family a
        later date than the stricter reading allows, and because a few minutes either side of midnight on a
        Friday then cannot move a deadline by a day.
        """
        if n < 0:
            raise ValueError(f"working days to add must be 0 or more, not {n}")
        day = start
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def subtract_working_days(self, end: date, n: int) -> date:
        """The n-th working day before `end` (`end` not counted): "at least 5 working days before a session
        on the 14th" means told by the 5th working day before the 14th. n=0 gives `end`."""
        if n < 0:
            raise ValueError(f"working days to subtract must be 0 or more, not {n}")
        day = end
        for _ in range(n):
            day -= ONE_DAY
            while not self.is_working_day(day):
                day -= ONE_DAY
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`: Monday to Wednesday is 2, a date to itself
        is 0, and negative when `end` is before `start` (a deadline passed 2 working days ago: -2).
        The inverse of `add_working_days`: between(d, add(d, n)) == n."""
        sign = 1
        if end < start:
            start, end, sign = end, start, -1
        low, high = start.toordinal(), end.toordinal()
        count = _weekdays_through(high) - _weekdays_through(low)
        for year in range(start.year, end.year + 1):
            ordinals = self._year(year).weekday_ordinals
            count -= bisect.bisect_right(ordinals, high) - bisect.bisect_right(ordinals, low)
        return sign * count

    def non_working_days(self, start: date, end: date) -> Iterator[tuple[date, str]]:
        """Each non-working day after `start` up to and including `end`, with the reason: what a count over
        that span skipped."""
        day = start + ONE_DAY
        while day <= end:
            reason = self.why_not_working(day)
            if reason:
                yield day, reason
            day += ONE_DAY

    def local_date(self, when: date | datetime) -> date:
        return local_date(when, self.tz)
