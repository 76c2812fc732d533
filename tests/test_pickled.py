"""A reading travels from a worker to intake by pickle (inbox/readers.py): it must arrive whole.

`inbox.pickled.by_fields` rebuilds each object by calling its class with its values in field order;
a field left out or put in the wrong place would change what intake stores, without any error.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import pytest

from inbox.pickled import by_fields
from inbox.reading import Reading, ReadOptions, Unread, read
from tests import mailfactory


def _round_trip(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def test_a_referral_with_an_attachment_arrives_with_every_field_and_its_evidence():
    reading = read(mailfactory.with_attachment(2_000), ReadOptions())
    assert isinstance(reading, Reading)
    assert reading.referral is not None and reading.referral.evidence  # something to lose
    assert reading.parsed.attachments and reading.parsed.sender is not None
    assert reading.verdict.kind is None and reading.documents

    back = _round_trip(reading)

    assert back == reading
    assert back.referral.evidence["contact_phone"].snippet == reading.referral.evidence["contact_phone"].snippet
    assert back.parsed.attachments[0].sha256 == reading.parsed.attachments[0].sha256
    assert back.documents[0].filename == "ehc-plan.pdf"


def test_a_bounce_and_an_unread_message_arrive_as_they_left():
    bounce = read(mailfactory.bounce_of("<ours-1@mediation-desk.example.org>", "gone@example.com"), ReadOptions())
    assert isinstance(bounce, Reading) and bounce.verdict.kind == "bounce" and bounce.verdict.rules
    assert _round_trip(bounce) == bounce
    unread = Unread("could not be processed (ValueError)", "Traceback ...")
    assert _round_trip(unread) == unread


def test_a_class_whose_fields_a_call_could_not_give_back_is_refused_at_import():
    with pytest.raises(TypeError, match="by_fields"):

        @by_fields
        @dataclass(slots=True)
        class _Counted:  # pragma: no cover - refused before use
            name: str
            seen: int = field(default=0, init=False)

    with pytest.raises(TypeError, match="by_fields"):

        @by_fields
        @dataclass  # no slots: pickles its __dict__ already, and cheaply
        class _Plain:  # pragma: no cover - refused before use
            name: str
            size: int
