"""Sending a composed email: over SMTP, or recorded to a folder (the embedded default).

A transport either returns a provider id or raises one of three errors, which the email channel
(inbox.email_channel) passes on to the dispatcher: `TransportUnavailable` (the server cannot be
reached, or refuses our TLS, login or envelope sender: nothing can be sent until that changes, the
message is not at fault),
`TransientSendError` (a 4xx reply to this message, or a connection dropped while sending it: try
again later) or `PermanentSendError` (a 5xx reply to this message, with the server's code and text:
never retry; `undeliverable` set when the server says the recipient's mailbox does not exist).
They are defined in `models.outbox_claims`, shared with the SMS transport, and re-exported here.

`SmtpTransport.batch()` keeps one connection open for a run of sends; outside a batch every send
opens and closes its own. A transport is used by one worker at a time (it holds that connection).
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from models.outbox_claims import PermanentSendError, TransientSendError, TransportUnavailable
from models.settings import Settings
from models.types import utcnow

__all__ = [
    "ConsoleTransport",
    "EmailTransport",
    "PermanentSendError",
    "SmtpTransport",
    "TransientSendError",
    "TransportUnavailable",
    "transport_from_settings",
]

log = logging.getLogger(__name__)

Security = Literal["ssl", "starttls", "none"]

# Queue ids as MTAs announce them in the reply to DATA: Postfix "250 2.0.0 Ok: queued as 4Z1x2Y3",
# Exim "250 OK id=1tAbCd-000123-Ef". Anything else falls back to the Message-ID.
_QUEUE_ID = (
    re.compile(r"queued as\s+([A-Za-z0-9][A-Za-z0-9._:-]*)", re.IGNORECASE),
    re.compile(r"\bid=([A-Za-z0-9][A-Za-z0-9._:-]*)"),
)


@runtime_checkable
class EmailTransport(Protocol):
    def send(self, msg: EmailMessage) -> str:
        """Deliver or record `msg`; the provider's id for it. Raises Transient/PermanentSendError."""
        ...


# --- SMTP -----------------------------------------------------------------------------------------


class _RemembersDataReply:
    """smtplib drops the server's reply to DATA, which is where the queue id is: keep it."""

    last_data_reply: bytes = b""

    def data(self, msg):
        code, reply = super().data(msg)  # type: ignore[misc]
        self.last_data_reply = reply
        return code, reply


class _SMTP(_RemembersDataReply, smtplib.SMTP):
    pass


class _SMTPS(_RemembersDataReply, smtplib.SMTP_SSL):
    pass


# Refusals of one message, after which smtplib has reset the session so it can carry the next.
_REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int,
        security: Security = "starttls",
        user: str = "",
        password: str = "",
        timeout: float = 30.0,
        *,
        envelope_from: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if security not in ("ssl", "starttls", "none"):
            raise ValueError(f"unknown SMTP security {security!r}: ssl, starttls or none")
        self.host = host
        self.port = port
        self.security = security
        self.user = user
        self.password = password
        self.timeout = timeout
        self.envelope_from = envelope_from  # None: the From header's address
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.local_hostname = local_hostname
        self._batch_depth = 0
        self._connection: smtplib.SMTP | None = None
        self._batch_outage: BaseException | None = None

    @contextmanager
    def batch(self) -> Iterator[SmtpTransport]:
        """Reuse one connection for every send inside; it is opened lazily and closed at the end.

        If the server cannot be reached, the rest of the batch fails at once with the same error
        instead of each message waiting out its own connection timeout.
        """
        self._batch_depth += 1
        try:
            yield self
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._close_connection()
                self._batch_outage = None

    def send(self, msg: EmailMessage) -> str:
        with _as_send_errors():
            if self._batch_depth:
                return self._send_in_batch(msg)
            with self._open() as smtp:
                return self._deliver(smtp, msg)

    def _send_in_batch(self, msg: EmailMessage) -> str:
        if self._batch_outage is not None:
            raise self._batch_outage
        try:
            smtp = self._live_connection()
        except BaseException as exc:
            self._batch_outage = exc
            raise
        try:
            return self._deliver(smtp, msg)
        except _REFUSALS:
            raise  # smtplib has sent RSET: the session is still good for the next message
        except BaseException:
            # Dropped, timed out, or in a state we cannot vouch for: the next send starts afresh.
            self._close_connection()
            raise

    def _live_connection(self) -> smtplib.SMTP:
        # An idle connection may have been closed by the server since the last send; a NOOP is
        # cheaper than a failed transaction, and safer than resending after an ambiguous drop.
        if self._connection is not None:
            try:
                code, _ = self._connection.noop()
            except (smtplib.SMTPException, OSError):
                code = -1
            if code != 250:
                self._close_connection()
        if self._connection is None:
            self._connection = self._open()
        return self._connection

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()

    def _open(self) -> smtplib.SMTP:
        """A connection ready to send (connected, secured, logged in); any failure on the way
        means nothing can be sent now: TransportUnavailable, with the server's reply if it gave one."""
        try:
            return self._connect()
        except TransportUnavailable:
            raise
        except smtplib.SMTPResponseException as exc:  # greeting, EHLO, STARTTLS or AUTH refused
            raise TransportUnavailable(_reply_text(exc.smtp_code, exc.smtp_error), code=exc.smtp_code) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, unreachable, timed out, TLS failed
            raise TransportUnavailable(f"SMTP connection failed: {type(exc).__name__}: {exc}") from exc

    def _connect(self) -> smtplib.SMTP:
        log.debug("SMTP: connecting to %s:%s (%s)", self.host, self.port, self.security)
        if self.security == "ssl":
            smtp: smtplib.SMTP = _SMTPS(
                self.host, self.port, self.local_hostname, timeout=self.timeout, context=self.ssl_context
            )
        else:
            smtp = _SMTP(self.host, self.port, self.local_hostname, timeout=self.timeout)
        try:
            if self.security == "starttls":
                self._start_tls(smtp)
            if self.user:
                smtp.login(self.user, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _start_tls(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            # Never fall back to plaintext: a missing STARTTLS is a misconfiguration or a downgrade.
            raise TransportUnavailable(
                f"SMTP server {self.host}:{self.port} does not offer STARTTLS; refusing to send in plaintext"
            )
        smtp.starttls(context=self.ssl_context)
        smtp.ehlo()

    def _deliver(self, smtp: smtplib.SMTP, msg: EmailMessage) -> str:
        smtp.last_data_reply = b""  # type: ignore[attr-defined]
        smtp.send_message(msg, from_addr=self.envelope_from or _header_address(msg, "From"))
        reply = smtp.last_data_reply.decode("utf-8", "replace")  # type: ignore[attr-defined]
        return queue_id(reply) or _message_id(msg)


def queue_id(data_reply: str) -> str | None:
    """The MTA's queue id in its reply to DATA, when it names one."""
    for pattern in _QUEUE_ID:
        match = pattern.search(data_reply)
        if match:
            return match.group(1).rstrip(".")
    return None


@contextmanager
def _as_send_errors() -> Iterator[None]:
    """smtplib's many exceptions, as the two the dispatcher acts on."""
    try:
        yield
    except smtplib.SMTPRecipientsRefused as exc:
        address, (code, reply) = next(iter(exc.recipients.items()))
        log.debug("SMTP: recipient %s refused", address)
        error = _by_code(code, reply)
        if isinstance(error, PermanentSendError) and _mailbox_does_not_exist(str(error)):
            error.undeliverable = address
        raise error from exc
    except smtplib.SMTPSenderRefused as exc:  # our envelope sender (or "authenticate first"): ours to fix
        raise TransportUnavailable(_reply_text(exc.smtp_code, exc.smtp_error), code=exc.smtp_code) from exc
    except smtplib.SMTPResponseException as exc:  # the message refused at DATA
        raise _by_code(exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise TransientSendError(f"SMTP server disconnected: {exc}") from exc
    except smtplib.SMTPNotSupportedError as exc:  # e.g. an international address without SMTPUTF8
        raise PermanentSendError(f"SMTP server cannot take this message: {exc}") from exc
    except smtplib.SMTPException as exc:
        raise TransientSendError(f"SMTP error: {exc}") from exc
    except OSError as exc:  # refused, reset, unreachable, timed out, TLS handshake
        raise TransientSendError(f"SMTP connection failed: {type(exc).__name__}: {exc}") from exc


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}".strip()


# RFC 3463: 5.1.x is about the address (bad mailbox, bad domain, bad syntax, moved); other classes
# (5.7.x policy, 5.2.x mailbox full, 5.3.x/5.4.x the servers) say nothing against the address.
_ENHANCED_CODE = re.compile(r"\b([245])\.(\d{1,3})\.\d{1,3}\b")
_NO_SUCH_MAILBOX = re.compile(
    r"unknown|no such|does not exist|doesn't exist|not found|invalid (?:recipient|mailbox|address)", re.I
)


def _mailbox_does_not_exist(reply: str) -> bool:
    """A 5xx refusal of a recipient that says the mailbox is not there (not a policy refusal)."""
    enhanced = _ENHANCED_CODE.search(reply)
    if enhanced:
        return enhanced.group(1) == "5" and enhanced.group(2) == "1"
    return reply.startswith(("550", "551", "553")) and _NO_SUCH_MAILBOX.search(reply) is not None


def _by_code(code: int, reply: bytes | str) -> TransientSendError | PermanentSendError:
    message = _reply_text(code, reply)
    if 400 <= code < 500 or code < 0:  # smtplib uses -1 for "no proper reply"
        return TransientSendError(message, code=code)
    return PermanentSendError(message, code=code)


def _header_address(msg: EmailMessage, name: str) -> str:
    addresses = getaddresses([str(msg[name] or "")])
    return addresses[0][1] if addresses else ""


def _message_id(msg: EmailMessage) -> str:
    return str(msg["Message-ID"] or "").strip().strip("<>")


# --- console --------------------------------------------------------------------------------------


class ConsoleTransport:
    """Records each message as `<timestamp>-<message-id>.eml` in a folder instead of sending it.

    The embedded default: a fresh install runs end to end without a mail server, and what it
    would have sent can be opened in any mail client. It never touches the network.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @contextmanager
    def batch(self) -> Iterator[ConsoleTransport]:
        yield self

    def send(self, msg: EmailMessage) -> str:
        message_id = _message_id(msg) or f"no-message-id-{utcnow():%Y%m%d%H%M%S%f}"
        name = f"{utcnow():%Y%m%dT%H%M%S%fZ}-{_safe_filename(message_id)}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f".{name}.part"
            partial.write_bytes(msg.as_bytes())
            partial.replace(self.folder / name)  # whole files only: a reader never sees half a message
        except OSError as exc:
            raise TransientSendError(f"could not record the message: {exc}") from exc
        log.info("console transport: recorded %s", name)
        return f"console:{message_id}"


def _safe_filename(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]", "_", text)[:150]


def transport_from_settings(settings: Settings) -> SmtpTransport | ConsoleTransport:
    """SMTP when smtp_host is configured; otherwise the console transport under VAR_DIR/sent."""
    if settings.email_transport_kind == "smtp":
        return SmtpTransport(
            settings.smtp_host,
            settings.effective_smtp_port,
            settings.smtp_security,
            settings.smtp_user,
            settings.smtp_password,
            settings.smtp_timeout,
            envelope_from=settings.mail_from_address,
        )
    return ConsoleTransport(settings.var_dir / "sent")
