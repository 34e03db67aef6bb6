"""Test pages for the engine: distinct line-art pages written as a fax TIFF with Pillow.

The engine is tested on its own, without ``openfax.documents``: spandsp reads these through
libtiff, which honours the photometric tag, so the images mean the same on both ends.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

WIDTH = 1728
ROWS = {98: 1143, 196: 2287, 391: 4573}
"""A4 length at each vertical resolution."""


def sample_page(number: int, y_dpi: int = 196) -> Image.Image:
    """A page no other page equals: boxes and text placed from a seed, and the page number."""
    rows = ROWS[y_dpi]
    page = Image.new("1", (WIDTH, rows), 1)
    draw = ImageDraw.Draw(page)
    rng = random.Random(number)
    for _ in range(12):
        x0, y0 = rng.randrange(0, WIDTH - 200), rng.randrange(0, rows - 200)
        draw.rectangle((x0, y0, x0 + rng.randrange(20, 200), y0 + rng.randrange(5, 200)), fill=0)
    for line in range(20):
        draw.text((100, 80 + line * rows // 24), f"page {number} line {line} " * 4, fill=0)
    return page


def write_tiff(path: Path, pages: list[Image.Image], y_dpi: int = 196) -> Path:
    """Write pages as a multi-page CCITT G3 TIFF at 204 x ``y_dpi``."""
    pages[0].save(
        path,
        compression="group3",
        save_all=True,
        append_images=pages[1:],
        dpi=(204, y_dpi),
    )
    return path


def read_pages(path: Path) -> list[np.ndarray]:
    """Every page of a TIFF as a boolean array, True where there is ink."""
    with Image.open(path) as image:
        pages = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            pages.append(np.asarray(image.convert("L")) < 128)
    return pages
