"""The working-day calendar's own face, for coordinators checking a date by hand (issue 11)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from cli.output import print_json

if TYPE_CHECKING:
    from models.workdays import WorkingDayCalendar

workdays_app = typer.Typer(
    help="England's working days: not weekends, bank holidays (England and Wales), Christmas Day, Good Friday.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(workdays_app, name="workdays")


_START = typer.Argument(formats=["%Y-%m-%d"], metavar="START", help="YYYY-MM-DD", show_default=False)
_END = typer.Argument(formats=["%Y-%m-%d"], metavar="END", help="YYYY-MM-DD", show_default=False)


def _skipped(start: date, end: date, calendar: WorkingDayCalendar) -> list[dict[str, str]]:
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
        print_json({"start": start.date().isoformat(), "working_days": n, "date": end.isoformat(), "skipped": skipped})
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
        print_json({"start": first.isoformat(), "end": last.isoformat(), "working_days": count, "skipped": skipped})
    else:
        typer.echo(str(count))
