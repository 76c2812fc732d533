"""A regular expression behind a cheap gate: it runs only when the words it needs are in the text.

Most of the patterns that read mail (the classifier's rules, extraction's cues) are case-insensitive
alternations the regex engine must try at every position of a text, and most mail contains none of
their key words. A plain substring test on a case-folded copy of the text is far cheaper, so each
pattern names *needles*: words every match contains. The gate opens only when, for every group of
needles, one of the group is in the folded text.

The fold must keep every match: under re.IGNORECASE, "ı" matches "i", "ſ" matches "s" and "İ" matches
"i", which str.lower() leaves alone or turns into "i" plus U+0307 (these three are the only characters
re.IGNORECASE equates with an ASCII letter that str.lower() does not turn into that letter), so they are
mapped after lowering. Dropping every U+0307 may only open a gate more often, never less.

Most texts are plain ASCII, and on those a pattern runs as compiled with re.ASCII: the engine compares
case-insensitive letters through an ASCII table instead of Unicode case mapping, a third faster over all
the patterns. On such a text the two compilations find the same matches when no character of the pattern
folds to ASCII (`ascii_twin`): \\w, \\d and \\b mean the same on ASCII characters, and the only characters
re.IGNORECASE equates with an ASCII letter (K, ſ, ı, İ) are not ASCII; \\s differs only on the four
separators U+001C..U+001F, so a text holding one of them is not taken as plain (`plain_ascii`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

# A needle without any of these is plain text, found with `in` (several times faster than a regex scan);
# one with them is a regex fragment (r"\bmediat" keeps "immediately" from opening the gate).
_REGEX_SYNTAX = re.compile(r"[\\.^$*+?{}\[\]|()]")


def fold(text: str) -> str:
    """The text the gates look at: lower case, with re.IGNORECASE's three odd equivalences undone."""
    low = text.lower()
    if not low.isascii():  # str.translate would cost more than all the gates save on non-ASCII text
        low = low.replace("\u0131", "i").replace("\u017f", "s").replace("\u0307", "")
    return low


# What in a pattern's source stands for a character beyond ASCII: the character itself or \uXXXX (each looked
# at below), \U or \N{}; and a range with such a bound, which may hold one of the four below.
_WIDE_ESCAPE = re.compile(r"\\(?:U|N|u(?![0-9a-fA-F]{4}))")
_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_WIDE_RANGE = re.compile(r"-\\u|\\u[0-9a-fA-F]{4}-|[^\x00-\x7f]-|-[^\x00-\x7f]")
# The only characters re.IGNORECASE equates with ASCII ones (İ and ı with i, ſ with s, the Kelvin sign with k):
# found by trying every code point against every ASCII character.
_FOLDS_TO_ASCII = frozenset({0x130, 0x131, 0x17F, 0x212A})
_UNICODE_ONLY_SPACE = ("\x1c", "\x1d", "\x1e", "\x1f")  # \s in Unicode mode, not in ASCII mode
_PLAIN_KEY = -1  # a text's answer to plain_ascii, kept in its memo beside the gates' (whose keys are >= 0)


def ascii_twin(rx: re.Pattern[str]) -> re.Pattern[str]:
    """`rx` compiled with re.ASCII when it matches exactly as `rx` does on a plain ASCII text, else `rx`:
    no character of its source beyond ASCII (written or as \\uXXXX) is one of the four that fold to
    ASCII or a range's bound."""
    source = rx.pattern
    if _WIDE_ESCAPE.search(source) or _WIDE_RANGE.search(source):
        return rx
    codes = [int(code, 16) for code in _U_ESCAPE.findall(source)]
    if not source.isascii():
        codes += [ord(c) for c in source if ord(c) > 0x7F]
    if any(code in _FOLDS_TO_ASCII for code in codes):
        return rx
    try:
        return re.compile(source, (rx.flags & ~re.UNICODE) | re.ASCII)
    except (re.error, ValueError):  # (?u) in the pattern itself
        return rx


def plain_ascii(text: str, memo: dict[int, bool] | None = None) -> bool:
    """Whether the ASCII twins may read `text` (str.isascii is a flag lookup; the separators are rare)."""
    known = memo.get(_PLAIN_KEY) if memo is not None else None
    if known is None:
        known = text.isascii()
        if known:
            for separator in _UNICODE_ONLY_SPACE:
                if separator in text:
                    known = False
                    break
        if memo is not None:
            memo[_PLAIN_KEY] = known
    return known


# Each distinct needle group's key in the memos: patterns with the same group share its answer.
_GATE_KEYS: dict[str, int] = {}


def _gate(group: tuple[str, ...]) -> tuple[int, re.Pattern[str] | None, tuple[str, ...]]:
    """(memo key, the group as a regex when a needle is one, else None: its words are found with `in`)."""
    joined = "|".join(group)
    key = _GATE_KEYS.setdefault(joined, len(_GATE_KEYS))
    return key, (re.compile(joined) if any(_REGEX_SYNTAX.search(n) for n in group) else None), group


class Gated:
    """`pattern`, run only when every needle group has a hit in the folded text.

    `needles`: each a word (a group of one) or a tuple of words (any of them will do).
    `anchor`: a word every match contains; the pattern then runs only in windows around it (`reach` =
    characters before, after), not from every position of the text. Lookarounds still see the whole text.
    `memo` (optional, per text): gate -> found, shared by patterns with the same needles; `anchors` (optional,
    per text): where each anchor is, shared by patterns with the same anchor.
    `shared`: several readers run it over the same texts (a source then keeps its matches).
    """

    __slots__ = ("after", "anchor", "ascii_anchor", "ascii_rx", "before", "gates", "rx", "shared")

    def __init__(
        self,
        pattern: str | re.Pattern[str],
        *needles: str | tuple[str, ...],
        anchor: str | None = None,
        reach: tuple[int, int] = (0, 0),
        shared: bool = False,
    ) -> None:
        self.rx = re.compile(pattern)
        groups = [(n,) if isinstance(n, str) else n for n in needles]
        self.gates = tuple(_gate(group) for group in groups)
        self.anchor = re.compile(anchor, re.IGNORECASE) if anchor else None
        # The same patterns for a plain ASCII text (the module's docstring says why they match the same).
        self.ascii_rx = ascii_twin(self.rx)
        self.ascii_anchor = ascii_twin(self.anchor) if self.anchor is not None else None
        self.before, self.after = reach
        # Run by several readers over the same text (a source keeps its matches: inbox/extract/sources.py).
        self.shared = shared

    def open(self, folded: str, memo: dict[int, bool] | None = None) -> bool:
        # The hot path of every gated pattern (tens of thousands of calls a thousand messages): a plain
        # loop, not any() over a generator, and memo keys that are small ints, not compiled patterns
        # (a Pattern's hash is worked out from its code on every lookup).
        for key, rx, words in self.gates:
            hit = memo.get(key) if memo is not None else None
            if hit is None:
                if rx is not None:
                    hit = rx.search(folded) is not None
                else:
                    hit = False
                    for word in words:
                        if word in folded:
                            hit = True
                            break
                if memo is not None:
                    memo[key] = hit
            if not hit:
                return False
        return True

    def finditer(
        self,
        text: str,
        folded: str,
        memo: dict[int, bool] | None = None,
        anchors: dict[str, list[tuple[int, int]]] | None = None,
    ) -> Iterator[re.Match[str]]:
        if not self.open(folded, memo):
            return iter(())
        plain = plain_ascii(text, memo)
        rx = self.ascii_rx if plain else self.rx
        if self.anchor is None:
            return rx.finditer(text)
        return self._around_anchors(text, rx, self._anchor_spans(text, plain, anchors))

    def search(
        self,
        text: str,
        folded: str,
        pos: int = 0,
        endpos: int = sys.maxsize,
        memo: dict[int, bool] | None = None,
        anchors: dict[str, list[tuple[int, int]]] | None = None,
    ) -> re.Match[str] | None:
        if not self.open(folded, memo):
            return None
        plain = plain_ascii(text, memo)
        rx = self.ascii_rx if plain else self.rx
        if self.anchor is None:
            return rx.search(text, pos, endpos)
        around = self._around_anchors(text, rx, self._anchor_spans(text, plain, anchors))
        return next((m for m in around if m.start() >= pos and m.end() <= endpos), None)

    def _anchor_spans(
        self, text: str, plain: bool, anchors: dict[str, list[tuple[int, int]]] | None
    ) -> list[tuple[int, int]]:
        """Where the anchor is found in `text`; with `anchors` (per text), found once for every pattern
        with the same anchor (five of the service's cues are anchored on "mediat")."""
        anchor = self.ascii_anchor if plain else self.anchor
        assert anchor is not None
        spans = anchors.get(anchor.pattern) if anchors is not None else None
        if spans is None:
            spans = [a.span() for a in anchor.finditer(text)]
            if anchors is not None:
                anchors[anchor.pattern] = spans
        return spans

    def _around_anchors(
        self, text: str, rx: re.Pattern[str], anchor_spans: list[tuple[int, int]]
    ) -> Iterator[re.Match[str]]:
        done = 0  # end of the last match given: windows may overlap, matches may not repeat
        for a_start, a_end in anchor_spans:
            if a_start < done:
                continue
            end = min(len(text), a_end + self.after)
            if not self.before:  # the match starts at the anchor: one attempt, not a scan
                m = rx.match(text, a_start, end)
                if m:
                    done = m.end()
                    yield m
                continue
            for m in rx.finditer(text, max(a_start - self.before, done), end):
                if m.start() >= done:
                    done = m.end()
                    yield m
