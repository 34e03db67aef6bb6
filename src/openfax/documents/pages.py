"""Fax page geometry: resolutions, paper sizes, and the 1-bit page image passed between modules."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from PIL import Image

FAX_WIDTH = 1728
"""Pixels per row of every page we produce: the T.4 scan line of 215 mm at 204 dpi."""

X_DPI = 204


class Resolution(Enum):
    """The three T.4 resolutions; the value is the vertical resolution in lines per inch."""

    STANDARD = 98
    FINE = 196
    SUPERFINE = 391

    @property
    def x_dpi(self) -> int:
        """Horizontal resolution, the same 204 dpi for all three."""
        return X_DPI

    @property
    def y_dpi(self) -> int:
        """Vertical resolution in lines per inch."""
        return int(self.value)


class PageSize(Enum):
    """Paper sizes a page is laid out for; the value is (width, length) in inches."""

    A4 = (210 / 25.4, 297 / 25.4)
    LETTER = (8.5, 11.0)
    LEGAL = (8.5, 14.0)

    @property
    def width_in(self) -> float:
        """Paper width in inches (a fax line covers 8.47 in; wider paper is scaled to fit)."""
        return float(self.value[0])

    @property
    def length_in(self) -> float:
        """Paper length in inches."""
        return float(self.value[1])

    def rows(self, resolution: Resolution) -> int:
        """Number of scan lines of one page of this size at `resolution`."""
        return round(self.length_in * resolution.y_dpi)


class Compression(Enum):
    """The fax codings a TIFF-F page can be written with."""

    MH = "mh"
    """Modified Huffman, T.4 one-dimensional (TIFF Compression 3)."""
    MR = "mr"
    """Modified READ, T.4 two-dimensional (TIFF Compression 3 with the T4Options 2D bit)."""
    MMR = "mmr"
    """Modified Modified READ, T.6 (TIFF Compression 4)."""


@dataclass(frozen=True)
class FaxPage:
    """One fax page: a PIL image of mode "1" (as in Pillow, 1 is white and 0 is black) and the
    resolution its rows were scanned at. Pages we render are FAX_WIDTH pixels wide."""

    image: Image.Image
    resolution: Resolution

    def __post_init__(self) -> None:
        if self.image.mode != "1":
            raise ValueError(f"a fax page needs a mode '1' image, not {self.image.mode!r}")

    @property
    def width(self) -> int:
        """Pixels per row."""
        return self.image.width

    @property
    def height(self) -> int:
        """Number of rows."""
        return self.image.height


@dataclass(frozen=True)
class Placement:
    """Where content of a given physical size lands on a fax page, in pixels."""

    x: int
    y: int
    width: int
    height: int


HEADER_CLEARANCE_IN = 0.25
"""Room kept above content that has no margin of its own (images), so a header line drawn
on the page covers nothing."""


def fit_on_page(
    width_in: float,
    height_in: float,
    resolution: Resolution,
    page_size: PageSize,
    *,
    top_in: float = 0.0,
) -> Placement:
    """Place content of the given size `top_in` inches below the top of the page, centred
    across the scan line, shrunk (never enlarged) to fit the scan line and the rest of the
    paper length, aspect kept."""
    page_width_in = FAX_WIDTH / X_DPI
    length_in = page_size.length_in - top_in
    scale = min(1.0, page_width_in / width_in, length_in / height_in)
    top = round(top_in * resolution.y_dpi)
    width = max(1, min(FAX_WIDTH, round(width_in * scale * X_DPI)))
    height = max(
        1, min(page_size.rows(resolution) - top, round(height_in * scale * resolution.y_dpi))
    )
    return Placement(x=(FAX_WIDTH - width) // 2, y=top, width=width, height=height)


def blank_page(resolution: Resolution, page_size: PageSize) -> Image.Image:
    """A white mode "1" image the size of one fax page."""
    return Image.new("1", (FAX_WIDTH, page_size.rows(resolution)), 1)
