"""Who is writing: the young person, a family member, or a professional for a family."""

from __future__ import annotations

import re

from inbox.extract.context import Context, letters_signed_by_sender
from inbox.extract.evidence import Candidate, add_score, evidence_at
from inbox.extract.names import clean_display_name
from inbox.extract.sources import Source
from inbox.gated import Gated
from inbox.referral import Evidence

_JOB_TITLE = re.compile(
    r"(?i)\b(?:senco|sendco|sen(?:d)?\s+(?:officer|caseworker|case officer|coordinator|co-ordinator|manager|lead"
    r"|advisor|adviser|practitioner)|case\s?worker|casework officer|social worker|family support worker|advocate"
    r"|sendiass|\biass\b|parent partnership|educational psychologist|head\s?teacher|head of|deputy head"
    r"|assistant head|principal|inclusion (?:manager|lead|officer|coordinator)|teacher|key\s?worker|support worker"
    r"|officer|practitioner|therapist|nurse|paediatrician|consultant|manager|co-?ordinator|adviser|advisor"
    r"|solicitor|paralegal|clinician|psychologist|director|team leader|specialist)\b"
)
_ROLE_CUES: tuple[tuple[str, float, Gated], ...] = (
    ("young_person", 3.0, Gated(
        r"(?i)(?=[i])(?:\b(?:i'?m|i am|im)\s+(?:now\s+|aged\s+|only\s+)?(?:1[6-9]|2[0-5])\b"
        r"(?!\s*(?:minutes|mins|hours|hrs|weeks|months|days|miles|%|:|\.\d|am|pm|years? old (?:son|daughter)))"
        r"|\b(?:i'?m|i am)\s+a\s+young\s+(?:person|adult)\b"
        # the age said in words, as a voicemail transcript writes it
        r"|\b(?:i'?m|i am|im)\s+(?:now\s+|aged\s+|only\s+)?(?:sixteen|seventeen|eighteen|nineteen"
        r"|twenty(?:[\s-](?:one|two|three|four|five))?)\b"
        r"(?!\s+(?:minutes|weeks|months|days|miles|years? old (?:son|daughter))))",
        ("i'm", "i am", "im "))),
    ("young_person", 2.0, Gated(
        r"(?i)(?=[ailmnrw])(?:\bmy\s+(?:own\s+|new\s+|draft\s+|final\s+|current\s+)?(?:ehcp|ehc\s+plan|e\.h\.c\.p)\b"
        r"|\bi\s+(?:have|'ve got|have got|got)\s+(?:an?\s+)?(?:ehcp|ehc\s+plan)\b"
        r"|\b(?:ask|apply|request|refer|want|like|need)\w*\s+(?:for\s+)?(?:mediation\s+)?(?:for\s+)?myself\b)",
        ("my ", "i have", "i've", "i got", "myself"))),
    ("young_person", 1.0, Gated(
        r"(?i)(?=[m])(?:\bmy\s+(?:mum|mom|dad|mother|father|parents|carer|foster\s+carer|aunt|college|course"
        r"|apprenticeship|careers\s+adviser|tutor)\b)",
        "my ")),
    ("parent", 3.0, Gated(
        r"(?i)(?=[mo])(?:\b(?:my|our)\s+(?:[\w-]+\s+){0,2}?(?:son|daughter|child|children|grandson|granddaughter|stepson"
        r"|stepdaughter|step-son|step-daughter|boy|girl|twins|kids?|little one|foster\s+(?:son|daughter|child)"
        r"|grandchild)\b)",
        ("my ", "our "))),
    ("parent", 3.0, Gated(
        r"(?i)(?=[(adfim])(?:\b(?:i'?m|i am)\s+(?:his|her|their|[\w-]+'s)\s+(?:mum|mom|dad|mother|father|parent|carer"
        r"|grandmother|grandfather|nan|gran|grandma|grandad|special guardian|guardian|foster carer|step-?mum"
        r"|step-?dad|aunt|uncle)\b"
        r"|\(\s*[\w-]+'s\s+(?:mum|mom|dad|mother|father|carer|nan|gran|grandma|grandad|grandmother|grandfather"
        r"|guardian|special guardian)\s*\)|\bi\s+(?:am|'m)\s+(?:a\s+|the\s+)?(?:special guardian|kinship carer"
        r"|foster carer|parent|carer)\b|\bi\s+have\s+parental responsibility\b|\bas\s+(?:a\s+)?parents?\b"
        r"|\b(?:mum|mom|dad|mother|father)\s+(?:to|of)\s+[A-Z])",
        ("i'm", "i am", "'s", "as a parent", "as parent", "parental", "mum ", "mom ", "dad ", "mother ", "father "))),
    ("professional", 3.0, Gated(
        r"(?i)(?=[iow])(?:\b(?:i\s+am|i'm|i\s+work\s+as)\s+(?:the|a|an|one of the)\s+(?:[\w-]+\s+){0,3}?(?:senco"
        r"|sendco|officer|caseworker|case worker|social worker|advocate|teacher|worker|adviser|advisor|co-?ordinator"
        r"|manager|head|practitioner|therapist|nurse|psychologist|solicitor|health\s+visitor|paediatrician|doctor|gp)\b"
        r"|\bon\s+behalf\s+of\b|\bwriting\s+from\b"
        r"|\b(?:i\s+am|i'm)\s+[\w-]+'s\s+(?:[\w-]+\s+){0,2}?(?:senco|social worker|key\s?worker|advocate|teacher"
        r"|case\s?worker|support worker|therapist|nurse|psychologist|paediatrician|officer|advisor|adviser)\b)",
        ("i am", "i'm", "i work", "behalf", "writing from"))),
    # "this is David from Sandwell SEND team calling to refer a family": a caller named by their workplace.
    ("professional", 2.5, Gated(
        r"(?i)(?=[ciprtw])(?:\b(?:calling|ringing|phoning|writing|this\s+is\s+[\w'-]+|it'?s\s+[\w'-]+)\s+from\s+"
        r"(?:the\s+)?(?:[\w'&-]+\s+){0,4}?(?:team|service|services|department|council|school|academy|primary|nursery"
        r"|college|hospital|clinic|trust|sendiass|iass|camhs)\b)",
        "from", anchor=r"\bfrom\b", reach=(30, 70))),
    ("professional", 2.0, Gated(
        r"(?i)(?=[for])(?:\b(?:for|on\s+behalf\s+of|refer(?:ring)?)\s+a\s+(?:family|parent|mum|dad|mother|father"
        r"|young\s+person|pupil|student|learner|client)\b)",
        ("for a", "of a", "refer"))),
    ("professional", 2.0, Gated(
        r"(?i)(?=[doprw])(?:\b(?:our|one of our)\s+(?:students?|pupils?|learners?|young people|families|clients?"
        r"|service users?|cases?)\b|\bparents?\s+(?:have|has)\s+(?:given\s+)?consent\w*"
        r"|\bwith\s+(?:the\s+)?(?:parents?'?|family'?s?|mum'?s?|dad'?s?)\s+(?:full\s+)?consent"
        r"|\bplease find (?:below|attached) (?:a|the|my|our) (?:[\w-]+\s+)?referral"
        r"|\b(?:refer(?:ring)?|referral for)\s+(?:her|him|them|the family|this family|mum|dad"
        r"|(?:ms|mrs|mr|miss|dr)\.?\s+\w+)\b|\b(?:ddi|direct line|direct dial)\b)",
        ("our ", "consent", "please find", "refer", "ddi", "direct line", "direct dial"))),
    ("professional", 1.0, Gated(r"(?i)(?=[t])(?:\bthe\s+(?:family|parents|mother|father|child's parents)\b)", "the ")),
)  # fmt: skip
_PRO_DOMAIN = re.compile(r"(?i)(?:\.gov\.uk|\.nhs\.(?:uk|net)|\.sch\.uk|\.police\.uk|sendiass|iass|council)$|sendiass")
_FORM_ROLE = (
    ("young_person", re.compile(r"(?i)\byoung person\b|\bstudent\b|\bmyself\b")),
    (
        "professional",
        re.compile(
            r"(?i)\bprofessional|\bsenco\b|\bschool\b|\bofficer\b|\bworker\b|\bpractitioner|\bsendiass"
            r"|\badvocate\b|\bcase ?worker\b|\badvis[eo]r\b|\bteacher\b|\bcoordinator\b|\bnurse\b"
            r"|\btherapist\b|\bpsychologist\b|\bpaediatrician\b"
        ),
    ),
    ("parent", re.compile(r"(?i)\bparent|\bcarer|\bguardian|\bmum\b|\bdad\b|\bmother|\bfather|\bgrand")),
)


_YES = re.compile(r"(?i)\s*yes\b")


def extract_role(ctx: Context) -> tuple[str, Evidence | None]:
    """Who is writing: the young person, a family member, or a professional for a family."""
    for f in ctx.fields_of("role"):
        # "Are you the young person? Yes": the question names the role, the answer says it is so.
        said = f.label if _YES.match(f.value) and _FORM_ROLE[0][1].search(f.label) else f.value
        for role, rx in _FORM_ROLE:
            if rx.search(said):
                return role, evidence_at(role, f.source, f.start, f.end)
    own = _sender_on_form(ctx) or _referrer_on_form(ctx)
    if own is not None:
        return own
    scores = {"parent": 0.0, "young_person": 0.0, "professional": 0.0}
    hits: dict[str, Candidate] = {}
    for src in ctx.by_name("body", "forwarded", "subject", "signature", "quoted"):
        if src.name == "quoted" and not (src.author and ctx.own_quote(src)):
            continue  # an earlier message counts only when the sender wrote it
        factor = 0.5 if src.name == "quoted" else 1.0
        for role, weight, cue in _ROLE_CUES:
            for m in src.finditer(cue):
                if src.skipped(m.start()):
                    continue
                if ctx.documents_read and m.group().lower().startswith("please find"):
                    continue  # with the form read, "please find attached our referral" says only that it is attached
                add_score(scores, hits, role, weight * factor, src, m.start(), m.end())
    for src, signed_at in letters_signed_by_sender(ctx):
        for role, weight, cue in _ROLE_CUES:
            for m in src.finditer(cue):
                add_score(scores, hits, role, weight, src, m.start(), m.end())
        line_end = src.norm.find("\n", signed_at)
        signed = src.norm[signed_at : line_end if line_end >= 0 else len(src.norm)]
        if len(signed) <= 90 and _JOB_TITLE.search(signed):  # "Naomi Pierce, Senior Advocate"
            add_score(scores, hits, "professional", 3.0, src, signed_at, signed_at + len(signed))
    said_professional = scores["professional"]  # what the words say, before titles and domains
    for src in ctx.by_name("body", "forwarded", "signature"):
        title = _signoff_title(src)
        if title:
            add_score(scores, hits, "professional", 3.0, src, *title)
    if _PRO_DOMAIN.search(ctx.sender_email.rpartition("@")[2]):
        header = ctx.by_name("header")
        if header:
            add_score(scores, hits, "professional", 1.5, header[0], 0, len(header[0].text))
    role = max(scores, key=lambda r: (scores[r], r == "parent"))
    if scores[role] <= 0:
        return "parent", None  # a person writing about a child with no other cue: a family member
    if role != "parent" and scores["parent"] >= scores[role]:
        role = "parent"
    if role == "professional" and said_professional < 2.0 and scores["parent"] >= 3.0:
        # "my son" from a work address signed "Teacher, Oak Primary": a parent writing from work.
        role = "parent"
    hit = hits.get(role)
    return role, (evidence_at(role, hit.src, hit.start, hit.end) if hit else None)


def _sender_on_form(ctx: Context) -> tuple[str, Evidence] | None:
    """An attached form names the sender as the parent ("Parent/carer details / Name: Sarah Nolan") and
    has no referrer of its own: a parent sending their own form, whatever the covering note's wording."""
    if not ctx.sender_name or any(f.source.name == "attachment" for f in ctx.fields_of("referrer_name")):
        return None
    sender = set(clean_display_name(ctx.sender_name).lower().split())
    for f in ctx.fields_of("parent_name"):
        if f.source.name == "attachment" and len(sender & set(f.value.lower().split())) >= min(2, len(sender)):
            return "parent", evidence_at("parent", f.source, f.start, f.end)
    return None


def _referrer_on_form(ctx: Context) -> tuple[str, Evidence] | None:
    """An attached form whose referrer section names the sender, apart from the parent's section: a
    professional referring a family ("Referrer / Name: Ola Nwosu", then "Family / Parent name: ...")."""
    if not ctx.sender_name or not any(f.source.name == "attachment" for f in ctx.fields_of("parent_name")):
        return None
    sender = set(clean_display_name(ctx.sender_name).lower().split())
    for f in ctx.fields_of("referrer_name"):
        if (
            f.source.name == "attachment"
            and f.section == "referrer"
            and len(sender & set(f.value.lower().split())) >= min(2, len(sender))
        ):
            return "professional", evidence_at("professional", f.source, f.start, f.end)
    return None


def _signoff_title(src: Source) -> tuple[int, int] | None:
    """The line with a job title after a sign-off ("Senior SEND Officer | London Borough of X")."""
    if src.name == "signature":
        zone_start = 0
    elif src.signoff < len(src.norm):
        zone_start = src.signoff
    else:
        return None
    for line in re.finditer(r"[^\n]+", src.norm[zone_start:]):
        text = line.group()
        if len(text) <= 90 and text.count(" ") <= 12 and _JOB_TITLE.search(text):
            return zone_start + line.start(), zone_start + line.end()
    return None
