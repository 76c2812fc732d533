"""The outbox dispatcher end to end: a real SQLite database (and PostgreSQL where reachable), the
real templates, and a real SMTP server on loopback. Claims and result recording are tested here too.
"""

from __future__ import annotations

import itertools
import random
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from inbox.email_channel import EmailChannel
from inbox.transports import ConsoleTransport, EmailTransport, SmtpTransport
from models import metrics
from models.case_ops import ensure_contact
from models.cases import Case, TimelineEvent
from models.contacts import ContactPoint
from models.db import make_engine, session_scope, upgrade
from models.offices import offices_for
from models.outbox import FAILED, PENDING, SENDING, SENT, SUPPRESSED, OutboxMessage
from models.outbox_channel import Channel
from models.outbox_claims import (
    PermanentSendError,
    TransientSendError,
    TransportUnavailable,
    claim_due,
    record_retry,
    record_sent,
    redact,
    retry_delay,
)
from models.outbox_ops import enqueue, is_suppressed, make_message_id, suppress
from models.settings import Settings
from models.types import utcnow
from scheduler.dispatch import Dispatcher
from tests.fake_channels import RecordingSms
from tests.smtp_server import SmtpTestServer

SENDER = "referrals@mediation-desk.example.org"
PARENT = "parent@example.net"
LONDON_PHONE = "020 7359 3635"
NATIONAL_PHONE = "0333 006 2835"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --- fixtures and helpers ---


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine("sqlite:///" + str(tmp_path / "t.db"))
    upgrade(engine)
    yield engine
    engine.dispose()


def make_settings(tmp_path: Path, **overrides) -> Settings:
    values = {"var_dir": tmp_path / "var", "mail_from": SENDER, "service_name": "Mediation Desk"}
    return Settings(_env_file=None, **{**values, **overrides})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def smtp_to(server: SmtpTestServer) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, "none", timeout=5, envelope_from=SENDER)


def email_via(settings: Settings, transport: EmailTransport) -> dict[str, Channel]:
    return {"email": EmailChannel(settings, transport)}


@pytest.fixture
def dispatcher(engine: Engine, settings: Settings, smtp_server: SmtpTestServer) -> Dispatcher:
    return Dispatcher(engine, settings, email_via(settings, smtp_to(smtp_server)), worker="test-1")


_references = itertools.count(1)


def open_case(
    engine: Engine,
    *,
    to: str = PARENT,
    region: str | None = "london",
    service: str | None = "mediation",
    template: str = "acknowledgement",
    due_at: datetime | None = None,
) -> tuple[int, int]:
    """A case and its acknowledgement in the outbox, written as intake does; (case id, row id)."""
    reference = f"MD-26-{next(_references):04X}"
    with session_scope(engine) as session:
        case = Case(reference=reference, service=service, region=region, referrer_email=to)
        session.add(case)
        session.flush()
        row = enqueue(
            session,
            key=f"ack:{case.id}",
            channel="email",
            to=to,
            template=template,
            context={
                "reference": reference,
                "recipient_name": "Sam Parent",
                "service": service,
                "local_authority": "Camden" if region == "london" else None,
                "served": region is not None,
                "region": region,
                "original_subject": "Referral for my son",
                "offices": [asdict(office) for office in offices_for(region)],
                "service_name": "Mediation Desk",
            },
            case_id=case.id,
            message_id=make_message_id("mediation-desk.example.org"),
            in_reply_to=f"parent-{case.id}@mail.example.net",
            references=[f"parent-{case.id}@mail.example.net"],
            due_at=due_at,
        )
        return case.id, row.id


def outbox_row(engine: Engine, row_id: int) -> OutboxMessage:
    with Session(engine) as session:
        return session.get(OutboxMessage, row_id)


def timeline(engine: Engine, case_id: int) -> list[TimelineEvent]:
    with Session(engine) as session:
        return list(
            session.exec(select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.id)).all()
        )


def text_of(mail) -> str:
    return mail.message.get_body(("plain",)).get_content()


def html_of(mail) -> str:
    return mail.message.get_body(("html",)).get_content()


# --- delivery ---


def test_an_acknowledgement_is_delivered_once_with_the_right_headers(
    engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer
) -> None:
    case_id, row_id = open_case(engine)
    row = outbox_row(engine, row_id)

    stats = dispatcher.run_once()

    assert (stats.claimed, stats.sent) == (1, 1)
    [mail] = smtp_server.messages
    msg = mail.message
    assert mail.mail_from == SENDER
    assert mail.rcpt_tos == [PARENT]
    assert msg["Message-ID"] == f"<{row.message_id}>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["In-Reply-To"] == f"<parent-{case_id}@mail.example.net>"
    assert msg["References"] == f"<parent-{case_id}@mail.example.net>"
    assert f"[{row.context['reference']}]" in msg["Subject"]
    assert [part.get_content_type() for part in msg.iter_parts()] == ["text/plain", "text/html"]
    assert row.context["reference"] in text_of(mail)

    sent = outbox_row(engine, row_id)
    assert sent.status == SENT
    assert sent.provider_id == "Q000001"
    assert sent.attempts == 1
    assert sent.sent_at is not None
    [event] = timeline(engine, case_id)
    assert event.summary == f"Acknowledgement sent to {PARENT}"
    assert event.kind == "message_out"
    assert event.outbox_id == row_id

    # Nothing more, now or much later.
    assert dispatcher.run_once().claimed == 0
    assert dispatcher.run_once(now=utcnow() + timedelta(days=2)).claimed == 0
    assert len(smtp_server.messages) == 1
    assert dispatcher.sent == 1


@pytest.mark.parametrize(
    ("region", "service", "present", "absent"),
    [
        ("london", "mediation", [LONDON_PHONE], [NATIONAL_PHONE, "mediation certificate"]),
        ("national", "mediation", [NATIONAL_PHONE], [LONDON_PHONE, "mediation certificate"]),
        (None, "mediation", [LONDON_PHONE, NATIONAL_PHONE], ["mediation certificate"]),
        ("london", "certificate", [LONDON_PHONE, "mediation certificate", "within 3 working days"], []),
    ],
)
def test_what_the_family_reads_depends_on_region_and_service(
    engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer, region, service, present, absent
) -> None:
    open_case(engine, region=region, service=service)
    dispatcher.run_once()
    [mail] = smtp_server.messages
    for part in (text_of(mail), html_of(mail)):
        for phrase in present:
            assert phrase in part
        for phrase in absent:
            assert phrase not in part


def test_not_served_reply_is_delivered(engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer) -> None:
    open_case(engine, region=None, template="not_served")
    assert dispatcher.run_once().sent == 1
    [mail] = smtp_server.messages
    assert "families in England" in text_of(mail)


# --- transient failures ---


def test_smtp_down_then_up_sends_exactly_once(
    engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer
) -> None:
    case_id, row_id = open_case(engine)
    t0 = utcnow()
    smtp_server.stop()

    stats = dispatcher.run_once(now=t0)

    assert (stats.claimed, stats.retried, stats.sent) == (1, 1, 0)
    row = outbox_row(engine, row_id)
    assert row.status == PENDING
    assert row.attempts == 1
    # Our own relay down: tried again soon (15 s, doubling to 5 min), so mail flows once it is back.
    assert t0 + timedelta(seconds=11) <= row.due_at <= t0 + timedelta(seconds=15)
    assert "ConnectionRefusedError" in row.last_error
    [event] = timeline(engine, case_id)
    assert event.kind == "delivery_retry"
    assert event.summary.startswith(f"Email to {PARENT} delayed, will retry: SMTP connection failed")

    smtp_server.start()
    assert dispatcher.run_once(now=t0 + timedelta(seconds=5)).claimed == 0  # not due yet
    assert smtp_server.messages == []

    assert dispatcher.run_once(now=t0 + timedelta(seconds=20)).sent == 1
    assert dispatcher.run_once(now=t0 + timedelta(hours=3)).claimed == 0
    assert len(smtp_server.messages) == 1
    row = outbox_row(engine, row_id)
    assert (row.status, row.attempts) == (SENT, 2)
    assert [e.kind for e in timeline(engine, case_id)] == ["delivery_retry", "message_out"]


def test_450_then_250_is_retried_then_sent(engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer) -> None:
    case_id, row_id = open_case(engine)
    smtp_server.set_rcpt_replies(PARENT, "450 4.2.1 Mailbox busy, try again later", "250 OK")
    t0 = utcnow()

    assert dispatcher.run_once(now=t0).retried == 1
    row = outbox_row(engine, row_id)
    assert (row.status, row.last_error) == (PENDING, "450 4.2.1 Mailbox busy, try again later")
    assert timeline(engine, case_id)[0].summary == (
        f"Email to {PARENT} delayed, will retry: 450 4.2.1 Mailbox busy, try again later"
    )

    assert dispatcher.run_once(now=t0 + timedelta(minutes=2)).sent == 1
    assert len(smtp_server.messages) == 1
    assert outbox_row(engine, row_id).status == SENT
    assert (dispatcher.retried, dispatcher.sent) == (1, 1)


def test_transient_failures_give_up_after_max_attempts(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = make_settings(tmp_path, outbox_max_attempts=3)
    dispatcher = Dispatcher(engine, settings, email_via(settings, smtp_to(smtp_server)), worker="w")
    case_id, row_id = open_case(engine)
    smtp_server.set_rcpt_replies(PARENT, "451 4.3.0 Temporary lookup failure")
    now = utcnow()
    outcomes = []
    for _ in range(4):
        stats = dispatcher.run_once(now=now)
        outcomes.append((stats.retried, stats.failed))
        now += timedelta(hours=2)

    assert outcomes == [(1, 0), (1, 0), (0, 1), (0, 0)]
    row = outbox_row(engine, row_id)
    assert row.status == FAILED
    assert row.attempts == 3
    assert row.last_error == "gave up after 3 attempts: 451 4.3.0 Temporary lookup failure"
    assert timeline(engine, case_id)[-1].summary == (
        f"Email to {PARENT} failed: gave up after 3 attempts: 451 4.3.0 Temporary lookup failure"
    )


# --- permanent failures ---


def test_550_fails_with_the_servers_reason_and_is_never_retried(
    engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer
) -> None:
    case_id, row_id = open_case(engine)
    reason = f"550 5.1.1 <{PARENT}>: Recipient address rejected: User unknown"
    smtp_server.set_rcpt_replies(PARENT, reason)

    stats = dispatcher.run_once()

    assert (stats.failed, stats.retried, stats.sent) == (1, 0, 0)
    row = outbox_row(engine, row_id)
    assert (row.status, row.last_error, row.attempts) == (FAILED, reason, 1)
    [event] = timeline(engine, case_id)
    assert event.kind == "delivery_failed"
    assert event.summary == f"Email to {PARENT} failed: {reason}"

    smtp_server.set_rcpt_replies(PARENT, "250 OK")
    assert dispatcher.run_once(now=utcnow() + timedelta(days=1)).claimed == 0
    assert smtp_server.messages == []
    assert outbox_row(engine, row_id).attempts == 1


def test_a_mailbox_the_server_says_does_not_exist_is_marked_undeliverable_and_not_written_to_again(
    engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer
) -> None:
    with session_scope(engine) as session:
        ensure_contact(session, email=PARENT, name="Sam Parent")
    _case_id, row_id = open_case(engine)
    smtp_server.set_rcpt_replies(PARENT, f"550 5.1.1 <{PARENT}>: Recipient address rejected: User unknown")

    assert dispatcher.run_once().failed == 1

    assert outbox_row(engine, row_id).status == FAILED
    with Session(engine) as session:
        assert is_suppressed(session, "email", PARENT)
        point = session.exec(select(ContactPoint).where(ContactPoint.value == PARENT)).one()
        assert point.undeliverable_at is not None and "User unknown" in point.undeliverable_reason
    _later_case, later_row = open_case(engine)  # e.g. a session confirmation to the same family
    assert dispatcher.run_once().suppressed == 1
    assert outbox_row(engine, later_row).status == SUPPRESSED
    assert smtp_server.messages == []


def test_a_policy_refusal_fails_the_row_but_leaves_the_address_alone(
    engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer
) -> None:
    _case_id, row_id = open_case(engine)
    smtp_server.set_rcpt_replies(PARENT, "550 5.7.1 Relaying denied")
    assert dispatcher.run_once().failed == 1
    assert outbox_row(engine, row_id).last_error == "550 5.7.1 Relaying denied"
    with Session(engine) as session:
        assert not is_suppressed(session, "email", PARENT)


def test_a_login_our_relay_refuses_keeps_acknowledgements_waiting_until_it_is_fixed(
    engine: Engine, tmp_path: Path, make_smtp_server
) -> None:
    server = make_smtp_server(users={"desk": "s3cret"})
    settings = make_settings(tmp_path, outbox_max_attempts=3)

    def dispatcher_with(password: str) -> Dispatcher:
        transport = SmtpTransport(server.host, server.port, "none", "desk", password, timeout=5, envelope_from=SENDER)
        return Dispatcher(engine, settings, email_via(settings, transport), worker="w")

    case_id, row_id = open_case(engine)
    misconfigured = dispatcher_with("wrong")
    now = utcnow()
    for _ in range(6):  # twice the attempts a message's own 4xx would get
        assert misconfigured.run_once(now=now).retried == 1
        now += timedelta(hours=2)
    row = outbox_row(engine, row_id)
    assert (row.status, row.attempts) == (PENDING, 6)  # never given up: the family is not at fault
    assert "535" in misconfigured.unavailable["email"]
    assert [e.kind for e in timeline(engine, case_id)] == ["delivery_retry"]  # said once, not six times

    fixed = dispatcher_with("s3cret")
    assert fixed.run_once(now=now).sent == 1
    assert fixed.unavailable == {}
    assert outbox_row(engine, row_id).status == SENT
    assert len(server.messages) == 1


def test_a_template_that_cannot_render_fails_the_row(
    engine: Engine, settings: Settings, smtp_server: SmtpTestServer
) -> None:
    dispatcher = Dispatcher(engine, settings, email_via(settings, smtp_to(smtp_server)), worker="w")
    case_id, row_id = open_case(engine, template="no_such_template")

    assert dispatcher.run_once().failed == 1

    row = outbox_row(engine, row_id)
    assert row.status == FAILED
    assert "no_such_template.subject.txt" in row.last_error
    assert "failed: no_such_template.subject.txt" in timeline(engine, case_id)[0].summary
    assert smtp_server.messages == []


def test_suppressed_address_is_not_sent(engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer) -> None:
    case_id, row_id = open_case(engine, to="Gone@Example.net")
    with session_scope(engine) as session:
        suppress(session, "email", "gone@example.net", "hard bounce")

    assert dispatcher.run_once().suppressed == 1

    assert smtp_server.messages == []
    assert outbox_row(engine, row_id).status == SUPPRESSED
    [event] = timeline(engine, case_id)
    assert event.kind == "delivery_suppressed"
    assert "gone@example.net not sent" in event.summary  # addresses are kept lower-case
    assert dispatcher.suppressed == 1


# --- channels and transports ---


def test_sms_rows_stay_pending_untouched_without_an_sms_channel(
    engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer
) -> None:
    open_case(engine)
    with session_scope(engine) as session:
        sms = enqueue(session, key="sms:1", channel="sms", to="+447700900123", template="reminder", context={})
        sms_id = sms.id

    assert dispatcher.run_once().claimed == 1  # the email only
    row = outbox_row(engine, sms_id)
    assert (row.status, row.attempts, row.claimed_by, row.claimed_at) == (PENDING, 0, None, None)


NUMBER = "+447700900123"


def enqueue_sms(engine: Engine, *, key: str = "sms:1", to: str = NUMBER) -> tuple[int, int]:
    """A case and a session reminder by SMS in the outbox; (case id, row id)."""
    with session_scope(engine) as session:
        case = Case(reference=f"MD-26-{next(_references):04X}", service="mediation", region="london")
        session.add(case)
        session.flush()
        row = enqueue(
            session, key=key, channel="sms", to=to, template="reminder", context={"when": "Tue 10:00"}, case_id=case.id
        )
        return case.id, row.id


def with_sms(engine: Engine, settings: Settings, smtp_server: SmtpTestServer, sms: RecordingSms) -> Dispatcher:
    return Dispatcher(engine, settings, {**email_via(settings, smtp_to(smtp_server)), "sms": sms}, worker="w")


def counted(counter, channel: str) -> float:
    return counter.labels(channel)._value.get()


def test_sms_rows_go_to_the_second_channel_with_no_change_to_the_dispatcher(
    engine: Engine, settings: Settings, smtp_server: SmtpTestServer
) -> None:
    sms = RecordingSms()
    dispatcher = with_sms(engine, settings, smtp_server, sms)
    case_id, sms_id = enqueue_sms(engine)
    open_case(engine)
    sent_before = {c: counted(metrics.OUTBOX_SENT, c) for c in ("email", "sms")}

    assert dispatcher.run_once().sent == 2

    assert sms.given == [(NUMBER, "reminder", {"when": "Tue 10:00"})]
    assert [m.rcpt_tos for m in smtp_server.messages] == [[PARENT]]  # the email went by email only
    row = outbox_row(engine, sms_id)
    assert (row.status, row.provider_id, row.message_id) == (SENT, "SM" + "1".zfill(32), None)
    assert timeline(engine, case_id)[0].summary == f"SMS sent to {NUMBER}"
    assert {c: counted(metrics.OUTBOX_SENT, c) - sent_before[c] for c in ("email", "sms")} == {"email": 1, "sms": 1}


def test_a_number_suppressed_for_sms_is_not_sent_to(
    engine: Engine, settings: Settings, smtp_server: SmtpTestServer
) -> None:
    sms = RecordingSms()
    dispatcher = with_sms(engine, settings, smtp_server, sms)
    with session_scope(engine) as session:
        suppress(session, "sms", NUMBER, "STOP")
    _, row_id = enqueue_sms(engine)

    assert dispatcher.run_once().suppressed == 1

    assert sms.given == []
    assert outbox_row(engine, row_id).status == SUPPRESSED


def test_the_second_channels_failures_are_sorted_like_emails(
    engine: Engine, settings: Settings, smtp_server: SmtpTestServer
) -> None:
    sms = RecordingSms(
        TransientSendError("429 Too Many Requests", code=429),
        TransportUnavailable("20003 Authentication Error", code=20003),
        RuntimeError("bug in the SMS channel"),
        PermanentSendError("21211 Invalid 'To' Phone Number", code=21211, undeliverable=NUMBER),
    )
    dispatcher = with_sms(engine, settings, smtp_server, sms)
    case_id, row_id = enqueue_sms(engine)
    failed_before = counted(metrics.OUTBOX_FAILED, "sms")
    now = utcnow()

    assert dispatcher.run_once(now=now).retried == 1  # 429: later, with backoff
    assert outbox_row(engine, row_id).due_at >= now + timedelta(seconds=44)
    now += timedelta(hours=2)
    assert dispatcher.run_once(now=now).retried == 1  # our own account refused: an outage
    assert dispatcher.unavailable == {"sms": "20003 Authentication Error"}
    now += timedelta(hours=2)
    assert dispatcher.run_once(now=now).retried == 1  # a bug: kept, and said
    assert dispatcher.errors == {"sms": "internal error: RuntimeError: bug in the SMS channel"}
    now += timedelta(hours=2)
    assert dispatcher.run_once(now=now).failed == 1  # a number that does not exist: failed for good

    row = outbox_row(engine, row_id)
    assert (row.status, row.last_error, row.attempts) == (FAILED, "21211 Invalid 'To' Phone Number", 4)
    assert counted(metrics.OUTBOX_FAILED, "sms") - failed_before == 1
    with Session(engine) as session:
        assert is_suppressed(session, "sms", NUMBER)
        assert not is_suppressed(session, "email", NUMBER)
    assert timeline(engine, case_id)[-1].summary == f"SMS to {NUMBER} failed: 21211 Invalid 'To' Phone Number"
    assert dispatcher.unavailable == {"sms": "20003 Authentication Error"}  # until an SMS goes out


def test_a_send_that_works_clears_its_channels_trouble_and_only_its_own(
    engine: Engine, settings: Settings, smtp_server: SmtpTestServer
) -> None:
    sms = RecordingSms(TransportUnavailable("20003 Authentication Error"))
    dispatcher = with_sms(engine, settings, smtp_server, sms)
    enqueue_sms(engine)
    now = utcnow()
    dispatcher.run_once(now=now)
    open_case(engine, due_at=now)

    assert dispatcher.run_once(now=now).sent == 1  # an email: the SMS outage stays
    assert dispatcher.unavailable == {"sms": "20003 Authentication Error"}
    assert dispatcher.run_once(now=now + timedelta(minutes=1)).sent == 1  # the SMS, retried
    assert dispatcher.unavailable == {}


def test_the_email_channel_renders_a_row_for_a_preview(engine: Engine, settings: Settings) -> None:
    _, row_id = open_case(engine, region=None, template="not_served")
    row = outbox_row(engine, row_id)

    rendered = EmailChannel(settings, ConsoleTransport(settings.var_dir)).render(row)

    assert rendered.to == PARENT
    assert f"[{row.context['reference']}]" in (rendered.subject or "")
    assert "families in England" in rendered.body
    assert rendered.html is not None and "families in England" in rendered.html


def test_a_template_that_cannot_render_is_a_permanent_failure_of_the_email_channel(settings: Settings) -> None:
    row = OutboxMessage(idempotency_key="k", channel="email", to=PARENT, template="no_such_template", context={})
    with pytest.raises(PermanentSendError, match=r"no_such_template\.subject\.txt"):
        EmailChannel(settings, ConsoleTransport(settings.var_dir)).render(row)


def test_console_transport_writes_an_eml_and_opens_no_socket(
    engine: Engine, settings: Settings, no_network: list[object]
) -> None:
    folder = settings.var_dir / "sent"
    dispatcher = Dispatcher(engine, settings, email_via(settings, ConsoleTransport(folder)), worker="w")
    _, row_id = open_case(engine)

    assert dispatcher.run_once().sent == 1

    row = outbox_row(engine, row_id)
    assert row.provider_id == f"console:{row.message_id}"
    [eml] = folder.glob("*.eml")
    recorded = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert recorded["Message-ID"] == f"<{row.message_id}>"
    assert recorded["Auto-Submitted"] == "auto-replied"
    assert no_network == []


def test_a_row_written_without_a_message_id_gets_one_kept_across_retries(
    engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer
) -> None:
    _, row_id = open_case(engine)
    with session_scope(engine) as session:
        session.get(OutboxMessage, row_id).message_id = None
    smtp_server.set_rcpt_replies(PARENT, "421 4.7.0 Try again later", "250 OK")
    t0 = utcnow()

    dispatcher.run_once(now=t0)
    first = outbox_row(engine, row_id).message_id
    assert first and first.endswith("@mediation-desk.example.org")
    dispatcher.run_once(now=t0 + timedelta(minutes=2))

    assert smtp_server.message_ids() == [first]


# --- claims ---


def test_a_crashed_workers_claim_is_taken_over_after_the_lease(
    engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer
) -> None:
    _, row_id = open_case(engine)
    t0 = utcnow()
    assert claim_due(engine, worker="crashed", now=t0) == [row_id]  # ... and never sends

    assert dispatcher.run_once(now=t0 + timedelta(minutes=4)).claimed == 0
    assert dispatcher.run_once(now=t0 + timedelta(minutes=6)).sent == 1
    row = outbox_row(engine, row_id)
    assert (row.status, row.attempts, row.claimed_by) == (SENT, 2, "test-1")
    assert len(smtp_server.messages) == 1


class HookedTransport:
    """Records sends; runs `before_first` while the first message is "on the wire"."""

    def __init__(self, before_first=None, error: Exception | None = None) -> None:
        self.before_first = before_first
        self.error = error
        self.sent: list[str] = []

    def send(self, msg) -> str:
        if self.before_first is not None:
            hook, self.before_first = self.before_first, None
            hook()
        if self.error is not None:
            raise self.error
        self.sent.append(str(msg["Message-ID"]))
        return f"fake-{len(self.sent)}"


def test_rows_whose_claim_passed_to_another_worker_mid_batch_are_left_alone(engine: Engine, settings: Settings) -> None:
    rows = [open_case(engine)[1] for _ in range(3)]
    t0 = utcnow()
    # The first send stalls past the lease, and another worker takes over the rest of the batch.
    transport = HookedTransport(before_first=lambda: claim_due(engine, worker="other", now=t0 + timedelta(minutes=6)))
    dispatcher = Dispatcher(engine, settings, email_via(settings, transport), worker="slow")

    stats = dispatcher.run_once(now=t0)

    assert (stats.claimed, stats.sent, stats.skipped) == (3, 1, 2)
    assert len(transport.sent) == 1
    assert [outbox_row(engine, r).claimed_by for r in rows[1:]] == ["other", "other"]
    assert {outbox_row(engine, r).status for r in rows[1:]} == {SENDING}


def test_an_unexpected_error_is_kept_and_retried_not_lost(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    case_id, row_id = open_case(engine)
    transport = HookedTransport(error=RuntimeError(f"bug while sending to {PARENT}"))
    dispatcher = Dispatcher(engine, settings, email_via(settings, transport), worker="w")

    assert dispatcher.run_once().retried == 1

    row = outbox_row(engine, row_id)
    assert row.status == PENDING
    assert row.last_error == "internal error: RuntimeError: bug while sending to <address>"
    assert "internal error" in timeline(engine, case_id)[0].summary
    [error] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "RuntimeError" in error.getMessage()
    assert "test_dispatch.py" in error.getMessage()  # the traceback, for whoever fixes it
    assert PARENT not in error.getMessage()


def test_claim_takes_due_rows_in_order_and_marks_them(engine: Engine) -> None:
    t0 = utcnow()
    _, later = open_case(engine, due_at=t0 - timedelta(minutes=1))
    _, earlier = open_case(engine, due_at=t0 - timedelta(minutes=5))
    _, future = open_case(engine, due_at=t0 + timedelta(minutes=5))

    assert claim_due(engine, worker="w", now=t0) == [earlier, later]
    row = outbox_row(engine, earlier)
    assert (row.status, row.claimed_by, row.claimed_at, row.attempts) == (SENDING, "w", t0, 1)
    assert outbox_row(engine, future).status == PENDING
    assert claim_due(engine, worker="w", now=t0) == []


def test_claim_respects_the_limit(engine: Engine) -> None:
    for _ in range(5):
        open_case(engine)
    assert len(claim_due(engine, worker="w", limit=3)) == 3
    assert len(claim_due(engine, worker="w", limit=3)) == 2


def test_a_late_failure_does_not_undo_a_sent_row(engine: Engine) -> None:
    _, row_id = open_case(engine)
    claim_due(engine, worker="w")
    with session_scope(engine) as session:
        record_sent(session, row_id, "Q1", utcnow())
    with session_scope(engine) as session:
        record_retry(session, row_id, "421 late", utcnow())
    assert outbox_row(engine, row_id).status == SENT


def test_retry_delay_doubles_from_a_minute_up_to_an_hour() -> None:
    rng = random.Random(1)
    for attempts, full in [(1, 1), (2, 2), (3, 4), (4, 8), (6, 32), (7, 60), (12, 60)]:
        for _ in range(20):
            delay = retry_delay(attempts, rng=rng)
            assert timedelta(minutes=full) * 0.75 <= delay <= timedelta(minutes=full)


def test_retry_delays_are_jittered() -> None:
    assert len({retry_delay(3) for _ in range(20)}) > 1


def test_redact_strips_addresses_and_numbers_from_log_text() -> None:
    assert redact("550 5.1.1 <a.b@example.net>: User unknown") == "550 5.1.1 <address>: User unknown"
    assert redact("21610 To number +44 7700 900123 unsubscribed") == "21610 To number <number> unsubscribed"


def test_no_personal_data_in_logs_above_debug(
    engine: Engine, dispatcher: Dispatcher, smtp_server: SmtpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    open_case(engine)
    open_case(engine, to="gone@example.net")
    smtp_server.set_rcpt_replies("gone@example.net", "550 5.1.1 <gone@example.net>: User unknown")
    caplog.set_level("INFO")
    dispatcher.run_once()
    ours = [r for r in caplog.records if r.name.split(".")[0] in {"models", "inbox", "scheduler"}]
    logged = "\n".join(record.getMessage() for record in ours)
    assert "outbox" in logged
    assert "@example.net" not in logged
    assert "Sam Parent" not in logged


# --- two dispatchers at once ---


def run_until_idle(dispatcher: Dispatcher, start: threading.Barrier, errors: list[BaseException]) -> None:
    try:
        start.wait()
        while dispatcher.run_once().claimed:
            pass
    except BaseException as exc:  # surfaced by the test, not lost in the thread
        errors.append(exc)


def assert_two_dispatchers_send_each_row_once(
    engines: tuple[Engine, Engine], settings: Settings, smtp_server: SmtpTestServer, rows: int = 200
) -> None:
    for _ in range(rows):
        open_case(engines[0], region=None)
    dispatchers = [
        Dispatcher(engine, settings, email_via(settings, smtp_to(smtp_server)), worker=f"worker-{n}")
        for n, engine in enumerate(engines)
    ]
    start, errors = threading.Barrier(len(dispatchers)), []
    threads = [threading.Thread(target=run_until_idle, args=(d, start, errors)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    delivered = Counter(smtp_server.message_ids())
    assert len(delivered) == rows
    assert set(delivered.values()) == {1}
    assert sum(d.sent for d in dispatchers) == rows
    assert all(d.sent for d in dispatchers), "both dispatchers should have taken part"
    with Session(engines[0]) as session:
        statuses = Counter(session.exec(select(OutboxMessage.status)).all())
        attempts = set(session.exec(select(OutboxMessage.attempts)).all())
    assert statuses == {SENT: rows}
    assert attempts == {1}


def assert_concurrent_claims_are_disjoint(engines: tuple[Engine, Engine], rows: int = 200) -> None:
    for _ in range(rows):
        open_case(engines[0], region=None)
    claims: dict[int, list[int]] = {0: [], 1: []}
    start, errors = threading.Barrier(2), []

    def claim_all(n: int) -> None:
        try:
            start.wait()
            while ids := claim_due(engines[n], worker=f"w{n}", limit=7):
                claims[n] += ids
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert set(claims[0]).isdisjoint(claims[1])
    assert len(claims[0]) + len(claims[1]) == rows
    with Session(engines[0]) as session:
        for n in (0, 1):
            owners = set(session.exec(select(OutboxMessage.claimed_by).where(OutboxMessage.id.in_(claims[n]))).all())
            assert owners <= {f"w{n}"}


@pytest.fixture
def two_sqlite_engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    url = "sqlite:///" + str(tmp_path / "t.db")
    first = make_engine(url)
    upgrade(first)
    second = make_engine(url)
    yield first, second
    first.dispose()
    second.dispose()


def test_two_dispatchers_on_one_sqlite_file_send_every_row_exactly_once(
    two_sqlite_engines: tuple[Engine, Engine], tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = make_settings(tmp_path, outbox_batch=10)
    assert_two_dispatchers_send_each_row_once(two_sqlite_engines, settings, smtp_server)


def test_concurrent_claims_on_sqlite_never_overlap(two_sqlite_engines: tuple[Engine, Engine]) -> None:
    assert_concurrent_claims_are_disjoint(two_sqlite_engines)


# --- the same on PostgreSQL ---


@pytest.fixture
def two_pg_engines() -> Iterator[tuple[Engine, Engine]]:
    """Two engines on a fresh schema of the test database, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    admin_url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(admin_url, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    schema = f"dispatch_test_{secrets.token_hex(4)}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engines = (make_engine(url), make_engine(url))
    try:
        upgrade(engines[0])
        yield engines
    finally:
        for engine in engines:
            engine.dispose()
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.mark.postgres
def test_two_dispatchers_on_postgresql_send_every_row_exactly_once(
    two_pg_engines: tuple[Engine, Engine], tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = make_settings(tmp_path, outbox_batch=10)
    assert_two_dispatchers_send_each_row_once(two_pg_engines, settings, smtp_server)


@pytest.mark.postgres
def test_concurrent_claims_on_postgresql_never_overlap(two_pg_engines: tuple[Engine, Engine]) -> None:
    assert two_pg_engines[0].dialect.name == "postgresql"
    assert_concurrent_claims_are_disjoint(two_pg_engines)
