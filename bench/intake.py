"""End-to-end intake from a real IMAP server, against fetch + parse of the same messages.

Appends N messages (default 2,000; a realistic mix: referrals, person-written replies and forwards,
machine mail, with their real sizes) to a local Dovecot (pymap where Dovecot is absent), then in one
run measures, in --rounds interleaved rounds (default 3; the machine is shared and noisy, so each
round runs both, and the best round of each is compared):
  - baseline: FETCH BODY.PEEK[] of every message plus `email.message_from_bytes(policy.default)`;
  - intake: the same messages through the watcher and the full pipeline into a new SQLite database,
    to completion (between rounds the processed flags are taken off again);
  - the ratio intake / baseline (target >= 0.5) and the peak RSS of this process (target < 200 MB),
    and beside it that of the reading workers (each its own process, Linux only);
  - IDLE latency: 50 single messages, each from APPEND to its case step committed (p50, p95; target
    p95 < 1.5 s).
Intake runs with `--workers` reading processes (settings.intake_workers; default 2, 0: none).
Usage: python bench/intake.py [-n 2000] [--rounds 3] [--latency 50] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import itertools
import logging
import os
import re
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imapclient import IMAPClient  # noqa: E402

from inbox.intake import Intake  # noqa: E402
from inbox.sources.base import SourceMessage  # noqa: E402
from inbox.sources.imap import ImapSource  # noqa: E402
from inbox.watch import MailboxWatcher  # noqa: E402
from models import db  # noqa: E402
from models.settings import Settings  # noqa: E402
from tests.imap_server import _start_any  # noqa: E402

SHARED = ROOT.parent / "shared"
_MESSAGE_ID = re.compile(rb"^message-id:.*\r?\n(?:[ \t].*\r?\n)*", re.IGNORECASE | re.MULTILINE)
_FROM = re.compile(rb"^from:[^\r\n]*<?[\w.+-]+@([\w.-]+)>?", re.IGNORECASE | re.MULTILINE)


def material() -> list[bytes]:
    """Referrals (half of the mix), other person-written mail and machine mail, as real bytes."""
    referrals = sorted((SHARED / "samples" / "referrals").glob("*.eml")) or sorted((ROOT / "data" / "demo").glob("*"))
    corpus = [p for p in (SHARED / "corpus" / "mail").rglob("*") if p.is_file() and p.stat().st_size < 300_000]
    pool = [p.read_bytes() for p in referrals] * 10 + [p.read_bytes() for p in sorted(corpus)]
    return pool


def unique(raw: bytes, n: int) -> bytes:
    """The same mail as a new message: its own Message-ID and sender, so nothing is deduplicated or throttled."""
    head, sep, body = raw.partition(b"\n\n") if b"\r\n\r\n" not in raw[:65536] else raw.partition(b"\r\n\r\n")
    head = _MESSAGE_ID.sub(b"", head + b"\n").rstrip(b"\r\n")
    head = _FROM.sub(lambda m: b"From: <sender%d@%s>" % (n, m.group(1)), head, count=1)
    return b"Message-ID: <bench-%d@bench.example>\r\n" % n + head + (sep or b"\r\n\r\n") + body


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="intake_workers: reading processes (0: none)")
    args = parser.parse_args()

    server, reasons = _start_any()
    if server is None:
        sys.exit("no IMAP server could start: " + "; ".join(reasons))
    work = Path(tempfile.mkdtemp(prefix="mdesk-bench-"))
    try:
        run(server, work, args.n, args.rounds, args.latency, args.workers)
    finally:
        server.cleanup()


def run(server, work: Path, n: int, rounds: int, latency_count: int, workers: int) -> None:
    user, password = server.user("bench")
    pool = material()
    messages = [unique(raw, i) for i, raw in zip(range(n), itertools.cycle(pool), strict=False)]
    client = IMAPClient(server.host, server.port, ssl=False)
    client.login(user, password)
    start = time.perf_counter()
    for raw in messages:
        client.append("INBOX", raw)
    append_seconds = time.perf_counter() - start
    size_mb = sum(map(len, messages)) / 1e6
    print(f"server: {server.kind}; {n} messages, {size_mb:.1f} MB appended in {append_seconds:.1f} s")

    best_baseline = best_intake = float("inf")
    for round_no in range(1, rounds + 1):
        baseline = fetch_and_parse(client)
        settings = Settings(
            _env_file=None,
            var_dir=work / f"round-{round_no}",
            imap_host=server.host,
            imap_port=server.port,
            imap_user=user,
            imap_password=password,
            imap_security="none",
            intake_workers=workers,
            # pymap (where Dovecot is absent) keeps no custom keywords: mark by moving instead
            imap_processed_folder="" if server.keeps_keywords else "Processed",
        )
        handled, ours = intake_round(settings)
        if handled != n:
            sys.exit(f"round {round_no}: intake handled {handled} of {n} messages")
        print(
            f"round {round_no}: baseline {n / baseline:5.0f} msg/s, intake {n / ours:5.0f} msg/s,"
            f" ratio {baseline / ours:.2f}"
        )
        best_baseline, best_intake = min(best_baseline, baseline), min(best_intake, ours)
        if round_no < rounds:
            unmark(client, settings)  # the latency run after the last round starts from an empty queue
    client.logout()
    print(f"baseline (FETCH BODY.PEEK[] + policy.default parse): {n / best_baseline:7.0f} msg/s (best of {rounds})")
    print(
        f"intake end to end (fetch, pipeline, commit, mark):    {n / best_intake:7.0f} msg/s (best of {rounds},"
        f" intake_workers={workers})"
    )
    print(f"ratio intake / baseline: {best_baseline / best_intake:.2f}  (target >= 0.5)")

    settings = settings.model_copy(update={"var_dir": work / "latency"})
    db.prepare_sqlite_file(settings.effective_database_url, var_dir=settings.var_dir, create=True)
    engine = db.make_engine(settings.effective_database_url)
    db.upgrade(engine)
    latencies = idle_latency(server, settings, engine, user, password, latency_count)
    p50 = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20)[18] if len(latencies) >= 20 else max(latencies)
    print(f"IDLE latency APPEND -> committed over {len(latencies)}: p50 {p50:.3f} s, p95 {p95:.3f} s (target < 1.5)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_text = ", ".join(f"{mb:.0f}" for mb in WORKER_PEAKS_MB) or "none measured"
    print(f"peak RSS of the intake process: {peak:.0f} MB (target < 200)")
    print(f"peak RSS of the reading processes (workers and their forkserver): {workers_text} MB")


def fetch_and_parse(client: IMAPClient) -> float:
    """The baseline: every message fetched as intake fetches it and parsed by the standard library."""
    start = time.perf_counter()
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    for chunk in range(0, len(uids), 50):
        for data in client.fetch(uids[chunk : chunk + 50], [b"BODY.PEEK[]"]).values():
            email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
    return time.perf_counter() - start


WORKER_PEAKS_MB: list[float] = []  # the reading workers' and forkserver's peak RSS, in the largest round


def descendants_peak_rss_mb() -> list[float]:
    """VmHWM of the forkserver and the reading workers below this process, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    me, peaks = os.getpid(), []
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, me):
            ancestor = parents.get(ancestor)
        if ancestor == me:
            with contextlib.suppress(OSError):
                if b"multiprocessing" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue  # the IMAP server this script started, not a reading process
                status = Path(f"/proc/{pid}/status").read_text()
                peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
    return sorted(peaks, reverse=True)


def intake_round(settings: Settings) -> tuple[int, float]:
    """Every waiting message through intake into a new database: (handled, seconds)."""
    db.prepare_sqlite_file(settings.effective_database_url, var_dir=settings.var_dir, create=True)
    engine = db.make_engine(settings.effective_database_url)
    db.upgrade(engine)
    intake = Intake(engine, settings)
    intake.start()  # as the daemon does at start-up: not counted
    watcher = MailboxWatcher(ImapSource.from_settings(settings))
    start = time.perf_counter()
    handled = watcher.drain_once(intake.handle_batch, read_ahead=intake.read_ahead)
    seconds = time.perf_counter() - start
    peaks = descendants_peak_rss_mb()
    if sum(peaks) > sum(WORKER_PEAKS_MB):
        WORKER_PEAKS_MB[:] = peaks
    intake.close()
    engine.dispose()
    return handled, seconds


def unmark(client: IMAPClient, settings: Settings) -> None:
    """Take intake's processed flag off every message (or move them back), so the next round finds them all waiting."""
    if settings.imap_processed_folder:
        client.select_folder(settings.imap_processed_folder)
        client.move(client.search("ALL"), "INBOX")
        return
    client.select_folder("INBOX")
    client.remove_flags(client.search("ALL"), [ImapSource.from_settings(settings).processed_flag])


def idle_latency(server, settings, engine, user, password, count: int) -> list[float]:
    intake = Intake(engine, settings)
    intake.start()
    committed: dict[bytes, float] = {}
    done = threading.Condition()

    def handle_batch(messages: list[SourceMessage]) -> int:
        count = intake.handle_batch(messages)
        with done:
            for message in messages[:count]:
                committed[message.raw[:40]] = time.perf_counter()
            done.notify_all()
        return count

    stop = threading.Event()
    watcher = MailboxWatcher(ImapSource.from_settings(settings))
    thread = threading.Thread(
        target=watcher.run,
        args=(handle_batch, stop),
        kwargs={"read_ahead": intake.read_ahead},
        daemon=True,
    )
    thread.start()
    client = IMAPClient(server.host, server.port, ssl=False)
    client.login(user, password)
    time.sleep(1.0)  # let the watcher reach IDLE
    latencies = []
    for i in range(count):
        raw = unique(
            b"From: Parent <p@example.com>\r\nSubject: mediation please\r\n\r\n"
            b"My son has an EHCP from Camden Council and we want mediation.\r\n",
            10_000_000 + i,
        )
        started = time.perf_counter()
        client.append("INBOX", raw)
        with done:
            done.wait_for(lambda raw=raw: raw[:40] in committed, timeout=30)
        latencies.append(committed.get(raw[:40], time.perf_counter()) - started)
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=10)
    intake.close()
    client.logout()
    return latencies


if __name__ == "__main__":
    main()
