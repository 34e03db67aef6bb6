"""Rendering PDF pages to fax pages with PDFium, at the fax resolution and without
anti-aliasing, so text and lines come out crisp and thresholding is exact."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from numpy.typing import NDArray

from openfax.documents.halftone import is_photograph, to_bilevel
from openfax.documents.pages import FAX_WIDTH, FaxPage, PageSize, Resolution, fit_on_page
from openfax.errors import DocumentError

MAX_PAGE_POINTS = 14400
"""Largest page side accepted, in points: the 200 in limit of the PDF specification."""

_RENDER_FLAGS = (
    pdfium_c.FPDF_GRAYSCALE
    | pdfium_c.FPDF_ANNOT
    | pdfium_c.FPDF_PRINTING
    | pdfium_c.FPDF_RENDER_NO_SMOOTHTEXT
    | pdfium_c.FPDF_RENDER_NO_SMOOTHIMAGE
    | pdfium_c.FPDF_RENDER_NO_SMOOTHPATH
)

_LOAD_ERRORS = {
    pdfium_c.FPDF_ERR_FILE: "cannot be opened",
    pdfium_c.FPDF_ERR_FORMAT: "corrupt PDF",
    pdfium_c.FPDF_ERR_PASSWORD: "password-protected PDF",
    pdfium_c.FPDF_ERR_SECURITY: "PDF uses an unsupported security handler",
}


def open_pdf(path: Path) -> pdfium.PdfDocument:
    """Open a PDF, or raise DocumentError saying why it cannot be read."""
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        reason = _LOAD_ERRORS.get(getattr(error, "err_code", None), "corrupt PDF")
        raise DocumentError(path, reason) from None
    if len(document) == 0:
        document.close()
        raise DocumentError(path, "PDF has no pages")
    return document


def render_pdf(path: Path, resolution: Resolution, page_size: PageSize) -> Iterator[FaxPage]:
    """All pages of a PDF, in order, each rendered when the next is asked for.

    Each page is shrunk to fit the scan line and the paper length if it is larger, placed at
    the top and centred; landscape pages are turned a quarter to fit portrait paper.
    """
    document = open_pdf(path)
    # One grey buffer and one mask for all pages: fresh ones would cost a page fault every 4 KiB.
    gray = np.empty((page_size.rows(resolution), FAX_WIDTH), dtype=np.uint8)
    mask = np.empty(gray.shape, dtype=np.bool_)
    try:
        for index in range(len(document)):
            yield _render_page(path, document, index, resolution, page_size, gray, mask)
    finally:
        document.close()


def _render_page(
    path: Path,
    document: pdfium.PdfDocument,
    index: int,
    resolution: Resolution,
    page_size: PageSize,
    gray: NDArray[np.uint8],
    mask: NDArray[np.bool_],
) -> FaxPage:
    """Page `index` of `document` rendered into `gray` and made bilevel through `mask` (both
    overwritten)."""
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
        gray.fill(255)
        buffer = (ctypes.c_ubyte * gray.size).from_buffer(gray.data)
        bitmap = pdfium_c.FPDFBitmap_CreateEx(
            FAX_WIDTH, gray.shape[0], pdfium_c.FPDFBitmap_Gray, buffer, FAX_WIDTH
        )
        try:
            pdfium_c.FPDF_RenderPageBitmap(
                bitmap, page.raw, place.x, place.y, place.width, place.height, rotate, _RENDER_FLAGS
            )
        finally:
            pdfium_c.FPDFBitmap_Destroy(bitmap)
    finally:
        page.close()
    return FaxPage(to_bilevel(gray, dither=is_photograph(gray), mask=mask), resolution)
