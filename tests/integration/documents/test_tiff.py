"""TIFF-F files as other programs see them (tiffinfo, efax, tiffcp, Ghostscript), and converted
to PDF. Read back by our own reader: tests/unit/documents/test_tiff.py."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from openfax.documents import (
    Compression,
    FaxPage,
    PageSize,
    Resolution,
    fax_tiff_to_pdf,
    read_fax_tiff,
    write_fax_tiff,
)
from tests.factories import make_pdf

TIFF_COMPRESSION = {
    Compression.MH: "CCITT Group 3",
    Compression.MR: "CCITT Group 3",
    Compression.MMR: "CCITT Group 4",
}


def tiffinfo(path: Path) -> str:
    return subprocess.run(["tiffinfo", path], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("compression", list(Compression))
@pytest.mark.parametrize("resolution", list(Resolution))
def test_tiffinfo_confirms_the_fax_tags(
    tmp_path: Path, compression: Compression, resolution: Resolution
) -> None:
    page = FaxPage(Image.new("1", (1728, PageSize.A4.rows(resolution)), 1), resolution)
    path = tmp_path / "fax.tif"
    write_fax_tiff([page, page], path, compression=compression)
    info = tiffinfo(path)
    directories = info.split("=== TIFF directory")[1:]
    assert len(directories) == 2
    for number, directory in enumerate(directories):
        assert "Image Width: 1728" in directory
        assert f"Image Length: {page.height}" in directory
        assert f"Resolution: 204, {resolution.y_dpi} pixels/inch" in directory
        assert "Bits/Sample: 1" in directory
        assert f"Compression Scheme: {TIFF_COMPRESSION[compression]}" in directory
        assert "Photometric Interpretation: min-is-white" in directory
        assert "FillOrder: msb-to-lsb" in directory
        assert f"Rows/Strip: {page.height}" in directory
        assert f"Page Number: {number}-2" in directory
        if compression is Compression.MR:
            assert "Group 3 Options: 2-d encoding (1 = 0x1)" in directory
        elif compression is Compression.MH:
            assert "Group 3 Options: (0 = 0x0)" in directory
    assert len(re.findall(r"Rows/Strip", info)) == 2


def test_mh_file_decodes_in_efax(tmp_path: Path, pages: list[FaxPage]) -> None:
    path = tmp_path / "fax.tif"
    write_fax_tiff(pages[:1], path, compression=Compression.MH)
    pbm = subprocess.run(
        ["efix", "-i", "tiffg3", "-o", "pbm", path], capture_output=True, check=True
    ).stdout
    (tmp_path / "page.pbm").write_bytes(pbm)
    with Image.open(tmp_path / "page.pbm") as decoded:
        assert decoded.convert("1").tobytes() == pages[0].image.tobytes()


def test_other_fill_order_is_read(tmp_path: Path, pages: list[FaxPage]) -> None:
    ours = tmp_path / "fax.tif"
    write_fax_tiff(pages[:1], ours, compression=Compression.MR)
    reversed_bits = tmp_path / "lsb.tif"
    subprocess.run(["tiffcp", "-f", "lsb2msb", ours, reversed_bits], check=True)
    (page,) = read_fax_tiff(reversed_bits)
    assert page.image.tobytes() == pages[0].image.tobytes()


@pytest.mark.parametrize("resolution", list(Resolution))
def test_pdf_of_a_fax_keeps_page_count_and_aspect(tmp_path: Path, resolution: Resolution) -> None:
    tall = FaxPage(Image.new("1", (1728, PageSize.A4.rows(resolution)), 1), resolution)
    odd = FaxPage(Image.new("1", (1728, 1001), 0), resolution)
    tiff = tmp_path / "fax.tif"
    write_fax_tiff([tall, odd], tiff, compression=Compression.MH)
    pdf_path = tmp_path / "fax.pdf"
    fax_tiff_to_pdf(tiff, pdf_path)
    document = pdfium.PdfDocument(pdf_path)
    assert len(document) == 2
    width, height = document[0].get_size()
    assert (width / 72, height / 72) == pytest.approx((1728 / 204, 297 / 25.4), abs=0.01)
    width, height = document[1].get_size()
    assert height / 72 == pytest.approx(1001 / resolution.y_dpi, abs=0.001)
    # The odd page is all black: rendered, no white row is left at the bottom.
    gray = np.asarray(document[1].render(scale=0.5, grayscale=True).to_pil())
    assert gray[-2:].max() < 128
    info = subprocess.run(["pdfinfo", pdf_path], capture_output=True, text=True, check=True)
    assert re.search(r"Pages:\s+2", info.stdout)


def test_ghostscript_fax_tiff_is_read(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "bars.pdf", 2)
    tiff = tmp_path / "gs.tif"
    subprocess.run(
        [
            "gs",
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-sDEVICE=tiffg3",
            "-r204x98",
            f"-sOutputFile={tiff}",
            pdf,
        ],
        check=True,
    )
    pages = read_fax_tiff(tiff)
    assert [page.resolution for page in pages] == [Resolution.STANDARD] * 2
    assert all(page.width == 1728 for page in pages)
