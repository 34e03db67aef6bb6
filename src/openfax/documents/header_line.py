"""The header line ("branding"): sender identity, date and time, and "page x of y" drawn
across the top of every page sent."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from openfax.documents.canvas import DRAWING_DPI, Canvas, points
from openfax.documents.fonts import FontStyle, load_font
from openfax.documents.pages import FaxPage

HEADER_FONT_PT = 9
HEADER_TOP_IN = 0.04
HEADER_HEIGHT_IN = 0.18
HEADER_LEFT_PX = 40


def format_header_line(tsid: str, when: datetime, page_number: int, page_count: int) -> str:
    """The default header text, e.g. "2024-05-02 14:03  From: +1 555 0100  page 2 of 5"."""
    return f"{when:%Y-%m-%d %H:%M}  From: {tsid}  page {page_number} of {page_count}"


def draw_header_line(page: FaxPage, text: str) -> FaxPage:
    """A copy of `page` with `text` in 9 pt type on a white band across its top 0.2 inch.

    The band replaces what was there, as on a fax machine; images rendered by OpenFax keep
    the top quarter inch clear for it, and PDF and text pages have margins of their own.
    """
    canvas = Canvas(round(HEADER_HEIGHT_IN * DRAWING_DPI))
    canvas.text(HEADER_LEFT_PX, 0, text, load_font(FontStyle.MONO, points(HEADER_FONT_PT)))
    y_dpi = page.resolution.y_dpi
    top = round(HEADER_TOP_IN * y_dpi)
    band = canvas.to_rows(max(1, round(HEADER_HEIGHT_IN * y_dpi)))
    band = band[: max(0, page.height - top)]
    # The band is copied as packed bits; a page narrower than the band gets its first columns.
    width = min(page.width, band.shape[1] * 8)
    whole, part = divmod(width, 8)
    rows = page.rows.copy()
    target = rows[top : top + band.shape[0]]
    target[:, :whole] = band[:, :whole]
    if part:
        keep = np.uint8(0xFF >> part)  # the page's own bits beyond the band's columns
        target[:, whole] = (band[:, whole] & ~keep) | (target[:, whole] & keep)
    return FaxPage.from_rows(rows, page.width, page.resolution)
