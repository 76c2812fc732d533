"""Where does a message belong? Its headers first, then the reference token in its subject.

Only a confident answer places a message on a case; anything else is said plainly so intake can
open a new case or ask a coordinator (triage), never guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, cast, func, null, select, union
from sqlmodel import Session

from inbox.mailtext import REPLY_SUBJECT
from inbox.message import ParsedMessage
from models.case_ops import case_ids_for_email
from models.cases import Case
from models.mail import InboundMessage
from models.outbox import OutboxMessage
from models.references import find_references
from models.rows import run, table

CASE, INBOUND, OUTBOX = table(Case), table(InboundMessage), table(OutboxMessage)

# Built once, executed with parameters (models/rows.py says why).
# Each Message-ID's cases, and for our own mail whom we wrote it to (who may answer it).
_MESSAGES_ON_CASES = union(
    select(OUTBOX.c.message_id, OUTBOX.c.case_id, OUTBOX.c.to.label("written_to")).where(
        OUTBOX.c.message_id.in_(bindparam("ids", expanding=True)), OUTBOX.c.case_id.is_not(None)
    ),
    select(INBOUND.c.message_id, INBOUND.c.case_id, cast(null(), OUTBOX.c.to.type)).where(
        INBOUND.c.message_id.in_(bindparam("ids", expanding=True)), INBOUND.c.case_id.is_not(None)
    ),
)
# A merged case's reference leads to the case it was merged into (models/case_merge.py).
_CASE_BY_REFERENCE = select(func.coalesce(CASE.c.merged_into_id, CASE.c.id)).where(
    CASE.c.reference == bindparam("reference")
)
_REFERENCES = select(CASE.c.reference).where(CASE.c.id.in_(bindparam("ids", expanding=True))).order_by(CASE.c.id)


@dataclass(frozen=True, slots=True)
class ThreadMatch:
    case_id: int | None  # the case it joins; None: not placed on a case
    how: str  # headers, reference, related, ambiguous, stranger, unknown_reply, new
    reason: str
    related_case_id: int | None = None
    candidates: tuple[int, ...] = ()


def match_thread(session: Session, msg: ParsedMessage) -> ThreadMatch:
    ids = [i for i in (*msg.in_reply_to, *msg.references) if i and i != msg.message_id]
    sender = msg.sender.email.lower() if msg.sender else ""
    by_headers = _match_headers(session, ids, sender) if ids else None
    if by_headers is not None:
        return by_headers
    for reference in find_references(msg.subject):
        case_id = run(session, _CASE_BY_REFERENCE, {"reference": reference}).scalar()
        if case_id is None:
            continue
        if sender and case_id in case_ids_for_email(session, sender):
            return ThreadMatch(case_id, "reference", f"subject names {reference} and the sender is a party")
        return ThreadMatch(
            None,
            "related",
            f"subject names {reference} but the sender is not a party of it",
            related_case_id=case_id,
        )
    if sender and _looks_like_reply(msg):
        known = case_ids_for_email(session, sender)
        if known:
            return ThreadMatch(
                None,
                "unknown_reply",
                "a reply from a party of an existing case that names no message or reference of ours",
                candidates=tuple(sorted(known)),
            )
    return ThreadMatch(None, "new", "no earlier message or reference of ours")


def _match_headers(session: Session, ids: list[str], sender: str) -> ThreadMatch | None:
    """The case In-Reply-To/References place a message on, if its sender may join it; None: they
    name no message of any case.

    Knowing a Message-ID is no proof of anything (anyone the family wrote to has it, and a
    Message-ID can be reused), so a message joins a case only from a party of it or from the
    address we wrote the named message to; a stranger's goes to a coordinator, never onto the case."""
    cases_of: dict[str, set[int]] = {}
    written_to: dict[int, set[str]] = {}
    for message_id, case_id, to in run(session, _MESSAGES_ON_CASES, {"ids": ids}):
        cases_of.setdefault(message_id, set()).add(case_id)
        if to:
            written_to.setdefault(case_id, set()).add(to.lower())
    if not cases_of:
        return None
    named = set().union(*cases_of.values())
    parties = set(case_ids_for_email(session, sender)) if sender else set()
    own = {case_id for case_id in named if case_id in parties or sender in written_to.get(case_id, ())}
    # A Message-ID on several cases was reused by another sender (intake takes such mail as a
    # message of its own): for it only the sender's own case counts.
    placed = set().union(*(cases if len(cases) == 1 else cases & own for cases in cases_of.values()))
    if len(placed) > 1:
        return ThreadMatch(
            None, "ambiguous", "its headers name messages on several cases", candidates=tuple(sorted(placed))
        )
    if placed and placed <= own:
        return ThreadMatch(next(iter(placed)), "headers", "In-Reply-To/References name a message on this case")
    references = ", ".join(run(session, _REFERENCES, {"ids": sorted(named)}).scalars())
    return ThreadMatch(
        None,
        "stranger",
        f"In-Reply-To/References name a message on {references}, but the sender is not a party of it",
        candidates=tuple(sorted(named)),
    )


def _looks_like_reply(msg: ParsedMessage) -> bool:
    return bool(msg.in_reply_to) or REPLY_SUBJECT.match(msg.subject) is not None
