"""`calls list --json` and `sms list --json`, as an operator runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from models import db
from tests.cli import run_main
from tests.twilio_webhooks import LONDON, running_app, twilio_settings

OPEN = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)


def test_calls_and_sms_are_listed_one_json_object_a_line(tmp_path):
    settings = twilio_settings(tmp_path)
    settings.var_dir.mkdir(parents=True)
    engine = db.make_engine(settings.effective_database_url)
    db.upgrade(engine)
    with running_app(engine, settings, at=OPEN) as twilio:
        twilio.call("CA" + "1" * 32, "anonymous")
        twilio.dial_action("CA" + "1" * 32, "no-answer")
        twilio.recording("CA" + "1" * 32, "RE" + "1" * 32, 12)
        twilio.call("CA" + "2" * 32, "+447700900123")
        twilio.dial_action("CA" + "2" * 32, "completed", duration=30)
        twilio.status("CA" + "2" * 32, "+447700900123", duration=31)
        twilio.sms("SM" + "1" * 32, "+447700900123", "Thursday is fine")
        twilio.sms_status("SM" + "2" * 32, "delivered", "+447700900123")
    engine.dispose()
    env = {"MDESK_VAR_DIR": str(settings.var_dir)}
    calls = [json.loads(line) for line in run_main("calls", "list", "--json", settings=env).stdout.splitlines()]
    by_sid = {call["sid"]: call for call in calls}
    withheld, answered = by_sid["CA" + "1" * 32], by_sid["CA" + "2" * 32]
    assert (withheld["from"], withheld["outcome"], withheld["recording"]) == ("withheld", "voicemail", "pending")
    assert (answered["from"], answered["to"], answered["office"], answered["outcome"]) == (
        "+447700900123",
        LONDON,
        "london",
        "answered",
    )
    assert answered["recording"] == "none" and answered["transcript"] is None and answered["direction"] == "inbound"
    assert {"sid", "direction", "from", "to", "office", "outcome", "case_reference", "started_at"} <= set(answered)
    sms = {
        row["sid"]: row for row in map(json.loads, run_main("sms", "list", "--json", settings=env).stdout.splitlines())
    }
    assert (sms["SM" + "1" * 32]["direction"], sms["SM" + "1" * 32]["status"]) == ("inbound", "received")
    assert (sms["SM" + "2" * 32]["direction"], sms["SM" + "2" * 32]["status"]) == ("outbound", "delivered")
