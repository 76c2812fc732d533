"""Recordings stay with us: downloaded through Twilio's API into VAR_DIR/recordings and deleted at Twilio
(unless kept), retried while the download fails, "pending" meanwhile."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from models.telephony import Call
from telephony.recordings import RecordingStore
from tests.twilio_api_server import fake_twilio
from tests.twilio_webhooks import running_app, twilio_settings

OPEN = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
SID, REC = "CA" + "1" * 32, "RE" + "1" * 32
AUDIO = b"ID3\x04\x00" + bytes(range(256)) * 40  # an MP3's header and some frames' worth of bytes


def _voicemail(engine, settings) -> None:
    with running_app(engine, settings, at=OPEN) as twilio:
        twilio.call(SID, "+447700900123")
        twilio.dial_action(SID, "no-answer")
        twilio.recording(SID, REC, 42)
        twilio.status(SID, "+447700900123", duration=60)


def _call(engine) -> Call:
    with Session(engine) as session:
        return session.exec(select(Call)).one()


def test_a_voicemail_is_stored_beside_the_raw_mail_and_deleted_at_twilio(engine, tmp_path):
    with fake_twilio() as api:
        api.recordings[REC] = AUDIO
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        _voicemail(engine, settings)
        assert _call(engine).recording_state == "pending"
        stats = RecordingStore(engine, settings).run()
        assert (stats.stored, stats.deleted_at_twilio) == (1, 1)
        assert RecordingStore(engine, settings).run().stored == 0  # nothing left to do
    call = _call(engine)
    assert (call.recording_state, call.recording_url, call.recording_error) == ("stored", None, None)
    stored = settings.var_dir / call.recording_path
    assert stored.read_bytes() == AUDIO and stored.is_relative_to(settings.var_dir / "recordings")
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert api.deleted == [REC] and REC not in api.recordings
    assert [(r.method, r.path.rsplit("/", 1)[1]) for r in api.requests] == [
        ("GET", f"{REC}.mp3"),
        ("DELETE", f"{REC}.json"),
    ]


def test_with_keep_recordings_the_copy_at_twilio_stays(engine, tmp_path):
    with fake_twilio() as api:
        api.recordings[REC] = AUDIO
        settings = twilio_settings(tmp_path, twilio_api_url=api.base, twilio_keep_recordings=True)
        _voicemail(engine, settings)
        assert RecordingStore(engine, settings).run().stored == 1
    assert _call(engine).recording_state == "stored" and api.deleted == [] and REC in api.recordings


def test_a_failed_download_stays_pending_and_is_retried_later(engine, tmp_path):
    with fake_twilio() as api:
        api.recordings[REC] = AUDIO
        api.recording_failures = [500, 404]
        settings = twilio_settings(tmp_path, twilio_api_url=api.base)
        _voicemail(engine, settings)
        store = RecordingStore(engine, settings)
        now = datetime.now(UTC)
        assert store.run(now).retried == 1
        call = _call(engine)
        assert (call.recording_state, call.recording_attempts, call.recording_error) == (
            "pending",
            1,
            "download failed: HTTP 500",
        )
        assert call.recording_due_at > now
        assert store.run(now).retried == 0  # not before its backoff
        assert store.run(now + timedelta(hours=2)).retried == 1  # 404: Twilio not ready yet
        assert store.run(now + timedelta(hours=4)).stored == 1
    assert _call(engine).recording_state == "stored"
