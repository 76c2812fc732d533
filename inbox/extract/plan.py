"""The EHC plan and the dispute: whether a plan exists, and the dispute topics the email raises."""

from __future__ import annotations

import re

from inbox.extract.context import Context
from inbox.extract.evidence import evidence_at
from inbox.extract.service import SETTING_FAILS, SETTING_SHOULD
from inbox.gated import Gated
from inbox.referral import Evidence

_EHCP_YES = Gated(
    r"(?i)\b(?:has|have|with|got|holds?|her|his|their|my|our|the|current|existing|final|amended|[\w-]+'s)\s+"
    r"(?:an?\s+)?(?:ehcp|ehc\s+plan|education,?\s+health\s+and\s+care\s+plan|statement)\b"
    r"(?!\s+(?:assessment|needs assessment|application|request))"
    r"|\bannual\s+review\b|\bsections?\s+[a-k]\b|\b(?:cease|ceasing)\b"
    r"|\bplan\s+(?:was|has been|is)\s+(?:finalised|issued|maintained|transferred|amended)"
    r"|\b(?:her|his|their|my|[\w-]+'s)\s+(?:current\s+|existing\s+|final\s+|amended\s+|new\s+)?plan\b",
    ("ehc", "annual review", "section", "plan", "ceas", "statement"),
)
# Said outright that there is no plan (a refusal to assess or issue says it too, through the topics).
_EHCP_NO = Gated(
    r"(?i)(?=[adghnorw])(?:\b(?:no|without\s+an?|doesn'?t\s+have\s+an?|does\s+not\s+have\s+an?|hasn'?t\s+got\s+an?"
    r"|not\s+got\s+an?)\s+(?:ehcp|ehc\s+plan|plan)\b|\b(?:on|at|receiving|gets?)\s+sen\s+support\b)",
    ("ehc", "plan", "sen support"),
)
_NO_PLAN_TOPICS = ("refusal_to_assess", "refusal_to_issue")
_YES_NO = re.compile(r"(?i)^\s*(yes|no)\b")


def extract_has_ehc_plan(ctx: Context, topic_evidence: dict[str, Evidence]) -> tuple[bool | None, Evidence | None]:
    """Whether an EHC plan exists: a refusal to assess or issue means not yet, whatever else is said of plans."""
    for topic in _NO_PLAN_TOPICS:
        ev = topic_evidence.get(f"dispute_topics/{topic}")
        if ev is not None:
            return False, Evidence(False, ev.source, ev.start, ev.end, ev.snippet, ev.file)
    for f in ctx.fields_of("plan"):  # an attached form's "Does the child have an EHC plan? Yes [X]"
        answer = _YES_NO.match(f.value)
        if answer:
            value = answer.group(1).lower() == "yes"
            return value, evidence_at(value, f.source, f.start, f.end)
    for rx, value in ((_EHCP_YES, True), (_EHCP_NO, False)):
        for src in ctx.by_name("body", "forwarded", "subject", "quoted", "attachment"):
            m = src.search(rx)
            if m and not src.skipped(m.start()):
                return value, evidence_at(value, src, m.start(), m.end())
    return None, None


# A lookahead at the start of a refusal's alternation ("(?=[dnrw])") names its branches' first letters: the
# engine leaves every other position at once instead of trying each branch there (the same matches, sooner).
_TOPICS: tuple[tuple[str, Gated], ...] = (
    ("refusal_to_reassess", Gated(
        r"(?i)(?=[dnrw])(?:\b(?:refus\w*|declin\w*|decided\s+not|won'?t|will\s+not|not)\s+(?:to\s+)?re-?assess\w*"
        r"|\bre-?assessment\b[^.\n]{0,40}\b(?:refused|declined|turned down))",
        "assess")),
    ("refusal_to_assess", Gated(
        r"(?i)(?=[denrstw])(?:\b(?:refus\w*|declin\w*|decided\s+not|won'?t|will\s+not|not|turned\s+down)\s+(?:to\s+)?(?:carry\s+out\s+"
        r"an?\s+|do\s+an?\s+|undertake\s+an?\s+|agree\s+to\s+an?\s+)?(?:ehc\s+|ehcp\s+|statutory\s+)?(?:needs\s+)?"
        r"assess(?!ment\s+(?:report|advice))\w*|\b(?:ehcp?|ehc|needs|statutory)\s+assessment\s+(?:request\s+)?"
        r"(?:was\s+|has\s+been\s+)?(?:refused|declined|turned down|rejected)"
        r"|\b(?:turned\s+down|refused|rejected|declined|said\s+no\s+to)\s+(?:our|my|the|a|an|her|his|their)\s+"
        r"(?:\w+\s+){0,2}?(?:request|application|referral)\s+for\s+(?:an?\s+)?(?:ehc\w*\s+)?(?:needs\s+)?assessment"
        r"|\behcna\b[^.\n]{0,30}\b(?:refused|turned down|rejected|declined))",
        ("assess", "ehcna"))),
    ("refusal_to_issue", Gated(
        r"(?i)(?=[cdnrw])(?:\b(?:refus\w*|declin\w*|decided\s+not|won'?t|will\s+not|not)\s+(?:to\s+)?(?:be\s+)?(?:issu\w*|prepar\w*|"
        r"produc\w*|writ\w*|mak\w*)\s+(?:an?\s+)?(?:ehcp|ehc\s+plan|plan|idp)\b|\bnot\s+to\s+issue\b"
        r"|\b(?:needs\s+can\s+be\s+"
        r"met|can\s+be\s+met)\s+(?:by|at|within|through|from)\s+(?:\w+\s+){0,2}?(?:school|sen\s+support|existing))",
        ("issu", "prepar", "produc", "writ", "mak", "met "))),
    ("section_b", Gated(r"(?i)\bsections?\s+b\b", "section")),
    ("section_f", Gated(
        r"(?i)(?=[chrs])(?:\bsection\s+f\b|\bsections\s+[b-i](?:\s*(?:,|and|&)\s*[b-i])*\s*(?:,|and|&)\s*f\b"
        r"|\b(?:cut|reduc\w*|remov\w*|halv\w*)\b[^.\n]{0,40}\b(?:1:1|one-to-one|hours|support|therapy|provision|ta\b))",
        ("section", "cut", "reduc", "remov", "halv"))),
    ("section_i", Gated(
        r"(?i)(?=[ns])(?:\bsection\s+i\b|\bsections\s+[b-h](?:\s*(?:,|and|&)\s*[b-h])*\s*(?:,|and|&)\s*i\b"
        r"|\bnam(?:ed|es|ing)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,4}?(?:school|college|placement|secondary|primary|academy)"
        r"|\bschool\s+named\b)",
        ("section", "nam"))),
    ("refusal_to_amend", Gated(
        r"(?i)\b(?:refus\w*|declin\w*|decided\s+not|won'?t|will\s+not|not)\s+(?:to\s+)?amend\w*|\bplan\s+will\s+stay\s+"
        r"(?:as\s+it\s+is|the\s+same)",
        ("amend", "stay"))),
    ("cease_plan", Gated(
        r"(?i)\bceas(?:e|ed|ing)\b[^.\n]{0,40}\b(?:plan|ehcp|maintain)|\b(?:plan|ehcp)\b[^.\n]{0,80}\bceas(?:e|ed"
        r"|ing)\b",
        "ceas")),
    ("health", Gated(
        r"(?i)(?=[chis])(?:\bsections?\s+[cg]\b|\bhealth\s+(?:provision|needs|element|section|commissioner)\b"
        r"|\b(?:icb|ccg)\b)",
        ("section", "health", "icb", "ccg"))),
    ("social_care", Gated(
        r"(?i)(?=[rs])(?:\bsections?\s+[dh]\b|\bsocial\s+care\s+(?:provision|needs|element|section)\b"
        r"|\bshort\s+breaks\b|\brespite\b)",
        ("section", "social care", "short breaks", "respite"))),
    ("school_duties", SETTING_FAILS),
    ("school_duties", SETTING_SHOULD),
    ("la_health_disagreement", Gated(
        r"(?i)\b(?:la|council|local authority)\s+and\s+(?:the\s+)?(?:health|icb|ccg|nhs)\b[^.\n]{0,60}"
        r"\b(?:disagree|dispute|won'?t agree|can'?t agree)|\bhealth\s+commissioner\b",
        "health")),
)  # fmt: skip


def extract_topics(ctx: Context) -> tuple[list[str], dict[str, Evidence]]:
    topics: list[str] = []
    evidence: dict[str, Evidence] = {}
    for src in ctx.by_name("body", "forwarded", "subject", "quoted", "attachment"):
        for topic, rx in _TOPICS:
            if topic in topics:
                continue
            m = src.search(rx)
            if m and not src.skipped(m.start()):
                topics.append(topic)
                evidence[f"dispute_topics/{topic}"] = evidence_at(topic, src, m.start(), m.end())
    if "refusal_to_reassess" in topics and "refusal_to_assess" in topics:
        topics.remove("refusal_to_assess")  # "refused to re-assess" also reads as "...assess"
        evidence.pop("dispute_topics/refusal_to_assess")
    order = {t: i for i, (t, _) in enumerate(_TOPICS)}
    topics.sort(key=lambda t: order[t])
    return topics, evidence
