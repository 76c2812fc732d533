"""How many SMS segments a text costs, and in which alphabet (3GPP TS 23.038).

A text wholly in the GSM 7-bit alphabet travels 160 characters to a message, or 153 a segment once it
is split (the rest carries the joining header); the extension characters (^ { } \\ [ ~ ] | €) take two
places each. One character outside it (a curly quote, an emoji, an accented letter GSM lacks) sends
the whole text as UCS-2: 70 to a message, 67 a segment, counted in UTF-16 units (an emoji is two).
So a curly apostrophe can double the cost: templates stay in GSM-7 (tests/test_telephony_sms_out.py
checks every one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int
    non_gsm: tuple[str, ...] = ()  # the characters that forced UCS-2


def count_segments(text: str) -> Segments:
    outside = tuple(dict.fromkeys(ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION))
    if not outside:
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    count = 1 if units <= single else math.ceil(units / multi)
    return Segments(encoding, units, count, outside)
