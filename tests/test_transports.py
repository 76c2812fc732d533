"""Sending a composed email: SMTP against a real aiosmtpd server on loopback, and the console."""

from __future__ import annotations

import socket
import threading
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from inbox.transports import (
    ConsoleTransport,
    PermanentSendError,
    SmtpTransport,
    TransientSendError,
    TransportUnavailable,
    queue_id,
    transport_from_settings,
)
from models.settings import Settings
from tests.smtp_server import HOST, SmtpTestServer, free_port

SENDER = "referrals@mediation-desk.example.org"
PARENT = "parent@example.net"


def make_message(to: str = PARENT, message_id: str = "m1@mediation-desk.example.org") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Mediation Desk <{SENDER}>"
    msg["To"] = to
    msg["Subject"] = "Your referral to Mediation Desk [MD-26-7K3Q]"
    msg["Message-ID"] = f"<{message_id}>"
    msg.set_content("Thank you.\n")
    return msg


def plain(server: SmtpTestServer, **options) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, "none", timeout=5, envelope_from=SENDER, **options)


# --- delivery ---


def test_delivers_with_the_envelope_and_returns_the_queue_id(smtp_server: SmtpTestServer) -> None:
    provider_id = plain(smtp_server).send(make_message())

    assert provider_id == "Q000001"
    [mail] = smtp_server.messages
    assert mail.mail_from == SENDER
    assert mail.rcpt_tos == [PARENT]
    assert mail.message["Message-ID"] == "<m1@mediation-desk.example.org>"
    assert mail.message.get_content() == "Thank you.\n"


def test_without_a_queue_id_the_provider_id_is_the_message_id(smtp_server: SmtpTestServer) -> None:
    smtp_server.data_reply = "250 OK"
    assert plain(smtp_server).send(make_message()) == "m1@mediation-desk.example.org"


def test_envelope_sender_defaults_to_the_from_address(smtp_server: SmtpTestServer) -> None:
    SmtpTransport(smtp_server.host, smtp_server.port, "none", timeout=5).send(make_message())
    assert smtp_server.messages[0].mail_from == SENDER


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("2.0.0 Ok: queued as 4Z1x2Y3kQz", "4Z1x2Y3kQz"),
        ("OK id=1tAbCd-000123-Ef", "1tAbCd-000123-Ef"),
        ("OK", None),
        ("2.0.0 OK  1736000000 d2sm123gsmtp", None),
    ],
)
def test_queue_id_from_the_data_reply(reply, expected) -> None:
    assert queue_id(reply) == expected


# --- refusals and outages ---


def test_a_550_recipient_is_permanent_with_the_servers_words(smtp_server: SmtpTestServer) -> None:
    smtp_server.set_rcpt_replies(PARENT, f"550 5.1.1 <{PARENT}>: Recipient address rejected: User unknown")
    with pytest.raises(PermanentSendError) as caught:
        plain(smtp_server).send(make_message())
    assert str(caught.value) == f"550 5.1.1 <{PARENT}>: Recipient address rejected: User unknown"
    assert caught.value.code == 550
    assert caught.value.undeliverable == PARENT  # the mailbox does not exist: never write to it again
    assert smtp_server.messages == []


@pytest.mark.parametrize(
    "reply, undeliverable",
    [
        ("550 5.1.1 <x>: Recipient address rejected: User unknown in local recipient table", True),
        ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", True),
        ("553 5.1.3 Bad recipient address syntax", True),
        ("550 No such user here", True),
        ("550 5.7.1 Relaying denied", False),  # our relay's policy, not the family's address
        ("552 5.2.2 Mailbox full", False),  # the mailbox exists
        ("554 5.7.1 Message rejected as spam", False),
        ("550 Administrative prohibition", False),
    ],
)
def test_only_a_refusal_that_says_the_mailbox_is_not_there_marks_the_address(
    smtp_server: SmtpTestServer, reply: str, undeliverable: bool
) -> None:
    smtp_server.set_rcpt_replies(PARENT, reply)
    with pytest.raises(PermanentSendError) as caught:
        plain(smtp_server).send(make_message())
    assert caught.value.undeliverable == (PARENT if undeliverable else None)


def test_a_450_recipient_is_transient_and_a_later_try_succeeds(smtp_server: SmtpTestServer) -> None:
    smtp_server.set_rcpt_replies(PARENT, "450 4.2.1 Mailbox busy, try again later", "250 OK")
    transport = plain(smtp_server)
    with pytest.raises(TransientSendError, match=r"450 4\.2\.1 Mailbox busy") as caught:
        transport.send(make_message())
    assert caught.value.code == 450
    transport.send(make_message())
    assert len(smtp_server.messages) == 1


def test_server_down_makes_the_transport_unavailable() -> None:
    transport = SmtpTransport(HOST, free_port(), "none", timeout=5, envelope_from=SENDER)
    with pytest.raises(TransportUnavailable, match="ConnectionRefusedError"):
        transport.send(make_message())


def test_a_server_that_never_answers_is_transient() -> None:
    with socket.socket() as listener:  # accepts the TCP connection, never greets
        listener.bind((HOST, 0))
        listener.listen()
        transport = SmtpTransport(HOST, listener.getsockname()[1], "none", timeout=0.5, envelope_from=SENDER)
        with pytest.raises(TransportUnavailable):
            transport.send(make_message())


def test_down_then_up_on_the_same_port(smtp_server: SmtpTestServer) -> None:
    transport = plain(smtp_server)
    smtp_server.stop()
    with pytest.raises(TransientSendError):
        transport.send(make_message())
    smtp_server.start()
    transport.send(make_message())
    assert len(smtp_server.messages) == 1


# --- one connection per batch ---


def test_a_batch_reuses_one_connection(smtp_server: SmtpTestServer) -> None:
    transport = plain(smtp_server)
    with transport.batch():
        for n in range(5):
            transport.send(make_message(message_id=f"m{n}@x"))
    assert len(smtp_server.messages) == 5
    assert smtp_server.connections == 1


def test_outside_a_batch_each_send_connects(smtp_server: SmtpTestServer) -> None:
    transport = plain(smtp_server)
    for n in range(3):
        transport.send(make_message(message_id=f"m{n}@x"))
    assert smtp_server.connections == 3


def test_a_refusal_inside_a_batch_keeps_the_connection(smtp_server: SmtpTestServer) -> None:
    smtp_server.set_rcpt_replies("gone@example.net", "550 5.1.1 User unknown")
    transport = plain(smtp_server)
    with transport.batch():
        transport.send(make_message(message_id="a@x"))
        with pytest.raises(PermanentSendError):
            transport.send(make_message(to="gone@example.net", message_id="b@x"))
        transport.send(make_message(message_id="c@x"))
    assert smtp_server.message_ids() == ["a@x", "c@x"]
    assert smtp_server.connections == 1


def test_a_batch_reconnects_after_the_server_restarts(smtp_server: SmtpTestServer) -> None:
    transport = plain(smtp_server)
    with transport.batch():
        transport.send(make_message(message_id="a@x"))
        smtp_server.stop()
        smtp_server.start()
        transport.send(make_message(message_id="b@x"))
    assert smtp_server.message_ids() == ["a@x", "b@x"]


def test_an_unreachable_server_fails_the_rest_of_the_batch_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = SmtpTransport(HOST, free_port(), "none", timeout=5, envelope_from=SENDER)
    connects = []
    real_connect = transport._connect
    monkeypatch.setattr(transport, "_connect", lambda: connects.append(1) or real_connect())
    with transport.batch():
        for n in range(3):
            with pytest.raises(TransientSendError, match="ConnectionRefusedError"):
                transport.send(make_message(message_id=f"m{n}@x"))
    assert len(connects) == 1

    with transport.batch(), pytest.raises(TransientSendError):  # a new batch tries again
        transport.send(make_message())
    assert len(connects) == 2


# --- AUTH and TLS ---


def test_login_when_a_user_is_configured(make_smtp_server) -> None:
    server = make_smtp_server(users={"desk": "s3cret"})
    plain(server, user="desk", password="s3cret").send(make_message())
    assert server.logins == ["desk"]
    assert len(server.messages) == 1


def test_wrong_password_makes_the_transport_unavailable_with_the_servers_code(make_smtp_server) -> None:
    # Our configuration is wrong, not the family's message: retried (never failed) until it is fixed.
    server = make_smtp_server(users={"desk": "s3cret"})
    with pytest.raises(TransportUnavailable, match="535") as caught:
        plain(server, user="desk", password="wrong").send(make_message())
    assert caught.value.code == 535
    assert server.messages == []


def test_no_login_against_a_server_requiring_auth_makes_the_transport_unavailable(make_smtp_server) -> None:
    server = make_smtp_server(users={"desk": "s3cret"})
    with pytest.raises(TransportUnavailable, match="530"):
        plain(server).send(make_message())


def test_starttls_then_login(make_smtp_server, tls_certificate) -> None:
    server = make_smtp_server(starttls=tls_certificate.server_context(), users={"desk": "s3cret"})
    transport = SmtpTransport(
        server.host,
        server.port,
        "starttls",
        "desk",
        "s3cret",
        timeout=5,
        envelope_from=SENDER,
        ssl_context=tls_certificate.client_context(),
    )
    transport.send(make_message())
    # The server refuses everything before STARTTLS, so a delivery means the session was encrypted.
    assert len(server.messages) == 1
    assert server.logins == ["desk"]


def test_starttls_checks_the_certificate(make_smtp_server, tls_certificate) -> None:
    server = make_smtp_server(starttls=tls_certificate.server_context())
    transport = SmtpTransport(server.host, server.port, "starttls", timeout=5, envelope_from=SENDER)
    with pytest.raises(TransientSendError, match="CERTIFICATE_VERIFY_FAILED"):
        transport.send(make_message())  # default trust store: a self-signed cert is not trusted
    assert server.messages == []


def test_implicit_tls(make_smtp_server, tls_certificate) -> None:
    server = make_smtp_server(implicit_tls=tls_certificate.server_context())
    transport = SmtpTransport(
        server.host,
        server.port,
        "ssl",
        timeout=5,
        envelope_from=SENDER,
        ssl_context=tls_certificate.client_context(),
    )
    assert transport.send(make_message()) == "Q000001"
    assert len(server.messages) == 1


def test_no_starttls_offered_makes_the_transport_unavailable_and_never_sends_plaintext(
    smtp_server: SmtpTestServer,
) -> None:
    transport = SmtpTransport(smtp_server.host, smtp_server.port, "starttls", timeout=5, envelope_from=SENDER)
    with pytest.raises(TransportUnavailable, match="does not offer STARTTLS"):
        transport.send(make_message())
    assert smtp_server.messages == []


# --- console ---


def test_console_records_an_eml_and_opens_no_socket(tmp_path: Path, no_network: list[object]) -> None:
    folder = tmp_path / "var" / "sent"
    provider_id = ConsoleTransport(folder).send(make_message())

    assert provider_id == "console:m1@mediation-desk.example.org"
    [eml] = folder.glob("*.eml")
    assert eml.name.endswith("-m1@mediation-desk.example.org.eml")
    recorded = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert recorded["Message-ID"] == "<m1@mediation-desk.example.org>"
    assert recorded["To"] == PARENT
    assert list(folder.glob(".*")) == []  # no partial files left behind
    assert no_network == []


def test_console_files_do_not_collide(tmp_path: Path) -> None:
    transport = ConsoleTransport(tmp_path)
    threads = [threading.Thread(target=transport.send, args=(make_message(message_id=f"m{n}@x"),)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list(tmp_path.glob("*.eml"))) == 10


# --- choosing a transport ---


def test_smtp_when_a_host_is_configured(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        var_dir=tmp_path,
        smtp_host="mail.example.org",
        smtp_security="ssl",
        smtp_user="desk",
        smtp_password="pw",
        mail_from="Desk <desk@example.org>",
    )
    transport = transport_from_settings(settings)
    assert isinstance(transport, SmtpTransport)
    assert (transport.host, transport.port, transport.security) == ("mail.example.org", 465, "ssl")
    assert (transport.user, transport.password) == ("desk", "pw")
    assert transport.envelope_from == "desk@example.org"


def test_console_when_no_host_is_configured(tmp_path: Path) -> None:
    transport = transport_from_settings(Settings(_env_file=None, var_dir=tmp_path, smtp_host=""))
    assert isinstance(transport, ConsoleTransport)
    assert transport.folder == tmp_path.resolve() / "sent"
