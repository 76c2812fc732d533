"""Every request our Twilio code makes is one Twilio's own API contract accepts: Prism serves Twilio's
OpenAPI description (../shared/twilio/twilio_api_v2010.json) and answers 422 to a request that breaks it.

Prism is an npm package, not part of the Python install: `npm install --prefix .prism @stoplight/prism-cli`
(or PRISM_BIN=/path/to/prism). Without it, or without the shared contract, this module skips and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from models import db
from models.outbox_ops import enqueue
from models.telephony import SmsMessage
from scheduler.dispatch import Dispatcher
from telephony.sms_channel import SmsChannel
from telephony.twilio_api import twilio_client
from tests.conftest import REPO, SHARED
from tests.twilio_webhooks import twilio_settings
from tests.webserver import free_port

CONTRACT = SHARED / "twilio" / "twilio_api_v2010.json"


def _prism() -> str | None:
    local = REPO / ".prism" / "node_modules" / ".bin" / "prism"
    return os.environ.get("PRISM_BIN") or shutil.which("prism") or (str(local) if local.exists() else None)


@pytest.fixture(scope="module")
def prism(tmp_path_factory):
    binary = _prism()
    if binary is None or not CONTRACT.exists():
        pytest.skip("Prism (npm install --prefix .prism @stoplight/prism-cli) or the shared Twilio contract is absent")
    port = free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "mock", "-h", "127.0.0.1", "-p", str(port), str(CONTRACT)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while "Prism is listening" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Prism did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(log: Path) -> str:
    return log.read_text(errors="replace")


@pytest.mark.slow
def test_prism_accepts_every_sms_we_send_from_a_number_or_a_messaging_service(prism, tmp_path):
    base, log = prism
    engine = db.make_engine(f"sqlite:///{tmp_path / 'mdesk.sqlite3'}")
    db.upgrade(engine)
    for n, service in enumerate(("", "MG" + "1" * 32)):
        settings = twilio_settings(tmp_path, twilio_api_url=base, twilio_messaging_service_sid=service)
        with db.session_scope(engine) as session:
            enqueue(session, key=f"sms:{n}", channel="sms", to="+447700900123", template="help", context={})
        dispatcher = Dispatcher(engine, settings, {"sms": SmsChannel.from_settings(settings, engine)}, worker="p")
        stats = dispatcher.run_once()
        assert (stats.sent, stats.failed, stats.retried) == (1, 0, 0), _answers(log)[-2000:]
    with Session(engine) as session:
        assert len(session.exec(select(SmsMessage)).all()) >= 1
    engine.dispose()
    assert "violation" not in _answers(log).lower()


@pytest.mark.slow
def test_prism_accepts_deleting_a_recording(prism, tmp_path):
    base, log = prism
    client = twilio_client(twilio_settings(tmp_path, twilio_api_url=base))
    assert client.api.v2010.account.recordings("RE" + "a" * 32).delete() is True
    assert "violation" not in _answers(log).lower()


@pytest.mark.slow
def test_prism_does_refuse_a_request_that_breaks_the_contract(prism, tmp_path):
    """The control: without it, the two tests above could pass against a server that accepts anything."""
    base, _ = prism
    settings = twilio_settings(tmp_path, twilio_api_url=base)
    client = twilio_client(settings)
    url = f"https://api.twilio.com/2010-04-01/Accounts/{settings.twilio_account_sid}/Messages.json"
    response = client.request("POST", url, data={"Body": "no recipient", "From": "+442073593635"})
    assert response.status_code == 422


@pytest.mark.slow
def test_prism_accepts_the_lookup_of_an_earlier_send_and_its_answer_reads(prism, tmp_path):
    """find_sent's listing (To, From or none, DateSent>, PageSize) is one the contract accepts, and a
    list answer shaped by the contract is read without error (whatever it holds is not our row).

    Prism's own list answer breaks the contract (its relative `uri`s are not of format "uri", as
    Twilio's are not either): only violations of the request count, and only this test's. Last in the
    module, since the tests above read the whole shared log."""
    base, log = prism
    seen_before = len(_answers(log))
    since = datetime(2026, 12, 3, 9, 58, tzinfo=UTC)
    for service in ("", "MG" + "1" * 32):
        settings = twilio_settings(tmp_path, twilio_api_url=base, twilio_messaging_service_sid=service)
        found = SmsChannel.from_settings(settings).sms_transport.find(
            to="+447700900123", body="a text no example holds", from_number="+442073593635", since=since
        )
        assert found is None
    ours = _answers(log)[seen_before:]
    assert "messages.json" in ours.lower()
    assert [line for line in ours.lower().splitlines() if "violation: request" in line] == []
    assert "violation: response.body.uri" in ours.lower()  # the control: Prism does report what it checks
