"""The directory of local authorities (LAs): who they are, which ones the service covers, and how to
recognise them in what people write.

The data is ``data/local_authorities.json`` (hand-edited; see its "about" block). This module only reads
it, once. It sits in the bottom layer (models/) and imports nothing from the project but its matcher
(models/la_trie.py).

Two ways in:

* ``Directory.lookup(text)``: one value a person typed where an LA was asked for (a form field, a
  coordinator's search box). Tolerant: case, "&"/"and", hyphens, "Council"/"London Borough of" wrappers
  and small misspellings.
* ``Directory.council_mentions(text)``: what a reader of an email takes for councils: ``find`` plus
  misspelt "X Borough Council" phrases that ``lookup`` resolves, without names that are part of an
  e-mail address, a person ("Mrs Sutton"), a saint or a street ("St Helens Road", "Birmingham Road").
  ``Directory.for_email_domain(address)``: the council an officer's ...@lewisham.gov.uk address names.
* ``Directory.find(text)``: every LA mentioned in free text (an email body). Precise rather than eager:
  a wrong LA routes a family to the wrong office or tells them wrongly that they are not served, so
  street names ("Birmingham Road"), towns that merely contain an LA name ("Sutton Coldfield") and
  ordinary words ("reading the letter") are not mentions.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from models.la_trie import is_acronym, trie_pattern

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "local_authorities.json"


@dataclass(frozen=True, slots=True)
class LocalAuthority:
    name: str  # canonical key, e.g. "Kingston-upon-Thames"
    country: str  # england | wales | scotland | northern_ireland
    served: bool
    region: str | None  # "london" | "national" for served LAs, else None
    english_region: str | None  # DfE region ("East Midlands"), England only
    ons_codes: tuple[str, ...]
    dfe_code: str | None  # None when the LA is several current DfE LAs (Northamptonshire): see dfe_codes
    aliases: tuple[str, ...]
    dfe_codes: tuple[str, ...] = ()
    # The bare name is too common a word or place to count in free text (Newport, Highland, Angus):
    # only "Newport City Council" and the like are mentions.
    needs_council_word: bool = False

    @property
    def in_england(self) -> bool:
        return self.country == "england"


@dataclass(frozen=True, slots=True)
class LAMention:
    authority: LocalAuthority
    start: int
    end: int
    text: str  # the matched text as written, text[start:end] of the searched string
    explicit: bool  # the mention itself says it is a council/authority ("Camden Council", "LB Camden", "RBKC")
    # A bare name run straight into another capitalised word ("Harrow Way School"?): maybe part of another
    # proper noun. Only `council_mentions` sets it.
    doubtful: bool = False


# --------------------------------------------------------------------------------------------------
# Normalisation shared by lookup keys and by the matcher (a regex match is turned back into a key
# with the same function, so every flexibility the patterns allow must be folded away here).


@functools.lru_cache(maxsize=4096)
def _key(text: str) -> str:
    s = unicodedata.normalize("NFKD", text)
    s = "".join(c for c in s if not unicodedata.combining(c))  # "Ynys Môn" == "Ynys Mon"
    s = s.casefold().replace("&", " and ")
    s = re.sub(r"[.'’]", "", s)  # "St. Helens", "Children's"
    s = re.sub(r"[^0-9a-z]+", " ", s)
    return s.strip()


_EXPLICIT_WORDS = re.compile(
    r"\b(?:Council|Corporation|Borough|Authority|Comhairle|Cyngor|MBC|MDC|CC)\b|^(?:LB|RB)\s", re.IGNORECASE
)


def _alias_is_explicit(alias: str) -> bool:
    return is_acronym(alias) or bool(_EXPLICIT_WORDS.search(alias))


# DfE inverted spellings ("Bristol, City of") are for lookups only: in running text ", City of" is far more
# often the start of the next item in a list ("Bristol, City of London").
def _lookup_only(alias: str) -> bool:
    return bool(re.search(r",\s*(?:City|County) of$", alias))


_WS = r"[ \t]+"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _phrase(words: str) -> str:
    """'county council' -> a case-insensitive pattern, any run of spaces or tabs between the words."""
    return _WS.join(f"(?i:{re.escape(w)})".replace("'", "['’]?") for w in words.split())


# Wrappers that say "this is the council". "City of"/"County of" are also accepted in front of a name but
# are part of a place's name, not a statement that the council is meant (see _NOT_EXPLICIT_PREFIXES).
_PREFIX_PHRASES = (
    "london borough of",
    "royal borough of",
    "metropolitan borough of",
    "city and county of",
    "borough of",
    "city of",
    "county of",
)
_NOT_EXPLICIT_PREFIXES = frozenset({"city of", "county of"})
_SUFFIX_PHRASES = (
    "metropolitan borough council",
    "metropolitan district council",
    "county borough council",
    "borough council",
    "county council",
    "city council",
    "district council",
    "council",
    "local education authority",
    "local authority",
    "send team",
    "sen team",
    "send service",
    "sen service",
    "send department",
    "sen department",
    "children's services",
    "borough",
)
# Written in capitals only: "la"/"cc" in lower case are ordinary text.
_SUFFIX_ACRONYMS = ("MBC", "MDC", "CC", "LEA", "LA")


def _longest_first(patterns: Iterable[str]) -> str:
    return "|".join(sorted(patterns, key=len, reverse=True))


_PREFIX = r"(?P<pre>(?:" + _longest_first([*map(_phrase, _PREFIX_PHRASES), r"LB(?:[ \t]+of)?"]) + r")[ \t]+)?"
_SUFFIX = r"(?:[ \t]+(?P<suf>" + _longest_first([*map(_phrase, _SUFFIX_PHRASES), *_SUFFIX_ACRONYMS]) + r")(?![\w&]))?"

# The word right after a bare mention that shows it is a street, building or club, not the council.
# Any case: words that are not also ordinary words.
_NOT_LA_NEXT_ANYCASE = _words(
    "road rd street lane ln avenue ave crescent gardens gdns terrace mews parade hospital hospitals "
    "infirmary university airport cathedral abbey embankment"
)
# Title case only: these are ordinary words too ("we moved to Camden way back", "close to the school").
_NOT_LA_NEXT_TITLE = _words(
    "Way Close Place Square Sq Park Grove Court Row Walk Hill Rise Drive Station Bridge College Palace "
    "Castle St Police Crown Magistrates United Rovers Wanderers Albion Athletic FC Green Gate Heath"
)
# A title-case word after a one-word name usually means the name is part of a longer proper noun
# ("Sutton Coldfield", "Stoke Newington", "Brent Smith", "Nottingham Forest"), except these words,
# which are how people talk about an LA's services.
_LA_CONTEXT_WORDS = _words(
    "Council Councils Borough Children Children's Childrens Parent Parents Parent's Carer Carers Family "
    "Families Local Education Educational Inclusion Social Services Service Team Mediation Referral "
    "Referrals Request Enquiry Case Plan Area Officer Officers Psychology Psychologist Psychologists Panel "
    "School Schools Primary Secondary Special Academy Nursery Resident Residents Young Youth Early Virtual "
    "Disagreement Resolution Facilitation Meeting Decision Appeal Certificate Health Office Offices "
    "Transport Support Advice Information Independent Sendiass SENDIASS"
)
# One-word names that are also ordinary words: at the start of a sentence and followed by a lower-case
# word they are taken as the word ("Reading the letter again, ...", "Stoke the ...").
_COMMON_WORD_NAMES = frozenset({"reading", "bury", "stoke", "bucks", "wilts"})
# A title-case word before a one-word name, with no lower-case word after it, is usually a person's name
# in a salutation, signature or header ("Dear Sarah Kent,", "John Bradford <j@...>"), except these words.
_OK_BEFORE = _words(
    "Hi Hello Dear Re Fw Fwd To From In At Near For Of With And Or But The Our My We Both Contact Visit Live "
    "Lives Living Moved Based Also Across Within Outside Inside About Under Over By On Not Only Then Now "
    "Currently Formerly Previously Subject North South East West Central Mid Inner Outer Royal"
)
_TITLES = r"Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lord|Lady|Rev|Cllr"
_TITLE_BEFORE = re.compile(rf"(?:{_TITLES})\.?[ \t]+$")
_NEXT_WORD = re.compile(r"[ \t]+([^\W\d_][\w'’\-]*)")
_PREV_WORD = re.compile(r"([^\W\d_][\w'’\-]*)[ \t]+$")

# "<Word(s)> [Borough|City|County] Council" whose words are a close misspelling of a known name.
_CAP_WORD = r"(?!(?:Metropolitan|Borough|City|County|District|Council)\b)[A-Z][a-z'’]+"
_COUNCIL_PHRASE = re.compile(
    r"(?<![\w&@./])((?:" + _CAP_WORD + r"[ \t\-]+){0,2}" + _CAP_WORD + r")[ \t]+"
    # The designator is often typed in lower case ("Wolverhamton council"): the capitalised run before it
    # is what keeps this from firing on ordinary prose.
    r"(?i:(?:(?:Metropolitan[ \t]+)?(?:Borough|City|County|District)[ \t]+)?Council)\b"
)

# Lookup: wrappers peeled off a typed value, repeatedly, checking the index after each step.
_STRIP_SUFFIXES = (
    *(_key(p) for p in _SUFFIX_PHRASES),
    *(a.lower() for a in _SUFFIX_ACRONYMS),
    "send",
    "sen",
    "area",
)
_STRIP_PREFIXES = (
    "the",
    "london borough of",
    "royal borough of",
    "metropolitan borough of",
    "borough of",
    "lb of",
    "lb",
    "rb",
    "city and county of",
    "council of the",
    "county of",
    "city of",
    "council",
    "local authority",
    "la",
    "lea",
)
_FUZZY_CUTOFF = 0.88
_FUZZY_MIN_LEN = 6


def _strip_variants(key: str) -> list[str]:
    """key, then key with one more wrapper peeled off at a time (suffixes first, then prefixes)."""
    out = [key]
    changed = True
    while changed:
        changed = False
        for suffix in _STRIP_SUFFIXES:
            if key.endswith(" " + suffix):
                key = key[: -len(suffix) - 1].strip()
                out.append(key)
                changed = True
                break
        else:
            for prefix in _STRIP_PREFIXES:
                if key.startswith(prefix + " "):
                    key = key[len(prefix) + 1 :].strip()
                    out.append(key)
                    changed = True
                    break
    return [k for k in out if k]


class Directory:
    def __init__(self, authorities: list[LocalAuthority], false_friends: Iterable[str] = ()) -> None:
        self.authorities = list(authorities)
        self._by_name: dict[str, LocalAuthority] = {}
        self._by_key: dict[str, LocalAuthority] = {}
        self._by_code: dict[str, LocalAuthority] = {}
        explicit_keys: set[str] = set()
        patterns: set[str] = set()
        for la in self.authorities:
            if la.name in self._by_name:
                raise ValueError(f"local authority {la.name!r} is listed twice")
            self._by_name[la.name] = la
            for code in (*la.ons_codes, *la.dfe_codes, *([la.dfe_code] if la.dfe_code else [])):
                self._by_code[code] = la
            for alias in (la.name, *la.aliases):
                key = _key(alias)
                other = self._by_key.setdefault(key, la)
                if other is not la:
                    # An alias that means two LAs would silently route families to the wrong one.
                    raise ValueError(f"alias {alias!r} is claimed by both {other.name!r} and {la.name!r}")
                if _alias_is_explicit(alias):
                    explicit_keys.add(key)
                if not _lookup_only(alias):
                    patterns.add(alias)
        self._explicit_keys = frozenset(explicit_keys)
        # False friends are in the same trie, mapped to nothing: being longer, they win at their position
        # and swallow the LA name inside them ("Sutton Coldfield" is not Sutton).
        self._false_friend_keys = frozenset(_key(f) for f in false_friends) - self._by_key.keys()
        patterns.update(f for f in false_friends if _key(f) in self._false_friend_keys)
        self._regex = re.compile(
            r"(?<![\w&@./])" + _PREFIX + r"(?P<name>" + trie_pattern(sorted(patterns)) + ")" + _SUFFIX
        )
        # Fuzzy candidates by first letter: a misspelling rarely gets the first letter wrong, and this
        # keeps difflib's work small. Acronyms and short names are never fuzzed ("Bury" ~ "Bucks").
        self._fuzzy: dict[str, list[str]] = {}
        for key, la in self._by_key.items():
            if len(key) >= _FUZZY_MIN_LEN and not any(is_acronym(a) and _key(a) == key for a in la.aliases):
                self._fuzzy.setdefault(key[0], []).append(key)

    # -- exact access ------------------------------------------------------------------------------

    def get(self, name: str) -> LocalAuthority | None:
        """The LA whose canonical name is exactly ``name``."""
        return self._by_name.get(name)

    def by_code(self, code: str) -> LocalAuthority | None:
        """The LA with this ONS code (E09000007) or DfE number (202)."""
        return self._by_code.get(code.strip().upper())

    @property
    def served(self) -> list[LocalAuthority]:
        return [la for la in self.authorities if la.served]

    # -- one typed value -----------------------------------------------------------------------------

    def lookup(self, text: str) -> LocalAuthority | None:
        """The LA meant by one value as a person typed it, or None when unknown or ambiguous."""
        key = _key(text)
        if not key:
            return None
        variants = _strip_variants(key)
        for variant in variants:
            if (la := self._by_key.get(variant)) is not None:
                return la
        # A labelled or wordy value ("Council - Barnet", "we are under Stockport MBC"): if the text names
        # exactly one LA, that is the one.
        found = {m.authority.name: m.authority for m in self.find(text)}
        if len(found) == 1:
            return next(iter(found.values()))
        if found:
            return None
        best: tuple[float, LocalAuthority] | None = None
        runner_up = 0.0
        for variant in variants:
            for score, la in self._fuzzy_matches(variant):
                if best is None or score > best[0]:
                    if best is not None and la is not best[1]:
                        runner_up = max(runner_up, best[0])
                    best = (score, la)
                elif la is not best[1]:
                    runner_up = max(runner_up, score)
        # Two different LAs about as close ("Stafford"?) is a guess, not a lookup.
        if best is not None and best[0] - runner_up >= 0.03:
            return best[1]
        return None

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - the directory lives for the process
    def _fuzzy_matches(self, key: str) -> tuple[tuple[float, LocalAuthority], ...]:
        if len(key) < _FUZZY_MIN_LEN:
            return ()
        out = []
        for cand in difflib.get_close_matches(key, self._fuzzy.get(key[0], ()), n=5, cutoff=_FUZZY_CUTOFF):
            out.append((difflib.SequenceMatcher(None, key, cand).ratio(), self._by_key[cand]))
        return tuple(out)

    # -- free text -----------------------------------------------------------------------------------

    def find(self, text: str) -> list[LAMention]:
        """Every LA mentioned in ``text``, in order, non-overlapping, longest match first."""
        raw = list(self._regex.finditer(text))
        starts = {m.start() for m in raw}
        ends = {m.end() for m in raw}
        mentions: list[LAMention] = []
        for m in raw:
            mention = self._accept(text, m, starts, ends)
            if mention is not None:
                mentions.append(mention)
        if "ouncil" in text:
            mentions = self._add_misspelt_councils(text, mentions)
        return mentions

    def _accept(self, text: str, m: re.Match[str], starts: set[int], ends: set[int]) -> LAMention | None:
        name = m.group("name")
        key = _key(name)
        la = self._by_key.get(key)
        if la is None:  # a false friend
            return None
        pre, suf = m.group("pre"), m.group("suf")
        explicit = bool(suf) or (bool(pre) and _key(pre) not in _NOT_EXPLICIT_PREFIXES) or key in self._explicit_keys
        start, end = m.start(), m.end()
        if not explicit and not self._bare_ok(text, la, key, m.start("name"), end, starts, ends):
            return None
        return LAMention(la, start, end, text[start:end], explicit)

    @staticmethod
    def _bare_ok(
        text: str, la: LocalAuthority, key: str, start: int, end: int, starts: set[int], ends: set[int]
    ) -> bool:
        """Context checks for a mention that does not itself say it is a council."""
        if la.needs_council_word:
            return False
        one_word = " " not in key
        # Only the same line, and only its last few words: enough for every check below, and it keeps the
        # checks O(1) on an email that is one long line.
        line_start = max(text.rfind("\n", 0, start) + 1, start - 48)
        before = text[line_start:start]
        if _TITLE_BEFORE.search(before):  # "Mrs Kent", "Dr Reading"
            return False
        nxt = _NEXT_WORD.match(text, end)
        if one_word and (nxt is None or not nxt.group(1)[0].islower()):
            prev = _PREV_WORD.search(before)
            if prev is not None:
                word = prev.group(1)
                if (
                    len(word) > 1
                    and word[0].isupper()
                    and not word.isupper()
                    and word not in _OK_BEFORE
                    and word not in _LA_CONTEXT_WORDS
                    and line_start + prev.end(1) not in ends  # "Camden Islington": a list, not a name
                ):
                    return False
        if nxt is None:
            return True
        word = nxt.group(1)
        if word.lower() in _NOT_LA_NEXT_ANYCASE or word in _NOT_LA_NEXT_TITLE:
            return False
        if not one_word:
            return True
        if word[0].isupper() and not word.isupper() and len(word) > 1:
            # Part of a longer proper noun, unless it is LA talk or the next LA in a list ("Camden Islington").
            return word in _LA_CONTEXT_WORDS or word in _PRONOUN_I or nxt.start(1) in starts
        if word[0].islower() and key in _COMMON_WORD_NAMES:
            at_sentence_start = not before.strip() or before.rstrip()[-1] in ".!?:;"
            return not at_sentence_start
        return True

    def _add_misspelt_councils(self, text: str, mentions: list[LAMention]) -> list[LAMention]:
        starts = [m.start for m in mentions]
        extra: list[LAMention] = []
        for cm in _COUNCIL_PHRASE.finditer(text):
            # Mentions are sorted and disjoint: only the last one starting before this phrase ends can overlap.
            i = bisect.bisect_left(starts, cm.end()) - 1
            if i >= 0 and mentions[i].end > cm.start():
                continue
            words_start = cm.start(1)
            words = cm.group(1)
            # Try the whole run of capitalised words, then drop leading ones ("Contact Warington Borough
            # Council" -> "Warington").
            offsets = [0] + [pos + 1 for pos, c in enumerate(words) if c in " \t-"]
            for off in offsets:
                cand = _key(words[off:])
                if cand in self._by_key or cand in self._false_friend_keys:
                    break  # known and already judged by the main matcher
                matches = self._fuzzy_matches(cand)
                if matches:
                    score, la = max(matches, key=lambda sm: sm[0])
                    # Two LAs about as close is a guess: leave it to a person.
                    if all(other is la or other_score < score - 0.03 for other_score, other in matches):
                        begin = words_start + off
                        extra.append(LAMention(la, begin, cm.end(), text[begin : cm.end()], True))
                    break
        if not extra:
            return mentions
        return sorted([*mentions, *extra], key=lambda m: m.start)

    # -- what a reader of an email takes for councils ---------------------------------------------------

    def council_mentions(self, text: str) -> list[LAMention]:
        """``find`` plus misspelt "X Borough Council" phrases ``lookup`` resolves ("Warington Borough
        Council"), without mentions that are an address, a person, a saint or a street; a bare name run
        into another capitalised word is kept as `doubtful`. In order of discovery."""
        found = self.find(text)
        covered = [(m.start, m.end) for m in found]
        # Every match ends in "Council", written so (the pattern is case-sensitive): most texts have none,
        # and a substring test is far cheaper than the regex's scan of every position.
        for m in _COUNCIL_NAMED.finditer(text) if "Council" in text else ():
            if any(a < m.end() and m.start() < b for a, b in covered):
                continue
            la = self.lookup(m.group(1))
            if la is not None:
                found.append(LAMention(la, m.start(), m.end(), m.group(0), True))
        judged = (_judge_mention(text, mention) for mention in found)
        return [mention for mention in judged if mention is not None]

    def for_email_domain(self, address: str) -> LocalAuthority | None:
        """The council an officer's address names (...@lewisham.gov.uk, ...@royalgreenwich.gov.uk)."""
        domain = address.rpartition("@")[2].lower()
        if not _GOV_UK.search(domain):
            return None
        for label in domain.removesuffix(".gov.uk").split("."):
            if label in _NOT_COUNCIL_LABELS:
                continue
            la = self.lookup(label.replace("-", " "))
            if la is not None:
                return la
        return None


# --------------------------------------------------------------------------------------------------
# What a reader of an email takes for a council (Directory.council_mentions).

# "<Words> [City|County|...] Council": the words are looked up (tolerantly) when find() saw nothing there.
_COUNCIL_NAMED = re.compile(
    r"\b((?:[A-Z][\w'&-]+\s+){0,3}?[A-Z][\w'&-]+)\s+"
    r"(?:(?:City|County|Borough|Metropolitan Borough|District)\s+)?Council\b"
)
# A person's title or a saint's "St" before any mention, in any case ("mrs Sutton", "St Helens Road").
_HONORIFIC_BEFORE = re.compile(rf"(?i)\b(?:{_TITLES}|St)\.?\s+$")
# A capitalised word after a bare name that makes it a street, a place or a club ("Birmingham Road",
# "Sutton Coldfield", "Derby Hospital"): find()'s own lists, and these.
_PLACE_WORDS_AFTER = _words("Dr Coldfield Vale Business House Centre Center Town Villa")
# ...and the words that keep it a council ("Camden Children's", "Barnet SEND").
_DESIGNATORS = re.compile(
    r"(?:Council|County|City|Borough|Metropolitan|Local|Authority|LA|SEN|SEND|SENDIASS|IASS|EHC|EHCP|Children|"
    r"Childrens|Children's|Education|Inclusion|Family|Families)\b"
)
_NEXT_CAPITALISED = re.compile(r" ([A-Z][\w'&-]*)")
_PRONOUN_I = frozenset({"I", "I'd", "I'm", "I've", "I'll"})
_STREET_AFTER = re.compile(r"\s*(?:Road|Rd|Street|St|Lane|Avenue|Way|Place)\b")
_GOV_UK = re.compile(r"\.gov\.uk$")
_NOT_COUNCIL_LABELS = frozenset({"example", "www", "mail"})


def _inside_address_token(text: str, start: int, end: int) -> bool:
    """Part of an e-mail address or a web address ("sen@camden.gov.uk", "www.barnet.gov.uk")."""
    a = start
    while a > 0 and not text[a - 1].isspace():
        a -= 1
    b = end
    while b < len(text) and not text[b].isspace():
        b += 1
    token = text[a:b]
    return "@" in token or "://" in token or token.lower().startswith("www.")


def _judge_mention(text: str, mention: LAMention) -> LAMention | None:
    """The mention as a reader takes it, or None when it is not a council at all."""
    start, end = mention.start, mention.end
    if _inside_address_token(text, start, end):
        return None
    if _HONORIFIC_BEFORE.search(text[max(0, start - 8) : start]):
        return None  # "Mrs Sutton", "St Helens Road": a person or a saint, not a borough
    if mention.text.strip().lower() == "london":
        return None  # the city, not a council
    after = text[end : end + 40]
    if _STREET_AFTER.match(after):
        return None
    nxt = _NEXT_CAPITALISED.match(after)
    if nxt and nxt.group(1) in _PRONOUN_I:
        nxt = None  # "the council in Wakefield I'd like...": unpunctuated speech, not a longer proper noun
    if not mention.explicit and nxt and not _DESIGNATORS.match(nxt.group(1)):
        word = nxt.group(1)
        if word.lower() in _NOT_LA_NEXT_ANYCASE or word in _NOT_LA_NEXT_TITLE or word in _PLACE_WORDS_AFTER:
            return None
        return LAMention(mention.authority, start, end, mention.text, mention.explicit, doubtful=True)
    return mention


def _authority_from_json(entry: dict) -> LocalAuthority:
    ons_codes = entry.get("ons_codes") or ([entry["ons_code"]] if entry.get("ons_code") else [])
    dfe_codes = entry.get("dfe_codes") or ([entry["dfe_code"]] if entry.get("dfe_code") else [])
    return LocalAuthority(
        name=entry["name"],
        country=entry["country"],
        served=bool(entry["served"]),
        region=entry.get("region"),
        english_region=entry.get("english_region"),
        ons_codes=tuple(ons_codes),
        dfe_code=entry.get("dfe_code"),
        aliases=tuple(entry.get("aliases", ())),
        dfe_codes=tuple(dfe_codes),
        needs_council_word=bool(entry.get("needs_council_word", False)),
    )


def load_directory_from(path: Path) -> Directory:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Directory(
        [_authority_from_json(e) for e in data["authorities"]], false_friends=data.get("false_friends", ())
    )


@functools.cache
def load_directory() -> Directory:
    """The project's directory, read from data/local_authorities.json once per process."""
    return load_directory_from(DATA_PATH)
