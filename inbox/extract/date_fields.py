"""Dates a referral gives: the child's date of birth and the date of the council's decision letter.

Both are read with the one date reader (`inbox.extract.dates`) against the context's reference day.
"""

from __future__ import annotations

import re
from datetime import date

from inbox.extract.context import Context
from inbox.extract.dates import DATE, plausible_birth_date, read_date
from inbox.extract.evidence import Candidate, evidence_at, pick_best, sentence_around, source_order
from inbox.referral import Evidence

_DOB_CUE = re.compile(
    r"(?i)(?:\bd\.?\s?o\.?\s?b\b\.?|\bdate of birth|\bbirth ?date|\bborn(?:\s+on)?|\bbirthday(?:\s+is)?)"
    r"[\s:|=(\-]*(?:is\s+|on\s+|in\s+)?(?:the\s+)?$"
)
_DECISION_CUE = re.compile(
    r"(?i)\b(?:letter|decision|decided|refus\w*|issued|finalised|finalized|final\s+(?:ehc\s+)?plan"
    r"|amended\s+(?:final\s+)?plan|dated|wrote|written|notice|notified|informed|told\s+(?:us|me)|panel|declined"
    r"|won'?t|will\s+not|not\s+to)\b"
)
_NOT_DECISION = re.compile(
    r"(?i)\b(?:week\s+beginning|w/c|meeting\s+(?:on|is)|appointment|available|availability|hearing\s+(?:on|is)"
    r"|session|start(?:s|ing)?\s+(?:on|in)|deadline|until|by\s+$)"
)


def extract_dob(ctx: Context, child: Evidence | None = None) -> tuple[date | None, Evidence | None]:
    """A full date of birth when one is written next to a DOB cue (never an age, never another date).

    With several (siblings), the one written nearest the child's name wins. Without a reference day
    nothing tells a birth date from a future one, so none is read."""
    reference = ctx.ref_date
    if reference is None:
        return None, None
    cands: list[Candidate[date]] = []
    for f in ctx.fields_of("dob"):
        for m in DATE.finditer(f.source.norm, f.start, f.end):
            d, full = read_date(m, reference)
            if d and full and plausible_birth_date(d, reference):
                # An attached form's answer beats a forwarded or quoted mention, not the body's own words.
                score = 4.5 if f.source.name == "attachment" else 5.0
                cands.append(Candidate(d, score, f.source, m.start(), m.end(), source_order(f.source, m.start())))
    for src in ctx.by_name("body", "forwarded", "subject", "quoted", "attachment"):
        for m in src.matches(DATE):
            if not _DOB_CUE.search(src.norm[max(0, m.start() - 30) : m.start()]):
                continue
            d, full = read_date(m, reference)
            if d and full and plausible_birth_date(d, reference):
                score = 4.0 * src.weight + (2.0 if src.name == "body" and ctx.documents_read else 0.0)
                cands.append(Candidate(d, score, src, m.start(), m.end(), source_order(src, m.start())))
    if child is not None and len(cands) > 1:
        for c in cands:
            if c.src.name == child.source:
                c.score += 1.0 / (1.0 + abs(c.start - child.end) / 100)
    best = pick_best(cands)
    if best is None:
        return None, None
    return best.value, evidence_at(best.value, best.src, best.start, best.end)


_HEADER_LINE = re.compile(r"(?i)^\s*(?:on\s.{0,120}wrote:?\s*$|(?:date|sent|from|to|subject)\s*:)")


def _header_line(norm: str, pos: int) -> bool:
    """A date in a reply's attribution ("On 12 Jun 2025, X wrote:") or a forwarded header is when an email
    was sent, not a decision."""
    line_start = norm.rfind("\n", 0, pos) + 1
    line_end = norm.find("\n", pos)
    return bool(_HEADER_LINE.match(norm[line_start : line_end if line_end >= 0 else len(norm)]))


_LETTER_WORDS = re.compile(r"(?i)\b(?:decided|decision|refus\w*|not to (?:issue|assess|amend)|cease)\b")
_DATE_LINE = re.compile(r"(?i)^\s*(?:date(?:d)?\s*:?\s*|our ref[^\n]{0,30}\n\s*)?$")


def _decision_field_candidates(ctx: Context) -> list[Candidate[date]]:
    """A form's "Date of the decision letter" answer, and a decision letter's own date (its date line)."""
    cands: list[Candidate[date]] = []
    for f in ctx.fields_of("decision_date"):
        for m in DATE.finditer(f.source.norm, f.start, f.end):
            d, _full = read_date(m, ctx.ref_date)
            if d is not None and not (ctx.ref_date and d > ctx.ref_date):
                cands.append(Candidate(d, 5.0, f.source, m.start(), m.end(), source_order(f.source, m.start())))
    for src in ctx.by_name("attachment"):
        if not _LETTER_WORDS.search(src.norm[:4000]):
            continue  # a letter about a decision: its own date is the decision's
        for m in DATE.finditer(src.norm, 0, min(len(src.norm), 800)):
            line_start = src.norm.rfind("\n", 0, m.start()) + 1
            line_end = src.norm.find("\n", m.end())
            rest = src.norm[m.end() : line_end if line_end >= 0 else len(src.norm)]
            if not _DATE_LINE.match(src.norm[line_start : m.start()]) or rest.strip(" .|"):
                continue  # only a date standing on its own line, as a letter is dated
            d, _full = read_date(m, ctx.ref_date)
            if d is not None and not (ctx.ref_date and d > ctx.ref_date):
                cands.append(Candidate(d, 2.5 * src.weight, src, m.start(), m.end(), source_order(src, m.start())))
                break
    return cands


def extract_decision_date(ctx: Context) -> tuple[date | None, Evidence | None]:
    """The date of the LA's decision letter: a past date in a sentence about a letter or decision."""
    cands = _decision_field_candidates(ctx)
    for src in ctx.by_name("body", "forwarded", "quoted", "attachment"):
        for m in src.matches(DATE):
            if _DOB_CUE.search(src.norm[max(0, m.start() - 30) : m.start()]) or _header_line(src.norm, m.start()):
                continue
            d, _full = read_date(m, ctx.ref_date)
            if d is None or (ctx.ref_date and d > ctx.ref_date):
                continue
            if ctx.ref_date and (ctx.ref_date - d).days > 800:
                continue
            s, e = sentence_around(src.norm, m.start(), m.end())
            sentence = src.norm[s:e]
            cues = list(_DECISION_CUE.finditer(sentence))
            if not cues or _NOT_DECISION.search(src.norm[max(s, m.start() - 30) : m.start()]):
                continue
            rel = m.start() - s
            distance = min(abs(c.start() - rel) for c in cues)
            score = src.weight * (3.0 - min(distance, 100) / 50)
            if src.name == "body" and ctx.documents_read:
                score += 3.0  # what the sender writes now outranks the form and letter they attach
            cands.append(Candidate(d, score, src, m.start(), m.end(), source_order(src, m.start())))
    best = pick_best(cands)
    if best is None:
        return None, None
    return best.value, evidence_at(best.value, best.src, best.start, best.end)
