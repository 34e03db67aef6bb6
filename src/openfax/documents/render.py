"""Turning a list of documents into fax pages, each by the renderer its content calls for.

The image and text renderers are imported when a document of theirs comes: a command that
renders PDFs alone does without Pillow's drawing and font modules.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from openfax.documents.filetype import FileType, detect
from openfax.documents.pages import FaxPage, PageSize, Resolution
from openfax.documents.pdf import count_pdf_pages, render_pdf
from openfax.errors import DocumentError

if TYPE_CHECKING:
    from openfax.documents.office import OfficeConverter
    from openfax.documents.workers import PageWorkers


def render_documents(
    paths: Iterable[str | os.PathLike[str]],
    *,
    resolution: Resolution = Resolution.FINE,
    page_size: PageSize = PageSize.A4,
    office: OfficeConverter | None = None,
) -> list[FaxPage]:
    """All pages of all documents, in order, as fax pages 1728 pixels wide.

    PDF, PNG, JPEG, GIF, BMP, TIFF and plain text are recognised by content, whatever their
    names, and so are Office documents (made PDF by `office`); anything unreadable raises
    DocumentError naming the file and the reason.
    """
    return list(iter_pages(paths, resolution=resolution, page_size=page_size, office=office))


def iter_pages(
    paths: Iterable[str | os.PathLike[str]],
    *,
    resolution: Resolution = Resolution.FINE,
    page_size: PageSize = PageSize.A4,
    office: OfficeConverter | None = None,
    workers: PageWorkers | None = None,
) -> Iterator[FaxPage]:
    """The pages of `render_documents`, each rendered only when asked for, so that
    `write_fax_tiff(iter_pages(...))` codes pages while the next ones render and holds a few
    pages at a time, whatever the length of the documents. With `workers`, the pages of PDFs
    (and of Office documents) are rendered and coded by its processes."""
    pdf_pages = render_pdf if workers is None else workers.pages
    for name in paths:
        path = Path(name)
        kind = detect(path)
        if kind.office:
            with _converter(path, kind, office).pdf_of(path, kind) as pdf:
                yield from pdf_pages(pdf, resolution, page_size)
        elif kind is FileType.PDF:
            yield from pdf_pages(path, resolution, page_size)
        elif kind is FileType.IMAGE:
            from openfax.documents.image import render_image

            yield from render_image(path, resolution, page_size)
        else:
            from openfax.documents.text import render_text

            yield from render_text(path, _read_text(path), resolution, page_size)


def count_pages(
    path: str | os.PathLike[str],
    *,
    page_size: PageSize = PageSize.A4,
    office: OfficeConverter | None = None,
) -> int:
    """The number of pages `iter_pages` makes of a document, found without rendering any
    (a PDF's page tree, an image's frames, a text's layout; an Office document is made PDF),
    so that a document too long to send is refused at once; DocumentError as `iter_pages`
    raises it."""
    path = Path(path)
    kind = detect(path)
    if kind.office:
        with _converter(path, kind, office).pdf_of(path, kind) as pdf:
            return count_pdf_pages(pdf)
    if kind is FileType.PDF:
        return count_pdf_pages(path)
    if kind is FileType.IMAGE:
        from openfax.documents.image import count_image_pages

        return count_image_pages(path)
    from openfax.documents.text import count_text_pages

    return count_text_pages(path, _read_text(path), page_size)


def _read_text(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise DocumentError(path, f"cannot be read: {error.strerror or error}") from None


def _converter(path: Path, kind: FileType, office: OfficeConverter | None) -> OfficeConverter:
    """`office`, or DocumentError saying that this document needs one."""
    if office is None:
        raise DocumentError(
            path, f"is an Office document ({kind.value}): it needs LibreOffice to become fax pages"
        )
    return office
