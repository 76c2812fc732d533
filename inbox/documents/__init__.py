"""The text of a referral's attachments: forms and letters sent as PDF, Word (.docx) or OpenDocument (.odt).

`read_document(name, content_type, data, limits)` turns one attachment's bytes into a `DocumentText`:
its text when it has some (`read`), else why not. It never raises and is bounded: a file over
`limits.max_bytes`, a ZIP that would unpack past `limits.max_unpacked_bytes`, more than `limits.max_pages`
pages or `limits.max_chars` characters, or more than `limits.max_seconds` of work is cut or refused, and
says so. What cannot be read by us (an encrypted or broken file) is a `problem`; what a person can read
but we cannot (a scanned PDF with no text layer, an old binary `.doc`) also `needs_person`, so the case
says "attachment needs a person to read". A table row comes out as its cells joined by " | ", tick
boxes as "[X]" (ticked) and "[ ]" (not): `inbox.extract` reads them as form fields.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from inbox.documents.kinds import kind_of
from inbox.documents.ticks import normalise_ticks
from inbox.pickled import by_fields

log = logging.getLogger(__name__)
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """How much reading one attachment may take (within the whole message's MDESK_READ_TIMEOUT_SECONDS)."""

    max_bytes: int = 15 * MB  # a referral form is rarely over 1 MB; a 15 MB one is photos, read by a person
    max_unpacked_bytes: int = 60 * MB  # .docx/.odt are ZIPs: a small file may unpack to gigabytes
    max_seconds: float = 5.0  # checked between pages, paragraphs and table rows
    max_pages: int = 40
    max_chars: int = 200_000
    max_documents: int = 10  # per message; further attachments are listed, not read
    # All of a message's documents together: within the message's own bound (MDESK_READ_TIMEOUT_SECONDS,
    # past which the whole message would be quarantined), so the email and what was read still count.
    max_total_seconds: float = 10.0


@by_fields
@dataclass(slots=True)
class DocumentText:
    """One attachment as read: its text, or why there is none."""

    filename: str
    content_type: str
    size: int
    kind: str | None  # pdf | docx | odt | doc | rtf | text | image (a photographed form); None: not a document
    text: str = ""
    read: bool = False  # text was read from it (perhaps cut short: see problem)
    problem: str | None = None  # for the coordinator, without the file's contents
    needs_person: bool = False  # a person can read it and we cannot: noted on the case
    pages: int = 0

    def describe(self) -> dict[str, object]:
        """What parse-email --json lists of it."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "kind": self.kind,
            "size": self.size,
            "text_read": self.read,
            "needs_person": self.needs_person,
            "problem": self.problem,
        }


class Deadline:
    """The time one document may take, checked between pages, paragraphs and rows."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() > self.end


class TooBig(Exception):
    """A document over a size bound (before or while unpacking); the message says which."""


class Unreadable(Exception):
    """A document we cannot read (encrypted, broken); `needs_person` when a person can."""

    def __init__(self, reason: str, *, needs_person: bool = False) -> None:
        super().__init__(reason)
        self.needs_person = needs_person


@dataclass(slots=True)
class Extracted:
    """What a format's reader got: the text, pages seen, and why it stopped early, if it did."""

    text: str
    pages: int = 0
    cut: str | None = None


def read_document(
    filename: str, content_type: str, data: bytes, limits: DocumentLimits, *, seconds: float | None = None
) -> DocumentText:
    """One attachment's text, bounded; never raises. `seconds`: less time than limits.max_seconds (what
    is left of the message's budget)."""
    kind = kind_of(filename, content_type, data[:8])
    doc = DocumentText(filename, content_type, len(data), kind)
    if kind is None:
        return doc
    if kind == "doc" and (filename.lower().endswith((".docx", ".docm")) or "openxml" in content_type.lower()):
        # Word's own password protection wraps the .docx in the old binary container.
        return _needs_person(doc, "encrypted (a password is needed to open it)")
    if kind in ("doc", "rtf"):
        return _needs_person(doc, f"an old Word file (.{kind}) we cannot read")
    if len(data) > limits.max_bytes:
        return _needs_person(
            doc, f"too large to read here ({len(data) // MB} MB; we read up to {limits.max_bytes // MB} MB)"
        )
    try:
        got = _extract(
            kind, data, limits, min(limits.max_seconds, seconds if seconds is not None else limits.max_seconds)
        )
    except TooBig as exc:
        return _needs_person(doc, str(exc))
    except Unreadable as exc:
        doc.problem = str(exc)
        doc.needs_person = exc.needs_person
        return doc
    except Exception as exc:
        # The readers catch what a damaged file is known to raise; a library meeting hostile bytes can
        # raise anything else. That is still the file's problem (said, with the type, on the case and
        # logged at WARNING without its contents), and the rest of the message is read.
        log.warning("attachment reading: a %s reader raised %s", kind, type(exc).__name__)
        log.debug("attachment reading failed", exc_info=exc)
        doc.problem = f"a damaged file that could not be read ({type(exc).__name__})"
        doc.needs_person = True
        return doc
    text = normalise_ticks(got.text)[: limits.max_chars]
    doc.pages = got.pages
    if not text.strip():
        if got.cut:
            return _needs_person(doc, f"not read: the bound was reached before any text ({got.cut})")
        if kind == "pdf":
            return _needs_person(doc, "a scanned PDF with no text layer")
        doc.problem = "no text in it"
        return doc
    doc.text, doc.read = text, True
    if got.cut:
        doc.problem = f"read in part: {got.cut}"
    elif len(got.text) > limits.max_chars:
        doc.problem = f"read in part: the first {limits.max_chars:,} characters"
    return doc


def _needs_person(doc: DocumentText, why: str) -> DocumentText:
    doc.problem = why
    doc.needs_person = True
    return doc


def load_readers() -> None:
    """Import the document readers now. They are imported on first use (a command that reads no
    attachment never loads pypdf); a reading worker calls this before its first message, so their
    imports (some MB) are neither counted against the message that first needs one nor spent from its
    time bound."""
    from inbox.documents import odt, pdf, word  # noqa: F401


def _extract(kind: str, data: bytes, limits: DocumentLimits, seconds: float) -> Extracted:
    deadline = Deadline(seconds)
    if kind == "pdf":
        from inbox.documents.pdf import pdf_text

        return pdf_text(data, limits, deadline)
    if kind == "docx":
        from inbox.documents.word import docx_text

        return docx_text(data, limits, deadline)
    if kind == "odt":
        from inbox.documents.odt import odt_text

        return odt_text(data, limits, deadline)
    return Extracted(_plain_text(data))


def _plain_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
