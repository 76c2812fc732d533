"""A PDF's text layer, page by page (pypdf), in layout mode: a form's table keeps its columns apart, and
a wide gap between two pieces of a line becomes " | " (a cell boundary), so "Date of birth | 14/02/2013"
reads as a label and its value. A form filled in on screen keeps its answers in form fields (AcroForm),
not in the page's text: they follow the pages as "Label: value" lines (the field's tooltip, else its
name, as the label; a check box as "[X] Label" or "[ ] Label")."""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

from inbox.documents import Deadline, DocumentLimits, Extracted, Unreadable

# pypdf warns on every oddity of a broken file through logging: the file's problem, said once by us.
logging.getLogger("pypdf").setLevel(logging.ERROR)

_GAP = re.compile(r"(?<=\S) {4,}(?=\S)")
_BLANK_LINES = re.compile(r"\n{3,}")


def pdf_text(data: bytes, limits: DocumentLimits, deadline: Deadline) -> Extracted:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _opens_without_password(reader):
            raise Unreadable("encrypted (a password is needed to open it)", needs_person=True)
        pages = reader.pages
        count = len(pages)
        texts: list[str] = []
        chars = 0
        cut = None
        for number, page in enumerate(pages):
            if number >= limits.max_pages:
                cut = f"the first {limits.max_pages} of {count} pages"
                break
            if deadline.passed():
                cut = f"the first {number} of {count} pages (time limit of {limits.max_seconds:g} s)"
                break
            text = page.extract_text(extraction_mode="layout")
            texts.append(_cells(text))
            chars += len(text)
            if chars > limits.max_chars:
                break
        texts.append(_form_fields(reader))
    except Unreadable:
        raise
    except FileNotDecryptedError as exc:
        raise Unreadable("encrypted (a password is needed to open it)", needs_person=True) from exc
    except (PyPdfError, PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError,
            RecursionError, UnicodeError, ZeroDivisionError, OSError) as exc:  # fmt: skip
        # A damaged file makes pypdf raise many kinds of error (its own and Python's); each is the
        # file's problem, not ours. The type is said, for whoever looks into it.
        raise Unreadable(f"a damaged PDF that could not be opened ({type(exc).__name__})") from exc
    return Extracted("\n\n".join(t for t in texts if t), pages=count, cut=cut)


def _form_fields(reader: PdfReader) -> str:
    fields = reader.get_fields() or {}
    lines = []
    for name, field in list(fields.items())[:500]:
        label = str(field.get("/TU") or name).strip().rstrip(":")
        value = field.get("/V")
        if value is None or isinstance(value, list):
            continue
        text = str(value)
        if field.get("/FT") == "/Btn":
            if text.startswith("/"):  # a check box's state, or a radio group's chosen option
                on = text not in ("/Off", "/")
                states = {str(s) for s in field.get("/_States_", [])}
                if len(states - {"/Off"}) > 1:  # a radio group: the chosen option is the answer
                    lines.append(f"{label}: {text[1:]}" if on else "")
                else:
                    lines.append(f"{'[X]' if on else '[ ]'} {label}")
            continue
        text = " ".join(text.split())
        if text:
            lines.append(f"{label}: {text}")
    return "\n".join(line for line in lines if line)


def _opens_without_password(reader: PdfReader) -> bool:
    """Many forms are "protected" against editing only: they open with the empty password."""
    try:
        return bool(reader.decrypt(""))
    except (PyPdfError, NotImplementedError, ValueError, KeyError) as exc:  # no AES support, or broken
        raise Unreadable("encrypted in a way we cannot open", needs_person=True) from exc


def _cells(page_text: str) -> str:
    """Each line stripped of its layout indent, wide gaps made cell boundaries, runs of blank lines one."""
    raw = _text_columns(_wrapped_labels(page_text.splitlines()))
    lines = [_GAP.sub(" | ", _unjustified(line.strip())) for line in raw]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_WIDE_SPACES = re.compile(r"(?<=\S)[ ]{2,3}(?=\S)")


def _unjustified(line: str) -> str:
    """A justified line of prose is laid out with its words two or three spaces apart ("please  contact  me
    on  0121  496  0706"): single spaces again, so numbers and phrases read whole. A form's line, whose
    few wide gaps part a label from its answer, is left as it is."""
    gaps = re.findall(r"(?<=\S)[ ]+(?=\S)", line)
    if len(gaps) < 5 or sum(1 < len(g) < 4 for g in gaps) < 0.6 * len(gaps):
        return line
    return _WIDE_SPACES.sub(" ", line)


_ONE_GAP = re.compile(r"^(?P<left>[ ]*\S.*?\S?)(?P<gap>[ ]{4,})(?P<right>\S.*)$")
_LABELLED = re.compile(r"^[ ]*[A-Za-z][^:]{0,45}:[ ]*\S")


def _text_columns(lines: list[str]) -> list[str]:
    """A page printed in two columns of "Label: value" lines (a form laid out by Word in columns) comes
    out of layout mode with its columns side by side, line by line: the left column is put first, then
    the right, so each column's headings stay over their own fields ("About the child" / "About you")."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        first = _ONE_GAP.match(lines[i])
        if first is None or _GAP.search(first.group("left").strip()) or _GAP.search(first.group("right")):
            out.append(lines[i])
            i += 1
            continue
        col = first.start("right")
        left: list[str] = []
        right: list[str] = []
        both_labelled = 0
        j = i
        while j < len(lines) and lines[j].strip():
            line = lines[j]
            m = _ONE_GAP.match(line)
            if m and abs(m.start("right") - col) <= 3 and not _GAP.search(m.group("right")):
                left.append(m.group("left"))
                right.append(m.group("right"))
                both_labelled += bool(_LABELLED.match(m.group("left")) and _LABELLED.match(m.group("right")))
            elif not _GAP.search(line.strip()) and _indent(line) >= col - 3:
                right.append(line.strip())
            elif not _GAP.search(line.strip()) and len(line.rstrip()) < col:
                left.append(line)
            else:
                break
            j += 1
        if j - i >= 3 and both_labelled >= max(2, (j - i) // 2):
            out += [*left, "", *right]
            i = j
        else:
            out += lines[i:j]  # a table of labels and answers: as it is
            i = j
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _wrapped_labels(lines: list[str]) -> list[str]:
    """A table's label cell wrapped onto two lines, its answer printed between them in the next column:
    "What is the best number to reach you" / "            07700 900712" / "on?" becomes one line
    "What is the best number to reach you on?      07700 900712"."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i + 2 < len(lines):
            a, b, c = lines[i], lines[i + 1], lines[i + 2]
            if (
                a.strip() and b.strip() and c.strip()
                and _indent(b) >= _indent(a) + len(a.strip()) + 2  # the answer stands in the next column
                and abs(_indent(c) - _indent(a)) <= 2
                and c.strip()[0].islower() and len(c.split()) <= 6  # the label's last words, wrapped
                and not _GAP.search(a.strip()) and not _GAP.search(c.strip())
            ):  # fmt: skip
                out.append(f"{a.rstrip()} {c.strip()}    {b.strip()}")
                i += 3
                continue
        out.append(lines[i])
        i += 1
    return out
