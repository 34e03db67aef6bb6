"""The binding to the system libtiff (libtiff6): C declarations, the loaded library, and nothing
else.

libtiff's CCITT coders are the reference implementation that every fax TIFF reader is tested
against; called directly through cffi (ABI mode, as for spandsp) a call releases the GIL, so
pages are coded on worker threads while the next page renders, which Pillow's encoder cannot.
"""

from __future__ import annotations

from typing import Any

from cffi import FFI

from openfax.errors import DocumentError
from openfax.native_library import open_library

CDEF = """
typedef struct tiff TIFF;
TIFF *TIFFFdOpen(int fd, const char *name, const char *mode);
void TIFFClose(TIFF *tif);
int TIFFSetField(TIFF *tif, uint32_t tag, ...);
ssize_t TIFFWriteEncodedStrip(TIFF *tif, uint32_t strip, void *data, ssize_t cc);
ssize_t TIFFWriteRawStrip(TIFF *tif, uint32_t strip, void *data, ssize_t cc);
ssize_t TIFFReadEncodedStrip(TIFF *tif, uint32_t strip, void *buf, ssize_t size);
uint64_t TIFFGetStrileOffset(TIFF *tif, uint32_t strile);
uint64_t TIFFGetStrileByteCount(TIFF *tif, uint32_t strile);
const char *TIFFGetVersion(void);
"""

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

ffi: Any = FFI()
ffi.cdef(CDEF)


lib: Any = open_library(
    ffi,
    soname="libtiff.so.6",
    short_name="tiff",
    env=LIBRARY_ENV,
    debian_package=DEBIAN_PACKAGE,
    error=lambda message: DocumentError(None, message),
)
