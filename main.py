"""Mediation Desk's command line: thin adapters over the packages' service functions."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import Session, select

from models.settings import get_settings

app = typer.Typer(help="Mediation Desk: the back office of an SEN mediation service.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
cases_app = typer.Typer(help="Cases.", no_args_is_help=True)
outbox_app = typer.Typer(help="What we send.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Mail that could not be processed.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(cases_app, name="cases")
app.add_typer(outbox_app, name="outbox")
app.add_typer(quarantine_app, name="quarantine")
workdays_app = typer.Typer(
    help="England's working days: not weekends, bank holidays (England and Wales), Christmas Day, Good Friday.",
    no_args_is_help=True,
)
app.add_typer(workdays_app, name="workdays")

console = Console()
err_console = Console(stderr=True)
DEMO_DIR = Path(__file__).resolve().parent / "data" / "demo"


def _setup_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # APScheduler logs every run of every job at INFO: a line every two seconds tells nobody anything.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _engine(upgrade: bool = True):
    from models import db

    engine = db.make_engine(get_settings().effective_database_url)
    if upgrade:
        db.upgrade(engine)
    return engine


def _print_json(row: dict) -> None:
    sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


# ---- the daemon -----------------------------------------------------------------------------------


@app.command()
def run(web: Annotated[bool, typer.Option(help="Serve the web app.")] = True) -> None:
    """Run the daemon: mailbox intake, outbox dispatch and the web app, until SIGTERM."""
    from scheduler.daemon import Daemon, DaemonError

    _setup_logging()
    try:
        Daemon(get_settings()).run(web=web)
    except DaemonError as exc:
        typer.echo(str(exc), err=True)  # one line, unwrapped: the reason and the setting to change
        raise typer.Exit(1) from None


@app.command()
def ingest(
    once: Annotated[bool, typer.Option("--once", help="Handle what is waiting, then exit.")] = False,
    send: Annotated[bool, typer.Option(help="Also dispatch the outbox once afterwards.")] = True,
) -> None:
    """Take in the mail waiting in the mailbox (without --once: keep watching, like `run --no-web`)."""
    _setup_logging()
    if not once:
        run(web=False)
        return
    from inbox.intake import Intake
    from inbox.watch import MailboxWatcher
    from scheduler.daemon import dispatcher_from_settings, source_from_settings

    settings = get_settings()
    engine = _engine()
    intake = Intake(engine, settings)
    count = MailboxWatcher(source_from_settings(settings)).drain_once(intake.handle, handle_batch=intake.handle_batch)
    err_console.print(f"{count} message(s) handled", highlight=False)
    if send:
        dispatcher_from_settings(engine, settings).run_once()


@app.command()
def demo() -> None:
    """Drop realistic sample referrals into the Maildir drop folder, then run the daemon."""
    from inbox.sources.maildir import MaildirSource

    settings = get_settings()
    if settings.source_kind != "maildir":
        raise typer.BadParameter("demo drops mail into the local Maildir; unset MDESK_IMAP_HOST")
    source = MaildirSource(settings.effective_maildir)
    files = sorted(DEMO_DIR.glob("*.eml"))
    for path in files:
        source.drop(path.read_bytes())
    console.print(
        f"Dropped {len(files)} demo referrals into {settings.effective_maildir}. Watch them become cases:\n"
        f"  python main.py cases list    python main.py outbox list    "
        f"http://{settings.http_host}:{settings.http_port}/healthz",
        highlight=False,
    )
    run(web=True)


# ---- reading mail ---------------------------------------------------------------------------------


@app.command("parse-email")
def parse_email(
    files: Annotated[list[Path], typer.Argument(help="RFC 5322 message files.", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file, per line.")] = False,
) -> None:
    """Read emails as a coordinator would: machine mail or a person's, and what the referral says."""
    from inbox.understand import understand
    from models.la_directory import load_directory

    directory = load_directory()
    own = (get_settings().mail_from.lower(),)
    for path in files:
        result = understand(path.read_bytes(), directory=directory, own_addresses=own)
        if as_json:
            _print_json({"file": str(path), **result.summary()})
        else:
            _describe(path, result)


def _describe(path: Path, result) -> None:
    parsed, verdict, referral = result.parsed, result.verdict, result.referral
    console.rule(str(path))
    sender = f"{parsed.sender.name} <{parsed.sender.email}>" if parsed.sender else "(none)"
    console.print(f"From: {sender}\nSubject: {parsed.subject}", highlight=False, markup=False)
    if verdict.kind:
        console.print(f"Machine mail: {verdict.kind}" + (" (delay warning)" if verdict.delay else ""))
        for reason in verdict.reasons:
            console.print(f"  because {reason}", highlight=False, markup=False)
    else:
        console.print("Written by a person.")
    if referral is not None:
        for name, value in result.summary().items():
            if name in ("automated", "problems") or value in (None, [], ""):
                continue
            evidence = referral.evidence.get(name)
            why = f'  <- {evidence.source}: "{evidence.snippet}"' if evidence else ""
            console.print(f"  {name}: {value}{why}", highlight=False, markup=False)
    if parsed.attachments:
        for a in parsed.attachments:
            console.print(f"  attachment: {a.filename or '(no name)'} {a.content_type} {a.size} bytes", markup=False)
    for problem in parsed.problems:
        console.print(f"  problem: {problem}", highlight=False, markup=False)


# ---- the database and what is in it -------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (the daemon also does this on start)."""
    from models import db

    engine = _engine(upgrade=True)
    console.print(f"database at revision {db.current_revision(engine)}")


@cases_app.command("list")
def cases_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Cases, newest first."""
    from sqlalchemy import func

    from models.cases import Case
    from models.mail import InboundMessage

    with Session(_engine()) as session:
        counts = dict(session.exec(select(InboundMessage.case_id, func.count()).group_by(InboundMessage.case_id)).all())
        for case in session.exec(select(Case).order_by(Case.created_at.desc(), Case.id.desc())):
            row = {
                "reference": case.reference,
                "status": case.status,
                "service": case.service,
                "local_authority": case.local_authority,
                "region": case.region,
                "referrer_email": case.referrer_email,
                "messages": counts.get(case.id, 0),
                "created_at": case.created_at.isoformat(),
            }
            if as_json:
                _print_json(row)
            else:
                console.print(
                    f"{row['reference']}  {row['status']:<12} {row['service'] or 'enquiry':<24} "
                    f"{row['local_authority'] or '-':<24} {row['messages']} msg  {row['created_at'][:16]}",
                    highlight=False,
                    markup=False,
                )


@outbox_app.command("list")
def outbox_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What we sent or will send, newest first."""
    from models.cases import Case
    from models.outbox import OutboxMessage

    with Session(_engine()) as session:
        rows = session.exec(
            select(OutboxMessage, Case.reference)
            .join(Case, Case.id == OutboxMessage.case_id, isouter=True)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        ).all()
        for message, reference in rows:
            row = {
                "channel": message.channel,
                "to": message.to,
                "template": message.template,
                "status": message.status,
                "case_reference": reference,
                "sent_at": message.sent_at.isoformat() if message.sent_at else None,
                "attempts": message.attempts,
                "last_error": message.last_error,
            }
            if as_json:
                _print_json(row)
            else:
                console.print(
                    f"{row['channel']:<5} {row['status']:<10} {row['template']:<16} {row['case_reference'] or '-':<11}"
                    f" {row['to']}" + (f"  ({row['last_error']})" if row["last_error"] else ""),
                    highlight=False,
                    markup=False,
                )


@quarantine_app.command("list")
def quarantine_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Mail that could not be processed, with the reason."""
    from models.mail import InboundMessage, QuarantineEntry

    with Session(_engine()) as session:
        rows = session.exec(
            select(QuarantineEntry, InboundMessage)
            .join(InboundMessage, InboundMessage.id == QuarantineEntry.inbound_message_id)
            .where(QuarantineEntry.resolved_at.is_(None))
            .order_by(QuarantineEntry.id)
        ).all()
        for entry, inbound in rows:
            row = {
                "id": entry.id,
                "reason": entry.reason,
                "attempts": entry.attempts,
                "created_at": entry.created_at.isoformat(),
                "size": inbound.size,
                "subject": inbound.subject,
            }
            if as_json:
                _print_json(row)
            else:
                console.print(f"{entry.id:>5}  {row['created_at'][:16]}  {entry.reason}", markup=False)
        if not rows and not as_json:
            console.print("quarantine is empty")


@quarantine_app.command("retry")
def quarantine_retry(entry_id: int) -> None:
    """Run a quarantined message through intake again (after a fix)."""
    from inbox.intake import retry_quarantined

    engine = _engine()
    outcome = retry_quarantined(engine, get_settings(), entry_id)
    console.print(outcome, highlight=False, markup=False)


# ---- the working-day calendar -------------------------------------------------------------------------

_START = typer.Argument(formats=["%Y-%m-%d"], metavar="START", help="YYYY-MM-DD", show_default=False)
_END = typer.Argument(formats=["%Y-%m-%d"], metavar="END", help="YYYY-MM-DD", show_default=False)


def _skipped(start, end, calendar) -> list[dict]:
    low, high = sorted((start, end))
    return [{"date": day.isoformat(), "why": why} for day, why in calendar.non_working_days(low, high)]


# ignore_unknown_options: "-1" is a value of N to refuse as out of range, not an unknown option.
@workdays_app.command("add", context_settings={"ignore_unknown_options": True})
def workdays_add(
    start: Annotated[datetime, _START],
    n: Annotated[int, typer.Argument(min=0, metavar="N", help="Working days to add (0 or more).", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="An object with the days skipped and why.")] = False,
) -> None:
    """The N-th working day after START (START itself not counted: "within 3 working days of the contact")."""
    from models.workdays import WorkingDayCalendar

    calendar = WorkingDayCalendar()
    try:
        end = calendar.add_working_days(start.date(), n)
    except OverflowError:
        raise typer.BadParameter("the result would be after the year 9999") from None
    if as_json:
        skipped = _skipped(start.date(), end, calendar)
        _print_json({"start": start.date().isoformat(), "working_days": n, "date": end.isoformat(), "skipped": skipped})
    else:
        typer.echo(end.isoformat())


@workdays_app.command("between")
def workdays_between(
    start: Annotated[datetime, _START],
    end: Annotated[datetime, _END],
    as_json: Annotated[bool, typer.Option("--json", help="An object with the days skipped and why.")] = False,
) -> None:
    """Working days after START up to and including END: Monday to Wednesday is 2; negative when END is
    before START."""
    from models.workdays import WorkingDayCalendar

    calendar = WorkingDayCalendar()
    count = calendar.working_days_between(start.date(), end.date())
    if as_json:
        first, last = start.date(), end.date()
        skipped = _skipped(first, last, calendar)
        _print_json({"start": first.isoformat(), "end": last.isoformat(), "working_days": count, "skipped": skipped})
    else:
        typer.echo(str(count))


if __name__ == "__main__":
    app()
