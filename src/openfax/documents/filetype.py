"""Telling what a document is from its content, not its name.

A name is believed only where the content cannot tell (a fragment of HTML reads as text),
and a name that claims an Office document the content is not is refused.
"""

from __future__ import annotations

import zipfile
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
    WORD = "word-processing document"
    SPREADSHEET = "spreadsheet"
    PRESENTATION = "presentation"

    @property
    def office(self) -> bool:
        """Whether LibreOffice makes this kind into PDF before it becomes fax pages."""
        return self in _OFFICE_PACKAGES

    @property
    def package(self) -> str:
        """The Debian package of LibreOffice that reads this kind ("" for none)."""
        return _OFFICE_PACKAGES.get(self, "")


_OFFICE_PACKAGES = {
    FileType.WORD: "libreoffice-writer-nogui",
    FileType.SPREADSHEET: "libreoffice-calc-nogui",
    FileType.PRESENTATION: "libreoffice-impress-nogui",
}
OFFICE_PACKAGES = tuple(_OFFICE_PACKAGES.values())

OFFICE_SUFFIXES = {
    **dict.fromkeys((".doc", ".docx", ".docm", ".dot", ".dotx", ".odt", ".ott"), FileType.WORD),
    **dict.fromkeys((".rtf", ".html", ".htm", ".xhtml"), FileType.WORD),
    **dict.fromkeys((".xls", ".xlsx", ".xlsm", ".ods", ".ots"), FileType.SPREADSHEET),
    **dict.fromkeys((".ppt", ".pptx", ".pptm", ".ppsx", ".odp", ".otp"), FileType.PRESENTATION),
}
"""Names that claim an Office document, and the kind the content must then be."""
_HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_ODF_TYPES = {
    b"application/vnd.oasis.opendocument.text": FileType.WORD,
    b"application/vnd.oasis.opendocument.spreadsheet": FileType.SPREADSHEET,
    b"application/vnd.oasis.opendocument.presentation": FileType.PRESENTATION,
}
"""An OpenDocument's ``mimetype`` member (its templates add ``-template``)."""
_OOXML_PARTS = (
    ("word/", FileType.WORD),
    ("xl/", FileType.SPREADSHEET),
    ("ppt/", FileType.PRESENTATION),
)
_OLE_STREAMS = (
    ("WordDocument", FileType.WORD),
    ("Workbook", FileType.SPREADSHEET),
    ("Book", FileType.SPREADSHEET),
    ("PowerPoint Document", FileType.PRESENTATION),
)
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


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
    """The kind of document at `path`, judged by its content: magic bytes, a ZIP's members
    (OpenDocument's ``mimetype``, Office Open XML's parts), an OLE2 file's streams (Word,
    Excel and PowerPoint 97-2003), ``{\\rtf`` and an HTML start; plain text is what is left
    when the content is free of NUL bytes and decodes as UTF-8 or mostly printable Latin-1.

    A file named as an Office document (``.docx``, ``.xls`` ...) must be one of that kind,
    else DocumentError says what it is instead; a text named ``.html`` is HTML."""
    kind = _kind(path, read_head(path))
    suffix = path.suffix.lower()
    claimed = OFFICE_SUFFIXES.get(suffix)
    if claimed is None or kind is claimed:
        return kind
    if kind is FileType.TEXT and suffix in _HTML_SUFFIXES:
        return FileType.WORD
    raise DocumentError(
        path, f"named {suffix} but is no {claimed.value}: it is {_DESCRIPTIONS[kind]}"
    )


_DESCRIPTIONS = {
    FileType.PDF: "a PDF",
    FileType.IMAGE: "an image",
    FileType.TEXT: "plain text",
    FileType.WORD: "a word-processing document (or RTF, or HTML)",
    FileType.SPREADSHEET: "a spreadsheet",
    FileType.PRESENTATION: "a presentation",
}


def _kind(path: Path, head: bytes) -> FileType:
    # A PDF may carry a little junk before its header; readers accept it within 1 KB.
    if b"%PDF-" in head[:1024]:
        return FileType.PDF
    if head.startswith(_IMAGE_MAGIC):
        return FileType.IMAGE
    if head.startswith(_ZIP_MAGIC):
        return _zip_kind(path)
    if head.startswith(_OLE_MAGIC):
        return _ole_kind(path)
    if head.startswith(b"{\\rtf"):
        return FileType.WORD
    if _looks_like_text(head):
        return FileType.WORD if _looks_like_html(head) else FileType.TEXT
    raise DocumentError(
        path,
        "unknown file type (not PDF, PNG, JPEG, GIF, BMP, TIFF, text, HTML, RTF, "
        "or an OpenDocument, Office Open XML or Office 97-2003 document)",
    )


def _zip_kind(path: Path) -> FileType:
    """An OpenDocument by its ``mimetype`` member, an Office Open XML document by its parts."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    mimetype = member.read(100).removesuffix(b"-template")
                if mimetype in _ODF_TYPES:
                    return _ODF_TYPES[mimetype]
            elif "[Content_Types].xml" in names:
                for prefix, kind in _OOXML_PARTS:
                    if any(name.startswith(prefix) for name in names):
                        return kind
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        raise DocumentError(path, "corrupt ZIP archive (an Office document is one)") from None
    raise DocumentError(path, "a ZIP archive that is no OpenDocument or Office Open XML document")


def _ole_kind(path: Path) -> FileType:
    """A Word, Excel or PowerPoint 97-2003 document by the stream that holds its content."""
    import olefile  # 28 ms to import: only for an OLE2 file, not for every command's start

    try:
        with olefile.OleFileIO(str(path)) as ole:
            for stream, kind in _OLE_STREAMS:
                if ole.exists(stream):
                    return kind
    except (OSError, ValueError, IndexError, TypeError) as error:
        raise DocumentError(path, f"corrupt OLE2 (Office 97-2003) file: {error}") from None
    raise DocumentError(path, "an OLE2 compound file that is no Word, Excel or PowerPoint document")


def _looks_like_html(head: bytes) -> bool:
    """Text that begins, after a byte order mark, white space and comments, as HTML does."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<?xml"):
        text = text.partition(b"?>")[2].lstrip()
    while text.startswith(b"<!--"):
        text = text.partition(b"-->")[2].lstrip()
    return text.startswith((b"<!doctype html", b"<html"))


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
