"""The one date reader (inbox.extract.dates): UK dates read against a reference day, never the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from inbox.extract import extract_referral
from inbox.extract.dates import DATE, plausible_birth_date, read_date
from models.la_directory import load_directory
from tests.test_extract import make_msg


def read(text: str, reference: date | None) -> tuple[date | None, bool]:
    m = DATE.search(text)
    assert m is not None, text
    return read_date(m, reference)


@pytest.mark.parametrize(
    ("text", "reference", "expected"),
    [
        ("04/11/2009", date(2025, 6, 10), date(2009, 11, 4)),  # day first
        ("03/14/2014", date(2025, 6, 10), date(2014, 3, 14)),  # only one way it can be read
        ("4th November 2009", date(2025, 6, 10), date(2009, 11, 4)),
        ("Nov 4 2009", date(2025, 6, 10), date(2009, 11, 4)),
        ("2009-11-04", date(2025, 6, 10), date(2009, 11, 4)),
        # Two-digit years: the latest such year not after the reference year, whatever the century.
        ("04/11/09", date(2025, 6, 10), date(2009, 11, 4)),
        ("04/11/25", date(2025, 6, 10), date(2025, 11, 4)),
        ("04/11/30", date(2025, 6, 10), date(1930, 11, 4)),
        ("04/11/35", date(2041, 1, 2), date(2035, 11, 4)),
        ("04/11/99", date(2101, 1, 2), date(2099, 11, 4)),
    ],
)
def test_written_years(text, reference, expected):
    assert read(text, reference) == (expected, True)


def test_a_date_without_a_year_is_the_last_one_on_or_before_the_reference():
    assert read("20 December", date(2025, 1, 8)) == (date(2024, 12, 20), False)
    assert read("20 December", date(2025, 12, 20)) == (date(2025, 12, 20), False)


def test_without_a_reference_only_a_full_year_is_read():
    assert read("4 November 2009", None) == (date(2009, 11, 4), True)
    assert read("04/11/09", None) == (None, True)
    assert read("20 December", None) == (None, False)


def test_impossible_dates_are_not_dates():
    assert read("31/02/2015", date(2025, 1, 1)) == (None, False)
    assert read("29 February", date(2025, 3, 1)) == (None, False)  # no such day in 2025


def test_plausible_birth_date():
    assert plausible_birth_date(date(2009, 11, 4), date(2025, 6, 10))
    assert not plausible_birth_date(date(2025, 7, 1), date(2025, 6, 10))  # not born yet
    assert not plausible_birth_date(date(1990, 1, 1), date(2025, 6, 10))  # older than the service's age range


def test_a_message_without_a_date_is_read_against_the_day_given():
    msg = make_msg("My son Leo Hart, DOB 04/11/09, needs mediation.", sent=None)
    r = extract_referral(msg, directory=load_directory(), reference=date(2025, 6, 10))
    assert r.child_dob == date(2009, 11, 4)
    # The message's own Date wins over the day given (the writer's "today").
    dated = make_msg("My son Leo Hart, DOB 04/11/30, needs mediation.", sent=datetime(2031, 1, 5, tzinfo=UTC))
    assert extract_referral(dated, directory=load_directory(), reference=date(2025, 6, 10)).child_dob == date(
        2030, 11, 4
    )


def test_no_date_and_no_reference_reads_no_birth_date_rather_than_guess_from_the_clock():
    msg = make_msg("My son Leo Hart, DOB 04/11/2009, needs mediation.", sent=None)
    r = extract_referral(msg, directory=load_directory())
    assert r.child_dob is None and r.child_name == "Leo Hart"
