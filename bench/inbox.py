"""The coordinators' inbox at 100,000 cases: server time of the inbox (first page, filtered, searched)
and of a case page, p50/p95 over 200 requests each, on SQLite and on PostgreSQL. Target: p95 < 100 ms.

Seeds N cases (default 100,000) with realistic timelines: each case its referrer (a contact with an
email address and a phone number, party to it), the referral's first email (real MIME, stored raw as
intake stores it), 3 to 6 timeline events (opened, acknowledgement, notes, replies, status changes)
and an outbox row; statuses spread as a service's history is (most closed, about 3% new); 2% of cases
with an unseen reply, 500 open inbox items, 50 quarantined messages. Rows are written with Core
executemany (the bench measures reading, not seeding); then the stored deadlines are worked out as after
an upgrade (models.deadline_store.backfill) and, on PostgreSQL, the search table filled (migration 0012).

Requests go through the whole app in this process (Starlette's TestClient: routing, the sign-in
guard with its session look-up, the query, Jinja rendering; the case page also parses and sanitises
its emails and writes its audit row), signed in as a coordinator. Time per request is wall time in
this process; the machine is shared, so the figures are noisy: quoted with the seeding time as context.

Usage: python bench/inbox.py [-n 100000] [--requests 200] [--only sqlite|postgres]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from models import db  # noqa: E402
from models.cases import Case, InboxItem, TimelineEvent  # noqa: E402
from models.contacts import Contact, ContactPoint, Party  # noqa: E402
from models.db import session_scope  # noqa: E402
from models.deadline_store import backfill  # noqa: E402
from models.desk import CaseAttention  # noqa: E402
from models.la_directory import load_directory  # noqa: E402
from models.mail import InboundMessage, InboundRaw, QuarantineEntry  # noqa: E402
from models.outbox import OutboxMessage  # noqa: E402
from models.rows import table  # noqa: E402
from models.settings import Settings  # noqa: E402
from models.staff_ops import add_user  # noqa: E402
from models.types import utcnow  # noqa: E402
from web.app import create_app  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench password 123"
FIRST = ["Joanne", "Priya", "Grace", "Sam", "Aisha", "Tom", "Maria", "David", "Chloe", "Kwame", "Olu", "Sarah"]
LAST = ["Pryce", "Shah", "Okafor", "Ade", "Khan", "Smith", "Jones", "Nowak", "Brown", "Evans", "Patel", "Murphy"]
CHILD = ["Elliot", "Arjun", "Maya", "Leo", "Zara", "Noah", "Ivy", "Omar", "Ruby", "Finn", "Amira", "Jack"]
STATUSES = [
    ("closed", 60),
    ("outcome_recorded", 5),
    ("certificate_issued", 8),
    ("session_held", 3),
    ("session_booked", 6),
    ("in_progress", 10),
    ("triaged", 5),
    ("new", 3),
]
SERVICES = ["mediation", "certificate", "disagreement_resolution", None]
BATCH = 5_000


def _referral_template() -> str:
    """One real MIME referral (plain and HTML, with quoted history) whose names are placeholders: each
    seeded case gets a copy with its own (building a message per case would dominate the seeding)."""
    msg = EmailMessage()
    msg["From"] = "@@PARENT@@ <@@EMAIL@@>"
    msg["To"] = "referrals@mediation-desk.example.org"
    msg["Subject"] = "Mediation request - @@CHILD@@"
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = "<bench-@@I@@@example.com>"
    msg.set_content(
        "Hello,\n\nMy child @@CHILD@@ has an EHC plan from @@LA@@. The amended plan names a school we do not think "
        "can meet their needs, and we would like mediation about sections B, F and I.\n\n@@PARENT@@\n07700 900 123\n",
        cte="8bit",
    )
    msg.add_alternative(
        "<p>Hello,</p><p>My child <b>@@CHILD@@</b> has an EHC plan from @@LA@@.</p><p>We would like mediation.</p>"
        "<blockquote>Earlier: our first letter to the council.</blockquote><p>@@PARENT@@</p>",
        subtype="html",
        cte="8bit",
    )
    return msg.as_string()


TEMPLATE = _referral_template()


def referral_mime(i: int, parent: str, email: str, child: str, la: str) -> bytes:
    text = TEMPLATE.replace("@@PARENT@@", parent).replace("@@EMAIL@@", email).replace("@@CHILD@@", child)
    return text.replace("@@LA@@", la).replace("@@I@@", str(i)).encode()


def search_triggers(engine: Engine, *, enabled: bool) -> None:
    """PostgreSQL's case_search triggers (migration 0012) off while seeding in bulk, the table filled in
    one statement after: row by row they made the seed many times slower (75,000 cases in 17 minutes
    on the loaded machine, where the whole seed had taken 106 s)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        switch = "ENABLE" if enabled else "DISABLE"
        for name, on in (("case", '"case"'), ("party", "party"), ("contact", "contact"), ("point", "contactpoint")):
            connection.execute(text(f"ALTER TABLE {on} {switch} TRIGGER case_search_{name}"))


def seed(engine: Engine, n: int) -> float:
    started = time.perf_counter()
    rng = random.Random(12)
    las = [la.name for la in load_directory().served]
    weights = [w for _, w in STATUSES]
    names = [s for s, _ in STATUSES]
    now = utcnow()
    search_triggers(engine, enabled=False)
    with session_scope(engine) as session:
        add_user(
            session,
            email="bench@example.org",
            name="Bench Coordinator",
            role="coordinator",
            office="london",
            password=PASSWORD,
        )
    tables = {
        m: table(m)
        for m in (
            Case,
            Contact,
            ContactPoint,
            Party,
            InboundMessage,
            InboundRaw,
            TimelineEvent,
            OutboxMessage,
            CaseAttention,
            InboxItem,
            QuarantineEntry,
        )
    }
    for start in range(0, n, BATCH):
        rows: dict[type, list[dict]] = {m: [] for m in tables}
        for i in range(start, min(n, start + BATCH)):
            case_id = i + 1
            parent = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            child = f"{rng.choice(CHILD)} {parent.split()[1]}"
            email = f"{parent.lower().replace(' ', '.')}.{i}@example.com"
            la = rng.choice(las)
            status = rng.choices(names, weights)[0]
            opened = now - timedelta(days=rng.uniform(0, 6 * 365) if status != "new" else rng.uniform(0, 10))
            draft = {
                "child_name": child,
                "referrer_name": parent,
                "local_authority": la,
                "evidence": {
                    "child_name": {
                        "value": child,
                        "source": "body",
                        "start": 0,
                        "end": 0,
                        "snippet": f"My child {child}",
                    }
                },
            }
            rows[Case].append(
                {
                    "id": case_id,
                    "reference": f"MD-{i // 23**4 % 100:02d}-{i % 23**4:06d}"[:16],
                    "status": status,
                    "service": rng.choice(SERVICES),
                    "local_authority": la,
                    "served": True,
                    "region": "london" if i % 3 == 0 else "national",
                    "referrer_email": email,
                    "draft": draft,
                    "created_at": opened,
                    "updated_at": opened,
                    "coordinator_id": 1 if i % 7 == 0 else None,
                }
            )
            rows[Contact].append({"id": case_id, "name": parent, "created_at": opened})
            rows[ContactPoint] += [
                {"contact_id": case_id, "kind": "email", "value": email, "created_at": opened},
                {"contact_id": case_id, "kind": "phone", "value": f"+4477009{i:05d}"[:13], "created_at": opened},
            ]
            rows[Party].append({"case_id": case_id, "contact_id": case_id, "role": "referrer", "created_at": opened})
            raw = referral_mime(i, parent, email, child, la)
            rows[InboundMessage].append(
                {
                    "id": case_id,
                    "mailbox": "bench",
                    "uidvalidity": 1,
                    "uid": str(i),
                    "message_id": f"bench-{i}@example.com",
                    "sha256": f"{i:064d}",
                    "dedupe_key": f"d{i}",
                    "size": len(raw),
                    "received_at": opened,
                    "status": "processed",
                    "outcome": "new_case" if i % 50 else "automated",
                    "sender_email": email,
                    "subject": f"Mediation request - {child}",
                    "case_id": case_id,
                    "reasons": [],
                    "rules": [],
                    "faults": [],
                }
            )
            rows[InboundRaw].append({"inbound_id": case_id, "raw": raw})
            events = [
                ("message_in", f"Case opened from email: Mediation request - {child}", case_id),
                ("message_out", "Acknowledgement (acknowledgement) queued", None),
            ]
            events += [
                (rng.choice(["note", "status", "assigned"]), "Spoke to the family about dates", None)
                for _ in range(rng.randint(1, 4))
            ]
            for k, (kind, summary, inbound) in enumerate(events):
                rows[TimelineEvent].append(
                    {
                        "case_id": case_id,
                        "at": opened + timedelta(hours=k),
                        "kind": kind,
                        "summary": summary,
                        "actor": "system",
                        "inbound_message_id": inbound,
                        "data": {},
                    }
                )
            rows[OutboxMessage].append(
                {
                    "idempotency_key": f"ack:case:{case_id}",
                    "channel": "email",
                    "to": email,
                    "template": "acknowledgement",
                    "context": {},
                    "automatic": True,
                    "case_id": case_id,
                    "references": [],
                    "status": "sent",
                    "due_at": opened,
                    "attempts": 1,
                    "created_at": opened,
                    "sent_at": opened,
                }
            )
            if i % 50 == 7 and status != "closed":
                rows[CaseAttention].append(
                    {"case_id": case_id, "reason": "reply", "since": now - timedelta(hours=i % 100), "count": 1}
                )
        with engine.begin() as connection:
            for model, batch in rows.items():
                if batch:
                    connection.execute(insert(tables[model]), batch)
    with engine.begin() as connection:
        connection.execute(
            insert(tables[InboxItem]),
            [
                {
                    "kind": "triage" if k % 3 else "fault",
                    "summary": "Which case does this email belong to?",
                    "status": "open",
                    "inbound_message_id": (k * 97) % n + 1,
                    "created_at": now - timedelta(hours=k),
                }
                for k in range(500)
            ],
        )
        connection.execute(
            insert(tables[QuarantineEntry]),
            [
                {
                    "inbound_message_id": (k * 101 + 3) % n + 1,
                    "reason": "could not be parsed",
                    "detail": "",
                    "attempts": 1,
                    "created_at": now - timedelta(hours=k),
                    "data": {},
                }
                for k in range(50)
            ],
        )
        if engine.dialect.name == "postgresql":
            for name in ("case", "contact", "inboundmessage", "timelineevent"):
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), (SELECT max(id) FROM \"{name}\"))")
                )
            connection.execute(text('SELECT case_search_refresh(id) FROM "case"'))  # as migration 0012 does
        else:
            connection.execute(text("ANALYZE"))
    search_triggers(engine, enabled=True)
    if engine.dialect.name == "postgresql":
        # What autovacuum would have done by the time a coordinator reads: statistics, and the visibility
        # map that lets the inbox's covering index answer without reading the table.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def measure(engine: Engine, n: int, requests: int) -> dict[str, tuple[float, float]]:
    settings = Settings(_env_file=None, cookie_secure=False, var_dir=Path(tempfile.mkdtemp()))
    client = TestClient(create_app(engine, settings=settings), base_url="http://127.0.0.1")
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    signed = client.post(
        "/login", data={"email": "bench@example.org", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert signed.status_code == 303, signed.text
    rng = random.Random(7)
    las = [la.name for la in load_directory().served]
    queries = {
        "inbox first page": lambda: "/inbox",
        "inbox filtered": lambda: f"/inbox?office=national&status=new&la={rng.choice(las)}",
        "inbox searched": lambda: f"/inbox?q={rng.choice(LAST).lower()}",
        "case page": lambda: f"/cases/MD-{0:02d}-{rng.randrange(n):06d}",
    }
    results = {}
    for name, url in queries.items():
        for _ in range(5):  # warm caches and compiled statements
            client.get(url())
        times = []
        for _ in range(requests):
            target = url()
            started = time.perf_counter()
            response = client.get(target)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (target, response.status_code)
        times.sort()
        results[name] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    for kind in ("sqlite", "postgres"):
        if args.only and kind != args.only:
            continue
        folder = None
        if kind == "sqlite":
            folder = Path(tempfile.mkdtemp())
            engine = db.make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
            admin = None
        else:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as c:
                    c.execute(text(f'CREATE SCHEMA "{schema}"'))
            except Exception as exc:  # no server here: say so and go on
                print(f"postgres: not reachable ({type(exc).__name__}); skipped")
                continue
            engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, hide_parameters=True)
        try:
            db.upgrade(engine)
            seconds = seed(engine, args.n)
            print(f"{kind}: seeded {args.n:,} cases in {seconds:.0f} s")
            # Seeded with Core, as no write path does: the stored deadlines are worked out as after an upgrade.
            started = time.perf_counter()
            stored = backfill(engine)
            print(f"  stored deadlines: {stored:,} rows for the open cases in {time.perf_counter() - started:.0f} s")
            for name, (p50, p95) in measure(engine, args.n, args.requests).items():
                verdict = "ok" if p95 < 100 else "OVER TARGET"
                print(
                    f"  {name:<18} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   "
                    f"({args.requests} requests; target p95 < 100 ms: {verdict})"
                )
        finally:
            engine.dispose()
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            if admin is not None:
                with admin.connect() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
