"""Straightening the edges of text keeps every rule, dot and dither pattern pixel for pixel and
every glyph whole, and PDF pages of text or rules come out as legible as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from openfax.documents import Resolution, render_documents
from openfax.documents.edges import smooth_edges
from openfax.documents.halftone import is_photograph, threshold_rows, to_bilevel
from openfax.documents.pages import FAX_WIDTH, PageSize, fit_on_page
from openfax.documents.pdf import _PHOTO_RENDER_FLAGS, _RENDER_FLAGS, _render, open_pdf
from tests.factories import make_photo_pdf, make_rules_pdf, make_text_pdf

PANGRAM = "The quick brown fox jumps over the lazy dog: 0123456789, (e.g.) i; j! #%&"


def smoothed(black: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """`smooth_edges` on a boolean picture (True black)."""
    rows = smooth_edges(np.packbits(black, axis=1))
    return np.unpackbits(rows, axis=1, count=black.shape[1]).astype(bool)


def components(black: NDArray[np.bool_], *, eight: bool) -> int:
    """Connected regions of True pixels, neighbours by 8 (black) or 4 (white) connectivity."""
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if eight:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    seen = np.zeros_like(black)
    count = 0
    height, width = black.shape
    for y, x in zip(*np.nonzero(black), strict=True):
        if seen[y, x]:
            continue
        count += 1
        seen[y, x] = True
        stack = [(y, x)]
        while stack:
            cy, cx = stack.pop()
            for dy, dx in steps:
                ny, nx = cy + dy, cx + dx
                if 0 <= ny < height and 0 <= nx < width and black[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
    return count


def picture(height: int = 40, width: int = 200) -> NDArray[np.bool_]:
    return np.zeros((height, width), dtype=bool)


@pytest.mark.parametrize("thickness", [1, 2, 3])
def test_rules_keep_every_pixel(thickness: int) -> None:
    black = picture()
    black[10 : 10 + thickness, 20:180] = True  # a rule across
    black[20:35, 100 : 100 + thickness] = True  # and one down
    black[5, 5:8] = True  # a dash
    black[30:32, 10:12] = True  # a dot
    black[36, 40] = True  # a speck
    assert np.array_equal(smoothed(black), black)


def test_a_box_of_hairlines_keeps_every_pixel() -> None:
    black = picture()
    black[5, 10:190] = black[34, 10:190] = True
    black[5:35, 10] = black[5:35, 189] = black[5:35, 100] = True
    black[20, 10:190] = True
    assert np.array_equal(smoothed(black), black)


@pytest.mark.parametrize("cell", [1, 2, 3])
def test_checkerboards_keep_every_pixel(cell: int) -> None:
    y, x = np.indices((48, 96))
    black = ((y // cell + x // cell) % 2).astype(bool)
    assert np.array_equal(smoothed(black), black)


@pytest.mark.parametrize("level", range(1, 16))
def test_ordered_dither_keeps_every_pixel_inside_its_outline(level: int) -> None:
    bayer = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])
    black = picture(56, 112)
    black[4:52, 4:108] = np.tile(bayer < level, (12, 26))
    changed = smoothed(black) != black
    assert not changed[5:51, 5:107].any()  # the outline is an edge like any other
    assert np.count_nonzero(changed) <= 4 + level * 4


def test_a_wavering_stem_is_straightened() -> None:
    black = picture()
    black[5:35, 50:54] = True
    black[12, 49] = True  # a one-row bump on its left edge
    black[20:22, 54] = True  # a two-row bump on its right edge
    black[27:30, 50] = False  # a three-row notch in its left edge
    straight = picture()
    straight[5:35, 50:54] = True
    assert np.array_equal(smoothed(black), straight)


def test_a_small_counter_keeps_its_width() -> None:
    black = picture()
    black[10:18, 20:25] = True
    black[12:16, 22:24] = False  # a counter two pixels wide...
    black[13:15, 22] = True  # ...and where it is one, a notch too tall to be a waver
    black[12, 22] = black[15, 22] = False
    assert np.array_equal(smoothed(black), black)


def test_page_edges_are_white_beyond() -> None:
    black = picture(12, 16)
    black[:, :3] = True
    black[5, 3] = True  # bump at the left edge's stroke
    black[0, 10:16] = True  # a rule along the top edge to the right edge
    expected = black.copy()
    expected[5, 3] = False
    assert np.array_equal(smoothed(black), expected)


@pytest.mark.parametrize(
    ("font", "size"), [("Helvetica", 6), ("Times-Roman", 6), ("Courier", 10), ("Times-Roman", 10)]
)
def test_glyphs_stay_whole_and_keep_their_ink(tmp_path: Path, font: str, size: float) -> None:
    raw = ink_box(raw_render(make_text_pdf(tmp_path / "text.pdf", [PANGRAM], font, size)))
    black = smoothed(raw)
    # Every glyph and every counter is still there, and no two have run together.
    assert components(black, eight=True) == components(raw, eight=True)
    assert components(~black, eight=False) == components(~raw, eight=False)
    assert np.count_nonzero(black) == pytest.approx(np.count_nonzero(raw), rel=0.04)
    assert np.count_nonzero(black != raw) < 0.05 * np.count_nonzero(raw)


def test_pdf_rules_render_pixel_exact(tmp_path: Path) -> None:
    path = make_rules_pdf(tmp_path / "rules.pdf", [0.25, 0.5, 1.0, 2.0])
    (page,) = render_documents([path], resolution=Resolution.FINE)
    black = np.unpackbits(page.rows, axis=1).astype(bool)
    assert np.array_equal(black, raw_render(path))
    rows = np.flatnonzero(black[:, 400])
    rules = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    assert [len(rule) for rule in rules] == [1, 1, 2, 5]  # a 0.5 pt rule is one row at fine
    for rule in rules:
        assert black[rule[0], 230:1500].all()


def test_small_dense_text_is_thresholded_not_dithered(tmp_path: Path) -> None:
    lines = [PANGRAM * 2] * 120
    path = make_text_pdf(tmp_path / "small-print.pdf", lines, "Helvetica", 6)
    gray = raw_gray(path)
    assert is_photograph(gray)  # anti-aliased, it has the grey levels of a photograph...
    (page,) = render_documents([path], resolution=Resolution.FINE)
    # ...but it is rendered again without anti-aliasing, found to be text, and thresholded.
    gray = raw_gray(path, photo=True)
    assert not is_photograph(gray)
    assert np.array_equal(page.rows, smooth_edges(threshold_rows(gray)))


def test_a_photograph_in_a_pdf_is_dithered_not_smoothed(tmp_path: Path, photo: Image.Image) -> None:
    path = make_photo_pdf(tmp_path / "photo.pdf", photo)
    (page,) = render_documents([path], resolution=Resolution.FINE)
    gray = raw_gray(path, photo=True)
    assert is_photograph(gray)
    dithered = ~np.asarray(to_bilevel(gray, dither=True))
    assert np.array_equal(np.unpackbits(page.rows, axis=1).astype(bool), dithered)


def ink_box(black: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The part of `black` around its ink, with a white border of 2 pixels."""
    rows = np.flatnonzero(black.any(axis=1))
    columns = np.flatnonzero(black.any(axis=0))
    return black[rows[0] - 2 : rows[-1] + 3, columns[0] - 2 : columns[-1] + 3]


def raw_gray(path: Path, *, photo: bool = False) -> NDArray[np.uint8]:
    """Page 1 of the PDF at `path` as PDFium renders it for a fine A4 fax page."""
    document = open_pdf(path)
    page = document[0]
    gray = np.empty((PageSize.A4.rows(Resolution.FINE), FAX_WIDTH), dtype=np.uint8)
    place = fit_on_page(595 / 72, 842 / 72, Resolution.FINE, PageSize.A4)
    _render(page, place, 0, _PHOTO_RENDER_FLAGS if photo else _RENDER_FLAGS, gray)
    page.close()
    document.close()
    return gray


def raw_render(path: Path) -> NDArray[np.bool_]:
    """Page 1 of the PDF at `path` thresholded, before its edges are straightened."""
    return np.unpackbits(threshold_rows(raw_gray(path)), axis=1).astype(bool)


def photograph_by_definition(gray: np.ndarray) -> bool:
    """`is_photograph` as its docstring states it, with two comparisons on the strided view."""
    sample = gray[::4, ::4]
    mid_tone = (sample >= 32) & (sample < 224)
    if np.count_nonzero(mid_tone) < 0.10 * sample.size:
        return False
    histogram = np.bincount(sample[mid_tone], minlength=256)
    return int(np.count_nonzero(histogram >= max(1.0, sample.size * 0.0002))) >= 64


@pytest.mark.parametrize(
    "levels",
    [
        [0, 255, 31, 224],
        [31, 32, 223, 224],
        list(range(32, 95)),
        list(range(32, 96)),
        list(range(256)),
    ],
)
@pytest.mark.parametrize("mid_share", [0.05, 0.099, 0.11, 0.14, 0.5])
def test_the_photograph_test_keeps_its_definition(levels: list[int], mid_share: float) -> None:
    rng = np.random.default_rng(len(levels) + int(mid_share * 1000))
    gray = rng.choice(np.array([0, 255], dtype=np.uint8), size=(403, 1728))
    mid = rng.random(gray.shape) < mid_share
    gray[mid] = rng.choice(np.array(levels, dtype=np.uint8), size=int(np.count_nonzero(mid)))
    assert is_photograph(gray) == photograph_by_definition(gray)
    assert is_photograph(gray[:0]) is False
