"""Messages/second for parse + classify + extract, against bare `email.message_from_bytes`.

Both run on the same bytes in the same process, interleaved round by round so the machine's noise
hits both alike; the best round of each is reported, and the ratio (target: at least 0.5).
Then, for messages with documents attached (forms: `python bench/forms.py --write DIR`), the time and
memory of reading each attachment.
Usage: python bench/parse.py [--rounds N] [FILES_OR_DIRS...]  (default: ../shared corpus + samples)
"""

from __future__ import annotations

import argparse
import email
import email.policy
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inbox.documents import DocumentLimits, read_document
from inbox.documents.kinds import kind_of
from inbox.parse import parse_message
from inbox.parse.attachments import payload_of
from inbox.understand import understand
from models.la_directory import load_directory

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
DEFAULT_SOURCES = [SHARED / "corpus" / "mail", SHARED / "samples" / "referrals"]


def load(paths: list[Path]) -> list[bytes]:
    files: list[Path] = []
    for path in paths:
        files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix != ".json") if path.is_dir() else [path]
    return [f.read_bytes() for f in files if f.name not in ("MANIFEST.tsv", "README.md")]


def time_round(fn, messages: list[bytes]) -> float:
    start = time.perf_counter()
    for raw in messages:
        fn(raw)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    messages = load(args.paths or [p for p in DEFAULT_SOURCES if p.exists()])
    if not messages:
        sys.exit("no messages found: pass files or folders, or run beside ../shared")
    directory = load_directory()

    def ours(raw: bytes) -> None:
        understand(raw, directory=directory)

    def baseline(raw: bytes) -> None:
        email.message_from_bytes(raw, policy=email.policy.default)

    ours(messages[0]), baseline(messages[0])  # warm caches, compile regexes
    best_ours = best_base = float("inf")
    for _ in range(args.rounds):
        best_base = min(best_base, time_round(baseline, messages))
        best_ours = min(best_ours, time_round(ours, messages))
    n = len(messages)
    size = sum(map(len, messages)) / 1e6
    print(f"messages: {n} ({size:.1f} MB), best of {args.rounds} rounds each")
    print(f"baseline message_from_bytes(policy.default): {n / best_base:8.0f} msg/s")
    print(f"parse + classify + extract:                  {n / best_ours:8.0f} msg/s")
    print(f"ratio (ours / baseline): {best_base / best_ours:.2f}  (target >= 0.5)")
    attachment_costs(messages)


def attachment_costs(messages: list[bytes]) -> None:
    """Time (best of 3, no tracing) and peak traced memory of reading each attachment that is a document
    (inbox/documents), for the messages that have any: the cost forms add to reading a message."""
    times: list[float] = []
    peaks: list[int] = []
    sizes: list[int] = []
    for raw in messages:
        parsed = parse_message(raw)
        for attachment in parsed.attachments:
            name, ctype = attachment.filename or "", attachment.content_type
            if kind_of(name, ctype, b"") is None:
                continue
            data = payload_of(parsed, attachment)
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                read_document(name, ctype, data, DocumentLimits())
                best = min(best, time.perf_counter() - start)
            tracemalloc.start()
            read_document(name, ctype, data, DocumentLimits())
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            times.append(best)
            sizes.append(len(data))
    if not times:
        return
    print(f"attachments read as documents: {len(times)} ({statistics.median(sizes) / 1024:.0f} KB median, "
          f"{max(sizes) / 1024:.0f} KB largest)")  # fmt: skip
    print(f"time per attachment: median {1000 * statistics.median(times):.1f} ms, max {1000 * max(times):.1f} ms")
    print(
        f"peak memory per attachment: median {statistics.median(peaks) / 1024:.0f} KB, max {max(peaks) / 1024:.0f} KB"
    )


if __name__ == "__main__":
    main()
