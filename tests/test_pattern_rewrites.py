"""Patterns made cheaper without changing a match.

Those that start with a lookahead naming their branches' first characters, `(?i)(?=[abc])(?:...)`, find
exactly what the pattern without it finds: the lookahead only lets the engine leave every other position
at once. Each such pattern of the project is found, its lookahead taken off (what it was
written as before), and both are run over tricky texts: its own words in both cases, the characters
re.IGNORECASE equates with ASCII letters (İ, ı, ſ, the Kelvin sign), apostrophes, brackets, line breaks;
and the text of the shared corpus and samples when they are here. A first character left out of the
lookahead, or a branch that may start otherwise, makes them disagree."""

from __future__ import annotations

import random
import re

import pytest

from inbox.gated import Gated
from tests.inbox_values import inbox_values

# Inline flags, the lookahead's class, then the pattern it guards as one non-capturing group.
_SHAPE = re.compile(r"(\(\?[aiLmsux]+\))?\(\?=\[([^\]]+)\]\)\(\?:(.*)\)\s*", re.DOTALL)


def _project_patterns() -> list[re.Pattern[str]]:
    """Every compiled pattern the inbox modules hold, alone, in a Gated, or in their tables."""
    found: dict[int, re.Pattern[str]] = {}
    for value in inbox_values():
        if isinstance(value, Gated):
            found[id(value.rx)] = value.rx
            if value.anchor is not None:
                found[id(value.anchor)] = value.anchor
        elif isinstance(value, re.Pattern) and isinstance(value.pattern, str):
            found[id(value)] = value
    return list(found.values())


def _with_lookahead() -> list[tuple[re.Pattern[str], str]]:
    """(pattern, its source without the lookahead) for each pattern of that shape."""
    out = []
    for rx in _project_patterns():
        m = _SHAPE.fullmatch(rx.pattern)
        if m:
            out.append((rx, (m.group(1) or "") + m.group(3)))
    return out


# What in a pattern's source is not a word of it: escapes (\s, \b, \w...) and flags.
_ESCAPES = re.compile(r"\\[A-Za-z]|\(\?[aiLmsux]+\)")


def _tricky_texts(rx: re.Pattern[str], rng: random.Random, count: int) -> list[str]:
    """Runs of the pattern's own words in the order it spells them (so that its phrases occur, each
    branch's first word included), mixed with single words in any case and the tricky characters."""
    in_order = re.findall(r"[A-Za-z']+", _ESCAPES.sub(" ", rx.pattern))
    words = sorted(set(in_order))
    pieces = [*words, *(w.title() for w in words), *(w.upper() for w in words[::5])]
    # re.IGNORECASE's non-ASCII equivalents of ASCII letters, in words and alone.
    pieces += ["\u0130", "\u0131", "\u017f", "\u212a", "\u0130'm", "\u0131'm", "\u017fection", "\u212aids", "I'M"]
    pieces += ["(", ")", "'s", "\u2019", "-", ".", ",", ":", "?", "|", "\u00b7", "12", "17", "x", "A", "Z"]
    pieces += ["+44", "0044", "(0161)", "07700", "900123", "0", "00", "+", "/", "@", "1 2 3 4 5 6 7 8 9 0"]
    seps = [" ", " ", " ", "", "\n", "  ", "\t", "-", "'"]
    texts = []
    for _ in range(count):
        parts: list[str] = []
        while len(parts) < rng.randint(1, 30):
            if in_order and rng.random() < 0.5:
                # A path through the pattern: from one of its words, each later word taken or left
                # (an optional group, another branch of an alternation).
                at, keep = rng.randrange(len(in_order)), rng.choice((0.2, 0.4, 0.6, 0.8))
                path = [in_order[at], *(w for w in in_order[at + 1 : at + 16] if rng.random() < keep)]
                parts.append(" ".join(w.upper() if rng.random() < 0.1 else w for w in path))
            else:
                parts.append(rng.choice(pieces))
        texts.append("".join(p + rng.choice(seps) for p in parts))
    return texts


def _found(rx: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
    return [(m.span(), m.groups()) for m in rx.finditer(text)]


def _compilations(rx: re.Pattern[str], original: str) -> list[tuple[re.Pattern[str], re.Pattern[str]]]:
    flags = rx.flags & ~re.UNICODE
    return [
        (re.compile(rx.pattern, flags), re.compile(original, flags)),
        (re.compile(rx.pattern, flags | re.ASCII), re.compile(original, flags | re.ASCII)),  # the ASCII twins
    ]


# A phrase for each first character of the role's, service's, plan's and access needs' rewritten patterns
# (keyed by how the pattern starts after its flags and lookahead): each must be a match of the pattern as it was
# written before, and together they start with every character of the lookahead, so that a character left
# out of it loses a match here.
_EXAMPLES: dict[str, tuple[str, ...]] = {
    r"\b(?:i'?m|i am|im)\s+(?:now": ("I'm 17 and", "im now seventeen"),
    r"\bmy\s+(?:own\s+|new": (
        "my EHCP",
        "I have an ehc plan",
        "asking for myself",
        "apply myself",
        "refer myself",
        "want myself",
        "like mediation for myself",
        "need for myself",
    ),
    r"\bmy\s+(?:mum|mom": ("my mum",),
    r"\b(?:my|our)\s+(?:[\w-]+": ("my son", "our little girl"),
    r"\b(?:i'?m|i am)\s+(?:his": (
        "I'm his mum",
        "(Ella's mum)",
        "As a parent",
        "Mum to Jo",
        "dad of Sam",
        "father of Al",
    ),
    r"\b(?:i\s+am|i'm|i\s+work": ("I am the SENCO", "on behalf of", "writing from"),
    r"\b(?:calling|ringing": (
        "calling from Oak school",
        "ringing from the trust",
        "phoning from the team",
        "writing from the council",
        "this is Dave from the SEND team",
        "it's Jo from the clinic",
    ),
    r"\b(?:for|on\s+behalf": ("for a family", "on behalf of a parent", "referring a pupil"),
    r"\b(?:our|one of our)": (
        "our pupils",
        "one of our families",
        "parents have given consent",
        "with the parents' consent",
        "please find attached our referral",
        "refer her",
        "DDI",
    ),
    r"\bthe\s+(?:family": ("the family",),
    r"\bmediation\s+(?:[\w-]+": (
        "mediation referral",
        "asked me to refer",
        "like to refer",
        "want to refer",
        "wish to refer",
        "refer her for mediation",
    ),
    r"\bnot\s+(?:arguing": (
        "not arguing with the council",
        "nothing wrong with the plan",
        "it's a good plan",
        "is a good plan",
        "happy with the plan",
    ),
    r"\btop[\s-]?up": (
        "top-up funding",
        "complaint with the school",
        "dispute with his college",
        "falling out with the school",
    ),
    r"\b(?:haven't|have not": (
        "haven't decided",
        "not sure if",
        "before we decide",
        "decide whether",
        "undecided",
        "thinking about whether",
        "difference between",
        "until I decide",
    ),
    r"\b(?:can|could|do|does": (
        "can I ask",
        "could we apply",
        "do parents request",
        "should I go",
        "must we apply",
        "may I ask",
        "would they refer",
    ),
    r"\b(?:wonder(?:ing": (
        "wondering if I can ask",
        "know if we can apply",
        "asking whether they could refer",
        "check if I need to go",
        "find out if I can ask",
        "sure whether we can request",
    ),
    r"\b(?:no|without": (
        "no EHCP",
        "without a plan",
        "doesn't have an ehcp",
        "hasn't got a plan",
        "not got a plan",
        "on SEN support",
        "at sen support",
        "receiving sen support",
        "gets sen support",
    ),
    r"\b(?:school|academy": (
        "school",
        "academy",
        "college",
        "nursery",
        "setting",
        "pre-school",
        "preschool",
        "headteacher",
        "head teacher",
        "SENCO",
        "trust",
    ),
    "\n            this\\s+is\\s+the\\s+mail": (
        "This is the mail system at host mx.example.",
        "created automatically by mail delivery software",
        "Delivery has failed to these recipients or groups",
        "Your message did not reach some or all of the intended recipients",
        "This is the qmail-send program",
        "the following addresses had permanent fatal errors",
        "delivery to the following recipient failed permanently",
    ),
    "\n        (?:message|mail)": (
        "mail could not be delivered",
        "could not be delivered to",
        "delivery has failed",
        "your message was not delivered",
        "following addresses failed",
        "these recipients failed",
        "unable to deliver your message",
        "we were unable to deliver",
        "returned to sender",
        "address unknown",
        "no such user",
        "over quota",
        "quota exceeded",
        "permanent error",
        "invalid user",
        "550 mailbox",
        "#5.1.1",
        "status: 5.1.1",
        "has not been delivered",
    ),
    r"\b(?:confidential|intended": (
        "confidential",
        "intended recipient",
        "intended solely",
        "disclaimer",
        "privileged",
        "views expressed",
        "received this email in error",
        "virus",
        "Data Protection Act",
        "freedom of information",
        "monitored",
        "legally",
        "unauthorised",
    ),
    r"\bsection\s+f\b": (
        "section F",
        "sections B, C and F",
        "cut his 1:1",
        "reduced the hours",
        "removed support",
        "halved the therapy",
    ),
    r"\bsection\s+i\b": ("section I", "sections B and I", "named a school", "naming the academy", "school named"),
    r"\bsections?\s+[cg]": ("section C", "health provision", "the ICB", "the CCG"),
    r"\bsections?\s+[dh]": ("section H", "social care needs", "short breaks", "respite"),
    r"\bonline\s+(?:preferred": ("online preferred", "prefer it on zoom", "video meeting would be best"),
    r"\b(?:i'?m|i\s+am|i\s+have\s+(?:a\s+)?)\s*(?:deaf|hard\s+of\s+hearing|hearing\s+impair\w*)[": (
        "I'm deaf so please email",
        "text only, I can't use phone calls as hearing",
        "whatsapp me, I don't do phone calls (hearing)",
        "sms please, I cannot use calls because of my hearing",
    ),
    r"\b(?:i'?m|i\s+am|i\s+have\s+(?:a\s+)?)\s*(?:deaf|hard\s+of\s+hearing|hearing\s+impair\w*)": ("I am deaf",),
    r"(?<![\w+/.-])(?:\+|00)": ("+44 7700 900123", "0044 7700 900123", "(0161) 496 0000", "07700 900123"),
    r"\b(?:text|whatsapp": (
        "text me only",
        "whatsapp only",
        "sms only",
        "email only",
        "don't like phone calls",
        "do not answer calls",
        "can't take calls",
        "cannot do calls",
    ),
}


def _examples_for(original: str) -> tuple[str, ...]:
    unflagged = re.sub(r"^\(\?[aiLmsux]+\)", "", original)
    return next((texts for start, texts in _EXAMPLES.items() if unflagged.startswith(start)), ())


def test_examples_match_every_first_character() -> None:
    covered = 0
    for rx, original in _with_lookahead():
        examples = _examples_for(original)
        if not examples:
            continue  # rewritten earlier, checked on the corpus and random texts of their words
        covered += 1
        before = re.compile(original, rx.flags & ~re.UNICODE)
        first_chars = set()
        for text in examples:
            m = before.search(text)
            assert m is not None, (text, original[:60])
            first_chars.add(m.group()[0].lower())
            assert _found(rx, text) == _found(before, text), (text, original[:60])
        lookahead = _SHAPE.fullmatch(rx.pattern)
        assert lookahead is not None
        assert first_chars == set(lookahead.group(2)), original[:60]
    assert covered == len(_EXAMPLES)


def test_the_rewritten_patterns_are_found() -> None:
    # The role's, service's, topics', date reader's and classify's rewrites: a test that found none
    # would check nothing.
    assert len(_with_lookahead()) >= 20


@pytest.mark.parametrize("index", range(4))
def test_lookahead_changes_no_match_on_tricky_texts(index: int) -> None:
    rng = random.Random(index)
    for rx, original in _with_lookahead():
        for ours, before in _compilations(rx, original):
            assert ours.groups == before.groups
            for text in _tricky_texts(rx, rng, 150):
                assert _found(ours, text) == _found(before, text), (rx.pattern[:80], text)


def test_lookahead_changes_no_match_on_real_mail(shared_texts: list[str]) -> None:
    for rx, original in _with_lookahead():
        for ours, before in _compilations(rx, original):
            for text in shared_texts:
                assert _found(ours, text) == _found(before, text), rx.pattern[:80]


@pytest.fixture(scope="module")
def shared_texts() -> list[str]:
    """The readable text of every corpus and sample message (the words the patterns are for)."""
    from inbox.parse import parse_message
    from tests.conftest import CORPUS, SAMPLES

    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is not here: shared test material is only present beside the repo (CI has it)")
    files = [p for p in sorted((CORPUS / "mail").rglob("*")) if p.is_file()] + sorted(SAMPLES.glob("*.eml"))
    texts = []
    for path in files:
        msg = parse_message(path.read_bytes())
        texts += [msg.subject, msg.text[:20_000]]
    return texts


def test_school_names_end_in_a_gate_word() -> None:
    """extract_school runs _SCHOOL only on a text holding one of SCHOOL_LAST_WORDS: every match must hold one."""
    from inbox.extract.school import _SCHOOL, SCHOOL_LAST_WORDS

    names = [
        "St Mary's C of E Primary School", "Oak Hill Academy", "The Brook College", "Little Stars Nursery",
        "Hillside Primary", "Elm Infants", "Elm Juniors", "Valley Federation", "Ash Grammar School",
        "Park Special School", "Bury High School", "Rose Junior School", "Lea Infant School", "New Free School",
    ]  # fmt: skip
    for name in names:
        for text in (f"He goes to {name}.", f"{name}\n", f"at {name} and"):
            found = list(_SCHOOL.finditer(text))
            assert found, text
            assert all(any(word in m.group() for word in SCHOOL_LAST_WORDS) for m in found), text
    rng = random.Random(1)
    for text in _tricky_texts(_SCHOOL, rng, 300):
        for m in _SCHOOL.finditer(text):
            assert any(word in m.group() for word in SCHOOL_LAST_WORDS), text
