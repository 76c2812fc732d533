"""The one settings object. Every MDESK_* variable is a field here; nothing else reads os.environ.

Built once at start-up (`get_settings()`) and passed in; tests build their own with overrides:
`Settings(database_url=..., maildir=...)`. With nothing configured it runs on embedded defaults:
SQLite under ./var/, a Maildir drop folder under ./var/, console transports.
"""

from __future__ import annotations

import re
from datetime import time
from email.errors import HeaderParseError
from email.headerregistry import HeaderRegistry
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.reminder_plan import Offset, QuietHours, parse_offsets, parse_quiet_hours, parse_time_of_day

Security = Literal["ssl", "starttls", "none"]
_PORT_EXAMPLES = {
    "imap_port": "such as 993 (ssl) or 143 (starttls); 0: the one for MDESK_IMAP_SECURITY",
    "smtp_port": "such as 465 (ssl), 587 (starttls) or 25; 0: the one for MDESK_SMTP_SECURITY",
    "http_port": "such as 8000",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MDESK_", env_file=".env", extra="ignore")

    # Where state lives.
    var_dir: Path = Field(Path("var"), description="Folder for the embedded database and drop folder.")
    database_url: str = Field(
        "", description="sqlite:///PATH or postgresql+psycopg://...; empty: SQLite at VAR_DIR/mdesk.sqlite3."
    )

    # The referrals mailbox. Setting imap_host switches the source from the Maildir to IMAP.
    maildir: Path | None = Field(None, description="The local drop folder; empty: VAR_DIR/maildir.")
    imap_host: str = ""
    imap_port: int = Field(0, description="0: 993 for ssl, 143 otherwise.")
    imap_user: str = ""
    imap_password: str = ""
    imap_security: Security = "ssl"
    imap_folder: str = "INBOX"
    imap_processed_folder: str = Field("", description="Empty: mark processed mail with a flag only.")
    imap_processed_flag: str = "$MdeskProcessed"
    imap_idle_seconds: int = Field(25 * 60, description="Re-issue IDLE this often (RFC 2177: < 29 min).")
    imap_poll_seconds: float = Field(30.0, description="Poll interval where the server has no IDLE.")

    # What we send. Setting smtp_host switches the email transport from the console to SMTP.
    smtp_host: str = ""
    smtp_port: int = Field(0, description="0: 465 for ssl, 587 for starttls, 25 for none.")
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_security: Security = "starttls"
    smtp_timeout: float = 30.0
    mail_from: str = Field(
        "referrals@mediation-desk.example.org",
        description='The referrals address, "referrals@example.org" or "Name <referrals@example.org>".',
    )
    service_name: str = "Mediation Desk"
    trusted_authserv_id: str = Field(
        "",
        description="The authserv-id our own mail server writes in Authentication-Results (RFC 8601); only "
        "those headers are believed: dmarc=fail there means no acknowledgement, and dmarc=pass for our "
        "own domain lets our website's form be acknowledged. Empty: no such header is believed.",
    )

    # Throttles and retries.
    intake_workers: int = Field(
        0,
        description="Processes that parse, classify and extract incoming mail while intake writes the "
        "messages before it (2 on a machine with 2+ cores); 0: one while read_timeout_seconds bounds reading, "
        "else all in the intake process.",
    )
    read_timeout_seconds: float = Field(
        20.0,
        ge=0,
        description="The longest a message may take to read (parse, classify, extract); past it the message "
        "is quarantined unread with the reason. Reading then runs in worker processes (at least one), "
        "which can be stopped whatever they are doing; 0: no bound (read in the intake process "
        "when intake_workers is 0).",
    )
    auto_reply_window_hours: int = Field(24, description="At most one automatic message per address in it.")
    ack_max_age_hours: int = Field(
        168,
        description="Mail that reached the mailbox longer ago than this (a mailbox with history, a long "
        "outage) still opens its case, but gets no acknowledgement; 0: no limit.",
    )
    max_message_mb: float = Field(
        40.0,
        gt=0,
        description="A message larger than this (in MB, 1 MB = 1,048,576 bytes) is stored raw and quarantined "
        "unread; its sender, if a person, is told it was too large and given the office's number.",
    )
    attachment_max_mb: float = Field(
        15.0,
        gt=0,
        description="An attachment larger than this (MB) is not read for the referral's fields; the case "
        "says it needs a person to read.",
    )
    attachment_read_seconds: float = Field(
        5.0,
        gt=0,
        description="The longest one attachment (PDF, Word, OpenDocument) may take to read; past it what was "
        "read counts and the rest is noted as unread. Within read_timeout_seconds for the whole message.",
    )
    outbox_max_attempts: int = 8
    outbox_batch: int = 50
    outbox_lease_seconds: int = Field(
        120, description="A row claimed by a dispatcher that died is taken over after this long."
    )

    # Sessions, reminders and the statutory clock (issue 11).
    timezone: str = Field("Europe/London", description="Where the service works: session times and working days.")
    reminder_offsets: str = Field(
        "2wd@10:00,2h",
        description="When session reminders go by SMS: Nwd@HH:MM (N working days before, at that time), "
        "Nd@HH:MM, Nh, Nm; comma-separated.",
    )
    sms_quiet_hours: str = Field(
        "21:00-08:00", description="No reminder SMS in this window (moved to its edge); empty: none."
    )
    digest_time: str = Field("08:00", description="When each office's deadline digest email goes (local time).")

    # Web.
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_base_url: str = Field(
        "",
        description="The app's address as Twilio reaches it (https://desk.example.org), which webhook "
        "signatures are checked against; empty: http://HTTP_HOST:HTTP_PORT.",
    )

    # Twilio (telephony/). Without an account SID and auth token SMS go to the console transport and
    # webhooks are checked against a development token printed at start-up.
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_messaging_service_sid: str = Field("", description="Send SMS through it; empty: from the office's number.")
    twilio_api_url: str = Field("https://api.twilio.com", description="Twilio's REST API (tests: a local server).")
    twilio_keep_recordings: bool = Field(False, description="Leave voicemail recordings at Twilio once stored here.")
    twilio_ring_seconds: int = Field(20, ge=5, le=600, description="How long the office phones ring.")
    twilio_voicemail_seconds: int = Field(180, ge=10, le=3600, description="The longest voicemail recorded.")

    # Sign-in to the coordinators' desk (web/).
    session_idle_minutes: int = Field(
        30, gt=0, description="A coordinator idle this long is signed out (their next request asks to sign in)."
    )
    cookie_secure: bool = Field(
        True,
        description="Send the sign-in cookie over HTTPS only; false only for plain http on loopback "
        "(development, tests): a browser drops a Secure cookie over http.",
    )
    login_max_failures: int = Field(
        5,
        gt=0,
        description="Failed sign-ins per address (and 4x that per client address) in 15 minutes "
        "before sign-in is refused for the rest of the 15 minutes.",
    )
    retention_years: int = Field(
        6, gt=0, description="Closed cases are anonymised this many years after they closed (the retention job)."
    )

    log_level: str = "INFO"

    # What mail_from says, parsed by parse_mail_from (validated at start-up, cached per value): the
    # rest of the program reads these, never mail_from itself.
    @field_validator("mail_from", mode="after")
    @classmethod
    def _one_address(cls, value: str) -> str:
        parse_mail_from(value)  # a ValueError here is a ValidationError naming mail_from
        return value

    @property
    def mail_from_address(self) -> str:
        """The bare referrals address, lower-case: "referrals@example.org"."""
        return parse_mail_from(self.mail_from)

    @property
    def mail_from_domain(self) -> str:
        return self.mail_from_address.rpartition("@")[2]

    @property
    def own_addresses(self) -> tuple[str, ...]:
        """The addresses that are us (mail from them is our own)."""
        return (self.mail_from_address,)

    @field_validator("timezone", mode="after")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected a time zone name such as Europe/London") from None
        return value

    @field_validator("reminder_offsets", mode="after")
    @classmethod
    def _offsets(cls, value: str) -> str:
        parse_offsets(value)  # a ValueError here names the setting
        return value

    @field_validator("sms_quiet_hours", mode="after")
    @classmethod
    def _quiet(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @field_validator("digest_time", mode="after")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        parse_time_of_day(value)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def offsets(self) -> tuple[Offset, ...]:
        return parse_offsets(self.reminder_offsets)

    @property
    def quiet_hours(self) -> QuietHours | None:
        return parse_quiet_hours(self.sms_quiet_hours)

    @property
    def digest_at(self) -> time:
        return parse_time_of_day(self.digest_time)

    @field_validator("var_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("database_url", mode="after")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        # Heroku-style and driverless PostgreSQL URLs mean PostgreSQL; psycopg 3 is the driver we ship.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if "://" not in value:
            # Path(value).absolute(): a relative path is relative to where the command runs.
            raise ValueError(f"expected a URL, not a file path: sqlite:///{Path(value).expanduser().absolute()}")
        if not value.startswith(("sqlite://", "sqlite+pysqlite://", "postgresql+psycopg://")):
            raise ValueError("expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE")
        return value

    @field_validator("imap_security", "smtp_security", mode="before")
    @classmethod
    def _security(cls, value: object) -> str:
        # Case does not matter. "tls" is RFC 8314's "implicit TLS" (TLS from the first byte, ports
        # 993/465), which is what "ssl" means here; STARTTLS is always spelled out.
        word = str(value).strip().lower()
        word = "ssl" if word == "tls" else word
        if word not in ("ssl", "starttls", "none"):
            raise ValueError("expected ssl (or tls: TLS from the start), starttls or none")
        return word

    @field_validator("imap_port", "smtp_port", "http_port", mode="before")
    @classmethod
    def _port(cls, value: object, info: ValidationInfo) -> object:
        text = str(value).strip()
        if not text.isdigit() or int(text) > 65535:
            assert info.field_name is not None  # a field validator always has its field's name
            raise ValueError(f"expected a port number, {_PORT_EXAMPLES[info.field_name]}")
        return int(text)

    @field_validator("public_base_url", "twilio_api_url", mode="after")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", value):
            raise ValueError("expected a URL such as https://desk.example.org (no query, no fragment)")
        return value

    @property
    def effective_public_base_url(self) -> str:
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return self.public_base_url or f"http://{host}:{self.http_port}"

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def recordings_dir(self) -> Path:
        """Voicemail recordings, beside the database and the raw mail (never in the database)."""
        return self.var_dir / "recordings"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'mdesk.sqlite3'}"

    @property
    def effective_maildir(self) -> Path:
        return (self.maildir or self.var_dir / "maildir").expanduser().resolve()

    @property
    def max_message_bytes(self) -> int:
        return int(self.max_message_mb * 1024 * 1024)

    @property
    def attachment_max_bytes(self) -> int:
        return int(self.attachment_max_mb * 1024 * 1024)

    @property
    def effective_imap_port(self) -> int:
        return self.imap_port or (993 if self.imap_security == "ssl" else 143)

    @property
    def effective_smtp_port(self) -> int:
        return self.smtp_port or {"ssl": 465, "starttls": 587, "none": 25}[self.smtp_security]

    @property
    def source_kind(self) -> Literal["imap", "maildir"]:
        return "imap" if self.imap_host else "maildir"

    @property
    def email_transport_kind(self) -> Literal["smtp", "console"]:
        return "smtp" if self.smtp_host else "console"


_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


@cache
def parse_mail_from(value: str) -> str:
    """The bare lower-case address of a mail_from value; ValueError unless it is exactly one valid
    address, bare or as "Name <address>" (the name is dropped: From shows MDESK_SERVICE_NAME)."""
    expected = 'expected one email address, as referrals@example.org or "Name <referrals@example.org>"'
    try:
        header = HeaderRegistry()("from", value)
        # typeshed types every header the registry makes as BaseHeader; the one for "from" is an AddressHeader
        # (whose stub cannot be combined with BaseHeader's, so no isinstance narrows it either).
        addresses = header.addresses  # type: ignore[attr-defined]
    except (HeaderParseError, IndexError, ValueError) as exc:  # the stdlib parser fails on e.g. "a@"
        raise ValueError(expected) from exc
    if len(addresses) != 1 or header.defects:
        raise ValueError(expected)
    address = addresses[0]
    local, domain = address.username, address.domain.lower()
    if not local or not _HOSTNAME.match(domain) or len(local.encode()) > 64:
        raise ValueError(expected)
    return f"{local}@{domain}".lower()


@cache
def get_settings() -> Settings:
    return Settings()


class _LogLevelOnly(BaseSettings):
    model_config = Settings.model_config
    log_level: str = "INFO"


def log_level_even_if_invalid() -> str:
    """MDESK_LOG_LEVEL, read the same way, when other settings fail validation: the error report
    shows the traceback only at DEBUG."""
    try:
        return get_settings().log_level
    except ValidationError:
        return _LogLevelOnly().log_level
