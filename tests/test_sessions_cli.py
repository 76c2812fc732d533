"""The sessions, mediators, deadlines and certificate commands as an operator runs them (main.py in a
subprocess), each with --json."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from models.case_ops import add_party, ensure_contact, open_case
from models.db import make_engine, session_scope, upgrade
from models.workdays import WorkingDayCalendar
from tests.cli import run_main

LONDON = ZoneInfo("Europe/London")
CAL = WorkingDayCalendar()


@pytest.fixture
def var(tmp_path: Path) -> dict[str, str]:
    engine = make_engine(f"sqlite:///{tmp_path / 'mdesk.sqlite3'}")
    upgrade(engine)
    with session_scope(engine) as db:
        case = open_case(
            db,
            service="mediation",
            local_authority="Camden",
            served=True,
            region="london",
            referrer_email="p@example.net",
            draft={},
        )
        add_party(db, case.id, ensure_contact(db, email="p@example.net", phone="+447700900123", name="Sam"), "parent")
    engine.dispose()
    return {"MDESK_VAR_DIR": str(tmp_path), "reference": case.reference}


def cli(var: dict[str, str], *args: str):
    return run_main(*args, settings={"MDESK_VAR_DIR": var["MDESK_VAR_DIR"]})


def lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_mediators_sessions_and_the_outbox_as_an_operator_sees_them(var):
    added = cli(
        var,
        "mediators",
        "add",
        "--name",
        "Alex Mediator",
        "--mobile",
        "07700 900456",
        "--email",
        "A@Example.org",
        "--region",
        "london",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    mediator = json.loads(added.stdout)
    assert (mediator["mobile"], mediator["email"], mediator["regions"]) == (
        "+447700900456",
        "a@example.org",
        ["london"],
    )
    assert mediator["calendar_path"].startswith("/calendar/")
    assert [m["id"] for m in lines(cli(var, "mediators", "list", "--json").stdout)] == [mediator["id"]]

    day = CAL.add_working_days(date.today(), 10)
    start, end = f"{day.isoformat()}T14:00", f"{day.isoformat()}T16:00"
    booked = cli(
        var,
        "sessions",
        "book",
        var["reference"],
        "--start",
        start,
        "--end",
        end,
        "--mode",
        "phone",
        "--dial-in",
        "0800 123 4567",
        "--mediator",
        str(mediator["id"]),
        "--json",
    )
    assert booked.returncode == 0, booked.stderr
    session = json.loads(booked.stdout)
    assert session["start"] == datetime.fromisoformat(start).replace(tzinfo=LONDON).isoformat()
    assert {(r["offset"], r["to"]) for r in session["reminders"]} == {
        ("2wd@10:00", "+447700900123"),
        ("2wd@10:00", "+447700900456"),
        ("2h", "+447700900123"),
        ("2h", "+447700900456"),
    }

    outbox = lines(cli(var, "outbox", "list", "--json").stdout)
    reminders = [row for row in outbox if row["template"] == "session_reminder"]
    assert len(reminders) == 4 and all(r["status"] == "pending" and r["channel"] == "sms" for r in reminders)
    assert {r["idempotency_key"] for r in reminders} == {r["idempotency_key"] for r in session["reminders"]}
    assert all(r["due_at"] for r in reminders)
    assert sorted(r["to"] for r in outbox if r["template"] == "session_booked") == ["a@example.org", "p@example.net"]

    later = CAL.add_working_days(day, 2).isoformat()
    moved = cli(
        var,
        "sessions",
        "reschedule",
        str(session["id"]),
        "--start",
        f"{later}T10:00",
        "--end",
        f"{later}T12:00",
        "--json",
    )
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["sequence"] == 1

    cancelled = cli(var, "sessions", "cancel", str(session["id"]), "--json")
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    [listed] = lines(cli(var, "sessions", "list", "--json").stdout)
    assert (listed["status"], listed["reminders"]) == ("cancelled", [])


def test_short_notice_is_refused_in_one_line_and_booked_with_agreement_and_a_warning(var):
    mediator = json.loads(
        cli(
            var, "mediators", "add", "--name", "A", "--mobile", "+447700900456", "--email", "a@example.org", "--json"
        ).stdout
    )
    day = CAL.add_working_days(date.today(), 2).isoformat()
    args = [
        "sessions",
        "book",
        var["reference"],
        "--start",
        f"{day}T15:00",
        "--end",
        f"{day}T16:00",
        "--mode",
        "video",
        "--link",
        "https://meet.example.org/a",
        "--mediator",
        str(mediator["id"]),
    ]
    refused = cli(var, *args)
    assert (
        refused.returncode == 1 and "--short-notice-agreed" in refused.stderr and len(refused.stderr.splitlines()) == 1
    )
    assert lines(cli(var, "sessions", "list", "--json").stdout) == []
    agreed = cli(var, *args, "--short-notice-agreed", "--json")
    assert agreed.returncode == 0 and json.loads(agreed.stdout)["warnings"][0].startswith("short notice")


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (
            ["mediators", "add", "--name", "A", "--mobile", "12", "--email", "a@example.org"],
            1,
            "not a valid phone number",
        ),
        (
            [
                "sessions",
                "book",
                "MD-00-NONE",
                "--start",
                "2030-01-01T10:00",
                "--end",
                "2030-01-01T11:00",
                "--mode",
                "video",
                "--link",
                "https://x.example",
                "--mediator",
                "1",
            ],
            1,
            "no case MD-00-NONE",
        ),
        (
            ["sessions", "book", "X", "--start", "tomorrow", "--end", "x", "--mode", "video", "--mediator", "1"],
            2,
            "expected an ISO date",
        ),
    ],
)
def test_bad_input_gets_a_clear_answer(var, args, code, says):
    result = cli(var, *args)
    assert result.returncode == code and says in result.stderr and "Traceback" not in result.stderr


def test_deadlines_and_certificate_commands(var):
    reference = var["reference"]
    recorded = cli(
        var, "deadlines", "--case", reference, "--record", "mediation_held", date.today().isoformat(), "--json"
    )
    assert recorded.returncode == 0, recorded.stderr
    kinds = {d["kind"]: d for d in lines(recorded.stdout)}
    assert kinds["certificate_due"]["status"] == "open"
    assert kinds["certificate_due"]["due"] == CAL.add_working_days(date.today(), 3).isoformat()
    assert kinds["certificate_due"]["working_days_left"] == 3
    issued = cli(var, "certificate", "issue", reference, "--json")
    assert issued.returncode == 0, issued.stderr
    assert json.loads(issued.stdout) | {"issued_on": "-"} == {
        "case_reference": reference,
        "issued_on": "-",
        "mediation_took_place": True,
        "emails": 1,
        "deadline_status": "met",
    }
    after = {d["kind"]: d["status"] for d in lines(cli(var, "deadlines", "--json").stdout)}
    assert after["certificate_due"] == "met"
