"""A voicemail is a referral too: transcripts and SMS bodies through the email referral extractor, after
speech-to-text is made readable. Per-field figures over tests/telephony_transcripts.py are printed
(`pytest -s`) and held to a floor, so a change that loses fields fails here."""

from __future__ import annotations

import json

import pytest

from inbox.extract.spoken import from_speech
from inbox.text_reading import TEXT_KEYS, read_text, text_summary
from models.la_directory import load_directory
from tests.cli import run_main
from tests.telephony_transcripts import CASES, FIELDS

# The floor each field must keep on the 24 texts (figures when written: service 19, local_authority 23,
# region 23, referrer_role 22, contact_phone 24, child_name 23, child_dob 24; after the held-out round of
# tests/test_telephony_heldout.py: service 23, every other field 24).
FLOOR = {
    "service": 23,
    "local_authority": 24,
    "region": 24,
    "referrer_role": 24,
    "contact_phone": 24,
    "child_name": 24,
    "child_dob": 24,
}


@pytest.fixture(scope="module")
def directory():
    return load_directory()


def test_at_least_twenty_texts_with_their_fields():
    assert len(CASES) >= 20 and all(set(want) == set(FIELDS) for _, want in CASES)


def test_per_field_figures_on_our_transcripts(directory, capsys):
    right = dict.fromkeys(FIELDS, 0)
    for text, want in CASES:
        got = text_summary(read_text(text, directory=directory))
        got["local_authority"] = "NOT_SERVED" if got["served"] is False else got["local_authority"]
        for field in FIELDS:
            right[field] += got[field] == want[field]
    with capsys.disabled():
        print("\ntranscripts and SMS, fields right of", len(CASES), right)
    assert {field: right[field] for field in FIELDS if right[field] < FLOOR[field]} == {}


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("call me on oh seven seven double oh nine double oh one two three", "call me on 07700900123"),
        ("my number is oh one two one four nine six oh treble one", "my number is 01214960111"),
        ("plus four four seven seven double oh nine double oh one two three", "+447700900123"),
        ("born on the third of march twenty fifteen", "born on 3 March 2015"),
        ("born twenty first of november two thousand and sixteen", "born 21 November 2016"),
        ("we live in wolver hampton", "we live in Wolverhampton"),
        ("call me on oh seven seven hundred nine hundred one two three", "call me on 07700900123"),
        ("we moved to lester shire last year", "we moved to Leicestershire last year"),
        ("my sons called max", "my sons called Max"),
        ("i'm worried about my son", "I'm worried about my son"),
        ("the council in stoke on trent", "the council in Stoke-on-Trent"),
        ("my son is eight and in year two", "my son is eight and in year two"),
        ("i was reading the letter from the la", "I was reading the letter from the LA"),
        (
            "my name is sarah jones and my son oliver goes to school",
            "my name is Sarah Jones and my son Oliver goes to school",
        ),
    ],
)
def test_speech_is_made_readable_and_nothing_else_changes(directory, said, written):
    assert written in from_speech(said, directory)


def test_parse_text_prints_one_json_object_per_file_with_the_text_keys(tmp_path):
    voicemail = tmp_path / "voicemail.txt"
    voicemail.write_text(CASES[0][0], encoding="utf-8")
    sms = tmp_path / "sms.txt"
    sms.write_text("Hi, I'd like mediation for my son Ethan (DOB 14/02/2014). We're in Enfield. Pls call 07700 900717")
    result = run_main("parse-text", str(voicemail), str(sms), "--json")
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert list(first) == ["file", *TEXT_KEYS]
    assert first["file"].endswith("voicemail.txt") and first["local_authority"] == "Wolverhampton"
    assert (first["contact_phone"], first["child_name"], first["served"]) == ("+447700900123", "Oliver", True)
    assert (second["child_dob"], second["region"], second["service"]) == ("2014-02-14", "london", "mediation")
