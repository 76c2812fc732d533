"""Children's health data stays out of the logs: nothing personal above DEBUG, even when things fail."""

from __future__ import annotations

import logging

from inbox import intake as intake_module
from inbox.intake import Intake
from inbox.sources.base import MessageKey, SourceMessage
from tests import mailfactory

PERSONAL = ("joanne", "Pryce", "Elliot", "07700", "example.com")


def above_debug(caplog) -> str:
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records if r.levelno > logging.DEBUG)


def test_intake_logs_nothing_personal_even_when_a_step_fails(engine, settings, caplog, monkeypatch):
    def failing(msg, **kwargs):
        raise RuntimeError(f"could not read {msg.subject} from {msg.sender.email}")

    caplog.set_level(logging.DEBUG)
    intake = Intake(engine, settings.model_copy(update={"read_timeout_seconds": 0}))  # read here: the step fails
    assert intake.handle(SourceMessage(MessageKey("maildir:/x", 0, "1"), mailfactory.referral()))
    monkeypatch.setattr(intake_module, "extract_referral", failing)
    assert intake.handle(
        SourceMessage(MessageKey("maildir:/x", 0, "2"), mailfactory.referral(subject="Elliot Pryce again"))
    )
    logged = above_debug(caplog)
    assert "quarantined" in logged  # the failure is reported...
    assert not [word for word in PERSONAL if word in logged]  # ...without who it was about
