"""PDF pages rendered and coded by worker processes come out as the same pages, in order, as
rendered in the calling process; what a worker cannot render fails as it would here."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from openfax.documents import Compression, Resolution, iter_pages, render_documents
from openfax.documents.tiff import write_fax_tiff
from openfax.documents.workers import PageWorkers
from openfax.errors import DocumentError
from tests.factories import make_pdf, make_photo_pdf


def joined(path: Path, *parts: Path) -> Path:
    """One PDF of the pages of `parts`, in order."""
    document = pdfium.PdfDocument.new()
    for part in parts:
        document.import_pages(pdfium.PdfDocument(part))
    document.save(path)
    return path


@pytest.fixture
def mixed_pdf(tmp_path: Path, photo: Image.Image) -> Path:
    """Eleven pages: seven of bars (1 to 7), a photograph, then three more of bars."""
    bars = make_pdf(tmp_path / "bars.pdf", 7)
    picture = make_photo_pdf(tmp_path / "photo.pdf", photo)
    return joined(tmp_path / "mixed.pdf", bars, picture, make_pdf(tmp_path / "more.pdf", 3))


@pytest.mark.parametrize("compression", list(Compression))
def test_pages_coded_by_workers_are_the_pages_rendered_here(
    tmp_path: Path, mixed_pdf: Path, compression: Compression
) -> None:
    here = render_documents([mixed_pdf], resolution=Resolution.FINE)
    with PageWorkers(2, compression) as workers:
        coded = list(iter_pages([mixed_pdf], resolution=Resolution.FINE, workers=workers))
    assert [page.coded[0] if page.coded else None for page in coded] == [compression] * 11
    assert coded == here  # pixels, page by page, in order (each coded page decoded)
    write_fax_tiff(here, tmp_path / "here.tif", compression=compression)
    with PageWorkers(2, compression) as workers:
        pages = iter_pages([mixed_pdf], resolution=Resolution.FINE, workers=workers)
        write_fax_tiff(pages, tmp_path / "workers.tif", compression=compression)
    assert (tmp_path / "workers.tif").read_bytes() == (tmp_path / "here.tif").read_bytes()


def test_a_short_pdf_is_rendered_here(tmp_path: Path) -> None:
    """Fewer pages than two a worker: forking would cost more than sharing them saves."""
    pdf = make_pdf(tmp_path / "short.pdf", 3)
    with PageWorkers(2, Compression.MMR) as workers:
        pages = list(iter_pages([pdf], workers=workers))
    assert [page.coded for page in pages] == [None, None, None]
    assert pages == render_documents([pdf])


def test_a_page_a_worker_cannot_render_names_the_document_and_the_page(tmp_path: Path) -> None:
    huge = tmp_path / "huge.pdf"
    document = pdfium.PdfDocument.new()
    document.new_page(15000, 842)
    document.save(huge)
    four, three = make_pdf(tmp_path / "four.pdf", 4), make_pdf(tmp_path / "three.pdf", 3)
    pdf = joined(tmp_path / "bad.pdf", four, huge, three)
    with PageWorkers(2, Compression.MMR) as workers, pytest.raises(DocumentError) as raised:
        list(iter_pages([pdf], workers=workers))
    assert str(raised.value) == (
        f"{pdf}: page 5 is 15000 x 842 pt, outside the PDF limit of 14400 pt"
    )


def test_no_workers_is_refused() -> None:
    with pytest.raises(ValueError, match="worker processes must be 1 or more, not 0"):
        PageWorkers(0, Compression.MMR)


def test_workers_take_one_pdf_after_another_and_a_file_rewritten(tmp_path: Path) -> None:
    """A worker keeps the PDF it rendered last open: the next document, or another file
    written at the same path, is opened anew."""
    first, second = make_pdf(tmp_path / "first.pdf", 6), make_pdf(tmp_path / "second.pdf", 9)
    with PageWorkers(2, Compression.MMR) as workers:
        both = list(iter_pages([first, second, first], workers=workers))
        assert both == render_documents([first, second, first])
        assert len(both) == 21
        make_pdf(first, 8)  # the same path, another file
        again = list(iter_pages([first], workers=workers))
    assert again == render_documents([first])
    assert len(again) == 8
