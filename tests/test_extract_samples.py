"""Referral extraction against the labelled samples in ../shared/samples/referrals.

Each field must agree with the coordinator's labels (truth.json) on at least 95% of the emails a person
wrote (automated mail is the classifier's business, not extraction's). Misses are printed with the
evidence, so a failure says which email and why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inbox.extract import extract_referral
from inbox.parse import parse_message
from inbox.referral import Referral
from models.la_directory import load_directory

FIELDS = ("service", "local_authority", "region", "referrer_role", "contact_phone", "child_name", "child_dob")
MIN_AGREEMENT = 0.95


@pytest.fixture(scope="module")
def extracted(referral_samples: dict[Path, dict]) -> list[tuple[str, dict, Referral]]:
    directory = load_directory()
    out = []
    for path, truth in referral_samples.items():
        if truth.get("automated"):
            continue
        referral = extract_referral(parse_message(path.read_bytes()), directory=directory)
        out.append((path.name, truth, referral))
    assert out, "no person-written samples found"
    return out


def _got(referral: Referral, field: str) -> object:
    """The referral's value in truth.json's terms ("NOT_SERVED" for a council we do not cover)."""
    if field == "local_authority":
        if referral.local_authority is not None and referral.served is False:
            return "NOT_SERVED"
        return referral.local_authority
    if field == "child_dob":
        return referral.child_dob.isoformat() if referral.child_dob else None
    return getattr(referral, field)


@pytest.mark.parametrize("field", FIELDS)
def test_field_agrees_with_the_coordinators_labels(extracted, field):
    misses = []
    for name, truth, referral in extracted:
        got, want = _got(referral, field), truth[field]
        if got != want:
            evidence = referral.evidence.get("local_authority" if field == "region" else field)
            misses.append(f"{name}: {field} = {got!r}, expected {want!r}; evidence: {evidence}")
    rate = 1 - len(misses) / len(extracted)
    print(f"{field}: {len(extracted) - len(misses)}/{len(extracted)} agree ({rate:.0%})")
    for miss in misses:
        print("  MISS", miss)
    assert rate >= MIN_AGREEMENT, "\n".join(misses)


def test_served_flag_matches_the_labels(extracted):
    """A served council always carries its region; an unserved one never does."""
    for name, truth, referral in extracted:
        if truth["local_authority"] is None:
            continue
        assert referral.served is (truth["local_authority"] != "NOT_SERVED"), name
        assert (referral.region is not None) is bool(referral.served), name
