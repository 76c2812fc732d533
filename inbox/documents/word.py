"""A Word .docx as text: paragraphs and tables in document order, the page header first.

Read from the document's XML (opened by python-docx) rather than `paragraph.text`, because a form's
answers live where `.text` does not look: check boxes (content controls, legacy form fields, Wingdings
symbols) become ☒/☐, and a merged cell is read once. A table row is its
cells joined by " | " ("Date of birth | 14/02/2013": inbox/extract/forms.py reads a label and its
value, or a header row over a row of values).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from docx import Document
from docx.opc.exceptions import PackageNotFoundError

from inbox.documents import Deadline, DocumentLimits, Extracted, Unreadable
from inbox.documents.zipped import open_zip

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
# Wingdings and Wingdings 2 code points forms use for a box, ticked or not (w:sym w:char).
_SYMBOL_TICKED = {"F0FE", "F0FD", "F078", "F0FC", "F050", "F052", "F054", "F053", "F04F"}
_SYMBOL_EMPTY = {"F0A8", "F06F", "F071", "F0A3", "F02A", "F0A1", "F030"}


def docx_text(data: bytes, limits: DocumentLimits, deadline: Deadline) -> Extracted:
    open_zip(data, limits).close()  # the sizes checked before python-docx unpacks anything
    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, SyntaxError,  # lxml's XMLSyntaxError is a SyntaxError
            zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:  # fmt: skip
        raise Unreadable(f"a damaged Word file that could not be opened ({type(exc).__name__})") from exc
    lines: list[str] = []
    cut = None
    for section in document.sections[:1]:  # a letterhead or a form's heading (our own address, often)
        header = section.header
        lines.extend(p.text for p in header.paragraphs)
        lines.extend(" | ".join(c.text for c in row.cells) for table in header.tables for row in table.rows)
    for line in _block_lines(document.element.body, deadline):
        lines.append(line)
        if deadline.passed():
            cut = f"the start of the document (time limit of {limits.max_seconds:g} s)"
            break
        if sum(map(len, lines)) > limits.max_chars:
            break
    return Extracted("\n".join(lines), cut=cut)


def _block_lines(parent: Any, deadline: Deadline) -> Iterator[str]:
    """The lines of a body, header or cell: paragraphs, and each table row as one line."""
    for child in parent.iterchildren():
        if child.tag == f"{W}p":
            yield _paragraph(child)
        elif child.tag == f"{W}tbl":
            yield ""
            for row in child.iter(f"{W}tr"):
                if deadline.passed():
                    return
                if row.getparent() is child:
                    yield _row(row, deadline)
            yield ""
        elif child.tag == f"{W}sdt":  # a content control around paragraphs or tables
            content = child.find(f"{W}sdtContent")
            if content is not None:
                yield from _block_lines(content, deadline)


def _row(row: Any, deadline: Deadline) -> str:
    cells = []
    kept = []
    for cell in row.iterchildren(f"{W}tc"):
        merge = cell.find(f"{W}tcPr/{W}vMerge")
        if merge is not None and merge.get(f"{W}val") != "restart":
            continue  # the continuation of a cell merged downwards: read once, in its first row
        kept.append(cell)
        text = " ".join(_paragraph(p) for p in cell.iter(f"{W}p")).strip()
        cells.append(text)
    if any(cell.find(f"{W}tbl") is not None for cell in kept):
        # A cell holding a table (a form's section laid out inside an outer frame): its paragraphs and
        # rows as lines of their own, not one run-on line mixing every label with every answer.
        return "\n".join("\n".join(_block_lines(cell, deadline)) for cell in kept)
    return " | ".join(c.rstrip(": ") for c in cells if c)


def _paragraph(p: Any) -> str:
    out: list[str] = []
    for el in p.iter():
        tag = el.tag
        if tag == f"{W}t":
            if not _struck(el):
                out.append(el.text or "")
        elif tag in (f"{W}tab", f"{W}ptab"):
            out.append("\t")
        elif tag in (f"{W}br", f"{W}cr"):
            out.append("\n")
        elif tag == f"{W}sym":
            char = (el.get(f"{W}char") or "").upper()
            out.append("☒" if char in _SYMBOL_TICKED else "☐" if char in _SYMBOL_EMPTY else "")
        elif tag == f"{W}checkBox":  # a legacy form field: its state, as the glyph Word shows
            out.append("☒" if _legacy_ticked(el) else "☐")
        elif tag == f"{W14}checkbox" and not _shows_glyph(p, el):
            checked = el.find(f"{W14}checked")
            out.append("☒" if checked is not None and checked.get(f"{W14}val") in ("1", "true") else "☐")
    return "".join(out).replace("\t", " ").strip()


def _struck(text: Any) -> bool:
    """Text struck through: a form's "Yes / No (delete as appropriate)" answered by striking a word."""
    props = text.getparent().find(f"{W}rPr")
    if props is None:
        return False
    for name in ("strike", "dstrike"):
        el = props.find(f"{W}{name}")
        if el is not None and el.get(f"{W}val", "true") not in ("0", "false", "off"):
            return True
    return False


def _legacy_ticked(box: Any) -> bool:
    for name in ("checked", "default"):
        el = box.find(f"{W}{name}")
        if el is not None:
            return el.get(f"{W}val", "1") in ("1", "true", "on")
    return False


def _shows_glyph(p: Any, box: Any) -> bool:
    """A content-control check box shows ☒/☐ as its text, which is read already; only without text
    does its state come from w14:checked."""
    sdt = box.getparent().getparent()  # w14:checkbox -> w:sdtPr -> w:sdt
    content = sdt.find(f"{W}sdtContent") if sdt is not None else None
    return content is not None and any((t.text or "").strip() for t in content.iter(f"{W}t"))
