"""Finding the fonts pages are drawn with: DejaVu through fontconfig, else Pillow's own font."""

from __future__ import annotations

import shutil
import subprocess
from enum import Enum
from functools import cache, lru_cache
from pathlib import Path

from PIL import ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


class FontStyle(Enum):
    """The faces templates and text pages may ask for; the value is a fontconfig pattern."""

    SANS = "DejaVu Sans:style=Book"
    SANS_BOLD = "DejaVu Sans:style=Bold"
    MONO = "DejaVu Sans Mono:style=Book"
    MONO_BOLD = "DejaVu Sans Mono:style=Bold"


@cache
def font_file(style: FontStyle) -> Path | None:
    """The font file fontconfig (`fc-match`) picks for `style`, or None without fontconfig.

    fontconfig always answers with its closest match, so a machine without DejaVu
    (Debian's fonts-dejavu-core) still gets a usable face.
    """
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        found = subprocess.run(
            [fc_match, "--format=%{file}", style.value],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(found)
    if not found or path.suffix.lower() not in {".ttf", ".otf", ".ttc"} or not path.is_file():
        return None
    return path


@lru_cache(maxsize=64)
def load_font(style: FontStyle, size_px: int) -> Font:
    """A font of `style` whose em is `size_px` pixels; Pillow's built-in scalable font (not
    monospaced) when fontconfig finds nothing, so rendering never fails for want of a font."""
    path = font_file(style)
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size_px)
        except OSError:
            pass
    return ImageFont.load_default(size_px)
