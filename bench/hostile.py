"""Hostile mail: the time and memory of reading one message, for the size and nesting cases of issue 8.

Each case is built here (nothing stored) and read in a fresh process of its own, so its peak RSS is its
own: the message is built, the high-water mark reset (/proc/self/clear_refs), then it is read with
inbox.reading.read (parse, classify, extract: what a reading worker does). Against it, in the same run,
the baseline: a plain 10 KB referral, the median of 10 reads in that process. Printed per case: the
seconds to read, the ratio to the baseline, the peak RSS of the reading process above what it held
before reading and as a multiple of the message's size.
With --intake (the default) each case also goes through Intake.handle_batch on a new SQLite database
with the default settings (reading in a worker, MDESK_READ_TIMEOUT_SECONDS's bound): the seconds, the
outcome (processed or quarantined, with the reason) and the peak RSS of the intake process and of the
reading process (once MDESK_MAX_MESSAGE_MB, default 40, is in, intake quarantines the 100 MB case
unread: its outcome says so). The whole run takes under a minute on a quiet 2-core machine.
Four more cases run when named in --cases: html39mb (a base64 HTML body), qp39mb (quoted-printable
text), 8bit39mb (8-bit text, no transfer encoding) and fwd39mb (a forwarded message carrying a PDF).
Usage: python bench/hostile.py [--cases 5mb,25mb,...] [--no-intake] [--intake-max-mb MB]
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import quopri
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OWN = ("referrals@mediation-desk.example.org",)
HEAD = (
    "From: Joanne Pryce <joanne.pryce@example.com>\r\nTo: referrals@mediation-desk.example.org\r\n"
    "Subject: Mediation request - my son Elliot\r\nMessage-ID: <{tag}@bench.example>\r\nMIME-Version: 1.0\r\n"
)
REFERRAL = (
    "Hello,\r\n\r\nMy son Elliot Pryce (DOB 04/02/2015) has an EHC plan from the London Borough of Camden.\r\n"
    "We would like mediation about Section I please.\r\n\r\nMy mobile is 07700 900 418.\r\n\r\nJoanne Pryce\r\n"
)


def baseline() -> bytes:
    """A plain 10 KB referral: the text above and ordinary paragraphs after it."""
    filler = "We have tried to resolve this with the school and the local authority for some months.\r\n"
    body = REFERRAL + filler * ((10_000 - len(REFERRAL)) // len(filler))
    return (HEAD.format(tag="baseline") + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()


def with_attachment(megabytes: int) -> bytes:
    """A referral with a PDF-like attachment whose encoded message is about `megabytes` MB."""
    payload = random.Random(megabytes).randbytes(megabytes * 1_000_000 * 3 // 4)
    head = HEAD.format(tag=f"attachment-{megabytes}") + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    text = "--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + REFERRAL
    part = (
        '--B\r\nContent-Type: application/pdf; name="plan.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
        'Content-Disposition: attachment; filename="plan.pdf"\r\n\r\n'
    )
    return (head + text + part).encode() + base64.encodebytes(payload) + b"--B--\r\n"


def nested(depth: int) -> bytes:
    """Multiparts nested `depth` deep, the referral at the bottom."""
    opening = "".join(f'Content-Type: multipart/mixed; boundary="N{n}"\r\n\r\n--N{n}\r\n' for n in range(depth))
    closing = "".join(f"\r\n--N{n}--\r\n" for n in reversed(range(depth)))
    text = "Content-Type: text/plain; charset=utf-8\r\n\r\n" + REFERRAL
    return (HEAD.format(tag=f"nested-{depth}") + opening + text + closing).encode()


def unmatched_end_tags(megabytes: int) -> bytes:
    """The referral as HTML, then `megabytes` MB of <b></x>."""
    html = "<p>" + REFERRAL.replace("\r\n\r\n", "</p><p>") + "</p>" + "<b></x>" * (megabytes * 1_000_000 // 7)
    return (HEAD.format(tag="end-tags") + "Content-Type: text/html; charset=utf-8\r\n\r\n" + html).encode()


def many_parts(parts: int) -> bytes:
    head = HEAD.format(tag=f"parts-{parts}") + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    first = "--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + REFERRAL
    rest = "".join(f"--B\r\nContent-Type: text/plain\r\n\r\npart {n}\r\n" for n in range(parts - 1))
    return (head + first + rest + "--B--\r\n").encode()


def encoded_body(megabytes: int, kind: str) -> bytes:
    """The referral and `megabytes` MB of message in one body: HTML sent base64 (images inline, say),
    text sent quoted-printable, or text sent as 8-bit bytes (no transfer encoding)."""
    paragraph = "<p>We have tried to resolve this with the school and the local authority for months.</p>\r\n"
    if kind == "html-base64":
        html = ("<p>" + REFERRAL.replace("\r\n\r\n", "</p><p>") + "</p>").encode()
        html += paragraph.encode() * (megabytes * 1_000_000 * 3 // 4 // len(paragraph))
        head, cte, body = "text/html; charset=utf-8", "base64", base64.encodebytes(html)
    elif kind == "text-qp":
        line = "Caf\u00e9 = r\u00e9union, we have tried to resolve this with the school and the LA.\r\n"
        text = (REFERRAL + line * (megabytes * 1_000_000 * 2 // 3 // len(line))).encode()
        head, cte, body = "text/plain; charset=utf-8", "quoted-printable", quopri.encodestring(text)
    else:
        line = "Caf\u00e9 r\u00e9union: we have tried to resolve this with the school and the LA.\r\n"
        body = (REFERRAL + line * (megabytes * 1_000_000 // len(line.encode()))).encode()
        head, cte = "text/plain; charset=utf-8", "8bit"
    return (
        HEAD.format(tag=f"{kind}-{megabytes}") + f"Content-Type: {head}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    ).encode() + body


def forwarded(megabytes: int) -> bytes:
    """The referral with a forwarded message attached (message/rfc822), which carries a PDF."""
    head = HEAD.format(tag=f"forwarded-{megabytes}") + 'Content-Type: multipart/mixed; boundary="O"\r\n\r\n'
    text = "--O\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + REFERRAL
    part = '--O\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename="fwd.eml"\r\n\r\n'
    return (head + text + part).encode() + with_attachment(megabytes) + b"\r\n--O--\r\n"


CASES = {
    "5mb": lambda: with_attachment(5),
    "25mb": lambda: with_attachment(25),
    "39mb": lambda: with_attachment(39),  # just under MDESK_MAX_MESSAGE_MB's default: the most intake reads
    "100mb": lambda: with_attachment(100),
    "nested500": lambda: nested(500),
    "endtags2mb": lambda: unmatched_end_tags(2),
    "parts5000": lambda: many_parts(5000),
    # Not run unless asked for (--cases): large bodies of other kinds.
    "html39mb": lambda: encoded_body(39, "html-base64"),
    "qp39mb": lambda: encoded_body(39, "text-qp"),
    "8bit39mb": lambda: encoded_body(39, "text-8bit"),
    "fwd39mb": lambda: forwarded(39),
}
DEFAULT_CASES = ["5mb", "25mb", "39mb", "100mb", "nested500", "endtags2mb", "parts5000"]


# ---- in the child process, one case --------------------------------------------------------------


def _rss_mb(field: str, pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak(pid: int | str = "self") -> bool:
    """Reset a process's VmHWM to its current RSS (Linux >= 4.0); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def child_read(case: str) -> dict:
    from inbox.reading import Reading, ReadOptions, read

    own = ReadOptions(OWN)

    base = baseline()
    read(base, own)  # imports and the directory, loaded once as in a worker
    times = []
    for _ in range(10):
        start = time.perf_counter()
        read(base, own)
        times.append(time.perf_counter() - start)
    raw = CASES[case]()
    gc.collect()
    before = _rss_mb("VmRSS")
    exact = _reset_peak()
    start = time.perf_counter()
    reading = read(raw, own)
    seconds = time.perf_counter() - start
    peak = _rss_mb("VmHWM")
    return {
        "case": case, "size_mb": len(raw) / 1e6, "seconds": seconds, "baseline_seconds": statistics.median(times),
        "before_mb": before, "peak_mb": peak, "peak_exact": exact, "read": isinstance(reading, Reading),
    }  # fmt: skip


def child_intake(case: str) -> dict:
    from sqlmodel import Session, select

    from inbox.intake import Intake
    from inbox.sources.base import MessageKey, SourceMessage
    from models import db
    from models.mail import InboundMessage, QuarantineEntry
    from models.settings import Settings

    with tempfile.TemporaryDirectory(prefix="mdesk-hostile-") as var:
        settings = Settings(_env_file=None, var_dir=Path(var))
        engine = db.make_engine(settings.effective_database_url)
        db.upgrade(engine)
        intake = Intake(engine, settings)
        intake.start()  # as the daemon does at start-up: not counted
        base = SourceMessage(MessageKey("bench", 1, "0"), baseline())
        start = time.perf_counter()
        intake.handle_batch([base])
        base_seconds = time.perf_counter() - start
        message = SourceMessage(MessageKey("bench", 1, "1"), CASES[case]())
        gc.collect()
        pids = intake.readers._pool.pids() if intake.readers and intake.readers._pool else []
        worker_before = {pid: _rss_mb("VmRSS", pid) for pid in pids}
        worker_exact = all([_reset_peak(pid) for pid in pids])
        before = _rss_mb("VmRSS")
        exact = _reset_peak()
        start = time.perf_counter()
        handled = intake.handle_batch([message])
        seconds = time.perf_counter() - start
        peak = _rss_mb("VmHWM")
        # The worker that grew most over what it held before: the one that read the message.
        workers = [(_rss_mb("VmHWM", pid), _rss_mb("VmHWM", pid) - worker_before[pid]) for pid in pids]
        worker_peak, worker_growth = max(workers, key=lambda w: w[1], default=(0.0, 0.0))
        intake.close()
        with Session(engine) as session:
            stored = session.exec(select(InboundMessage).where(InboundMessage.uid == "1")).one()
            entry = session.exec(select(QuarantineEntry)).first()
            outcome = stored.status + (f" ({entry.reason})" if entry else f" ({stored.outcome})")
        engine.dispose()
    return {
        "case": case, "size_mb": len(message.raw) / 1e6, "seconds": seconds, "baseline_seconds": base_seconds,
        "before_mb": before, "peak_mb": peak, "peak_exact": exact, "worker_peak_mb": worker_peak,
        "worker_growth_mb": worker_growth, "worker_exact": worker_exact, "handled": handled, "outcome": outcome,
    }  # fmt: skip


# ---- the parent --------------------------------------------------------------------------------


def run_child(mode: str, case: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDESK_")}
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, case], capture_output=True, text=True, env=env, timeout=600
    )
    if done.returncode != 0:
        sys.exit(f"{mode} {case} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help="comma-separated: " + ", ".join(CASES))
    parser.add_argument("--no-intake", action="store_true", help="only the reading function, not intake as a whole")
    parser.add_argument("--intake-max-mb", type=float, default=1000.0, help="larger cases skip intake as a whole")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, case = args.child
        print(json.dumps(child_read(case) if mode == "read" else child_intake(case)))
        return
    started = time.perf_counter()
    cases = [c for c in args.cases.split(",") if c]
    print("reading one message (inbox.reading.read), each case in a fresh process; baseline: a 10 KB referral")
    print(f"{'case':<12}{'size MB':>9}{'seconds':>10}{'x baseline':>12}{'peak RSS MB':>13}{'x size':>8}")
    sizes = {}
    for case in cases:
        r = run_child("read", case)
        sizes[case] = r["size_mb"]
        extra = r["peak_mb"] - r["before_mb"] + r["size_mb"]  # the message itself and what reading added
        print(
            f"{case:<12}{r['size_mb']:9.1f}{r['seconds']:10.3f}{r['seconds'] / r['baseline_seconds']:12.0f}"
            f"{r['peak_mb']:13.0f}{extra / r['size_mb']:8.1f}" + ("" if r["peak_exact"] else "  (peak since start)"),
            flush=True,
        )
    print(f"baseline read: {r['baseline_seconds'] * 1000:.1f} ms (median of 10, last case's process)")
    print("'x size': (peak RSS - RSS before reading + the message's size) / the message's size")
    if not args.no_intake:
        print("\nintake as a whole (Intake.handle_batch, SQLite, default settings: one reading worker, 20 s bound)")
        print(
            f"{'case':<12}{'size MB':>9}{'seconds':>10}{'x baseline':>12}{'intake MB':>11}{'+MB':>7}{'x size':>8}"
            f"{'worker MB':>11}{'+MB':>7}{'x size':>8}  outcome"
        )
        for case in cases:
            if sizes[case] > args.intake_max_mb:
                print(f"{case:<12}{sizes[case]:9.1f}  (over --intake-max-mb {args.intake_max_mb:g}: not run)")
                continue
            r = run_child("intake", case)
            growth = r["peak_mb"] - r["before_mb"]
            inexact = "" if r["peak_exact"] and r["worker_exact"] else "  (peak since start)"
            print(
                f"{case:<12}{r['size_mb']:9.1f}{r['seconds']:10.3f}{r['seconds'] / r['baseline_seconds']:12.0f}"
                f"{r['peak_mb']:11.0f}{growth:7.0f}{(growth + r['size_mb']) / r['size_mb']:8.1f}"
                f"{r['worker_peak_mb']:11.0f}{r['worker_growth_mb']:7.0f}{r['worker_growth_mb'] / r['size_mb']:8.1f}"
                f"  {r['outcome']}{inexact}",
                flush=True,
            )
        print(f"baseline (the 10 KB referral through intake): {r['baseline_seconds'] * 1000:.0f} ms")
        print("'+MB': peak RSS growth over the process's RSS just before the batch (each process on its own).")
        print("intake 'x size': (its growth + the message, which it held before) / the message's size;")
        print("worker 'x size': its growth (the message arrives over the pipe within it) / the message's size")
    print(f"\nrun time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
