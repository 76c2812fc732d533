"""Quarantine: a message intake could not take is kept, raw, with the reason, for a coordinator.

The sender's problem (no sender address, say: Unprocessable), a message nobody could read (too slow,
its reading process died: Unread) and a bug of ours (reading or a step raised: the traceback is the
entry's detail) all end here, in the batch's transaction, and intake goes on with the next message.
`retry_quarantined` runs an entry's message through intake again once the cause is fixed.
"""

from __future__ import annotations

import logging
import traceback

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from inbox import too_large
from inbox.intake import store
from inbox.intake.steps import Unprocessable, run_steps
from inbox.message import ParsedMessage
from inbox.reading import Unread
from inbox.sources.base import MessageKey, SourceMessage
from models.db import session_scope
from models.mail import InboundMessage, QuarantineEntry
from models.raw_mail import load_raw
from models.rows import insert_rows, run, savepoint, table, written_later
from models.settings import Settings
from models.types import utcnow

log = logging.getLogger("mdesk.inbox.intake")

QUARANTINE = table(QuarantineEntry)
_QUARANTINED = select(QUARANTINE.c.id).where(QUARANTINE.c.inbound_message_id == bindparam("inbound_id"))

ADVICE = "a coordinator or engineer should look"
UNREAD_ADVICE = f"stored unread; {ADVICE}"  # after why no worker read it


def unread_reason(unread: Unread) -> str:
    """The entry's reason for a message reading did not finish: a bug of ours, or why it stopped."""
    return f"{unread.reason}: {ADVICE if unread.detail else UNREAD_ADVICE}"


def mark_quarantined(session: Session, inbound_id: int, parsed: ParsedMessage, reason: str, detail: str) -> None:
    """The stored message quarantined with the reason (and the traceback, for a bug), once."""
    quarantined = {"status": "quarantined", "reasons": [*parsed.problems[:10], reason]}
    run(session, store.SAVE_INBOUND, {"inbound_id": inbound_id, **quarantined})
    if run(session, _QUARANTINED, {"inbound_id": inbound_id}).first() is None:
        insert_rows(session, QuarantineEntry, [{"inbound_message_id": inbound_id, "reason": reason, "detail": detail}])


def quarantine_failed(session: Session, key: MessageKey, parsed: ParsedMessage, exc: Exception) -> bool:
    """Keep the raw message of a step that raised, with the reason, in the batch's transaction (the
    message's own savepoint has been rolled back); False if even that fails."""
    reason = f"could not be processed ({type(exc).__name__}): {ADVICE}"
    detail = traceback.format_exc()
    # The exception's text may quote the message: the type at ERROR, the traceback at DEBUG
    # (and on the quarantine entry, behind login).
    log.error("intake failed on a message (%s); quarantined", type(exc).__name__)
    log.debug("intake traceback", exc_info=True)
    for keep in (store.store_message, store.store_bare):
        try:
            with savepoint(session), written_later(session):
                inbound, _fresh = keep(session, key, parsed)
                mark_quarantined(session, inbound.id, parsed, reason, detail)
            return True
        except OperationalError:
            raise
        except Exception as error:  # a boundary: the next try keeps the bytes and keys alone
            # Even its decoded headers were refused (logged, and said on the entry's reason).
            log.error("could not store a message for quarantine (%s)", type(error).__name__)
            log.debug("quarantine traceback", exc_info=True)
            reason = f"{reason}; its headers could not be stored"
    return False


def retry_quarantined(engine: Engine, settings: Settings, entry_id: int) -> str:
    """Run a quarantined message through intake again, read as intake reads it; on success the entry
    is resolved."""
    from inbox.intake.batches import Committed, Intake, count  # that module quarantines with this one

    with session_scope(engine) as session:
        entry = session.get(QuarantineEntry, entry_id)
        if entry is None:
            return f"no quarantine entry {entry_id}"
        if entry.resolved_at is not None:
            return f"quarantine entry {entry_id} was already resolved"
        stored = session.get(InboundMessage, entry.inbound_message_id)
        assert stored is not None
        raw = load_raw(session, entry.inbound_message_id)
        received_at, stored_content = stored.received_at, stored.content_key
        if raw is None:
            return f"quarantine entry {entry_id}: its message was removed (its case was anonymised)"
        key = MessageKey(stored.mailbox, stored.uidvalidity, stored.uid)
    intake = Intake(engine, settings)
    try:
        [reading] = list(intake.readers.read_all([SourceMessage(key, raw, received_at)]))
        if isinstance(reading, Unread):
            return _still_quarantined(engine, entry_id, unread_reason(reading), reading.detail)
        if reading.too_large:
            return f"still quarantined: {too_large.reason(len(raw), settings)}"  # never parsed: nothing changes
        with session_scope(engine) as session:
            entry = session.get(QuarantineEntry, entry_id)
            assert entry is not None
            # An earlier copy taken meanwhile (this one, quarantined, is not "processed").
            known = store.known(session, key, reading.parsed)
            if stored_content != known.content:  # stored unread: now it is read
                store.complete_unread(session, entry.inbound_message_id, reading.parsed)
            inbound = store.Inbound(
                entry.inbound_message_id,
                reading.parsed.message_id,
                copy_of=known.copy_of,
                id_reused=known.id_reused,
            )
            run_steps(session, settings, inbound, reading, received_at=received_at)
            entry.resolved_at = utcnow()
            entry.attempts += 1
    except Unprocessable as exc:
        return _still_quarantined(engine, entry_id, str(exc), "")
    except OperationalError:
        raise
    except Exception as exc:  # a boundary: the bug stays visible on the entry, with its traceback
        log.error("retrying a quarantined message failed (%s)", type(exc).__name__)
        log.debug("retry traceback", exc_info=True)
        return _still_quarantined(engine, entry_id, f"still failing ({type(exc).__name__})", traceback.format_exc())
    finally:
        intake.close()
    count(Committed(inbound.outcome or "unknown", reading.parsed, tuple(inbound.rules), tuple(inbound.faults)))
    return f"processed: {inbound.outcome} ({'; '.join(inbound.reasons[-2:])})"


def _still_quarantined(engine: Engine, entry_id: int, reason: str, detail: str) -> str:
    with session_scope(engine) as session:
        entry = session.get(QuarantineEntry, entry_id)
        assert entry is not None
        entry.attempts += 1
        entry.reason = reason
        entry.detail = detail
    return f"still quarantined: {reason}"
