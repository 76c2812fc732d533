"""`main.py cases merge` as an operator runs it (a subprocess): the merge, a second run, one line on
a mistake and no traceback."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from models.case_ops import add_party, ensure_contact, open_case
from models.cases import Case
from models.db import make_engine, session_scope, upgrade
from tests.cli import run_main


def test_cases_merge_from_the_command_line(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'mdesk.sqlite3'}")
    upgrade(engine)
    with session_scope(engine) as db:
        first, second = (
            open_case(
                db,
                service="mediation",
                local_authority="Camden",
                served=True,
                region="london",
                referrer_email=email,
                draft={},
            )
            for email in ("p@example.net", "school@example.org")
        )
        for case, email in ((first, "p@example.net"), (second, "school@example.org")):
            add_party(db, case.id, ensure_contact(db, email=email), "referrer")
        refs = (first.reference, second.reference)
    env = {"MDESK_VAR_DIR": str(tmp_path)}

    merged = run_main("cases", "merge", refs[1], refs[0].lower(), settings=env)
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout == f"{refs[1]} merged into {refs[0]}. Moved onto it: people 1.\n"
    again = run_main("cases", "merge", refs[0], refs[1], settings=env)
    assert again.returncode == 0 and f"{refs[1]} was already merged into {refs[0]}; nothing changed." in again.stdout
    with Session(engine) as session:
        assert session.get(Case, second.id).merged_into_id == first.id

    # Anonymising by the merged case's reference means that (closed) case, never the open survivor.
    anonymised = run_main("cases", "anonymise", refs[1], settings=env)
    assert anonymised.returncode == 0, anonymised.stderr
    with Session(engine) as session:
        assert session.get(Case, second.id).draft.get("anonymised_at")
        assert not session.get(Case, first.id).draft.get("anonymised_at")

    unknown = run_main("cases", "merge", refs[0], "MD-26-ZZZZ", settings=env)
    assert (unknown.returncode, unknown.stderr) == (1, "No case has the reference MD-26-ZZZZ.\n")
    same = run_main("cases", "merge", refs[0], refs[0], settings=env)
    assert same.returncode == 1 and same.stderr.count("\n") == 1 and "Traceback" not in same.stderr
    engine.dispose()
