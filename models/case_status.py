"""Case lifecycle (MISSION.md): which status may follow which. Every change lands on the timeline."""

from __future__ import annotations

NEW = "new"
TRIAGED = "triaged"
IN_PROGRESS = "in_progress"
SESSION_BOOKED = "session_booked"
SESSION_HELD = "session_held"
OUTCOME_RECORDED = "outcome_recorded"
CERTIFICATE_ISSUED = "certificate_issued"
CLOSED = "closed"

TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({TRIAGED, CERTIFICATE_ISSUED, CLOSED}),
    TRIAGED: frozenset({IN_PROGRESS, CERTIFICATE_ISSUED, CLOSED}),
    IN_PROGRESS: frozenset({SESSION_BOOKED, CERTIFICATE_ISSUED, CLOSED}),
    SESSION_BOOKED: frozenset({SESSION_HELD, IN_PROGRESS, CLOSED}),
    SESSION_HELD: frozenset({OUTCOME_RECORDED, SESSION_BOOKED}),
    OUTCOME_RECORDED: frozenset({CERTIFICATE_ISSUED, CLOSED}),
    CERTIFICATE_ISSUED: frozenset({CLOSED}),
    CLOSED: frozenset(),
}
OPEN_STATUSES = frozenset(TRANSITIONS) - {CLOSED}


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())
