"""Voicemail recordings stay with us: the daemon downloads each one through Twilio's API into
VAR_DIR/recordings/ (beside the database and the raw mail, never in the database) and then, unless
MDESK_TWILIO_KEEP_RECORDINGS=true, deletes it at Twilio, so a child's voicemail does not linger at a
third party.

A scheduler job runs `store_due_recordings`. A call's recording is "pending" from the recording callback
until the file is stored; a download that fails is tried again later (the outbox's capped backoff), and
`calls list` shows "pending" meanwhile. A call is claimed by moving its `recording_due_at` forward in a
conditional UPDATE, so two daemons on one PostgreSQL never fetch the same recording together.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from models.db import session_scope
from models.outbox_claims import retry_delay
from models.rows import table
from models.settings import Settings
from models.telephony import REC_PENDING, REC_STORED, Call
from models.types import utcnow
from telephony.twilio_api import download, twilio_client

log = logging.getLogger(__name__)

CALL = table(Call)
CLAIM = timedelta(minutes=5)  # a claim by a daemon that died mid-download runs out after this
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
BATCH = 20

Fetch = Callable[[str, Settings], requests.Response]


@dataclass(slots=True)
class RecordingStats:
    stored: int = 0
    deleted_at_twilio: int = 0
    retried: int = 0


class RecordingStore:
    def __init__(
        self, engine: Engine, settings: Settings, *, client: Client | None = None, fetch: Fetch = download
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.client = client
        self.fetch = fetch

    def _client(self) -> Client:
        if self.client is None:
            self.client = twilio_client(self.settings)
        return self.client

    def run(self, now: datetime | None = None) -> RecordingStats:
        """Store every recording that is due, and delete at Twilio what is stored and still there."""
        now = now or utcnow()
        stats = RecordingStats()
        for call in self._claim(now):
            if call["recording_state"] == REC_PENDING:
                if not self._store(call, now):
                    stats.retried += 1
                    continue
                stats.stored += 1
            if not self.settings.twilio_keep_recordings and self._delete_at_twilio(call, now):
                stats.deleted_at_twilio += 1
        return stats

    def _claim(self, now: datetime) -> list[dict[str, Any]]:
        due = or_(CALL.c.recording_due_at.is_(None), CALL.c.recording_due_at <= now)
        waiting = or_(
            CALL.c.recording_state == REC_PENDING,
            # Stored here, not yet deleted there (the deletion failed, or keeping was switched off).
            and_(CALL.c.recording_state == REC_STORED, CALL.c.recording_url.is_not(None)),
        )
        if self.settings.twilio_keep_recordings:
            waiting = CALL.c.recording_state == REC_PENDING
        with session_scope(self.engine) as session:
            rows = session.execute(select(CALL).where(waiting, due).order_by(CALL.c.id).limit(BATCH)).all()
        claimed = []
        for row in rows:
            call = dict(row._mapping)
            with session_scope(self.engine) as session:
                won = session.execute(
                    update(CALL)
                    .where(CALL.c.id == call["id"], _same(CALL.c.recording_due_at, call["recording_due_at"]))
                    .values(recording_due_at=now + CLAIM)
                ).rowcount  # type: ignore[attr-defined]
            if won == 1:
                claimed.append(call)
        return claimed

    def _store(self, call: dict[str, Any], now: datetime) -> bool:
        url = call["recording_url"]
        if not url:
            return self._retry(call, now, "no recording address yet")
        try:
            response = self.fetch(url + ".mp3", self.settings)
        except (requests.RequestException, ValueError) as exc:
            return self._retry(call, now, f"download failed: {type(exc).__name__}")
        if response.status_code != 200 or not response.content:
            return self._retry(call, now, f"download failed: HTTP {response.status_code}")
        relative = Path("recordings") / f"{now:%Y}" / f"{now:%m}" / f"{call['recording_sid']}.mp3"
        _write_private(self.settings.var_dir / relative, response.content)
        with session_scope(self.engine) as session:
            session.execute(
                update(CALL)
                .where(CALL.c.id == call["id"])
                .values(
                    recording_state=REC_STORED,
                    recording_path=str(relative),
                    recording_error=None,
                    recording_due_at=now,
                    updated_at=now,
                )
            )
        call["recording_state"] = REC_STORED
        log.info("call %s: recording stored (%d bytes)", call["id"], len(response.content))
        return True

    def _delete_at_twilio(self, call: dict[str, Any], now: datetime) -> bool:
        try:
            self._client().api.v2010.account.recordings(call["recording_sid"]).delete()
        except TwilioRestException as exc:
            if exc.status != 404:  # 404: gone already, which is what we wanted
                self._note_error(call, now, f"deleting at Twilio failed: HTTP {exc.status}")
                return False
        except requests.RequestException as exc:
            self._note_error(call, now, f"deleting at Twilio failed: {type(exc).__name__}")
            return False
        with session_scope(self.engine) as session:
            session.execute(
                update(CALL)
                .where(CALL.c.id == call["id"])
                .values(recording_url=None, recording_error=None, updated_at=now)
            )
        return True

    def _retry(self, call: dict[str, Any], now: datetime, why: str) -> bool:
        self._note_error(call, now, why)
        return False

    def _note_error(self, call: dict[str, Any], now: datetime, why: str) -> None:
        attempts = call["recording_attempts"] + 1
        due = now + retry_delay(attempts, base=RETRY_BASE, cap=RETRY_CAP)
        log.warning("call %s: recording %s; attempt %d, next at %s", call["id"], why, attempts, due.isoformat())
        with session_scope(self.engine) as session:
            session.execute(
                update(CALL)
                .where(CALL.c.id == call["id"])
                .values(recording_attempts=attempts, recording_due_at=due, recording_error=why, updated_at=now)
            )


def _same(column: Any, value: datetime | None) -> Any:
    return column.is_(None) if value is None else column == value


def _write_private(path: Path, data: bytes) -> None:
    """Whole files only, readable by us alone (a voicemail is personal data)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)
