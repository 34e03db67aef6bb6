"""TIFF-F files are written strictly and read back pixel for pixel. Checked by other programs
(tiffinfo, efax, tiffcp, Ghostscript) and converted to PDF:
tests/integration/documents/test_tiff.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from openfax.documents import Compression, FaxPage, read_fax_tiff, write_fax_tiff


@pytest.mark.parametrize("compression", list(Compression))
def test_pages_read_back_pixel_identical(
    tmp_path: Path, pages: list[FaxPage], compression: Compression
) -> None:
    path = tmp_path / "fax.tif"
    write_fax_tiff(pages, path, compression=compression)
    back = read_fax_tiff(path)
    assert len(back) == len(pages)
    for original, copy in zip(pages, back, strict=True):
        assert copy.resolution is original.resolution
        assert copy.image.size == original.image.size
        assert copy.image.tobytes() == original.image.tobytes()


def test_one_strip_per_page(tmp_path: Path, pages: list[FaxPage]) -> None:
    path = tmp_path / "fax.tif"
    write_fax_tiff(pages, path, compression=Compression.MR)
    with Image.open(path) as image:
        for frame in range(len(pages)):
            image.seek(frame)
            assert len(image.tag_v2[273]) == 1  # StripOffsets


def test_compression_sizes_are_in_fax_order(tmp_path: Path, pages: list[FaxPage]) -> None:
    sizes = {}
    for compression in Compression:
        path = tmp_path / f"{compression.value}.tif"
        write_fax_tiff(pages, path, compression=compression)
        sizes[compression] = path.stat().st_size
    assert sizes[Compression.MMR] < sizes[Compression.MR] < sizes[Compression.MH]
