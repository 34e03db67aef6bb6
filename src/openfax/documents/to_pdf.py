"""Turning a received fax TIFF into a PDF: each page one CCITT G4 image at its true size.

Pillow's PDF writer takes one resolution for the whole document, but a fax may change
resolution from page to page; so each page is written here with its own size, in a few
dozen lines of PDF syntax. Pages are read, coded and written one at a time: a long fax
costs the memory of one page.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import IO

from openfax.documents.ccitt import encode_page
from openfax.documents.pages import Compression, FaxPage
from openfax.documents.tiff import iter_fax_tiff

_CATALOG, _PAGE_TREE = 1, 2
"""The object numbers of the catalog and the page tree; the pages' objects follow, three a
page (image, content, page), and the page tree is written last, when the pages are known."""


def fax_tiff_to_pdf(tiff_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str]) -> None:
    """Write the pages of a fax TIFF to `pdf_path`, every page sized from its own pixel count
    and resolution, so standard-resolution pages keep their aspect and long pages are whole."""
    with open(pdf_path, "wb") as out:
        write_pdf(iter_fax_tiff(tiff_path), out)


def write_pdf(pages: Iterable[FaxPage], out: IO[bytes]) -> None:
    """Write a PDF 1.4 document with one page per fax page, its image kept in MMR (CCITT G4),
    to `out` as the pages come; what is kept meanwhile is each object's offset."""
    offsets: dict[int, int] = {}
    position = 0

    def put(number: int, body: bytes) -> None:
        nonlocal position
        offsets[number] = position
        chunk = b"%d 0 obj\n%s\nendobj\n" % (number, body)
        out.write(chunk)
        position += len(chunk)

    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    out.write(head)
    position = len(head)
    put(_CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % _PAGE_TREE)
    kids: list[bytes] = []
    for page in pages:
        width_pt = page.width * 72 / page.resolution.x_dpi
        height_pt = page.height * 72 / page.resolution.y_dpi
        data = encode_page(page, Compression.MMR)
        image_id = _PAGE_TREE + 3 * len(kids) + 1
        put(
            image_id,
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns %d "
            b"/Rows %d /BlackIs1 false >> /Length %d >>\nstream\n"
            % (page.width, page.height, page.width, page.height, len(data))
            + data
            + b"\nendstream",
        )
        content = b"q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q" % (width_pt, height_pt)
        put(image_id + 1, b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        put(
            image_id + 2,
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.4f %.4f] "
            b"/Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>"
            % (_PAGE_TREE, width_pt, height_pt, image_id, image_id + 1),
        )
        kids.append(b"%d 0 R" % (image_id + 2))
    put(_PAGE_TREE, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids)))
    xref = position
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offsets[number] for number in sorted(offsets)))
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(offsets) + 1, _CATALOG, xref)
    )
