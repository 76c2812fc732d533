"""A message's attachments read as documents: which to read, their bytes decoded on demand, each bounded.

Forwarded messages are not documents (parsing reads them as forwarded text) and nor are pictures
(signature logos, photos); a message with many documents has the first `max_documents` read and the
rest listed as not read.
"""

from __future__ import annotations

import re
import time

from inbox.documents import Deadline, DocumentLimits, DocumentText, read_document
from inbox.documents.kinds import kind_of
from inbox.message import Attachment, ParsedMessage
from inbox.parse.attachments import payload_of


def read_attachments(parsed: ParsedMessage, limits: DocumentLimits) -> list[DocumentText]:
    """Every attachment that is a document (or claims to be), with its text or why there is none."""
    out: list[DocumentText] = []
    budget = Deadline(limits.max_total_seconds)
    for attachment in parsed.attachments:
        if attachment.content_type.startswith(("message/", "multipart/")):
            continue
        name = attachment.filename or "(no name)"
        if _picture_of_a_document(attachment, name):
            photo = DocumentText(name, attachment.content_type, attachment.size, "image")
            photo.problem = "a picture of a document (a photo or scan) we cannot read"
            photo.needs_person = True
            out.append(photo)
            continue
        if kind_of(name, attachment.content_type, b"") is None and not _looks_like_document(attachment):
            continue
        if sum(1 for doc in out if doc.kind) >= limits.max_documents:
            skipped = DocumentText(name, attachment.content_type, attachment.size, None)
            skipped.problem = f"not read: only the first {limits.max_documents} documents of a message are"
            out.append(skipped)
            continue
        if attachment.size > limits.max_bytes:  # never decoded: its size is known from parsing
            doc = DocumentText(
                name, attachment.content_type, attachment.size, kind_of(name, attachment.content_type, b"")
            )
            doc.problem = f"too large to read here ({attachment.size // (1024 * 1024)} MB)"
            doc.needs_person = True
            out.append(doc)
            continue
        left = budget.end - time.monotonic()
        if left <= 0:
            late = DocumentText(
                name, attachment.content_type, attachment.size, kind_of(name, attachment.content_type, b"")
            )
            late.problem = f"not read: the message's attachments took their {limits.max_total_seconds:g} s"
            late.needs_person = True
            out.append(late)
            continue
        data = payload_of(parsed, attachment)
        out.append(read_document(name, attachment.content_type, data, limits, seconds=left))
    return out


# A photographed or scanned form or letter, by the name the sender gave it (a logo or a photo of the
# family is not one: pictures shown inside the email, or named otherwise, are left alone).
_DOCUMENT_NAME = re.compile(r"(?i)form|referral|letter|scan|decision|ehc|plan|appeal|consent")


def _picture_of_a_document(attachment: Attachment, name: str) -> bool:
    return (
        attachment.content_type.startswith("image/")
        and not attachment.inline
        and not attachment.content_id
        and bool(_DOCUMENT_NAME.search(name))
    )


def _looks_like_document(attachment: Attachment) -> bool:
    """A file sent as application/octet-stream with no telling name may still be a PDF: its first bytes say."""
    if attachment.content_type != "application/octet-stream" or attachment.payload is None:
        return False
    return kind_of("", "", attachment.payload[:8]) is not None
