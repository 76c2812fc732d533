"""Nobody can use our acknowledgement to send their words to someone else, and hostile IDs and
addresses never reach our headers (issue 8, items 3 and 9; issue 7 item 2 through intake).

Every test goes through intake on SQLite and PostgreSQL (the `engine` fixture); where what goes out
matters, the outbox is dispatched to a real SMTP server and its raw bytes are read.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from inbox.email_channel import EmailChannel
from inbox.intake import Intake, retry_quarantined
from inbox.intake import store as store_module
from inbox.reflection import looks_like_a_person
from inbox.sources.base import MessageKey, SourceMessage
from inbox.transports import SmtpTransport
from models.cases import Case, TimelineEvent
from models.mail import InboundMessage, QuarantineEntry
from models.outbox import OutboxMessage
from models.outbox_ops import is_suppressed
from models.raw_mail import load_raw
from scheduler.dispatch import Dispatcher
from tests import mailfactory
from tests.smtp_server import SmtpTestServer

OUR_SERVER = "mx.mediation-desk.example.org"
FEE_SUBJECT = "Your mediation fee is overdue - pay now at https://pay.example.net/fee"
_uids = iter(range(1, 100_000))


def deliver(intake: Intake, raw: bytes) -> bool:
    return intake.handle(SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids))), raw))


def rows(engine, model, *where) -> list:
    with Session(engine) as session:
        return list(session.exec(select(model).where(*where).order_by(model.id)))


def notes(engine, case_id: int) -> list[str]:
    return [e.summary for e in rows(engine, TimelineEvent, TimelineEvent.case_id == case_id) if e.kind == "note"]


def dispatch(engine, settings, smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.host, smtp_server.port, "none", timeout=5)
    Dispatcher(engine, settings, {"email": EmailChannel(settings, transport)}, worker="test").run_once()


@pytest.fixture
def trusting(settings):
    """Settings that believe our own mail server's Authentication-Results."""
    return settings.model_copy(update={"trusted_authserv_id": OUR_SERVER})


# --- 8.3: what an acknowledgement carries ------------------------------------------------------------


def test_a_chosen_subject_display_name_and_reply_to_are_never_reflected(engine, settings, smtp_server):
    raw = mailfactory.referral(
        sender="Mediation Desk Billing <fees@billing.example.com>",
        subject=FEE_SUBJECT,
        headers={"Reply-To": "someone.else@victim.example.org"},
    )
    assert deliver(Intake(engine, settings), raw)
    [case] = rows(engine, Case)  # the case still opens
    [ack] = rows(engine, OutboxMessage)
    # A Reply-To in another domain than the From is not followed: the From is what DMARC vouches for.
    assert ack.to == case.referrer_email == "fees@billing.example.com"
    assert ack.context["recipient_name"] == ""
    dispatch(engine, settings, smtp_server)
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ["fees@billing.example.com"]
    text = mail.message.get_body(("plain",)).get_content()
    assert text.startswith("Hello,")
    for chosen in (b"overdue", b"pay.example.net", b"Billing", b"victim"):
        assert chosen not in mail.raw
    assert mail.message["Subject"] == f"Your referral to Mediation Desk [{case.reference}]"


def test_a_persons_name_is_still_greeted_and_the_subject_not_quoted(engine, settings, smtp_server):
    deliver(Intake(engine, settings), mailfactory.referral(subject="Help please - my son Elliot's plan"))
    dispatch(engine, settings, smtp_server)
    [mail] = smtp_server.messages
    assert mail.message.get_body(("plain",)).get_content().startswith("Dear Joanne Pryce,")
    assert b"Help please" not in mail.raw


def test_a_reply_to_in_the_senders_own_domain_is_answered_without_a_name(engine, settings):
    raw = mailfactory.referral(headers={"Reply-To": "J Pryce <jo.pryce@example.com>"})
    deliver(Intake(engine, settings), raw)
    [ack] = rows(engine, OutboxMessage)
    assert (ack.to, ack.context["recipient_name"]) == ("jo.pryce@example.com", "")


def test_a_form_services_no_reply_relay_is_still_answered_at_its_reply_to_without_a_name(engine, settings):
    # Commit 880329a: the person is only in the Reply-To of a form service's no-reply From.
    raw = mailfactory.referral(
        sender="Contact form <noreply@forms.example.net>", headers={"Reply-To": "Aled Hughes <aled@example.org>"}
    )
    deliver(Intake(engine, settings), raw)
    [case] = rows(engine, Case)
    [ack] = rows(engine, OutboxMessage)
    assert (case.referrer_email, ack.to, ack.context["recipient_name"]) == ("aled@example.org", "aled@example.org", "")


@pytest.mark.parametrize(
    "name",
    [
        "Mediation Desk Billing",
        "Mediation Desk",
        "Accounts Team",
        "Pay now at https://pay.example.net",
        "www.pay-example.net",
        "Joanne Pryce 07700900418",
        "jo@example.com",
        "Final Notice",
        "A" * 61,
        "Joanne Mary Anne Louise Pryce Smith Jones",
        "Joanne\nPryce",
        "Joanne: pay now",
    ],
)
def test_what_is_not_a_persons_name(name: str) -> None:
    assert not looks_like_a_person(name, "Mediation Desk")


@pytest.mark.parametrize("name", ["Joanne Pryce", "Mrs J. O'Neil-Smith", "Siân Llŷr", "Zoë", "Mohammed Al Rashid"])
def test_what_is_a_persons_name(name: str) -> None:
    assert looks_like_a_person(name, "Mediation Desk")


# --- 8.3: mail claiming our own domain --------------------------------------------------------------

_FORM = (
    "You have received a new enquiry via the website contact form.\n\nName: Rhian Parry\n"
    "Email: rhian.parry@example.org\nPhone: 07700 900 111\nLocal authority (if known): Barnet\n"
    "I am a: Parent / carer\n\nMessage:\nCan you help us with mediation about my son's plan?\n"
)


@pytest.mark.parametrize(
    "sender",
    [
        "Mediation Desk <referrals@mediation-desk.example.org>",
        "Website <website@mediation-desk.example.org>",
        "Website <forms@www.mediation-desk.example.org>",
    ],
)
def test_mail_claiming_our_domain_with_an_email_line_gets_no_acknowledgement(engine, settings, sender):
    raw = mailfactory.message(sender=sender, subject=FEE_SUBJECT, body=_FORM)
    assert deliver(Intake(engine, settings), raw)
    [case] = rows(engine, Case)
    assert rows(engine, OutboxMessage) == []
    [stored] = rows(engine, InboundMessage)
    assert any("our own domain" in reason for reason in stored.reasons)
    assert any("own domain" in note for note in notes(engine, case.id))


def test_our_domain_is_acknowledged_only_on_our_own_servers_dmarc_pass(engine, trusting):
    forged = f"{OUR_SERVER.upper()}x; dmarc=pass header.from=mediation-desk.example.org"
    # Two families (one case each: the same address twice in a day would go to its case's triage).
    others = ("other.family@example.org", "third.family@example.org")
    for results, family in zip(
        (forged, "mx.elsewhere.example; dmarc=pass header.from=mediation-desk.example.org"), others, strict=True
    ):
        raw = mailfactory.message(
            sender="Website <website@mediation-desk.example.org>",
            subject="New enquiry from website",
            body=_FORM.replace("rhian.parry@example.org", family),
            headers={"Authentication-Results": results},
        )
        deliver(Intake(engine, trusting), raw)
    assert len(rows(engine, Case)) == 2 and rows(engine, OutboxMessage) == []
    genuine = (
        f"{OUR_SERVER}; spf=pass smtp.mailfrom=mediation-desk.example.org;"
        " dmarc=pass (p=reject) header.from=mediation-desk.example.org"
    )
    raw = mailfactory.message(
        sender="Website <website@mediation-desk.example.org>",
        subject="New enquiry from website",
        body=_FORM.replace("Rhian Parry", "Rhian Parri"),
        headers={"Authentication-Results": genuine},
    )
    deliver(Intake(engine, trusting), raw)
    [ack] = rows(engine, OutboxMessage)
    assert ack.to == "rhian.parry@example.org"
    assert ack.context["recipient_name"] == ""  # the address was typed, not the mailbox that wrote


def test_dmarc_fail_from_our_mail_server_opens_the_case_without_an_acknowledgement(engine, trusting):
    results = f"{OUR_SERVER}; spf=fail smtp.mailfrom=example.com; dmarc=fail (p=none) header.from=example.com"
    assert deliver(Intake(engine, trusting), mailfactory.referral(headers={"Authentication-Results": results}))
    [case] = rows(engine, Case)
    assert rows(engine, OutboxMessage) == []
    [stored] = rows(engine, InboundMessage)
    assert any("DMARC failed" in reason for reason in stored.reasons)
    assert any("DMARC" in note for note in notes(engine, case.id))


def test_authentication_results_of_another_server_are_not_believed(engine, settings, trusting):
    # Anyone can write the header; only our own server's authserv-id counts (RFC 8601 5).
    results = "mx.elsewhere.example; dmarc=fail header.from=example.com"
    deliver(Intake(engine, trusting), mailfactory.referral(headers={"Authentication-Results": results}))
    # Nor does our server's id count while MDESK_TRUSTED_AUTHSERV_ID is not set.
    results = f"{OUR_SERVER}; dmarc=fail header.from=example.com"
    deliver(
        Intake(engine, settings),
        mailfactory.referral(sender="Sam Hart <sam.hart@example.net>", headers={"Authentication-Results": results}),
    )
    assert len(rows(engine, OutboxMessage)) == 2


# --- 7.2: MDESK_MAIL_FROM with a display name, through intake ----------------------------------------


def test_mail_from_with_a_display_name_knows_our_own_mail_and_its_bounces(engine, settings, smtp_server):
    named = settings.model_copy(update={"mail_from": "Mediation Desk <referrals@mediation-desk.example.org>"})
    intake = Intake(engine, named)
    deliver(intake, mailfactory.referral())
    [ack] = rows(engine, OutboxMessage)
    assert ack.message_id.endswith("@mediation-desk.example.org")
    dispatch(engine, named, smtp_server)
    [mail] = smtp_server.messages
    assert b"From: Mediation Desk <referrals@mediation-desk.example.org>\r\n" in mail.raw.split(b"\r\n\r\n")[0]
    assert mail.mail_from == "referrals@mediation-desk.example.org"

    # Our own mail coming back (a forwarding loop) is ours: never acknowledged.
    looped = mailfactory.message(
        sender="Mediation Desk <referrals@mediation-desk.example.org>", subject="Your referral", body="Thank you.\n"
    )
    deliver(intake, looped)
    assert len(rows(engine, OutboxMessage)) == 1

    # A bounce of our acknowledgement finds its case.
    deliver(intake, mailfactory.bounce_of(ack.message_id, "joanne.pryce@example.com"))
    with Session(engine) as session:
        assert is_suppressed(session, "email", "joanne.pryce@example.com")
    bounce = rows(engine, InboundMessage, InboundMessage.outcome == "bounce")
    assert [b.case_id for b in bounce] == [ack.case_id]


# --- 8.9: what no header may carry; addresses over SMTP's limits ------------------------------------


def _raw_with_ids(message_id: bytes, in_reply_to: bytes = b"", references: bytes = b"") -> bytes:
    head = (
        b"From: Joanne Pryce <joanne.pryce@example.com>\r\nTo: referrals@mediation-desk.example.org\r\n"
        b"Subject: Mediation request\r\nDate: Mon, 05 Jan 2026 10:00:00 +0000\r\n"
        b"Message-ID: " + message_id + b"\r\n"
    )
    if in_reply_to:
        head += b"In-Reply-To: " + in_reply_to + b"\r\n"
    if references:
        head += b"References: " + references + b"\r\n"
    body = (
        b"My son Elliot has an EHC plan from the London Borough of Camden. We would like mediation.\r\n\r\n"
        b"Joanne Pryce\r\n"
    )
    return head + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body


def test_nul_and_control_characters_in_ids_never_reach_our_headers(engine, settings, smtp_server):
    raw = _raw_with_ids(
        b"<abc\x00def\x01@example.com>", references=b"<old\x00\x7f-1@example.com> <old-2\x0b@example.com>"
    )
    assert deliver(Intake(engine, settings), raw)
    assert rows(engine, QuarantineEntry) == []  # not quarantined (PostgreSQL refused the NUL before)
    [stored] = rows(engine, InboundMessage)
    assert stored.message_id == "abcdef@example.com" and stored.outcome == "new_case"
    [ack] = rows(engine, OutboxMessage)
    assert ack.in_reply_to == "abcdef@example.com"
    assert ack.references == ["old-1@example.com", "old-2@example.com", "abcdef@example.com"]
    dispatch(engine, settings, smtp_server)
    [mail] = smtp_server.messages
    head = mail.raw.split(b"\r\n\r\n", 1)[0]
    assert b"\x00" not in mail.raw and b"\x01" not in head and b"\x7f" not in head
    assert b"\r\nIn-Reply-To: <abcdef@example.com>\r\n" in head


def test_a_nul_message_quarantined_before_this_fix_is_taken_on_retry(engine, settings, monkeypatch):
    # Before, PostgreSQL refused the NUL in the Message-ID: the mail was kept raw (without its
    # headers) and every retry failed the same way. The same state, made by refusing its stores:
    raw = _raw_with_ids(b"<abc\x00def@example.com>")

    def refuse(session, key, parsed, **columns):
        raise ValueError("A string literal cannot contain NUL (0x00) characters.")

    with monkeypatch.context() as patched:
        patched.setattr(store_module, "store_message", refuse)
        assert deliver(Intake(engine, settings), raw)
    [entry] = rows(engine, QuarantineEntry)
    assert retry_quarantined(engine, settings, entry.id).startswith("processed: new_case")
    [ack] = rows(engine, OutboxMessage)
    assert ack.in_reply_to == "abcdef@example.com"


@pytest.mark.parametrize(("local", "acknowledged"), [("a" * 64, True), ("a" * 65, False)])
def test_an_address_over_smtps_limits_gets_no_acknowledgement(engine, settings, local, acknowledged):
    assert deliver(Intake(engine, settings), mailfactory.referral(sender=f"{local}@example.com"))
    assert len(rows(engine, Case)) == 1  # the case opens either way
    assert bool(rows(engine, OutboxMessage)) is acknowledged
    if not acknowledged:
        [stored] = rows(engine, InboundMessage)
        assert any("longer than SMTP allows" in reason for reason in stored.reasons)


@pytest.mark.parametrize("address", ["a" * 5000 + "@example.com", "jo@" + ("d" * 60 + ".") * 4 + "example.com"])
def test_an_address_no_mail_system_can_deliver_to_is_kept_with_its_reason(engine, settings, smtp_server, address):
    # Over 254 octets in all: not a contact, never in a To line; the mail is kept (quarantined) with
    # the reason, alike on SQLite and PostgreSQL (whose address columns are 320 long).
    assert deliver(Intake(engine, settings), mailfactory.referral(sender=address))
    assert rows(engine, OutboxMessage) == [] and rows(engine, Case) == []
    [entry] = rows(engine, QuarantineEntry)
    assert "longer than SMTP allows" in entry.reason
    [stored] = rows(engine, InboundMessage)
    with Session(engine) as session:
        raw = load_raw(session, stored.id)
    assert address.encode() in raw.replace(b"\n ", b"")  # kept as it came
    dispatch(engine, settings, smtp_server)
    assert smtp_server.messages == []
