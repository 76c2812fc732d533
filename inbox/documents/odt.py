"""An OpenDocument text (.odt) as text, from its content.xml with the standard library: paragraphs,
headings and tables in document order; a table row is its cells joined by " | "."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

from inbox.documents import Deadline, DocumentLimits, Extracted, Unreadable
from inbox.documents.zipped import member, open_zip

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def odt_text(data: bytes, limits: DocumentLimits, deadline: Deadline) -> Extracted:
    with open_zip(data, limits) as archive:
        content = member(archive, "content.xml", limits)
    if b"<!DOCTYPE" in content[:2000] or b"<!ENTITY" in content[:2000]:
        raise Unreadable("a damaged OpenDocument file (it declares entities)")  # never expand them
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise Unreadable("a damaged OpenDocument file (its text is not well-formed XML)") from exc
    body = root.find(f"{OFFICE}body/{OFFICE}text")
    if body is None:
        raise Unreadable("an OpenDocument file with no text body")
    lines: list[str] = []
    cut = None
    for line in _lines(body):
        lines.append(line)
        if deadline.passed():
            cut = f"the start of the document (time limit of {limits.max_seconds:g} s)"
            break
        if sum(map(len, lines)) > limits.max_chars:
            break
    return Extracted("\n".join(lines), cut=cut)


def _lines(parent: ET.Element) -> Iterator[str]:
    for child in parent:
        if child.tag in (f"{TEXT}p", f"{TEXT}h"):
            yield _inline(child).strip()
        elif child.tag == f"{TABLE}table":
            yield ""
            for row in _rows(child):
                cells = row.findall(f"{TABLE}table-cell")
                if any(cell.find(f"{TABLE}table") is not None for cell in cells):
                    # A cell holding a table (a form's section inside an outer frame): its paragraphs and
                    # rows as lines of their own, the inner rows read once.
                    for cell in cells:
                        yield from _lines(cell)
                    continue
                texts = [" ".join(_inline(p).strip() for p in cell.iter(f"{TEXT}p")).strip() for cell in cells]
                yield " | ".join(c.rstrip(": ") for c in texts if c)
            yield ""
        elif child.tag in (f"{TEXT}list", f"{TEXT}list-item", f"{TEXT}section"):
            yield from _lines(child)


def _rows(table: ET.Element) -> Iterator[ET.Element]:
    """A table's own rows (also those grouped as header rows), not the rows of a table inside a cell."""
    for child in table:
        if child.tag == f"{TABLE}table-row":
            yield child
        elif child.tag in (f"{TABLE}table-header-rows", f"{TABLE}table-rows", f"{TABLE}table-row-group"):
            yield from _rows(child)


def _inline(el: ET.Element) -> str:
    """A paragraph's text: spans, spaces (text:s), tabs and line breaks."""
    out = [el.text or ""]
    for child in el:
        if child.tag == f"{TEXT}s":
            count = child.get(f"{TEXT}c", "1")
            out.append(" " * min(int(count) if count.isdigit() else 1, 40))
        elif child.tag == f"{TEXT}tab":
            out.append(" ")
        elif child.tag == f"{TEXT}line-break":
            out.append("\n")
        else:
            out.append(_inline(child))
        out.append(child.tail or "")
    return "".join(out)
