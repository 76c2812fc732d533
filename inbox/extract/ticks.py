"""Tick boxes in a form's text ("[X]" ticked, "[ ]" not: inbox/documents/ticks.py makes every form's
boxes so). An option left unticked is not an answer: its words are blanked in the normalised text (same
length, so spans still point at the original), and no reader can take "Certificate only [ ]" for a
request or "[ ] Home 0161 496 0000" for the number to call.

Which words a box belongs to: a line piece (between "|" cells) that ends in a box has its boxes after
their words ("Yes [X] No [ ]"); otherwise each box comes before its words ("[X] Mobile [ ] Home").
"""

from __future__ import annotations

import re

_BOX = re.compile(r"\[[X ]\]")
_PIECE = re.compile(r"[^|\n]+")
_QUESTION_END = re.compile(r".*[:?]")


def blank_unticked(norm: str) -> str:
    if "[ ]" not in norm:
        return norm
    out = list(norm)
    for piece in _PIECE.finditer(norm):
        text = piece.group()
        boxes = list(_BOX.finditer(text))
        if not any(b.group() == "[ ]" for b in boxes):
            continue
        base = piece.start()
        boxes_after = not text[boxes[-1].end() :].strip()
        for i, box in enumerate(boxes):
            if box.group() != "[ ]":
                continue
            if boxes_after:
                if i > 0:
                    start = boxes[i - 1].end()
                else:
                    question = _QUESTION_END.match(text, 0, box.start())
                    start = question.end() if question else 0
                end = box.end()
            else:
                start = box.start()
                end = boxes[i + 1].start() if i + 1 < len(boxes) else len(text)
            out[base + start : base + end] = " " * (end - start)
    return "".join(out)


_TICK = re.compile(r"\[X\]")
# The words a box stands for end at the next box, cell or wide gap: "[X] Mediation   Certificate only"
# (a form whose empty boxes are drawn, not written, shows no mark before the options not chosen).
_AFTER_TICK = re.compile(r"[ ]*(?P<words>[^\[|\n]*?)(?=[ ]{2,}|[ ]*\||[ ]*\[|[ ]*$)")


def without_marks(value: str, start: int) -> tuple[str, int, int]:
    """A field's answer without its tick ("[X] Mobile  Home" -> "Mobile", "Yes [X]" -> "Yes"), and its
    span; a value with no tick, stripped."""
    tick = _TICK.search(value)
    if tick is None:
        a = len(value) - len(value.lstrip())
        stripped = value.strip()
        return stripped, start + a, start + a + len(stripped)
    after = _AFTER_TICK.match(value, tick.end())
    if after is not None and after.group("words").strip():
        a, b = after.start("words"), after.end("words")
    else:  # the box after its words: "Yes [X]"
        before = value[: tick.start()]
        a = max(before.rfind("]"), before.rfind("|")) + 1
        b = tick.start()
    words = value[a:b]
    lead = len(words) - len(words.lstrip())
    stripped = words.strip()
    return stripped, start + a + lead, start + a + lead + len(stripped)
