"""The local authority responsible for the child now.

Councils come only from the LA directory (`models.la_directory`: what counts as a council mention lives
there); this module weighs the mentions: by source and cue, a council the family moved away from
demoted, one that "now holds the plan" promoted, mentions in postal addresses (ours included) and
disclaimers not counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from inbox.extract.context import Context
from inbox.extract.evidence import Candidate, clause_before, evidence_at, pick_best, source_order
from inbox.extract.sources import Source
from inbox.referral import Evidence
from models.la_directory import Directory, LAMention, LocalAuthority
from models.offices import POSTCODE

_MOVED_FROM = re.compile(
    r"(?i)\b(?:moved|relocated|transferr\w*|came|come)\s+(?:here\s+|over\s+|house\s+|area\s+)?(?:\w+\s+){0,2}?"
    r"from\s+(?:the\s+)?$"
    r"|\b(?:previously|formerly|originally|used\s+to\s+(?:live|be|have\s+(?:an?\s+)?(?:ehcp|plan))|lived)"
    r"(?:\s+(?:in|with|at|under|by|from))?\s+(?:the\s+)?$"
    r"|\b(?:previous|former|old|last|original)\s+(?:la|local authority|council|borough|authority)\s*"
    r"(?:was|is|,|:|-|\()?\s*(?:the\s+)?$"
)
_MOVED_TO = re.compile(
    r"(?i)\b(?:moved|relocated|transferr\w*)\b[^.\n]{0,60}?\bto\s+(?:the\s+)?$"
    r"|\bnow\s+(?:with|in|under|at|(?:live|living|lives|based)\s+in)\s+(?:the\s+)?$"
    r"|\b(?:we|they|i|family)\s+(?:now\s+)?(?:live|lives|living|are)\s+in\s+(?:the\s+)?$"
    r"|\b(?:we're|they're)\s+(?:now\s+)?in\s+(?:the\s+)?$"
    r"|\b(?:new|current|home)\s+(?:la|local authority|council|borough|authority)\s*(?:is|,|:|-|\()?\s*(?:the\s+)?$"
    r"|\bmaintained by\s+(?:the\s+)?$|\b(?:ehcp|ehc plan|plan)\s+(?:is\s+)?(?:from|with)\s+(?:the\s+)?$"
)
# A council named as a correction of the one just said ("we're in Barking, no sorry, we moved, we're in
# Redbridge"): the ones before it in that text are taken back.
_CORRECTION = re.compile(
    r"(?i)\b(?:sorry|i\s+mean|no\s+wait|no\s+no|correction)\b[^.\n]{0,40}?\b(?:in|to|with|from)\s+(?:the\s+)?$"
)
# After the name: "Trafford now hold his plan", "Herts have taken over the plan".
_NOW_RESPONSIBLE = re.compile(
    r"(?i)\s+(?:(?:county|city|borough)\s+)?(?:council\s+)?(?:now|currently)\s+(?:hold|holds|maintain|maintains"
    r"|has|have|is|are|own|owns)\b|\s+(?:(?:council\s+)?(?:have|has)\s+)?(?:now\s+)?(?:taken|took)\s+over\b"
)
_ELSEWHERE = re.compile(
    r"(?i)\b(?:school|college|placement|provision|setting|unit|academy)\s+(?:is\s+)?(?:\w+\s+){0,4}?in\s+(?:the\s+)?$"
    r"|\b(?:border|boundary)\s+(?:in|into|with|from)\s+$|\bout[\s-]of[\s-](?:county|borough|area)\b[^.\n]*$"
)


def extract_local_authority(ctx: Context) -> tuple[LocalAuthority | None, Evidence | None]:
    """The council responsible for the child now, from directory mentions scored by source and cue."""
    directory = ctx.directory
    cands: list[Candidate[LocalAuthority]] = []
    moved_from: set[str] = set()
    for src in ctx.sources:
        if src.name == "header":
            cands.extend(_header_la_candidates(src, ctx, directory))
            continue
        for cand, demoted in _la_candidates(src, directory, ctx):
            cands.append(cand)
            if demoted:
                moved_from.add(cand.value.name)
    cands.extend(_la_field_candidates(ctx, directory))
    if not cands:
        return None, None
    totals: dict[str, float] = {}
    for c in cands:
        name = c.value.name
        if name in moved_from:
            c.score *= 0.1  # the council the family left: responsible no longer
        totals[name] = totals.get(name, 0.0) + c.score
    first_seen: dict[str, int] = {}
    for c in sorted(cands, key=lambda c: c.order):
        first_seen.setdefault(c.value.name, c.order)
    winner = max(totals, key=lambda n: (totals[n], -first_seen[n]))
    best = pick_best([c for c in cands if c.value.name == winner])
    assert best is not None
    la = best.value
    return la, evidence_at(la.name, best.src, best.start, best.end)


def _la_candidates(src: Source, directory: Directory, ctx: Context) -> list[tuple[Candidate[LocalAuthority], bool]]:
    found = list(_la_mentions(src, directory, ctx))
    for i, (cand, _) in enumerate(found):
        before = clause_before(src.norm, cand.start, 60)
        if _CORRECTION.search(before):
            found[:i] = [(c, demoted or c.value.name != cand.value.name) for c, demoted in found[:i]]
    return found


def _la_mentions(src: Source, directory: Directory, ctx: Context) -> Iterator[tuple[Candidate[LocalAuthority], bool]]:
    for mention in directory.council_mentions(src.norm):
        weight = _la_mention_weight(src, mention, ctx)
        if weight is None:
            continue
        before = clause_before(src.norm, mention.start, 110)
        after = src.norm[mention.end : mention.end + 50]
        demoted = bool(_MOVED_FROM.search(before))
        if demoted:
            weight *= 0.1
        elif _MOVED_TO.search(before) or _NOW_RESPONSIBLE.match(after):
            weight *= 2.0
            if src.name == "body" and ctx.documents_read:
                weight *= 4.0  # "we have now moved to Trafford", written now: above the older form's answer
        elif _ELSEWHERE.search(before):
            weight *= 0.4  # "his school is in Kingston": a place, not his council
        yield (
            Candidate(mention.authority, weight, src, mention.start, mention.end, source_order(src, mention.start)),
            demoted,
        )


def _la_mention_weight(src: Source, mention: LAMention, ctx: Context) -> float | None:
    """How much one council mention counts, or None when it is not about the family's council at all."""
    norm = src.norm
    start, end = mention.start, mention.end
    if src.skipped(start):
        return None
    line_start = norm.rfind("\n", 0, start) + 1
    line_end = norm.find("\n", end)
    line = norm[line_start : line_end if line_end >= 0 else len(norm)]
    if any(pc in line for pc in ctx.own_postcodes) or _in_postal_address(line, start - line_start):
        return None  # a postal address (ours, a school's, a council office's) is not the child's council
    weight = src.weight
    if src.name == "attachment":
        weight *= 0.5  # words printed on a form or a letter: its answers (fields) say the council
    if mention.doubtful:
        weight *= 0.3  # maybe part of another proper noun ("Harrow Way School"?): weak
    if mention.explicit:
        weight *= 2.0
    if src.in_signoff(start) and src.name != "signature":
        weight *= 0.35  # a signature's team or employer name: the body outweighs it
    if ctx.writes_for_la and src.in_signoff(start):
        weight /= 0.35  # "our decision", signed "SEND Officer, X Council": the signature names the LA
    return weight


_ADDRESS_SEGMENT = re.compile(r"[^|,;]+")


def _in_postal_address(line: str, pos: int) -> bool:
    """Is pos inside the address part of a line ("Civic Centre, Victoria Road, Hartlepool TS24 8AY")?

    Only the comma/bar-separated piece holding the postcode or a house number is address: the council
    name earlier on a signature line ("Hartlepool Borough Council | Civic Centre, ...") still counts."""
    if not POSTCODE.search(line):
        return False
    for seg in _ADDRESS_SEGMENT.finditer(line):
        if seg.start() <= pos < seg.end():
            piece = seg.group()
            return bool(POSTCODE.search(piece) or re.match(r"\s*\d", piece))
    return False


def _la_field_candidates(ctx: Context, directory: Directory) -> Iterator[Candidate[LocalAuthority]]:
    for f in ctx.fields_of("la"):
        mentions = directory.find(f.value)
        la = mentions[0].authority if mentions else directory.lookup(f.value)
        if la is None:
            continue
        start, end = f.start, f.end
        if mentions:
            start, end = f.start + mentions[0].start, f.start + mentions[0].end
        # A form's "Local authority:" answer is the family's own statement of it: strongest.
        yield Candidate(la, 6.0 * f.source.weight, f.source, start, end, source_order(f.source, start))


def _header_la_candidates(src: Source, ctx: Context, directory: Directory) -> Iterator[Candidate[LocalAuthority]]:
    """An LA officer's address (…@lewisham.gov.uk) hints weakly at their council."""
    la = directory.for_email_domain(ctx.sender_email)
    if la is not None:
        pos = max(src.norm.rfind("@"), 0)
        yield Candidate(la, 0.3, src, pos, len(src.text), source_order(src, pos))
