"""People's names in text: runs of capitalised name words, and display names made readable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from inbox.extract.evidence import word_set


def _upper_class() -> str:
    """A character class of the capital letters of the Latin, Greek and Cyrillic blocks (re has no \\p{Lu})."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x41, 0x530):
        if chr(code).isupper():
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "[" + "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges) + "]"


# Months that are also first names (April, May, June, July, August, Jan) and "Will" are left out on purpose.
# A capitalised word, with accents (also combining ones), hyphens and apostrophes: "Zoë", "Hartley-Bennett",
# "O'Brien", "Whitcombe's". Only capitalised words can be names, so the scan skips everything else.
# The capital comes first and the look behind it second ("not after a letter, digit, @ or ."): a pattern that
# starts with a character class lets the regex engine skip straight to the next capital, where one that starts
# with a lookbehind is tried at every position (the same matches, in two thirds of the time).
_NAME_TOKEN = re.compile(
    _upper_class() + r"(?<![\w@.].)(?:[^\W\d_]|[\u0300-\u036f])*(?:[-'](?:[^\W\d_]|[\u0300-\u036f])+)*"
)
NOT_NAMES = word_set(
    "i a an the my our his her their your we he she they it this that these those mr mrs ms miss mx dr "
    "prof sir madam dear hi hello hiya hey thanks thank regards kind best many yours sincerely please re "
    "fw fwd fwd: cc council borough county city london royal local authority la sen send senco sendiass "
    "iass ehc ehcp ehcna plan plans section sections school schools academy college nursery primary "
    "secondary infant infants junior juniors high grammar centre center unit trust federation mediation "
    "mediator mediations referral referrals request enquiry question certificate tribunal appeal "
    "disagreement resolution facilitation facilitated meeting meetings year reception dob d.o.b date "
    "birth born age aged monday tuesday wednesday thursday friday saturday sunday january february march "
    "september october november december feb mar apr jun jul aug sep sept "
    "oct nov dec team service services office officer department children's childrens children social "
    "care health nhs camhs salt ot ta lsa parent parents carer mum dad mother father son daughter child "
    "grandmother grandfather nan gran also and or but so if when then after before since until as at in "
    "on of for to from with by about regarding subject note information details message phone tel mobile "
    "email name address postcode consent yes no not new final draft annual review amended independent "
    "specialist mainstream special needs provision support education psychologist speech language therapy "
    "autism adhd asd down's down whatsapp teams zoom online sir/madam kids colleagues everyone all team, "
    "is was are has have had can could would should shall did does do just still only there here "
    "what why how who where which while good morning afternoon evening warm wishes cheers diolch "
)
INSTITUTION_AFTER = re.compile(
    r" (?:School|Academy|College|Nursery|Primary|Secondary|High|Infants?|Juniors?|Centre|Center|Council|Borough"
    r"|County|Trust|Hospital|Road|Street|Lane|Avenue|Close|Drive|Way|Team|Service|Services|SENDIASS|IASS|SEN|SEND)\b"
)


@dataclass(slots=True)
class NameSpan:
    tokens: list[str]
    start: int
    end: int
    possessive: bool  # written as "Ella's"

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


# A pure function of one word, asked for every capitalised word of every source; the same words come back
# in every message ("I", "Dear", "The", the family's names).
@lru_cache(maxsize=8192)
def _is_name_word(tok: str, *, first: bool) -> bool:
    if not tok or not tok[0].isupper() or tok.lower() in NOT_NAMES:
        return False
    apostrophe = tok.find("'")
    if 0 < apostrophe < len(tok) - 1 and tok[apostrophe + 1].islower():
        return False  # "I'm", "We'd", "Don't": contractions, where "O'Brien" has a capital
    if len(tok) == 1:
        return first  # an initial ("K Asante")
    return not (tok.isupper() and len(tok) > 3)  # "EHCP", "CAMHS": acronyms, not names


def name_spans(norm: str, a: int = 0, b: int | None = None) -> list[NameSpan]:
    """Runs of 1-3 capitalised name words on one line ("Zoë Hartley-Bennett", "Ella Whitcombe's").

    One pass over the word tokens: a run grows while the next token is a name word one space after
    the last, and ends at anything else (a possessive ends it too)."""
    b = len(norm) if b is None else b
    spans: list[NameSpan] = []
    run: list[str] = []
    run_start = run_end = -1
    closed = True
    for m in _NAME_TOKEN.finditer(norm, a, b):
        start, stop = m.span()
        tok = m.group()
        possessive = tok.endswith("'s")
        core = tok[:-2] if possessive else tok.rstrip("'")
        name_like = (
            _is_name_word(core, first=True)
            and not _glued_to_address(norm, start, stop)
            and not _glued_to_digits(norm, stop)
        )
        joins = (
            name_like
            and not closed
            and start == run_end + 1
            and norm[run_end] == " "
            and len(run) < 3
            and not (len(run[-1]) == 1 and len(core) == 1)
        )
        if joins and len(core) == 1:
            joins = False  # an initial only starts a name ("K Asante"), it never follows one
        if not joins:
            _close_run(spans, run, run_start, run_end, closed)
            run, closed = [], True
            if not name_like:
                continue
            run_start = start
        run.append(core)
        run_end = start + len(core)
        closed = False
        if possessive:
            if _valid_run(run):
                spans.append(NameSpan(run, run_start, run_end, True))
            run, closed = [], True
    _close_run(spans, run, run_start, run_end, closed)
    return spans


def _valid_run(run: list[str]) -> bool:
    return bool(run) and not (len(run) == 1 and len(run[0]) == 1)


def _close_run(spans: list[NameSpan], run: list[str], start: int, end: int, closed: bool) -> None:
    if not closed and _valid_run(run):
        spans.append(NameSpan(run, start, end, False))


def _glued_to_address(norm: str, start: int, stop: int) -> bool:
    """Part of an e-mail address or domain ("renee.osei@example.com"), not a written name."""
    if start > 0 and (norm[start - 1].isalnum() or norm[start - 1] in "@._"):
        return True
    return stop + 1 < len(norm) and norm[stop] in "@." and norm[stop + 1].isalnum()


def _glued_to_digits(norm: str, stop: int) -> bool:
    """A reference code ("KM-25-0877", "SEND-44871", "AB12"), not a name: letters run straight into digits."""
    if stop < len(norm) and norm[stop].isdigit():
        return True
    return stop + 1 < len(norm) and norm[stop] in "-/_" and norm[stop + 1].isdigit()


def clean_display_name(name: str) -> str:
    """ "Stanhope, Olivia: RBKC" -> "Olivia Stanhope"; drops organisation tails and quotes."""
    name = name.strip().strip('"').strip()
    name = re.split(r"\s*[:(|\[]\s*|\s+-\s+|\s+via\s+", name, maxsplit=1)[0]
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        if last and first and " " not in last:
            name = f"{first} {last}"
    return " ".join(name.split())
