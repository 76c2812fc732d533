"""Form fields: "Label: value", "Label - value", "Label | value", a label line then "| value", and tables
with a header row. Website forms and tables pasted as text say outright what a value is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from inbox.extract.sources import Source


@dataclass(slots=True)
class FormField:
    """One "Label: value" line (website forms, tables made text, "Phone - 0770...")."""

    kind: str
    label: str
    value: str
    source: Source
    start: int  # span of the value
    end: int


_FIELD_LINE = re.compile(
    r"(?m)^[ ]*(?P<label>[A-Za-z][A-Za-z0-9'()/.&?, ]{0,45}?)[ ]*(?::|\||[ ]-[ ]|-(?=[ ]))[ ]*(?P<value>[^\n]*?)[ |]*$"
)
# A table whose cells came out one per line ("Name of child\n\nFelix Ashdown", or "\n| Felix Ashdown").
_FIELD_NEXT_LINE = re.compile(
    r"(?m)^[ ]*(?P<label>[A-Za-z][A-Za-z0-9'()/.&?, ]{0,45}?)[ ]*:?[ ]*\n(?:[ ]*\n)?[ ]*\|?[ ]*(?P<value>[^\n]*?)[ |]*$"
)
_FIELD_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dob", re.compile(r"(?i)\b(?:d\.? ?o\.? ?b\.?|date of birth|birth ?date|born)")),
    ("child_name", re.compile(
        r"(?i)^(?:(?:the )?(?:child|young person|pupil|student|learner|son|daughter)(?:'?s)?(?: full)?(?: name)?"
        r"|(?:full )?name of (?:the )?(?:child|young person|pupil|student|learner)"
        r"|(?:child|young person|pupil|student|learner)(?:'?s)? (?:full |first |given )?name)$")),
    ("phone", re.compile(r"(?i)\b(?:phone|tel|telephone|mobile|mob|contact (?:no|number)|number|whatsapp|ddi)\b")),
    ("email", re.compile(r"(?i)\be-?mail\b")),
    ("la", re.compile(r"(?i)\b(?:local authority|council|la|borough|authority)\b")),
    ("role", re.compile(r"(?i)^(?:i am a|i am|i'm a|role|relationship(?: to (?:the )?(?:child|young person))?|you are"
                        r"|are you a|capacity|who are you|referrer type|enquirer type)\b")),
    ("school", re.compile(r"(?i)\b(?:school|setting|college|nursery|education provider|current placement)\b")),
    ("referrer_name", re.compile(r"(?i)^(?:your |full |contact |referrer'?s? |parent'?s? |parent/carer'?s? )?"
                                 r"(?:full )?name(?: of referrer)?$|^(?:parent|parent/carer|parent\(s\)|referrer)$")),
)  # fmt: skip
_FIELD_BLOCKLIST = re.compile(r"(?i)\b(?:reason|about|message|what|why|how|details|availability|time|hear)\b")


def parse_fields(sources: list[Source]) -> list[FormField]:
    out: list[FormField] = []
    for src in sources:
        if src.name not in ("body", "forwarded", "quoted"):
            continue
        for rx in (_FIELD_LINE, _FIELD_NEXT_LINE):
            for m in rx.finditer(src.norm):
                label = m.group("label").strip()
                if len(label.split()) > 7 or src.skipped(m.start()):
                    continue
                kind = _field_kind(label)
                if kind:
                    value = m.group("value")
                    out.append(FormField(kind, label, value.strip(), src, m.start("value"), m.end("value")))
        out.extend(_column_fields(src))
    return out


_LINE = re.compile(r"[^\n]+")
_CELL = re.compile(r"[^|]+")


def _column_fields(src: Source) -> list[FormField]:
    """A table with a header row: "Child's name | Date of birth | School" over "Ava Lee | 02/03/2015 | ..."."""
    out: list[FormField] = []
    if src.norm.count("|") < 4:
        return out
    rows = [m for m in _LINE.finditer(src.norm) if m.group().count("|") >= 1 and m.group().strip(" |")]
    for head, data in pairwise(rows):
        heads = [c for c in _CELL.finditer(head.group()) if c.group().strip()]
        cells = [c for c in _CELL.finditer(data.group()) if c.group().strip()]
        if len(heads) < 2 or len(heads) != len(cells) or src.norm.count("\n", head.end(), data.start()) > 2:
            continue
        kinds = [_field_kind(h.group().strip()) for h in heads]
        if sum(k is not None for k in kinds) < 2:
            continue  # not a header row
        for kind, h, c in zip(kinds, heads, cells, strict=True):
            if kind:
                raw = c.group()
                lead = len(raw) - len(raw.lstrip())
                value = raw.strip()
                start = data.start() + c.start() + lead
                out.append(FormField(kind, h.group().strip(), value, src, start, start + len(value)))
    return out


def _field_kind(label: str) -> str | None:
    low = label.lower().strip(" .?")
    for kind, rx in _FIELD_KINDS:
        if rx.search(low):
            if kind in ("la", "school", "phone") and _FIELD_BLOCKLIST.search(low):
                continue
            if kind == "la" and re.search(r"(?i)\b(?:officer|contact|e-?mail|phone|tel|name of officer)\b", low):
                continue
            return kind
    return None
