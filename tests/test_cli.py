"""The command line as an operator uses it: real subprocesses on the embedded defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from inbox.sources.maildir import MaildirSource
from tests import mailfactory
from tests.conftest import REPO


def cli(*args: str, var_dir) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDESK_")}
    env.update(MDESK_VAR_DIR=str(var_dir), MDESK_LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_ingest_once_then_list_cases_and_outbox_as_json(tmp_path):
    source = MaildirSource(tmp_path / "maildir")
    source.connect()
    source.drop(mailfactory.referral(sender="Joanne Pryce <joanne@example.com>"))
    source.drop(mailfactory.out_of_office("x@example.com", sender="away@example.org"))
    result = cli("ingest", "--once", var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 message(s) handled" in result.stderr

    cases = [json.loads(line) for line in cli("cases", "list", "--json", var_dir=tmp_path).stdout.splitlines()]
    assert len(cases) == 1
    assert set(cases[0]) >= {
        "reference",
        "status",
        "service",
        "local_authority",
        "region",
        "referrer_email",
        "messages",
        "created_at",
    }
    assert (cases[0]["local_authority"], cases[0]["referrer_email"], cases[0]["messages"]) == (
        "Camden",
        "joanne@example.com",
        1,
    )

    outbox = [json.loads(line) for line in cli("outbox", "list", "--json", var_dir=tmp_path).stdout.splitlines()]
    assert [(o["channel"], o["to"], o["template"], o["status"], o["case_reference"]) for o in outbox] == [
        ("email", "joanne@example.com", "acknowledgement", "sent", cases[0]["reference"])
    ]
    assert outbox[0]["sent_at"]
    assert len(list((tmp_path / "sent").glob("*.eml"))) == 1  # the console transport recorded it


def test_parse_email_prints_one_json_object_per_file_with_the_fixed_keys(tmp_path):
    referral = tmp_path / "referral.eml"
    referral.write_bytes(mailfactory.referral())
    bounce = tmp_path / "bounce.eml"
    bounce.write_bytes(mailfactory.bounce_of("ours@mediation-desk.example.org", "gone@example.net"))
    result = cli("parse-email", "--json", str(referral), str(bounce), var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    keys = {
        "file",
        "automated",
        "service",
        "local_authority",
        "served",
        "region",
        "referrer_role",
        "contact_phone",
        "child_name",
        "child_dob",
        "problems",
    }
    assert keys <= set(first) and keys <= set(second)
    assert first["automated"] is None and first["local_authority"] == "Camden" and first["served"] is True
    assert first["contact_phone"] == "+447700900418" and first["child_dob"] == "2015-02-04"
    assert second["automated"] == "bounce" and second["service"] is None


def test_parse_email_explains_itself_without_json(tmp_path):
    referral = tmp_path / "referral.eml"
    referral.write_bytes(mailfactory.referral())
    result = cli("parse-email", str(referral), var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Written by a person" in result.stdout
    assert "London Borough of Camden" in result.stdout  # the text the council was read from


def test_quarantine_list_and_retry_name_the_reason(tmp_path):
    source = MaildirSource(tmp_path / "maildir")
    source.connect()
    source.drop(b"To: referrals@mediation-desk.example.org\r\nSubject: help\r\n\r\nCall me.\r\n")
    cli("ingest", "--once", var_dir=tmp_path)
    listed = [json.loads(line) for line in cli("quarantine", "list", "--json", var_dir=tmp_path).stdout.splitlines()]
    assert len(listed) == 1 and "no sender address" in listed[0]["reason"]
    retried = cli("quarantine", "retry", str(listed[0]["id"]), var_dir=tmp_path)
    assert "still quarantined" in retried.stdout
