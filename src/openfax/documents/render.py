"""Turning a list of documents into fax pages, each by the renderer its content calls for."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from openfax.documents.filetype import FileType, detect
from openfax.documents.image import render_image
from openfax.documents.pages import FaxPage, PageSize, Resolution
from openfax.documents.pdf import render_pdf
from openfax.documents.text import render_text
from openfax.errors import DocumentError


def render_documents(
    paths: Iterable[str | os.PathLike[str]],
    *,
    resolution: Resolution = Resolution.FINE,
    page_size: PageSize = PageSize.A4,
) -> list[FaxPage]:
    """All pages of all documents, in order, as fax pages 1728 pixels wide.

    PDF, PNG, JPEG, GIF, BMP, TIFF and plain text are recognised by content, whatever their
    names; anything unreadable raises DocumentError naming the file and the reason.
    """
    return list(iter_pages(paths, resolution=resolution, page_size=page_size))


def iter_pages(
    paths: Iterable[str | os.PathLike[str]],
    *,
    resolution: Resolution = Resolution.FINE,
    page_size: PageSize = PageSize.A4,
) -> Iterator[FaxPage]:
    """The pages of `render_documents`, each PDF page rendered only when asked for, so that
    `write_fax_tiff(iter_pages(...))` codes pages while the next ones render."""
    for name in paths:
        path = Path(name)
        kind = detect(path)
        if kind is FileType.PDF:
            yield from render_pdf(path, resolution, page_size)
        elif kind is FileType.IMAGE:
            yield from render_image(path, resolution, page_size)
        else:
            try:
                data = path.read_bytes()
            except OSError as error:
                raise DocumentError(path, f"cannot be read: {error.strerror or error}") from None
            yield from render_text(path, data, resolution, page_size)
