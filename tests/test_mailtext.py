"""The shared mail-text patterns (inbox/mailtext.py): one answer for every reader of a message."""

from __future__ import annotations

import re

import pytest

from inbox.mailtext import (
    BEGIN_FORWARD_LINE,
    EMAIL_IN_HEADER,
    EMAIL_IN_TEXT,
    FORWARD_MARKER,
    FORWARD_SUBJECT,
    REPLY_SUBJECT,
    SEPARATOR_LINE,
    SIGN_OFF_WORDS,
)
from inbox.thread_match import _looks_like_reply
from tests.test_extract import make_msg


def test_addresses_in_text_need_a_dotted_domain_in_headers_not():
    text = "Write to o'brien+sen@council.gov.uk. Or root@localhost"
    assert [m.group() for m in EMAIL_IN_TEXT.finditer(text)] == ["o'brien+sen@council.gov.uk"]
    assert EMAIL_IN_HEADER.findall("root@localhost, x=y@example.org") == ["root@localhost", "x=y@example.org"]


@pytest.mark.parametrize("subject", ["Re: referral", "AW: Anfrage", "SV: hej", "Antw: vraag", "VS: kysymys", "R: ciao"])
def test_reply_subjects(subject):
    assert REPLY_SUBJECT.match(subject)


@pytest.mark.parametrize("subject", ["Fwd: referral", "FW: x", "[EXT] Fwd: x", "WG: Anfrage", "TR: demande"])
def test_forward_subjects(subject):
    assert FORWARD_SUBJECT.match(subject)
    assert not REPLY_SUBJECT.match(subject)


def test_forward_and_original_markers():
    assert SEPARATOR_LINE.match("---------- Forwarded message ---------").group("fwd")
    assert SEPARATOR_LINE.match("-----Original Message-----").group("orig")
    assert BEGIN_FORWARD_LINE.match("Begin forwarded message:")
    body = "Please see below.\n\n> ---------- Forwarded message ---------\n> From: x"
    assert FORWARD_MARKER.search(body).start() == body.index(">")
    assert FORWARD_MARKER.search("Begin forwarded message:\n\nFrom: x").start() == 0


@pytest.mark.parametrize("line", ["Kind regards", "With kind regards", "Many thanks", "Diolch", "Cheers"])
def test_sign_offs(line):
    assert re.fullmatch(rf"(?i)(?:{SIGN_OFF_WORDS})", line)


def test_thread_matching_knows_every_reply_prefix_the_classifier_knows():
    assert _looks_like_reply(make_msg("Kiitos", subject="VS: Hakemus"))
    assert not _looks_like_reply(make_msg("Hello", subject="Versus: a question"))
