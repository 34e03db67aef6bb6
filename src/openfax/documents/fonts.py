"""The fonts pages are drawn with: the DejaVu faces shipped in the package (``faces/``), so a
page is the same on every machine whatever fonts it has installed."""

from __future__ import annotations

from enum import Enum
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

FACES = Path(__file__).with_name("faces")
"""The folder of the shipped font files (DejaVu, under its own licence: ``faces/LICENSE``)."""


class FontStyle(Enum):
    """The faces templates and text pages may ask for; the value is the face's file name."""

    SANS = "DejaVuSans.ttf"
    SANS_BOLD = "DejaVuSans-Bold.ttf"
    MONO = "DejaVuSansMono.ttf"
    MONO_BOLD = "DejaVuSansMono-Bold.ttf"


def font_file(style: FontStyle) -> Path:
    """The shipped font file of ``style``."""
    return FACES / style.value


@lru_cache(maxsize=64)
def load_font(style: FontStyle, size_px: int) -> Font:
    """A font of ``style`` whose em is ``size_px`` pixels."""
    return ImageFont.truetype(str(font_file(style)), size_px)
