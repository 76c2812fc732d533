"""Telephony in the daemon as an operator runs it (`python main.py run`): webhooks on its web port, the
voicemail read for referral fields and its recording fetched and deleted at Twilio by the scheduler, a
HELP answered through the outbox; without Twilio credentials, the development token it prints."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.cli import run_main
from tests.test_daemon import DaemonProcess
from tests.twilio_api_server import fake_twilio
from tests.twilio_webhooks import ACCOUNT, PUBLIC, TOKEN, Twilio
from tests.webserver import free_port

SID, REC = "CA" + "5" * 32, "RE" + "5" * 32
CALLER = "+447700900444"
TRANSCRIPT = (
    "hi my name is dana im calling about my daughter rosie we live in wolver hampton and the council "
    "refused to assess her we want mediation please call me on oh seven seven double oh nine double oh four four four"
)


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDESK_")}
    env.update(MDESK_VAR_DIR=str(tmp_path / "var"), MDESK_HTTP_PORT=str(free_port()), **settings)
    return env


def _wait(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _started(daemon: DaemonProcess, port: str) -> Twilio:
    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    _wait(up, "the web app")
    return Twilio(f"http://127.0.0.1:{port}")


def _calls(env: dict[str, str]) -> list[dict]:
    settings = {k: v for k, v in env.items() if k.startswith("MDESK_")}
    result = run_main("calls", "list", "--json", settings=settings)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _item_summary(tmp_path: Path) -> str:
    """The unknown caller's triage item, read straight from the daemon's SQLite file."""
    path = tmp_path / "var" / "mdesk.sqlite3"
    if not path.exists():
        return ""
    with closing(sqlite3.connect(path)) as connection:
        row = connection.execute("SELECT summary FROM inboxitem WHERE kind = 'unknown_caller'").fetchone()
    return row[0] if row else ""


@pytest.mark.slow
def test_a_voicemail_is_read_stored_and_deleted_at_twilio_by_the_running_daemon(tmp_path):
    with fake_twilio() as api:
        api.recordings[REC] = b"ID3" + b"\x00" * 2000
        env = _env(
            tmp_path,
            MDESK_PUBLIC_BASE_URL=PUBLIC,
            MDESK_TWILIO_ACCOUNT_SID=ACCOUNT,
            MDESK_TWILIO_AUTH_TOKEN=TOKEN,
            MDESK_TWILIO_API_URL=api.base,
        )
        daemon = DaemonProcess(env, tmp_path / "daemon.log").start()
        try:
            twilio = _started(daemon, env["MDESK_HTTP_PORT"])
            twilio.call(SID, CALLER)
            twilio.dial_action(SID, "no-answer")
            twilio.recording(SID, REC, 25)
            twilio.status(SID, CALLER, duration=40)
            twilio.transcription(SID, REC, TRANSCRIPT)
            twilio.sms("SM" + "5" * 32, CALLER, "HELP")
            _wait(lambda: api.deleted == [REC], "the recording deleted at Twilio")
            _wait(lambda: len(api.sent) == 1, "the answer to HELP sent through Twilio")
            _wait(lambda: "Read from it" in _item_summary(tmp_path), "the voicemail read")
        finally:
            assert daemon.signal(15) == 0
    [call] = _calls(env)
    assert (call["sid"], call["outcome"], call["from"], call["transcript"]) == (SID, "voicemail", CALLER, TRANSCRIPT)
    assert api.sent[0]["To"] == CALLER and "020 7359 3635" in api.sent[0]["Body"]
    stored = list((tmp_path / "var" / "recordings").rglob(f"{REC}.mp3"))
    assert len(stored) == 1 and stored[0].read_bytes() == api.recordings.get(REC, b"ID3" + b"\x00" * 2000)
    # The triage item for an unknown caller says what the voicemail asked for.
    summary = _item_summary(tmp_path)
    assert "Read from it: service mediation; council Wolverhampton (served, national)" in summary
    assert "child Rosie" in summary and "phone 07700 900444" in summary


@pytest.mark.slow
def test_without_credentials_webhooks_need_the_development_token_the_daemon_prints(tmp_path):
    env = _env(tmp_path, MDESK_PUBLIC_BASE_URL=PUBLIC)
    log = tmp_path / "daemon.log"
    daemon = DaemonProcess(env, log).start()
    try:
        port = env["MDESK_HTTP_PORT"]
        _started(daemon, port)
        printed = _wait(lambda: re.search(r"development token ([0-9a-f]{32})", log.read_text()), "the token in the log")
        token = printed.group(1)
        signed = Twilio(f"http://127.0.0.1:{port}", token=token).sms("SM" + "6" * 32, CALLER, "hello")
        forged = Twilio(f"http://127.0.0.1:{port}", token=TOKEN).sms("SM" + "7" * 32, CALLER, "hello")
    finally:
        assert daemon.signal(15) == 0
    assert (signed.status_code, forged.status_code) == (200, 403)
    assert (tmp_path / "var" / "twilio-dev-token").read_text().strip() == token
