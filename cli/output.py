"""What every command shares: the database, checked before use, and how rows are printed."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from rich.console import Console

from models.operator_errors import database_errors
from models.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

console = Console()
JSON_HELP = "One JSON object per line instead of the table."


def checked_engine(*, create: bool = False, upgrade: bool = True) -> Engine:
    """The database, checked before use. `create` (run, ingest, db upgrade, user add): a new SQLite
    file may be made (and its folder, inside MDESK_VAR_DIR); otherwise a missing file is refused, not
    made. SQLite's quick_check runs before the schema is touched."""
    from models import db

    settings = get_settings()
    url = settings.effective_database_url
    with database_errors(settings):
        db.prepare_sqlite_file(url, var_dir=settings.var_dir, create=create)
        engine = db.make_engine(url)
        db.check_integrity(engine)
        if upgrade:
            db.upgrade(engine)
    return engine


def print_json(row: dict) -> None:
    sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def print_table(columns: list[str], rows: list[dict]) -> None:
    """Aligned columns, full width whatever the terminal (piped output is not cut or wrapped at 80)."""
    cells = [columns] + [["-" if row[c] in (None, "") else str(row[c]) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        sys.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() + "\n")
