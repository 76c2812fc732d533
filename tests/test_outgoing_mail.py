"""What we send, as bytes: threading headers as written, one MIME-Version, the signature separator,
the office named mid-sentence, and MDESK_MAIL_FROM parsed once (issue 7, items 1 to 3).

The threading headers are read from the raw bytes the SMTP server received and the console
transport wrote, never through a parser: a parser decodes an RFC 2047-encoded ID and hides the fault.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from pydantic import ValidationError

from inbox.compose import render_email
from inbox.transports import ConsoleTransport, SmtpTransport
from models.offices import offices_for
from models.outbox import OutboxMessage
from models.settings import Settings
from tests.smtp_server import SmtpTestServer

# Outlook and Exchange IDs as they come (the public samples s001, s004...): over 77 characters.
OUTLOOK_ID = "LO4P302MBF243856C3235A718DE1B9F1CA0442A@LO4P302MBF2438.GBRP302.PROD.OUTLOOK.COM"
EARLIER_ID = "AM9PR02MB7425A1B2C3D4E5F60718293A4B5C6D7E8F@AM9PR02MB7425.eurprd02.prod.outlook.com"
OUR_LONG_ID = "mdesk.20260105T101112.3f2a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c@mediation-desk.example.org"


def make_settings(**overrides) -> Settings:
    values = {"mail_from": "referrals@mediation-desk.example.org", "service_name": "Mediation Desk"}
    return Settings(_env_file=None, **{**values, **overrides})


def make_row(region: str | None = "london", **fields) -> OutboxMessage:
    values = {
        "id": 7,
        "idempotency_key": "ack:1",
        "channel": "email",
        "to": "parent@example.net",
        "template": "acknowledgement",
        "context": {
            "reference": "MD-26-7K3Q",
            "recipient_name": "Sam Parent",
            "service": "mediation",
            "local_authority": "Camden",
            "served": True,
            "region": region,
            "offices": [asdict(office) for office in offices_for(region)],
            "service_name": "Mediation Desk",
        },
        "message_id": OUR_LONG_ID,
        "in_reply_to": OUTLOOK_ID,
        "references": [EARLIER_ID, OUTLOOK_ID],
        "automatic": True,
    }
    return OutboxMessage(**{**values, **fields})


def header_lines(raw: bytes, name: str) -> list[bytes]:
    """The physical lines of one header field (its first line and continuations), from raw bytes."""
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    lines = re.split(rb"\r?\n", head)
    found: list[bytes] = []
    for line in lines:
        if found and line[:1] in (b" ", b"\t"):
            found.append(line)
        elif found:
            break
        elif line.lower().startswith(name.lower().encode() + b":"):
            found.append(line)
    return found


def assert_ids_as_written(raw: bytes, name: str, ids: list[str]) -> None:
    lines = header_lines(raw, name)
    assert lines, f"no {name} header"
    value = b"".join(lines)[len(name) + 1 :]
    assert value.split() == [f"<{i}>".encode() for i in ids]  # never "=?utf-8?q?..."
    for line in lines:
        # Folded only between IDs: every physical line holds whole IDs.
        body = line[len(name) + 1 :] if line.lower().startswith(name.lower().encode()) else line
        assert re.fullmatch(rb"(?:[ \t]+<[^<>\s]+>)+", body), line
        assert len(line) <= 998


def sent_through(smtp_server: SmtpTestServer, settings: Settings, row: OutboxMessage) -> bytes:
    transport = SmtpTransport(smtp_server.host, smtp_server.port, "none", timeout=5)
    transport.send(render_email(row, settings=settings))
    [mail] = smtp_server.messages
    return mail.raw


# --- 7.1: threading headers as written -------------------------------------------------------------


def test_long_outlook_ids_reach_the_smtp_server_as_written(smtp_server: SmtpTestServer) -> None:
    raw = sent_through(smtp_server, make_settings(), make_row())
    assert b"=?" not in raw.split(b"\r\n\r\n", 1)[0]
    assert_ids_as_written(raw, "Message-ID", [OUR_LONG_ID])
    assert_ids_as_written(raw, "In-Reply-To", [OUTLOOK_ID])
    assert_ids_as_written(raw, "References", [EARLIER_ID, OUTLOOK_ID])


def test_long_outlook_ids_are_written_as_written_by_the_console_transport(tmp_path: Path) -> None:
    ConsoleTransport(tmp_path).send(render_email(make_row(), settings=make_settings()))
    [eml] = tmp_path.glob("*.eml")
    raw = eml.read_bytes()
    assert_ids_as_written(raw, "Message-ID", [OUR_LONG_ID])
    assert_ids_as_written(raw, "In-Reply-To", [OUTLOOK_ID])
    assert_ids_as_written(raw, "References", [EARLIER_ID, OUTLOOK_ID])


def test_a_long_references_chain_folds_between_ids_only(smtp_server: SmtpTestServer) -> None:
    chain = [f"chain-{n}-{'x' * 30}@mail.example.net" for n in range(12)] + [OUTLOOK_ID]
    raw = sent_through(smtp_server, make_settings(), make_row(references=chain))
    assert len(header_lines(raw, "References")) > 1  # folded, at the spaces between IDs
    assert_ids_as_written(raw, "References", chain)


def test_ids_carrying_what_no_header_may_carry_are_cleaned_on_the_wire(smtp_server: SmtpTestServer) -> None:
    # Rows written before the parser cleaned IDs (or by any other path) still never put a NUL, CR or
    # LF into our headers.
    row = make_row(in_reply_to="abc\x00def@example.com", references=["abc\x00def@example.com", "x\r\ny@example.com"])
    raw = sent_through(smtp_server, make_settings(), row)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\x00" not in raw and b"\r\ny@" not in head
    assert_ids_as_written(raw, "In-Reply-To", ["abcdef@example.com"])
    assert_ids_as_written(raw, "References", ["abcdef@example.com", "xy@example.com"])


def test_an_id_that_looks_like_an_encoded_word_is_not_decoded(smtp_server: SmtpTestServer) -> None:
    odd = "=?utf-8?q?abc?=.123@mail.example.net"
    raw = sent_through(smtp_server, make_settings(), make_row(in_reply_to=odd, references=[odd]))
    assert_ids_as_written(raw, "In-Reply-To", [odd])


# --- 7.2: MDESK_MAIL_FROM parsed once -------------------------------------------------------------


def test_mail_from_with_a_display_name_gives_the_bare_address_and_domain() -> None:
    settings = make_settings(mail_from="Mediation Desk <Referrals@Mediation-Desk.example.org>")
    assert settings.mail_from_address == "referrals@mediation-desk.example.org"
    assert settings.mail_from_domain == "mediation-desk.example.org"
    assert settings.own_addresses == ("referrals@mediation-desk.example.org",)


@pytest.mark.parametrize("value", ["referrals", "Mediation Desk <>", "a@", "a@b.org, c@d.org", "Desk <x y@z.org>", ""])
def test_mail_from_without_one_valid_address_is_refused_at_start_up(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_settings(mail_from=value)
    assert caught.value.errors()[0]["loc"] == ("mail_from",)


def test_mail_from_with_a_display_name_from_header_and_envelope_on_the_wire(smtp_server: SmtpTestServer) -> None:
    from inbox.transports import transport_from_settings

    settings = make_settings(
        mail_from="Mediation Desk <referrals@mediation-desk.example.org>",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
    )
    transport_from_settings(settings).send(render_email(make_row(), settings=settings))
    [mail] = smtp_server.messages
    assert header_lines(mail.raw, "From") == [b"From: Mediation Desk <referrals@mediation-desk.example.org>"]
    assert mail.mail_from == "referrals@mediation-desk.example.org"


# --- 7.3: acknowledgement polish -------------------------------------------------------------------


def test_the_html_part_does_not_repeat_mime_version(smtp_server: SmtpTestServer) -> None:
    raw = sent_through(smtp_server, make_settings(), make_row())
    assert raw.count(b"MIME-Version:") == 1
    assert raw.startswith(b"MIME-Version:") or b"\r\nMIME-Version: 1.0\r\n" in raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"


@pytest.mark.parametrize("template", ["acknowledgement", "not_served"])
def test_the_signature_separator_is_dash_dash_space_on_its_own_line(smtp_server: SmtpTestServer, template) -> None:
    raw = sent_through(smtp_server, make_settings(), make_row(template=template))
    text = BytesParser(policy=policy.default).parsebytes(raw).get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "\n-- \n" in text
    assert "\n--\n" not in text


def test_the_office_is_named_in_lower_case_mid_sentence() -> None:
    msg = render_email(make_row(region="national"), settings=make_settings())
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "A coordinator from our national office will contact you" in text
    assert "A coordinator from our national office will contact you" in html
    assert "our National office" not in text + html
    assert "\nNational office\n" in text  # as a heading it keeps its capital
    london = render_email(make_row(region="london"), settings=make_settings()).get_body(("plain",)).get_content()
    assert "A coordinator from our London office will contact you" in london
