"""Phone numbers as the rest of the program stores and compares them: E.164, from any written form.

UK numbers are read as people write them ("020 7359 3635", "07700 900123", "+44 (0)7700 900123",
"0044 7700 900123"); a number that is not a valid number is None, never a guess. Twilio sends a
withheld caller as "Anonymous", "Restricted", "Unknown", "Private" or an empty From (and some
carriers as "+266696687", the digits of "anonymous" on a keypad).
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_WITHHELD_WORDS = frozenset({"", "anonymous", "restricted", "unknown", "private", "unavailable", "blocked"})
_WITHHELD_NUMBERS = frozenset({"+266696687", "+7378742833", "+2562533", "+86282452253", "+8656696"})


def is_withheld(raw: str | None) -> bool:
    value = (raw or "").strip()
    return value.lower() in _WITHHELD_WORDS or value in _WITHHELD_NUMBERS


@lru_cache(maxsize=4096)  # pure, and callers ask about the same few numbers again and again
def to_e164(raw: str | None, region: str = "GB") -> str | None:
    """The number in E.164 ("+447700900123"), or None when it cannot be a number.

    "Possible", not "valid": Ofcom's drama ranges (07700 900xxx, 01632 960xxx) are not valid to
    phonenumbers but are real to a tester, and a caller ID Twilio passes on is a number already."""
    text = (raw or "").replace("(0)", "").strip()
    if not text or is_withheld(text):
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        text = "+" + digits[2:]
        digits = digits[2:]
    if not 9 <= len(digits) <= 15:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    if number.country_code == 44:
        national = str(number.national_number)
        # UK numbers: geographic (1, 2), non-geographic (3), mobile (7), special (8).
        if len(national) not in (9, 10) or national[0] not in "12378":
            return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """Whether an SMS can reach it (a mobile number, or one that may be either)."""
    number = phonenumbers.parse(e164)
    if number.country_code == 44:  # drama ranges included (see to_e164)
        return str(number.national_number).startswith("7")
    kind = phonenumbers.number_type(number)
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def display(e164: str) -> str:
    """As a person in the UK writes it: "07700 900123"; international numbers in their own form."""
    number = phonenumbers.parse(e164)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 44
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def uk_mobile_shape(number: phonenumbers.PhoneNumber, e164: str) -> bool:
    """Ofcom's drama range (07700 900000-900999), which phonenumbers calls invalid, is still a UK mobile's
    shape: accepted, so training and test data need no real person's number."""
    return e164.startswith("+447") and phonenumbers.is_possible_number(number)
