"""Straightening the edges of thresholded text, so that MMR codes them in fewer bits.

Anti-aliased glyphs cut at mid-grey have edges that wander by a pixel from row to row, and
serifs that end in a one-pixel step; MMR pays for each with a longer code. A "jog" is a run of
one to three pixels down one column, all of one colour, with the other colour just above and
below it, between black on one side and a white column on the other: a bump on an edge or a
notch in it. Flipping a jog to the colour above and below it straightens the edge. Jogs two
and three rows long are flipped only beside a black column that runs on a row above and below
them (a wavering stem) and a white one that runs on two rows (so small counters keep their
width). One-row notches are flipped beside a stroke (black with black above or below);
one-row bumps beside a column of three black, or at the end of an arm two or three pixels
long off a taller stroke (a serif's overhang, shortened by one pixel; a one-pixel overhang is
kept). Rules of any thickness, dots, dashes and the inside of dither patterns keep every pixel.

Each flip changes no topology: the flipped pixels touch the colour they take on only through
pixels already connected, so no stroke is cut or joined and no counter opened or closed.

Pixels are packed bits, 1 for black and the first pixel in the high-order bit (`FaxPage.rows`);
each step is a few dozen numpy operations on whole pages, laid out with a white byte after
every row so that moving the bits of the whole page by a pixel moves each row's alone.
"""

from __future__ import annotations

import functools
import operator

import numpy as np
from numpy.typing import NDArray

TIP_REACH = 3
"""Longest overhang, in pixels, whose one-row tip is trimmed: a serif, not a rule or a dash."""

_PAD_ABOVE = 2
_PAD_BELOW = 4
"""White rows around the page, so that every row has the neighbours a three-row jog needs."""


def smooth_edges(rows: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A copy of `rows` (packed bits, 1 black) with its one-, two- and three-row jogs flipped."""
    smoothed = rows.copy()
    inked_rows = np.flatnonzero(rows.any(axis=1))
    if inked_rows.size == 0:
        return smoothed
    inked_bytes = np.flatnonzero(rows.any(axis=0))
    # Only the box around the ink is worked on: white all round it, as beyond the page.
    box = smoothed[inked_rows[0] : inked_rows[-1] + 1, inked_bytes[0] : inked_bytes[-1] + 1]
    height, width = box.shape
    padded = np.zeros((_PAD_ABOVE + height + _PAD_BELOW, width + 1), dtype=np.uint8)
    padded[_PAD_ABOVE : _PAD_ABOVE + height, :width] = box
    _flip_tips(padded, height)
    _flip_wavers(padded, height, 2)
    _flip_wavers(padded, height, 3)
    box[...] = padded[_PAD_ABOVE : _PAD_ABOVE + height, :width]
    return smoothed


def _flip_tips(padded: NDArray[np.uint8], height: int) -> None:
    """Flip the one-row jogs of the page inside `padded`: notches in a stroke, bumps on a
    column of three black (a wavering stem), and the last pixel of an arm two to TIP_REACH
    pixels long off a stroke more than one row tall (a serif's overhang; one pixel is kept)."""
    above, here, below = (padded[_PAD_ABOVE + d : _PAD_ABOVE + d + height] for d in (-1, 0, 1))
    jog = (here ^ above) & (here ^ below)
    one_row = here & jog
    stroke = here & ~jog  # black, with black above or below
    stem = above & here & below
    column = above | here | below  # 0 where a column of three is white
    white_left, white_right = ~_from_left(column), ~_from_right(column)
    notch = (jog & ~here) & (
        (_from_right(stroke) & white_left) | (_from_left(stroke) & white_right)
    )
    arm_right = one_row & _from_right(stroke)  # one-row pixels of an arm off a stroke
    arm_left = one_row & _from_left(stroke)
    for _ in range(TIP_REACH - 2):
        arm_right |= one_row & _from_right(arm_right)
        arm_left |= one_row & _from_left(arm_left)
    tip = one_row & (
        (_from_right(stem | arm_right) & white_left) | (_from_left(stem | arm_left) & white_right)
    )
    here ^= notch | tip


def _flip_wavers(padded: NDArray[np.uint8], height: int, length: int) -> None:
    """Flip the jogs `length` rows long of the page inside `padded` where the black column beside
    runs on a row above and below them, and the white column on the other side two rows: a
    notch in the side of a small counter is its width, not a waver."""
    window = [padded[_PAD_ABOVE + d : _PAD_ABOVE + d + height] for d in range(-2, length + 2)]
    rows = window[1:-1]  # the jog's rows and one more above and below
    changes = [rows[d] ^ rows[d + 1] for d in range(length + 1)]
    jog = changes[0] & changes[-1]
    for change in changes[1:-1]:
        jog &= ~change
    black = functools.reduce(operator.and_, rows)  # 1 where the column is black
    inked = functools.reduce(operator.or_, window)  # 0 where it is white two rows further
    sides = (_from_right(black) & ~_from_left(inked)) | (_from_left(black) & ~_from_right(inked))
    jog &= sides
    for row in rows[1 : length + 1]:  # the jog is marked on its top row; row d sees it d down
        row ^= jog


# numpy does not vectorise left shifts of bytes: x + x and x * 128 wrap to the same bits ten
# times faster.
_LOW_BIT_TO_HIGH = np.uint8(128)


def _from_left(bits: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Each pixel's left neighbour, in rows that end in a white byte."""
    flat = bits.reshape(-1)
    moved = np.right_shift(flat, 1)
    moved[1:] |= flat[:-1] * _LOW_BIT_TO_HIGH
    return moved.reshape(bits.shape)


def _from_right(bits: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Each pixel's right neighbour, in rows that end in a white byte."""
    flat = bits.reshape(-1)
    moved = flat + flat
    moved[:-1] |= np.right_shift(flat[1:], 7)
    return moved.reshape(bits.shape)
