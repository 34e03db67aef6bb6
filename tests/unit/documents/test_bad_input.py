"""Bad input raises DocumentError naming the file and the reason; nothing else escapes."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from PIL import Image

from openfax.documents import (
    FaxPage,
    Resolution,
    fax_tiff_to_pdf,
    read_fax_tiff,
    render_documents,
    write_fax_tiff,
)
from openfax.errors import DocumentError
from tests.factories import make_pdf


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"nothere\.pdf: no such file"):
        render_documents([tmp_path / "nothere.pdf"])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(DocumentError, match=r"empty\.pdf: empty file"):
        render_documents([path])


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=str(tmp_path)):
        render_documents([tmp_path])


def test_unknown_type(tmp_path: Path) -> None:
    path = tmp_path / "program"
    path.write_bytes(b"\x7fELF" + bytes(range(256)) * 4)
    with pytest.raises(DocumentError, match=r"program: unknown file type"):
        render_documents([path])


def test_corrupt_pdf(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog" + b"\x00garbage" * 50)
    with pytest.raises(DocumentError, match=r"broken\.pdf: corrupt PDF"):
        render_documents([path])


def test_pdf_page_larger_than_the_pdf_limit(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "huge.pdf", 1, size_pt=(20000, 20000))
    with pytest.raises(DocumentError, match=r"huge\.pdf: page 1 is 20000 x 20000 pt"):
        render_documents([path])


def test_corrupt_image(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(DocumentError, match=r"broken\.png: unreadable or corrupt image"):
        render_documents([path])


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    Image.new("L", (400, 400), 128).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DocumentError, match=r"cut\.jpg"):
        render_documents([path])


def test_decompression_bomb(tmp_path: Path) -> None:
    """A small PNG claiming 30000 x 30000 pixels is refused before it is decoded."""
    path = tmp_path / "bomb.png"
    width = height = 30000
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x01\x00\x00\x00\x00"

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    rows = zlib.compress(b"\x00" + b"\x00" * (width // 8), 9) * 1
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )
    with pytest.raises(DocumentError, match=r"bomb\.png: image too large"):
        render_documents([path])


def test_text_of_only_blanks(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("   \n\n")
    with pytest.raises(DocumentError, match=r"blank\.txt: text file has nothing to print"):
        render_documents([path])


def test_reading_a_colour_tiff_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.tif"
    Image.new("RGB", (1728, 100), "red").save(path, compression="tiff_lzw")
    with pytest.raises(DocumentError, match=r"photo\.tif: not a fax TIFF"):
        read_fax_tiff(path)


def test_reading_a_tiff_of_the_wrong_width_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "narrow.tif"
    Image.new("1", (1000, 100), 1).save(path, compression="group4", dpi=(204, 196))
    with pytest.raises(DocumentError, match=r"narrow\.tif: not a fax TIFF: page 1 is 1000"):
        read_fax_tiff(path)


def test_reading_a_tiff_without_fax_resolution_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "print.tif"
    Image.new("1", (1728, 100), 1).save(path, compression="group4", dpi=(300, 300))
    with pytest.raises(DocumentError, match=r"print\.tif: not a fax TIFF"):
        read_fax_tiff(path)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
@pytest.mark.parametrize("content", [b"", b"not a tiff at all", b"II*\x00\xff\xff\xff\x7f"])
def test_reading_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.tif"
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=r"garbage\.tif"):
        read_fax_tiff(path)
    with pytest.raises(DocumentError, match=r"garbage\.tif"):
        fax_tiff_to_pdf(path, tmp_path / "out.pdf")


def test_reading_a_missing_tiff(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"gone\.tif: no such file"):
        read_fax_tiff(tmp_path / "gone.tif")


def test_writing_no_pages(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"none\.tif: no pages"):
        write_fax_tiff([], tmp_path / "none.tif")


def test_a_page_must_be_bilevel() -> None:
    with pytest.raises(ValueError, match="mode '1'"):
        FaxPage(Image.new("L", (1728, 10)), Resolution.FINE)
