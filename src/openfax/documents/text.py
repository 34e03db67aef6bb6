"""Typesetting plain text onto fax pages: a monospaced font, typewriter margins, pagination."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from openfax.documents.canvas import (
    Canvas,
    page_height,
    paper_margin_left,
    paper_margin_right,
    points,
)
from openfax.documents.fonts import FontStyle, load_font
from openfax.documents.pages import FaxPage, PageSize, Resolution
from openfax.errors import DocumentError

FONT_SIZE_PT = 10
LINE_HEIGHT_PT = 12
MARGIN_PT = 54
"""Three-quarter-inch margins all round; the top one leaves room for the header line."""
TAB_SIZE = 8
MAX_TEXT_BYTES = 16 * 1024 * 1024


def decode_text(path: Path, data: bytes) -> str:
    """The text of a file: UTF-8 (with or without a byte-order mark), else Windows-1252, else
    Latin-1; form feeds, tabs and newlines are kept, other control characters dropped."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentError(path, "text file has nothing to print")
    return "".join(c for c in text if c >= " " or c in "\t\n\f")


def layout_lines(text: str, columns: int, lines_per_page: int) -> list[list[str]]:
    """Split text into pages of at most `lines_per_page` lines of at most `columns` characters:
    long lines wrap at the last space (or hard when there is none), form feeds start a page."""
    pages: list[list[str]] = []
    sheets = text.split("\f")
    if len(sheets) > 1 and not sheets[-1].strip():
        sheets.pop()
    for sheet in sheets:
        lines = [part for line in sheet.split("\n") for part in _wrap(line, columns)]
        if sheet.endswith("\n"):
            lines.pop()
        pages.extend(
            lines[start : start + lines_per_page] for start in range(0, len(lines), lines_per_page)
        )
        if not lines:
            pages.append([])
    return pages


def _wrap(line: str, columns: int) -> Iterator[str]:
    line = line.expandtabs(TAB_SIZE).rstrip()
    while len(line) > columns:
        cut = line.rfind(" ", 0, columns + 1)
        if cut <= 0:
            cut = columns
        yield line[:cut].rstrip()
        line = line[cut:].lstrip(" ")
    yield line


def render_text(
    path: Path, data: bytes, resolution: Resolution, page_size: PageSize
) -> list[FaxPage]:
    """Typeset a text file in 10 pt DejaVu Sans Mono on 12 pt lines inside 3/4 in margins
    (80 columns on A4), one fax page per sheet."""
    if len(data) > MAX_TEXT_BYTES:
        raise DocumentError(path, f"text file larger than {MAX_TEXT_BYTES // 1024 // 1024} MB")
    font = load_font(FontStyle.MONO, points(FONT_SIZE_PT))
    left = paper_margin_left(page_size, points(MARGIN_PT))
    right = paper_margin_right(page_size, points(MARGIN_PT))
    columns = max(20, int((right - left) // max(1.0, font.getlength("M"))))
    line_height = points(LINE_HEIGHT_PT)
    usable = page_height(page_size) - 2 * points(MARGIN_PT)
    lines_per_page = max(1, usable // line_height)
    pages = []
    for lines in layout_lines(decode_text(path, data), columns, lines_per_page):
        canvas = Canvas.for_page(page_size)
        for number, line in enumerate(lines):
            canvas.text(left, points(MARGIN_PT) + number * line_height, line, font)
        pages.append(canvas.to_page(resolution, page_size))
    return pages
