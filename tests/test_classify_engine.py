"""inbox.classify's engine: the verdict keeps the names of the rules that fired, and a rule that
raises (a bug) is recorded on the verdict and logged at ERROR without anything from the message,
while the other rules still vote. A table with a broken rule is built here: the table is data."""

from __future__ import annotations

import logging

import pytest

from inbox.classify import AUTO_GENERATED, RULES, Rule, RuleError, Verdict, classify
from inbox.parse import parse_message
from tests.test_automated import dsn, mail

PERSONAL = ("Jane", "jane.parent", "example.com", "Referral for my son", "mediation for my son")


def _broken(f) -> str | None:
    raise ValueError(f"cannot read {f.subject} from {f.sender}")  # the text quotes the mail


BROKEN = Rule("broken_rule", AUTO_GENERATED, _broken, "a rule with a bug, for these tests")
WITH_A_BROKEN_RULE = (*RULES, BROKEN)


def above_debug(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records if r.levelno > logging.DEBUG)


def test_the_verdict_names_each_rule_that_fired_beside_its_reason() -> None:
    verdict = classify(parse_message(dsn(extra_headers={"Auto-Submitted": "auto-replied"})))
    assert verdict.rules == (
        "delivery_status_report",
        "daemon_sender",
        "bounce_subject",
        "bounce_text",
        "auto_submitted_replied",  # a weaker kind: named too, after the bounce rules
    )
    assert dict(zip(verdict.rules, verdict.reasons, strict=True))["auto_submitted_replied"] == (
        "Auto-Submitted: auto-replied"
    )


def test_a_delay_warning_adds_its_reason_but_no_rule_name() -> None:
    verdict = classify(parse_message(dsn(action="delayed", status="4.4.7")))
    assert verdict.delay and len(verdict.reasons) == len(verdict.rules) + 1
    assert verdict.reasons[-1] == "Action: delayed (a delay warning, not final)"


def test_a_persons_mail_names_no_rule() -> None:
    assert classify(parse_message(mail())) == Verdict(None, (), rules=(), errors=())


def test_a_rule_that_raises_is_recorded_and_logged_at_error_without_the_mail(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    verdict = classify(parse_message(mail()), WITH_A_BROKEN_RULE)
    assert verdict == Verdict(None, (), errors=(RuleError("broken_rule", "ValueError"),))
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "broken_rule" in error.getMessage() and "ValueError" in error.getMessage()
    assert error.exc_info is None  # the traceback quotes the mail: DEBUG only
    logged = above_debug(caplog)
    assert not [word for word in PERSONAL if word in logged]


def test_the_other_rules_still_vote_when_one_raises(caplog) -> None:
    raw = mail("News.\n", subject="Our November news", headers={"List-Id": "<news.example.com>"})
    verdict = classify(parse_message(raw), WITH_A_BROKEN_RULE)
    assert (verdict.kind, verdict.rules, verdict.reasons) == (AUTO_GENERATED, ("mailing_list",), ("List-Id header",))
    assert verdict.errors == (RuleError("broken_rule", "ValueError"),)
