"""Rendering and coding the pages of PDFs in several processes at once.

PDFium is entered by one thread at a time in a process (`pdf.PDFIUM_LOCK`), and a page's
rendering, edge straightening and coding cost about as much as each other; so `openfax
render` hands runs of a PDF's pages to worker processes, each with its own PDFium, which
render and code them whole and send back the coded pages, written out in order. The
processes are forked from the command once it has imported what they need, so they start in
a few milliseconds, not at the price of a new interpreter.
"""

from __future__ import annotations

import functools
import math
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from openfax.documents.ccitt import decode_strip, encode_rows
from openfax.documents.pages import FAX_WIDTH, Compression, FaxPage, PageSize, Resolution
from openfax.documents.pdf import (
    PDFIUM_LOCK,
    count_pdf_pages,
    open_pdf,
    render_pdf,
    render_pdf_rows,
)
from openfax.errors import DocumentError

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    import pypdfium2 as pdfium

MAX_RUN = 4
"""Most pages a worker renders in one task: runs short enough to share a document's pages
evenly between the workers and to keep the pages waiting to be written to a few megabytes,
long enough that a task's round trip costs little beside its pages."""

RUNS_PER_WORKER = 2
"""Tasks given out ahead per worker: one to work on, one waiting, so no worker idles while
the writer takes in what another sent."""


def default_workers() -> int:
    """The worker processes `openfax render` uses unless told: one per CPU it may run on."""
    return len(os.sched_getaffinity(0))


class PageWorkers:
    """Up to `count` worker processes that render and code, with `compression`, the pages of
    the PDFs given to `pages`; started when a PDF long enough to share first comes, stopped
    when the `with` block ends. With a count of 1 there are none: pages render in this
    process as `render_pdf` renders them."""

    def __init__(self, count: int, compression: Compression) -> None:
        if count < 1:
            raise ValueError(f"worker processes must be 1 or more, not {count}")
        self.count = count
        self.compression = compression
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> PageWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def pages(self, path: Path, resolution: Resolution, page_size: PageSize) -> Iterator[FaxPage]:
        """All pages of the PDF at `path` in order, as `render_pdf` makes them, but coded
        (`FaxPage.from_coded`): written with the workers' coding, each is copied as it is."""
        total = count_pdf_pages(path)
        if self.count == 1 or total < 2 * self.count:  # forking would cost more than it saves
            yield from render_pdf(path, resolution, page_size)
            return
        # At least four runs a worker, so that the last ones even out the workers' shares.
        run = min(MAX_RUN, math.ceil(total / (4 * self.count)))
        from concurrent.futures.process import BrokenProcessPool  # with the pool, when needed

        starts = iter(range(0, total, run))
        pool = self._started()
        height = page_size.rows(resolution)
        coding: deque[Future[list[bytes] | str]] = deque()
        try:
            while True:
                for first in starts:
                    pages = range(first, min(total, first + run))
                    task = (str(path), pages, resolution, page_size, self.compression)
                    coding.append(pool.submit(_code_pages, *task))
                    if len(coding) >= RUNS_PER_WORKER * self.count:
                        break
                if not coding:
                    return
                strips = coding.popleft().result()
                if isinstance(strips, str):
                    raise DocumentError(path, strips)
                for strip in strips:
                    decode = functools.partial(
                        decode_strip, strip, FAX_WIDTH, height, resolution, self.compression
                    )
                    coded = (self.compression, strip)
                    yield FaxPage.from_coded(coded, FAX_WIDTH, height, resolution, decode)
        except BrokenProcessPool:
            self._pool = None
            raise DocumentError(
                path, "the process rendering its pages died (out of memory, or killed)"
            ) from None
        finally:
            for future in coding:
                future.cancel()

    def _started(self) -> ProcessPoolExecutor:
        """The worker processes, forked now if they are not running yet (multiprocessing is
        imported then: a command that renders no long PDF does without it)."""
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                max_workers=self.count, mp_context=multiprocessing.get_context("fork")
            )
        return self._pool


def _code_pages(
    path: str,
    pages: range,
    resolution: Resolution,
    page_size: PageSize,
    compression: Compression,
) -> list[bytes] | str:
    """In a worker: pages `pages` of the PDF at `path`, rendered and coded with `compression`;
    or the reason one cannot be rendered (DocumentError's, which the command raises again
    naming the document: the exception itself does not cross processes)."""
    try:
        document = _opened(Path(path))
        return [
            encode_rows(rows, FAX_WIDTH, resolution, compression)
            for rows in render_pdf_rows(Path(path), document, pages, resolution, page_size)
        ]
    except DocumentError as error:
        return error.reason


_OPEN: dict[tuple[str, int, int, int, int], pdfium.PdfDocument] = {}
"""In a worker: the PDF it rendered pages of last (one at most), kept open for its next runs
(a large PDF whose cross-reference table PDFium must rebuild would cost that at each
opening), under what tells its file: path, device, inode, size, time of change."""


def _opened(path: Path) -> pdfium.PdfDocument:
    """In a worker: the PDF at `path`, open; the one open before is closed if it is another
    (or the same path holds another file)."""
    try:
        status = path.stat()
    except OSError as error:
        raise DocumentError(path, f"cannot be read: {error.strerror or error}") from None
    key = (str(path), status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
    document = _OPEN.get(key)
    if document is None:
        with PDFIUM_LOCK:
            for other in _OPEN.values():
                other.close()
        _OPEN.clear()
        document = _OPEN[key] = open_pdf(path)
    return document
