"""Office documents are told by their content (a ZIP's members, an OLE2 file's streams, RTF's
and HTML's first bytes); a name that claims one the content is not is refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest

from openfax.documents.filetype import FileType, detect
from openfax.errors import DocumentError


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_python_docx_and_openpyxl_files_are_told_by_their_parts(tmp_path: Path) -> None:
    letter = docx.Document()
    letter.add_paragraph("Dear reader")
    letter.save(tmp_path / "letter.docx")
    book = openpyxl.Workbook()
    book.active["A1"] = "Invoice"  # type: ignore[index]
    book.save(tmp_path / "book.xlsx")
    assert detect(tmp_path / "letter.docx") is FileType.WORD
    assert detect(tmp_path / "book.xlsx") is FileType.SPREADSHEET
    # The content decides, not the name: renamed, they are still what they are.
    (tmp_path / "book.xlsx").rename(tmp_path / "upload")
    assert detect(tmp_path / "upload") is FileType.SPREADSHEET


@pytest.mark.parametrize(
    ("mimetype", "kind"),
    [
        (b"application/vnd.oasis.opendocument.text", FileType.WORD),
        (b"application/vnd.oasis.opendocument.spreadsheet-template", FileType.SPREADSHEET),
        (b"application/vnd.oasis.opendocument.presentation", FileType.PRESENTATION),
    ],
)
def test_opendocument_by_its_mimetype_member(
    tmp_path: Path, mimetype: bytes, kind: FileType
) -> None:
    path = _zip(tmp_path / "document", {"mimetype": mimetype, "content.xml": b"<x/>"})
    assert detect(path) is kind
    assert kind.office
    assert kind.package.startswith("libreoffice-")


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"{\\rtf1\\ansi Hello}", FileType.WORD),
        (b"\xef\xbb\xbf\n<!DOCTYPE html><html><body>Hi</body></html>", FileType.WORD),
        (b"<!-- made by hand -->\n<HTML><p>Hi</p></HTML>", FileType.WORD),
        (b"<p>a fragment</p> in a text file", FileType.TEXT),
    ],
)
def test_rtf_and_html_by_their_first_bytes(tmp_path: Path, content: bytes, kind: FileType) -> None:
    (tmp_path / "body").write_bytes(content)
    assert detect(tmp_path / "body") is kind


def test_a_text_named_html_is_html(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_bytes(b"<p>a fragment</p>")
    assert detect(tmp_path / "page.html") is FileType.WORD


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("letter.docx", b"Dear reader, this is text.", "plain text"),
        ("letter.docx", b"%PDF-1.4\n", "a PDF"),
        ("sheet.xlsx", None, "a word-processing document"),
        ("slides.pptx", b"\x89PNG\r\n\x1a\n", "an image"),
    ],
)
def test_a_name_that_claims_an_office_document_must_be_one(
    tmp_path: Path, name: str, content: bytes | None, said: str
) -> None:
    path = tmp_path / name
    if content is None:
        _zip(path, {"mimetype": b"application/vnd.oasis.opendocument.text"})
    else:
        path.write_bytes(content)
    with pytest.raises(
        DocumentError, match=f"named {Path(name).suffix} but is no .*: it is {said}"
    ):
        detect(path)


def test_other_zip_and_ole2_files_are_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "photos.zip", {"a.txt": b"hello"})
    with pytest.raises(DocumentError, match="a ZIP archive that is no OpenDocument"):
        detect(archive)
    (tmp_path / "cut.docx").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DocumentError, match="corrupt ZIP archive"):
        detect(tmp_path / "cut.docx")
    (tmp_path / "cut.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(DocumentError, match=r"corrupt OLE2 \(Office 97-2003\) file"):
        detect(tmp_path / "cut.doc")
