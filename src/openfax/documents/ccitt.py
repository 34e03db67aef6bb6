"""Encoding page images with the fax codings (T.4 MH and MR, T.6 MMR) through Pillow's libtiff."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, TiffImagePlugin

from openfax.documents.pages import Compression, FaxPage

T4_OPTIONS = 292
T4_OPTION_2D = 1
"""T4Options bit 0: the page is coded two-dimensionally (MR)."""

_PILLOW_COMPRESSION = {
    Compression.MH: "group3",
    Compression.MR: "group3",
    Compression.MMR: "group4",
}


def encode_page(page: FaxPage, compression: Compression) -> bytes:
    """The page's rows coded with `compression`, as one block with no fill bits, ready to be
    one TIFF strip or a PDF CCITTFaxDecode stream (first bit in the high-order bit of a byte)."""
    # A fax coder codes 0 bits as white runs, and Pillow's mode "1" stores white as 1: invert,
    # so that the coded runs read right under PhotometricInterpretation min-is-white.
    inverted = np.frombuffer(page.image.tobytes(), dtype=np.uint8) ^ 0xFF
    image = Image.frombytes("1", page.image.size, inverted.tobytes())
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    if compression is Compression.MR:
        tags[T4_OPTIONS] = T4_OPTION_2D
    out = io.BytesIO()
    image.save(
        out,
        "TIFF",
        compression=_PILLOW_COMPRESSION[compression],
        tiffinfo=tags,
        # libtiff chooses the MR K factor (2 or 4) from the vertical resolution.
        dpi=(page.resolution.x_dpi, page.resolution.y_dpi),
        strip_size=1 << 40,
    )
    with Image.open(out) as encoded:
        assert isinstance(encoded, TiffImagePlugin.TiffImageFile)
        (offset,) = encoded.tag_v2[TiffImagePlugin.STRIPOFFSETS]
        (length,) = encoded.tag_v2[TiffImagePlugin.STRIPBYTECOUNTS]
    return out.getbuffer()[offset : offset + length].tobytes()
