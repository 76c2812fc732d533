"""The child's (or the young person's own) name, as written, full where the email gives it.

Whose words count depends on who writes (the role step): a young person's own name is the child's."""

from __future__ import annotations

import re

from inbox.extract.context import Context
from inbox.extract.evidence import Candidate, clause_before, evidence_at, source_order, word_set
from inbox.extract.names import INSTITUTION_AFTER, NameSpan, clean_display_name, name_spans
from inbox.extract.sources import Source
from inbox.referral import Evidence

_CHILD_BEFORE: tuple[tuple[float, re.Pattern[str]], ...] = (
    (4.0, re.compile(
        r"(?i)\b(?:my|our)\s+(?:[\w-]+\s+){0,3}?(?:son|daughter|child|grandson|granddaughter|stepson|stepdaughter"
        r"|step-son|step-daughter|boy|girl|nephew|niece|foster\s+(?:son|daughter|child)|grandchild|ward|twins?)"
        r"\s*[,(]?\s*(?:(?:who\s+is\s+|is\s+)?(?:called|named)\s+|is\s+)?$")),
    # "son Rhys", "daughter is Sophie" at the start of a clause: a text message drops the "my".
    (3.5, re.compile(
        r"(?i)(?:^\s*|[,.;:!?(]\s*)(?:son|daughter|grandson|granddaughter|stepson|stepdaughter)"
        r"\s*[,(]?\s*(?:(?:is\s+)?(?:called|named)\s+|is\s+)?$")),
    (3.0, re.compile(
        r"(?i)\b(?:her|his|their|whose|the\s+family's|ms\s+\w+'s|mrs\s+\w+'s|mr\s+\w+'s)\s+(?:[\w-]+\s+){0,2}?"
        r"(?:son|daughter|child|grandson|granddaughter|stepson|stepdaughter)\s*,?\s*$")),
    (4.0, re.compile(
        r"(?i)\b(?:one\s+of\s+our|our|a|the)\s+(?:[\w-]+\s+)?"
        r"(?:students?|pupils?|learners?|young\s+people|young\s+person|children|child)\s*[,:(-]?\s*$")),
    (4.0, re.compile(
        r"(?i)\b(?:mum|mom|mummy|dad|daddy|mother|father|parent|carer|guardian|grandma|nan)\s+(?:to|of)\s+$")),
    (4.0, re.compile(
        r"(?i)\b(?:(?:son|daughter|child|grandson|granddaughter)'?s|his|her|their)\s+(?:full\s+)?names?"
        r"\s+(?:is|are)\s+$")),
    (3.0, re.compile(r"(?i)\b(?:pupils?|students?|learners?|young\s+person|child)\b[^.\n]{0,25},\s*$")),
    (2.0, re.compile(r"(?i)\b(?:for|regarding|re:?|about|concerning|on behalf of|named|called)\s+$")),
)  # fmt: skip
_CHILD_AFTER: tuple[tuple[float, re.Pattern[str]], ...] = (
    (4.0, re.compile(
        r"(?i)^\s*\(\s*(?:dob|d\.o\.b|born|aged?\b|\d{1,2}\s*(?:\)|years?|yrs?|y/?o|,)|year\s*\d|y\d|yr\s*\d"
        r"|date of birth|reception|nursery)")),
    (3.5, re.compile(r"(?i)^\s*,?\s*(?:dob|d\.o\.b|born\b|aged\s+\d|date of birth|who is \d|age \d)")),
    (3.0, re.compile(
        r"(?i)^\s*,\s*(?:\d{1,2}\s*,\s*)?(?:whose|who\s+(?:has|is|attends))\s+(?:\w+\s+)?"
        r"(?:ehcp|ehc|plan|needs|statement|school|in\s+year|autistic|diagnosed)"
        r"|^\s*,\s*(?:y|yr|year)\s*\d{1,2}\b|^\s*,\s*(?:aged?\s+)?\d{1,2}\s*(?:\)|,|years?|yrs?|y/?o)")),
    (2.0, re.compile(
        r"(?i)^\s+(?:is|was|turned|turns)\s+(?:now\s+|only\s+|just\s+)?"
        r"(?:\d{1,2}\b|aged|in\s+year|born|in\s+reception|in\s+nursery)")),
)  # fmt: skip
_POSSESSIVE_AFTER = re.compile(
    r"(?i)^\s*(?:ehc|ehcp|plan|school|needs|mum|dad|mother|father|grandmother|grandfather|parents?|carers?|ta\b|"
    r"teacher|annual review|provision|speech|therapy|behaviour|education|placement|case|class|nursery|college|"
    r"diagnosis|support|1:1|one-to-one|health|attendance|social worker|special guardian)"
)
# The word right before a name that says it is someone else: a title, a greeting, a relative, a job.
_NOT_CHILD_BEFORE = word_set(
    "mr mrs ms miss mx dr prof sir dear hi hello hiya hey morning thanks regards husband wife partner mum dad "
    "mother father grandmother grandfather nan gran aunt auntie uncle sister brother sibling teacher senco worker "
    "officer headteacher head manager colleague adviser advisor caseworker coordinator co-ordinator psychologist "
    "therapist cc"
)
# The last word before a name that can start a child cue (the regexes of _CHILD_BEFORE end in one of these, or
# in punctuation): checking it first spares most capitalised words the regex scans.
_CHILD_CUE_LAST = word_set(
    "son daughter child grandson granddaughter stepson stepdaughter step-son step-daughter boy girl nephew niece "
    "grandchild ward twin twins called named is student students pupil pupils learner learners people person "
    "children to of are for regarding re re: about concerning"
)
_LAST_WORD = re.compile(r"([\w'-]+)[.,]?\s*$")


def _last_word(before: str) -> str:
    m = _LAST_WORD.search(before[-30:])
    return m.group(1).lower() if m else ""


_SUBJECT_CHILD = re.compile(
    r"(?i)(?:referral|request|mediation|certificate|enquiry|resolution|meeting|facilitation|appeal|ehcp?|plan|re)"
    r"\b[^\n]{0,40}?(?:[-:|]|\bfor|\bre)\s*$"
)
_TYPED_NAME = re.compile(r"^[^\W\d_][\w'-]*(?: [^\W\d_][\w'-]*){0,3}$")
_SELF_INTRO = re.compile(r"(?i)\b(?:i'?m|i am|im|my name is|my name's|this is)\s+$")


def extract_child(ctx: Context, role: str | None) -> tuple[str | None, Evidence | None]:
    """The child's (or the young person's own) name, as written, full where the email gives it."""
    split = _first_and_surname(ctx)
    if split is not None:
        return split
    excluded = _writer_names(ctx) if role != "young_person" else set()
    excluded_first = {e.split()[0] for e in excluded if e}  # the writers' first names, worked out once
    scores: dict[str, float] = {}
    hits: dict[str, Candidate[str]] = {}
    variants: dict[str, list[Candidate[str]]] = {}
    for f in ctx.fields_of("child_name"):
        spans = name_spans(f.source.norm, f.start, f.end)
        if not spans and _TYPED_NAME.match(f.value):
            # Typed in capitals ("Child's name: JAMES O'NEILL"): the field says it is a name, keep it as written.
            offset = f.source.norm.find(f.value, f.start, f.end)
            spans = [NameSpan(f.value.split(), offset, offset + len(f.value), False)] if offset >= 0 else []
        if spans:
            _add_child(scores, hits, variants, spans[0], 6.0 * f.source.weight, f.source)
    for src in ctx.by_name("body", "forwarded", "subject", "quoted", "signature", "header", "attachment"):
        for span in name_spans(src.norm):
            w = _child_cue_weight(ctx, src, span, excluded, excluded_first, role)
            if w is None:
                continue
            factor = {"subject": 0.8, "header": 1.0}.get(src.name, src.weight)
            _add_child(scores, hits, variants, span, w * factor, src)
    _merge_initials(scores, variants)
    live = {k: v for k, v in scores.items() if v > 0 and k in hits and not _is_place(ctx, hits[k].value)}
    if not live:
        return None, None
    key = max(live, key=lambda k: (live[k], -hits[k].order))
    full = _full_name(key, variants)
    hit = hits[key]
    if full is not None:
        return full.value, evidence_at(full.value, full.src, full.start, full.end)
    return str(hit.value), evidence_at(hit.value, hit.src, hit.start, hit.end)


def _first_and_surname(ctx: Context) -> tuple[str, Evidence] | None:
    """A form asking the child's first name and surname apart: the two answers are the full name."""
    firsts = [f for f in (*ctx.fields_of("child_first_name"), *ctx.fields_of("child_name")) if _first_only(f.label)]
    surnames = ctx.fields_of("child_surname")
    for first in firsts:
        surname = next((s for s in surnames if s.source is first.source), None)
        if surname is not None and _TYPED_NAME.match(first.value) and _TYPED_NAME.match(surname.value):
            name = f"{first.value} {surname.value}"
            return name, evidence_at(
                name, first.source, first.start, surname.end if surname.start > first.start else first.end
            )
    return None


def _first_only(label: str) -> bool:
    return bool(re.search(r"(?i)\b(?:first|fore|given) ?names?\b", label))


def _is_place(ctx: Context, name: object) -> bool:
    """ "Local authority: Cardiff" is not a child called Cardiff."""
    text = str(name)
    return any(m.start == 0 and m.end >= len(text.split()[0]) for m in ctx.directory.find(text))


def _add_child(
    scores: dict[str, float],
    hits: dict[str, Candidate[str]],
    variants: dict[str, list[Candidate[str]]],
    span: NameSpan,
    w: float,
    src: Source,
) -> None:
    key = span.tokens[0].lower()
    scores[key] = scores.get(key, 0.0) + w
    cand = Candidate(span.text, w, src, span.start, span.end, source_order(src, span.start))
    variants.setdefault(key, []).append(cand)
    if w >= 1.0 and (key not in hits or w > hits[key].score):
        hits[key] = Candidate(
            span.tokens[0] if len(span.tokens[0]) > 1 else span.text,
            w,
            src,
            span.start,
            span.start + len(span.tokens[0]),
            cand.order,
        )


def _child_cue_weight(
    ctx: Context, src: Source, span: NameSpan, excluded: set[str], excluded_first: set[str], role: str | None
) -> float | None:
    norm = src.norm
    if src.name == "header":
        # The From name is the child only when the young person writes for themselves.
        return 3.0 if role == "young_person" and span.start < norm.find("<") else None
    text_low = span.text.lower()
    if text_low in excluded or (len(span.tokens) == 1 and span.tokens[0].lower() in excluded_first):
        return None
    before = clause_before(norm, span.start, 80)
    after = norm[span.end : span.end + 40]
    last = _last_word(before)
    if last in _NOT_CHILD_BEFORE or INSTITUTION_AFTER.match(after):
        return None
    if src.in_signoff(span.start) and role != "young_person":
        return None  # a sign-off names the writer
    weight = 0.0
    if last in _CHILD_CUE_LAST or before.rstrip()[-1:] in (",", "(", ":", "-"):
        for w, rx in _CHILD_BEFORE:
            if rx.search(before):
                weight = max(weight, w)
                break
    for w, rx in _CHILD_AFTER:
        if not span.possessive and rx.match(after):
            weight += w
            break
    if span.possessive and _POSSESSIVE_AFTER.search(norm[span.end + 2 : span.end + 40]):
        weight += 1.5
    if src.name == "subject" and _SUBJECT_CHILD.search(norm[max(0, span.start - 60) : span.start]):
        weight += 3.0
    if role == "young_person":
        if _SELF_INTRO.search(before[-20:]):
            weight += 4.0
        elif src.in_signoff(span.start):
            weight += 2.0
    if weight == 0.0 and src.name in ("body", "forwarded"):
        return 0.3  # a plain mention: counts only for a name some cue already found
    return weight


def _writer_names(ctx: Context) -> set[str]:
    names = set()
    named = (*ctx.fields_of("referrer_name"), *ctx.fields_of("parent_name"))
    for name in (ctx.sender_name, *(f.value for f in named)):
        clean = clean_display_name(name).lower()
        if clean:
            names.add(clean)
    return names


def _merge_initials(scores: dict[str, float], variants: dict[str, list[Candidate[str]]]) -> None:
    """ "K Asante" in a subject backs "Kwame Asante" in the body."""
    for key in [k for k in scores if len(k) == 1]:
        surnames = {str(c.value).split()[-1] for c in variants.get(key, []) if " " in str(c.value)}
        for other, cands in variants.items():
            if (
                other != key
                and other.startswith(key)
                and any(" " in str(c.value) and str(c.value).split()[-1] in surnames for c in cands)
            ):
                scores[other] = scores.get(other, 0.0) + scores[key]
                scores[key] = 0.0
                break


def _full_name(key: str, variants: dict[str, list[Candidate[str]]]) -> Candidate[str] | None:
    """The most often written multi-word form of the chosen first name, anywhere in the message."""
    multi = [c for c in variants.get(key, []) if " " in str(c.value)]
    if not multi:
        return None
    counts: dict[str, int] = {}
    for c in multi:
        counts[str(c.value)] = counts.get(str(c.value), 0) + 1
    best = max(multi, key=lambda c: (counts[str(c.value)], c.score, -c.order))
    return best
