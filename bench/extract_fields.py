"""Per-field agreement of referral extraction with the labelled samples (truth.json), and a dump of
every field read from every message, so a change to extraction can be compared before and after.

Usage: python bench/extract_fields.py [--dump OUT.json]   (samples: ../shared/samples/referrals, or
$MDESK_SHARED/samples/referrals;
the dump also covers ../shared/corpus/mail, whose mail has no labels but shows any change in behaviour)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inbox.extract import extract_referral
from inbox.parse import parse_message
from models.la_directory import load_directory

SHARED = Path(os.environ.get("MDESK_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
SAMPLES = SHARED / "samples" / "referrals"
CORPUS = SHARED / "corpus" / "mail"
FIELDS = ("service", "local_authority", "region", "referrer_role", "contact_phone", "child_name", "child_dob")


def _got(referral, field: str) -> object:
    """The value in truth.json's terms (as tests/test_extract_samples.py scores it)."""
    if field == "local_authority" and referral.local_authority is not None and referral.served is False:
        return "NOT_SERVED"
    if field == "child_dob":
        return referral.child_dob.isoformat() if referral.child_dob else None
    return getattr(referral, field)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dump", type=Path, help="write every message's extracted fields here (JSON)")
    args = parser.parse_args()
    directory = load_directory()
    truth = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))
    agree = dict.fromkeys(FIELDS, 0)
    scored = 0
    for name, labels in sorted(truth.items()):
        if labels.get("automated"):
            continue
        referral = extract_referral(parse_message((SAMPLES / name).read_bytes()), directory=directory)
        scored += 1
        for field in FIELDS:
            agree[field] += _got(referral, field) == labels[field]
    for field in FIELDS:
        print(f"{field:16} {agree[field]}/{scored}")
    if args.dump:
        files = sorted(p for p in [*SAMPLES.glob("*.eml"), *CORPUS.rglob("*")] if p.is_file())
        out = {}
        for path in files:
            referral = extract_referral(parse_message(path.read_bytes()), directory=directory)
            out[str(path.relative_to(SHARED))] = referral.to_dict()
        args.dump.write_text(json.dumps(out, indent=1, sort_keys=True), encoding="utf-8")
        print(f"{len(out)} messages dumped to {args.dump}")


if __name__ == "__main__":
    main()
