"""inbox/gated.py: a pattern's ASCII twin finds exactly what the pattern finds on plain ASCII text, and is
only used on such text."""

from __future__ import annotations

import random
import re

from inbox.gated import Gated, ascii_twin, fold, plain_ascii
from tests.inbox_values import inbox_values


def _all_gated() -> list[Gated]:
    """Every gated pattern the project's modules hold, alone or in their tables (tuples of tuples). Not
    gc.get_objects(): intake freezes the collector's objects, which that then leaves out."""
    found = {id(value): value for value in inbox_values() if isinstance(value, Gated)}
    return list(found.values())


def test_every_pattern_of_the_project_has_a_twin() -> None:
    patterns = _all_gated()
    assert len(patterns) > 50
    assert all(p.ascii_rx is not p.rx for p in patterns)


def test_twins_find_the_same_matches_on_ascii_text() -> None:
    patterns = _all_gated()
    words = sorted({w.lower() for p in patterns for w in re.findall(r"[A-Za-z']{2,}", p.rx.pattern)})
    pieces = [*words, *(w.title() for w in words), *(w.upper() for w in words[::7])]
    pieces += [" ", "  ", "\n", "\t", "\r\n", "\x0b", "\x0c", ".", ",", "?", "'", "-", ":", "|", "(", "12", "@", "_"]
    rng = random.Random(5)
    for _ in range(300):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        for p in patterns:
            assert [m.span() for m in p.rx.finditer(text)] == [m.span() for m in p.ascii_rx.finditer(text)]
            found = [m.span() for m in p.finditer(text, fold(text))]
            assert found == [m.span() for m in p.finditer(text, fold(text), {})]


def test_no_twin_where_a_character_folds_to_ascii() -> None:
    # İ, ı, ſ and the Kelvin sign match ASCII letters under re.IGNORECASE, in re.ASCII mode they do not.
    for source in (
        "(?i)\u017fign",
        r"(?i)\u017fign",
        r"(?i)[\u0100-\u0200]x",
        "(?i)[\u0100-\u0200]x",
        r"(?i)\u212a",
        r"(?i)\U0000017f",
        "(?i)[\u00e0-\u0200]",
        r"(?i)\N{LATIN SMALL LETTER DOTLESS I}",
    ):
        rx = re.compile(source)
        assert ascii_twin(rx) is rx
    for source in (r"(?i)\bunsubscribe\s*[|\u00b7\u2022]", "(?i)r[\u00e9e]f\u00e9rence|\u043f\u0435\u0440"):
        rx = re.compile(source)
        assert ascii_twin(rx) is not rx


def testplain_ascii_text() -> None:
    assert plain_ascii("Dear team,\r\n\tthanks", None)
    assert not plain_ascii("caf\u00e9", None)
    # \s matches the separators U+001C..U+001F in Unicode mode only.
    assert not plain_ascii("a\x1cb", None)
    assert re.compile(r"a\sb").search("a\x1cb") and not re.compile(r"a\sb", re.ASCII).search("a\x1cb")
    memo: dict[int, bool] = {}
    assert plain_ascii("plain", memo) and memo == {-1: True}
