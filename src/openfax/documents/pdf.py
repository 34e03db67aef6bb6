"""Rendering PDF pages to fax pages with PDFium at the fax resolution.

Text is anti-aliased, thresholded at mid-grey and its edges straightened (`edges`): glyphs
come out closer to their true weight, with steadier edges, than PDFium's aliased text, and
code to fewer bytes. Paths and images are not anti-aliased, so a hairline stays a solid
line of pixels. Pages with photographs are dithered.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from numpy.typing import NDArray

from openfax.documents.edges import smooth_edges
from openfax.documents.halftone import is_photograph, threshold_rows, to_bilevel
from openfax.documents.pages import (
    FAX_WIDTH,
    FaxPage,
    PageSize,
    Placement,
    Resolution,
    fit_on_page,
)
from openfax.errors import DocumentError

MAX_PAGE_POINTS = 14400
"""Largest page side accepted, in points: the 200 in limit of the PDF specification."""

_RENDER_FLAGS = (
    pdfium_c.FPDF_GRAYSCALE
    | pdfium_c.FPDF_ANNOT
    | pdfium_c.FPDF_PRINTING
    | pdfium_c.FPDF_RENDER_NO_SMOOTHIMAGE
    | pdfium_c.FPDF_RENDER_NO_SMOOTHPATH
)
_PHOTO_RENDER_FLAGS = _RENDER_FLAGS | pdfium_c.FPDF_RENDER_NO_SMOOTHTEXT
"""For dithering: text all black or white, so it stays crisp and its edges do not pass for
the grey levels of a photograph."""

PDFIUM_LOCK = threading.Lock()
"""Held for every call into PDFium, which must not be entered by two threads at once, even
for different documents (the service renders submissions on several threads)."""

_FINISHING = ThreadPoolExecutor(
    max_workers=len(os.sched_getaffinity(0)), thread_name_prefix="openfax-pdf-edges"
)
"""Threads that straighten the edges of rendered pages while the next pages render: PDFium
is entered by one thread at a time (PDFIUM_LOCK), so it is the rest of a page's work that is
spread over the CPUs."""

_LOAD_ERRORS = {
    pdfium_c.FPDF_ERR_FILE: "cannot be opened",
    pdfium_c.FPDF_ERR_FORMAT: "corrupt PDF",
    pdfium_c.FPDF_ERR_PASSWORD: "password-protected PDF",
    pdfium_c.FPDF_ERR_SECURITY: "PDF uses an unsupported security handler",
}


def open_pdf(path: Path) -> pdfium.PdfDocument:
    """Open a PDF, or raise DocumentError saying why it cannot be read."""
    try:
        with PDFIUM_LOCK:
            document = pdfium.PdfDocument(str(path))
            pages = len(document)
            if pages == 0:
                document.close()
    except pdfium.PdfiumError as error:
        reason = _LOAD_ERRORS.get(getattr(error, "err_code", None), "corrupt PDF")
        raise DocumentError(path, reason) from None
    if pages == 0:
        raise DocumentError(path, "PDF has no pages")
    return document


def count_pdf_pages(path: Path) -> int:
    """The pages `render_pdf` makes of a PDF, from its page tree alone."""
    document = open_pdf(path)
    with PDFIUM_LOCK:
        try:
            return len(document)
        finally:
            document.close()


def render_pdf(path: Path, resolution: Resolution, page_size: PageSize) -> Iterator[FaxPage]:
    """All pages of a PDF, in order, each rendered when the next is asked for.

    Each page is shrunk to fit the scan line and the paper length if it is larger, placed at
    the top and centred; landscape pages are turned a quarter to fit portrait paper. The
    edges of a page are straightened on a worker thread while the next page renders.
    """
    document = open_pdf(path)
    # One grey buffer for all pages: a fresh one would cost a page fault every 4 KiB.
    gray = np.empty((page_size.rows(resolution), FAX_WIDTH), dtype=np.uint8)
    try:
        with PDFIUM_LOCK:
            pages = len(document)
        for index in range(pages):
            if _render_page(path, document, index, resolution, page_size, gray):
                yield FaxPage(to_bilevel(gray, dither=True), resolution)
            else:
                rows = _FINISHING.submit(smooth_edges, threshold_rows(gray))
                yield FaxPage.from_future(rows, FAX_WIDTH, gray.shape[0], resolution)
    finally:
        with PDFIUM_LOCK:
            document.close()


def render_pdf_rows(
    path: Path,
    document: pdfium.PdfDocument,
    pages: range,
    resolution: Resolution,
    page_size: PageSize,
) -> Iterator[NDArray[np.uint8]]:
    """The packed rows (as `FaxPage.rows`) of pages `pages` (from 0) of the PDF at `path`,
    open as `document` (`open_pdf`; left open), rendered and finished as `render_pdf` does,
    all on the calling thread: for a process that renders a share of a document's pages
    (`openfax.documents.workers`)."""
    gray = np.empty((page_size.rows(resolution), FAX_WIDTH), dtype=np.uint8)
    for index in pages:
        if _render_page(path, document, index, resolution, page_size, gray):
            yield FaxPage(to_bilevel(gray, dither=True), resolution).rows
        else:
            yield smooth_edges(threshold_rows(gray))


def _render_page(
    path: Path,
    document: pdfium.PdfDocument,
    index: int,
    resolution: Resolution,
    page_size: PageSize,
    gray: NDArray[np.uint8],
) -> bool:
    """Render page `index` of `document` into `gray` (overwritten); True if it is a
    photograph, to be dithered, False if it is to be thresholded.

    Anti-aliased text is full of grey levels, and small dense text can pass for a photograph;
    so a page that looks like one is rendered again without anti-aliasing and looked at anew.
    """
    with PDFIUM_LOCK:
        page = document[index]
        try:
            width_pt, height_pt = page.get_size()
            if not (0 < width_pt <= MAX_PAGE_POINTS and 0 < height_pt <= MAX_PAGE_POINTS):
                raise DocumentError(
                    path,
                    f"page {index + 1} is {width_pt:.0f} x {height_pt:.0f} pt, "
                    f"outside the PDF limit of {MAX_PAGE_POINTS} pt",
                )
            rotate = 1 if width_pt > height_pt else 0
            if rotate:
                width_pt, height_pt = height_pt, width_pt
            place = fit_on_page(width_pt / 72, height_pt / 72, resolution, page_size)
            _render(page, place, rotate, _RENDER_FLAGS, gray)
            photograph = is_photograph(gray)
            if photograph:
                _render(page, place, rotate, _PHOTO_RENDER_FLAGS, gray)
                photograph = is_photograph(gray)
        finally:
            page.close()
    return photograph


def _render(
    page: pdfium.PdfPage, place: Placement, rotate: int, flags: int, gray: NDArray[np.uint8]
) -> None:
    """Render `page` into `place` on the white page `gray` (overwritten) with PDFium's `flags`."""
    gray.fill(255)
    buffer = (ctypes.c_ubyte * gray.size).from_buffer(gray.data)
    bitmap = pdfium_c.FPDFBitmap_CreateEx(
        FAX_WIDTH, gray.shape[0], pdfium_c.FPDFBitmap_Gray, buffer, FAX_WIDTH
    )
    try:
        pdfium_c.FPDF_RenderPageBitmap(
            bitmap, page.raw, place.x, place.y, place.width, place.height, rotate, flags
        )
    finally:
        pdfium_c.FPDFBitmap_Destroy(bitmap)
