"""Turning grey levels into black and white: thresholding for text and line art, dithering for
photographs, and the rule that tells them apart."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

THRESHOLD = 128
MID_TONES = slice(32, 224)
PHOTO_MIN_MID_TONE_SHARE = 0.10
PHOTO_MIN_MID_TONE_LEVELS = 64


def is_photograph(gray: NDArray[np.uint8]) -> bool:
    """Tell a photograph from text or line art by counting grey levels.

    On every 4th pixel of every 4th row, the image counts as a photograph when at least 10 % of
    the samples are mid-tones (grey 32 to 223) and those mid-tones spread over at least 64
    distinct levels (each held by at least 0.02 % of the samples). Text, line art, charts with
    flat fills and scanned letters have few mid-tones, or only a handful of levels (anti-aliased
    edges, flat colours), so they are thresholded; continuous tones are dithered.
    """
    # A contiguous copy, shifted in place so that the mid-tones are 0 to 191 and the rest wrap
    # round above them: one comparison finds them, five times faster than two on the view.
    sample = np.ascontiguousarray(gray[::4, ::4])
    if sample.size == 0:
        return False
    sample -= np.uint8(MID_TONES.start)
    mid_tone = sample < MID_TONES.stop - MID_TONES.start
    share = np.count_nonzero(mid_tone) / sample.size
    if share < PHOTO_MIN_MID_TONE_SHARE:
        return False  # the common case, text and line art, without the costlier histogram
    histogram = np.bincount(sample[mid_tone], minlength=256)
    levels = int(np.count_nonzero(histogram >= max(1.0, sample.size * 0.0002)))
    return levels >= PHOTO_MIN_MID_TONE_LEVELS


def to_bilevel(gray: NDArray[np.uint8], *, dither: bool) -> Image.Image:
    """A mode "1" image from 8-bit grey: Floyd-Steinberg dithered, or thresholded at mid-grey.

    Pure black and white pixels come out unchanged either way, so dithering a page that mixes
    a photograph with non-anti-aliased text keeps the text crisp.
    """
    if dither:
        return Image.fromarray(gray, mode="L").convert("1", dither=Image.Dither.FLOYDSTEINBERG)
    # One byte per pixel into Pillow: packing bits for it costs four times as much.
    return Image.fromarray(np.greater_equal(gray, THRESHOLD))


def threshold_rows(gray: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """8-bit grey thresholded at mid-grey into rows of packed bits, 1 for black (`FaxPage.rows`)."""
    return np.packbits(np.less(gray, THRESHOLD), axis=1)
