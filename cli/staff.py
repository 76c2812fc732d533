"""The command line's face of the desk's accounts and of data protection (issue 12): staff accounts,
what we hold about a person, anonymising a closed case, the retention run."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from sqlmodel import Session

from cli.output import checked_engine, console
from models.settings import get_settings

user_app = typer.Typer(help="Staff accounts for the web inbox.", no_args_is_help=True)
person_app = typer.Typer(help="What we hold about a person (data protection).", no_args_is_help=True)
retention_app = typer.Typer(help="Anonymise closed cases after MDESK_RETENTION_YEARS.", no_args_is_help=True)


def register(app: typer.Typer, cases_app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(person_app, name="person")
    app.add_typer(retention_app, name="retention")
    cases_app.command("anonymise")(cases_anonymise)


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="Their email address: what they sign in with.")],
    name: Annotated[str, typer.Option("--name", help="Their name, as colleagues read it.")],
    role: Annotated[str, typer.Option("--role", help="coordinator or admin (admins also read the audit log).")],
    office: Annotated[str | None, typer.Option("--office", help="london or national; none: both.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Add a coordinator or an admin who can sign in to the web inbox (password: 12 characters or more)."""
    from models.db import session_scope
    from models.staff_ops import StaffError, add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = checked_engine(create=True)  # the first account is often made before the first run
    try:
        with session_scope(engine) as session:
            add_user(session, email=email, name=name, role=role, office=office, password=password)
    except StaffError as exc:
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(2) from None
    console.print(f"{role} {email.strip().lower()} added", highlight=False)


@person_app.command("export")
def person_export(email: Annotated[str, typer.Argument(help="Their email address.")]) -> None:
    """Everything held about the person with this address, as one JSON document (a subject access request)."""
    from models.privacy import PrivacyRefused
    from models.privacy import person_export as export

    with Session(checked_engine()) as session:
        try:
            document = export(session, email=email)
        except PrivacyRefused as exc:
            sys.stderr.write(f"{exc}\n")
            raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")


def cases_anonymise(reference: Annotated[str, typer.Argument(help="The closed case's reference.")]) -> None:
    """Remove a closed case's personal data; what the reports count stays."""
    from models.case_queries import case_id_for_reference
    from models.db import session_scope
    from models.privacy import PrivacyRefused, anonymise_case

    with session_scope(checked_engine()) as session:
        case_id = case_id_for_reference(session, reference, follow_merge=False)  # never the survivor by mistake
        if case_id is None:
            sys.stderr.write(f"no case {reference}\n")
            raise typer.Exit(1)
        try:
            anonymise_case(session, case_id, actor="cli")
        except PrivacyRefused as exc:
            sys.stderr.write(f"{reference}: {exc}\n")
            raise typer.Exit(1) from None
    console.print(f"{reference.upper()} anonymised", highlight=False)


@retention_app.command("run")
def retention_run() -> None:
    """Anonymise closed cases older than MDESK_RETENTION_YEARS (the daemon also runs this daily)."""
    from models.db import session_scope
    from models.privacy import run_retention

    with session_scope(checked_engine()) as session:
        count = run_retention(session, years=get_settings().retention_years)
    console.print(f"{count} closed case(s) anonymised", highlight=False)
