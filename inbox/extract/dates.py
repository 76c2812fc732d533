"""The one date reader: dates as people in England write them, read against a reference day.

`DATE` finds a written date ("04/11/09", "4th November 2009", "Nov 4", "2009-11-04"); `read_date` turns
a match into a `date`, day first (the UK order), and says whether the year was written. What a date
means depends on when it was written, so the reference day (the email's Date, or when it reached us) is
always passed in, never taken from the clock:
- a two-digit year is the latest year with those digits not after the reference year ("09" in 2025 is
  2009, "30" is 1930), which is right for a child's birth (0-25 years before) and a recent letter;
- a date without a year ("20 December") is its latest occurrence on or before the reference day.
Without a reference day such dates cannot be read and give None.
"""

from __future__ import annotations

import re
from datetime import date

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH_RX = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# Every date starts with a digit or a month's first letter: the lookahead turns the engine away from every
# other word at once, instead of trying the four forms in turn (the same matches, found sooner).
DATE = re.compile(
    r"(?i)\b(?=[\dadfjmnos])(?:(?P<d1>\d{1,2})\s*(?P<sep>[/.-])\s*(?P<m1>\d{1,2})\s*(?P=sep)\s*(?P<y1>\d{4}|\d{2})(?!\d)"
    r"|(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH_RX + r"\.?,?(?:\s+(?P<y2>\d{4}))?\b"
    r"|"
    + _MONTH_RX.replace("mon>", "mon3>")
    + r"\.?\s+(?:the\s+)?(?P<d3>\d{1,2})(?:st|nd|rd|th)?,?(?:\s+(?P<y3>\d{4}))?\b"
    r"|(?P<y4>\d{4})-(?P<m4>\d\d)-(?P<d4>\d\d)\b)"
)


def read_date(m: re.Match[str], reference: date | None) -> tuple[date | None, bool]:
    """The date a match of DATE names (UK day/month order) and whether its year was written."""
    gd = m.groupdict()
    if gd["y4"]:
        day, month, year_s = int(gd["d4"]), int(gd["m4"]), gd["y4"]
    elif gd["d1"]:
        day, month, year_s = int(gd["d1"]), int(gd["m1"]), gd["y1"]
        if month > 12 >= day:
            day, month = month, day  # "03/14/2014" cannot be day/month: read it the only way it can be
    elif gd["d2"]:
        day, month, year_s = int(gd["d2"]), _MONTHS[gd["mon"][:3].lower()], gd["y2"]
    else:
        day, month, year_s = int(gd["d3"]), _MONTHS[gd["mon3"][:3].lower()], gd["y3"]
    try:
        if year_s is None:
            return (_latest_on_or_before(month, day, reference) if reference else None), False
        year = int(year_s)
        if len(year_s) == 2:
            if reference is None:
                return None, True
            year = _two_digit_year(year, reference)
        return date(year, month, day), True
    except ValueError:  # "31/02/2015", "29 February" in a year without one
        return None, False


def _two_digit_year(yy: int, reference: date) -> int:
    """The latest year ending in `yy` that is not after the reference year."""
    century = reference.year - reference.year % 100
    return century + yy if century + yy <= reference.year else century - 100 + yy


def _latest_on_or_before(month: int, day: int, reference: date) -> date:
    guess = date(reference.year, month, day)
    return guess if guess <= reference else date(reference.year - 1, month, day)


def plausible_birth_date(d: date, reference: date) -> bool:
    """Born on or before the reference day, at most 30 years before (the service is for those up to 25)."""
    return d <= reference and (reference.year - d.year) <= 30
