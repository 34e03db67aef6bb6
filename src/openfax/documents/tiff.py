"""TIFF Class F: writing fax pages for spandsp and efax, and reading received faxes back.

Written files are strict: little-endian, one IFD per page with one strip, FillOrder 1,
PhotometricInterpretation 0 (min-is-white), resolution in inches, PageNumber and
NewSubfileType "page" on every page, T4Options/T6Options as the coding needs. Files are
written and read a page at a time, so a fax of any length costs the memory of a few pages.
A page read coded as it is written (such files, most received ones) keeps its coded bytes:
written again with the same coding it is copied, not decoded and coded anew.
"""

from __future__ import annotations

import contextlib
import functools
import os
import struct
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from openfax.documents.ccitt import (
    T4_OPTION_2D,
    T4_OPTIONS,
    decode_strip,
    encode_page,
    encode_rows,
)
from openfax.documents.pages import X_DPI, Compression, FaxPage, Resolution
from openfax.errors import DocumentError

if TYPE_CHECKING:
    from PIL import Image, TiffImagePlugin

FAX_WIDTHS = (1728, 2048, 2432)
"""Scan-line lengths of T.4 pages at 204 dpi (A4, B4, A3); other widths are not fax."""

_NEW_SUBFILE_TYPE = 254
_IMAGE_WIDTH = 256
_IMAGE_LENGTH = 257
_BITS_PER_SAMPLE = 258
_COMPRESSION = 259
_PHOTOMETRIC = 262
_FILL_ORDER = 266
_STRIP_OFFSETS = 273
_SAMPLES_PER_PIXEL = 277
_ROWS_PER_STRIP = 278
_STRIP_BYTE_COUNTS = 279
_X_RESOLUTION = 282
_Y_RESOLUTION = 283
_PLANAR_CONFIGURATION = 284
_T6_OPTIONS = 293
_RESOLUTION_UNIT = 296
_PAGE_NUMBER = 297

_SHORT, _LONG, _RATIONAL = 3, 4, 5
_SUBFILE_PAGE = 2
_RESOLUTION_UNIT_INCH = 2
_RESOLUTION_UNIT_CM = 3
_TIFF_COMPRESSION = {Compression.MH: 3, Compression.MR: 3, Compression.MMR: 4}
_FAX_COMPRESSIONS = {"group3", "group4", "tiff_ccitt"}


def write_fax_tiff(
    pages: Iterable[FaxPage],
    path: str | os.PathLike[str],
    *,
    compression: Compression = Compression.MR,
) -> int:
    """Write `pages` to `path` as a TIFF-F file coded with `compression`; returns the number
    of pages written.

    The file is written page by page, so memory does not grow with the page count: a few
    pages are coded at once on one worker thread per CPU while the next ones arrive (when
    `pages` renders lazily, as `iter_pages` does, the next page renders meanwhile), and each
    coded page is written out before more are taken. Drawn pages get their bits packed here,
    on the calling thread: there the big short-lived buffers are recycled by malloc, while on
    a worker they cost a page fault every 4 KiB. A file that cannot be finished is removed.
    """
    path = Path(path)
    threads = _coding_threads(pages)
    with ThreadPoolExecutor(max_workers=threads) as pool, _TiffOut(path, compression) as out:
        coding: deque[tuple[_PageShape, Future[bytes]]] = deque()
        for page in pages:
            if page.pending or page.coded:  # rows finished or decoded (if need be) on a worker
                future = pool.submit(encode_page, page, compression)
            else:
                rows = page.rows
                future = pool.submit(encode_rows, rows, page.width, page.resolution, compression)
            coding.append((_PageShape(page.width, page.height, page.resolution), future))
            if len(coding) > _IN_FLIGHT_PER_THREAD * threads:
                shape, oldest = coding.popleft()
                out.add(shape, oldest.result())
        while coding:
            shape, oldest = coding.popleft()
            out.add(shape, oldest.result())
        return out.finish()


_IN_FLIGHT_PER_THREAD = 2
"""Pages taken ahead of the one being written, per coding thread: enough to keep every thread
busy, few enough that the pages waiting cost a few megabytes whatever the document's length."""


class _PageShape(NamedTuple):
    """What a page's IFD says about it, kept while its pixels are coded and then dropped."""

    width: int
    height: int
    resolution: Resolution


class _TiffOut:
    """A TIFF-F file being written page by page: each page's IFD, then its strip. An IFD links
    to where the next page's will be; the last link and every page's "of n" in PageNumber are
    filled in by `finish`, when the count is known (the one thing kept per page is where its
    PageNumber is, a few bytes)."""

    def __init__(self, path: Path, compression: Compression) -> None:
        self.path = path
        self.compression = compression
        self.page_numbers: list[int] = []
        self.last_link = 4  # where the offset of the first IFD goes
        self.file: BinaryIO | None = None

    def __enter__(self) -> _TiffOut:
        try:
            self.file = self.path.open("wb")
        except OSError as error:
            raise DocumentError(
                self.path, f"cannot be written: {error.strerror or error}"
            ) from None
        return self

    def __exit__(self, failed: type[BaseException] | None, *exc_info: object) -> None:
        assert self.file is not None
        try:
            self.file.close()  # its last bytes are written now: the disk may be full
        except OSError as error:
            self.path.unlink(missing_ok=True)
            if failed is None:
                reason = f"cannot be written: {error.strerror or error}"
                raise DocumentError(self.path, reason) from None
        if failed is not None:  # half a fax is no use to anyone
            self.path.unlink(missing_ok=True)

    def add(self, shape: _PageShape, strip: bytes) -> None:
        """Write one coded page after the pages written so far."""
        assert self.file is not None
        try:
            if not self.page_numbers:
                self.file.write(b"II*\x00\x08\x00\x00\x00")  # the first IFD follows
            ifd_offset = self.file.tell()
            ifd, link, page_number = _ifd(
                shape, self.compression, len(self.page_numbers), ifd_offset, len(strip)
            )
            self.file.write(ifd)
            self.file.write(strip)
            if len(strip) % 2:
                self.file.write(b"\x00")
        except OSError as error:
            raise DocumentError(
                self.path, f"cannot be written: {error.strerror or error}"
            ) from None
        self.last_link = link
        self.page_numbers.append(page_number)

    def finish(self) -> int:
        """End the chain of IFDs and give every page its "of n"; returns n."""
        assert self.file is not None
        count = len(self.page_numbers)
        if not count:
            raise DocumentError(self.path, "no pages to write")
        try:
            self.file.seek(self.last_link)
            self.file.write(b"\x00\x00\x00\x00")
            for number, offset in enumerate(self.page_numbers):
                self.file.seek(offset)
                self.file.write(struct.pack("<HH", number, count))
        except OSError as error:
            raise DocumentError(
                self.path, f"cannot be written: {error.strerror or error}"
            ) from None
        return count


def _coding_threads(pages: Iterable[FaxPage]) -> int:
    """One coding thread per CPU this process may run on, less one for the caller when it
    renders the pages as they are asked for."""
    cpus = len(os.sched_getaffinity(0))
    return max(1, cpus if isinstance(pages, Sequence) else cpus - 1)


def _ifd(
    page: _PageShape,
    compression: Compression,
    number: int,
    ifd_offset: int,
    strip_length: int,
) -> tuple[bytes, int, int]:
    """One page's IFD placed at `ifd_offset`, its strip of `strip_length` bytes right after
    it and the next IFD after that; also where in the file its next-IFD link and its
    PageNumber value are. The page count in PageNumber is left 0."""
    entries: list[tuple[int, int, tuple[int, ...]]] = [
        (_NEW_SUBFILE_TYPE, _LONG, (_SUBFILE_PAGE,)),
        (_IMAGE_WIDTH, _LONG, (page.width,)),
        (_IMAGE_LENGTH, _LONG, (page.height,)),
        (_BITS_PER_SAMPLE, _SHORT, (1,)),
        (_COMPRESSION, _SHORT, (_TIFF_COMPRESSION[compression],)),
        (_PHOTOMETRIC, _SHORT, (0,)),
        (_FILL_ORDER, _SHORT, (1,)),
        (_STRIP_OFFSETS, _LONG, (0,)),  # set below, once the IFD's length is known
        (_SAMPLES_PER_PIXEL, _SHORT, (1,)),
        (_ROWS_PER_STRIP, _LONG, (page.height,)),
        (_STRIP_BYTE_COUNTS, _LONG, (strip_length,)),
        (_X_RESOLUTION, _RATIONAL, (page.resolution.x_dpi, 1)),
        (_Y_RESOLUTION, _RATIONAL, (page.resolution.y_dpi, 1)),
        (_PLANAR_CONFIGURATION, _SHORT, (1,)),
        (_RESOLUTION_UNIT, _SHORT, (_RESOLUTION_UNIT_INCH,)),
        (_PAGE_NUMBER, _SHORT, (number, 0)),
    ]
    if compression is Compression.MMR:
        entries.append((_T6_OPTIONS, _LONG, (0,)))
    else:
        two_d = T4_OPTION_2D if compression is Compression.MR else 0
        entries.append((T4_OPTIONS, _LONG, (two_d,)))
    entries.sort()
    rationals = sum(1 for _, kind, _ in entries if kind == _RATIONAL)
    link = ifd_offset + 2 + 12 * len(entries)
    strip_offset = link + 4 + 8 * rationals
    next_ifd = strip_offset + strip_length + strip_length % 2
    table = bytearray(struct.pack("<H", len(entries)))
    extra = bytearray()
    page_number = 0
    for tag, kind, values in entries:
        if tag == _STRIP_OFFSETS:
            values = (strip_offset,)
        if tag == _PAGE_NUMBER:
            page_number = ifd_offset + len(table) + 8
        if kind == _RATIONAL:
            table += struct.pack("<HHII", tag, kind, 1, link + 4 + len(extra))
            extra += struct.pack("<II", *values)
        elif kind == _SHORT:
            table += struct.pack("<HHI", tag, kind, len(values))
            table += struct.pack(f"<{len(values)}H", *values).ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, kind, 1, values[0])
    table += struct.pack("<I", next_ifd)
    return bytes(table + extra), link, page_number


def read_fax_tiff(path: str | os.PathLike[str]) -> list[FaxPage]:
    """The pages of a fax TIFF, all at once: `iter_fax_tiff` for a file known to be short."""
    return list(iter_fax_tiff(path))


def iter_fax_tiff(path: str | os.PathLike[str], *, start: int = 1) -> Iterator[FaxPage]:
    """The pages of a fax TIFF (MH, MR or MMR, any fill order), in file order from page
    `start` (from 1), each read when it is asked for: a long fax is never held whole.

    Raises DocumentError when the file is not a TIFF or not a fax: wrong coding, more than one
    bit per pixel, a width that is not a T.4 scan line, or a resolution that is not standard,
    fine or superfine (100, 200 and 400 lines per inch count as those).
    """
    path = Path(path)
    with _reading(path) as image:
        for number, frame in _frames(image):
            if number >= start:
                yield _read_page(path, number, frame)


def count_fax_pages(path: str | os.PathLike[str]) -> int:
    """The number of pages of a fax TIFF, from its IFDs alone (no page is decoded); raises
    DocumentError when the file is not a TIFF."""
    path = Path(path)
    with _reading(path) as image:
        return int(getattr(image, "n_frames", 1))


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[Image.Image]:
    """The TIFF at `path` open for reading; what goes wrong inside raises DocumentError.
    Pillow's TIFF reader is imported here: writing a fax TIFF does without it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.format != "TIFF":
                raise DocumentError(path, f"not a TIFF file ({image.format or 'unknown'})")
            yield image
    except DocumentError:
        raise
    except FileNotFoundError:
        raise DocumentError(path, "no such file") from None
    except UnidentifiedImageError:
        raise DocumentError(path, "not a TIFF file") from None
    except (OSError, ValueError, SyntaxError, EOFError, KeyError, struct.error) as error:
        raise DocumentError(path, f"corrupt TIFF ({error})") from None


def _frames(image: Image.Image) -> Iterator[tuple[int, Image.Image]]:
    from PIL import ImageSequence

    return enumerate(ImageSequence.Iterator(image), start=1)


def _read_page(path: Path, number: int, frame: Image.Image) -> FaxPage:
    from PIL import TiffImagePlugin

    assert isinstance(frame, TiffImagePlugin.TiffImageFile)
    coding = frame.info.get("compression")
    if coding not in _FAX_COMPRESSIONS:
        raise DocumentError(path, f"not a fax TIFF: page {number} is coded {coding}, not MH/MR/MMR")
    if frame.mode != "1":
        raise DocumentError(path, f"not a fax TIFF: page {number} is not black and white")
    if frame.width not in FAX_WIDTHS:
        raise DocumentError(path, f"not a fax TIFF: page {number} is {frame.width} pixels wide")
    resolution = _resolution(path, number, frame.tag_v2)
    coding = _plain_coding(frame.tag_v2)
    if coding is None:
        frame.load()
        return FaxPage(frame.copy(), resolution)
    (offset,), (length,) = frame.tag_v2[_STRIP_OFFSETS], frame.tag_v2[_STRIP_BYTE_COUNTS]
    assert frame.fp is not None, "the file is open while its pages are read"
    strip = os.pread(frame.fp.fileno(), length, offset)
    if len(strip) != length:
        raise DocumentError(path, f"corrupt TIFF: page {number} ends early")
    width, height = frame.size
    decode = functools.partial(decode_strip, strip, width, height, resolution, coding)
    return FaxPage.from_coded((coding, strip), width, height, resolution, decode)


def _plain_coding(tags: TiffImagePlugin.ImageFileDirectory_v2) -> Compression | None:
    """The coding of a page that is one strip of plain MH, MR or MMR, first bit in the
    high-order bit, as `write_fax_tiff` writes them: such a page is read without decoding it;
    None for any other (Pillow decodes it)."""
    strips = tags.get(_STRIP_OFFSETS, ())
    if len(strips) != 1 or tags.get(_FILL_ORDER, 1) != 1:
        return None
    compression = tags.get(_COMPRESSION)
    if compression == _TIFF_COMPRESSION[Compression.MMR]:
        return Compression.MMR if tags.get(_T6_OPTIONS, 0) == 0 else None
    if compression != _TIFF_COMPRESSION[Compression.MH]:
        return None
    return {0: Compression.MH, T4_OPTION_2D: Compression.MR}.get(tags.get(T4_OPTIONS, 0))


def _resolution(path: Path, number: int, tags: TiffImagePlugin.ImageFileDirectory_v2) -> Resolution:
    unit = tags.get(_RESOLUTION_UNIT, _RESOLUTION_UNIT_INCH)
    per_inch = 2.54 if unit == _RESOLUTION_UNIT_CM else 1.0
    try:
        x_dpi = float(tags[_X_RESOLUTION]) * per_inch
        y_dpi = float(tags[_Y_RESOLUTION]) * per_inch
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        raise DocumentError(path, f"not a fax TIFF: page {number} has no resolution") from None
    if not 0.9 * X_DPI <= x_dpi <= 1.1 * X_DPI:
        raise DocumentError(path, f"not a fax TIFF: page {number} is {x_dpi:.0f} dpi across")
    for resolution in Resolution:
        if 0.9 * resolution.y_dpi <= y_dpi <= 1.1 * resolution.y_dpi:
            return resolution
    raise DocumentError(path, f"not a fax TIFF: page {number} has {y_dpi:.0f} lines per inch")
