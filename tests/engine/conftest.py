from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.engine.fax_images import sample_page, write_tiff


@pytest.fixture
def make_tiff(tmp_path: Path) -> Callable[..., Path]:
    """Make a fax TIFF of ``pages`` distinct test pages at a vertical resolution."""

    def make(pages: int = 2, y_dpi: int = 196, name: str = "send.tif") -> Path:
        images = [sample_page(number, y_dpi) for number in range(1, pages + 1)]
        return write_tiff(tmp_path / name, images, y_dpi)

    return make
