"""The command line as an operator uses it: real subprocesses on the embedded defaults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from inbox.sources.maildir import MaildirSource
from models import db
from models.mail import QuarantineEntry
from models.types import utcnow
from tests import mailfactory
from tests.cli import run_main
from tests.conftest import REPO
from tests.webserver import free_port


def cli(*args: str, var_dir, **settings: str) -> subprocess.CompletedProcess:
    return run_main(*args, settings={"MDESK_VAR_DIR": str(var_dir), "MDESK_LOG_LEVEL": "WARNING", **settings})


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
    assert retried.returncode == 1  # the retry did not get it through


def test_quarantine_retry_of_no_such_entry_exits_1_and_of_a_resolved_one_0(tmp_path):
    source = MaildirSource(tmp_path / "maildir")
    source.connect()
    source.drop(b"To: referrals@mediation-desk.example.org\r\nSubject: help\r\n\r\nCall me.\r\n")
    cli("ingest", "--once", var_dir=tmp_path)
    missing = cli("quarantine", "retry", "99", var_dir=tmp_path)
    assert missing.returncode == 1
    assert (missing.stdout, missing.stderr.strip()) == (
        "",
        "no quarantine entry 99; `quarantine list` shows the open ones",
    )

    # Resolved meanwhile (a coordinator, another retry): nothing to do, which is not a failure.
    engine = db.make_engine(f"sqlite:///{tmp_path / 'mdesk.sqlite3'}")
    with db.session_scope(engine) as session:
        entry = session.exec(select(QuarantineEntry)).one()
        entry.resolved_at, entry_id = utcnow(), entry.id
    engine.dispose()
    resolved = cli("quarantine", "retry", str(entry_id), var_dir=tmp_path)
    assert resolved.returncode == 0, resolved.stderr
    assert "already resolved" in resolved.stdout


def test_parse_email_says_which_files_are_not_email_and_reads_the_rest(tmp_path):
    referral = tmp_path / "referral.eml"
    referral.write_bytes(mailfactory.referral())
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    readme = REPO / "README.md"
    result = cli("parse-email", str(readme), "/dev/null", str(referral), str(empty), var_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{path}: not an email message (no header block)" for path in (readme, "/dev/null", empty)
    ]
    assert "Written by a person" in result.stdout and "Camden" in result.stdout  # the real one still read
    assert "README" not in result.stdout

    as_json = cli("parse-email", "--json", "/dev/null", str(referral), var_dir=tmp_path)
    assert as_json.returncode == 1
    assert [json.loads(line)["file"] for line in as_json.stdout.splitlines()] == [str(referral)]


def test_text_listings_are_full_width_when_piped_with_the_columns_the_readme_promises(tmp_path):
    source = MaildirSource(tmp_path / "maildir")
    source.connect()
    long_address = "joanne.pryce-with-a-rather-long-address-for-a-family@mail.example-borough-council.org.uk"
    source.drop(mailfactory.referral(sender=f"Joanne Pryce <{long_address}>"))
    assert cli("ingest", "--once", var_dir=tmp_path).returncode == 0

    cases = cli("cases", "list", var_dir=tmp_path).stdout.splitlines()
    assert cases[0].split() == [
        "reference",
        "status",
        "service",
        "local_authority",
        "region",
        "referrer_email",
        "messages",
        "created_at",
    ]
    assert len(cases) == 2  # one case, one line: not wrapped at 80 columns
    assert long_address in cases[1] and "Camden" in cases[1] and " london " in cases[1]

    outbox = cli("outbox", "list", var_dir=tmp_path).stdout.splitlines()
    assert outbox[0].split() == ["channel", "to", "template", "status", "case_reference", "sent_at", "last_error"]
    assert len(outbox) == 2 and long_address in outbox[1] and "acknowledgement" in outbox[1]


def test_help_points_to_the_settings_and_every_argument_is_explained(tmp_path):
    top = cli("--help", var_dir=tmp_path).stdout
    assert "MDESK_" in top and "README" in top
    for command in (("cases", "list"), ("outbox", "list"), ("quarantine", "list")):
        assert "One JSON object per line" in cli(*command, "--help", var_dir=tmp_path).stdout
    assert "as `quarantine list` shows it" in cli("quarantine", "retry", "--help", var_dir=tmp_path).stdout


def test_ingest_once_sends_everything_that_is_due_not_one_batch(tmp_path):
    source = MaildirSource(tmp_path / "maildir")
    source.connect()
    for n in range(7):
        source.drop(mailfactory.referral(sender=f"Parent {n} <parent{n}@example.com>"))
    result = cli("ingest", "--once", var_dir=tmp_path, MDESK_OUTBOX_BATCH="2")
    assert result.returncode == 0, result.stderr
    outbox = [json.loads(line) for line in cli("outbox", "list", "--json", var_dir=tmp_path).stdout.splitlines()]
    assert sorted(row["to"] for row in outbox if row["status"] == "sent") == [
        f"parent{n}@example.com" for n in range(7)
    ]
    assert len(list((tmp_path / "sent").glob("*.eml"))) == 7


def test_demo_names_the_interpreter_that_runs_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDESK_")}
    env.update(MDESK_VAR_DIR=str(tmp_path), MDESK_LOG_LEVEL="WARNING", MDESK_HTTP_PORT=str(free_port()))
    proc = subprocess.Popen(
        [sys.executable, "main.py", "demo"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = [proc.stdout.readline(), proc.stdout.readline()]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    interpreter = os.path.abspath(sys.executable)
    if Path(interpreter).is_relative_to(REPO):
        interpreter = str(Path(interpreter).relative_to(REPO))
    assert f"{interpreter} main.py cases list" in lines[1], lines
    assert f"{interpreter} main.py outbox list" in lines[1], lines
