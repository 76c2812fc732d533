"""Where does a message belong? Its headers first, then the reference token in its subject.

Only a confident answer places a message on a case; anything else is said plainly so intake can
open a new case or ask a coordinator (triage), never guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select, union
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
_CASES_OF_MESSAGE_IDS = union(
    select(OUTBOX.c.case_id).where(
        OUTBOX.c.message_id.in_(bindparam("ids", expanding=True)), OUTBOX.c.case_id.is_not(None)
    ),
    select(INBOUND.c.case_id).where(
        INBOUND.c.message_id.in_(bindparam("ids", expanding=True)), INBOUND.c.case_id.is_not(None)
    ),
)
_CASE_BY_REFERENCE = select(CASE.c.id).where(CASE.c.reference == bindparam("reference"))


@dataclass(frozen=True, slots=True)
class ThreadMatch:
    case_id: int | None  # the case it joins; None: not placed on a case
    how: str  # headers, reference, related, ambiguous, unknown_reply, new
    reason: str
    related_case_id: int | None = None
    candidates: tuple[int, ...] = ()


def cases_by_message_ids(session: Session, ids: list[str]) -> set[int]:
    """Cases that own any of these Message-IDs, as mail we sent or mail we stored."""
    if not ids:
        return set()
    return set(run(session, _CASES_OF_MESSAGE_IDS, {"ids": ids}).scalars())


def match_thread(session: Session, msg: ParsedMessage) -> ThreadMatch:
    ids = [i for i in (*msg.in_reply_to, *msg.references) if i and i != msg.message_id]
    by_headers = cases_by_message_ids(session, ids)
    if len(by_headers) == 1:
        case_id = next(iter(by_headers))
        return ThreadMatch(case_id, "headers", "In-Reply-To/References name a message on this case")
    if len(by_headers) > 1:
        return ThreadMatch(
            None,
            "ambiguous",
            "its headers name messages on several cases",
            candidates=tuple(sorted(by_headers)),
        )
    sender = msg.sender.email if msg.sender else ""
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


def _looks_like_reply(msg: ParsedMessage) -> bool:
    return bool(msg.in_reply_to) or REPLY_SUBJECT.match(msg.subject) is not None
