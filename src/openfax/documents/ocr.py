"""Reading the text of fax pages with Tesseract, run as one process per page.

Each page is made square first (a standard-resolution page has half the rows of its width's
resolution, which Tesseract would read as squashed letters) and handed to ``tesseract`` on
its standard input as PNG; its TSV output gives every word with its box. The words become
the fax's plain text (stored and searched) and the invisible text layer of its PDF
(:mod:`openfax.documents.to_pdf`), each word placed over its box.

Tesseract runs as a child process rather than through pytesseract (which runs the same
command): one dependency less, and the time limit kills the child, which a library call in
a thread could not be. ``OMP_THREAD_LIMIT=1`` keeps each to one core; the caller bounds how
many run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from openfax.documents.pages import FaxPage, Resolution
from openfax.documents.tiff import iter_fax_tiff
from openfax.errors import DocumentError, OcrError

TESSERACT = "tesseract"
"""The command looked up on PATH when no other is configured."""
MAX_OUTPUT = 1 << 20
"""The most TSV one page may print (a dense A4 page prints about 60 KB)."""


@dataclass(frozen=True)
class Word:
    """A word read on a page, its box in the page's own pixels (rows as received)."""

    text: str
    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class PageText:
    """The words of one page in reading order; ``lines`` groups them as Tesseract did."""

    lines: tuple[tuple[Word, ...], ...]

    @property
    def words(self) -> Iterator[Word]:
        for line in self.lines:
            yield from line

    @property
    def text(self) -> str:
        return "\n".join(" ".join(word.text for word in line) for line in self.lines)


@dataclass(frozen=True)
class FaxText:
    """What was read of a fax: its pages' words (the PDF's text layer) and plain text."""

    pages: tuple[PageText, ...]

    @property
    def text(self) -> str:
        """The pages' text, one line per line read, pages apart by a form feed."""
        return "\f".join(page.text for page in self.pages)

    def cut(self, most: int) -> FaxText:
        """The first lines whose text holds at most ``most`` characters (a bound on what is
        kept of a fax however much it says)."""
        pages: list[PageText] = []
        left = most
        for page in self.pages:
            lines: list[tuple[Word, ...]] = []
            for line in page.lines:
                size = sum(len(word.text) + 1 for word in line)
                if size > left:
                    return FaxText((*pages, PageText(tuple(lines))))
                lines.append(line)
                left -= size
            pages.append(PageText(tuple(lines)))
            left -= 1
        return FaxText(tuple(pages))

    def to_json(self) -> list[list[list[list[str | int]]]]:
        """The words as JSON: pages of lines of ``[text, left, top, width, height]``."""
        return [
            [[[w.text, w.left, w.top, w.width, w.height] for w in line] for line in page.lines]
            for page in self.pages
        ]

    @classmethod
    def from_json(cls, value: Sequence[Any]) -> FaxText:
        """The words :meth:`to_json` wrote."""
        return cls(
            tuple(
                PageText(tuple(tuple(Word(*_word(word)) for word in line) for line in page))
                for page in value
            )
        )


def _word(value: Sequence[Any]) -> tuple[str, int, int, int, int]:
    text, left, top, width, height = value
    return str(text), int(left), int(top), int(width), int(height)


def find_tesseract(command: str = TESSERACT) -> str | None:
    """The path of the Tesseract command, None when it is not installed."""
    return shutil.which(command)


async def installed_languages(command: str) -> set[str]:
    """The languages Tesseract has data for (``tesseract --list-langs``); OcrError when it
    cannot be run."""
    try:
        process = await asyncio.create_subprocess_exec(
            command,
            "--list-langs",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        output, _ = await process.communicate()
    except OSError as exc:
        raise OcrError(f"cannot run {command}: {exc}") from exc
    # The first line says where the data is; one language a line follows.
    return {line.strip() for line in output.decode(errors="replace").splitlines()[1:]}


def square_png(page: FaxPage) -> tuple[bytes, float]:
    """The page as a PNG with square pixels, and the factor its rows were scaled by (the
    word boxes Tesseract gives are divided by it to fall on the page's own rows)."""
    scale = {Resolution.STANDARD: 2.0, Resolution.FINE: 1.0, Resolution.SUPERFINE: 0.5}[
        page.resolution
    ]
    image = page.image
    if scale != 1.0:
        image = image.convert("L").resize(
            (page.width, round(page.height * scale)), Image.Resampling.BOX
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(page.resolution.x_dpi, page.resolution.x_dpi))
    return buffer.getvalue(), scale


def parse_tsv(tsv: str, scale: float = 1.0) -> PageText:
    """The words of Tesseract's TSV output (level 5 rows), grouped into its lines, their
    boxes divided by ``scale``."""
    lines: dict[tuple[str, str, str], list[Word]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        try:
            left, top, width, height = (int(row[k]) for k in ("left", "top", "width", "height"))
        except (KeyError, TypeError, ValueError):
            continue
        key = (row["block_num"], row["par_num"], row["line_num"])
        lines.setdefault(key, []).append(
            Word(text, left, round(top / scale), width, max(1, round(height / scale)))
        )
    return PageText(tuple(tuple(words) for words in lines.values()))


async def read_page(png: bytes, *, command: str, languages: Sequence[str]) -> str:
    """Tesseract's TSV of one page image. The child is killed if the caller is cancelled
    (its time limit). OcrError when it fails."""
    environment = dict(os.environ, OMP_THREAD_LIMIT="1")
    process = await asyncio.create_subprocess_exec(
        *(command, "stdin", "stdout", "-l", "+".join(languages), "--psm", "3", "tsv"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    try:
        output, errors = await process.communicate(png)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.returncode != 0:
        reason = errors.decode(errors="replace").strip().splitlines()
        raise OcrError(
            f"tesseract exited with status {process.returncode}"
            + (f": {reason[-1][:300]}" if reason else "")
        )
    if len(output) > MAX_OUTPUT:
        raise OcrError(f"tesseract printed over {MAX_OUTPUT:,} bytes for one page")
    return output.decode(errors="replace")


async def read_fax(
    tiff: Path,
    *,
    command: str,
    languages: Sequence[str],
    page_limit: int,
    time_limit: float,
) -> FaxText:
    """Read the first ``page_limit`` pages of a fax TIFF within ``time_limit`` seconds.
    The pages are made ready in a worker thread (a page's decoding and PNG coding are
    Pillow's C, a few milliseconds); OcrError when Tesseract fails or the time is up."""
    read: list[PageText] = []
    try:
        async with asyncio.timeout(time_limit):
            for number in range(1, page_limit + 1):
                prepared = await asyncio.to_thread(_page_png, tiff, number)
                if prepared is None:
                    break
                png, scale = prepared
                tsv = await read_page(png, command=command, languages=languages)
                read.append(parse_tsv(tsv, scale))
    except TimeoutError:
        raise OcrError(
            f"reading the text took longer than {time_limit:g} s ({len(read)} pages read)"
        ) from None
    except DocumentError as exc:
        raise OcrError(str(exc)) from exc
    except OSError as exc:
        raise OcrError(f"cannot run {command}: {exc}") from exc
    return FaxText(tuple(read))


def _page_png(tiff: Path, number: int) -> tuple[bytes, float] | None:
    """Page ``number`` (from 1) of the fax as :func:`square_png` makes it; None past the
    last. The file is opened again for each page, so nothing stays open between pages."""
    page = next(iter_fax_tiff(tiff, start=number), None)
    return None if page is None else square_png(page)
