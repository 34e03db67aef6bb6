"""Documents generated for the tests: PDFs made with PDFium, images made with Pillow."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.documents.factories import make_pdf


@pytest.fixture
def pdf_file(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "three.pdf", 3)


@pytest.fixture
def line_art(tmp_path: Path) -> Image.Image:
    image = Image.new("RGB", (600, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((50, 50, 550, 350), outline="black", width=6)
    draw.line((50, 350, 550, 50), fill="black", width=4)
    draw.text((80, 80), "Line art", fill="black")
    return image


@pytest.fixture
def photo() -> Image.Image:
    """A smooth grey gradient with a little texture: a continuous-tone image."""
    gradient = Image.linear_gradient("L").resize((600, 400))
    noise = Image.effect_noise((600, 400), 20)
    return Image.blend(gradient, noise, 0.2).convert("RGB")
