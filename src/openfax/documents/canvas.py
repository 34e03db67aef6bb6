"""A white page to draw text and rules on at 204 x 204 dpi, turned into a fax page at the end.

Drawing on square pixels keeps glyphs the right shape at every fax resolution: the finished
canvas is resampled to the fax's vertical resolution and thresholded.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from openfax.documents.fonts import Font
from openfax.documents.halftone import THRESHOLD
from openfax.documents.pages import FAX_WIDTH, X_DPI, FaxPage, PageSize, Resolution

DRAWING_DPI = X_DPI


def points(value: float) -> int:
    """Typographic points (1/72 in) as canvas pixels."""
    return round(value * DRAWING_DPI / 72)


class Canvas:
    """A grey-level drawing surface FAX_WIDTH pixels wide with square 204 dpi pixels."""

    def __init__(self, height_px: int) -> None:
        self.image = Image.new("L", (FAX_WIDTH, height_px), 255)
        self._draw = ImageDraw.Draw(self.image)

    @classmethod
    def for_page(cls, page_size: PageSize) -> Canvas:
        """A canvas as long as a sheet of `page_size`."""
        return cls(page_height(page_size))

    def text(self, x: int, y: int, text: str, font: Font) -> None:
        """Draw `text` in black with its top-left corner at (x, y)."""
        self._draw.text((x, y), text, fill=0, font=font)

    def rule(self, x0: int, x1: int, y: int, thickness: int) -> None:
        """Draw a horizontal black line `thickness` pixels thick from x0 to x1."""
        self._draw.rectangle((x0, y, x1, y + max(1, thickness) - 1), fill=0)

    def to_bilevel(self, rows: int) -> Image.Image:
        """The drawing resampled to `rows` rows and thresholded to a mode "1" image."""
        gray = self.image
        if rows != gray.height:
            gray = gray.resize((FAX_WIDTH, rows), Image.Resampling.LANCZOS)
        # Already black and white: dithering (convert's default) would only cost time.
        thresholded = gray.point(lambda v: 255 if v >= THRESHOLD else 0)
        return thresholded.convert("1", dither=Image.Dither.NONE)

    def to_page(self, resolution: Resolution, page_size: PageSize) -> FaxPage:
        """The drawing as a fax page of `page_size` at `resolution`."""
        return FaxPage(self.to_bilevel(page_size.rows(resolution)), resolution)


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
