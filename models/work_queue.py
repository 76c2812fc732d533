"""The coordinators' inbox: one list of what needs a human, most urgent first.

Each source is one SELECT giving the same columns (kind, rank, at, case, inbox item, message, summary);
the list is their UNION ALL, joined to its case for the filters, sorted by rank then by how long it has
waited. A channel that makes new work (calls, SMS, deadlines) adds a source here or writes an
`InboxItem` / a `CaseAttention`; the page needs no change.

| kind | what | rank |
|---|---|---|
| callback | an InboxItem: a missed call or voicemail to return | 1 |
| reply, call, sms | a CaseAttention: news on a case nobody has looked at | 2 |
| new_case | a case still in status "new" | 3 |
| triage, unknown_caller | an InboxItem: mail or a caller no case owns yet | 4 |
| fault | an InboxItem: our software could not check a message in full | 5 |
| quarantine | a message that could not be processed | 6 |
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any

import phonenumbers
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlmodel import Session

from models.case_status import NEW
from models.cases import Case, InboxItem
from models.contacts import Contact, ContactPoint, Party
from models.desk import CaseAttention
from models.la_directory import load_directory
from models.mail import InboundMessage, QuarantineEntry
from models.rows import run, table
from models.search_index import matching_cases
from models.types import utcnow
from models.workdays import LONDON, WorkingDayCalendar, local_date

CASE = table(Case)
ITEM = table(InboxItem)
ATTENTION = table(CaseAttention)
QUARANTINE = table(QuarantineEntry)
INBOUND = table(InboundMessage)
CONTACT = table(Contact)
POINT = table(ContactPoint)
PARTY = table(Party)

PAGE_SIZE = 50
# The acknowledgement promises a coordinator's contact within 2 working days: waiting longer is overdue.
OVERDUE_WORKING_DAYS = 2
_ITEM_RANK = {"callback": 1, "triage": 4, "unknown_caller": 4, "fault": 5}
KIND_LABELS = {
    "callback": "Call back",
    "reply": "New reply",
    "call": "Call on a case",
    "sms": "SMS on a case",
    "new_case": "New case",
    "triage": "Unplaced",
    "unknown_caller": "Unknown caller",
    "fault": "Check",
    "quarantine": "Quarantined mail",
}


@dataclass(frozen=True, slots=True)
class WorkFilters:
    office: str | None = None  # london | national: the case's region, or the item's office
    status: str | None = None  # the case's status
    service: str | None = None
    local_authority: str | None = None
    mine: bool = False
    overdue: bool = False
    q: str = ""
    page: int = 1

    @property
    def narrowing(self) -> bool:
        """Whether any filter or a search applies (not only a page number)."""
        return bool(
            self.office
            or self.status
            or self.service
            or self.local_authority
            or self.mine
            or self.overdue
            or self.q.strip()
        )

    def as_query(self, **changes: Any) -> dict[str, str]:
        """The filters as URL query parameters (empty ones left out), with `changes` applied."""
        values = {
            "office": self.office,
            "status": self.status,
            "service": self.service,
            "la": self.local_authority,
            "mine": "1" if self.mine else None,
            "overdue": "1" if self.overdue else None,
            "q": self.q or None,
            "page": str(self.page) if self.page > 1 else None,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True, slots=True)
class WorkItem:
    kind: str
    at: datetime
    summary: str
    case_id: int | None
    item_id: int | None
    inbound_id: int | None
    reference: str | None
    case_status: str | None
    service: str | None
    local_authority: str | None
    region: str | None
    coordinator_id: int | None
    child_name: str | None
    sender: str | None
    subject: str | None
    overdue: bool

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind.replace("_", " ").capitalize())


@dataclass(slots=True)
class WorkPage:
    items: list[WorkItem]
    total: int
    page: int
    pages: int
    filters: WorkFilters
    newest: str = field(default="")  # changes whenever the list does: the page's poll compares it


@cache
def _calendar() -> WorkingDayCalendar:
    return WorkingDayCalendar()  # building one loads the bank holidays: ~2 ms, once


def overdue_before(now: datetime, calendar: WorkingDayCalendar | None = None) -> datetime:
    """Work that arrived before this instant has waited more than OVERDUE_WORKING_DAYS working days."""
    calendar = calendar or _calendar()
    day = calendar.subtract_working_days(local_date(now), OVERDUE_WORKING_DAYS)
    return datetime.combine(day, time.min, tzinfo=LONDON).astimezone(UTC)


def _contains(column: Any, text: str, dialect: str) -> Any:
    """Case-insensitive substring match. SQLite's LIKE already ignores ASCII case, and lower() on both
    sides costs a third of a search at 100,000 cases (bench/inbox.py); PostgreSQL has ILIKE."""
    pattern = f"%{text}%"
    return column.ilike(pattern) if dialect == "postgresql" else column.like(pattern)


def _search(q: str, work_case_id: Any, dialect: str) -> Any:
    """A work row's case matches the search (SQLite; PostgreSQL reads models/search_index.py's table):
    its reference, its LA, the child's name (as extracted), or a party's name, email address or phone
    number. Tested per row
    of the work list (thousands at most, each by index), never by scanning every case or contact;
    the cheap tests first (an OR stops at the first that holds)."""
    text = q.strip()
    matches = [
        CASE.c.reference.like(f"{text.upper()}%"),
        _contains(CASE.c.local_authority, text, dialect),
        # The child's name as extracted (the referrer's is a party's). PostgreSQL reads the field alone
        # (half the time of the referral's whole text there); SQLite's json_extract costs more than
        # its LIKE over the whole text, so there it matches any extracted field (bench/inbox.py).
        _contains(CASE.c.draft["child_name"].as_string(), text, dialect)
        if dialect == "postgresql"
        else _contains(cast(CASE.c.draft, String), text, dialect),
        # A scalar subquery with LIMIT, not EXISTS: PostgreSQL would turn an EXISTS in an OR into one
        # hashed plan that scans every contact with ILIKE (measured 113 ms at 100,000); this stays a
        # look-up by the case's parties, per row.
        select(PARTY.c.id)
        .join(CONTACT, CONTACT.c.id == PARTY.c.contact_id)
        .where(PARTY.c.case_id == work_case_id, _contains(CONTACT.c.name, text, dialect))
        .limit(1)
        .scalar_subquery()
        .is_not(None),
    ]
    points = [text.lower()] if "@" in text else []
    phone = _e164(q)
    if phone:
        points.append(phone)
    if points:
        matches.insert(0, CASE.c.referrer_email.in_(points))
        matches.append(
            select(PARTY.c.id)
            .join(POINT, POINT.c.contact_id == PARTY.c.contact_id)
            .where(PARTY.c.case_id == work_case_id, POINT.c.value.in_(points))
            .exists()
        )
    return or_(*matches)


def _e164(text: str) -> str | None:
    digits = sum(ch.isdigit() for ch in text)
    if digits < 7:
        return None
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _case_conditions(filters: WorkFilters, staff_id: int | None, *, office_of_item: Any = None) -> list[Any]:
    """The filters and the search, on the case a source row belongs to (joined in that source)."""
    conditions: list[Any] = []
    if filters.office:
        region = CASE.c.region if office_of_item is None else func.coalesce(CASE.c.region, office_of_item)
        conditions.append(region == filters.office)
    if filters.status:
        conditions.append(CASE.c.status == filters.status)
    if filters.service:
        conditions.append(CASE.c.service == filters.service)
    if filters.local_authority:
        conditions.append(CASE.c.local_authority == filters.local_authority)
    if filters.mine:
        conditions.append(CASE.c.coordinator_id == (staff_id or -1))
    return conditions


def _filtered(filters: WorkFilters, staff_id: int | None, now: datetime, dialect: str) -> Select:
    """The work rows these filters keep: each source filtered where it reads its rows (a UNION's
    outer WHERE is not pushed into its parts), only the union's own columns (the page's rows get their
    details afterwards)."""
    text = filters.q.strip()
    cutoff = overdue_before(now) if filters.overdue else None
    by_case = filters.status or filters.service or filters.local_authority or filters.mine

    def waited(column: Any) -> list[Any]:
        return [column < cutoff] if cutoff is not None else []

    def message_search(inbound_id: Any) -> Any:
        return (
            select(INBOUND.c.id)
            .where(
                INBOUND.c.id == inbound_id,
                or_(_contains(INBOUND.c.sender_email, text, dialect), _contains(INBOUND.c.subject, text, dialect)),
            )
            .exists()
        )

    if dialect == "postgresql" and text:  # one indexed look-up of the cases it finds (models/search_index.py)
        phone = _e164(text)
        hits = matching_cases(text, *([phone] if phone else []))

        def search(work_case_id: Any) -> Any:
            return work_case_id.in_(hits)
    else:

        def search(work_case_id: Any) -> Any:
            return _search(text, work_case_id, dialect)

    case_conditions = _case_conditions(filters, staff_id)
    case_search = [search(CASE.c.id)] if text else []
    new_cases = select(
        literal("new_case").label("kind"),
        literal(3).label("rank"),
        CASE.c.created_at.label("at"),
        CASE.c.id.label("case_id"),
        cast(null(), Integer).label("item_id"),
        cast(null(), Integer).label("inbound_id"),
        literal("").label("summary"),
    ).where(CASE.c.status == NEW, *case_conditions, *case_search, *waited(CASE.c.created_at))
    attention = (
        select(
            ATTENTION.c.reason,
            literal(2),
            ATTENTION.c.since,
            ATTENTION.c.case_id,
            cast(null(), Integer),
            cast(null(), Integer),
            cast(ATTENTION.c.count, String),
        )
        .join(CASE, CASE.c.id == ATTENTION.c.case_id)
        .where(*case_conditions, *case_search, *waited(ATTENTION.c.since))
    )
    item_rank = case(*[(ITEM.c.kind == kind, rank) for kind, rank in _ITEM_RANK.items()], else_=4)
    item_search = (
        [
            or_(
                and_(ITEM.c.case_id.is_not(None), search(ITEM.c.case_id)),
                and_(ITEM.c.case_id.is_(None), message_search(ITEM.c.inbound_message_id)),
            )
        ]
        if text
        else []
    )
    items = (
        select(
            ITEM.c.kind,
            item_rank,
            ITEM.c.created_at,
            ITEM.c.case_id,
            ITEM.c.id,
            ITEM.c.inbound_message_id,
            ITEM.c.summary,
        )
        .join(CASE, CASE.c.id == ITEM.c.case_id, isouter=True)
        .where(
            ITEM.c.status == "open",
            *_case_conditions(filters, staff_id, office_of_item=ITEM.c.office),
            *item_search,
            *waited(ITEM.c.created_at),
        )
    )
    parts = [new_cases, attention, items]
    if not (by_case or filters.office):  # quarantined mail has no case, no office: any case filter drops it
        quarantine = select(
            literal("quarantine"),
            literal(6),
            QUARANTINE.c.created_at,
            cast(null(), Integer),
            QUARANTINE.c.id,
            QUARANTINE.c.inbound_message_id,
            QUARANTINE.c.reason,
        ).where(
            QUARANTINE.c.resolved_at.is_(None),
            *([message_search(QUARANTINE.c.inbound_message_id)] if text else []),
            *waited(QUARANTINE.c.created_at),
        )
        parts.append(quarantine)
    work = union_all(*parts).subquery("work")
    return select(work)


_CASE_DETAILS = select(
    CASE.c.id,
    CASE.c.reference,
    CASE.c.status.label("case_status"),
    CASE.c.service,
    CASE.c.local_authority,
    CASE.c.region,
    CASE.c.coordinator_id,
    CASE.c.draft["child_name"].as_string().label("child_name"),
)
_MESSAGE_DETAILS = select(INBOUND.c.id, INBOUND.c.sender_email, INBOUND.c.subject)
_NO_CASE = dict.fromkeys(
    ("reference", "case_status", "service", "local_authority", "region", "coordinator_id", "child_name")
)


def work_page(session: Session, filters: WorkFilters, *, staff_id: int | None, now: datetime | None = None) -> WorkPage:
    """One page of the inbox under these filters, and how many items they match in all.

    The list is what needs a person (thousands of rows at most, never every case). Unfiltered, the
    database counts it and reads the page's rows only. Filtered or searched, its keys are read in one
    pass and counted and cut into a page here: two queries would run the filters, and a search's
    per-row tests, twice (bench/inbox.py measured both ways: each wins where it is used)."""
    now = now or utcnow()
    query = _filtered(filters, staff_id, now, session.get_bind().dialect.name).subquery("listed")
    columns = (query.c.kind, query.c.at, query.c.case_id, query.c.item_id, query.c.inbound_id, query.c.summary)
    order = (query.c.rank, query.c.at, query.c.case_id, query.c.item_id)
    if filters.narrowing:
        keys = run(session, select(*columns).order_by(*order)).all()
        total = len(keys)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, filters.page), pages)
        chosen = keys[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    else:  # the whole list: counted by the database, and only the page's rows read
        total = run(session, select(func.count()).select_from(query)).scalar_one()
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, filters.page), pages)
        chosen = run(session, select(*columns).order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    rows = [dict(r._mapping) for r in chosen]
    newest = hashlib.sha256(repr((total, [tuple(r) for r in chosen])).encode()).hexdigest()[:16]
    case_ids = {r["case_id"] for r in rows if r["case_id"] is not None}
    message_ids = {r["inbound_id"] for r in rows if r["inbound_id"] is not None}
    cases = (
        {r.id: dict(r._mapping) for r in run(session, _CASE_DETAILS.where(CASE.c.id.in_(case_ids)))} if case_ids else {}
    )
    messages = (
        {r.id: dict(r._mapping) for r in run(session, _MESSAGE_DETAILS.where(INBOUND.c.id.in_(message_ids)))}
        if message_ids
        else {}
    )
    cutoff = overdue_before(now)
    items = []
    for row in rows:
        details = cases.get(row["case_id"], _NO_CASE)
        message = messages.get(row["inbound_id"], {})
        merged = {**row, **{k: details.get(k) for k in _NO_CASE}}
        merged["sender_email"] = message.get("sender_email")
        merged["subject"] = message.get("subject")
        items.append(_item(merged, cutoff))
    return WorkPage(items, total, page, pages, filters, newest=newest)


def _item(m: Any, cutoff: datetime) -> WorkItem:
    at = m["at"]
    if isinstance(at, str):  # a UNION's column has no type on SQLite: read back as text
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    summary = m["summary"] or ""
    if m["kind"] in ("reply", "call", "sms"):
        summary = f"{summary} unseen" if summary not in ("", "1") else ""
    return WorkItem(
        kind=m["kind"],
        at=at,
        summary=summary,
        case_id=m["case_id"],
        item_id=m["item_id"],
        inbound_id=m["inbound_id"],
        reference=m["reference"],
        case_status=m["case_status"],
        service=m["service"],
        local_authority=m["local_authority"],
        region=m["region"],
        coordinator_id=m["coordinator_id"],
        child_name=m["child_name"],
        sender=m["sender_email"],
        subject=m["subject"],
        overdue=at < cutoff,
    )


def local_authority_choices() -> list[str]:
    """The LAs the service covers, for the filter's choices (the directory's names, as cases store them)."""
    return sorted(la.name for la in load_directory().served)


def since_text(at: datetime, now: datetime | None = None) -> str:
    """How long ago, as a coordinator reads it at a glance."""
    delta = (now or utcnow()) - at
    if delta < timedelta(minutes=1):
        return "just now"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)} min ago"
    if delta < timedelta(days=1):
        return f"{int(delta.total_seconds() // 3600)} h ago"
    return f"{delta.days} d ago"
