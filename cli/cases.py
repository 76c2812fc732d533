"""The command line's case commands beyond listing (main.py): merging two cases of one family."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.output import checked_engine, console


def register(cases_app: typer.Typer) -> None:
    cases_app.command("merge")(cases_merge)


def cases_merge(
    reference_a: Annotated[str, typer.Argument(help="One case's reference.")],
    reference_b: Annotated[str, typer.Argument(help="The other case's reference.")],
) -> None:
    """Merge two cases of one family: the case whose statutory clock started first carries on, the
    other's messages, calls, sessions and people move onto it, and it is closed (its reference leads
    to the survivor). Running it again changes nothing."""
    from models.case_merge import MergeRefused, merge_cases
    from models.db import session_scope

    try:
        with session_scope(checked_engine()) as session:
            result = merge_cases(session, reference_a, reference_b, actor="cli")
    except MergeRefused as exc:
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(1) from None
    moved = ", ".join(f"{what} {n}" for what, n in result.moved.items())
    console.print(result.message() + (f" Moved onto it: {moved}." if moved else ""), highlight=False, soft_wrap=True)
