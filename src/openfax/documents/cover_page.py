"""Cover pages: the FAXCOMEX cover-page fields laid out by a small text template.

Template format (UTF-8 text; the default is ``templates/default.txt``)::

    # a comment
    @font sans-bold 36      face (sans, sans-bold, mono, mono-bold) and size in points
    @align left             left, center or right, for the lines that follow
    @tabs 90 300 380        tab stops in points from the left margin (tab characters jump there)
    @margin 54              page margins in points (default 54, 3/4 in)
    @space 12               vertical space in points
    @rule 2                 a horizontal line across the page, thickness in points
    To:<TAB>{recipient_name}
    ?Company:<TAB>{recipient_company}

A text line is drawn as written, with ``{field}`` or ``{field:format}`` replaced by a
`CoverPageFields` value (``{time_sent:%d %B %Y}``; ``{{`` and ``}}`` are literal braces). A line
starting with ``?`` is left out when all its fields are empty. The last column of a line wraps
at the right margin and honours line breaks in the value (for the note); earlier columns are
cut at the next tab stop.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

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
from openfax.model.records import Recipient, Sender, person_fields

DEFAULT_TEMPLATE = "default.txt"
MAX_TEMPLATE_BYTES = 1 << 20
"""The largest cover page template, the server's or one sent with a submission."""
MAX_POINTS = 1008.0
"""The longest side of a sheet in points (US legal, 14 in): no length in a template is more."""
MAX_FONT_POINTS = 288.0
"""The largest font size a template may ask for (4 in)."""


@dataclass(frozen=True)
class CoverPageFields:
    """The fields a cover page can show: FAXCOMEX's recipient and sender as the wire declares
    them (:mod:`openfax.model.records`), which a template names ``{recipient_<field>}`` and
    ``{sender_<field>}``, and the document's subject and note."""

    recipient: Recipient = field(default_factory=lambda: Recipient(fax_number=""))
    sender: Sender = field(default_factory=Sender)
    subject: str = ""
    note: str = ""
    time_sent: datetime | None = None
    page_count: int | None = None
    """Pages of the whole fax, this cover page included."""

    def values(self) -> dict[str, Any]:
        """Every field by the name a template gives it."""
        return {
            **{f"recipient_{k}": v for k, v in person_fields(self.recipient).items()},
            **{f"sender_{k}": v for k, v in person_fields(self.sender).items()},
            "subject": self.subject,
            "note": self.note,
            "time_sent": self.time_sent,
            "page_count": self.page_count,
        }


_STYLES = {
    "sans": FontStyle.SANS,
    "sans-bold": FontStyle.SANS_BOLD,
    "mono": FontStyle.MONO,
    "mono-bold": FontStyle.MONO_BOLD,
}


class _Formatter(string.Formatter):
    """str.format that shows None as nothing and rejects names that are not fields."""

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        if not isinstance(key, str) or key not in kwargs:
            raise KeyError(key)
        return kwargs[key]

    def format_field(self, value: Any, format_spec: str) -> str:
        return "" if value is None else str(super().format_field(value, format_spec))


class _Layout:
    """The state of a template being drawn: pen position, font, alignment, tab stops."""

    def __init__(self, page_size: PageSize) -> None:
        self.page_size = page_size
        self.canvas = Canvas.for_page(page_size)
        self.set_margin(54)
        self.font: Font = load_font(FontStyle.SANS, points(11))
        self.size_pt = 11.0
        self.align = "left"
        self.tabs: list[int] = []

    def set_margin(self, margin_pt: float) -> None:
        self.left = paper_margin_left(self.page_size, points(margin_pt))
        self.right = paper_margin_right(self.page_size, points(margin_pt))
        self.bottom = page_height(self.page_size) - points(margin_pt)
        self.y = points(margin_pt)

    def line_height(self) -> int:
        return points(self.size_pt * 1.3)

    def draw_columns(self, columns: list[str]) -> None:
        """Draw one template line; the last column may wrap onto further lines."""
        stops = [self.left, *(self.left + tab for tab in self.tabs)]
        height = self.line_height()
        last = len(columns) - 1
        for index, text in enumerate(columns):
            x = stops[min(index, len(stops) - 1)]
            if index < last:
                limit = stops[index + 1] if index + 1 < len(stops) else self.right
                self._draw(x, self.y, _clip(text, self.font, limit - x - points(4)))
                continue
            room = max(0, (self.bottom - self.y) // height)
            lines = _wrap(text, self.font, self.right - x, room + 1)
            for number, line in enumerate(lines):
                self._draw(x, self.y + number * height, line)
            self.y += height * max(1, len(lines))

    def _draw(self, x: int, y: int, text: str) -> None:
        if y + self.line_height() > self.bottom or not text:
            return
        width = round(self.font.getlength(text))
        if self.align == "center":
            x = (self.left + self.right - width) // 2
        elif self.align == "right":
            x = self.right - width
        self.canvas.text(x, y, text, self.font)


def _fitting(text: str, start: int, font: Font, width: int) -> int:
    """How many characters of `text` from `start` on fit in `width` pixels.

    The prefix length is found by doubling it until it no longer fits and then halving the
    gap, so the characters measured are a small multiple of what fits (times its logarithm),
    whatever the length of `text`: a long unbroken word costs a line's work per line.
    """
    end = len(text) - start
    fits, too_long = 0, 1
    while too_long <= end and font.getlength(text[start : start + too_long]) <= width:
        fits, too_long = too_long, too_long * 2
    too_long = min(too_long, end + 1)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if font.getlength(text[start : start + middle]) <= width:
            fits = middle
        else:
            too_long = middle
    return fits


def _clip(text: str, font: Font, width: int) -> str:
    """The longest start of `text` that fits in `width` pixels."""
    return text[: _fitting(text, 0, font, width)]


def _wrap(text: str, font: Font, width: int, max_lines: int) -> list[str]:
    """At most `max_lines` lines of `text` no wider than `width`: broken at the last space
    that fits, or inside a word too long for a line; a line break in `text` starts a line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if len(lines) == max_lines:
            break
        start = 0
        while len(lines) < max_lines:
            fit = _fitting(paragraph, start, font, width)
            if start + fit >= len(paragraph):
                lines.append(paragraph[start:])
                break
            cut = paragraph.rfind(" ", start + 1, start + fit + 1)
            if cut < 0:
                cut = start + max(1, fit)
            lines.append(paragraph[start:cut].rstrip(" "))
            start = cut
            while start < len(paragraph) and paragraph[start] == " ":
                start += 1
            if start == len(paragraph):
                break
    return lines


def _read_template(template: str | os.PathLike[str] | None) -> tuple[str, str]:
    if template is None:
        source = resources.files("openfax.documents") / "templates" / DEFAULT_TEMPLATE
        return str(source), source.read_text(encoding="utf-8")
    path = Path(template)
    try:
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            reason = f"a cover page template has at most {MAX_TEMPLATE_BYTES} bytes"
            raise DocumentError(path, reason)
        return str(path), path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentError(path, "no such cover page template") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DocumentError(path, f"cover page template cannot be read ({error})") from None


def render_cover_page(
    fields: CoverPageFields,
    *,
    template: str | os.PathLike[str] | None = None,
    resolution: Resolution = Resolution.FINE,
    page_size: PageSize = PageSize.A4,
) -> FaxPage:
    """Draw a cover page from `template` (the shipped default when None) and `fields`."""
    name, source = _read_template(template)
    values = fields.values()
    formatter = _Formatter()
    layout = _Layout(page_size)
    for number, raw in enumerate(source.splitlines(), start=1):
        line = raw.rstrip()
        if line.startswith("#"):
            continue
        try:
            if line.startswith("@"):
                _directive(layout, line[1:].split())
                continue
            optional = line.startswith("?")
            if optional:
                line = line[1:]
            used = [field for _, field, _, _ in formatter.parse(line) if field]
            if optional and all(values.get(field) in ("", None) for field in used):
                continue
            layout.draw_columns(formatter.vformat(line, (), values).split("\t"))
        except KeyError as error:
            raise DocumentError(name, f"line {number}: unknown field {error}") from None
        except (ValueError, IndexError) as error:
            raise DocumentError(name, f"line {number}: {error}") from None
    return layout.canvas.to_page(resolution, page_size)


def _directive(layout: _Layout, words: list[str]) -> None:
    """Apply one @-line; ValueError says what is wrong with it."""
    if not words:
        raise ValueError("empty directive")
    keyword, args = words[0], words[1:]
    if keyword == "font" and len(args) == 2 and args[0] in _STYLES:
        layout.size_pt = _points(args[1], "a font size", 1.0, MAX_FONT_POINTS)
        layout.font = load_font(_STYLES[args[0]], points(layout.size_pt))
    elif keyword == "align" and args in (["left"], ["center"], ["right"]):
        layout.align = args[0]
    elif keyword == "tabs":
        layout.tabs = [points(_points(arg, "a tab stop")) for arg in args]
    elif keyword == "margin" and len(args) == 1:
        layout.set_margin(_points(args[0], "a margin"))
    elif keyword == "space" and len(args) == 1:
        layout.y += points(_points(args[0], "a space", -MAX_POINTS))
    elif keyword == "rule" and len(args) <= 1:
        thickness = points(_points(args[0], "a rule") if args else 1.0)
        layout.canvas.rule(layout.left, layout.right, layout.y, thickness)
        layout.y += thickness + points(4)
    else:
        raise ValueError(f"bad directive @{' '.join(words)}")


def _points(text: str, what: str, low: float = 0.0, high: float = MAX_POINTS) -> float:
    """A length in points from a template, from `low` to `high`; ValueError naming `what`
    else (infinity and NaN included, which no canvas coordinate can take)."""
    value = float(text)
    if not low <= value <= high:
        raise ValueError(f"{what} must be {low:g} to {high:g} points, not {text}")
    return value
