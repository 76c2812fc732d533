"""The ZIP under a .docx or .odt, checked before anything unpacks it: a small file can unpack to gigabytes."""

from __future__ import annotations

import io
import zipfile
import zlib

from inbox.documents import DocumentLimits, TooBig, Unreadable


def open_zip(data: bytes, limits: DocumentLimits) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, NotImplementedError) as exc:
        raise Unreadable(f"a damaged file that could not be opened ({type(exc).__name__})") from exc
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > limits.max_unpacked_bytes:
        raise TooBig(f"would unpack to {unpacked // (1024 * 1024)} MB (we unpack up to "
                     f"{limits.max_unpacked_bytes // (1024 * 1024)} MB)")  # fmt: skip
    return archive


def member(archive: zipfile.ZipFile, name: str, limits: DocumentLimits) -> bytes:
    """One member's bytes, read no further than the bound (a ZIP's declared sizes can lie)."""
    try:
        with archive.open(name) as f:
            data = f.read(limits.max_unpacked_bytes + 1)
    except KeyError as exc:
        raise Unreadable(f"a damaged file: {name} is missing") from exc
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, ValueError) as exc:
        raise Unreadable(f"a damaged file that could not be unpacked ({type(exc).__name__})") from exc
    if len(data) > limits.max_unpacked_bytes:
        raise TooBig("unpacks past the size we read")
    return data
