"""Pages are coded by libtiff on worker threads, and can be rendered one at a time while the
pages before them are finished and coded, without changing a bit of the file written."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openfax.documents import (
    Compression,
    FaxPage,
    Resolution,
    iter_pages,
    read_fax_tiff,
    render_documents,
    write_fax_tiff,
)
from openfax.documents.ccitt import encode_page, encode_rows
from openfax.errors import DocumentError
from tests.factories import make_pdf


def noise_page(width: int, seed: int) -> FaxPage:
    """A page of random pixels, the hardest input for a run-length coder."""
    black = np.random.default_rng(seed).random((500, width)) < 0.3
    return FaxPage(Image.fromarray(~black), Resolution.STANDARD)


@pytest.mark.parametrize("compression", list(Compression))
@pytest.mark.parametrize("width", [1728, 2048, 2432])
def test_noise_pages_read_back_pixel_identical(
    tmp_path: Path, compression: Compression, width: int
) -> None:
    pages = [noise_page(width, seed) for seed in range(3)]
    path = tmp_path / "noise.tif"
    write_fax_tiff(pages, path, compression=compression)
    back = read_fax_tiff(path)
    assert [page.image.tobytes() for page in back] == [page.image.tobytes() for page in pages]


def test_packed_rows_are_min_is_white_bits() -> None:
    image = Image.new("1", (12, 2), 1)
    image.putpixel((0, 0), 0)
    image.putpixel((11, 1), 0)
    rows = FaxPage(image, Resolution.FINE).rows
    assert rows.tolist() == [[0b1000_0000, 0], [0, 0b0001_0000]]


def test_rows_of_an_odd_width_page_code_as_the_page_does() -> None:
    page = noise_page(1731, seed=7)
    for compression in Compression:
        coded = encode_rows(page.rows, page.width, page.resolution, compression)
        assert coded == encode_page(page, compression)


@pytest.mark.parametrize("compression", list(Compression))
def test_streamed_pages_write_the_same_file_as_a_list(
    tmp_path: Path, pdf_file: Path, compression: Compression
) -> None:
    listed, streamed = tmp_path / "listed.tif", tmp_path / "streamed.tif"
    write_fax_tiff(render_documents([pdf_file]), listed, compression=compression)
    write_fax_tiff(iter_pages([pdf_file]), streamed, compression=compression)
    assert streamed.read_bytes() == listed.read_bytes()


def test_pages_of_a_pdf_do_not_share_pixels(pdf_file: Path) -> None:
    # The renderer reuses one grey buffer for all pages of a document; each page must keep
    # its own picture: page n has n black bars.
    pages = list(iter_pages([pdf_file]))
    black_rows = [
        int(np.count_nonzero((np.asarray(page.image) == 0).any(axis=1))) for page in pages
    ]
    assert black_rows[0] < black_rows[1] < black_rows[2]
    assert black_rows[1] == 2 * black_rows[0]


def test_pages_are_rendered_when_asked_for(pdf_file: Path) -> None:
    pages = iter_pages([pdf_file, pdf_file.parent / "missing.pdf"])
    first = next(pages)
    assert first.width == 1728
    assert len([first, *(next(pages) for _ in range(2))]) == 3
    with pytest.raises(DocumentError, match=r"missing\.pdf"):
        next(pages)


def test_an_empty_stream_of_pages_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no pages"):
        write_fax_tiff(iter([]), tmp_path / "none.tif")
    assert not (tmp_path / "none.tif").exists()


def test_a_page_from_packed_rows_has_the_image_of_those_rows() -> None:
    page = noise_page(1731, seed=3)
    copy = FaxPage.from_rows(page.rows.copy(), page.width, page.resolution)
    assert copy.image.mode == "1"
    assert copy.image.tobytes() == page.image.tobytes()
    assert copy == page
    assert not copy.rows.flags.writeable
    with pytest.raises(ValueError, match="not 1722 bits wide"):
        FaxPage.from_rows(page.rows, 1730 - 8, page.resolution)


def test_a_pdf_page_is_finished_on_a_worker_and_waited_for(pdf_file: Path) -> None:
    page = next(iter_pages([pdf_file]))
    assert page.pending  # its edges are straightened on a worker thread
    rows = page.rows
    assert not page.pending
    assert not rows.flags.writeable
    assert rows.shape == (page.height, page.width // 8)
    assert rows.any()


def test_a_pending_page_codes_as_the_finished_page(tmp_path: Path) -> None:
    finished = noise_page(1728, seed=5)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = [
            FaxPage.from_future(
                pool.submit(finished.rows.copy), 1728, finished.height, finished.resolution
            )
            for _ in range(2)
        ]
        write_fax_tiff(pending, tmp_path / "pending.tif", compression=Compression.MMR)
    write_fax_tiff([finished] * 2, tmp_path / "finished.tif", compression=Compression.MMR)
    assert (tmp_path / "pending.tif").read_bytes() == (tmp_path / "finished.tif").read_bytes()


def test_a_pending_page_that_fails_fails_the_write(tmp_path: Path) -> None:
    def fail() -> np.ndarray:
        raise DocumentError(tmp_path / "broken.pdf", "corrupt PDF")

    with ThreadPoolExecutor(max_workers=1) as pool:
        broken = FaxPage.from_future(pool.submit(fail), 1728, 10, Resolution.FINE)
        wrong = FaxPage.from_future(
            pool.submit(np.zeros, (10, 100), np.uint8), 1728, 10, Resolution.FINE
        )
        with pytest.raises(DocumentError, match=r"broken\.pdf: corrupt PDF"):
            write_fax_tiff([noise_page(1728, seed=1), broken], tmp_path / "out.tif")
        with pytest.raises(ValueError, match="not 1728 bits wide"):
            _ = wrong.rows
    assert not (tmp_path / "out.tif").exists()


def test_pdfs_rendered_on_several_threads_at_once_come_out_whole(tmp_path: Path) -> None:
    """PDFium must not be entered by two threads at once: the service renders submissions on
    several threads, so each thread's pages must still be its own document's, in order."""
    paths = [make_pdf(tmp_path / f"doc{count}.pdf", count) for count in (2, 3, 4, 5)]
    alone = {path: render_documents([path]) for path in paths}
    with ThreadPoolExecutor(max_workers=4) as pool:
        rounds = [pool.submit(render_documents, [path]) for path in paths * 3]
        together = [(path, future.result()) for path, future in zip(paths * 3, rounds, strict=True)]
    for path, pages in together:
        assert pages == alone[path]
