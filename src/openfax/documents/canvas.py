"""A white page to draw text and rules on at 204 x 204 dpi, turned into a fax page at the end.

Drawing on square pixels keeps glyphs the right shape at every fax resolution: the finished
canvas is resampled to the fax's vertical resolution and thresholded. Only the rows the ink
reaches are resampled: a page of a few lines costs a few lines' work, not a page's.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from openfax.documents.fonts import Font
from openfax.documents.halftone import threshold_rows
from openfax.documents.pages import FAX_WIDTH, X_DPI, FaxPage, PageSize, Resolution

DRAWING_DPI = X_DPI

_RESAMPLING = Image.Resampling.LANCZOS
_SUPPORT = 3.0
"""Half-width of the LANCZOS kernel in canvas rows when enlarging (times the scale when
shrinking): how far a row of ink reaches into the resampled rows around it."""


def points(value: float) -> int:
    """Typographic points (1/72 in) as canvas pixels."""
    return round(value * DRAWING_DPI / 72)


class Canvas:
    """A grey-level drawing surface FAX_WIDTH pixels wide with square 204 dpi pixels that keeps
    track of the rows it has drawn on."""

    def __init__(self, height_px: int) -> None:
        self.image = Image.new("L", (FAX_WIDTH, height_px), 255)
        self._draw = ImageDraw.Draw(self.image)
        self._ink_top = height_px
        self._ink_bottom = 0

    @classmethod
    def for_page(cls, page_size: PageSize) -> Canvas:
        """A canvas as long as a sheet of `page_size`."""
        return cls(page_height(page_size))

    def text(self, x: int, y: int, text: str, font: Font) -> None:
        """Draw `text` in black with its top-left corner at (x, y)."""
        self._draw.text((x, y), text, fill=0, font=font)
        _, top, _, bottom = self._draw.textbbox((x, y), text, font=font)
        self._inked(math.floor(top), math.ceil(bottom))

    def rule(self, x0: int, x1: int, y: int, thickness: int) -> None:
        """Draw a horizontal black line `thickness` pixels thick from x0 to x1."""
        bottom = y + max(1, thickness)
        self._draw.rectangle((x0, y, x1, bottom - 1), fill=0)
        self._inked(y, bottom)

    def _inked(self, top: int, bottom: int) -> None:
        """Note that rows `top` to `bottom` (exclusive) may hold ink."""
        self._ink_top = max(0, min(self._ink_top, top))
        self._ink_bottom = min(self.image.height, max(self._ink_bottom, bottom))

    def to_rows(self, rows: int) -> NDArray[np.uint8]:
        """The drawing resampled (LANCZOS) to `rows` rows and thresholded at mid-grey, as packed
        rows of bits, 1 for black (`FaxPage.rows`).

        Only the rows whose kernel reaches the ink are resampled, as a box of the page; the rest
        are white. Pillow takes a box's edges as 32-bit floats, so its kernels sit up to a
        ten-thousandth of a pixel from where a whole-page resize puts them: a few edge pixels
        whose grey lies right at the threshold may come out the other colour.
        """
        packed = np.zeros((rows, FAX_WIDTH // 8), dtype=np.uint8)
        if self._ink_top >= self._ink_bottom:
            return packed
        scale = self.image.height / rows
        reach = _SUPPORT * max(1.0, scale) + 1
        first = max(0, math.floor((self._ink_top - reach) / scale - 0.5))
        last = min(rows, math.ceil((self._ink_bottom + reach) / scale + 0.5))
        band = self.image.resize(
            (FAX_WIDTH, last - first), _RESAMPLING, box=(0, first * scale, FAX_WIDTH, last * scale)
        )
        packed[first:last] = threshold_rows(np.asarray(band))
        return packed

    def to_page(self, resolution: Resolution, page_size: PageSize) -> FaxPage:
        """The drawing as a fax page of `page_size` at `resolution`."""
        return FaxPage.from_rows(self.to_rows(page_size.rows(resolution)), FAX_WIDTH, resolution)


def page_height(page_size: PageSize) -> int:
    """Canvas pixels from the top to the bottom of a sheet of `page_size`."""
    return round(page_size.length_in * DRAWING_DPI)


def paper_margin_left(page_size: PageSize, margin_px: int) -> int:
    """Pixel column of a left margin measured from the paper edge, the paper centred on the
    scan line (an A4 sheet is 1687 px wide, the line 1728)."""
    paper_px = min(FAX_WIDTH, round(page_size.width_in * DRAWING_DPI))
    return (FAX_WIDTH - paper_px) // 2 + margin_px


def paper_margin_right(page_size: PageSize, margin_px: int) -> int:
    """Pixel column of a right margin measured from the paper edge."""
    paper_px = min(FAX_WIDTH, round(page_size.width_in * DRAWING_DPI))
    return (FAX_WIDTH + paper_px) // 2 - margin_px
