"""An image is decoded without copies that multiply its memory: turned upright, made grey a
strip at a time, a large JPEG decoded at the size the page needs; the result is the page
the image shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from openfax.documents import PageSize, Resolution, render_documents
from openfax.documents.image import _DECODING, _draft


def drawing(size: tuple[int, int], mode: str) -> Image.Image:
    """Black shapes on white (transparent where ``mode`` has alpha), none of them symmetric."""
    background = (255, 255, 255, 0) if mode == "RGBA" else "white"
    image = Image.new(mode, size, background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((size[0] // 10, size[1] // 10, size[0] // 2, size[1] // 5), fill="black")
    draw.ellipse((size[0] // 2, size[1] // 2, size[0] - 20, size[1] - 20), fill="black")
    return image


def test_an_image_turned_by_its_exif_renders_as_the_upright_one(tmp_path: Path) -> None:
    upright = drawing((900, 1300), "RGB")
    upright.save(tmp_path / "upright.png", dpi=(150, 150))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned; shown rotated 90 degrees clockwise
    upright.transpose(Image.Transpose.ROTATE_90).save(
        tmp_path / "turned.png", dpi=(150, 150), exif=exif
    )
    (expected,) = render_documents([tmp_path / "upright.png"])
    (turned,) = render_documents([tmp_path / "turned.png"])
    assert np.count_nonzero(~np.asarray(expected.image)) > 10_000
    assert np.array_equal(np.asarray(turned.image), np.asarray(expected.image))
    assert _DECODING.used == 0  # every share is given back


def test_a_transparent_image_is_drawn_on_white_across_its_strips(tmp_path: Path) -> None:
    image = drawing((700, 2000), "RGBA")  # 2,000 rows: several strips
    image.save(tmp_path / "clear.png")
    image.convert("RGB").save(tmp_path / "solid.png")  # transparent white is white
    (clear,) = render_documents([tmp_path / "clear.png"])
    (solid,) = render_documents([tmp_path / "solid.png"])
    assert np.array_equal(np.asarray(clear.image), np.asarray(solid.image))


def test_a_large_jpeg_is_decoded_in_grey_at_the_size_the_page_needs(tmp_path: Path) -> None:
    drawing((6000, 8000), "RGB").save(tmp_path / "big.jpg", dpi=(4800, 4800), quality=50)
    with Image.open(tmp_path / "big.jpg") as image:
        _draft(image, (4800.0, 4800.0), Resolution.FINE, PageSize.A4)
        # 1.25 inches across: 255 fax pixels, so decoded at 1/4 (at least 3 x 255 across).
        assert (image.mode, image.size) == ("L", (1500, 2000))
    (page,) = render_documents([tmp_path / "big.jpg"])
    dark = np.nonzero(~np.asarray(page.image))
    assert dark[1].max() - dark[1].min() + 1 <= 255
