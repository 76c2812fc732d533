"""A stored message's raw bytes: written once beside its row (InboundRaw), read back by one accessor.

Whatever needs a message as it came (a case page's message bodies and attachment downloads, a
quarantine retry, a coordinator opening a case from filtered mail, a subject access request) reads
it with `load_raw`; intake writes it with `write_raw`, in the message's savepoint; anonymising a
case deletes it (`delete_raw`). Lists and intake's decisions touch only the message's row, never
the bytes.

Memory (issue 8.5): the caller's bytes stay the only copy. On SQLite an INSERT that binds the bytes
holds two more while it runs (the bound parameter, which the driver keeps with its cached statement
until it is used again, and the record SQLite builds from it), so a large message is inserted as
zeroblob(n) (the table's last column: SQLite stores that as a length, it builds no zeros) and its
bytes are copied in a megabyte at a time through SQLite's incremental blob I/O, from the caller's
bytes in place. A smaller message, and any message on PostgreSQL, is one row of an INSERT
(in intake, one executemany for the batch).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection

from sqlalchemy import bindparam, delete, func, insert, select
from sqlmodel import Session

from models.mail import InboundRaw
from models.rows import insert_later, run, table

RAW = table(InboundRaw)
BLOB_BYTES = 1024 * 1024  # SQLite: a message this large or larger is written through blob I/O, this much at a time

_INSERT_SIZED = insert(RAW).values(raw=func.zeroblob(bindparam("n")))
_RAW_OF = select(RAW.c.raw).where(RAW.c.inbound_id == bindparam("inbound_id"))
_DELETE = delete(RAW).where(RAW.c.inbound_id.in_(bindparam("ids", expanding=True)))


def write_raw(session: Session, inbound_id: int, raw: bytes) -> None:
    """The message's bytes, stored for its row `inbound_id`, in the session's transaction."""
    connection = session.connection()
    if len(raw) < BLOB_BYTES or connection.dialect.name != "sqlite":
        # Nothing in intake's transaction reads it, and the database cannot refuse bytes for their
        # content: written with the rest of the batch's (models/rows.py).
        insert_later(session, InboundRaw, {"inbound_id": inbound_id, "raw": raw}, until_commit=True)
        return
    run(session, _INSERT_SIZED, {"inbound_id": inbound_id, "n": len(raw)})
    dbapi = connection.connection.driver_connection
    assert isinstance(dbapi, sqlite3.Connection)
    view = memoryview(raw)
    with dbapi.blobopen(RAW.name, "raw", inbound_id) as blob:  # the row's rowid is its inbound_id
        for start in range(0, len(raw), BLOB_BYTES):
            blob.write(view[start : start + BLOB_BYTES])


def load_raw(session: Session, inbound_id: int) -> bytes | None:
    """The message's bytes as they came; None if it has none (removed when its case was anonymised)."""
    raw = run(session, _RAW_OF, {"inbound_id": inbound_id}).scalar()
    return None if raw is None else bytes(raw)  # PostgreSQL's driver gives a memoryview


def delete_raw(session: Session, inbound_ids: Collection[int]) -> None:
    """The bytes of these messages, deleted (their rows stay, for the counts)."""
    if inbound_ids:
        run(session, _DELETE, {"ids": list(inbound_ids)})
