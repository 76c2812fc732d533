"""England's working-day calendar against dates a coordinator can check on gov.uk/bank-holidays."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.workdays import WorkingDayCalendar, bank_holidays_england_and_wales, local_date
from tests.cli import run_main

CAL = WorkingDayCalendar()


def d(text: str) -> date:
    return date.fromisoformat(text)


# ---- which days are working days -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("good_friday", "easter_monday"),
    [("2025-04-18", "2025-04-21"), ("2026-04-03", "2026-04-06"), ("2027-03-26", "2027-03-29")],
)
def test_easter_takes_good_friday_and_easter_monday(good_friday, easter_monday):
    thursday = d(good_friday) - timedelta(days=1)
    assert not CAL.is_working_day(d(good_friday))
    assert not CAL.is_working_day(d(easter_monday))
    assert CAL.why_not_working(d(good_friday)) == "Good Friday"
    assert CAL.why_not_working(d(easter_monday)) == "Easter Monday"
    # One working day after Maundy Thursday is the Tuesday after Easter.
    assert CAL.add_working_days(thursday, 1) == d(easter_monday) + timedelta(days=1)


@pytest.mark.parametrize(
    ("last_day_before", "first_day_after", "skipped"),
    [
        # 2021: Christmas on a Saturday, Boxing Day on a Sunday: both substituted, on the 27th and 28th.
        ("2021-12-24", "2021-12-29", ["2021-12-25", "2021-12-26", "2021-12-27", "2021-12-28"]),
        # New Year's Day 2022 on a Saturday: substituted on Monday 3 January.
        ("2021-12-31", "2022-01-04", ["2022-01-01", "2022-01-02", "2022-01-03"]),
        # 2022: Christmas on a Sunday; Boxing Day on the Monday, Christmas substituted on Tuesday the 27th.
        ("2022-12-23", "2022-12-28", ["2022-12-24", "2022-12-25", "2022-12-26", "2022-12-27"]),
        # New Year's Day 2023 on a Sunday: substituted on Monday 2 January.
        ("2022-12-30", "2023-01-03", ["2022-12-31", "2023-01-01", "2023-01-02"]),
        # 2026: Boxing Day on a Saturday, substituted on Monday the 28th.
        ("2026-12-24", "2026-12-29", ["2026-12-25", "2026-12-26", "2026-12-27", "2026-12-28"]),
        # 2027: as 2021; New Year's Day 2028 on a Saturday, substituted on Monday 3 January.
        ("2027-12-24", "2027-12-29", ["2027-12-25", "2027-12-26", "2027-12-27", "2027-12-28"]),
        ("2027-12-31", "2028-01-04", ["2028-01-01", "2028-01-02", "2028-01-03"]),
    ],
)
def test_christmas_and_new_year_across_a_weekend_with_substitute_days(last_day_before, first_day_after, skipped):
    assert CAL.add_working_days(d(last_day_before), 1) == d(first_day_after)
    assert [day.isoformat() for day, _ in CAL.non_working_days(d(last_day_before), d(first_day_after))] == skipped


def test_the_one_off_bank_holidays_of_2022_and_2023():
    assert CAL.why_not_working(d("2022-06-02")) == "Spring Bank Holiday"  # moved from the last Monday of May
    assert CAL.is_working_day(d("2022-05-30"))
    assert CAL.why_not_working(d("2022-06-03")) == "Platinum Jubilee of Elizabeth II"
    assert CAL.why_not_working(d("2022-09-19")) == "State Funeral of Queen Elizabeth II"
    assert CAL.why_not_working(d("2023-05-08")) == "Coronation of Charles III"
    # A 3-working-day deadline from Tuesday 31 May 2022 runs past the two-day Jubilee weekend.
    assert CAL.add_working_days(d("2022-05-31"), 3) == d("2022-06-07")


def test_a_deadline_that_would_land_on_a_bank_holiday_moves_past_it():
    # Wednesday 20 May 2026 + 3: Thursday, Friday, then the Spring Bank Holiday: the 3rd is Tuesday 26.
    assert CAL.add_working_days(d("2026-05-20"), 3) == d("2026-05-26")
    # Tuesday 22 December 2026 + 3: the 23rd, the 24th, then Christmas, the weekend and Boxing Day observed.
    assert CAL.add_working_days(d("2026-12-22"), 3) == d("2026-12-29")


def test_christmas_day_and_good_friday_are_not_working_days_whatever_the_holiday_source_says():
    # The regulations name them apart from the bank holidays: a source that lists nothing still loses them.
    bare = WorkingDayCalendar(source=lambda year: {})
    assert bare.why_not_working(d("2026-12-25")) == "Christmas Day"  # a Friday
    assert bare.why_not_working(d("2026-04-03")) == "Good Friday"
    assert bare.why_not_working(d("2027-12-25")) == "Saturday, Christmas Day"
    assert bare.is_working_day(d("2026-04-06"))  # Easter Monday is a bank holiday only: it comes from the source
    assert bare.add_working_days(d("2026-12-24"), 1) == d("2026-12-28")


def test_england_and_wales_share_one_list_of_bank_holidays():
    for year in range(2015, 2036):
        wales = dict(holidays.country_holidays("GB", subdiv="WLS", years=year).items())
        assert bank_holidays_england_and_wales(year) == wales, year


def test_weekends_are_named():
    assert CAL.why_not_working(d("2026-12-05")) == "Saturday"
    assert CAL.why_not_working(d("2026-12-06")) == "Sunday"
    assert CAL.why_not_working(d("2026-12-07")) is None


# ---- counting -------------------------------------------------------------------------------------------


def test_the_day_of_the_event_is_not_counted_and_zero_days_is_the_day_itself():
    monday = d("2026-12-07")
    assert CAL.add_working_days(monday, 0) == monday
    assert CAL.add_working_days(monday, 1) == d("2026-12-08")
    assert CAL.add_working_days(monday, 3) == d("2026-12-10")


def test_an_event_on_a_weekend_counts_from_the_next_working_day():
    # Friday, Saturday and Sunday contacts share one 3-working-day deadline: Wednesday.
    for day in ("2026-12-04", "2026-12-05", "2026-12-06"):
        assert CAL.add_working_days(d(day), 3) == d("2026-12-09")


def test_next_working_day_and_on_or_after():
    assert CAL.next_working_day(d("2026-12-04")) == d("2026-12-07")  # Friday -> Monday
    assert CAL.next_working_day(d("2026-12-07")) == d("2026-12-08")  # a working day is not its own next
    assert CAL.on_or_after(d("2026-12-07")) == d("2026-12-07")
    assert CAL.on_or_after(d("2026-12-25")) == d("2026-12-29")


def test_working_days_between():
    assert CAL.working_days_between(d("2026-12-07"), d("2026-12-09")) == 2  # Monday -> Wednesday
    assert CAL.working_days_between(d("2026-12-07"), d("2026-12-07")) == 0
    assert CAL.working_days_between(d("2026-12-09"), d("2026-12-07")) == -2
    assert CAL.working_days_between(d("2026-12-23"), d("2026-12-30")) == 3  # past Christmas
    assert CAL.working_days_between(d("2026-12-04"), d("2026-12-06")) == 0  # Friday -> Sunday


def test_subtract_working_days_counts_back_before_the_day():
    assert CAL.subtract_working_days(d("2026-12-14"), 5) == d("2026-12-07")  # Monday -> the Monday before
    # A session on Monday 4 January 2027: the 5th working day before it is Wednesday 23 December 2026.
    assert CAL.subtract_working_days(d("2027-01-04"), 5) == d("2026-12-23")


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="0 or more"):
        CAL.add_working_days(d("2026-12-07"), -1)
    with pytest.raises(ValueError, match="0 or more"):
        CAL.subtract_working_days(d("2026-12-07"), -1)


def test_each_year_of_holidays_is_loaded_once():
    loaded = []

    def source(year):
        loaded.append(year)
        return bank_holidays_england_and_wales(year)

    calendar = WorkingDayCalendar(source=source)
    for offset in range(2000):
        calendar.add_working_days(d("2026-01-01") + timedelta(days=offset % 365), 3)
    calendar.working_days_between(d("2026-01-01"), d("2028-06-01"))
    assert sorted(loaded) == [2026, 2027, 2028]


# ---- the day in London --------------------------------------------------------------------------------


def test_an_aware_datetime_is_dated_in_london():
    # Thursday 4 June 2026 at 23:30 UTC is 00:30 on Friday in London (BST).
    assert local_date(datetime(2026, 6, 4, 23, 30, tzinfo=UTC)) == d("2026-06-05")
    assert local_date(datetime(2026, 6, 5, 22, 59, tzinfo=UTC)) == d("2026-06-05")  # Friday 23:59 BST
    assert local_date(datetime(2026, 12, 4, 23, 30, tzinfo=UTC)) == d("2026-12-04")  # GMT: same day
    assert local_date(d("2026-06-05")) == d("2026-06-05")


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 6, 4, 23, 30))


# ---- properties ---------------------------------------------------------------------------------------

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2045, 12, 31))


@given(start=days, n=st.integers(min_value=1, max_value=400))
def test_adding_working_days_lands_on_a_working_day_and_between_undoes_it(start, n):
    end = CAL.add_working_days(start, n)
    assert end > start
    assert CAL.is_working_day(end)
    assert CAL.working_days_between(start, end) == n
    assert CAL.working_days_between(end, start) == -n
    if CAL.is_working_day(start):
        assert CAL.subtract_working_days(end, n) == start


@given(start=days, span=st.integers(min_value=0, max_value=800))
def test_between_agrees_with_counting_day_by_day(start, span):
    end = start + timedelta(days=span)
    by_hand = sum(CAL.is_working_day(start + timedelta(days=i)) for i in range(1, span + 1))
    assert CAL.working_days_between(start, end) == by_hand
    assert by_hand + sum(1 for _ in CAL.non_working_days(start, end)) == span


# ---- the command line ------------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess:
    return run_main("workdays", *args)


def test_cli_add_prints_the_date():
    result = cli("add", "2026-12-23", "3")
    assert (result.returncode, result.stdout) == (0, "2026-12-30\n"), result.stderr


def test_cli_add_json_says_what_it_skipped():
    result = cli("add", "2026-12-23", "3", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "start": "2026-12-23",
        "working_days": 3,
        "date": "2026-12-30",
        "skipped": [
            {"date": "2026-12-25", "why": "Christmas Day"},
            {"date": "2026-12-26", "why": "Saturday, Boxing Day"},
            {"date": "2026-12-27", "why": "Sunday"},
            {"date": "2026-12-28", "why": "Boxing Day (observed)"},
        ],
    }


def test_cli_between_prints_the_count():
    result = cli("between", "2026-12-23", "2026-12-30")
    assert (result.returncode, result.stdout) == (0, "3\n"), result.stderr
    result = cli("between", "2026-12-30", "2026-12-23", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["start"], answer["end"], answer["working_days"]) == ("2026-12-30", "2026-12-23", -3)
    assert [skipped["date"] for skipped in answer["skipped"]] == [
        "2026-12-25",
        "2026-12-26",
        "2026-12-27",
        "2026-12-28",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("add", "23/12/2026", "3"),
        ("add", "2026-12-23", "-1"),
        ("add", "9999-12-30", "3"),
        ("between", "x", "2026-12-23"),
    ],
)
def test_cli_bad_input_exits_2(args):
    result = cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Invalid value" in result.stderr or "Error" in result.stderr
