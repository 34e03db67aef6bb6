"""Telling what a document is from its first bytes, not its name."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from openfax import file_head
from openfax.errors import DocumentError

SNIFF_BYTES = 8192


class FileType(Enum):
    """The kinds of document OpenFax can turn into fax pages."""

    PDF = "pdf"
    IMAGE = "image"
    TEXT = "text"


_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
)


def read_head(path: Path) -> bytes:
    """The first bytes of `path`, or DocumentError if it is missing, unreadable or empty."""
    head = file_head.read_head(path, SNIFF_BYTES, "a document", DocumentError)
    if not head:
        raise DocumentError(path, "empty file")
    return head


def detect(path: Path) -> FileType:
    """The kind of document at `path`, judged by magic bytes; plain text is what is left when
    the content is free of NUL bytes and decodes as UTF-8 or mostly printable Latin-1."""
    head = read_head(path)
    # A PDF may carry a little junk before its header; readers accept it within 1 KB.
    if b"%PDF-" in head[:1024]:
        return FileType.PDF
    if head.startswith(_IMAGE_MAGIC):
        return FileType.IMAGE
    if _looks_like_text(head):
        return FileType.TEXT
    raise DocumentError(path, "unknown file type (not PDF, PNG, JPEG, GIF, BMP, TIFF or text)")


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        # The sniffed block may end inside a multi-byte character.
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3:
            return True
    control = sum(1 for byte in head if byte < 0x20 and byte not in b"\t\n\r\f")
    return control <= len(head) // 100
