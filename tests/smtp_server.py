"""A real SMTP server on loopback for the tests: aiosmtpd in a thread.

Fixtures:
- `smtp_server`: a plain server (no TLS, no AUTH), one per test, started.
- `make_smtp_server(users={...}, starttls=ctx, implicit_tls=ctx)`: the same with AUTH and/or STARTTLS
  (required before anything else) or implicit TLS; every server it makes is stopped after the test.
- `tls_certificate`: a throwaway self-signed certificate for 127.0.0.1 (skips the test if neither the
  `cryptography` package nor the `openssl` command is here to make one).

A server records what it accepted in `.messages` (`ReceivedMail`: the parsed `EmailMessage`, the
envelope sender and recipients, the raw bytes), counts client `.connections` and AUTH `.logins`,
can be `.stop()`ped and `.start()`ed again on the same port ("SMTP down, then up"), and can answer
a recipient with scripted replies: `set_rcpt_replies("x@y", "450 4.2.1 Try later", "250 OK")`
answers 450 once, then accepts; the last reply repeats, so
`set_rcpt_replies("x@y", "550 5.1.1 User unknown")` refuses for good.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"


@dataclass(slots=True)
class ReceivedMail:
    message: EmailMessage
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Verifies the server against this certificate, hostname included, as production would."""
        return ssl.create_default_context(cafile=str(self.cert))


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.server.next_rcpt_reply(address)
        if reply is not None and not reply.startswith("250"):
            return reply
        envelope.rcpt_tos.append(address)
        return reply or "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        return self.server.accept(raw, envelope.mail_from, list(envelope.rcpt_tos))


class _Controller(Controller):
    def __init__(self, owner: SmtpTestServer, **kwargs) -> None:
        super().__init__(_Handler(owner), **kwargs)
        self.owner = owner

    def factory(self):
        # Called once per client connection: that is how a test sees a batch reuse one.
        self.owner.connections += 1
        # aiosmtpd warns about AUTH without TLS; on loopback in a test that is the point.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SMTP(self.handler, **self.SMTP_kwargs)


class SmtpTestServer:
    # Postfix-like, so a transport can find the queue id; a test may set "250 OK" to have none.
    data_reply = "250 2.0.0 Ok: queued as Q{number:06d}"

    def __init__(
        self,
        *,
        port: int | None = None,
        users: dict[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = HOST
        self.port = port or free_port()
        self.users = users
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.messages: list[ReceivedMail] = []
        self.logins: list[str] = []
        self.connections = 0
        self._rcpt_replies: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    # --- lifecycle ---

    def start(self) -> SmtpTestServer:
        if self._controller is None:
            # A stopped aiosmtpd controller has closed its loop: a restart is a new one, same port.
            self._controller = _Controller(self, hostname=self.host, port=self.port, **self._smtp_options())
            self._controller.start()
            self.connections -= 1  # start() connects once itself, to check the server is up
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.logins.clear()
            self._rcpt_replies.clear()
            self.connections = 0

    def _smtp_options(self) -> dict:
        options: dict = {"command_call_limit": None}  # a batch reuses one session for many messages
        if self.implicit_tls is not None:
            options["ssl_context"] = self.implicit_tls
        if self.starttls is not None:
            # Refuse anything before STARTTLS, so a delivery proves the session was encrypted.
            options.update(tls_context=self.starttls, require_starttls=True)
        if self.users is not None:
            options.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=False)
        return options

    # --- behaviour ---

    def set_rcpt_replies(self, address: str, *replies: str) -> None:
        """Answer RCPT TO for `address` with these replies in turn; the last one repeats."""
        with self._lock:
            self._rcpt_replies[address.lower()] = list(replies)

    def next_rcpt_reply(self, address: str) -> str | None:
        with self._lock:
            replies = self._rcpt_replies.get(address.lower())
            if not replies:
                return None
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def accept(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> str:
        # Parsed with local line endings, as a mail client shows it; `raw` keeps the wire's CRLF.
        message = BytesParser(policy=policy.default).parsebytes(raw.replace(b"\r\n", b"\n"))
        with self._lock:
            self.messages.append(ReceivedMail(message, mail_from, rcpt_tos, raw))
            number = len(self.messages)
        return self.data_reply.format(number=number)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.users is None:
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        ok = self.users.get(login) == auth_data.password.decode()
        if ok:
            with self._lock:
                self.logins.append(login)
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd sends the 535 itself

    # --- reading what arrived ---

    def message_ids(self) -> list[str]:
        with self._lock:
            return [str(mail.message["Message-ID"]).strip("<>") for mail in self.messages]


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    server = SmtpTestServer().start()
    yield server
    server.stop()


@pytest.fixture
def make_smtp_server() -> Iterator[Callable[..., SmtpTestServer]]:
    made: list[SmtpTestServer] = []

    def make(**options) -> SmtpTestServer:
        server = SmtpTestServer(**options).start()
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    folder = tmp_path_factory.mktemp("tls")
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    try:
        _self_signed_with_cryptography(files)
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("no TLS test: neither the cryptography package nor openssl is installed to make a cert")
        _self_signed_with_openssl(files)
    return files


def _self_signed_with_cryptography(files: TlsFiles) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _self_signed_with_openssl(files: TlsFiles) -> None:
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            f"subjectAltName=DNS:localhost,IP:{HOST}",
            "-keyout",
            str(files.key),
            "-out",
            str(files.cert),
        ],
        check=True,
        capture_output=True,
    )
