"""Test documents made on the spot."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c


def make_pdf(path: Path, pages: int, size_pt: tuple[float, float] = (595, 842)) -> Path:
    """A PDF whose page n carries n black bars, 40 pt high, one below the other from the top,
    so that tests can tell the pages apart and in order."""
    document = pdfium.PdfDocument.new()
    width, height = size_pt
    for number in range(1, pages + 1):
        page = document.new_page(width, height)
        for bar in range(number):
            top = height - 72 - bar * 60
            rect = pdfium_c.FPDFPageObj_CreateNewRect(72, top - 40, width - 144, 40)
            pdfium_c.FPDFPageObj_SetFillColor(rect, 0, 0, 0, 255)
            pdfium_c.FPDFPath_SetDrawMode(rect, pdfium_c.FPDF_FILLMODE_ALTERNATE, False)
            pdfium_c.FPDFPage_InsertObject(page.raw, rect)
        pdfium_c.FPDFPage_GenerateContent(page.raw)
    document.save(path)
    return path
