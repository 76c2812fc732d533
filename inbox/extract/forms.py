"""Form fields: "Label: value", "Label - value", "Label | value", a label line then "| value", and tables
with a header row. Website forms and tables pasted as text say outright what a value is.

An attached form (source "attachment") is read the same way, and more: its unticked options are blank
(extract/ticks.py) and a ticked one is the value ("Best number to call: [X] Mobile" -> "Mobile"); its
headed sections say whose a field is ("Name" and "Telephone" under "Parent/carer details" are the
parent's, under "Referrer" the referrer's, under "The child" the child's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from inbox.extract.sources import Source
from inbox.extract.ticks import without_marks


@dataclass(slots=True)
class FormField:
    """One "Label: value" line (website forms, tables made text, "Phone - 0770...")."""

    kind: str
    label: str
    value: str
    source: Source
    start: int  # span of the value
    end: int
    section: str = ""  # an attached form's headed section: child | parent | referrer | other | "" (none)


_FIELD_LINE = re.compile(
    r"(?m)^[ ]*(?P<label>[A-Za-z][A-Za-z0-9'()/.&?, ]{0,45}?)[ ]*(?::|\||[ ]-[ ]|-(?=[ ]))[ ]*(?P<value>[^\n]*?)[ |]*$"
)
# A table whose cells came out one per line ("Name of child\n\nFelix Ashdown", or "\n| Felix Ashdown").
_FIELD_NEXT_LINE = re.compile(
    r"(?m)^[ ]*(?P<label>[A-Za-z][A-Za-z0-9'()/.&?, ]{0,45}?)[ ]*:?[ ]*\n(?:[ ]*\n)?[ ]*\|?[ ]*(?P<value>[^\n]*?)[ |]*$"
)
# An attached form's fields read the same, and also: a question's number before its label ("3. Child's
# date of birth", "Q4)"), and an answer on the line below its label read line by line, every line a
# possible label (a lookahead, so "Parent/carer" over "Name" over "Grace Adeyemi" does not pair wrongly).
_NUMBER = r"(?:(?:Q(?:uestion)?[ ]?)?\d{1,2}[a-z]?(?:[.)][ ]+|[.)]?[ ]*\|[ ]*)|Q\d{1,2}[ ]+)?"  # or in its own cell
# A form's question may be long (<= 10 words), marked as required ("Date of birth *") or qualified after a
# dash ("Telephone - mobile", "Child's name - first and last").
_LABEL = r"(?P<label>[A-Za-z][A-Za-z0-9'()/.&?,* -]{0,90}?)"
# " - " parts a label from its answer only when no ":" or "|" follows on the line (else it qualifies the label).
_FORM_LINE = re.compile(
    rf"(?m)^[ ]*{_NUMBER}{_LABEL}[ ]*(?P<sep>:|\||[ ]-[ ](?![^\n]*[:|])|-(?=[ ])(?![^\n]*[:|]))[ ]*"
    r"(?P<value>[^\n]*?)[ |]*$"
)
_FORM_NEXT_LINE = re.compile(
    rf"(?m)^[ ]*{_NUMBER}{_LABEL}[ ]*:?[ ]*\n(?=(?:[ ]*\n)?[ ]*\|?[ ]*(?P<value>[^\n]*?)[ |]*$)"
)
# A "Label: value" piece after a cell boundary: a page printed in two columns ("Child's name: Luca | Mobile:
# 07700 900709") or two fields on one row.
_FORM_PIECE = re.compile(r"(?m)\|[ ]*" + _LABEL + r"[ ]*:[ ]*(?P<value>[^\n|]*?)[ ]*(?=\||$)")
_NEXT_PIECE = re.compile(r"[ ]*\|[ ]*[A-Za-z][A-Za-z0-9'()/.&?, ]{0,45}?[ ]*:")
# "Does the child have an EHC plan? Yes / No (delete as appropriate)": the word not deleted is the answer
# (a Word form's struck-through word is dropped by the Word reader), or one written after it.
_DELETE_AS = re.compile(
    rf"(?im)^[ ]*{_NUMBER}(?P<label>[^\n|]{{3,120}}?[?:])[ ]*(?P<value>[^\n(]*?)[ ]*"
    r"\((?:please )?delete (?:as|where) (?:appropriate|applicable|necessary)\)[ ]*:?[ ]*(?P<after>[^\n]*?)[ ]*$"
)
_PUPIL = r"(?:child|young person|pupil|student|learner)"
_CHILD = rf"{_PUPIL}(?:\s*(?:/|or)\s*{_PUPIL})?"  # "child/young person", "child or young person"
_FIELD_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("decision_date", re.compile(
        r"(?i)\bdate\b.{0,30}\b(?:decision|letter)\b|\b(?:decision|letter)\b.{0,20}\bdated?\b"
        r"|\bdate of (?:the )?(?:la|council)\b|\bwhen (?:was|did) (?:the )?(?:decision|letter)")),
    ("service", re.compile(
        r"(?i)\b(?:service|services)\b(?! (?:user|area|manager))|\btype of (?:request|referral|support)"
        r"|\bwhat (?:are you asking|would you like|do you want|is being requested)|\brequest(?:ed|ing)?\b$"
        r"|^i (?:would like|want|am asking for|am requesting)\b")),
    ("dob", re.compile(r"(?i)\b(?:d\.? ?o\.? ?b\.?|date of birth|birth ?date|born)")),
    ("child_name", re.compile(
        rf"(?i)^(?:(?:the )?(?:{_CHILD}|son|daughter)(?:'?s)?(?: full)?(?: name)?"
        rf"|(?:full )?name of (?:the )?{_CHILD}"
        rf"|{_CHILD}(?:'?s)? (?:full |first |given )?name)$")),
    ("first_name", re.compile(rf"(?i)^(?:(?:{_CHILD})(?:'?s)? )?(?:first|fore|given) ?names?(?:\(s\))?$")),
    ("surname", re.compile(rf"(?i)^(?:(?:{_CHILD})(?:'?s)? )?(?:surname|last name|family name)$")),
    ("phone", re.compile(r"(?i)\b(?:phone|tel|telephone|mobile|mob|contact (?:no|number)|number|whatsapp|ddi"
                         r"|direct (?:line|dial)|landline)\b")),
    ("email", re.compile(r"(?i)\be-?mail\b")),
    ("la", re.compile(r"(?i)\b(?:local authority|council|la|borough|authority)\b")),
    ("plan", re.compile(r"(?i)\b(?:ehcp|ehc plan|education,? health and care plan|statement of sen)\b")),
    ("role", re.compile(r"(?i)^(?:i am a|i am|i'm a|(?:referrer'?s? |your )?role"
                        r"|relationship(?: to (?:the )?(?:child|young person))?|you are|are you"
                        r"|are you a|capacity|who are you|referrer type|enquirer type)\b")),
    ("school", re.compile(r"(?i)\b(?:school|setting|college|nursery|education provider|current placement)\b")),
    ("referrer_name", re.compile(r"(?i)^(?:your |full |contact |referrer'?s? |parent'?s? |parent/carer'?s? )?"
                                 r"(?:full )?name(?: of referrer)?$|^(?:parent|parent/carer|parent\(s\)|referrer)$"
                                 r"|^name of (?:the )?(?:parent|carer|parent/carer|parent or carer|referrer"
                                 r"|person making the referral)$")),
)  # fmt: skip
_FIELD_BLOCKLIST = re.compile(r"(?i)\b(?:reason|about|message|what|why|how|details|availability|time|hear)\b")


# Kinds only an attached form's fields have (the email's own "Label: value" lines keep the kinds they had).
_FORM_ONLY_KINDS = frozenset({"decision_date", "plan", "service", "first_name", "surname"})


def parse_fields(sources: list[Source]) -> list[FormField]:
    out: list[FormField] = []
    for src in sources:
        if src.name not in ("body", "forwarded", "quoted", "attachment"):
            continue
        form = src.name == "attachment"
        sections = _sections(src.norm) if form else []
        regexes = (_FORM_LINE, _FORM_NEXT_LINE, _FORM_PIECE) if form else (_FIELD_LINE, _FIELD_NEXT_LINE)
        for rx in regexes:
            for m in rx.finditer(src.norm):
                label = m.group("label").strip()
                if len(label.split()) > (10 if form else 7) or src.skipped(m.start()):
                    continue
                kind = _form_kind(label) if form else _field_kind(label)
                if kind in _FORM_ONLY_KINDS and not form:
                    continue
                if not kind:
                    continue
                if form:
                    raw, raw_start = m.group("value"), m.start("value")
                    nxt = _NEXT_PIECE.search(raw)
                    if nxt and _field_kind(raw[nxt.start() :].strip(" |").split(":")[0]):
                        raw = raw[: nxt.start()]  # the next column's field starts here
                    if _label_like(kind, raw):
                        continue  # a label, not an answer: "Parent/carer" over "Name"
                    if "sep" in m.groupdict() and m.group("sep").strip() == "-" and raw.strip()[:1].islower():
                        continue  # "Telephone - mobile": a qualifier of the label, the answer is elsewhere
                    value, start, end = without_marks(raw, raw_start)
                    section = _section_at(sections, m.start())
                    kind = _in_section(kind, section, label)
                    out.append(FormField(kind, label, value, src, start, end, section))
                else:
                    value = m.group("value")
                    out.append(FormField(kind, label, value.strip(), src, m.start("value"), m.end("value")))
        out.extend(_column_fields(src))
        if form:
            out.extend(_ticked_lines(src))
            out.extend(_unmarked_fields(src, sections))
            out.extend(_deleted_answers(src, sections))
    return out


# Values that are a label themselves, of the kinds whose labels are generic words ("Name", "Full name",
# "Date of birth"); a council's or a school's name says what it is and is an answer ("Kent County Council").
_LABEL_VALUE_KINDS = frozenset({"referrer_name", "child_name", "first_name", "surname", "dob", "phone", "email",
                                "decision_date"})  # fmt: skip


# A form's question said as a question ("What is your child's name?", "What is the best number to reach
# you on?"): the label it asks for.
_QUESTION_STEM = re.compile(
    r"(?i)^(?:(?:what|which|who)(?: is|'s| are| was)|please (?:give|enter|state|tell us))[ ]+(?:the[ ]+|your[ ]+)?"
)
_QUESTION_TAIL = re.compile(r"(?i)(?:[ ]+(?:on|at|with|for|please))?[ ?.:]*$")


def _form_kind(label: str) -> str | None:
    """A form's label's kind: as said, as a question ("What is your child's name?"), or without its
    required mark and its qualifier ("Child's name * - first and last", "Date of birth (DD/MM/YYYY)")."""
    plain = label.replace("*", " ").strip()
    return _field_kind(plain) or _field_kind(_question_label(plain)) or _field_kind(re.split(r" - | \(", plain)[0])


def _question_label(label: str) -> str:
    asked = _QUESTION_TAIL.sub("", _QUESTION_STEM.sub("", label.strip()))
    return re.sub(r"(?i)^(?:your|my|the)[ ]+(?=(?:child|son|daughter|young person)\b)", "", asked)


def _label_like(kind: str, raw: str) -> bool:
    if "[X]" in raw or kind in ("role", "service", "plan"):
        return False
    first = raw.split("|")[0].strip()
    if not first or any(ch.isdigit() for ch in first):
        return False
    if first.endswith("?"):
        return True  # a question: the answer is below it
    head = first.split(":")[0] if ":" in first else first
    return len(head.split()) <= 6 and _field_kind(head) in _LABEL_VALUE_KINDS


def _deleted_answers(src: Source, sections: list[tuple[int, str]]) -> list[FormField]:
    """ "Label? Yes / No (delete as appropriate)" with one word left, or the answer written after."""
    out = []
    for m in _DELETE_AS.finditer(src.norm):
        label = m.group("label").strip()
        kind = _form_kind(label.rstrip(":"))
        if not kind:
            continue
        if m.group("after"):
            start, value = m.start("after"), m.group("after")
        else:
            words = [w for w in re.finditer(r"[^/]+", m.group("value")) if w.group().strip()]
            if len(words) != 1:
                continue  # nothing deleted: no answer
            word = words[0]
            value = word.group().strip()
            start = m.start("value") + word.start() + (len(word.group()) - len(word.group().lstrip()))
        section = _section_at(sections, m.start())
        out.append(FormField(_in_section(kind, section, label), label, value, src, start, start + len(value), section))
    return out


# A form line whose label and value stand close with nothing between ("Child's name Ava Smith", a PDF
# whose columns are near): only for kinds whose label says unmistakably what follows.
_UNMARKED_LINE = re.compile(r"(?m)^[ ]*(?P<line>[A-Z][^\n:|\[]{3,78}?)[ ]*$")
_UNMARKED_KINDS = ("child_name", "dob", "la", "phone")


def _unmarked_fields(src: Source, sections: list[tuple[int, str]]) -> list[FormField]:
    out = []
    for m in _UNMARKED_LINE.finditer(src.norm):
        line = m.group("line")
        words = line.split()
        if len(words) < 2 or len(words) > 12 or line.rstrip().endswith((".", "?", ",")):
            continue
        found = None
        for n in range(1, min(6, len(words) - 1) + 1):
            label = " ".join(words[:n])
            if any(ch.isdigit() for ch in label):
                break
            kind = _field_kind(label)
            if kind in _UNMARKED_KINDS and (found is None or kind == "child_name"):
                found = (kind, label, n)
                if kind != "child_name":
                    break  # the shortest label: "Mobile" in "Mobile 07700 900123"
        if found is None:
            continue
        kind, label, n = found
        value_at = m.start("line")
        for word in words[:n]:
            value_at = src.norm.index(word, value_at) + len(word)
        rest = src.norm[value_at : m.end("line")]
        value = rest.strip()
        if not value or not (value[0].isupper() or value[0].isdigit() or value[0] in "+("):
            continue
        start = value_at + (len(rest) - len(rest.lstrip()))
        section = _section_at(sections, m.start())
        out.append(FormField(_in_section(kind, section, label), label, value, src, start, start + len(value), section))
    return out


# A ticked option standing on its own line ("[X] Mediation" under "Which service?").
_TICKED_LINE = re.compile(r"(?m)^[ ]*\[X\][ ]*(?P<value>[^\n\[|:]{2,60}?)[ ]*$")


def _ticked_lines(src: Source) -> list[FormField]:
    return [
        FormField("ticked", "", m.group("value"), src, m.start("value"), m.end("value"), "")
        for m in _TICKED_LINE.finditer(src.norm)
    ]


# A heading of an attached form: a short line that says what follows ("Section 2: Parent/carer details",
# "About the child", "Referrer").
_HEADING = re.compile(
    r"(?im)^[ ]*(?P<h>(?:(?:section|part)\s+\w{1,3}\b\s*[:.)-]?|\d{1,2}[.)])?[^\n:|]{0,60}?"
    r"(?:details|information|section|about|contact|referrer|parent/carer|parent or carer|young person|the child|"
    r"consent|decision|disagreement|background|request|your details|you\b)[^\n:|]{0,45}?"
    r"|(?:\d{1,2}[.)]\s*)?(?:the\s+)?(?:child|pupil|parents?|carers?|referrer|learner|student)(?:'s)?)[ ]*:?[ ]*$"
)
_SECTION_SUBJECTS = (
    ("referrer", re.compile(r"(?i)\b(?:referrer|referring|your details|about you|professional|person making"
                            r"|referred by|completed by|completing|filling in|agency|organisation)\b")),
    ("parent", re.compile(r"(?i)\b(?:parents?|carers?|guardians?|family|mother|father)\b")),
    ("child", re.compile(r"(?i)\b(?:child|young person|pupil|learner|student|son|daughter)\b")),
)  # fmt: skip


def _sections(norm: str) -> list[tuple[int, str]]:
    """Where each headed section of a form starts, and whose details it holds."""
    out = []
    for m in _HEADING.finditer(norm):
        heading = m.group("h")
        if len(heading.split()) > 9 or heading.rstrip().endswith("."):
            continue
        subject = next((who for who, rx in _SECTION_SUBJECTS if rx.search(heading)), "other")
        out.append((m.start(), subject))
    return out


def _section_at(sections: list[tuple[int, str]], pos: int) -> str:
    found = ""
    for start, subject in sections:
        if start > pos:
            break
        found = subject
    return found


def _in_section(kind: str, section: str, label: str) -> str:
    """A generic label read by the section it stands in ("Name" under "The child" is the child's)."""
    if kind == "referrer_name" and re.search(r"(?i)\b(?:parent|carer|mother|father)", label):
        return "parent_name"  # on a form a professional may fill in, the parent is not the referrer
    if kind == "referrer_name":
        return {"child": "child_name", "parent": "parent_name"}.get(section, kind)
    if kind in ("first_name", "surname"):
        child = section == "child" or re.match(rf"(?i){_CHILD}", label)
        return f"child_{kind}" if child else kind  # a parent's or referrer's: not read
    if section == "parent" and kind in ("dob", "role"):
        return f"parent_{kind}"  # the parent's own date of birth, their relationship: not the child's
    if section == "referrer" and kind == "school":
        return "organisation"  # the referrer's employer (often the school: the child's section says)
    return kind


_LINE = re.compile(r"[^\n]+")
_LABELLED_CELL = re.compile(r"[ ]*[A-Za-z][^:\n]{0,45}:[ ]*\S")
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
        if any(c.group().strip().endswith("?") for c in cells):
            continue  # rows of question and answer, not a header row over its values
        if any(_LABELLED_CELL.match(h.group()) for h in heads):
            continue  # "Label: value" cells side by side (two columns of fields), not a header row
        kinds = [_field_kind(h.group().strip()) for h in heads]
        if sum(k is not None for k in kinds) < 2:
            continue  # not a header row
        if "dob" in kinds:  # the child's row: "Surname | Forename | Date of birth"
            kinds = [f"child_{k}" if k in ("first_name", "surname") else k for k in kinds]
        for kind, h, c in zip(kinds, heads, cells, strict=True):
            if kind:
                raw = c.group()
                lead = len(raw) - len(raw.lstrip())
                value = raw.strip()
                start = data.start() + c.start() + lead
                out.append(FormField(kind, h.group().strip(), value, src, start, start + len(value)))
    return out


# A pure function of a short label, asked about every "Label: value" line and table cell (a dozen regex
# searches each); the same labels come back in every form of a kind ("Child's name", "Date of birth").
@lru_cache(maxsize=4096)
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
