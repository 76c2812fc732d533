"""The two offices, as data (data/offices.json): who answers a region, on which number, when."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import cache
from pathlib import Path
from typing import Any

from models.workdays import WorkingDayCalendar

OFFICES_FILE = Path(__file__).resolve().parent.parent / "data" / "offices.json"
# A UK postcode as written in an address ("N1 8HX", "B72 1EA", "SW1A1AA").
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")


@dataclass(frozen=True, slots=True)
class Office:
    region: str
    name: str  # as a heading: "National office"
    name_in_sentence: str  # mid-sentence, after "our": "national office", "London office"
    phone: str  # E.164
    phone_display: str
    address: str
    hours: str  # as a person reads it; `opening` is the same, as the phones follow it
    forward_to: tuple[str, ...] = ()  # E.164 numbers a call to the office rings (in parallel)
    opening: OpeningHours = field(default_factory=lambda: OpeningHours())

    def is_open(self, when: datetime, calendar: WorkingDayCalendar) -> bool:
        """Whether the phones are answered at `when` (aware): an opening day that is a working day in
        England (not a bank holiday), between its hours, in London time."""
        local = when.astimezone(calendar.tz)
        return self.opening.covers(local) and calendar.is_working_day(local.date())


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """As written in data/offices.json ("09:30"): plain values, so an office still serialises as JSON
    (email templates get offices as dicts)."""

    days: tuple[str, ...] = _DAYS[:5]
    opens: str = "09:30"
    closes: str = "17:00"

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> OpeningHours:
        days = tuple(day.lower()[:3] for day in row.get("days", _DAYS[:5]))
        unknown = [day for day in days if day not in _DAYS]
        if unknown:
            raise ValueError(f"{OFFICES_FILE}: unknown opening days {unknown}: use mon, tue, ... sun")
        hours = cls(days, row.get("opens", "09:30"), row.get("closes", "17:00"))
        hours.closing_time  # noqa: B018  (a malformed time fails at load, naming the file)
        return hours

    @property
    def opening_time(self) -> time:
        return _time(self.opens)

    @property
    def closing_time(self) -> time:
        return _time(self.closes)

    def covers(self, local: datetime) -> bool:
        now = local.time().replace(tzinfo=None)
        return _DAYS[local.weekday()] in self.days and self.opening_time <= now < self.closing_time


def _time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{OFFICES_FILE}: opening time {text!r}: expected HH:MM, such as 09:30") from exc


def _office(row: dict[str, Any]) -> Office:
    row = dict(row)
    row["forward_to"] = tuple(row.get("forward_to", ()))
    row["opening"] = OpeningHours.from_json(row.get("opening", {}))
    return Office(**row)


@cache
def all_offices() -> tuple[Office, ...]:
    return tuple(_office(row) for row in json.loads(OFFICES_FILE.read_text(encoding="utf-8")))


def office_by_number(number: str | None) -> Office | None:
    """The office whose public number this is (the number a caller dialled)."""
    return next((office for office in all_offices() if office.phone == number), None)


def office_by_region(region: str | None) -> Office | None:
    return next((office for office in all_offices() if office.region == region), None)


def offices_for(region: str | None) -> tuple[Office, ...]:
    """The office for a region; both when the region is not known yet."""
    matching = tuple(office for office in all_offices() if office.region == region)
    return matching or all_offices()


def own_phone_numbers() -> tuple[str, ...]:
    return tuple(office.phone for office in all_offices())


@cache  # asked for every message read
def own_postcodes() -> frozenset[str]:
    """The postcodes in our offices' addresses: a line holding one is our address, not the family's."""
    return frozenset(code for office in all_offices() for code in POSTCODE.findall(office.address))


@cache
def own_places() -> tuple[str, ...]:
    """The pieces of our offices' addresses that name a place ("249 Birmingham Road", "Sutton Coldfield"),
    longest first: printed on a form (its header, "return to"), they are ours, never the family's council."""
    pieces = {
        piece.strip()
        for office in all_offices()
        for piece in POSTCODE.sub("", office.address).split(",")
        if len(piece.split()) >= 2  # "London" alone is also in "London Borough of Camden"
    }
    return tuple(sorted(pieces, key=len, reverse=True))
