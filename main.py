"""Mediation Desk's command line: thin adapters over the packages' service functions."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlmodel import Session, col, select

from cli.cases import register as register_cases
from cli.output import JSON_HELP, checked_engine, console, print_json, print_table
from cli.sessions import register as register_sessions
from cli.staff import register as register_staff
from cli.telephony import register as register_telephony
from cli.workdays import register as register_workdays
from models.operator_errors import (
    CONFIGURATION,
    REFUSED,
    OperatorError,
    database_errors,
    database_setting,
    from_settings_error,
    is_settings_error,
    mailbox_errors,
    mask_url,
)
from models.settings import get_settings, log_level_even_if_invalid

if TYPE_CHECKING:  # imported where used, so a command loads only what it needs
    from inbox.reading import Reading

app = typer.Typer(
    help="Mediation Desk: the back office of an SEN mediation service.\n\n"
    "Configured by MDESK_* environment variables (or a .env file), listed with their defaults in "
    "README.md under Configuration; with none set it runs on embedded defaults under ./var/. "
    "A setting that is wrong is reported in one line (exit 2; 1 when a server refused); "
    "MDESK_LOG_LEVEL=DEBUG shows the traceback.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
cases_app = typer.Typer(help="Cases.", no_args_is_help=True)
outbox_app = typer.Typer(help="What we send.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Mail that could not be processed.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(cases_app, name="cases")
app.add_typer(outbox_app, name="outbox")
app.add_typer(quarantine_app, name="quarantine")

err_console = Console(stderr=True)
DEMO_DIR = Path(__file__).resolve().parent / "data" / "demo"
# The columns README.md promises, in its order.
CASE_COLUMNS = [
    "reference",
    "status",
    "service",
    "local_authority",
    "region",
    "referrer_email",
    "messages",
    "created_at",
]
OUTBOX_COLUMNS = ["channel", "to", "template", "status", "case_reference", "sent_at"]


def _setup_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # APScheduler logs every run of every job at INFO: a line every two seconds tells nobody anything.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic says "Context impl SQLiteImpl" at every start, imapclient "Connection closed" at every
    # logout: noise around the line that matters.
    # The Twilio SDK logs every API request's URL and headers at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    if get_settings().log_level.upper() != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("imapclient").setLevel(logging.WARNING)


# ---- the daemon -----------------------------------------------------------------------------------


@app.command()
def run(web: Annotated[bool, typer.Option(help="Serve the web app.")] = True) -> None:
    """Run the daemon: mailbox intake, outbox dispatch and the web app, until SIGTERM."""
    from scheduler.daemon import Daemon, DaemonError

    _setup_logging()
    checked_engine(create=True).dispose()  # a missing folder, a damaged file, no server: one line, before starting
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
    from inbox.sources.base import SourceError
    from inbox.watch import MailboxWatcher
    from scheduler.daemon import dispatcher_from_settings, source_from_settings

    settings = get_settings()
    engine = checked_engine(create=True)
    intake = Intake(engine, settings)
    source = source_from_settings(settings)
    try:
        with mailbox_errors(settings):
            count = MailboxWatcher(source).drain_once(intake.handle_batch, read_ahead=intake.read_ahead)
    except SourceError as exc:  # the source says why it cannot go on (and what to set instead)
        setting = (
            f"MDESK_IMAP_HOST={settings.imap_host}, MDESK_IMAP_FOLDER={settings.imap_folder}"
            if settings.source_kind == "imap"
            else f"MDESK_MAILDIR={settings.effective_maildir}"
        )
        raise OperatorError(f"{setting}: {exc}", REFUSED) from exc
    err_console.print(f"{count} message(s) handled", highlight=False)
    if send:
        dispatcher = dispatcher_from_settings(engine, settings)
        dispatcher.run_until_done()
        if "email" in dispatcher.unavailable:  # our relay refused or is down: the mail waits, we say so
            raise OperatorError(
                f"MDESK_SMTP_HOST={settings.smtp_host}, MDESK_SMTP_PORT={settings.effective_smtp_port}: "
                f"cannot send ({dispatcher.unavailable['email']}); the mail waits in the outbox for the next run",
                REFUSED,
            )


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
    command = f"{_shown_path(Path(sys.executable))} {_shown_path(Path(__file__))}"
    console.print(
        f"Dropped {len(files)} demo referrals into {settings.effective_maildir}. Watch them become cases:\n"
        f"  {command} cases list    {command} outbox list    "
        f"http://{settings.http_host}:{settings.http_port}/healthz",
        highlight=False,
        soft_wrap=True,
    )
    run(web=True)


def _shown_path(path: Path) -> str:
    """`path` as typed from here: relative to the working folder when under it (no symlinks resolved:
    .venv/bin/python must stay the venv's interpreter), else absolute."""
    absolute = Path(os.path.abspath(path))
    return str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) else str(absolute)


# ---- reading mail ---------------------------------------------------------------------------------


@app.command("parse-email")
def parse_email(
    files: Annotated[list[Path], typer.Argument(help="RFC 5322 message files.", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file, per line.")] = False,
) -> None:
    """Read emails as a coordinator would: machine mail or a person's, and what the referral says.

    A file that is not an email (no header block), or that could not be read within
    MDESK_READ_TIMEOUT_SECONDS, is named on stderr; the others are still read, and the exit code is 1."""
    from inbox.parse import has_header_block
    from inbox.understand import Unreadable, understand
    from models.la_directory import load_directory

    settings = get_settings()
    directory = load_directory()
    failed = False
    for path in files:
        raw = path.read_bytes()
        if not has_header_block(raw):
            sys.stderr.write(f"{path}: not an email message (no header block)\n")
            failed = True
            continue
        try:
            result = understand(
                raw, directory=directory, own_addresses=settings.own_addresses, timeout=settings.read_timeout_seconds
            )
        except Unreadable as exc:  # bounded like intake's reading (MDESK_READ_TIMEOUT_SECONDS)
            sys.stderr.write(f"{path}: {exc}\n")
            failed = True
            continue
        if as_json:
            print_json({"file": str(path), **result.summary()})
        else:
            _describe(path, result)
    if failed:
        raise typer.Exit(1)


def _describe(path: Path, result: Reading) -> None:
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
            if name in ("automated", "problems", "evidence", "attachments") or value in (None, [], ""):
                continue
            evidence = referral.evidence.get(name)
            why = f"  <- {evidence.said}" if evidence else ""
            console.print(f"  {name}: {value}{why}", highlight=False, markup=False)
    read = {doc.filename: doc for doc in result.documents}
    for a in parsed.attachments:
        name = a.filename or "(no name)"
        doc = read.get(name)
        state = "" if doc is None else " (text read)" if doc.read else " (text not read)"
        console.print(f"  attachment: {name} {a.content_type} {a.size} bytes{state}", markup=False)
    for problem in result.summary()["problems"]:
        console.print(f"  problem: {problem}", highlight=False, markup=False)


# ---- the database and what is in it -------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (the daemon also does this on start)."""
    from models import db

    engine = checked_engine(create=True)
    console.print(f"database at revision {db.current_revision(engine)}")


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="The copy to write; a folder: a dated file in it.")],
) -> None:
    """A consistent copy of the SQLite database while the daemon runs (PostgreSQL: use pg_dump)."""
    from models import db
    from models.types import utcnow

    settings = get_settings()
    source = db.sqlite_path(settings.effective_database_url)
    if source is None:
        # pg_dump speaks libpq's URLs: postgresql://, without SQLAlchemy's driver name.
        url = mask_url(settings.effective_database_url.replace("postgresql+psycopg://", "postgresql://", 1))
        raise OperatorError(
            f"{database_setting(settings)}: PostgreSQL is backed up with its own tool; run "
            f"pg_dump --format=custom --file {path} '{url}' (restore: pg_restore --clean --dbname '{url}' {path})",
            CONFIGURATION,
        )
    checked_engine(upgrade=False).dispose()  # exists and passes quick_check: a damaged file never replaces a backup
    target = path / f"mdesk-{utcnow():%Y%m%dT%H%M%SZ}.sqlite3" if path.is_dir() else path
    if not target.parent.is_dir():
        raise OperatorError(
            f"{path}: the folder {target.parent} does not exist; expected an existing one", CONFIGURATION
        )
    if target.resolve() == source.resolve():
        raise OperatorError(f"{path}: that is the database itself; expected a path for the copy", CONFIGURATION)
    with database_errors(settings):
        db.backup_sqlite(source, target)
    console.print(f"backup of {source} written to {target}", highlight=False, soft_wrap=True)


@cases_app.command("list")
def cases_list(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Cases, newest first."""
    from models.case_queries import case_rows

    with Session(checked_engine()) as session:
        rows = case_rows(session)
    if as_json:
        for row in rows:
            print_json(row)
        return
    print_table(
        CASE_COLUMNS,
        [row | {"service": row["service"] or "enquiry", "created_at": row["created_at"][:16]} for row in rows],
    )


@outbox_app.command("list")
def outbox_list(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """What we sent or will send, newest first."""
    from models.case_queries import outbox_rows

    with Session(checked_engine()) as session:
        rows = [{k: v for k, v in row.items() if k != "id"} for row in outbox_rows(session)]
    if as_json:
        for row in rows:
            print_json(row)
        return
    # The last error, where there is one, closes the line: it is the longest and the most varied.
    print_table(
        [*OUTBOX_COLUMNS, "last_error"], [row | {"sent_at": row["sent_at"] and row["sent_at"][:16]} for row in rows]
    )


@quarantine_app.command("list")
def quarantine_list(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Mail that could not be processed, with the reason."""
    from models.mail import InboundMessage, QuarantineEntry

    with Session(checked_engine()) as session:
        rows = session.exec(
            select(QuarantineEntry, InboundMessage)
            .join(InboundMessage, col(InboundMessage.id) == QuarantineEntry.inbound_message_id)
            .where(col(QuarantineEntry.resolved_at).is_(None))
            .order_by(col(QuarantineEntry.id))
        ).all()
        for entry, inbound in rows:
            created_at = entry.created_at.isoformat()
            row = {
                "id": entry.id,
                "reason": entry.reason,
                "attempts": entry.attempts,
                "created_at": created_at,
                "size": inbound.size,
                "subject": inbound.subject,
            }
            if as_json:
                print_json(row)
            else:
                sys.stdout.write(f"{entry.id:>5}  {created_at[:16]}  {entry.reason}\n")
        if not rows and not as_json:
            console.print("quarantine is empty")


@quarantine_app.command("retry")
def quarantine_retry(
    entry_id: Annotated[int, typer.Argument(metavar="ENTRY_ID", help="The entry's id, as `quarantine list` shows it.")],
) -> None:
    """Run a quarantined message through intake again (after a fix).

    Exit 0: processed (or resolved before: nothing to do); 1: no such entry, or still quarantined."""
    from inbox.intake import retry_quarantined
    from models.mail import QuarantineEntry

    engine = checked_engine()
    with Session(engine) as session:
        entry = session.get(QuarantineEntry, entry_id)
        resolved_before = entry is not None and entry.resolved_at is not None
    if entry is None:
        sys.stderr.write(f"no quarantine entry {entry_id}; `quarantine list` shows the open ones\n")
        raise typer.Exit(1)
    outcome = retry_quarantined(engine, get_settings(), entry_id)
    sys.stdout.write(outcome + "\n")
    with Session(engine) as session:
        after = session.get(QuarantineEntry, entry_id)
        if not resolved_before and after is not None and after.resolved_at is None:
            raise typer.Exit(1)


# The other areas' commands, one module each (cli/).
register_telephony(app)
register_staff(app, cases_app)
register_cases(cases_app)
register_workdays(app)
register_sessions(app)


def main() -> None:
    """The command line, with an operator's mistakes said in one line (see models/operator_errors)."""
    try:
        app()
    except OperatorError as exc:
        _fail(exc, exc)
    except ValidationError as exc:
        if not is_settings_error(exc):
            raise  # a bug, not a setting
        _fail(from_settings_error(exc), exc)


def _fail(error: OperatorError, exc: BaseException) -> NoReturn:
    if log_level_even_if_invalid().upper() == "DEBUG":
        traceback.print_exception(exc)
    sys.stderr.write(error.line + "\n")
    sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
