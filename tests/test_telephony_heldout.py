"""The reader on texts its rules were not written from (tests/telephony_heldout_transcripts.py, written
before the reader was changed for them). Per-field figures are printed (`pytest -s`) and held to a floor,
so the reader cannot quietly lose what it reads today.

First run of HELD_OUT, before any change to the reader (34 texts): service 29, local_authority 33,
region 33, referrer_role 33, contact_phone 34, child_name 31, child_dob 30 (223 of 238).
HELD_OUT_2 was written after the reader had been changed for HELD_OUT and our own set, and run once before
any further change (20 texts): service 18, local_authority 20, region 20, referrer_role 20, contact_phone 20,
child_name 16, child_dob 20 (134 of 140). HELD_OUT_3, likewise after the changes for HELD_OUT_2 (16 texts):
service 12, local_authority 15, region 15, referrer_role 16, contact_phone 16, child_name 15, child_dob 16
(105 of 112). HELD_OUT_4, likewise after the changes for HELD_OUT_3 (14 texts): service 12,
local_authority 14, region 14, referrer_role 13, contact_phone 14, child_name 13, child_dob 14 (94 of 98).
These first runs are the figures nearest to what an unseen set would see."""

from __future__ import annotations

import pytest

from inbox.extract.spoken import from_speech
from inbox.text_reading import read_text, text_summary
from models.la_directory import load_directory
from tests.telephony_heldout_transcripts import FIELDS, HELD_OUT, HELD_OUT_2, HELD_OUT_3, HELD_OUT_4

# Floors for the four batches together (84 texts): what the reader reads today, after it was changed with
# these texts in view (so they overstate what an unseen set gets: the first runs above are the honest figures).
FLOOR = {
    "service": 82,
    "local_authority": 84,
    "region": 84,
    "referrer_role": 84,
    "contact_phone": 84,
    "child_name": 83,
    "child_dob": 84,
}


@pytest.fixture(scope="module")
def directory():
    return load_directory()


def test_the_held_out_set_is_thirty_texts_or_more_each_fully_labelled():
    assert len(HELD_OUT) >= 30 and all(
        set(want) == set(FIELDS) for _, want in HELD_OUT + HELD_OUT_2 + HELD_OUT_3 + HELD_OUT_4
    )


def test_per_field_figures_on_the_held_out_texts(directory, capsys):
    right = dict.fromkeys(FIELDS, 0)
    for name, batch in (("first", HELD_OUT), ("second", HELD_OUT_2), ("third", HELD_OUT_3), ("fourth", HELD_OUT_4)):
        batch_right = dict.fromkeys(FIELDS, 0)
        for text, want in batch:
            got = text_summary(read_text(text, directory=directory))
            got["local_authority"] = "NOT_SERVED" if got["served"] is False else got["local_authority"]
            for field in FIELDS:
                batch_right[field] += got[field] == want[field]
                right[field] += got[field] == want[field]
        with capsys.disabled():
            print(f"\nheld-out transcripts and SMS ({name} batch), fields right of", len(batch), batch_right)
    assert {field: right[field] for field in FIELDS if right[field] < FLOOR[field]} == {}


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("date of birth four two fifteen we're in", "date of birth 04/02/15 we're in"),
        ("dob oh four oh two twenty fifteen", "dob 04/02/2015"),
        ("born in 2013 march the 3rd and", "born in 3 March 2013 and"),
        ("born in two thousand and fourteen on the twentieth of august", "born in 20 August 2014"),
        ("his date of birth is the 14th of the 2nd 2013", "his date of birth is 14/02/2013"),
        ("we live in green witch now", "we live in Greenwich now"),
        ("we're in warrick shire", "we're in Warwickshire"),
        ("we live in saint helens", "we live in St Helens"),
        ("they wont do an e h c p", "they won't do an EHCP"),
        ("it's it's about my son", "it's about my son"),
        ("my daughter is called ava-rose", "my daughter is called Ava-Rose"),
        ("a family whose son ethan jones was refused", "a family whose son Ethan Jones was refused"),
    ],
)
def test_speech_is_made_readable(directory, said, written):
    assert written in from_speech(said, directory)


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("call me on seven o o one", "call me on seven o o one"),  # "o o" in a number is no spelt word
        ("and i a m not sure", "and I a m not sure"),  # "i" and "a" are words
        ("i sent the letter home", "I sent the letter home"),  # ordinary words are no council however near
        ("my son harry loves football", "my son Harry loves football"),  # nothing about the child follows
        ("we live in hereford shire", "we live in Herefordshire"),  # not Hertfordshire: another is nearer
        ("call oh seven seven double oh nine double oh one two three", "call 07700900123"),  # digits repeat
    ],
)
def test_what_speech_did_not_damage_is_left_alone(directory, said, written):
    assert from_speech(said, directory) == written
