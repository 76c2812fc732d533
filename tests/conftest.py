"""Fixtures every test module may use.

Material from ../shared (the real-mail corpus, the labelled referral samples) is read in place,
never copied into the repo; on a clone without it those tests skip and say why.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import uuid
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


# ---- databases ----------------------------------------------------------------------------------
# Tests that take `engine` run twice: on SQLite (a file in tmp_path) and on PostgreSQL (a fresh schema
# in the `test` database on 127.0.0.1:5432, dropped afterwards). PostgreSQL runs here and in CI
# (.ci/run starts it when it is not running); where it cannot be reached those cases skip and say so.

PG_URL = os.environ.get("MDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_engine(schema: str):
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the server is absent on this machine
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}")
    # hide_parameters as models.db.make_engine: an error's message carries no personal data.
    engine = create_engine(
        PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_size=10, hide_parameters=True
    )
    return admin, engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    from models import db

    if request.param == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'mdesk.sqlite3'}")
        db.upgrade(eng)
        yield eng
        eng.dispose()
        return
    from sqlalchemy import text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin, eng = _postgres_engine(schema)
    try:
        db.upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path):
    """Settings for a test: everything under tmp_path, console transports, nothing from the environment."""
    from models.settings import Settings

    return Settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        mail_from="referrals@mediation-desk.example.org",
    )


@pytest.fixture
def web_settings(settings):
    """The web desk's settings over plain http on loopback (no Secure cookies); mail read in process."""
    return settings.model_copy(update={"cookie_secure": False, "read_timeout_seconds": 0})


@pytest.fixture
def no_network(monkeypatch) -> list[object]:
    """Any attempt to open a connection fails the test (and is recorded)."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts
