"""iCalendar (RFC 5545) for sessions: the invitation sent with each confirmation, and a mediator's feed.

One UID per session for its whole life; SEQUENCE is the session's `sequence` (raised at each reschedule
and at cancellation), so a calendar program updates the entry it holds. A cancellation is METHOD:CANCEL
with STATUS:CANCELLED (RFC 5546 3.2.5). Attendees' addresses go in the invitation each of them receives,
as calendar programs expect; the feed (`calendar_feed`) lists times and places only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Mediation Desk//Sessions//EN"
MODE_LABELS = {"in_person": "In person", "phone": "By phone", "video": "By video"}


@dataclass(frozen=True, slots=True)
class IcsSession:
    uid: str
    sequence: int
    start: datetime  # aware
    end: datetime
    summary: str
    location: str
    description: str
    cancelled: bool = False
    updated: datetime | None = None  # DTSTAMP; None: now


def session_invitation(
    item: IcsSession, *, organizer: str, organizer_name: str, attendees: Iterable[tuple[str, str]] = ()
) -> str:
    """The .ics attached to a confirmation: METHOD:REQUEST, or METHOD:CANCEL for a cancelled session."""
    calendar = _calendar("CANCEL" if item.cancelled else "REQUEST")
    event = _event(item)
    organizer_address = vCalAddress(f"mailto:{organizer}")
    organizer_address.params["cn"] = vText(organizer_name)
    event.add("organizer", organizer_address)
    for email, name in attendees:
        attendee = vCalAddress(f"mailto:{email}")
        if name:
            attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")


def calendar_feed(items: Iterable[IcsSession], *, name: str) -> str:
    """A subscribable feed (no METHOD: it publishes, it does not invite)."""
    calendar = _calendar(None)
    calendar.add("x-wr-calname", name)
    for item in items:
        calendar.add_component(_event(item))
    return calendar.to_ical().decode("utf-8")


def _calendar(method: str | None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    return calendar


def _event(item: IcsSession) -> Event:
    from models.types import utcnow

    event = Event()
    event.add("uid", item.uid)
    event.add("sequence", item.sequence)
    event.add("dtstamp", item.updated or utcnow())
    event.add("dtstart", item.start)
    event.add("dtend", item.end)
    event.add("summary", item.summary)
    if item.location:
        event.add("location", item.location)
    if item.description:
        event.add("description", item.description)
    event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
    return event
