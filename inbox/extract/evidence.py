"""Candidates and evidence: what every field reader weighs, and how a chosen value points at its words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from inbox.extract.sources import Source
from inbox.referral import Evidence


def _snippet(src: Source, start: int, end: int, width: int = 70) -> str:
    """The line around a span, trimmed to about `width` characters each side."""
    text = src.text
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        line_end = len(text)
    a = max(line_start, start - width)
    b = min(line_end, end + width)
    snippet = " ".join(text[a:b].split())
    return ("…" if a > line_start else "") + snippet + ("…" if b < line_end else "")


def evidence_at(value: object, src: Source, start: int, end: int) -> Evidence:
    return Evidence(value, src.name, start, end, _snippet(src, start, end), src.file or None)


V = TypeVar("V")


@dataclass(slots=True)
class Candidate(Generic[V]):
    value: V
    score: float
    src: Source
    start: int
    end: int
    order: int = 0  # tie-break: lower is earlier / better source


_SOURCE_ORDER = {"body": 0, "attachment": 1, "forwarded": 2, "subject": 3, "signature": 4, "quoted": 5, "header": 6}


def source_order(src: Source, pos: int) -> int:
    return _SOURCE_ORDER.get(src.name, 9) * 1_000_000 + pos


def pick_best(cands: list[Candidate[V]]) -> Candidate[V] | None:
    if not cands:
        return None
    return max(cands, key=lambda c: (c.score, -c.order))


def clause_before(norm: str, pos: int, limit: int = 90) -> str:
    """Text before pos back to the start of its sentence or line (at most `limit` characters)."""
    a = max(0, pos - limit)
    chunk = norm[a:pos]
    cut = max(chunk.rfind("\n"), chunk.rfind(". "), chunk.rfind("! "), chunk.rfind("? "), chunk.rfind("; "))
    return chunk[cut + 1 :] if cut >= 0 else chunk


_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n[ ]*\n|\n[ ]*\|")
_SENTENCE_START = re.compile(r"(?s).*(?:[.!?]\s|\n[ ]*\n|\n[ ]*\|)")


def sentence_around(norm: str, start: int, end: int, limit: int = 160) -> tuple[int, int]:
    """The sentence (or paragraph line, or table cell) holding a span, at most `limit` each side."""
    a = max(0, start - limit)
    m = _SENTENCE_START.match(norm, a, start)
    s = m.end() if m else a
    m = _SENTENCE_END.search(norm, end, end + limit)
    e = m.end() if m else min(len(norm), end + limit)
    return s, e


def add_score(
    scores: dict[str, float], best_hit: dict[str, Candidate[str]], key: str, w: float, src: Source, a: int, b: int
) -> None:
    scores[key] = scores.get(key, 0.0) + w
    cur = best_hit.get(key)
    if cur is None or w > cur.score:
        best_hit[key] = Candidate(key, w, src, a, b)


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())
