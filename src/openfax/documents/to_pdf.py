"""Turning a received fax TIFF into a PDF: each page one CCITT G4 image at its true size.

Pillow's PDF writer takes one resolution for the whole document, but a fax may change
resolution from page to page; so each page is written here with its own size, in a few
dozen lines of PDF syntax. Pages are read, coded and written one at a time: a long fax
costs the memory of one page.

When the fax's text was read (:mod:`openfax.documents.ocr`), each page also carries it as
invisible text (rendering mode 3) over the image, each word stretched over its box, so the
PDF can be searched and its text selected and copied. The font is Courier, one of the
standard fonts every reader has: all its glyphs are 0.6 em wide, so a word's width is
known without font metrics.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import IO

from openfax.documents.ccitt import encode_page
from openfax.documents.ocr import PageText
from openfax.documents.pages import Compression, FaxPage
from openfax.documents.tiff import iter_fax_tiff

_CATALOG, _PAGE_TREE = 1, 2
"""The object numbers of the catalog and the page tree; the pages' objects follow, three a
page (image, content, page), and the page tree is written last, when the pages are known."""
_FONT = 3
"""The object number of the text layer's font (written only when there is text)."""
_COURIER_EM = 0.6
"""The width of every Courier glyph, in em."""


def fax_tiff_to_pdf(
    tiff_path: str | os.PathLike[str],
    pdf_path: str | os.PathLike[str],
    texts: Sequence[PageText] = (),
) -> None:
    """Write the pages of a fax TIFF to `pdf_path`, every page sized from its own pixel count
    and resolution, so standard-resolution pages keep their aspect and long pages are whole;
    `texts` are the text layers of its first pages."""
    with open(pdf_path, "wb") as out:
        write_pdf(iter_fax_tiff(tiff_path), out, texts)


def write_pdf(pages: Iterable[FaxPage], out: IO[bytes], texts: Sequence[PageText] = ()) -> None:
    """Write a PDF 1.4 document with one page per fax page, its image kept in MMR (CCITT G4),
    to `out` as the pages come; what is kept meanwhile is each object's offset. Page ``n``
    carries ``texts[n]`` as invisible text, if there is one."""
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
    first = _PAGE_TREE + 1
    if texts:
        put(_FONT, b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier "
            b"/Encoding /WinAnsiEncoding >>")  # fmt: skip
        first = _FONT + 1
    kids: list[bytes] = []
    for index, page in enumerate(pages):
        text = texts[index] if index < len(texts) else None
        width_pt = page.width * 72 / page.resolution.x_dpi
        height_pt = page.height * 72 / page.resolution.y_dpi
        data = encode_page(page, Compression.MMR)
        image_id = first + 3 * len(kids)
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
        fonts = b""
        if text is not None:
            content += text_layer(text, page)
            fonts = b" /Font << /F0 %d 0 R >>" % _FONT
        put(image_id + 1, b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        put(
            image_id + 2,
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.4f %.4f] "
            b"/Resources << /XObject << /Im0 %d 0 R >>%s >> /Contents %d 0 R >>"
            % (_PAGE_TREE, width_pt, height_pt, image_id, fonts, image_id + 1),
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


def text_layer(text: PageText, page: FaxPage) -> bytes:
    """The content operators drawing a page's words invisibly (``3 Tr``) in Courier, as tall
    as their line and each scaled horizontally (``Tz``) to its box's width; a space follows
    each word but a line's last, so that text taken from the PDF has its words apart."""
    x_scale, y_scale = 72 / page.resolution.x_dpi, 72 / page.resolution.y_dpi
    height_pt = page.height * y_scale
    parts = [b"\nBT 3 Tr"]
    for line in text.lines:
        top = min(word.top for word in line)
        bottom = max(word.top + word.height for word in line)
        size = max((bottom - top) * y_scale, 1.0)
        # The baseline: about a fifth of the line above its bottom (the descenders).
        y = height_pt - bottom * y_scale + size * 0.2
        parts.append(b"/F0 %.2f Tf" % size)
        for word, following in zip(line, [*line[1:], None], strict=True):
            encoded = word.text.encode("cp1252", errors="replace")
            width = word.width
            if following is not None and following.left > word.left + word.width:
                encoded, width = encoded + b" ", following.left - word.left
            stretch = 100 * width * x_scale / (_COURIER_EM * size * len(encoded))
            parts.append(
                b"%.2f Tz 1 0 0 1 %.2f %.2f Tm (%s) Tj"
                % (stretch, word.left * x_scale, y, _escaped(encoded))
            )
    parts.append(b"ET")
    return b" ".join(parts)


def _escaped(text: bytes) -> bytes:
    """A PDF literal string's contents: backslash, parentheses escaped."""
    return text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
