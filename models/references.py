"""Case references: short, unique, easy to read out on the phone ("MD-26-K7QX").

The alphabet leaves out characters people confuse when reading aloud or writing by hand
(0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V); the two-digit year helps a coordinator place a case at a glance.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

ALPHABET = "ACDEFGHJKMNPQRTWXY34679"
PREFIX = "MD"
_TOKEN = re.compile(rf"\b{PREFIX}-(\d{{2}})-([{ALPHABET}]{{4}})\b", re.IGNORECASE)


def new_reference(now: datetime) -> str:
    suffix = "".join(secrets.choice(ALPHABET) for _ in range(4))
    return f"{PREFIX}-{now:%y}-{suffix}"


def find_references(text: str) -> list[str]:
    """Every reference token in a text (a subject line), normalised to upper case, in order, once each."""
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(text or ""):
        seen.setdefault(f"{PREFIX}-{match.group(1)}-{match.group(2).upper()}", None)
    return list(seen)
