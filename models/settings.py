"""The one settings object. Every MDESK_* variable is a field here; nothing else reads os.environ.

Built once at start-up (`get_settings()`) and passed in; tests build their own with overrides:
`Settings(database_url=..., maildir=...)`. With nothing configured it runs on embedded defaults:
SQLite under ./var/, a Maildir drop folder under ./var/, console transports.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Security = Literal["ssl", "starttls", "none"]


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
    mail_from: str = Field("referrals@mediation-desk.example.org", description="The referrals address.")
    service_name: str = "Mediation Desk"

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
    outbox_max_attempts: int = 8
    outbox_batch: int = 50
    outbox_lease_seconds: int = Field(
        120, description="A row claimed by a dispatcher that died is taken over after this long."
    )

    # Web.
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    log_level: str = "INFO"

    @field_validator("var_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'mdesk.sqlite3'}"

    @property
    def effective_maildir(self) -> Path:
        return (self.maildir or self.var_dir / "maildir").expanduser().resolve()

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


@cache
def get_settings() -> Settings:
    return Settings()
