"""Encoding page images with the fax codings (T.4 MH and MR, T.6 MMR) through libtiff.

Each page is coded by libtiff into an anonymous in-memory file (memfd) and its one strip read
back, and decoded the other way round; every libtiff call releases the GIL, so pages can be
coded on several threads at once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from ctypes import c_double, c_int, c_uint32, c_void_p

import numpy as np
from numpy.typing import NDArray

from openfax.documents import _libtiff
from openfax.documents._libtiff import lib
from openfax.documents.pages import Compression, FaxPage, Resolution
from openfax.errors import DocumentError

T4_OPTIONS = _libtiff.TIFFTAG_GROUP3OPTIONS
T4_OPTION_2D = _libtiff.GROUP3OPT_2DENCODING
"""T4Options bit 0: the page is coded two-dimensionally (MR)."""

_UINT32_TAGS = {
    _libtiff.TIFFTAG_IMAGEWIDTH,
    _libtiff.TIFFTAG_IMAGELENGTH,
    _libtiff.TIFFTAG_ROWSPERSTRIP,
    _libtiff.TIFFTAG_GROUP3OPTIONS,
    _libtiff.TIFFTAG_GROUP4OPTIONS,
}
_DOUBLE_TAGS = {_libtiff.TIFFTAG_XRESOLUTION, _libtiff.TIFFTAG_YRESOLUTION}


def encode_page(page: FaxPage, compression: Compression) -> bytes:
    """The page's rows coded with `compression`, as one block with no fill bits, ready to be
    one TIFF strip or a PDF CCITTFaxDecode stream (first bit in the high-order bit of a byte).
    A page read coded so is not coded again."""
    if page.coded is not None and page.coded[0] is compression:
        return page.coded[1]
    return encode_rows(page.rows, page.width, page.resolution, compression)


def encode_rows(
    rows: NDArray[np.uint8], width: int, resolution: Resolution, compression: Compression
) -> bytes:
    """`encode_page` for the rows of a page `width` pixels wide packed as `FaxPage.rows`; holds
    the GIL only for a few short calls, so several threads code pages at once."""
    with _memory_file() as fd:
        tif = _open(fd, b"w", _fields(width, rows.shape[0], resolution, compression))
        try:
            data = np.ascontiguousarray(rows)
            if lib.TIFFWriteEncodedStrip(tif, 0, data.ctypes.data, data.nbytes) < 0:
                raise DocumentError(None, f"libtiff could not code a {width}-pixel page")
            offset = lib.TIFFGetStrileOffset(tif, 0)
            length = lib.TIFFGetStrileByteCount(tif, 0)
            return os.pread(fd, length, offset)
        finally:
            lib.TIFFClose(tif)


def decode_strip(
    strip: bytes, width: int, height: int, resolution: Resolution, compression: Compression
) -> NDArray[np.uint8]:
    """The rows, packed as `FaxPage.rows`, of a page coded with `compression` as the one block
    `encode_page` makes; libtiff decodes it from an in-memory file."""
    with _memory_file() as fd:
        tif = _open(fd, b"w", _fields(width, height, resolution, compression))
        try:
            if lib.TIFFWriteRawStrip(tif, 0, strip, len(strip)) < 0:
                raise DocumentError(None, "libtiff could not store a coded page")
        finally:
            lib.TIFFClose(tif)
        os.lseek(fd, 0, os.SEEK_SET)
        rows = np.empty((height, (width + 7) // 8), dtype=np.uint8)
        tif = _open(fd, b"r", [])
        try:
            got = lib.TIFFReadEncodedStrip(tif, 0, rows.ctypes.data, rows.nbytes)
        finally:
            lib.TIFFClose(tif)
    if got != rows.nbytes:
        raise DocumentError(None, f"a {compression.name}-coded page could not be decoded")
    return rows


@contextlib.contextmanager
def _memory_file() -> Iterator[int]:
    """An anonymous in-memory file (memfd), closed at the end."""
    fd = os.memfd_create("openfax-ccitt", os.MFD_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def _open(fd: int, mode: bytes, fields: list[tuple[int, int]]) -> int:
    """libtiff's handle on a copy of `fd` (TIFFClose closes it), with `fields` set."""
    copy = os.dup(fd)
    tif: int | None = lib.TIFFFdOpen(copy, b"openfax-ccitt", mode)
    if tif is None:
        os.close(copy)
        raise DocumentError(None, "libtiff cannot open an in-memory file to code a page")
    for tag, value in fields:
        if lib.TIFFSetField(c_void_p(tif), c_uint32(tag), _vararg(tag, value)) != 1:
            lib.TIFFClose(tif)
            raise DocumentError(None, f"libtiff refused TIFF tag {tag} = {value}")
    return tif


def _fields(
    width: int, height: int, resolution: Resolution, compression: Compression
) -> list[tuple[int, int]]:
    """The TIFF fields of a page of one strip coded with `compression`."""
    fields = [
        (_libtiff.TIFFTAG_IMAGEWIDTH, width),
        (_libtiff.TIFFTAG_IMAGELENGTH, height),
        (_libtiff.TIFFTAG_BITSPERSAMPLE, 1),
        (_libtiff.TIFFTAG_SAMPLESPERPIXEL, 1),
        (_libtiff.TIFFTAG_PHOTOMETRIC, _libtiff.PHOTOMETRIC_MINISWHITE),
        (_libtiff.TIFFTAG_FILLORDER, _libtiff.FILLORDER_MSB2LSB),
        (_libtiff.TIFFTAG_PLANARCONFIG, _libtiff.PLANARCONFIG_CONTIG),
        (_libtiff.TIFFTAG_ROWSPERSTRIP, height),
        # libtiff chooses the MR K factor (2 or 4) from the vertical resolution.
        (_libtiff.TIFFTAG_XRESOLUTION, resolution.x_dpi),
        (_libtiff.TIFFTAG_YRESOLUTION, resolution.y_dpi),
        (_libtiff.TIFFTAG_RESOLUTIONUNIT, _libtiff.RESUNIT_INCH),
    ]
    if compression is Compression.MMR:
        fields.insert(0, (_libtiff.TIFFTAG_COMPRESSION, _libtiff.COMPRESSION_CCITTFAX4))
        fields.append((_libtiff.TIFFTAG_GROUP4OPTIONS, 0))
    else:
        fields.insert(0, (_libtiff.TIFFTAG_COMPRESSION, _libtiff.COMPRESSION_CCITTFAX3))
        two_d = T4_OPTION_2D if compression is Compression.MR else 0
        fields.append((_libtiff.TIFFTAG_GROUP3OPTIONS, two_d))
    return fields


def _vararg(tag: int, value: int) -> c_uint32 | c_double | c_int:
    """A TIFFSetField argument as libtiff's va_arg reads it: uint32, double, or a promoted
    uint16 (int)."""
    if tag in _UINT32_TAGS:
        return c_uint32(value)
    if tag in _DOUBLE_TAGS:
        return c_double(value)
    return c_int(value)
