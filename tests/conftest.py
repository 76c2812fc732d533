"""Fixtures every test module may use.

Material from ../shared (the real-mail corpus, the labelled referral samples) is read in place,
never copied into the repo; on a clone without it those tests skip and say why.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
SAMPLES = SHARED / "samples" / "referrals"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not here: shared test material is only present beside the repo (CI has it)")
    return path


@pytest.fixture(scope="session")
def corpus_manifest() -> list[dict[str, str]]:
    """Rows of ../shared/corpus/MANIFEST.tsv, each with 'path' (absolute) and 'category'."""
    manifest = _need(CORPUS / "MANIFEST.tsv")
    with manifest.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for row in rows:
        row["path"] = str(CORPUS / row["file"])
    return rows


@pytest.fixture(scope="session")
def referral_samples() -> dict[Path, dict]:
    """Labelled referral emails: path -> truth labels."""
    truth = json.loads(_need(SAMPLES / "truth.json").read_text(encoding="utf-8"))
    return {SAMPLES / name: labels for name, labels in sorted(truth.items())}
