"""The two offices, as data (data/offices.json): who answers a region, on which number, when."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

OFFICES_FILE = Path(__file__).resolve().parent.parent / "data" / "offices.json"
# A UK postcode as written in an address ("N1 8HX", "B72 1EA", "SW1A1AA").
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")


@dataclass(frozen=True, slots=True)
class Office:
    region: str
    name: str  # as a heading: "National office"
    name_in_sentence: str  # mid-sentence, after "our": "national office", "London office"
    phone: str  # E.164
    phone_display: str
    address: str
    hours: str


@cache
def all_offices() -> tuple[Office, ...]:
    return tuple(Office(**row) for row in json.loads(OFFICES_FILE.read_text(encoding="utf-8")))


def offices_for(region: str | None) -> tuple[Office, ...]:
    """The office for a region; both when the region is not known yet."""
    matching = tuple(office for office in all_offices() if office.region == region)
    return matching or all_offices()


def own_phone_numbers() -> tuple[str, ...]:
    return tuple(office.phone for office in all_offices())


def own_postcodes() -> frozenset[str]:
    """The postcodes in our offices' addresses: a line holding one is our address, not the family's."""
    return frozenset(code for office in all_offices() for code in POSTCODE.findall(office.address))


@cache
def own_places() -> tuple[str, ...]:
    """The pieces of our offices' addresses that name a place ("249 Birmingham Road", "Sutton Coldfield"),
    longest first: printed on a form (its header, "return to"), they are ours, never the family's council."""
    pieces = {
        piece.strip()
        for office in all_offices()
        for piece in POSTCODE.sub("", office.address).split(",")
        if len(piece.split()) >= 2  # "London" alone is also in "London Borough of Camden"
    }
    return tuple(sorted(pieces, key=len, reverse=True))
