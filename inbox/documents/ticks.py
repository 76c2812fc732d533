"""Tick boxes as one notation: "[X]" ticked, "[ ]" not, whatever glyph or typing the form used.

Forms tick with ☒ ☑ ✓ ✔ ✗ "[X]" "(x)" "[✓]"; they leave ☐ □ ❏ "[ ]" "( )" empty; or answer each option
"(Y/N) Y". Word's own check
boxes (content controls, legacy form fields, Wingdings symbols) are turned into the same glyphs by the
Word reader first.
"""

from __future__ import annotations

import re

TICKED = "[X]"
UNTICKED = "[ ]"
_TICKED_BRACKETS = re.compile(r"[\[(]\s*[xX✓✔✗✘√]\s*[\])]")
_UNTICKED_BRACKETS = re.compile(r"[\[(][ \u00a0]{0,3}[\])]")
_TICKED_GLYPHS = re.compile("[☒☑✓✔✗✘⊠√]")
_UNTICKED_GLYPHS = re.compile("[☐□❏❑◻⬜]")
_AS_GLYPH = re.compile(r"\[X\]|\[ \]")
# A box alone in a table cell belongs with the words in the next cell ("☒ | Mediation") or, at the end
# of a row, the one before ("Certificate only | ☐").
_BOX_THEN_CELL = re.compile(r"(\[[X ]\])[ \t]*\|[ \t]*")
_CELL_THEN_BOX = re.compile(r"(?m)[ \t]*\|[ \t]*(\[[X ]\])[ \t]*$")


# "Mediation (Y/N) Y   Certificate only (Y/N) N": each option answered yes or no. An option is ticked by
# its Y; a question ("Does the child have an EHC plan? (Y/N) Y") is answered Yes or No.
_YES_NO_ANSWER = re.compile(
    r"(?im)(?P<lead>^|[:|]|[ ]{2,})[ ]*(?P<opt>[^:|\n\[\]()]{1,60}?)[ ]*\((?:y/n|yes/no|y or n)\)[ ]*[:|]?[ ]*"
    r"(?P<answer>yes|no|y|n)\b"
)


def _yes_no(m: re.Match[str]) -> str:
    lead, option = m.group("lead"), m.group("opt").strip()
    yes = m.group("answer").lower().startswith("y")
    if option.endswith("?"):
        return f"{lead}{option} {'Yes' if yes else 'No'}"
    return f"{lead} {TICKED if yes else UNTICKED} {option}"


def normalise_ticks(text: str) -> str:
    text = _YES_NO_ANSWER.sub(_yes_no, text)
    text = _TICKED_BRACKETS.sub("\u2612", text)
    text = _UNTICKED_BRACKETS.sub("\u2610", text)
    text = _TICKED_GLYPHS.sub("\u2612", text)
    text = _UNTICKED_GLYPHS.sub("\u2610", text)
    text = text.replace("\u2612", TICKED).replace("\u2610", UNTICKED)
    text = _BOX_THEN_CELL.sub(r"\1 ", text)
    return _CELL_THEN_BOX.sub(r" \1", text)


def has_ticks(text: str) -> bool:
    return bool(_AS_GLYPH.search(text))
