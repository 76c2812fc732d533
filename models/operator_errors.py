"""Operator mistakes as one line: the setting, its value (never a password), what is expected.

The command line prints `OperatorError.line` alone and exits with `exit_code`; the traceback only
at MDESK_LOG_LEVEL=DEBUG. The exit code says who has to act:

    2  configuration: the value is wrong before any server is asked (malformed, unknown scheme, a
       database file or folder that is not there); fix the setting.
    1  a server (or the database file) was asked and said no: unreachable, login refused, no such
       database, a damaged file. The setting may be right and the other side wrong.

Each translator below knows which settings were in play; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import imaplib
import re
import sqlite3
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imapclient.exceptions import LoginError
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from models.db import DatabaseDamaged, DatabaseMissing
from models.settings import Settings

CONFIGURATION = 2
REFUSED = 1

_PASSWORD_IN_URL = re.compile(r"(://[^/:@]*:)[^@/]*@")


class OperatorError(Exception):
    """A mistake the operator can fix, said in one line."""

    def __init__(self, line: str, exit_code: int) -> None:
        super().__init__(line)
        self.line = " ".join(line.split())  # one line, whatever the server's text held
        self.exit_code = exit_code


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, parseable or not."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return _PASSWORD_IN_URL.sub(r"\1***@", url)


def _shown(field: str, value: object) -> str:
    if "password" in field:
        return "(not shown)"
    return mask_url(str(value)) if isinstance(value, str) else str(value)


# -- settings ---------------------------------------------------------------------------------------


def is_settings_error(exc: BaseException) -> bool:
    return isinstance(exc, ValidationError) and exc.title == Settings.__name__


def from_settings_error(exc: ValidationError) -> OperatorError:
    """Every invalid MDESK_* value, in one line."""
    parts = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "literal_error":
            message = f"expected one of {error['ctx']['expected']}"
        elif message.startswith("Input should be "):  # pydantic's own wording for a wrong type
            message = "expected " + message.removeprefix("Input should be ")
        parts.append(f"MDESK_{field.upper()}={_shown(field, error['input'])}: {message}")
    return OperatorError("; ".join(parts), CONFIGURATION)


# -- the database -----------------------------------------------------------------------------------


def database_setting(settings: Settings) -> str:
    """The setting that chose the database, as `NAME=value` (password masked)."""
    if settings.database_url:
        return f"MDESK_DATABASE_URL={mask_url(settings.database_url)}"
    return f"MDESK_VAR_DIR={settings.var_dir} (database {settings.var_dir / 'mdesk.sqlite3'})"


def restore_advice(path: Path) -> str:
    return (
        f"restore it from a backup: stop the daemon, move {path} and any {path.name}-wal and {path.name}-shm "
        f"beside it out of the way, copy your latest `main.py db backup` file to {path}, start again"
    )


@contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """Opening, checking and upgrading the database at start-up: failures as one line."""
    where = database_setting(settings)
    try:
        yield
    except DatabaseMissing as exc:
        if exc.folder_missing:
            raise OperatorError(
                f"{where}: the folder {exc.path.parent} does not exist; expected an existing folder "
                "(only folders inside MDESK_VAR_DIR are created for you)",
                CONFIGURATION,
            ) from exc
        raise OperatorError(
            f"{where}: there is no database file at {exc.path}; expected an existing database "
            "(is the path right? `main.py db upgrade` or `main.py run` makes a new one)",
            CONFIGURATION,
        ) from exc
    except DatabaseDamaged as exc:
        raise OperatorError(
            f"the database {exc.path} is damaged (SQLite quick_check: {exc.detail}); {restore_advice(exc.path)}",
            REFUSED,
        ) from exc
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
        raise OperatorError(
            f"{where}: not a database URL we can use ({exc}); expected sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DATABASE",
            CONFIGURATION,
        ) from exc
    except sa_exc.DBAPIError as exc:
        raise _database_refused(where, exc) from exc


def _database_refused(where: str, exc: sa_exc.DBAPIError) -> OperatorError:
    detail = _server_detail(str(exc.orig))
    if isinstance(exc.orig, sqlite3.Error):
        if isinstance(exc.orig, sqlite3.OperationalError) and "locked" in detail:
            expected = "no other program holding the database locked"
        else:
            expected = "a folder that exists and is writable, and a SQLite database file (or none yet)"
        return OperatorError(f"{where}: SQLite cannot use the database ({detail}); expected {expected}", REFUSED)
    if "database" in detail and "does not exist" in detail:
        expected = "an existing database: create it (createdb NAME) or fix the name in the URL"
    elif "password" in detail or "role" in detail or "authentication" in detail:
        expected = "a user and password PostgreSQL accepts"
    else:
        expected = "a PostgreSQL server running and reachable at that host and port"
    return OperatorError(f"{where}: PostgreSQL said no ({detail}); expected {expected}", REFUSED)


def _server_detail(text: str) -> str:
    """The server's reason from a driver message: its first line, after "...port 5432 failed: "."""
    first = (text.strip().splitlines() or [""])[0]
    return " ".join(first.rsplit(" failed: ", 1)[-1].split())[:200] or "no detail"


# -- the mailbox ------------------------------------------------------------------------------------


@contextmanager
def mailbox_errors(settings: Settings) -> Iterator[None]:
    """Talking to the IMAP mailbox from a one-off command: a refusal as one line, exit 1.
    (The Maildir is a local folder: its errors keep their traceback.)"""
    if settings.source_kind != "imap":
        yield
        return
    server = f"{settings.imap_host}:{settings.effective_imap_port}"
    try:
        yield
    except LoginError as exc:
        raise OperatorError(
            f"MDESK_IMAP_USER={settings.imap_user}, MDESK_IMAP_PASSWORD=(not shown): the IMAP server {server} "
            f"refused the login ({_server_detail(_text(exc))}); expected the mailbox account's user and password",
            REFUSED,
        ) from exc
    except ssl.SSLError as exc:
        raise OperatorError(
            f"MDESK_IMAP_SECURITY={settings.imap_security}: TLS with {server} failed ({exc.reason or exc}); "
            "expected the security the port speaks (993: ssl, 143: starttls)",
            REFUSED,
        ) from exc
    except OSError as exc:
        raise OperatorError(
            f"MDESK_IMAP_HOST={settings.imap_host}, MDESK_IMAP_PORT={settings.effective_imap_port}: cannot reach "
            f"the IMAP server ({exc.strerror or exc}); expected an IMAP server listening there",
            REFUSED,
        ) from exc
    except imaplib.IMAP4.error as exc:
        raise OperatorError(
            f"MDESK_IMAP_FOLDER={settings.imap_folder}: the IMAP server {server} said no "
            f"({_server_detail(_text(exc))}); expected a folder the account can read",
            REFUSED,
        ) from exc


_BYTES_REPR = re.compile(r"""^b(['"])(.*)\1$""")


def _text(exc: BaseException) -> str:
    # imapclient hands the server's text on as bytes, or as the repr of bytes (LoginError).
    value = exc.args[0] if exc.args else ""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return _BYTES_REPR.sub(r"\2", text)
