"""Machine speech-to-text made readable to the referral extractor, which reads text as people type it.

A voicemail transcript is lower case with little punctuation; numbers come spoken ("oh seven seven
double oh nine...") or as digits; dates of birth come every way ("the fourth of february twenty fifteen",
"four two fifteen" after a DOB cue, "born in 2013 march the 3rd", "the 14th of the 2nd 2013"); council
names are split or misheard ("wolver hampton", "green witch": matched by letters, one or two off, only
when one council is nearest); words are said twice, letters spelt ("e h c p"), apostrophes dropped
("wont"); names and months are not capitalised. `from_speech` rewrites only those things, each by a
small named rule, and leaves every other word where it was, so the evidence quoted from the result still
reads as the caller said it. An SMS typed in lower case benefits from the same rules (an SMS typed
properly is unchanged by them: the rules only capitalise, join, put back apostrophes, drop a word said
twice and turn spoken numbers and dates into digits).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from itertools import pairwise

from inbox.extract.evidence import word_set
from models.la_directory import Directory

_DIGITS = {
    "oh": "0", "o": "0", "zero": "0", "nought": "0", "nil": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3, "treble": 3}
_NUMBER_WORD = (
    r"\b(?:thousand|hundred|double|triple|treble|nought|three|seven|eight|zero|four|five|nine|one|two|six|nil|oh|o"
    r"|\d+)\b"
)
# "seven hundred", "nine thousand": the digit, then its zeros ("oh seven seven hundred nine hundred ...").
_ZEROS = {"hundred": "00", "thousand": "000"}
# A run of spoken digits (and digit groups), with the pauses a transcriber writes between them.
_NUMBER_RUN = re.compile(rf"(?<![\w+])(?:plus\s+)?{_NUMBER_WORD}(?:[\s,.\-]+{_NUMBER_WORD})+(?![\w])", re.IGNORECASE)
_MIN_PHONE_DIGITS = 9

_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "thirtieth": 30,
}  # fmt: skip
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")  # fmt: skip
_ORDINAL = (
    r"(?:(?:twenty|thirty)[\s-]+(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|"
    + "|".join(sorted(_ORDINALS, key=len, reverse=True))
    + r"|\d{1,2}(?:st|nd|rd|th)?)"
)
_YEAR = (
    r"(?:(?:twenty|two\s+thousand(?:\s+and)?)\s+(?:(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    r"|seventeen|eighteen|nineteen|twenty(?:[\s-]+(?:one|two|three|four|five|six|seven|eight|nine))?)"
    r"|(?:oh\s+)?(?:one|two|three|four|five|six|seven|eight|nine))|(?:19|20)\d\d)"
)
_MONTH = r"(?:" + "|".join(_MONTHS) + r")"
# A year may come first: "born in 2013 march the 3rd", "born in two thousand and fourteen on the twentieth of august".
_YEAR_FIRST = rf"(?:(?P<year0>{_YEAR})\s+(?:on\s+)?)?"
_DATE_DMY = re.compile(
    rf"\b{_YEAR_FIRST}(?:the\s+)?(?P<day>{_ORDINAL})\s+(?:of\s+)?(?P<month>{_MONTH})(?:\s+(?P<year>{_YEAR}))?\b",
    re.IGNORECASE,
)
_DATE_MDY = re.compile(
    rf"\b{_YEAR_FIRST}(?P<month>{_MONTH})\s+(?:the\s+)?(?P<day>{_ORDINAL})(?:\s+(?P<year>{_YEAR}))?\b", re.IGNORECASE
)
# "the fourteenth of the second twenty thirteen", "the 14th of the 2nd 2013": the month said as an ordinal.
_DATE_ORDINAL_MONTH = re.compile(
    rf"\b(?:the\s+)?(?P<day>{_ORDINAL})\s+of\s+the\s+(?P<month>{_ORDINAL})(?:\s+of)?\s+(?P<year>{_YEAR})\b",
    re.IGNORECASE,
)
# After these words a date of birth may be said as numbers only: "date of birth four two fifteen".
_DOB_CUE = re.compile(
    r"\b(?:date\s+of\s+birth|d\s*o\s*b|born(?:\s+on)?|birthday)(?:\s+(?:is|was|it's|its|of))?"
    r"(?:\s+(?:um|er|erm|uh|the))*\s+",
    re.IGNORECASE,
)

# Words that name a child, or the caller, just after them.
_CHILD_CUE = re.compile(
    r"(?:\b(?:my|our|her|his|their|whose)\s+(?:(?:little|eldest|oldest|youngest|younger|older|foster|step|grand)\s*)?"
    r"(?:son|daughter|child|boy|girl|lad|kid|grandson|granddaughter|grandaughter|nephew|niece|stepson"
    r"|stepdaughter|twins|boys|girls|kids)(?:'s\s+name\s+is|'s\s+called|s\s+called|\s+is\s+called|\s+called|\s+named|\s+is|,)?"
    r"|\b(?:mum|mom|dad|mother|father|parent|carer|guardian)\s+(?:of|to)"
    r"|\b(?:son|daughter|child|grandson|granddaughter)\s+is(?:\s+called)?"
    r"|(?:^|(?<=[,.;:!?]\s))(?:son|daughter|grandson|granddaughter))\s+(?P<name>[a-z][a-z'\-]+)",
    re.IGNORECASE,
)
_SELF_CUE = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|this\s+is|it's|its|it\s+is|i\s+am|i'm|im|(?:his|her|their)\s+name\s+is"
    r"|(?:he|she)'s\s+called|(?:he|she)\s+is\s+called|called|named)\s+(?P<name>[a-z][a-z'\-]+)"
    r"(?=\s+(?P<second>[a-z][a-z'\-]+))?",
    re.IGNORECASE,
)
# Words that follow those cues but are no names (a name is never one of these).
_NOT_A_NAME = word_set(
    """
    a an the and or but so is was are has have had he she they it his her their him them who which that
    this what when where why how i im i'm we you your my our me us be been being do does did not no yes
    just only also still very really about from with at in on of for to by as if then than because
    calling ringing phoning trying looking wanting hoping wondering leaving getting going coming needing
    after before since until aged age years year old autistic diagnosed currently now here there home
    at school college nursery in year reception mum dad mother father parent carer grandparent
    nan gran grandma grandad teacher senco worker officer social from council phoning regarding ringing
    call calls called ring rang phone phoned message left want wants need needs needed would could should
    can will may might must shall please thanks thank hello hi morning afternoon evening sorry okay ok
    um er erm uh ah oh well yeah yes right sure about regarding re concerning
    twenty nineteen eighteen seventeen sixteen fifteen fourteen thirteen twelve eleven ten nine eight seven six
    five four three two one hes shes theyre goes went lives lived attends attended born diagnosed aged years
    months just being getting got gets who's whos
    with has who me back again today tomorrow yesterday worried concerned afraid desperate struggling unsure
    confused upset anxious happy sad tired slow quick free available busy waiting not sure hoping unable able
    """
)
_UPPER_WORDS = {
    "ehcp": "EHCP", "ehc": "EHC", "ehcna": "EHCNA", "senco": "SENCO", "sendco": "SENDCO", "sendiass": "SENDIASS",
    "iass": "IASS", "camhs": "CAMHS", "sen": "SEN", "la": "LA", "adhd": "ADHD", "asd": "ASD", "i": "I",
    "i'm": "I'm", "im": "I'm", "i've": "I've", "i'll": "I'll", "i'd": "I'd",
}  # fmt: skip
# One-word council names that are also ordinary words: only with a council word next to them.
_COMMON_WORD_COUNCILS = frozenset({"reading", "bury", "stoke", "bucks", "wilts", "bath", "derby", "halton", "poole"})
_COUNCIL_NEAR = re.compile(r"^\s+(?:city\s+|county\s+|borough\s+)*(?:council|borough|la\b|local\s+authority)", re.I)
_PLACE_BEFORE = re.compile(r"\b(?:in|from|at|of|live|living|lives|near)\s+(?:the\s+)?$", re.IGNORECASE)


def from_speech(text: str, directory: Directory) -> str:
    """`text` with spoken numbers as digits, dates as "3 March 2015", councils and names capitalised."""
    for rule in RULES:
        text = rule(text, directory)
    return text


def _spoken_numbers(text: str, _directory: Directory) -> str:
    def digits(match: re.Match[str]) -> str:
        words = re.findall(rf"plus|{_NUMBER_WORD}", match.group(0), re.IGNORECASE)
        out, repeat = [], 1
        for word in (w.lower() for w in words):
            if word == "plus":
                out.append("+")
            elif word in _REPEAT:
                repeat = _REPEAT[word]
            elif word in _ZEROS:
                if out and out[-1][-1:].isdigit():
                    out.append(_ZEROS[word])
            else:
                out.append((_DIGITS.get(word) or word) * repeat)
                repeat = 1
        number = "".join(out)
        # Only a phone number's worth of digits: "my son is eight" and "year two" stay as said.
        return number if sum(ch.isdigit() for ch in number) >= _MIN_PHONE_DIGITS else match.group(0)

    return _NUMBER_RUN.sub(digits, text)


def _spoken_dates(text: str, _directory: Directory) -> str:
    def date(match: re.Match[str]) -> str:
        day = _day(match.group("day"))
        if day is None or not 1 <= day <= 31:
            return match.group(0)
        said_year, year0 = match.group("year"), match.group("year0")
        month = match.group("month").capitalize()
        if year0 and said_year:
            # the year after the date is its year: the one before belongs to something else
            return _keep_first(match, day, month, _year(said_year))
        year = _year(said_year or year0) if (said_year or year0) else None
        return f"{day} {month} {year}" if year else f"{day} {month}"

    def ordinal_month(match: re.Match[str]) -> str:
        day, month, year = _day(match.group("day")), _day(match.group("month")), _year(match.group("year"))
        if day is None or month is None or year is None or not (1 <= day <= 31 and 1 <= month <= 12):
            return match.group(0)
        return f"{day:02d}/{month:02d}/{year}"

    text = _DATE_ORDINAL_MONTH.sub(ordinal_month, text)
    return _spoken_numeric_births(_DATE_MDY.sub(date, _DATE_DMY.sub(date, text)))


def _keep_first(match: re.Match[str], day: int, month: str, year: int | None) -> str:
    """A year said before a date that has its own year: the words before the day are kept as said."""
    core = match.start("month") if match.re is _DATE_MDY else match.start("day")
    lead = re.sub(r"(?i)the\s+$", "", match.group(0)[: core - match.start(0)])
    return f"{lead}{day} {month} {year}" if year else f"{lead}{day} {month}"


def _spoken_numeric_births(text: str) -> str:
    """ "date of birth four two fifteen" -> "date of birth 04/02/15": day, month and year said as numbers after a
    date-of-birth cue (only there: elsewhere three small numbers are seldom a date)."""
    out, last = [], 0
    for cue in _DOB_CUE.finditer(text):
        if cue.start() < last:
            continue
        rest = text[cue.end() :]
        words = list(re.finditer(r"[A-Za-z]+|\d+", rest[:80]))
        parsed = _day_month_year([w.group(0).lower() for w in words])
        if parsed is None:
            continue
        (day, month, year), used = parsed
        gaps = rest[: words[used - 1].end()]
        if re.search(r"[^\w\s,.\-/]", gaps):
            continue
        out.append(text[last : cue.end()] + f"{day:02d}/{month:02d}/{year}")
        last = cue.end() + words[used - 1].end()
    out.append(text[last:])
    return "".join(out)


_TENS = {"twenty": 20, "thirty": 30}


def _numbers_at(words: list[str], i: int) -> list[tuple[int, int]]:
    """Every way the words from i can be read as one number: (value, index after it), longest first."""
    if i >= len(words):
        return []
    word = words[i]
    found: list[tuple[int, int]] = []
    if word.isdigit() and len(word) <= 2:
        found.append((int(word), i + 1))
    elif word in ("oh", "zero", "nought", "o") and i + 1 < len(words) and words[i + 1] in _UNITS:
        found.append((_UNITS[words[i + 1]], i + 2))
    elif word in _TENS:
        if i + 1 < len(words) and words[i + 1] in _UNITS:
            found.append((_TENS[word] + _UNITS[words[i + 1]], i + 2))
        found.append((_TENS[word], i + 1))
    elif word in _UNITS or word in _TEENS:
        found.append((_UNITS.get(word) or _TEENS[word], i + 1))
    elif word in _ORDINALS:
        found.append((_ORDINALS[word], i + 1))
    return found


def _year_at(words: list[str], i: int) -> list[tuple[str, int]]:
    """A year said as "twenty fifteen", "two thousand and fifteen", "fifteen", "oh nine", or written."""
    found: list[tuple[str, int]] = []
    if i < len(words) and words[i].isdigit() and len(words[i]) in (2, 4):
        return [(words[i], i + 1)]
    for end in range(min(len(words), i + 5), i, -1):
        said = " ".join(words[i:end])
        if re.fullmatch(_YEAR, said, re.IGNORECASE):
            year = _year(said)
            if year:
                found.append((str(year), end))
    for value, end in _numbers_at(words, i):
        if 0 <= value <= 99 and end <= i + 2 and (words[i] not in _TENS or end == i + 2):
            found.append((f"{value:02d}", end))
    return found


def _day_month_year(words: list[str]) -> tuple[tuple[int, int, str], int] | None:
    for day, after_day in _numbers_at(words, 0):
        if not 1 <= day <= 31:
            continue
        i = after_day + (after_day < len(words) and words[after_day] == "of")
        for month, after_month in _numbers_at(words, i):
            if not 1 <= month <= 12:
                continue
            for year, after_year in _year_at(words, after_month):
                return (day, month, year), after_year
    return None


def _day(word: str) -> int | None:
    word = word.lower().replace("-", " ")
    digits = re.match(r"\d+", word)
    if digits:
        return int(digits.group(0))
    parts = word.split()
    if len(parts) == 2:
        return {"twenty": 20, "thirty": 30}[parts[0]] + _ORDINALS[parts[1]]
    return _ORDINALS.get(word)


def _year(words: str) -> int | None:
    words = re.sub(r"[\s-]+", " ", words.lower()).replace(" and ", " ")
    if words.isdigit():
        return int(words)
    parts = words.split()
    if parts[:2] == ["two", "thousand"]:
        rest = parts[2:]
    elif parts[0] == "twenty":
        rest = parts[1:]
    else:
        return None
    if rest and rest[0] == "oh":
        rest = rest[1:]
    if not rest:
        return None
    if rest[0] in _TEENS:
        return 2000 + _TEENS[rest[0]]
    if rest[0] == "twenty":
        return 2020 + (_UNITS.get(rest[1], 0) if len(rest) > 1 else 0)
    return 2000 + _UNITS[rest[0]] if rest[0] in _UNITS else None


@cache
def _council_words(directory: Directory) -> dict[str, str]:
    """Every council name and alias with its letters only ("wolverhampton" -> "Wolverhampton")."""
    names: dict[str, str] = {}
    for la in directory.authorities:
        for alias in (la.name, *la.aliases):
            key = re.sub(r"[^a-z]", "", alias.casefold())
            if len(key) >= 4 and not alias.isupper():
                names.setdefault(key, alias if alias[0].isupper() else la.name)
    return names


_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")


# How speech-to-text spells some councils' names by their sound (the name is said, not spelt).
_HEARD_AS = {
    "lester": "Leicester", "lestershire": "Leicestershire", "lester shire": "Leicestershire",
    "wooster shire": "Worcestershire", "worcester shire": "Worcestershire", "woostershire": "Worcestershire",
    "glostershire": "Gloucestershire", "gloster shire": "Gloucestershire", "gloucester shire": "Gloucestershire",
    "sloo": "Slough", "darby": "Derby", "darbyshire": "Derbyshire", "darby shire": "Derbyshire",
    "barnsley's": "Barnsley", "south walk": "Southwark", "suthark": "Southwark", "green itch": "Greenwich",
    "grenitch": "Greenwich", "harringay": "Haringey", "lewis ham": "Lewisham", "new ham": "Newham",
}  # fmt: skip
_HEARD = re.compile(r"(?<![\w'])(" + "|".join(map(re.escape, _HEARD_AS)) + r")(?![\w'])", re.IGNORECASE)


def _misheard_councils(text: str, _directory: Directory) -> str:
    return _HEARD.sub(lambda m: _HEARD_AS[m.group(1).lower()], text)


def _councils(text: str, directory: Directory) -> str:
    """Council names split or in lower case ("wolver hampton", "stoke on trent") written as councils are."""
    names = _council_words(directory)
    words = list(_WORD.finditer(text))
    out, last, i = [], 0, 0
    while i < len(words):
        for width in (4, 3, 2, 1):
            window = words[i : i + width]
            if len(window) < width or any(text[a.end() : b.start()].strip(" -") for a, b in pairwise(window)):
                continue
            key = re.sub(r"[^a-z]", "", "".join(w.group(0) for w in window).casefold())
            key = re.sub(r"^saint", "st", key)
            name = names.get(key) or _sounds_like(window, key, _by_first_letter(directory))
            if name is None:
                continue
            start, end = window[0].start(), window[-1].end()
            if (
                width == 1
                and key in _COMMON_WORD_COUNCILS
                and not (_COUNCIL_NEAR.match(text[end:]) or _PLACE_BEFORE.search(text[max(0, start - 20) : start]))
            ):
                continue
            if width == 1 and text[start:end] == text[start:end].lower() and key in _NOT_A_NAME:
                continue
            out.append(text[last:start] + name)
            last = end
            i += width
            break
        else:
            i += 1
    out.append(text[last:])
    return "".join(out)


def _sounds_like(window: list[re.Match[str]], key: str, index: dict[str, list[tuple[str, str]]]) -> str | None:
    """A council's name as speech-to-text splits and misspells it ("green witch", "warrick shire"): one
    letter off (two in a long name), same first letter, only in lower-case speech split into words (or one
    long word), never from a word that is no name."""
    words = [w.group(0) for w in window]
    if any(not w.islower() for w in words) or words[0] in _NOT_A_NAME or words[-1] in _NOT_A_NAME:
        return None
    if len(key) < (7 if len(words) > 1 else 9):
        return None
    allowed = 2 if len(key) >= 11 else 1
    by_distance: dict[int, set[str]] = {}
    for known, name in index.get(key[0], ()):
        if abs(len(known) - len(key)) <= allowed:
            distance = _edits(key, known, allowed)
            if distance <= allowed:
                by_distance.setdefault(distance, set()).add(name)
    nearest = by_distance[min(by_distance)] if by_distance else set()
    return nearest.pop() if len(nearest) == 1 else None  # two councils as near: neither


@cache
def _by_first_letter(directory: Directory) -> dict[str, list[tuple[str, str]]]:
    """The councils' letter keys by their first letter (a misheard name keeps its first sound)."""
    index: dict[str, list[tuple[str, str]]] = {}
    for known, name in _council_words(directory).items():
        index.setdefault(known[0], []).append((known, name))
    return index


def _edits(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, given up (limit + 1) once it passes `limit`."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
        if min(row) > limit:
            return limit + 1
    return row[-1]


def _names(text: str, _directory: Directory) -> str:
    """A name after "my son", "my name is", "called": capitalised, the way the extractor expects one."""

    def capitalise(match: re.Match[str]) -> str:
        name = match.group("name")
        if name.lower() in _NOT_A_NAME or name.lower() in _MONTHS_SET:
            return match.group(0)
        return match.group(0)[: match.start("name") - match.start(0)] + _capitalised(name)

    def capitalise_full(match: re.Match[str]) -> str:
        """A caller's own name may come with a surname: "my name is sarah jones"."""
        said = capitalise(match)
        second = match.groupdict().get("second")
        if said == match.group(0) or not second or second.lower() in _NOT_A_NAME or second.lower() in _MONTHS_SET:
            return said
        return said + " " + _capitalised(second) + "\x00"  # the marker drops the lower-case copy

    def capitalise_child(match: re.Match[str]) -> str:
        """ "my son ethan jones was refused": a second word before what is said about a child is a surname."""
        said = capitalise(match)
        after = text[match.end() :]
        surname = _SURNAME_THEN.match(after)
        if said == match.group(0) or surname is None or surname.group(1).lower() in _NOT_A_NAME | _MONTHS_SET:
            return said
        return said + after[: surname.start(1)] + _capitalised(surname.group(1)) + "\x00"

    text = _CHILD_CUE.sub(capitalise_child, text)
    return re.sub(r"\x00\s+[a-z][a-z'\-]+", "", _SELF_CUE.sub(capitalise_full, text))


_MONTHS_SET = frozenset(_MONTHS)
_SURNAME_THEN = re.compile(
    r"\s+([a-z][a-z'\-]+)(?=[,.]?\s+(?i:dob\b|d\.o\.b|date\s+of\s+birth|born|aged?\b|who\b|was\b|is\b|has\b|he's|she's"
    r"|he\b|she\b|they\b|in\s+year|i\b|i've|i'm|we\b|we're|we've)|[,.]?$)"
)


def _capitalised(name: str) -> str:
    """ "ava-rose" -> "Ava-Rose": each part of a double name."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


_TEAM_WORDS = re.compile(r"\b(?:send|sen)\s+(?=(?:team|service|officer|department|caseworker|case\s+worker)s?\b)", re.I)
_TEXTSPEAK = {
    "grandaughter": "granddaughter",
    "cert": "certificate",
    "certs": "certificates",
    "pls": "please",
    "plz": "please",
    "asap": "as soon as possible",
}


# Speech-to-text and quick typing drop apostrophes; the extractor's negations and cues are written with them.
# Only words that cannot be anything else ("were", "its", "id" and "well" can, so they stay).
_CONTRACTIONS = {
    "wont": "won't", "dont": "don't", "cant": "can't", "isnt": "isn't", "doesnt": "doesn't", "didnt": "didn't",
    "havent": "haven't", "hasnt": "hasn't", "wouldnt": "wouldn't", "couldnt": "couldn't", "shouldnt": "shouldn't",
    "arent": "aren't", "wasnt": "wasn't", "werent": "weren't", "ive": "I've", "youre": "you're",
    "theyre": "they're", "theyve": "they've", "weve": "we've", "hes": "he's", "shes": "she's", "thats": "that's",
}  # fmt: skip
_CONTRACTION = re.compile(r"(?<![\w'])(" + "|".join(_CONTRACTIONS) + r")(?![\w'])")
# Letters spelt out one by one ("e h c p", "s e n"): one word again. Not a run with "a" or "i" in it (words:
# "i a m") nor one of "o" alone ("oh" in a number).
_SPELT = re.compile(r"(?<![\w'])[a-z](?:\s[a-z])+(?![\w'])")


# A word said twice ("it's it's", "freya freya brown"): once. Not number words ("oh oh", "seven seven" are
# digits of a phone number).
_REPEATED = re.compile(r"(?<![\w'])([a-z][a-z']*)(?:\s+\1)+(?![\w'])", re.IGNORECASE)


def _repeats(text: str, _directory: Directory) -> str:
    return _REPEATED.sub(lambda m: m.group(0) if m.group(1).lower() in _NUMBER_WORDS else m.group(1), text)


_NUMBER_WORDS = frozenset(_DIGITS) | frozenset(_REPEAT) | frozenset(_ZEROS) | frozenset(_TEENS) | {"twenty", "thirty"}


def _apostrophes(text: str, _directory: Directory) -> str:
    text = _CONTRACTION.sub(lambda m: _CONTRACTIONS[m.group(1)], text)

    def joined(m: re.Match[str]) -> str:
        letters = m.group(0).split()
        return m.group(0) if {"a", "i"} & set(letters) or set(letters) == {"o"} else "".join(letters)

    return _SPELT.sub(joined, text)


def _acronyms(text: str, _directory: Directory) -> str:
    text = _TEAM_WORDS.sub(lambda m: m.group(0).upper(), text)
    text = re.sub(
        r"(?<![\w'])(" + "|".join(_TEXTSPEAK) + r")(?![\w'])",
        lambda m: _TEXTSPEAK[m.group(1).lower()],
        text,
        flags=re.I,
    )
    return re.sub(
        r"(?<![\w'])(" + "|".join(map(re.escape, _UPPER_WORDS)) + r")(?![\w'])",
        lambda m: _UPPER_WORDS[m.group(1).lower()] if m.group(1).islower() else m.group(1),
        text,
        flags=re.IGNORECASE,
    )


RULES: tuple[Callable[[str, Directory], str], ...] = (
    _repeats,
    _spoken_numbers,
    _spoken_dates,
    _misheard_councils,
    _councils,
    _apostrophes,
    _acronyms,
    _names,
)
