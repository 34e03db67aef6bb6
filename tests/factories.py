"""Test documents made on the spot."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image


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


def make_text_pdf(path: Path, lines: list[str], font: str, size_pt: float) -> Path:
    """A one-page A4 PDF of `lines` set in the standard font `font` at `size_pt`, one below the
    other from the top-left margin, leading 1.2 times the size."""
    document = pdfium.PdfDocument.new()
    page = document.new_page(595, 842)
    for number, line in enumerate(lines):
        text = pdfium_c.FPDFPageObj_NewTextObj(document.raw, font.encode(), size_pt)
        utf16 = ctypes.create_string_buffer((line + "\x00").encode("utf-16-le"))
        pdfium_c.FPDFText_SetText(text, ctypes.cast(utf16, ctypes.POINTER(ctypes.c_ushort)))
        pdfium_c.FPDFPageObj_Transform(text, 1, 0, 0, 1, 54, 770 - number * size_pt * 1.2)
        pdfium_c.FPDFPage_InsertObject(page.raw, text)
    pdfium_c.FPDFPage_GenerateContent(page.raw)
    document.save(path)
    return path


def make_rules_pdf(path: Path, widths_pt: list[float]) -> Path:
    """A one-page A4 PDF of horizontal black rules stroked `widths_pt` wide, 20 pt apart, each
    above a short vertical rule of the same width."""
    document = pdfium.PdfDocument.new()
    page = document.new_page(595, 842)
    for number, width in enumerate(widths_pt):
        y = 770 - number * 20
        for x0, y0, x1, y1 in ((72, y, 523, y), (300, y - 15, 300, y - 5)):
            rule = pdfium_c.FPDFPageObj_CreateNewPath(x0, y0)
            pdfium_c.FPDFPath_LineTo(rule, x1, y1)
            pdfium_c.FPDFPageObj_SetStrokeWidth(rule, width)
            pdfium_c.FPDFPageObj_SetStrokeColor(rule, 0, 0, 0, 255)
            pdfium_c.FPDFPath_SetDrawMode(rule, pdfium_c.FPDF_FILLMODE_NONE, True)
            pdfium_c.FPDFPage_InsertObject(page.raw, rule)
    pdfium_c.FPDFPage_GenerateContent(page.raw)
    document.save(path)
    return path


def make_photo_pdf(path: Path, photo: Image.Image) -> Path:
    """A one-page A4 PDF with `photo` placed 400 pt wide near the top."""
    document = pdfium.PdfDocument.new()
    page = document.new_page(595, 842)
    image = pdfium.PdfImage.new(document)
    image.set_bitmap(pdfium.PdfBitmap.from_pil(photo))
    height = 400 * photo.height / photo.width
    image.set_matrix(pdfium.PdfMatrix().scale(400, height).translate(97, 770 - height))
    page.insert_obj(image)
    page.gen_content()
    document.save(path)
    return path
