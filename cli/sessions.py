"""The command line's face of sessions, mediators, deadlines and certificates (issue 11): thin adapters over
models.session_ops, models.case_clock and models.certificates, registered on main.py's app by `register`.

A refusal (no such case, under 5 working days' notice without agreement, a bad number) is one line on
stderr and exit 1; a malformed option is typer's usage error, exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from sqlmodel import Session, col, select

from cli.output import JSON_HELP, checked_engine, print_json, print_table
from models.settings import get_settings

if TYPE_CHECKING:
    from models.workdays import WorkingDayCalendar


mediators_app = typer.Typer(help="Mediators and their calendar feeds.", no_args_is_help=True)
sessions_app = typer.Typer(help="Mediation sessions: book, move, cancel.", no_args_is_help=True)
certificate_app = typer.Typer(help="Mediation certificates.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(mediators_app, name="mediators")
    app.add_typer(sessions_app, name="sessions")
    app.add_typer(certificate_app, name="certificate")
    app.command("deadlines")(deadlines)


def _calendar() -> WorkingDayCalendar:
    from models.workdays import WorkingDayCalendar

    return WorkingDayCalendar(tz=get_settings().zone)


@contextmanager
def _refusals() -> Iterator[None]:
    """A refusal from the models is one line and exit 1; nothing is committed."""
    from models.case_clock import ClockRefused
    from models.certificates import CertificateRefused
    from models.session_ops import SessionRefused

    try:
        yield
    except (SessionRefused, ClockRefused, CertificateRefused) as exc:
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(1) from None


@contextmanager
def _transaction() -> Iterator[Session]:
    with Session(checked_engine(), expire_on_commit=False) as db, _refusals():
        yield db
        db.commit()


def _when(text: str, option: str) -> datetime:
    """An ISO date-time; without an offset it is local time (MDESK_TIMEZONE)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        expected = f"{text!r}: expected an ISO date and time, as 2027-01-19T10:00"
        raise typer.BadParameter(expected, param_hint=option) from None
    return value if value.tzinfo else value.replace(tzinfo=get_settings().zone)


# ---- mediators -----------------------------------------------------------------------------------------


@mediators_app.command("add")
def mediators_add(
    name: Annotated[str, typer.Option("--name", help="As parties will read it.")],
    mobile: Annotated[str, typer.Option("--mobile", help="E.164, as +447700900123 (07700 900123 is read too).")],
    email: Annotated[str, typer.Option("--email")],
    region: Annotated[list[str] | None, typer.Option("--region", help="london or national; repeat for both.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Add a mediator; prints it with its id and its private calendar feed's path."""
    from models.mediators import add_mediator
    from models.session_views import mediator_view

    regions = region or ["national"]
    for value in regions:
        if value not in ("london", "national"):
            raise typer.BadParameter(f"{value!r}: london or national", param_hint="--region")
    with _transaction() as db:
        mediator = add_mediator(db, name=name, mobile=mobile, email=email, regions=regions)
        db.flush()
        view = mediator_view(mediator, with_token=True)
    if as_json:
        print_json(view)
    else:
        typer.echo(f"mediator {view['id']}: {view['name']}; calendar feed {view['calendar_path']}")


@mediators_app.command("list")
def mediators_list(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Mediators, by id."""
    from models.session_views import mediator_view
    from models.sessions import Mediator

    with Session(checked_engine()) as db:
        views = [mediator_view(m) for m in db.exec(select(Mediator).order_by(col(Mediator.id))).all()]
    if as_json:
        for view in views:
            print_json(view)
        return
    rows = [v | {"regions": ",".join(v["regions"])} for v in views]
    print_table(["id", "name", "mobile", "email", "regions", "active"], rows)


@mediators_app.command("new-calendar-link")
def mediators_new_calendar_link(
    mediator_id: Annotated[int, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Revoke the mediator's calendar feed address and make a new one."""
    from models.mediators import revoke_calendar_token
    from models.session_views import mediator_view

    with _transaction() as db:
        view = mediator_view(revoke_calendar_token(db, mediator_id), with_token=True)
    print_json(view) if as_json else typer.echo(f"new calendar feed {view['calendar_path']}; the old one is revoked")


@mediators_app.command("edit")
def mediators_edit(
    mediator_id: Annotated[int, typer.Argument(metavar="ID")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    mobile: Annotated[str | None, typer.Option("--mobile", help="Reminders not yet sent go to the new number.")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    region: Annotated[list[str] | None, typer.Option("--region", help="london or national; repeat for both.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Change a mediator's details; what is not given stays as it is."""
    from models.mediators import MediatorRefused, edit_mediator
    from models.session_views import mediator_view
    from models.sessions import Mediator

    with _transaction() as db:
        current = db.get(Mediator, mediator_id)
        if current is None:
            raise MediatorRefused(f"no mediator {mediator_id}; `mediators list` shows them")
        mediator = edit_mediator(
            db,
            mediator_id,
            name=current.name if name is None else name,
            mobile=current.mobile if mobile is None else mobile,
            email=current.email if email is None else email,
            regions=current.regions if region is None else region,
        )
        view = mediator_view(mediator)
    print_json(view) if as_json else typer.echo(f"mediator {view['id']}: {view['name']}, updated")


@mediators_app.command("deactivate")
def mediators_deactivate(mediator_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """No longer offered for bookings (refused while they have a session ahead); their history is kept."""
    from models.mediators import set_active

    with _transaction() as db:
        mediator = set_active(db, mediator_id, False)
        typer.echo(f"mediator {mediator.id}: {mediator.name}, inactive")


@mediators_app.command("reactivate")
def mediators_reactivate(mediator_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Offered for bookings again."""
    from models.mediators import set_active

    with _transaction() as db:
        mediator = set_active(db, mediator_id, True)
        typer.echo(f"mediator {mediator.id}: {mediator.name}, active")


# ---- sessions ------------------------------------------------------------------------------------------


def _print_session(view: dict, as_json: bool) -> None:
    if as_json:
        print_json(view)
        return
    typer.echo(f"session {view['id']} ({view['case_reference']}): {view['start']} to {view['end']}, {view['mode']}")
    for reminder in view["reminders"]:
        typer.echo(
            f"  reminder {reminder['offset']} to {reminder['to']} at {reminder['due_at']} ({reminder['status']})"
        )
    for warning in view["warnings"]:
        sys.stderr.write(f"warning: {warning}\n")


@sessions_app.command("book")
def sessions_book(
    case_reference: Annotated[str, typer.Argument(metavar="CASE_REFERENCE")],
    start: Annotated[str, typer.Option("--start", help="ISO, local time unless an offset is given.")],
    end: Annotated[str, typer.Option("--end")],
    mode: Annotated[str, typer.Option("--mode", help="in_person, phone or video.")],
    mediator: Annotated[list[int], typer.Option("--mediator", help="A mediator's id; repeat for co-mediators.")],
    venue: Annotated[str | None, typer.Option("--venue", help="In person: the address.")] = None,
    dial_in: Annotated[str | None, typer.Option("--dial-in", help="Phone: the number (and PIN).")] = None,
    link: Annotated[str | None, typer.Option("--link", help="Video: the https:// link.")] = None,
    notes: Annotated[str, typer.Option("--notes", help="For the team; not sent to anyone.")] = "",
    short_notice_agreed: Annotated[
        bool, typer.Option("--short-notice-agreed", help="The parties agreed to under 5 working days' notice.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Book a session: confirmations with an invitation to each party and mediator, reminders planned."""
    from models.session_ops import book_session
    from models.session_views import session_view

    settings = get_settings()
    with _transaction() as db:
        outcome = book_session(
            db,
            case_reference=case_reference,
            start=_when(start, "--start"),
            end=_when(end, "--end"),
            mode=mode,
            mediator_ids=mediator,
            venue=venue,
            dial_in=dial_in,
            link=link,
            notes=notes,
            short_notice_agreed=short_notice_agreed,
            settings=settings,
            calendar=_calendar(),
            actor="cli",
        )
        db.flush()
        view = session_view(db, outcome.session, settings.zone, warnings=outcome.warnings)
    _print_session(view, as_json)


@sessions_app.command("reschedule")
def sessions_reschedule(
    session_id: Annotated[int, typer.Argument(metavar="ID")],
    start: Annotated[str, typer.Option("--start")],
    end: Annotated[str, typer.Option("--end")],
    short_notice_agreed: Annotated[bool, typer.Option("--short-notice-agreed")] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Move a session: everyone gets the update, pending reminders are replaced."""
    from models.session_ops import reschedule_session
    from models.session_views import session_view

    settings = get_settings()
    with _transaction() as db:
        outcome = reschedule_session(
            db,
            session_id,
            start=_when(start, "--start"),
            end=_when(end, "--end"),
            short_notice_agreed=short_notice_agreed,
            settings=settings,
            calendar=_calendar(),
            actor="cli",
        )
        db.flush()
        view = session_view(db, outcome.session, settings.zone, warnings=outcome.warnings)
    _print_session(view, as_json)


@sessions_app.command("cancel")
def sessions_cancel(
    session_id: Annotated[int, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Cancel a session: reminders withdrawn, everyone told (by SMS too if already reminded)."""
    from models.session_ops import cancel_session
    from models.session_views import session_view

    settings = get_settings()
    with _transaction() as db:
        outcome = cancel_session(db, session_id, settings=settings, actor="cli")
        db.flush()
        view = session_view(db, outcome.session, settings.zone) | {"withdrawn_reminders": outcome.withdrawn}
    _print_session(view, as_json)


@sessions_app.command("held")
def sessions_held(
    session_id: Annotated[int, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """The session took place: the day mediation was held is recorded (the certificate is due 3 working
    days after it)."""
    from models.session_ops import mark_held
    from models.session_views import session_view

    settings = get_settings()
    with _transaction() as db:
        outcome = mark_held(db, session_id, settings=settings, actor="cli")
        db.flush()
        view = session_view(db, outcome.session, settings.zone)
    _print_session(view, as_json)


@sessions_app.command("outcome")
def sessions_outcome(
    session_id: Annotated[int, typer.Argument(metavar="ID")],
    outcome: Annotated[str, typer.Option("--outcome", help="agreement | partial_agreement | no_agreement")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Record a session held and its outcome: reminders withdrawn, mediation held on the case's clock."""
    from models.session_outcome import record_outcome
    from models.session_views import session_view

    settings = get_settings()
    with _transaction() as db:
        item = record_outcome(db, session_id, outcome=outcome, settings=settings, actor="cli")
        db.flush()
        view = session_view(db, item, settings.zone)
    _print_session(view, as_json)


@sessions_app.command("list")
def sessions_list(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Sessions, soonest first."""
    from models.session_views import session_view
    from models.sessions import MediationSession

    zone = get_settings().zone
    with Session(checked_engine()) as db:
        items = db.exec(select(MediationSession).order_by(col(MediationSession.start_at))).all()
        views = [session_view(db, item, zone) for item in items]
    if as_json:
        for view in views:
            print_json(view)
        return
    rows = [v | {"start": v["start"][:16], "end": v["end"][11:16], "reminders": len(v["reminders"])} for v in views]
    print_table(["id", "case_reference", "start", "end", "mode", "status", "reminders"], rows)


# ---- the statutory clock ---------------------------------------------------------------------------------


def deadlines(
    case_reference: Annotated[str | None, typer.Option("--case", help="One case only.")] = None,
    on: Annotated[
        datetime | None, typer.Option("--on", formats=["%Y-%m-%d"], help="As on this day (YYYY-MM-DD); default today.")
    ] = None,
    record: Annotated[
        tuple[str, datetime] | None,
        typer.Option(
            "--record",
            metavar="KIND DATE",
            help="Record a dated event on --case first (mediation_requested, la_told, mediation_held, "
            "mediation_unarranged, la_decision_letter, health_commissioner_told, contact).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Each case's statutory deadlines: due date, working days left, open / met / missed."""
    from models.case_clock import all_deadlines, case_deadlines, record_event
    from models.case_queries import case_id_for_reference
    from models.cases import Case
    from models.types import utcnow

    calendar = _calendar()
    today: date = on.date() if on else calendar.local_date(utcnow())
    with _transaction() as db:
        if case_reference:
            case_id = case_id_for_reference(db, case_reference)  # a merged case's: the survivor
            case = db.get(Case, case_id) if case_id is not None else None
            if case is None or case.id is None:
                sys.stderr.write(f"no case {case_reference}; `cases list` shows them\n")
                raise typer.Exit(1)
            if record:
                record_event(db, case.id, record[0], record[1].date(), actor="cli")
                db.flush()
            items = case_deadlines(db, case, calendar, today)
        elif record:
            raise typer.BadParameter("--record needs --case", param_hint="--record")
        else:
            items = all_deadlines(db, calendar, today)
        views = [item.as_dict() for item in items]
    if as_json:
        for view in views:
            print_json(view)
        return
    print_table(["reference", "kind", "due", "working_days_left", "status"], views)


@certificate_app.command("issue")
def certificate_issue(
    case_reference: Annotated[str, typer.Argument(metavar="CASE_REFERENCE")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Issue the mediation certificate: a PDF emailed to the parent or young person, the date recorded."""
    from models.certificates import issue_certificate

    with _transaction() as db:
        issued = issue_certificate(db, case_reference, settings=get_settings(), calendar=_calendar(), actor="cli")
    view = {
        "case_reference": issued.case_reference,
        "issued_on": issued.issued_on.isoformat(),
        "mediation_took_place": issued.mediation_took_place,
        "emails": len(issued.emails),
        "deadline_status": issued.status,
    }
    if as_json:
        print_json(view)
    else:
        typer.echo(f"certificate for {view['case_reference']} issued {view['issued_on']} ({view['deadline_status']})")
