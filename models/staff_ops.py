"""Staff accounts and signing in: argon2 passwords, sessions kept server-side, a rate limit on failures.

A session cookie holds a random 256-bit token; the database keeps only its SHA-256, with the staff
member and the form token (CSRF) of that session. Sign-out and the idle timeout delete the row, so a
stolen cookie dies with them. Failures are counted per address and per client address over a window:
past the limit, sign-in is refused without checking the password (and says when to try again).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from models.case_ops import audit
from models.desk import LoginAttempt, StaffSession
from models.rows import insert_row, insert_rows, run, table
from models.staff import StaffUser
from models.types import utcnow

ROLES = ("coordinator", "admin")
OFFICES = ("london", "national")
LOGIN_WINDOW = timedelta(minutes=15)
SESSION_MAX_AGE = timedelta(hours=12)  # signed in at most this long, however active
_TOUCH_EVERY = timedelta(seconds=30)  # last_seen_at is written at most this often per session

_hasher = PasswordHasher()
# Verified when the address is unknown, so an unknown address takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

USER = table(StaffUser)
SESSION = table(StaffSession)
ATTEMPT = table(LoginAttempt)


class StaffError(ValueError):
    """A request about staff that cannot be met, said in one line."""


@dataclass(frozen=True, slots=True)
class Staff:
    """The signed-in person, as pages and operations need them."""

    id: int
    email: str
    name: str
    role: str
    office: str | None
    csrf_token: str
    session_id: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def add_user(session: Session, *, email: str, name: str, role: str, office: str | None, password: str) -> int:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise StaffError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if office is not None and office not in OFFICES:
        raise StaffError(f"office must be one of {', '.join(OFFICES)}, not {office!r}")
    if len(password) < 12:
        raise StaffError("the password must be at least 12 characters long")
    if not name.strip():
        raise StaffError("the name must not be empty")
    if run(session, select(USER.c.id).where(USER.c.email == email)).first() is not None:
        raise StaffError(f"there is already an account for {email}")
    row = {
        "email": email,
        "name": name.strip(),
        "role": role,
        "office": office,
        "password_hash": hash_password(password),
    }
    user_id = insert_row(session, StaffUser, row)
    audit(session, actor="system", action="staff.added", entity="staff", entity_id=user_id, role=role)
    return user_id


class RateLimited(Exception):
    def __init__(self, retry_after: timedelta) -> None:
        super().__init__(f"too many failed sign-ins: try again in {max(1, int(retry_after.total_seconds() // 60))} min")
        self.retry_after = retry_after


def _failures_since(session: Session, column: str, value: str, since: datetime) -> tuple[int, datetime | None]:
    where = (ATTEMPT.c[column] == value, ATTEMPT.c.at >= since, ATTEMPT.c.ok.is_(False))
    count, oldest = run(session, select(func.count(), func.min(ATTEMPT.c.at)).where(*where)).one()
    if oldest is not None and oldest.tzinfo is None:  # an aggregate skips the column type on SQLite
        oldest = oldest.replace(tzinfo=utcnow().tzinfo)
    return int(count), oldest


def check_rate(session: Session, email: str, client: str, *, max_failures: int, now: datetime | None = None) -> None:
    """RateLimited when this address, or this client, failed too often in the window."""
    now = now or utcnow()
    since = now - LOGIN_WINDOW
    for column, value, limit in (("email", email, max_failures), ("client", client, 4 * max_failures)):
        count, oldest = _failures_since(session, column, value, since)
        if count >= limit and oldest is not None:
            raise RateLimited(oldest + LOGIN_WINDOW - now)


def sign_in(session: Session, email: str, password: str, *, client: str, max_failures: int) -> tuple[str, Staff] | None:
    """A new session (its cookie token, and who) for the right password; None for a wrong one.
    RateLimited past the limit (nothing checked, nothing recorded)."""
    email = email.strip().lower()[:320]
    client = client[:64]
    check_rate(session, email, client, max_failures=max_failures)
    user = run(session, select(USER).where(USER.c.email == email, USER.c.active.is_(True))).first()
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    insert_rows(session, LoginAttempt, [{"email": email, "client": client, "ok": ok}])
    run(session, delete(ATTEMPT).where(ATTEMPT.c.at < utcnow() - 2 * LOGIN_WINDOW))
    if not ok or user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        run(session, update(USER).where(USER.c.id == user.id).values(password_hash=hash_password(password)))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    session_id = insert_row(
        session,
        StaffSession,
        {"token_hash": _digest(token), "staff_id": user.id, "csrf_token": csrf, "created_at": now, "last_seen_at": now},
    )
    audit(session, actor=user.email, action="staff.signed_in", entity="staff", entity_id=user.id)
    return token, Staff(user.id, user.email, user.name, user.role, user.office, csrf, session_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """What a cookie's session is now: who (None: nobody), and what to write (touch or end it)."""

    staff: Staff | None
    session_id: int | None = None
    write: str | None = None  # "touch" | "end"


def check_token(session: Session, token: str, *, idle: timedelta) -> SessionCheck:
    """Who this cookie signs in; reads only. Unknown, idle too long, too old, or a deactivated account:
    nobody (and the session is to be ended)."""
    row = run(
        session,
        select(
            SESSION.c.id,
            SESSION.c.csrf_token,
            SESSION.c.created_at,
            SESSION.c.last_seen_at,
            USER.c.id.label("staff_id"),
            USER.c.email,
            USER.c.name,
            USER.c.role,
            USER.c.office,
            USER.c.active,
        )
        .join(USER, USER.c.id == SESSION.c.staff_id)
        .where(SESSION.c.token_hash == _digest(token)),
    ).first()
    if row is None:
        return SessionCheck(None)
    now = utcnow()
    m = row._mapping
    if now - m["last_seen_at"] > idle or now - m["created_at"] > SESSION_MAX_AGE or not m["active"]:
        return SessionCheck(None, m["id"], "end")
    staff = Staff(m["staff_id"], m["email"], m["name"], m["role"], m["office"], m["csrf_token"], m["id"])
    return SessionCheck(staff, m["id"], "touch" if now - m["last_seen_at"] > _TOUCH_EVERY else None)


def record_check(session: Session, check: SessionCheck) -> None:
    """The write a check asked for: the session kept alive, or ended."""
    if check.write == "touch":
        run(session, update(SESSION).where(SESSION.c.id == check.session_id).values(last_seen_at=utcnow()))
    elif check.write == "end":
        run(session, delete(SESSION).where(SESSION.c.id == check.session_id))


def staff_for_token(session: Session, token: str, *, idle: timedelta) -> Staff | None:
    """`check_token` and its write in one transaction (for callers that have one open)."""
    check = check_token(session, token, idle=idle)
    record_check(session, check)
    return check.staff


def sign_out(session: Session, staff: Staff) -> None:
    run(session, delete(SESSION).where(SESSION.c.id == staff.session_id))
    audit(session, actor=staff.email, action="staff.signed_out", entity="staff", entity_id=staff.id)


def staff_names(session: Session) -> list[tuple[int, str]]:
    """Active staff, by name: whom a case can be assigned to."""
    rows = run(session, select(USER.c.id, USER.c.name).where(USER.c.active.is_(True)).order_by(USER.c.name))
    return [(r[0], r[1]) for r in rows]
