"""The binding to the system libtiff (libtiff6): the functions used, declared for ctypes, the
loaded library, and nothing else.

libtiff's CCITT coders are the reference implementation that every fax TIFF reader is tested
against; called directly (a ctypes call releases the GIL), pages are coded on worker threads
while the next page renders, which Pillow's encoder cannot. ctypes rather than cffi (which
the spandsp binding uses): the few functions are declared in Python, where cffi would parse
C declarations with pycparser at every start, some 50 ms of CPU that ``openfax render`` paid
on each run.
"""

from __future__ import annotations

import ctypes
from ctypes import c_char_p, c_int, c_ssize_t, c_uint32, c_uint64, c_void_p

from openfax.errors import DocumentError
from openfax.native_library import open_library

# Tag numbers and values from tiff.h of libtiff 4.
TIFFTAG_IMAGEWIDTH = 256
TIFFTAG_IMAGELENGTH = 257
TIFFTAG_BITSPERSAMPLE = 258
TIFFTAG_COMPRESSION = 259
TIFFTAG_PHOTOMETRIC = 262
TIFFTAG_FILLORDER = 266
TIFFTAG_SAMPLESPERPIXEL = 277
TIFFTAG_ROWSPERSTRIP = 278
TIFFTAG_XRESOLUTION = 282
TIFFTAG_YRESOLUTION = 283
TIFFTAG_PLANARCONFIG = 284
TIFFTAG_GROUP3OPTIONS = 292
TIFFTAG_GROUP4OPTIONS = 293
TIFFTAG_RESOLUTIONUNIT = 296

COMPRESSION_CCITTFAX3 = 3
COMPRESSION_CCITTFAX4 = 4
PHOTOMETRIC_MINISWHITE = 0
FILLORDER_MSB2LSB = 1
PLANARCONFIG_CONTIG = 1
RESUNIT_INCH = 2
GROUP3OPT_2DENCODING = 1

LIBRARY_ENV = "OPENFAX_LIBTIFF_LIBRARY"
DEBIAN_PACKAGE = "libtiff6"

lib = open_library(
    ctypes.CDLL,
    soname="libtiff.so.6",
    short_name="tiff",
    env=LIBRARY_ENV,
    debian_package=DEBIAN_PACKAGE,
    error=lambda message: DocumentError(None, message),
)

_SIGNATURES: dict[str, tuple[type | None, list[type]]] = {
    "TIFFFdOpen": (c_void_p, [c_int, c_char_p, c_char_p]),
    "TIFFClose": (None, [c_void_p]),
    # Variadic: its arguments are passed as ctypes values of the types libtiff reads.
    "TIFFSetField": (c_int, []),
    "TIFFWriteEncodedStrip": (c_ssize_t, [c_void_p, c_uint32, c_void_p, c_ssize_t]),
    "TIFFWriteRawStrip": (c_ssize_t, [c_void_p, c_uint32, c_void_p, c_ssize_t]),
    "TIFFReadEncodedStrip": (c_ssize_t, [c_void_p, c_uint32, c_void_p, c_ssize_t]),
    "TIFFGetStrileOffset": (c_uint64, [c_void_p, c_uint32]),
    "TIFFGetStrileByteCount": (c_uint64, [c_void_p, c_uint32]),
    "TIFFGetVersion": (c_char_p, []),
}
"""Return and argument types of each function used, as in tiffio.h of libtiff 4."""

for _name, (_returns, _arguments) in _SIGNATURES.items():
    _function = getattr(lib, _name)
    _function.restype = _returns
    if _arguments:
        _function.argtypes = _arguments


def version() -> str:
    """libtiff's own first line about itself, e.g. "LIBTIFF, Version 4.5.0"."""
    text: bytes = lib.TIFFGetVersion()
    return text.decode(errors="replace").splitlines()[0]
