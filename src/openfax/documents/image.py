"""Turning raster images (PNG, JPEG, GIF, BMP, TIFF) into fax pages with Pillow.

What one image can make the server allocate is bounded: its canvas (``MAX_IMAGE_PIXELS``),
its decoding (a JPEG decodes in grey and at the fraction of its size the page needs; other
formats are turned grey a strip of rows at a time, without a full-size copy in another
mode), and all images being rendered at once together (``DECODE_BUDGET_BYTES``)."""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import ExifTags, Image, ImageSequence

from openfax.documents.halftone import is_photograph, to_bilevel
from openfax.documents.pages import (
    HEADER_CLEARANCE_IN,
    FaxPage,
    PageSize,
    Placement,
    Resolution,
    blank_page,
    fit_on_page,
)
from openfax.errors import DocumentError

MAX_IMAGE_PIXELS = 64_000_000
"""Largest image accepted (64 megapixels, a letter page scanned at 900 dpi); larger ones are
refused before their pixels are decoded, so a decompression bomb cannot exhaust memory."""

DECODE_BUDGET_BYTES = 512 * 1024 * 1024
"""What the images being rendered at once, in all threads, may hold decoded (estimated by
:func:`_decoding_bytes`); an image waits for its share, one larger than the whole budget
until it is alone. Without it, eight 200 KB PNGs of 64 megapixels submitted together held
3.8 GB."""

DEFAULT_DPI = 96.0
"""Resolution assumed for an image that does not state one (a screen's)."""

STRIP_ROWS = 256
"""Rows turned grey at a time."""
REDUCING_GAP = 3.0
"""How much larger than the page an image is decoded and reduced before it is resampled
(Pillow's ``reducing_gap``)."""
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""How an image is turned upright by its EXIF orientation (as ``ImageOps.exif_transpose``)."""
_STRETCHED = ("I", "I;16", "I;16B", "I;16L", "F")
"""Modes whose values are stretched to 0-255 by the image's largest."""

_READ_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, MemoryError)


def render_image(path: Path, resolution: Resolution, page_size: PageSize) -> Iterator[FaxPage]:
    """One fax page per page of a multi-page TIFF, one for the first frame of anything else,
    each rendered when it is asked for.

    The image keeps its physical size from its stated dpi (96 dpi if none), shrunk to fit the
    page if needed; see `halftone.is_photograph` for when it is dithered rather than
    thresholded.
    """
    with _opened(path) as image:
        frames = ImageSequence.Iterator(image) if image.format == "TIFF" else [image]
        for frame in frames:
            _check_size(path, frame)
            yield _render_frame(frame, resolution, page_size)


def count_image_pages(path: Path) -> int:
    """The pages `render_image` makes of an image file, from its frames' headers alone."""
    with _opened(path) as image:
        return int(getattr(image, "n_frames", 1)) if image.format == "TIFF" else 1


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """The image at `path` open; what goes wrong reading it raises DocumentError."""
    try:
        with Image.open(path) as image:
            yield image
    except Image.DecompressionBombError:
        raise DocumentError(path, "image too large (decompression bomb)") from None
    except _READ_ERRORS as error:
        # Pillow's message may quote the file, which the DocumentError names already.
        detail = str(error).replace(f" {str(path)!r}", "")
        raise DocumentError(path, f"unreadable or corrupt image ({detail})") from None


def _check_size(path: Path, frame: Image.Image) -> None:
    width, height = frame.size
    if width * height > MAX_IMAGE_PIXELS:
        raise DocumentError(
            path,
            f"image too large: {width} x {height} pixels, more than {MAX_IMAGE_PIXELS:,}",
        )
    if width == 0 or height == 0:
        raise DocumentError(path, "image has no pixels")


def _render_frame(frame: Image.Image, resolution: Resolution, page_size: PageSize) -> FaxPage:
    dpi_x, dpi_y = _dpi(frame)
    size = frame.size
    if frame.format == "JPEG":
        _draft(frame, (dpi_x, dpi_y), resolution, page_size)
    with _DECODING.share(_decoding_bytes(frame)):
        gray = _to_gray(frame)
        # Read after decoding: a PNG may keep its EXIF after the pixels (and getexif decodes).
        orientation = frame.getexif().get(ExifTags.Base.Orientation, 1)
        if orientation in _TRANSPOSE:
            gray = gray.transpose(_TRANSPOSE[orientation])
        place = _place(size, orientation, (dpi_x, dpi_y), resolution, page_size)
        dither = is_photograph(np.asarray(gray))
        scaled = gray.resize(
            (place.width, place.height), Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP
        )
    page = blank_page(resolution, page_size)
    page.paste(to_bilevel(np.asarray(scaled), dither=dither), (place.x, place.y))
    return FaxPage(page, resolution)


def _place(
    size: tuple[int, int],
    orientation: int,
    dpi: tuple[float, float],
    resolution: Resolution,
    page_size: PageSize,
) -> Placement:
    """Where an image of ``size`` pixels as stored goes on the page, upright."""
    width, height = reversed(size) if orientation in (5, 6, 7, 8) else size
    return fit_on_page(
        width / dpi[0], height / dpi[1], resolution, page_size, top_in=HEADER_CLEARANCE_IN
    )


def _draft(
    frame: Image.Image, dpi: tuple[float, float], resolution: Resolution, page_size: PageSize
) -> None:
    """Have a JPEG decode in grey, and at 1/2, 1/4 or 1/8 of its size when the page needs no
    more pixels (its EXIF is read without decoding it)."""
    orientation = frame.getexif().get(ExifTags.Base.Orientation, 1)
    place = _place(frame.size, orientation, dpi, resolution, page_size)
    turned = orientation in (5, 6, 7, 8)
    needed = (place.height, place.width) if turned else (place.width, place.height)
    frame.draft("L", (math.ceil(needed[0] * REDUCING_GAP), math.ceil(needed[1] * REDUCING_GAP)))


def _decoding_bytes(frame: Image.Image) -> int:
    """What rendering ``frame`` holds at most: its decoded pixels (Pillow keeps one byte a
    pixel for grey and palette images, four for the rest) and two grey copies."""
    width, height = frame.size
    decoded = 1 if frame.mode in ("1", "L", "P") else 4
    return width * height * (decoded + 2)


class _Budget:
    """Bytes that threads take shares of, each waiting until its share is free."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def share(self, size: int) -> Iterator[None]:
        size = min(size, self.total)
        with self._changed:
            self._changed.wait_for(lambda: self.used + size <= self.total)
            self.used += size
        try:
            yield
        finally:
            with self._changed:
                self.used -= size
                self._changed.notify_all()


_DECODING = _Budget(DECODE_BUDGET_BYTES)


def _dpi(image: Image.Image) -> tuple[float, float]:
    dpi = image.info.get("dpi")
    try:
        x, y = (float(dpi[0]), float(dpi[1])) if dpi else (DEFAULT_DPI, DEFAULT_DPI)
    except (TypeError, ValueError, IndexError):
        return DEFAULT_DPI, DEFAULT_DPI
    if not (10 <= x <= 4800 and 10 <= y <= 4800):
        return DEFAULT_DPI, DEFAULT_DPI
    return x, y


def _to_gray(image: Image.Image) -> Image.Image:
    """8-bit grey on a white background, whatever the mode and transparency, made
    ``STRIP_ROWS`` rows at a time: no full-size copy in another mode is made beside the
    decoded image (an RGBA one took three)."""
    if image.mode == "L":
        return image
    scale = None
    if image.mode in _STRETCHED:
        top = float(image.getextrema()[1])  # type: ignore[arg-type]
        scale = 255.0 / top if top > 0 else 0.0
    gray = Image.new("L", image.size)
    for top_row in range(0, image.height, STRIP_ROWS):
        box = (0, top_row, image.width, min(image.height, top_row + STRIP_ROWS))
        gray.paste(_strip_to_gray(image.crop(box), scale), (0, top_row))
    return gray


def _strip_to_gray(strip: Image.Image, scale: float | None) -> Image.Image:
    if scale is not None:
        return Image.fromarray(_stretch_to_bytes(np.asarray(strip, dtype=np.float64), scale))
    if strip.mode in ("RGBA", "LA", "PA") or "transparency" in strip.info:
        rgba = strip.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return strip.convert("L")


def _stretch_to_bytes(values: NDArray[np.float64], scale: float) -> NDArray[np.uint8]:
    return np.clip(values * scale, 0, 255).astype(np.uint8)
