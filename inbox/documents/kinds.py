"""Which kind of document an attachment is: by its first bytes first (a sender's name or type can lie),
then by its name and declared type."""

from __future__ import annotations

_BY_NAME = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".docm": "docx",
    ".odt": "odt",
    ".doc": "doc",
    ".rtf": "rtf",
    ".txt": "text",
}
_BY_TYPE = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-word.document.macroenabled.12": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/msword": "doc",
    "application/rtf": "rtf",
    "text/rtf": "rtf",
    "text/plain": "text",
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of Word 97-2003 (.doc)


def kind_of(filename: str, content_type: str, head: bytes) -> str | None:
    """pdf | docx | odt | doc | rtf | text, or None for anything else (images, calendars, archives)."""
    name = filename.lower()
    dot = name.rfind(".")
    by_name = _BY_NAME.get(name[dot:]) if dot >= 0 else None
    by_type = _BY_TYPE.get(content_type.lower())
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(_OLE):
        return "doc" if by_name in (None, "doc", "docx") and by_type in (None, "doc", "docx") else None
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"PK\x03\x04"):  # a ZIP: which one, its name or type says
        found = by_name if by_name in ("docx", "odt") else by_type
        return found if found in ("docx", "odt") else None
    # Not what its name says (a corrupt file, or something else named .pdf): read it as that kind, and
    # its reader says it is broken.
    return by_name or by_type
