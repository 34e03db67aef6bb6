"""Documents to fax pages and back: PDF, images and text to TIFF-F, cover pages, the header
line, and received faxes to PDF. Knows nothing of jobs."""

from openfax.documents.cover_page import CoverPageFields, render_cover_page
from openfax.documents.header_line import draw_header_line, format_header_line
from openfax.documents.pages import Compression, FaxPage, PageSize, Resolution
from openfax.documents.render import count_pages, iter_pages, render_documents
from openfax.documents.tiff import count_fax_pages, iter_fax_tiff, read_fax_tiff, write_fax_tiff
from openfax.documents.to_pdf import fax_tiff_to_pdf, write_pdf

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
