"""The binding to the system libtiff (libtiff6): C declarations, the loaded library, and nothing
else.

libtiff's CCITT coders are the reference implementation that every fax TIFF reader is tested
against; called directly through cffi (ABI mode, as for spandsp) a call releases the GIL, so
pages are coded on worker threads while the next page renders, which Pillow's encoder cannot.
"""

from __future__ import annotations

import ctypes.util
import os
from typing import Any

from cffi import FFI

from openfax.errors import DocumentError

CDEF = """
typedef struct tiff TIFF;
TIFF *TIFFFdOpen(int fd, const char *name, const char *mode);
void TIFFClose(TIFF *tif);
int TIFFSetField(TIFF *tif, uint32_t tag, ...);
ssize_t TIFFWriteEncodedStrip(TIFF *tif, uint32_t strip, void *data, ssize_t cc);
uint64_t TIFFGetStrileOffset(TIFF *tif, uint32_t strile);
uint64_t TIFFGetStrileByteCount(TIFF *tif, uint32_t strile);
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


def _open_library() -> Any:
    """Open libtiff, honouring ``OPENFAX_LIBTIFF_LIBRARY`` to point at another build."""
    candidates = [os.environ.get(LIBRARY_ENV), "libtiff.so.6", ctypes.util.find_library("tiff")]
    tried = [name for name in candidates if name]
    for name in tried:
        try:
            return ffi.dlopen(name)
        except OSError:
            continue
    raise DocumentError(
        None,
        f"cannot load libtiff (tried {', '.join(tried)}); install the Debian package "
        f"{DEBIAN_PACKAGE} or set {LIBRARY_ENV} to the library's path",
    )


lib: Any = _open_library()
