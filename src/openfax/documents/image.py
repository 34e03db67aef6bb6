"""Turning raster images (PNG, JPEG, GIF, BMP, TIFF) into fax pages with Pillow."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, ImageSequence

from openfax.documents.halftone import is_photograph, to_bilevel
from openfax.documents.pages import (
    HEADER_CLEARANCE_IN,
    FaxPage,
    PageSize,
    Resolution,
    blank_page,
    fit_on_page,
)
from openfax.errors import DocumentError

MAX_IMAGE_PIXELS = 64_000_000
"""Largest image accepted (64 megapixels, a letter page scanned at 900 dpi); larger ones are
refused before their pixels are decoded, so a decompression bomb cannot exhaust memory."""

DEFAULT_DPI = 96.0
"""Resolution assumed for an image that does not state one (a screen's)."""

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
        raise DocumentError(path, f"unreadable or corrupt image ({error})") from None


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
    upright = ImageOps.exif_transpose(frame)
    dpi_x, dpi_y = _dpi(upright)
    gray = _to_gray(upright)
    place = fit_on_page(
        gray.width / dpi_x, gray.height / dpi_y, resolution, page_size, top_in=HEADER_CLEARANCE_IN
    )
    dither = is_photograph(np.asarray(gray))
    scaled = gray.resize((place.width, place.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    page = blank_page(resolution, page_size)
    page.paste(to_bilevel(np.asarray(scaled), dither=dither), (place.x, place.y))
    return FaxPage(page, resolution)


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
    """8-bit grey on a white background, whatever the mode and transparency."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        return Image.fromarray(_stretch_to_bytes(np.asarray(image, dtype=np.float64)), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return image.convert("L")


def _stretch_to_bytes(values: NDArray[np.float64]) -> NDArray[np.uint8]:
    top = float(values.max()) if values.size else 0.0
    scale = 255.0 / top if top > 0 else 0.0
    return np.clip(values * scale, 0, 255).astype(np.uint8)
