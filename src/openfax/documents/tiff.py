"""TIFF Class F: writing fax pages for spandsp and efax, and reading received faxes back.

Written files are strict: little-endian, one IFD per page with one strip, FillOrder 1,
PhotometricInterpretation 0 (min-is-white), resolution in inches, PageNumber and
NewSubfileType "page" on every page, T4Options/T6Options as the coding needs.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from PIL import Image, ImageSequence, TiffImagePlugin, UnidentifiedImageError

from openfax.documents.ccitt import T4_OPTION_2D, T4_OPTIONS, encode_page, encode_rows
from openfax.documents.pages import X_DPI, Compression, FaxPage, Resolution
from openfax.errors import DocumentError

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
) -> None:
    """Write `pages` to `path` as a TIFF-F file coded with `compression`.

    Pages are coded on one worker thread per CPU as they arrive, so when `pages` is an iterator
    that renders lazily (`iter_pages`), the next page renders while the last ones are coded.
    Drawn pages get their bits packed here, on the calling thread: there the big short-lived
    buffers are recycled by malloc, while on a worker they cost a page fault every 4 KiB.
    """
    path = Path(path)
    with ThreadPoolExecutor(max_workers=_coding_threads(pages)) as pool:
        coded: list[tuple[_PageShape, Future[bytes]]] = []
        for page in pages:
            if page.pending:  # its rows are finished on a worker: the coder waits for them there
                future = pool.submit(encode_page, page, compression)
            else:
                rows = page.rows
                future = pool.submit(encode_rows, rows, page.width, page.resolution, compression)
            coded.append((_PageShape(page.width, page.height, page.resolution), future))
        strips = [(shape, future.result()) for shape, future in coded]
    if not strips:
        raise DocumentError(path, "no pages to write")
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    link = 4  # where the offset of the next IFD goes
    for number, (shape, strip) in enumerate(strips):
        strip_offset = len(out)
        out += strip
        if len(out) % 2:
            out += b"\x00"
        ifd_offset = len(out)
        struct.pack_into("<I", out, link, ifd_offset)
        ifd, link = _ifd(
            shape, compression, number, len(strips), strip_offset, len(strip), ifd_offset
        )
        out += ifd
    try:
        path.write_bytes(out)
    except OSError as error:
        raise DocumentError(path, f"cannot be written: {error.strerror or error}") from None


class _PageShape(NamedTuple):
    """What a page's IFD says about it, kept while its pixels are coded and then dropped."""

    width: int
    height: int
    resolution: Resolution


def _coding_threads(pages: Iterable[FaxPage]) -> int:
    """One coding thread per CPU this process may run on, less one for the caller when it
    renders the pages as they are asked for."""
    cpus = len(os.sched_getaffinity(0))
    return max(1, cpus if isinstance(pages, Sequence) else cpus - 1)


def _ifd(
    page: _PageShape,
    compression: Compression,
    number: int,
    count: int,
    strip_offset: int,
    strip_length: int,
    ifd_offset: int,
) -> tuple[bytes, int]:
    """One page's IFD placed at `ifd_offset`, and the offset of its next-IFD link."""
    entries: list[tuple[int, int, tuple[int, ...]]] = [
        (_NEW_SUBFILE_TYPE, _LONG, (_SUBFILE_PAGE,)),
        (_IMAGE_WIDTH, _LONG, (page.width,)),
        (_IMAGE_LENGTH, _LONG, (page.height,)),
        (_BITS_PER_SAMPLE, _SHORT, (1,)),
        (_COMPRESSION, _SHORT, (_TIFF_COMPRESSION[compression],)),
        (_PHOTOMETRIC, _SHORT, (0,)),
        (_FILL_ORDER, _SHORT, (1,)),
        (_STRIP_OFFSETS, _LONG, (strip_offset,)),
        (_SAMPLES_PER_PIXEL, _SHORT, (1,)),
        (_ROWS_PER_STRIP, _LONG, (page.height,)),
        (_STRIP_BYTE_COUNTS, _LONG, (strip_length,)),
        (_X_RESOLUTION, _RATIONAL, (page.resolution.x_dpi, 1)),
        (_Y_RESOLUTION, _RATIONAL, (page.resolution.y_dpi, 1)),
        (_PLANAR_CONFIGURATION, _SHORT, (1,)),
        (_RESOLUTION_UNIT, _SHORT, (_RESOLUTION_UNIT_INCH,)),
        (_PAGE_NUMBER, _SHORT, (number, count)),
    ]
    if compression is Compression.MMR:
        entries.append((_T6_OPTIONS, _LONG, (0,)))
    else:
        two_d = T4_OPTION_2D if compression is Compression.MR else 0
        entries.append((T4_OPTIONS, _LONG, (two_d,)))
    entries.sort()
    table = bytearray(struct.pack("<H", len(entries)))
    extra = bytearray()
    extra_offset = ifd_offset + 2 + 12 * len(entries) + 4
    for tag, kind, values in entries:
        if kind == _RATIONAL:
            table += struct.pack("<HHII", tag, kind, 1, extra_offset + len(extra))
            extra += struct.pack("<II", *values)
        elif kind == _SHORT:
            table += struct.pack("<HHI", tag, kind, len(values))
            table += struct.pack(f"<{len(values)}H", *values).ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, kind, 1, values[0])
    link = ifd_offset + len(table)
    table += b"\x00\x00\x00\x00"
    return bytes(table + extra), link


def read_fax_tiff(path: str | os.PathLike[str]) -> list[FaxPage]:
    """The pages of a fax TIFF (MH, MR or MMR, any fill order), in file order.

    Raises DocumentError when the file is not a TIFF or not a fax: wrong coding, more than one
    bit per pixel, a width that is not a T.4 scan line, or a resolution that is not standard,
    fine or superfine (100, 200 and 400 lines per inch count as those).
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            if image.format != "TIFF":
                raise DocumentError(path, f"not a TIFF file ({image.format or 'unknown'})")
            return [_read_page(path, number, frame) for number, frame in _frames(image)]
    except DocumentError:
        raise
    except FileNotFoundError:
        raise DocumentError(path, "no such file") from None
    except UnidentifiedImageError:
        raise DocumentError(path, "not a TIFF file") from None
    except (OSError, ValueError, SyntaxError, EOFError, KeyError, struct.error) as error:
        raise DocumentError(path, f"corrupt TIFF ({error})") from None


def _frames(image: Image.Image) -> Iterator[tuple[int, Image.Image]]:
    return enumerate(ImageSequence.Iterator(image), start=1)


def _read_page(path: Path, number: int, frame: Image.Image) -> FaxPage:
    assert isinstance(frame, TiffImagePlugin.TiffImageFile)
    coding = frame.info.get("compression")
    if coding not in _FAX_COMPRESSIONS:
        raise DocumentError(path, f"not a fax TIFF: page {number} is coded {coding}, not MH/MR/MMR")
    if frame.mode != "1":
        raise DocumentError(path, f"not a fax TIFF: page {number} is not black and white")
    if frame.width not in FAX_WIDTHS:
        raise DocumentError(path, f"not a fax TIFF: page {number} is {frame.width} pixels wide")
    resolution = _resolution(path, number, frame.tag_v2)
    frame.load()
    return FaxPage(frame.copy(), resolution)


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
