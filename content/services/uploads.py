"""What a toolkit's file upload may be: its size, its extension and whether its first bytes
match that extension.

Pure: no database, no models, no Django (``tests/platform/test_architecture.py`` keeps it
so); the toolkit services call ``upload_check`` before they store a file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import IO, Protocol, cast

from config.errors import ServiceError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class Upload(Protocol):
    """What the check reads of an uploaded file (Django's ``UploadedFile`` is one)."""

    @property
    def size(self) -> int | None: ...

    @property
    def name(self) -> str | None: ...

    def seek(self, offset: int, /) -> object: ...

    def read(self, size: int, /) -> bytes: ...


# A check of a file's first bytes (``head``), given the whole file for formats that need more.
Sniffer = Callable[[bytes, Upload], bool]


class UploadTooLarge(ServiceError):
    """An upload over the limit (413)."""


def _sniff_zip_office(head: bytes, upload: Upload) -> bool:
    """An Office Open XML document: a zip whose directory names ``[Content_Types].xml``."""
    if not head.startswith(b"PK\x03\x04"):
        return False
    try:
        upload.seek(0)
        with zipfile.ZipFile(cast(IO[bytes], upload)) as archive:
            return "[Content_Types].xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        upload.seek(0)


def _sniff_text(head: bytes, upload: Upload) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the sample is fine
        if exc.start < len(head) - 3:
            return False
    lowered = head.lstrip().lower()
    return not lowered.startswith((b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script"))


def _magic(*prefixes: bytes) -> Sniffer:
    return lambda head, upload: head.startswith(prefixes)


def _sniff_webp(head: bytes, upload: Upload) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


# extension → (content type served, check of the first bytes)
ALLOWED_UPLOADS: dict[str, tuple[str, Sniffer]] = {
    ".pdf": ("application/pdf", _magic(b"%PDF-")),
    ".png": ("image/png", _magic(b"\x89PNG\r\n\x1a\n")),
    ".jpg": ("image/jpeg", _magic(b"\xff\xd8\xff")),
    ".jpeg": ("image/jpeg", _magic(b"\xff\xd8\xff")),
    ".gif": ("image/gif", _magic(b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", _sniff_webp),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _sniff_zip_office),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _sniff_zip_office),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _sniff_zip_office),
    ".txt": ("text/plain; charset=utf-8", _sniff_text),
    ".csv": ("text/csv; charset=utf-8", _sniff_text),
    ".md": ("text/markdown; charset=utf-8", _sniff_text),
}


def upload_check(upload: Upload | None) -> tuple[str, str]:
    """Refuse what is too big or not what it claims to be; returns (clean name, content type).

    The extension must be on the allow-list and the first bytes must match it (the
    browser's declared type is ignored: it is whatever the sender says).
    """
    size = getattr(upload, "size", None)
    if size is None:
        raise ServiceError("Attach a file.", field="file")
    if size > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"Files may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.", field="file")
    if size == 0:
        raise ServiceError("The file is empty.", field="file")
    raw_name = (getattr(upload, "name", "") or "").replace("\\", "/")
    name = PurePosixPath(raw_name).name.strip()[:200] or "file"
    suffix = PurePosixPath(name).suffix.lower()
    allowed = ALLOWED_UPLOADS.get(suffix)
    if allowed is None:
        kinds = ", ".join(sorted(ALLOWED_UPLOADS))
        raise ServiceError(f"Files of type {suffix or '(none)'} are not accepted; use one of {kinds}.", field="file")
    content_type, check = allowed
    assert upload is not None  # it has a size
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    if not check(head, upload):
        raise ServiceError(f"The file's content is not a {suffix} file.", field="file")
    return name, content_type
