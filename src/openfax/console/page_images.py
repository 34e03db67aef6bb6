"""The pages of archived faxes as images for the browser: a first-page thumbnail in the
inbox, each page at a readable size in the viewer.

Rendered on the server from the fax's PDF (``Archives.pdf_path``) with PDFium, once: each
image is kept beside that PDF (``housekeeping.page_image_path``) by fax, page and width, as
a grey PNG (a fax page is black and white: PNG holds it in a few tens of KB), and goes with
the fax when it is deleted or expires. The widths are a fixed few, so what a browser asks
cannot grow the cache beyond a handful of images per page.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from enum import IntEnum
from pathlib import Path

from PIL import Image

from openfax.documents import iter_fax_tiff
from openfax.documents.pdf import PDFIUM_LOCK, open_pdf
from openfax.errors import MessageNotFoundError
from openfax.model.records import MessageInfo
from openfax.service import FaxService
from openfax.service.housekeeping import page_image_path


class Width(IntEnum):
    """The widths, in pixels, a page is rendered at."""

    THUMBNAIL = 160
    PAGE = 900
    ZOOMED = 1600


class Turn(IntEnum):
    """How far a page is turned clockwise, in degrees (a page faxed upside down or sideways)."""

    NONE = 0
    QUARTER = 90
    HALF = 180
    THREE_QUARTERS = 270


def turned(png: Path, turn: Turn) -> bytes:
    """The PNG ``png`` turned clockwise by ``turn``."""
    with Image.open(png) as image:
        result = image.rotate(-int(turn), expand=True)
    out = io.BytesIO()
    result.save(out, format="PNG")
    return out.getvalue()


class PageImages:
    """The page images of the archived faxes, rendered on first use and kept on disk."""

    def __init__(self, service: FaxService) -> None:
        self.service = service
        self._rendering = asyncio.Semaphore(1)
        """PDFium renders one page at a time anyway (PDFIUM_LOCK): one thread waits for it."""

    async def image(self, message: MessageInfo, page: int, width: Width) -> Path:
        """The PNG of page ``page`` (from 1) of the archived fax, ``width`` pixels wide;
        MessageNotFoundError for a page the fax does not have."""
        if not 1 <= page <= message.pages:
            raise MessageNotFoundError(f"page {page} of the fax", message.id)
        direction = message.direction
        spool = self.service.ctx.spool
        path = page_image_path(spool, direction, message.id, page, int(width))
        if path.exists():
            return path
        pdf = await self.service.archives.pdf_path(direction, message.id)
        async with self._rendering:
            if not path.exists():
                await asyncio.to_thread(_render, pdf, page - 1, int(width), path)
        return path


async def job_page(service: FaxService, job_id: int, page: int) -> bytes:
    """Page ``page`` (from 1) of a queued job as it will go out (cover page and header
    line included: FAXCOMEX ``CopyTiff``), a PNG :attr:`Width.PAGE` wide; composed anew
    each time (the header carries the time of the call), never kept."""
    with tempfile.TemporaryDirectory(prefix="openfax-preview-") as folder:
        tiff = Path(folder) / "job.tif"
        await service.outgoing_queue.copy_tiff(job_id, tiff)
        return await asyncio.to_thread(_fax_page_png, tiff, page, job_id)


def _fax_page_png(tiff: Path, page: int, job_id: int) -> bytes:
    """Page ``page`` of a fax TIFF as a PNG at its true proportions, :attr:`Width.PAGE` wide."""
    found = next(iter_fax_tiff(tiff, start=page), None) if page >= 1 else None
    if found is None:
        raise MessageNotFoundError(f"page {page} of the job", job_id)
    image = found.image
    resolution = found.resolution
    height = round(image.height * resolution.x_dpi / resolution.y_dpi * Width.PAGE / image.width)
    shown = image.convert("L").resize((int(Width.PAGE), height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    shown.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _render(pdf: Path, index: int, width: int, target: Path) -> None:
    """Render page ``index`` of ``pdf`` ``width`` pixels wide into the PNG ``target``,
    written whole or not at all."""
    document = open_pdf(pdf)
    try:
        with PDFIUM_LOCK:
            page = document[index]
            try:
                scale = width / page.get_width()
                image = page.render(scale=scale, grayscale=True).to_pil()
            finally:
                page.close()
    finally:
        with PDFIUM_LOCK:
            document.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".render-", suffix=".png", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            image.convert("L").save(out, format="PNG", optimize=True)
        os.replace(name, target)
    except BaseException:
        os.unlink(name)
        raise
