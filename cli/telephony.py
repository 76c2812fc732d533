"""The command line's face of telephony (issue 10): transcripts and SMS read as referrals, the call and
SMS logs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from cli.output import JSON_HELP, checked_engine, console, print_json, print_table

calls_app = typer.Typer(help="Calls to the offices (Twilio).", no_args_is_help=True)
sms_app = typer.Typer(help="SMS in and out (Twilio).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("parse-text")(parse_text)
    app.add_typer(calls_app, name="calls")
    app.add_typer(sms_app, name="sms")


def parse_text(
    files: Annotated[
        list[Path], typer.Argument(help="Files each holding a voicemail transcript or an SMS body.", exists=True)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file, per line.")] = False,
) -> None:
    """Read transcripts and SMS texts with the referral extractor, as the daemon reads voicemails."""
    from inbox.text_reading import read_text, text_summary
    from models.la_directory import load_directory

    directory = load_directory()
    for path in files:
        summary = text_summary(read_text(path.read_text(encoding="utf-8", errors="replace"), directory=directory))
        if as_json:
            print_json({"file": str(path), **summary})
            continue
        console.rule(str(path))
        for name, value in summary.items():
            if value not in (None, [], ""):
                console.print(f"  {name}: {value}", highlight=False, markup=False)


@calls_app.command("list")
def calls_list(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Calls to the two offices, newest first: outcome, case, recording (stored / pending / none)."""
    from telephony.listing import CALL_COLUMNS, call_rows

    _list(call_rows, CALL_COLUMNS, as_json)


@sms_app.command("list")
def sms_list(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """SMS in and out, newest first, with their delivery status."""
    from telephony.listing import SMS_COLUMNS, sms_rows

    _list(sms_rows, SMS_COLUMNS, as_json)


def _list(rows_of: Callable[[Session], Iterable[dict[str, Any]]], columns: list[str], as_json: bool) -> None:
    with Session(checked_engine()) as session:
        rows = list(rows_of(session))
    if as_json:
        for row in rows:
            print_json(row)
        return
    print_table(
        columns, [row | {k: str(row[k])[:16] for k in ("started_at", "created_at") if row.get(k)} for row in rows]
    )
