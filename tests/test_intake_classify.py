"""Intake and the classifier: the names of the rules that fired are stored on the message and
counted in /metrics once per message taken in; a rule that raises (a bug) is recorded on the
message, counted, logged at ERROR without personal data, and a person's mail it hit still becomes
a case, marked for a coordinator. Real database (SQLite and PostgreSQL), messages from mailfactory;
the broken rule is one more row in the rule table (the table is data)."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import Session, select

from inbox.classify import Rule
from inbox.classify import engine as classify_engine
from inbox.intake import Intake
from models import metrics
from models.cases import InboxItem
from models.mail import InboundMessage
from models.types import utcnow
from tests import mailfactory
from tests.test_intake import cases, deliver, outbox


@pytest.fixture
def intake(engine, settings) -> Intake:
    # Read in this process (no reading bound, no workers): the tests swap the classifier's rule table here.
    return Intake(engine, settings.model_copy(update={"read_timeout_seconds": 0}))


def rule_hits(rule: str) -> float:
    return metrics.REGISTRY.get_sample_value("mdesk_classifier_rule_hits_total", {"rule": rule}) or 0.0


def pipeline_errors(step: str) -> float:
    return metrics.REGISTRY.get_sample_value("mdesk_pipeline_errors_total", {"step": step}) or 0.0


def test_the_rules_that_fired_are_stored_on_the_message_and_counted_once(engine, intake):
    deliver(intake, mailfactory.referral())
    [ack] = outbox(engine)
    before = rule_hits("delivery_status_report"), rule_hits("auto_submitted_replied")
    bounce = mailfactory.bounce_of(ack.message_id, ack.to)
    deliver(intake, bounce, uid=9001)
    deliver(intake, bounce, uid=9001)  # the same message again (a crash before the mark): not counted twice
    assert (rule_hits("delivery_status_report"), rule_hits("auto_submitted_replied")) == (before[0] + 1, before[1] + 1)
    with Session(engine) as session:
        person, machine = session.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert (person.rules, person.faults) == ([], [])
    assert machine.rules == [
        "delivery_status_report",
        "daemon_sender",
        "bounce_subject",
        "bounce_text",
        "auto_submitted_replied",
    ]
    assert machine.faults == []


def _broken(facts):
    raise RuntimeError(f"rule bug reading {facts.subject} from {facts.sender}")


def test_a_classifier_rule_that_raises_leaves_a_persons_mail_a_case_marked_for_a_coordinator(
    engine, intake, monkeypatch, caplog
):
    monkeypatch.setattr(classify_engine, "RULES", (*classify_engine.RULES, Rule("broken_rule", "bounce", _broken, "")))
    caplog.set_level(logging.DEBUG)
    before = pipeline_errors("classify:broken_rule")
    assert deliver(intake, mailfactory.referral())
    [case] = cases(engine)  # still a person's referral: a case and its acknowledgement
    [ack] = outbox(engine)
    assert ack.case_id == case.id
    with Session(engine) as session:
        stored = session.exec(select(InboundMessage)).one()
        [item] = session.exec(select(InboxItem)).all()
    assert stored.faults == ["classify:broken_rule"] and stored.outcome == "new_case"
    assert "classification incomplete: rule(s) broken_rule (RuntimeError) failed" in stored.reasons[0]
    assert (item.kind, item.inbound_message_id) == ("fault", stored.id)
    assert "broken_rule" in item.summary
    assert pipeline_errors("classify:broken_rule") == before + 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("broken_rule" in message and "RuntimeError" in message for message in errors)
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records if r.levelno > logging.DEBUG)
    assert not [word for word in ("joanne", "Pryce", "Elliot", "example.com") if word in logged]


def test_machine_mail_stays_machine_mail_when_another_rule_raises(engine, intake, monkeypatch):
    monkeypatch.setattr(classify_engine, "RULES", (*classify_engine.RULES, Rule("broken_rule", "bounce", _broken, "")))
    deliver(intake, mailfactory.out_of_office("not-ours@example.com", sender="away@example.org"))
    assert cases(engine) == [] and outbox(engine) == []
    with Session(engine) as session:
        stored = session.exec(select(InboundMessage)).one()
        assert session.exec(select(InboxItem)).all() == []
    assert (stored.outcome, stored.faults) == ("automated", ["classify:broken_rule"])
    assert stored.rules and "classification incomplete" in stored.reasons[0]


def test_messages_taken_in_before_the_migration_have_no_rules_and_no_faults(engine):
    """Down to 0001 and up again, with a row of the old shape in between."""
    from alembic import command
    from sqlalchemy import text

    from models import db

    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO inboundmessage (mailbox, uidvalidity, uid, sha256, dedupe_key, raw, size, received_at,"
                " status, reasons) VALUES ('maildir:/x', 0, '1', 'h', 'k', :raw, 1, :at, 'processed', '[]')"
            ),
            {"raw": b"x", "at": utcnow()},
        )
    db.upgrade(engine)
    with Session(engine) as session:
        stored = session.exec(select(InboundMessage)).one()
    assert (stored.rules, stored.faults) == ([], [])
