"""Documents to fax pages and back: PDF, images and text to TIFF-F, cover pages, the header
line, and received faxes to PDF. Knows nothing of jobs.

The names below are imported from their modules when first used (PEP 562), not with the
package: ``openfax render`` needs the renderers and the TIFF writer, not the cover pages,
whose job records import pydantic, nor OCR; importing them all cost that command a good part
of its start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openfax.documents.cover_page import CoverPageFields, render_cover_page
    from openfax.documents.header_line import draw_header_line, format_header_line
    from openfax.documents.pages import Compression, FaxPage, PageSize, Resolution
    from openfax.documents.render import count_pages, iter_pages, render_documents
    from openfax.documents.tiff import (
        count_fax_pages,
        iter_fax_tiff,
        read_fax_tiff,
        write_fax_tiff,
    )
    from openfax.documents.to_pdf import fax_tiff_to_pdf, write_pdf

_MODULES = {
    "CoverPageFields": "cover_page",
    "render_cover_page": "cover_page",
    "draw_header_line": "header_line",
    "format_header_line": "header_line",
    "Compression": "pages",
    "FaxPage": "pages",
    "PageSize": "pages",
    "Resolution": "pages",
    "count_pages": "render",
    "iter_pages": "render",
    "render_documents": "render",
    "count_fax_pages": "tiff",
    "iter_fax_tiff": "tiff",
    "read_fax_tiff": "tiff",
    "write_fax_tiff": "tiff",
    "fax_tiff_to_pdf": "to_pdf",
    "write_pdf": "to_pdf",
}
"""Each public name and the module of this package that defines it."""

__all__ = [
    "Compression",
    "CoverPageFields",
    "FaxPage",
    "PageSize",
    "Resolution",
    "count_fax_pages",
    "count_pages",
    "draw_header_line",
    "fax_tiff_to_pdf",
    "format_header_line",
    "iter_fax_tiff",
    "iter_pages",
    "read_fax_tiff",
    "render_cover_page",
    "render_documents",
    "write_fax_tiff",
    "write_pdf",
]


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use (and kept, so once only)."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
