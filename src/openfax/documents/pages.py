"""Fax page geometry: resolutions, paper sizes, and the 1-bit page image passed between modules."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import NDArray
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


class FaxPage:
    """One fax page: its pixels, black and white, and the resolution its rows were scanned at.
    Pages we render are FAX_WIDTH pixels wide.

    The pixels are kept in the form the page was made in and turned into the other on first
    use: `rows`, bits packed as the fax coders read them (PDF, text and cover pages are made
    straight as these), or `image`, a PIL image of mode "1" (images). The rows of a PDF page
    are finished on a worker thread while the next page renders (`pending`); those of a page
    read from a fax TIFF are decoded from its coded bytes (`coded`) when first used. A page is
    immutable: neither form may be changed in place.
    """

    coded: tuple[Compression, bytes] | None = None
    """The page as it was read from a fax TIFF, coded (`from_coded`), else None."""
    _decode: Callable[[], NDArray[np.uint8]] | None = None

    def __init__(self, image: Image.Image, resolution: Resolution) -> None:
        if image.mode != "1":
            raise ValueError(f"a fax page needs a mode '1' image, not {image.mode!r}")
        self._image: Image.Image | None = image
        self._rows: NDArray[np.uint8] | None = None
        self._pending: Future[NDArray[np.uint8]] | None = None
        self.width, self.height = image.size
        self.resolution = resolution

    @classmethod
    def from_rows(cls, rows: NDArray[np.uint8], width: int, resolution: Resolution) -> FaxPage:
        """A page `width` pixels wide from rows of packed bits laid out as `rows` gives them;
        the page keeps `rows` (made read-only) rather than a copy."""
        cls._check_rows(rows, width)
        rows.flags.writeable = False
        return cls._without_image(width, rows.shape[0], resolution, rows=rows)

    @classmethod
    def from_future(
        cls, rows: Future[NDArray[np.uint8]], width: int, height: int, resolution: Resolution
    ) -> FaxPage:
        """A page whose packed rows, as `from_rows` takes them, are still being computed on
        another thread; the first use of its pixels waits for them."""
        return cls._without_image(width, height, resolution, pending=rows)

    @classmethod
    def from_coded(
        cls,
        coded: tuple[Compression, bytes],
        width: int,
        height: int,
        resolution: Resolution,
        decode: Callable[[], NDArray[np.uint8]],
    ) -> FaxPage:
        """A page kept as it was coded: written again with the same coding it is copied as
        is, and its pixels are decoded (``decode``, rows as `from_rows` takes them) only when
        they are used, so a page passed through costs its coded bytes alone."""
        page = cls._without_image(width, height, resolution)
        page.coded = coded
        page._decode = decode
        return page

    @classmethod
    def _without_image(
        cls,
        width: int,
        height: int,
        resolution: Resolution,
        *,
        rows: NDArray[np.uint8] | None = None,
        pending: Future[NDArray[np.uint8]] | None = None,
    ) -> FaxPage:
        """A page made other than from an image (``__init__``): its rows given, coming, or
        to be decoded."""
        page = cls.__new__(cls)
        page._image = None
        page._rows = rows
        page._pending = pending
        page.width, page.height = width, height
        page.resolution = resolution
        return page

    @property
    def pending(self) -> bool:
        """True while the page's rows may still be being computed on another thread."""
        return self._rows is None and self._pending is not None

    @staticmethod
    def _check_rows(rows: NDArray[np.uint8], width: int) -> None:
        if rows.dtype != np.uint8 or rows.ndim != 2 or rows.shape[1] != (width + 7) // 8:
            raise ValueError(f"{rows.dtype} rows of shape {rows.shape} are not {width} bits wide")

    @property
    def image(self) -> Image.Image:
        """The pixels as a PIL image of mode "1" (as in Pillow, 1 is white and 0 is black)."""
        if self._image is None:
            self._image = Image.frombytes("1", (self.width, self.height), self.rows, "raw", "1;I")
        return self._image

    @property
    def rows(self) -> NDArray[np.uint8]:
        """The pixels as a fax coder reads them: one row of packed bits per scan line, first pixel
        in the high-order bit, 1 for black (PhotometricInterpretation min-is-white); read-only."""
        if self._rows is None:
            if self._pending is not None:
                rows = self._pending.result()
                self._check_rows(rows, self.width)
            elif self._decode is not None:
                rows = self._decode()
                self._check_rows(rows, self.width)
            else:
                assert self._image is not None
                # Pillow's own bit packer is 20 times slower than numpy's.
                rows = np.packbits(~np.asarray(self._image), axis=1)
            rows.flags.writeable = False
            self._rows = rows
        return self._rows

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FaxPage):
            return NotImplemented
        return (
            self.resolution is other.resolution
            and self.width == other.width
            and np.array_equal(self.rows, other.rows)
        )

    def __repr__(self) -> str:
        return f"FaxPage({self.width} x {self.height}, {self.resolution.name})"


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
