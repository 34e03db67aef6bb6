"""Drawn pages (text, cover pages, the header line) resampled only where their ink is look as
they did when the whole canvas was resampled; the header band lands on pages of any width."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageFont

from openfax.documents import FaxPage, draw_header_line
from openfax.documents.canvas import Canvas, points
from openfax.documents.fonts import FACES, FontStyle, load_font
from openfax.documents.header_line import HEADER_HEIGHT_IN, HEADER_TOP_IN
from openfax.documents.pages import FAX_WIDTH, PageSize, Resolution

MAX_DIFFERING_SHARE = 1e-4
"""At most one pixel in ten thousand may differ from a whole-page resize (see `to_rows`)."""


def whole_page_rows(canvas: Canvas, rows: int) -> NDArray[np.uint8]:
    """What `to_rows` gave before it resampled only the inked rows: the whole canvas resized
    with LANCZOS and thresholded at mid-grey, as packed rows of bits, 1 for black."""
    gray = canvas.image.resize((FAX_WIDTH, rows), Image.Resampling.LANCZOS)
    return np.packbits(np.asarray(gray) < 128, axis=1)


def dense_canvas(page_size: PageSize, top: int) -> Canvas:
    """A canvas with 40 lines of every printable ASCII character from row `top`, and a rule."""
    canvas = Canvas.for_page(page_size)
    font = load_font(FontStyle.MONO, points(10))
    for line in range(40):
        text = "".join(chr(33 + (line * 7 + column * 13) % 94) for column in range(80))
        canvas.text(100, top + line * points(12), text, font)
    canvas.rule(100, 1500, top + 40 * points(12), 3)
    return canvas


def on_an_edge(pixels: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """True where a pixel's 3 x 3 neighbourhood holds both colours."""
    padded = np.pad(pixels, 1, mode="edge")
    windows = [
        padded[dy : dy + pixels.shape[0], dx : dx + pixels.shape[1]]
        for dy in range(3)
        for dx in range(3)
    ]
    stacked = np.stack(windows)
    return stacked.min(axis=0) != stacked.max(axis=0)


@pytest.mark.parametrize("resolution", list(Resolution))
@pytest.mark.parametrize(("page_size", "top"), [(PageSize.A4, 150), (PageSize.LETTER, 900)])
def test_inked_rows_resample_as_the_whole_page_did(
    resolution: Resolution, page_size: PageSize, top: int
) -> None:
    canvas = dense_canvas(page_size, top)
    rows = page_size.rows(resolution)
    reference = np.unpackbits(whole_page_rows(canvas, rows), axis=1)
    ours = np.unpackbits(canvas.to_rows(rows), axis=1)
    assert reference.any()
    differing = reference != ours
    assert np.count_nonzero(differing) <= MAX_DIFFERING_SHARE * reference.size
    assert on_an_edge(reference)[differing].all()


def test_ink_at_the_foot_of_the_page_is_kept() -> None:
    canvas = Canvas.for_page(PageSize.A4)
    bottom = canvas.image.height
    canvas.rule(100, 1600, bottom - 4, 4)
    canvas.text(100, bottom - 60, "last line", load_font(FontStyle.MONO, points(10)))
    rows = PageSize.A4.rows(Resolution.FINE)
    ours = canvas.to_rows(rows)
    assert ours[-1].any()
    assert np.array_equal(ours, whole_page_rows(canvas, rows))


def test_a_canvas_without_ink_is_a_white_page() -> None:
    rows = Canvas.for_page(PageSize.LEGAL).to_rows(PageSize.LEGAL.rows(Resolution.SUPERFINE))
    assert rows.shape == (PageSize.LEGAL.rows(Resolution.SUPERFINE), FAX_WIDTH // 8)
    assert not rows.any()


@pytest.mark.parametrize("width", [1003, 2048])
def test_header_band_on_pages_of_other_widths(width: int) -> None:
    """The band covers the page's first 1728 columns (all of a narrower page); the page keeps
    its pixels beyond them and the packed rows stay clean past the last column."""
    black_page = FaxPage(Image.new("1", (width, 500), 0), Resolution.FINE)
    branded = draw_header_line(black_page, "2024-05-02 14:03  From: 555 0100  page 1 of 1")
    pixels = ~np.asarray(branded.image)
    top = round(HEADER_TOP_IN * 196)
    band = slice(top, top + round(HEADER_HEIGHT_IN * 196))
    covered = min(width, FAX_WIDTH)
    assert not pixels[band, :covered].all(axis=0).any()  # white between the letters
    assert pixels[band, covered:].all()
    assert pixels[: band.start].all()
    assert pixels[band.stop :].all()
    assert np.array_equal(branded.rows, np.packbits(pixels, axis=1))


@pytest.mark.parametrize("style", list(FontStyle))
def test_every_face_is_the_one_shipped_in_the_package(style: FontStyle) -> None:
    """Pages look the same on every machine: each face is DejaVu from the package's own
    folder, never whatever the machine's fonts would give (a fresh Debian without fontconfig
    laid the sample letter out on 3 pages instead of 2)."""
    font = load_font(style, points(10))
    assert isinstance(font, ImageFont.FreeTypeFont)
    assert Path(str(font.path)).parent == FACES
    family, face = font.getname()
    assert family is not None
    assert family.startswith("DejaVu Sans")
    assert ("Bold" in (face or "")) == style.name.endswith("BOLD")
