"""Turning a received fax TIFF into a PDF: each page one CCITT G4 image at its true size.

Pillow's PDF writer takes one resolution for the whole document, but a fax may change
resolution from page to page; so each page is written here with its own size, in a few
dozen lines of PDF syntax.
"""

from __future__ import annotations

import os
from pathlib import Path

from openfax.documents.ccitt import encode_page
from openfax.documents.pages import Compression, FaxPage
from openfax.documents.tiff import read_fax_tiff


def fax_tiff_to_pdf(tiff_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str]) -> None:
    """Write the pages of a fax TIFF to `pdf_path`, every page sized from its own pixel count
    and resolution, so standard-resolution pages keep their aspect and long pages are whole."""
    pages = read_fax_tiff(tiff_path)
    Path(pdf_path).write_bytes(pdf_from_pages(pages))


def pdf_from_pages(pages: list[FaxPage]) -> bytes:
    """A PDF 1.4 document with one page per fax page, its image kept in MMR (CCITT G4)."""
    objects: list[bytes] = [b"", b""]  # 1: catalog, 2: page tree; filled in below
    kids = []
    for page in pages:
        width_pt = page.width * 72 / page.resolution.x_dpi
        height_pt = page.height * 72 / page.resolution.y_dpi
        data = encode_page(page, Compression.MMR)
        image_id = len(objects) + 1
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns %d "
            b"/Rows %d /BlackIs1 false >> /Length %d >>\nstream\n"
            % (page.width, page.height, page.width, page.height, len(data))
            + data
            + b"\nendstream"
        )
        content = b"q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q" % (width_pt, height_pt)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] "
            b"/Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>"
            % (width_pt, height_pt, image_id, image_id + 1)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
