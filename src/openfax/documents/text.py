"""Typesetting plain text onto fax pages: a monospaced font, typewriter margins, pagination."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from openfax.documents.canvas import (
    Canvas,
    page_height,
    paper_margin_left,
    paper_margin_right,
    points,
)
from openfax.documents.fonts import Font, FontStyle, load_font
from openfax.documents.pages import FaxPage, PageSize, Resolution
from openfax.errors import DocumentError

FONT_SIZE_PT = 10
LINE_HEIGHT_PT = 12
MARGIN_PT = 54
"""Three-quarter-inch margins all round; the top one leaves room for the header line."""
TAB_SIZE = 8
MAX_TEXT_BYTES = 16 * 1024 * 1024
_CONTROL_CHARACTERS = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\f")
"""What `decode_text` drops, as `str.translate` takes it (a 16 MB text in a blink, where a
Python loop over its characters takes seconds)."""


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
    return text.translate(_CONTROL_CHARACTERS)


def layout_lines(text: str, columns: int, lines_per_page: int) -> Iterator[list[str]]:
    """Split text into pages of at most `lines_per_page` lines of at most `columns` characters:
    long lines wrap at the last space (or hard when there is none), form feeds start a page.
    Pages are made as they are asked for."""
    sheets = text.split("\f")
    if len(sheets) > 1 and not sheets[-1].strip():
        sheets.pop()
    for sheet in sheets:
        page: list[str] = []
        for line in sheet.removesuffix("\n").split("\n"):
            for part in _wrap(line, columns):
                page.append(part)
                if len(page) == lines_per_page:
                    yield page
                    page = []
        if page:
            yield page


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
) -> Iterator[FaxPage]:
    """Typeset a text file in 10 pt DejaVu Sans Mono on 12 pt lines inside 3/4 in margins
    (80 columns on A4), one fax page per sheet, each typeset when it is asked for."""
    sheet = _Sheet.of(page_size)
    for lines in sheet.layout(path, data):
        canvas = Canvas.for_page(page_size)
        for number, line in enumerate(lines):
            canvas.text(
                sheet.left, points(MARGIN_PT) + number * sheet.line_height, line, sheet.font
            )
        yield canvas.to_page(resolution, page_size)


def count_text_pages(path: Path, data: bytes, page_size: PageSize) -> int:
    """The pages `render_text` makes of a text file, counted from its layout alone."""
    return sum(1 for _ in _Sheet.of(page_size).layout(path, data))


@dataclass(frozen=True)
class _Sheet:
    """How text is set on a sheet of paper: the font, the left margin, the line height, and
    how many lines of how many characters fit."""

    font: Font
    left: int
    line_height: int
    columns: int
    lines_per_page: int

    @classmethod
    def of(cls, page_size: PageSize) -> _Sheet:
        font = load_font(FontStyle.MONO, points(FONT_SIZE_PT))
        left = paper_margin_left(page_size, points(MARGIN_PT))
        right = paper_margin_right(page_size, points(MARGIN_PT))
        columns = max(20, int((right - left) // max(1.0, font.getlength("M"))))
        line_height = points(LINE_HEIGHT_PT)
        usable = page_height(page_size) - 2 * points(MARGIN_PT)
        return cls(font, left, line_height, columns, max(1, usable // line_height))

    def layout(self, path: Path, data: bytes) -> Iterator[list[str]]:
        """The lines of each page of a text file, or DocumentError for one too large."""
        if len(data) > MAX_TEXT_BYTES:
            raise DocumentError(path, f"text file larger than {MAX_TEXT_BYTES // 1024 // 1024} MB")
        return layout_lines(decode_text(path, data), self.columns, self.lines_per_page)
