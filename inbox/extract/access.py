"""Access needs: an interpreter (and the language), online or in person, hearing, text not calls,
wheelchair access, BSL, accessible documents, adjustments for autism."""

from __future__ import annotations

import re
from collections.abc import Callable

from inbox.extract.context import Context
from inbox.extract.evidence import evidence_at, word_set
from inbox.gated import Gated
from inbox.referral import Evidence

_LANGUAGES = word_set(
    "Albanian Amharic Arabic Bengali Bulgarian Cantonese Chinese Czech Dari Farsi French German Greek Gujarati "
    "Hindi Hungarian Italian Kurdish Latvian Lithuanian Malayalam Mandarin Nepali Pashto Persian Polish Portuguese "
    "Punjabi Romanian Russian Slovak Somali Spanish Swahili Sylheti Tagalog Tamil Telugu Tigrinya Turkish Twi "
    "Ukrainian Urdu Vietnamese Welsh Yoruba Igbo Lingala Estonian Makaton BSL"
)
_LANG_RX = r"(?P<lang>" + "|".join(sorted(_LANGUAGES, key=lambda w: (-len(w), w))) + r"|British Sign Language)"
_ACCESS: tuple[tuple[Callable[[re.Match[str]], str], Gated], ...] = (
    (lambda m: f"interpreter: {_lang(m)}", Gated(
        r"(?i)\b" + _LANG_RX + r"\s+(?:speaking\s+)?(?:interpreter|translator|speaker)"
        r"|\binterpret\w*\s+(?:in|for|into)\s+"
        + _LANG_RX.replace("lang>", "lang2>") + r"|\b(?:first|home|main|only)\s+language\s+is\s+"
        + _LANG_RX.replace("lang>", "lang3>") + r"|\b(?:speaks?|speak\s+only)\s+" + _LANG_RX.replace("lang>", "lang4>")
        + r"\s+only\b",
        ("interpret", "translat", "speaker", "language", "speak"))),
    (lambda m: "interpreter", Gated(r"(?i)\b(?:need|needs|require|requires|would like|with)\s+(?:an?\s+)?"
                                         r"(?:interpreter|translator)|\benglish\s+is\s+not\s+(?:my|our|his|her|their)"
                                         r"\s+first\s+language|\b(?:limited|little|no)\s+english\b",
        ("interpret", "translat", "english"))),
    (lambda m: "online preferred", Gated(
        r"(?i)(?=[opv])(?:\bonline\s+(?:preferred|please|if possible|would be (?:best|better|easier))"
        r"|\bprefer\w*\s+(?:\w+\s+){0,6}?"
        r"(?:online|video|teams|zoom|virtual)|\b(?:online|virtual|video)\s+(?:meeting|session"
        r"|mediation)\s+(?:would be|is)"
        r"\s+(?:best|better|easier|preferred))",
        ("online", "video", "teams", "zoom", "virtual"))),
    (lambda m: "in person preferred", Gated(
        r"(?i)\bprefer\w*\s+(?:\w+\s+){0,6}?(?:in\s+person|face\s+to\s+face|face-to-face)|\b(?:in\s+person|face[\s-]to"
        r"[\s-]face)\s+(?:preferred|please|if possible)",
        ("person", "face"))),
    (lambda m: "hearing impairment: text not calls", Gated(
        r"(?i)(?=[istw])(?:\b(?:i'?m|i\s+am|i\s+have\s+(?:a\s+)?)\s*(?:deaf|hard\s+of\s+hearing|hearing\s+impair\w*)"
        r"[\s\S]{0,300}?"
        r"\b(?:text|whatsapp|email|sms)\b|\b(?:text|whatsapp|sms)\b[^.\n]{0,80}(?:don'?t|do not|can'?t"
        r"|cannot)\s+(?:\w+\s+)?"
        r"(?:like|do|use|manage|hear)\s+(?:\w+\s+)?(?:phone\s+)?calls[^.\n]{0,40}\bhearing)",
        ("deaf", "hearing"))),
    (lambda m: "hearing impairment", Gated(
        r"(?i)(?=[i])(?:\b(?:i'?m|i\s+am|i\s+have\s+(?:a\s+)?)\s*(?:deaf|hard\s+of\s+hearing|hearing\s+impair\w*))",
        ("deaf", "hearing"))),
    (lambda m: "text not calls", Gated(
        r"(?i)(?=[cdestw])(?:\b(?:text|whatsapp|sms|email)\s+(?:me\s+)?(?:only|rather than|instead of|not)\b"
        r"|\b(?:don'?t|do not|can'?t|cannot)\s+(?:really\s+)?(?:like|do|manage|take|answer)\s+(?:phone\s+)?calls)",
        ("text", "whatsapp", "sms", "email", "calls"))),
    (lambda m: "wheelchair access", Gated(
        r"(?i)\bwheelchair|\bstep-free\b|\bground floor\b", ("wheelchair", "step-free", "ground floor"))),
    (lambda m: "BSL interpreter", Gated(r"(?i)\bBSL\b|\bBritish Sign Language\b", ("bsl", "sign language"))),
    (lambda m: "large print / accessible documents", Gated(
        r"(?i)\blarge\s+print\b|\bscreen\s+reader\b|\bbraille\b", ("large print", "screen reader", "braille"))),
    (lambda m: "adjustments: autism", Gated(
        r"(?i)\b(?:i'?m|i\s+am)\s+autistic\b|\bi\s+have\s+(?:autism|asd)\b", ("autis", "asd"))),
)  # fmt: skip


def _lang(m: re.Match[str]) -> str:
    for g in ("lang", "lang2", "lang3", "lang4"):
        value = m.groupdict().get(g)
        if value:
            return "BSL" if value.lower() in ("bsl", "british sign language") else value.title()
    return "unknown"


def extract_access_needs(ctx: Context) -> tuple[list[str], dict[str, Evidence]]:
    needs: list[str] = []
    evidence: dict[str, Evidence] = {}
    for src in ctx.by_name("body", "forwarded", "subject"):
        for describe, rx in _ACCESS:
            m = src.search(rx)
            if not m or src.skipped(m.start()):
                continue
            need = describe(m)
            if need in needs or any(n.startswith(need) for n in needs):
                continue
            needs.append(need)
            evidence[f"access_needs/{need}"] = evidence_at(need, src, m.start(), m.end())
    if "BSL interpreter" in needs and "interpreter: BSL" in needs:
        needs.remove("BSL interpreter")
    # The combined "hearing impairment: text not calls" says both halves already.
    if "hearing impairment: text not calls" in needs:
        needs = [n for n in needs if n not in ("hearing impairment", "text not calls")]
    evidence = {k: v for k, v in evidence.items() if k.partition("/")[2] in needs}
    return needs, evidence
