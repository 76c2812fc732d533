"""The inbox's search on PostgreSQL: which cases a coordinator's words find, from `case_search`.

`case_search` (migration 0012_case_search, PostgreSQL only) holds one lower-case text a case: its
reference, LA, the child's name as extracted, the referrer's email, and its parties' names, email
addresses and phone numbers (E.164). Triggers keep it as those rows change, whoever writes them. With
the pg_trgm extension it has a trigram index, so "contains these words" is an index scan: the cases a
search finds are read once (hashed), and each work row's case is looked up in them. Without the
extension the same query reads the table's short texts, still far fewer bytes than the cases' drafts.

Measured at 100,000 cases (bench/inbox.py's seed, a surname shared by one case in twelve): the inbox's
search query 46 ms reading each new case's draft and parties, 10 ms from `case_search`.

SQLite keeps searching the work rows' own columns (models/work_queue.py): its few thousand rows are
fast enough there, and it has no trigger language to keep such a table by.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, Text, or_, select

# Not on SQLModel's metadata: the table exists on PostgreSQL only, made by its migration.
CASE_SEARCH = Table(
    "case_search",
    MetaData(),
    Column("case_id", Integer, primary_key=True),
    Column("doc", Text, nullable=False),
)


def _pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching_cases(text: str, *also: str) -> Any:
    """The cases whose text contains `text` (or any of `also`: the same words normalised, such as a
    phone number in E.164): a subquery each work source tests its case ids against. Not a CTE read by
    all of them: PostgreSQL cannot see a CTE's statistics and probed the cases one by one (measured)."""
    words = [w for w in dict.fromkeys([text, *also]) if w]
    return select(CASE_SEARCH.c.case_id).where(or_(*[CASE_SEARCH.c.doc.like(_pattern(w), escape="\\") for w in words]))
