"""The best number to call the sender back on, as E.164: their own, not ours, a partner's or a council's."""

from __future__ import annotations

import re
from collections.abc import Iterator

from inbox.extract.context import Context, letters_signed_by_sender
from inbox.extract.evidence import Candidate, evidence_at, pick_best, source_order
from inbox.extract.forms import FormField
from inbox.extract.numbers import to_e164
from inbox.extract.sources import Source
from inbox.referral import Evidence

# A number starts with "+", "00", "(0" or "0": the lookahead naming those first characters lets the engine leave
# every other position at once, where the lookbehind alone was tried at each (the same matches, a quarter the time).
_PHONE = re.compile(
    r"(?=[+0(])(?:(?<![\w+/.-])(?:\+|00)[\d (). -]{9,22}\d(?![\w/])|(?<![\w+/.-])\(?0[\d (). -]{8,18}\d(?![\w/]))"
)
_PHONE_SELF = re.compile(
    r"(?i)(?:\b(?:call|ring|phone|text|whatsapp|contact|reach|get hold of|get me)\s+(?:me|us)\b|\bme\s+on\b"
    r"|\bmy\s+(?:[\w-]+\s+){0,2}?(?:number|no|line|mobile|phone|tel|cell|dial|contact)\b|\bmy number'?s\b"
    r"|\b(?:ddi|direct(?:\s+(?:line|dial|number|tel|no))?|work mobile|mob|mobile|m|t|tel|telephone|phone|home"
    r"|contact number|contact no)\b\.?\s*[:.|-]?\s*$)"
)
_PHONE_TEAM = re.compile(
    r"(?i)\b(?:team|switchboard|office|reception|main|general|helpline|help line|enquiries|enquiry line|service|"
    r"department|duty|front desk|fax|school|academy|hub|advice line|secretary|pa|assistant|colleague)\b[^\n]{0,25}$"
)
_PHONE_DIRECT = re.compile(r"(?i)\b(?:ddi|direct|mob|mobile|my)\b")
# The writer's own choice among their numbers: "Home X but mobile is best: Y", "Y (preferred)".
_PHONE_BEST = re.compile(r"(?i)\b(?:best|preferred|easiest|quickest)\b(?!\s+(?:wishes|regards))[^\n,;.]{0,20}$")
_PHONE_BEST_AFTER = re.compile(
    r"(?i)\s*(?:\(\s*(?:best|preferred|easiest|quickest)\b|[-,]?\s*(?:is|are|would be)\s+(?:the\s+)?"
    r"(?:best|easiest|preferred|quickest)\b)"
)
_PHONE_ASKED_OTHER = re.compile(
    r"(?i)\b(?:please\s+)?(?:call|ring|phone|contact)\s+(?:my\s+)?(?:husband|wife|partner)\b[^\n]{0,30}$"
)
# Long digit runs that are references, not numbers to ring.
_PHONE_NOT = re.compile(
    r"(?i)\b(?:ref(?:erence)?|case\s+(?:no|number|ref)|nhs(?:\s+no|\s+number)?|upn|uln|account|order|invoice"
    r"|claim|policy)\b[^\n]{0,15}$"
)
_PHONE_OTHER = re.compile(
    r"(?i)\b(?:her|his|their|parents?'?|parent\(s\)|mum'?s?|dad'?s?|mother'?s?|father'?s?|husband'?s?|wife'?s?|"
    r"partner'?s?|carer'?s?|grandparents?'?s?|(?:ms|mrs|mr|miss|dr)\.?\s+[\w-]+'s)\s+(?:[\w.]+\s+){0,2}?"
    r"(?:number|no|tel|phone|mobile|contact|mob)\b|\b(?:try|or)\s+(?:my\s+)?(?:husband|wife|partner|mum|dad|mother|"
    r"father|ex|[\w-]+'s)\b|\b(?:husband|wife|partner)\b|\bparents?(?:\(s\))?\s*(?:tel|phone|mobile|number|contact)"
)


def extract_phone(ctx: Context, role: str | None) -> tuple[str | None, Evidence | None]:
    """The best number to call the sender back on, as E.164 (whose number is whose depends on the role)."""
    cands: list[Candidate] = []
    seen_field_spans: set[tuple[str, int]] = set()
    preferred = _preferred_kinds(ctx)
    for f in ctx.fields_of("phone"):
        for cand in _phone_candidates(ctx, role, f.source, f.start, f.end, label=f.label):
            cand.score += _form_phone_bonus(f, role, preferred)
            cands.append(cand)
            seen_field_spans.add((f.source.name, cand.start))
    own_letters = {id(src) for src, _ in letters_signed_by_sender(ctx)}
    for src in ctx.sources:
        if src.name == "attachment" and id(src) in own_letters:
            pass  # a letter the sender wrote and signed: "please contact me on ..." is theirs, as in the body
        elif src.name in ("header", "subject", "attachment") or (src.name == "quoted" and not ctx.own_quote(src)):
            continue  # an attachment's numbers count only as a form's answers (a letter's are the council's)
        for cand in _phone_candidates(ctx, role, src, 0, len(src.norm)):
            if (src.name, cand.start) not in seen_field_spans:
                cands.append(cand)
    best = pick_best([c for c in cands if c.score > -50])
    if best is None:
        return None, None
    return str(best.value), evidence_at(best.value, best.src, best.start, best.end)


def _own_quote(ctx: Context, src: Source) -> bool:
    """Quoted text the sender wrote themselves (or whose writer is unknown), never ours or a third party's."""
    return not src.from_us and (not src.author or src.author == ctx.sender_email)


def _phone_candidates(
    ctx: Context, role: str | None, src: Source, a: int, b: int, label: str | None = None
) -> Iterator[Candidate]:
    for m in _PHONE.finditer(src.norm, a, b):
        number = to_e164(m.group())
        if number is None or number in ctx.own_phones or src.skipped(m.start()):
            continue
        line_start = src.norm.rfind("\n", 0, m.start()) + 1
        line_end = src.norm.find("\n", m.end())
        line = src.norm[line_start : line_end if line_end >= 0 else len(src.norm)]
        if any(pc in line for pc in ctx.own_postcodes):
            continue
        if src.name == "forwarded":
            author = src.part_sender(m.start())
            if author and ctx.sender_email and author.lower() != ctx.sender_email:
                continue  # a forwarded letter's numbers are its writer's (the council's), not the sender's
        score = {"body": 3.0, "forwarded": 3.0, "signature": 2.5, "quoted": 0.5, "attachment": 2.8}.get(src.name, 1.0)
        if label is not None:
            score += 1.0
            prefix = label + ": "
        else:
            prefix = _phone_prefix(src.norm, line_start, m.start())
        if _PHONE_NOT.search(prefix[-30:]):
            continue
        if _PHONE_SELF.search(prefix[-45:]):
            score += 2.0
            if role == "professional" and _PHONE_DIRECT.search(prefix[-30:]):
                score += 0.5  # "DDI"/"Mob" is the person; a bare "Tel" on a signature is often the office
        if _PHONE_BEST.search(prefix[-40:]) or _PHONE_BEST_AFTER.match(src.norm, m.end(), m.end() + 30):
            score += 2.5
        if ctx.documents_read and src.name in ("forwarded", "quoted"):
            score -= 0.5  # an earlier email's number: below an attached form's answer (body > form > earlier mail)
        if src.name == "body" and (
            _PHONE_NOW.search(prefix[-60:]) or _PHONE_NOW_AFTER.match(src.norm, m.end(), m.end() + 40)
        ):
            score += 8.0  # "please use my new number": what the sender says now overrides an older form
        if _PHONE_TEAM.search(prefix[-30:]):
            score -= 2.0
        if _PHONE_OTHER.search(prefix[-60:]):
            # Someone else's number: for a professional the parent's is never theirs to give as a call-back;
            # for a parent a partner's is the second choice, unless they ask us to ring the partner.
            if role == "professional":
                score -= 100.0
            elif _PHONE_ASKED_OTHER.search(prefix[-60:]):
                score += 2.0
            else:
                score -= 4.0
        yield Candidate(number, score, src, m.start(), m.end(), source_order(src, m.start()))


# The sender replacing a number given before (on a form, in an earlier email).
_PHONE_NOW = re.compile(r"(?i)\b(?:new|changed|instead|updated|latest|now\s+(?:on|use)|use\s+(?:this|my))\b")
# ... or saying so after the number: "please call me on 07700 900818 instead".
_PHONE_NOW_AFTER = re.compile(r"(?i)[ ,]*(?:instead|from now on|(?:as|which is) (?:my|the|our) new)\b")
# A form's "Best number to call: [X] Mobile" names which of its numbers is best.
_PREFERRED_LABEL = re.compile(r"(?i)\b(?:best|preferred|easiest|main)\b")
_PHONE_KINDS = ("mobile", "home", "work", "landline", "daytime", "evening")


def _preferred_kinds(ctx: Context) -> set[str]:
    """The kinds of number a form's ticked "best number" answer names (mobile, home, work...)."""
    found: set[str] = set()
    for f in ctx.fields_of("phone"):
        if f.source.name == "attachment" and _PREFERRED_LABEL.search(f.label):
            found.update(kind for kind in _PHONE_KINDS if kind in f.value.lower())
    return found


def _form_phone_bonus(f: FormField, role: str | None, preferred: set[str]) -> float:
    """An attached form's phone answer: whose it is by its section, best by the ticked preference."""
    if f.source.name != "attachment":
        return 0.0
    bonus = 0.0
    label = f.label.lower()
    if preferred and any(kind in label for kind in preferred):
        bonus += 3.0
    if f.section == "referrer" or re.search(r"(?i)\b(?:your|referrer'?s?)\b", label):
        bonus += 1.5 if role == "professional" else 0.5
    elif f.section == "parent" or re.search(r"(?i)\b(?:parents?|carers?|guardian|mum|dad|mother|father)\b", label):
        bonus += -100.0 if role == "professional" else 1.0  # a professional's call-back is never the parent's
    elif f.section == "child" and role not in ("young_person", None):
        bonus -= 3.0  # a young person's own number under "The child": not the parent's to call
    return bonus


def _phone_prefix(norm: str, line_start: int, pos: int) -> str:
    """The words leading to a number: its line, or the sentence before when the number stands alone."""
    prefix = norm[max(line_start, pos - 120) : pos]
    # Cut at an earlier number on the same line, so "call me on X, or try my husband on Y" splits.
    earlier = list(_PHONE.finditer(prefix))
    if earlier:
        prefix = prefix[earlier[-1].end() :]
    if not prefix.strip(" |:-"):
        # Label on the line before a table cell ("Parent tel.\n| +44 ...", "Parent tel.\n\n+44 ...").
        before = norm[max(0, line_start - 120) : line_start].rstrip()
        prefix = before[before.rfind("\n") + 1 :].strip() + ": " + prefix
    return prefix
