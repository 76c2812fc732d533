"""Telephone numbers as E.164, the way the rest of the desk stores and compares them."""

from __future__ import annotations

import re

import phonenumbers


def to_e164(raw: str) -> str | None:
    text = raw.replace("(0)", "").strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        text = "+" + digits[2:]
        digits = digits[2:]
    if not 9 <= len(digits) <= 15:
        return None
    try:
        num = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    if num.country_code == 44:
        national = str(num.national_number)
        # UK numbers: geographic (1, 2), non-geographic (3), mobile (7), special (8). Fictional Ofcom drama
        # ranges (07700 900xxx, 01632 960xxx) are not "valid" to phonenumbers but are real to a tester.
        if len(national) not in (9, 10) or national[0] not in "12378":
            return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
