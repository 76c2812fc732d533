"""The child's school or setting, by name."""

from __future__ import annotations

import re

from inbox.extract.context import Context
from inbox.extract.evidence import evidence_at, word_set
from inbox.extract.names import NOT_NAMES
from inbox.referral import Evidence

_SCHOOL = re.compile(
    r"\b(?P<name>(?:(?:St\.?|Saint|The|[A-Z][\w'-]*|of|the|and|&|C of E|CE|RC|Church of England|Catholic)\s+){1,6}"
    r"(?:Primary School|Secondary School|Junior School|Infant School|Infants School|High School|Grammar School"
    r"|Free School|Special School|School|Academy|College|Nursery|Primary|Infants|Juniors|Federation))\b"
)
# Every match of _SCHOOL ends in one of these words, written so (the pattern is case-sensitive): a text holding
# none of them has no school's name, and a substring test is far cheaper than the pattern's scan (which tries
# every capitalised word as the start of a name).
SCHOOL_LAST_WORDS = ("School", "Academy", "College", "Nursery", "Primary", "Infants", "Juniors", "Federation")
_SCHOOL_NOT = re.compile(
    r"(?i)^(?:the\s+)?(?:a|an|my|our|his|her|their|this|that|new|local|current|mainstream|special"
    r"|specialist|independent|secondary|primary|infant|junior|fe|sixth form)\b"
)


_SCHOOL_WORDS = word_set(
    "the of and & c e ce rc school academy college nursery primary secondary junior juniors infant infants high "
    "grammar free special federation church england catholic"
)


def extract_school(ctx: Context) -> tuple[str | None, Evidence | None]:
    for f in ctx.fields_of("school"):
        value = f.value.strip(" .")
        if value and not re.match(r"(?i)^(?:n/?a|none|not known|unknown|-)$", value):
            return value, evidence_at(value, f.source, f.start, f.end)
    for src in ctx.by_name("body", "forwarded", "subject", "signature", "attachment"):
        if not any(word in src.norm for word in SCHOOL_LAST_WORDS):
            continue
        for m in _SCHOOL.finditer(src.norm):
            name = m.group("name").strip()
            words = name.split()
            # Drop sentence words caught before the name ("At Brookfield Academy" -> "Brookfield Academy").
            while words and (words[0].lower() in NOT_NAMES - {"the"} or words[0] in ("of", "and", "&")):
                words.pop(0)
            if not any(w.lower() not in _SCHOOL_WORDS for w in words) or _SCHOOL_NOT.match(" ".join(words)):
                continue  # "The School", "Primary School": a kind of school, not one school's name
            name = " ".join(words)
            if src.skipped(m.start()):
                continue
            start = m.end("name") - len(name)
            return name, evidence_at(name, src, start, m.end("name"))
    return None, None
