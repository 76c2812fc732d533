"""The statutory deadlines of MISSION.md computed from a case's dated events, against dates checked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.deadlines import CaseDates, Kind, Status, add_months, appeal_window_closes, deadlines_for
from models.workdays import WorkingDayCalendar

CAL = WorkingDayCalendar()


def d(text: str) -> date:
    return date.fromisoformat(text)


def only(dates: CaseDates, today: str | date | datetime, kind: Kind):
    today = d(today) if isinstance(today, str) else today
    found = [deadline for deadline in deadlines_for(dates, CAL, today) if deadline.kind is kind]
    assert len(found) == 1, found
    return found[0]


# ---- the certificate ---------------------------------------------------------------------------------------


def test_certificate_only_is_due_3_working_days_after_the_contact_dated_in_london():
    # Thursday 4 June 2026, 23:30 UTC: 00:30 on Friday in London. Counted from Friday: Mon, Tue, Wed 10th
    # (from the UTC date it would have been Tuesday the 9th).
    contact = datetime(2026, 6, 4, 23, 30, tzinfo=UTC)
    deadline = only(CaseDates(contact=contact, certificate_only=True), "2026-06-08", Kind.CERTIFICATE)
    assert (deadline.starts, deadline.due, deadline.status, deadline.days_left) == (
        d("2026-06-05"),
        d("2026-06-10"),
        Status.OPEN,
        2,
    )
    assert deadline.done_on is None
    assert "reg 34" in deadline.rule


def test_a_friday_evening_request_in_london_and_one_just_after_midnight_share_a_due_date():
    friday_evening = datetime(2026, 6, 5, 22, 30, tzinfo=UTC)  # 23:30 BST, Friday
    saturday_early = datetime(2026, 6, 5, 23, 30, tzinfo=UTC)  # 00:30 BST, Saturday
    for contact in (friday_evening, saturday_early):
        deadline = only(CaseDates(contact=contact, certificate_only=True), "2026-06-05", Kind.CERTIFICATE)
        assert deadline.due == d("2026-06-10")


@pytest.mark.parametrize(
    ("issued", "today", "status", "days_left"),
    [
        (None, "2026-06-10", Status.OPEN, 0),  # due today
        ("2026-06-10", "2026-06-20", Status.MET, None),  # on the last day
        ("2026-06-08", "2026-06-08", Status.MET, None),
        ("2026-06-11", "2026-06-20", Status.MISSED, None),  # a day late
        (None, "2026-06-12", Status.MISSED, -2),  # overdue, not yet issued
    ],
)
def test_certificate_met_missed_and_open(issued, today, status, days_left):
    dates = CaseDates(contact=d("2026-06-05"), certificate_only=True, certificate_issued=d(issued) if issued else None)
    deadline = only(dates, today, Kind.CERTIFICATE)
    assert (deadline.due, deadline.status, deadline.days_left) == (d("2026-06-10"), status, days_left)
    assert deadline.done_on == (d(issued) if issued else None)


def test_certificate_after_mediation_counts_from_the_day_it_took_place():
    dates = CaseDates(mediation_requested=d("2026-12-01"), mediation_held=d("2026-12-23"))
    deadline = only(dates, "2026-12-23", Kind.CERTIFICATE)
    assert (deadline.starts, deadline.due) == (d("2026-12-23"), d("2026-12-30"))  # across Christmas


def test_certificate_when_the_la_cannot_arrange_mediation_counts_from_being_told():
    dates = CaseDates(
        mediation_requested=d("2026-11-02"), mediation_unarranged=d("2026-12-02"), mediation_held=d("2026-12-14")
    )
    deadline = only(dates, "2026-12-03", Kind.CERTIFICATE)
    assert (deadline.starts, deadline.due) == (d("2026-12-02"), d("2026-12-07"))


def test_no_certificate_deadline_while_mediation_is_still_to_happen():
    dates = CaseDates(contact=d("2026-12-01"), mediation_requested=d("2026-12-01"))
    assert [deadline.kind for deadline in deadlines_for(dates, CAL, d("2026-12-02"))] == [Kind.MEDIATION]


# ---- mediation within 30 days -----------------------------------------------------------------------------


def test_mediation_is_due_30_calendar_days_after_the_request_even_on_a_sunday():
    dates = CaseDates(mediation_requested=d("2026-05-01"))
    deadline = only(dates, "2026-05-29", Kind.MEDIATION)
    assert (deadline.due, deadline.status, deadline.days_left) == (d("2026-05-31"), Status.OPEN, 0)  # Fri -> Sun


def test_mediation_counts_from_the_la_being_told_when_that_date_is_known():
    dates = CaseDates(mediation_requested=d("2026-05-01"), la_told=d("2026-05-05"), mediation_held=d("2026-06-04"))
    deadline = only(dates, "2026-06-10", Kind.MEDIATION)
    assert (deadline.starts, deadline.due, deadline.status) == (d("2026-05-05"), d("2026-06-04"), Status.MET)


def test_mediation_held_late_is_missed():
    dates = CaseDates(mediation_requested=d("2026-05-01"), mediation_held=d("2026-06-01"))
    assert only(dates, "2026-06-10", Kind.MEDIATION).status is Status.MISSED


def test_a_certificate_only_case_has_no_mediation_deadline():
    dates = CaseDates(contact=d("2026-05-01"), certificate_only=True, mediation_requested=d("2026-05-01"))
    assert [deadline.kind for deadline in deadlines_for(dates, CAL, d("2026-05-01"))] == [Kind.CERTIFICATE]


# ---- notice of a session ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("told", "status"), [("2026-12-23", Status.MET), ("2026-12-24", Status.MISSED), (None, Status.MISSED)]
)
def test_parties_are_told_5_working_days_before_the_session(told, status):
    # Monday 4 January 2027 at 10:00 in London; counting back over New Year and Christmas.
    session = datetime(2027, 1, 4, 10, 0, tzinfo=UTC)
    dates = CaseDates(session_booked=session, parties_told=d(told) if told else None)
    deadline = only(dates, "2026-12-29", Kind.NOTICE)
    assert (deadline.starts, deadline.due, deadline.status) == (d("2027-01-04"), d("2026-12-23"), status)
    if told is None:
        assert deadline.days_left == -2  # the 24th and the 29th have passed since


# ---- the health commissioner -------------------------------------------------------------------------------


def test_health_commissioner_told_within_3_working_days_only_when_health_is_in_dispute():
    dates = CaseDates(mediation_requested=d("2026-12-23"), health_issues=True)
    deadline = only(dates, "2026-12-24", Kind.HEALTH)
    assert (deadline.due, deadline.status, deadline.days_left) == (d("2026-12-30"), Status.OPEN, 2)
    without = CaseDates(mediation_requested=d("2026-12-23"))
    assert Kind.HEALTH not in [deadline.kind for deadline in deadlines_for(without, CAL, d("2026-12-24"))]
    told = CaseDates(mediation_requested=d("2026-12-23"), health_issues=True, health_commissioner_told=d("2026-12-29"))
    assert only(told, "2027-01-05", Kind.HEALTH).status is Status.MET


# ---- the appeal window -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2026-12-31", 2, "2027-02-28"),  # no 31st in February: its last day
        ("2027-12-31", 2, "2028-02-29"),  # a leap year
        ("2027-01-31", 1, "2027-02-28"),
        ("2027-02-28", 1, "2027-03-28"),  # the corresponding date, not the month's end
        ("2026-11-30", 1, "2026-12-30"),
        ("2026-10-15", 2, "2026-12-15"),
    ],
)
def test_calendar_months_follow_the_corresponding_date_rule(start, months, end):
    assert add_months(d(start), months) == d(end)


def test_appeal_window_two_months_from_a_decision_on_the_31st_ends_with_february():
    # 28 February 2027 is a Sunday: rule 12(2) runs the window to Monday 1 March.
    assert appeal_window_closes(d("2026-12-31"), None, CAL) == d("2027-03-01")
    # 2 months from 15 October 2026 is Tuesday 15 December, a working day: no change.
    assert appeal_window_closes(d("2026-10-15"), None, CAL) == d("2026-12-15")


def test_appeal_window_is_the_later_of_2_months_from_the_decision_and_1_month_from_the_certificate():
    assert appeal_window_closes(d("2026-12-31"), d("2027-02-10"), CAL) == d("2027-03-10")  # the certificate's
    assert appeal_window_closes(d("2026-10-15"), d("2026-11-02"), CAL) == d("2026-12-15")  # the decision's


@pytest.mark.parametrize(
    ("decision", "certificate", "closes"),
    [
        ("2026-10-01", "2026-11-29", "2027-01-04"),  # 1 month from the certificate: 29 Dec -> after 1 January
        ("2026-11-01", None, "2027-01-04"),  # 2 months end on 1 January itself
        ("2026-10-24", None, "2026-12-24"),  # Christmas Eve is a working day and not in the 25 Dec-1 Jan span
        ("2027-06-15", None, "2027-09-01"),  # ends in August: the first working day of September
    ],
)
def test_appeal_window_ending_over_christmas_or_in_august_runs_on(decision, certificate, closes):
    assert appeal_window_closes(d(decision), d(certificate) if certificate else None, CAL) == d(closes)


def test_appeal_window_is_open_then_closed_never_missed():
    dates = CaseDates(la_decision_letter=d("2026-10-15"))
    assert only(dates, "2026-12-14", Kind.APPEAL).status is Status.OPEN
    closed = only(dates, "2026-12-16", Kind.APPEAL)
    assert (closed.status, closed.days_left) == (Status.CLOSED, -1)
    assert "r.20" in closed.rule


def test_no_appeal_window_without_the_decision_letter():
    dates = CaseDates(contact=d("2026-12-01"), certificate_only=True, certificate_issued=d("2026-12-02"))
    assert [deadline.kind for deadline in deadlines_for(dates, CAL, d("2026-12-02"))] == [Kind.CERTIFICATE]


# ---- the whole case ----------------------------------------------------------------------------------------


def test_a_case_lists_its_deadlines_soonest_first():
    dates = CaseDates(
        contact=d("2026-11-20"),
        mediation_requested=d("2026-11-20"),
        session_booked=d("2026-12-14"),
        la_decision_letter=d("2026-10-15"),
        health_issues=True,
    )
    found = deadlines_for(dates, CAL, d("2026-11-23"))
    assert [(deadline.kind, deadline.due) for deadline in found] == [
        (Kind.HEALTH, d("2026-11-25")),
        (Kind.NOTICE, d("2026-12-07")),
        (Kind.APPEAL, d("2026-12-15")),
        (Kind.MEDIATION, d("2026-12-20")),
    ]
    assert deadlines_for(CaseDates(), CAL, d("2026-11-23")) == []


def test_today_may_be_an_aware_datetime_and_is_dated_in_london():
    dates = CaseDates(contact=d("2026-06-05"), certificate_only=True)
    # 23:30 UTC on Tuesday 9 June is already Wednesday the 10th (the due day) in London.
    assert only(dates, datetime(2026, 6, 9, 23, 30, tzinfo=UTC), Kind.CERTIFICATE).days_left == 0


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        deadlines_for(CaseDates(contact=datetime(2026, 6, 5, 9, 0), certificate_only=True), CAL, d("2026-06-05"))


@given(
    contact=st.dates(min_value=date(2015, 1, 1), max_value=date(2040, 12, 31)),
    wait=st.integers(min_value=0, max_value=30),
)
def test_an_unissued_certificate_is_open_through_its_due_day_and_missed_after(contact, wait):
    today = contact + timedelta(days=wait)
    deadline = only(CaseDates(contact=contact, certificate_only=True), today, Kind.CERTIFICATE)
    assert deadline.due == CAL.add_working_days(contact, 3)
    assert (deadline.status is Status.OPEN) == (today <= deadline.due)
    # Past the due day, a weekend day may still show 0 working days (none has passed since): status says missed.
    assert (deadline.days_left >= 0) == (today <= deadline.due) or not CAL.is_working_day(today)
