"""Two cases that turn out to be one family's (a parent wrote twice, a school and the parent both
referred): the merged case's everything moves onto the case that carries on, the survivor, in the
caller's transaction.

- The survivor is the case whose statutory clock started first (its first contact, as
  models/case_clock.py reads it: a `contact` event, else the day the case was opened); on the same day
  the lower id. The survivor keeps its clock: its first contact (and, for mediation, the request) is
  written down as an event before the other case's events join it, so theirs cannot move it later.
- Every row naming the merged case moves: timeline, messages in and out, inbox items, sessions, calls,
  SMS, call-back tasks, clock events; its parties join the survivor's without duplicate rows; its
  unseen news is added to the survivor's. Attachments belong to messages and move with them.
  Referral details the survivor lacks are copied from the merged case's (never overwriting).
- The merged case is closed with `merged_into_id` pointing at the survivor: its reference keeps
  working (replies by reference, /cases/<reference>), and a later merge of the survivor carries it on.
- Both case rows are locked in id order first (SELECT ... FOR UPDATE on PostgreSQL; SQLite's write
  transaction already holds the database), so two merges at once neither deadlock nor move twice;
  merging a merged pair again changes nothing and says so.

Closed cases are refused: a closed case may be anonymised at any time by retention
(models/privacy.py), and moving live work into or out of one would hide it from the inbox; a
coordinator reopens it first if it really is the same family's case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Table, and_, delete, exists, func, select, update
from sqlmodel import Session

from models.case_clock import record_event
from models.case_ops import add_timeline, audit
from models.case_status import CLOSED
from models.cases import Case, InboxItem, TimelineEvent
from models.contacts import Party
from models.deadline_marks import deadlines_moved
from models.desk import CaseAttention
from models.mail import InboundMessage
from models.outbox import OutboxMessage
from models.rows import insert_rows, run, table
from models.sessions import CaseEvent, MediationSession
from models.telephony import Call, CallbackTask, SmsMessage
from models.types import utcnow
from models.workdays import LONDON

CASE = table(Case)
PARTY = table(Party)
ATTENTION = table(CaseAttention)
EVENT = table(CaseEvent)

# Rows that simply change case: (what a coordinator calls them, table). Party, CaseAttention and the
# case table's own links need more than an UPDATE and are handled below.
MOVED: tuple[tuple[str, Table], ...] = (
    ("timeline events", table(TimelineEvent)),
    ("emails in", table(InboundMessage)),
    ("emails and SMS out", table(OutboxMessage)),
    ("inbox items", table(InboxItem)),
    ("sessions", table(MediationSession)),
    ("clock events", EVENT),
    ("calls", table(Call)),
    ("SMS in", table(SmsMessage)),
    ("call-back tasks", table(CallbackTask)),
)


# The referral's details kept only in the draft (models/case_actions.EDITABLE_FIELDS with no column).
REFERRAL_FIELDS = ("child_name", "referrer_name", "contact_phone", "school", "ehcp_stage")


class MergeRefused(ValueError):
    """The merge cannot be done, said so a coordinator understands why and what to do instead."""


@dataclass(frozen=True, slots=True)
class CaseSide:
    """One case as the confirmation page shows it."""

    id: int
    reference: str
    family_name: str
    opened: datetime
    clock_start: date
    status: str
    merged_into_id: int | None


@dataclass(frozen=True, slots=True)
class MergePlan:
    survivor: CaseSide
    merged: CaseSide


@dataclass(frozen=True, slots=True)
class MergeResult:
    survivor: str  # reference
    merged: str  # reference
    already: bool  # merged before: nothing changed
    moved: dict[str, int]

    def message(self) -> str:
        if self.already:
            return f"{self.merged} was already merged into {self.survivor}; nothing changed."
        return f"{self.merged} merged into {self.survivor}."


def plan_merge(session: Session, reference_a: str, reference_b: str) -> MergePlan:
    """Which case survives, or why they cannot be merged; reads only (the confirmation page)."""
    a, b = _side(session, reference_a), _side(session, reference_b)
    already = _already(a, b)
    if already is not None:
        return already
    _refuse_unmergeable(session, a, b)
    return _survivor_first(a, b)


def merge_cases(session: Session, reference_a: str, reference_b: str, *, actor: str) -> MergeResult:
    a, b = _side(session, reference_a), _side(session, reference_b)
    if a.id == b.id:
        _refuse_unmergeable(session, a, b)
    for case_id in sorted((a.id, b.id)):  # one at a time in id order: no two merges wait on each other
        run(session, select(CASE.c.id).where(CASE.c.id == case_id).with_for_update())
    a, b = _side(session, a.reference), _side(session, b.reference)  # as they are now, under the lock
    already = _already(a, b)
    if already is not None:
        return MergeResult(already.survivor.reference, already.merged.reference, already=True, moved={})
    _refuse_unmergeable(session, a, b)
    plan = _survivor_first(a, b)
    survivor, merged = plan.survivor, plan.merged
    _keep_survivor_clock(session, survivor, merged, actor)
    moved = {label: _move(session, t, merged.id, survivor.id) for label, t in MOVED}
    moved["people"] = _move_parties(session, merged.id, survivor.id)
    _move_attention(session, merged.id, survivor.id)
    _move_case_links(session, merged.id, survivor.id)
    filled = _fill_referral(session, merged.id, survivor.id)
    now = utcnow()
    run(
        session,
        update(CASE).where(CASE.c.id == merged.id).values(status=CLOSED, merged_into_id=survivor.id, updated_at=now),
    )
    run(session, update(CASE).where(CASE.c.id == survivor.id).values(updated_at=now))
    add_timeline(
        session,
        merged.id,
        "merged",
        f"Merged into {survivor.reference}",
        actor=actor,
        data={"into": survivor.reference, "from_status": merged.status},
    )
    add_timeline(
        session,
        survivor.id,
        "merged",
        f"{merged.reference} ({merged.status.replace('_', ' ')}) merged into this case",
        actor=actor,
        data={"from": merged.reference},
    )
    moved_counts = {k: v for k, v in moved.items() if v}
    audit(
        session,
        actor=actor,
        action="case.merged",
        entity="case",
        entity_id=merged.id,
        into=survivor.reference,
        before=merged.status,
        after=CLOSED,
    )
    audit(
        session,
        actor=actor,
        action="case.merged_in",
        entity="case",
        entity_id=survivor.id,
        merged=merged.reference,
        moved=moved_counts,
        referral_filled=filled,
    )
    refresh_stored_next_deadline(session, (survivor.id, merged.id))
    return MergeResult(survivor.reference, merged.reference, already=False, moved=moved_counts)


def refresh_stored_next_deadline(session: Session, case_ids: tuple[int, ...]) -> None:
    """Both cases' stored deadlines recomputed before the merge commits (models.deadline_store): the
    survivor's move with the clock events and sessions it took (moved with Core, which the ORM's flush
    does not see); the merged case, now closed, keeps none."""
    deadlines_moved(session, *case_ids)


def survivor_of(session: Session, case_id: int) -> int:
    """The case a case's reference now leads to: itself, or the case it was merged into."""
    merged_into = run(session, select(CASE.c.merged_into_id).where(CASE.c.id == case_id)).scalar()
    return merged_into if merged_into is not None else case_id


def _side(session: Session, reference: str) -> CaseSide:
    wanted = reference.strip().upper()
    if not wanted:
        raise MergeRefused("Enter the other case's reference (for example MD-26-ABCD).")
    row = run(
        session,
        select(
            CASE.c.id,
            CASE.c.reference,
            CASE.c.draft,
            CASE.c.created_at,
            CASE.c.status,
            CASE.c.merged_into_id,
        ).where(CASE.c.reference == wanted),
    ).first()
    if row is None:
        raise MergeRefused(f"No case has the reference {wanted}.")
    draft = row.draft or {}
    first_contact = run(
        session, select(func.min(EVENT.c.day)).where(EVENT.c.case_id == row.id, EVENT.c.kind == "contact")
    ).scalar()
    return CaseSide(
        id=row.id,
        reference=row.reference,
        family_name=str(draft.get("child_name") or draft.get("referrer_name") or ""),
        opened=row.created_at,
        clock_start=first_contact or row.created_at.astimezone(LONDON).date(),
        status=row.status,
        merged_into_id=row.merged_into_id,
    )


def _already(a: CaseSide, b: CaseSide) -> MergePlan | None:
    if a.merged_into_id == b.id:
        return MergePlan(survivor=b, merged=a)
    if b.merged_into_id == a.id:
        return MergePlan(survivor=a, merged=b)
    return None


def _refuse_unmergeable(session: Session, a: CaseSide, b: CaseSide) -> None:
    if a.id == b.id:
        raise MergeRefused(f"{a.reference} is this case: enter the other case's reference.")
    for side in (a, b):
        if side.merged_into_id is not None:
            into = run(session, select(CASE.c.reference).where(CASE.c.id == side.merged_into_id)).scalar_one()
            raise MergeRefused(f"{side.reference} was merged into {into}: merge with {into} instead.")
    for side in (a, b):
        if side.status == CLOSED:
            raise MergeRefused(f"{side.reference} is closed: reopen it first if it really is the same family's case.")


def _survivor_first(a: CaseSide, b: CaseSide) -> MergePlan:
    survivor, merged = sorted((a, b), key=lambda s: (s.clock_start, s.id))
    return MergePlan(survivor=survivor, merged=merged)


def _keep_survivor_clock(session: Session, survivor: CaseSide, merged: CaseSide, actor: str) -> None:
    """The merged case's first contact (or request) is later than the survivor's; joining the
    survivor's events it would count instead of the survivor's unwritten one (models/case_clock.py:
    an event overrides the opening day). Written down, the survivor's earlier day counts."""
    has = {
        case_id: set(run(session, select(EVENT.c.kind).where(EVENT.c.case_id == case_id)).scalars())
        for case_id in (survivor.id, merged.id)
    }
    note = f"kept when {merged.reference} was merged into this case"
    if "contact" in has[merged.id] and "contact" not in has[survivor.id]:
        record_event(session, survivor.id, "contact", survivor.clock_start, actor=actor, note=note)
    service = run(session, select(CASE.c.service).where(CASE.c.id == survivor.id)).scalar()
    requested = "mediation_requested"
    if service == "mediation" and requested in has[merged.id] and requested not in has[survivor.id]:
        record_event(session, survivor.id, requested, survivor.clock_start, actor=actor, note=note)


def _move(session: Session, t: Table, merged_id: int, survivor_id: int) -> int:
    return run(session, update(t).where(t.c.case_id == merged_id).values(case_id=survivor_id)).rowcount


def _move_parties(session: Session, merged_id: int, survivor_id: int) -> int:
    """A person already in the survivor in the same role stays one row there; the other's is dropped."""
    same = PARTY.alias("same")
    already = exists().where(
        and_(same.c.case_id == survivor_id, same.c.contact_id == PARTY.c.contact_id, same.c.role == PARTY.c.role)
    )
    moved = run(
        session, update(PARTY).where(PARTY.c.case_id == merged_id, ~already).values(case_id=survivor_id)
    ).rowcount
    run(session, delete(PARTY).where(PARTY.c.case_id == merged_id))
    return moved


def _move_attention(session: Session, merged_id: int, survivor_id: int) -> None:
    """Unseen news on the merged case is unseen news on the survivor: one row, the earliest time."""
    theirs = run(
        session,
        select(ATTENTION.c.reason, ATTENTION.c.since, ATTENTION.c.count).where(ATTENTION.c.case_id == merged_id),
    ).first()
    if theirs is None:
        return
    ours = run(session, select(ATTENTION.c.since).where(ATTENTION.c.case_id == survivor_id)).first()
    run(session, delete(ATTENTION).where(ATTENTION.c.case_id == merged_id))
    if ours is None:
        row = {"case_id": survivor_id, "reason": theirs.reason, "since": theirs.since, "count": theirs.count}
        insert_rows(session, CaseAttention, [row])
        return
    values: dict[str, object] = {"count": ATTENTION.c.count + theirs.count}
    if theirs.since < ours.since:
        values.update(since=theirs.since, reason=theirs.reason)
    run(session, update(ATTENTION).where(ATTENTION.c.case_id == survivor_id).values(**values))


def _fill_referral(session: Session, merged_id: int, survivor_id: int) -> list[str]:
    """Referral details the survivor lacks and the merged case has (its school, the child's name...)
    are copied with their evidence; the survivor's own are never overwritten."""
    drafts = dict(run(session, select(CASE.c.id, CASE.c.draft).where(CASE.c.id.in_((merged_id, survivor_id)))).all())
    ours, theirs = dict(drafts[survivor_id] or {}), drafts[merged_id] or {}
    filled = [name for name in REFERRAL_FIELDS if not ours.get(name) and theirs.get(name)]
    if filled:
        evidence = dict(ours.get("evidence") or {})
        for name in filled:
            ours[name] = theirs[name]
            if name in (theirs.get("evidence") or {}):
                evidence[name] = theirs["evidence"][name]
        ours["evidence"] = evidence
        run(session, update(CASE).where(CASE.c.id == survivor_id).values(draft=ours))
    return filled


def _move_case_links(session: Session, merged_id: int, survivor_id: int) -> None:
    """Cases merged earlier into the merged case now lead to the survivor (one hop, never a chain);
    cases opened as related to it are related to the survivor, which is never related to itself."""
    run(session, update(CASE).where(CASE.c.merged_into_id == merged_id).values(merged_into_id=survivor_id))
    run(
        session,
        update(CASE)
        .where(CASE.c.related_case_id == merged_id, CASE.c.id != survivor_id)
        .values(related_case_id=survivor_id),
    )
    run(
        session,
        update(CASE).where(CASE.c.id == survivor_id, CASE.c.related_case_id == merged_id).values(related_case_id=None),
    )
