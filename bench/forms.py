"""Referral forms attached as PDF, Word or OpenDocument: per-field agreement of the reading with what the
tests expect (tests/form_referrals.py), and the time and memory each attachment took to read.

Usage: python bench/forms.py [--write DIR]   (--write: also write the set as .eml files for bench/parse.py)
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.parse import attachment_costs
from inbox.reading import Reading, ReadOptions, read
from tests.form_referrals import FIELDS, cases, held_out_cases, write
from tests.form_referrals_fourth import fourth_batch
from tests.form_referrals_third import EXTRA, third_batch


def got(reading: Reading, field: str) -> object:
    r = reading.referral
    if r is None:
        return None
    if field == "local_authority" and r.local_authority is not None and r.served is False:
        return "NOT_SERVED"
    value = getattr(r, field)
    return value.isoformat() if hasattr(value, "isoformat") else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every disagreement")
    args = parser.parse_args()
    messages: list[bytes] = []
    sets = (
        ("the set", cases()),
        ("held out", held_out_cases()),
        ("third batch, held out", third_batch()),
        ("fourth batch, held out", fourth_batch()),
    )
    for title, set_cases in sets:
        print(f"{title}: {len(set_cases)} referrals")
        messages += measure(set_cases, verbose=args.verbose)
    attachment_costs(messages)
    if args.write:
        write(args.write)
        print(f"{len(cases())} messages written to {args.write}")


def measure(all_cases: list, *, verbose: bool) -> list[bytes]:
    """Print each field's agreement; the messages, for their attachments' costs."""
    agree = dict.fromkeys(FIELDS, 0)
    extra: dict[str, tuple[int, int]] = {}
    messages = []
    for case in all_cases:
        raw = case.build()
        messages.append(raw)
        reading = read(raw, ReadOptions(("referrals@mediation-desk.example.org",)), received_at=datetime(2026, 5, 12))
        assert isinstance(reading, Reading), case.name
        for field in FIELDS:
            ok = got(reading, field) == case.expected[field]
            agree[field] += ok
            if not ok and verbose:
                print(f"  {case.name}: {field} got {got(reading, field)!r}, expected {case.expected[field]!r}")
        for field, want in EXTRA.get(case.name, {}).items():
            extra[field] = extra.get(field, (0, 0))
            ok = got(reading, field) == want
            extra[field] = (extra[field][0] + ok, extra[field][1] + 1)
            if not ok and verbose:
                print(f"  {case.name}: {field} got {got(reading, field)!r}, expected {want!r}")
    n = len(all_cases)
    for field in FIELDS:
        print(f"  {field:16} {agree[field]}/{n}  {100 * agree[field] / n:.0f}%")
    for field, (right, given) in extra.items():
        print(f"  {field:16} {right}/{given}  {100 * right / given:.0f}%  (where the form says)")
    return messages


if __name__ == "__main__":
    main()
