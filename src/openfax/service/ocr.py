"""Reading the text of received faxes (``docs/design/ocr.md``).

Once a fax is archived, its pages are read with Tesseract (:mod:`openfax.documents.ocr`) in
the background: at most ``ocr.workers`` faxes at once, each within ``ocr.time_limit_seconds``.
What was read is stored with the message (``message_texts``: the text, searched by the
listings, and the words with their boxes), and the fax's PDF is written again with the words
as its invisible text layer, so the PDF that routing methods, the web console and
``openfax get`` take is searchable. Routing waits for the text (rules may route on words in
it), at most the time limit: a fax read late or not at all is routed all the same, without
its text. A reading that fails stores its error and an empty text; the fax is untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from openfax.documents.ocr import FaxText, find_tesseract, installed_languages, read_fax
from openfax.errors import MessageNotFoundError, OcrError
from openfax.routing.fax import write_pdf
from openfax.service.context import ServiceContext
from openfax.service.housekeeping import pdf_cache_path
from openfax.store import Direction, IncomingJob, MessageText
from openfax.store import queries as q

_logger = logging.getLogger(__name__)

MAX_TEXT = 64 * 1024
"""The most characters of a fax's text that are kept (about 20 dense pages); the words past
them are neither stored nor in the PDF's text layer."""
MAX_ERROR = 1000
"""The most characters of a failed reading's error that are kept."""


class TextReader:
    """Reads received faxes' text in the background, a bounded number at once."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        settings = ctx.config.ocr
        self.command = find_tesseract(settings.command) if settings.enabled else None
        if settings.enabled and self.command is None:
            _logger.warning(
                "received faxes are archived without their text: the OCR command %r is not "
                "installed (Debian: apt-get install tesseract-ocr tesseract-ocr-eng; or set "
                "[ocr] enabled = false)",
                settings.command,
            )
        self._workers = asyncio.Semaphore(settings.workers)
        self._readings: dict[int, asyncio.Task[None]] = {}
        self._languages_checked = False

    async def wait_for_text(self, job: IncomingJob) -> None:
        """Have the archived fax read, unless it was already, and wait for its text at most
        ``ocr.time_limit_seconds``; past that the reading goes on in the background."""
        if self.command is None or job.receive_path is None:
            return
        reading = self._readings.get(job.id)
        if reading is None:
            async with self.ctx.db.read() as conn:
                if await q.get_message_text(conn, job.id) is not None:
                    return
            reading = self.ctx.spawn(self._read(job, self.command), f"OCR of {job.id:016x}")
            self._readings[job.id] = reading
            reading.add_done_callback(lambda _: self._readings.pop(job.id, None))
        limit = self.ctx.config.ocr.time_limit_seconds
        # Neither the time-out nor a reading stopped with the service stops the routing.
        done, _ = await asyncio.wait({reading}, timeout=limit)
        if not done:
            _logger.warning(
                "fax %016x: routed without its text, not read within %g s (ocr.time_limit_seconds)",
                job.id,
                limit,
            )

    def close(self) -> None:
        """Stop the readings under way (the service is stopping; Tesseract is killed). The
        faxes are read again when they are next routed, at start-up recovery."""
        for reading in list(self._readings.values()):
            reading.cancel()

    async def _read(self, job: IncomingJob, command: str) -> None:
        """Read one fax, store what was read (or why not) and rewrite its PDF with the text."""
        assert job.receive_path is not None
        settings = self.ctx.config.ocr
        tiff = self.ctx.spool.path(job.receive_path)
        error = ""
        async with self._workers:
            await self._check_languages(command)
            try:
                read = await read_fax(
                    tiff,
                    command=command,
                    languages=settings.languages,
                    page_limit=settings.page_limit,
                    time_limit=settings.time_limit_seconds,
                )
            except OcrError as exc:
                read, error = FaxText(()), str(exc)[:MAX_ERROR]
                _logger.warning("fax %016x: its text could not be read: %s", job.id, error)
        read = read.cut(MAX_TEXT)
        stored = MessageText(
            message_id=job.id,
            text=read.text,
            pages=read.to_json(),
            error=error,
            read_at=self.ctx.clock.now(),
        )
        kept: list[bool] = []
        await self.ctx.store_until_done(
            lambda: self._store(stored, kept), f"fax {job.id:016x}: its text"
        )
        if kept and read.pages:
            pdf = pdf_cache_path(self.ctx.spool, Direction.IN, job.id)
            await asyncio.to_thread(_write_pdf, tiff, pdf, read)
            _logger.info("fax %016x: %d characters read", job.id, len(stored.text))

    async def _check_languages(self, command: str) -> None:
        """Before the first reading: say once which configured languages Tesseract lacks (it
        reads with the others, and fails when none is left)."""
        if self._languages_checked:
            return
        self._languages_checked = True
        try:
            installed = await installed_languages(command)
        except OcrError as exc:
            _logger.error("%s", exc)
            return
        wanted = self.ctx.config.ocr.languages
        missing = [language for language in wanted if language not in installed]
        if missing:
            left = [language for language in wanted if language in installed]
            packages = [f"tesseract-ocr-{m.replace('_', '-').lower()}" for m in missing]
            _logger.error(
                "Tesseract has no data for %s of ocr.languages: received faxes are %s "
                "(Debian: apt-get install %s)",
                ", ".join(missing),
                f"read in {', '.join(left)} only" if left else "not read",
                " ".join(packages),
            )

    async def _store(self, stored: MessageText, kept: list[bool]) -> None:
        """One try at storing what was read; appends to ``kept`` unless the fax was deleted
        while it was read."""
        async with self.ctx.db.transaction() as conn:
            try:
                await q.get_message(conn, Direction.IN, stored.message_id)
            except MessageNotFoundError:
                return
            await q.put_message_text(conn, stored)
        kept.append(True)


def _write_pdf(tiff: Path, pdf: Path, read: FaxText) -> None:
    """The fax's PDF with its text layer, in place of the one without (if any); nothing
    when the fax was deleted meanwhile."""
    with contextlib.suppress(FileNotFoundError):
        write_pdf(tiff, pdf, read.pages)
