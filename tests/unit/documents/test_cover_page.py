"""Cover pages show the fields their template asks for; every page can carry a header line."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openfax.documents import (
    CoverPageFields,
    FaxPage,
    PageSize,
    Resolution,
    draw_header_line,
    format_header_line,
    render_cover_page,
)
from openfax.documents.canvas import points
from openfax.documents.cover_page import MAX_TEMPLATE_BYTES, _clip, _wrap
from openfax.documents.fonts import Font, FontStyle, load_font
from openfax.errors import DocumentError
from openfax.model.records import Recipient, Sender

FIELDS = CoverPageFields(
    recipient=Recipient(
        name="Helen Carter", fax_number="+1 937 555 0142", company="Acme Fabrication Inc."
    ),
    sender=Sender(
        name="Margaret Lewis", fax_number="+44 117 496 0322", company="Northwind Components Ltd."
    ),
    subject="Purchase order 4471-B",
    note="Revised delivery schedule attached.",
    time_sent=datetime(2024, 5, 2, 14, 3),
    page_count=3,
)


def black_rows(page: FaxPage) -> np.ndarray:
    return (~np.asarray(page.image)).any(axis=1)


@pytest.mark.parametrize("resolution", list(Resolution))
@pytest.mark.parametrize("page_size", list(PageSize))
def test_default_cover_page_has_the_page_size(resolution: Resolution, page_size: PageSize) -> None:
    page = render_cover_page(FIELDS, resolution=resolution, page_size=page_size)
    assert page.image.size == (1728, page_size.rows(resolution))
    assert black_rows(page).any()


def test_a_field_shows_where_the_template_puts_it(tmp_path: Path) -> None:
    template = tmp_path / "one.txt"
    template.write_text("@margin 72\n@font sans-bold 24\n{subject}\n")
    with_subject = render_cover_page(FIELDS, template=template)
    without = render_cover_page(CoverPageFields(), template=template)
    rows = black_rows(with_subject)
    # One inch down at 196 lpi, a line of 24 pt type.
    assert rows[196:300].any()
    assert not rows[:190].any()
    assert not rows[320:].any()
    assert not black_rows(without).any()


def test_default_template_shows_every_given_field() -> None:
    empty = render_cover_page(CoverPageFields())
    given = {
        "recipient_company": CoverPageFields(
            recipient=Recipient(fax_number="", company="Some value")
        ),
        "sender_email": CoverPageFields(sender=Sender(email="Some value")),
        "note": CoverPageFields(note="Some value"),
        "subject": CoverPageFields(subject="Some value"),
    }
    for name, fields in given.items():
        assert fields.values()[name] == "Some value"
        filled = render_cover_page(fields)
        assert black_rows(filled).sum() > black_rows(empty).sum(), name


def test_optional_line_vanishes_when_its_fields_are_empty(tmp_path: Path) -> None:
    template = tmp_path / "optional.txt"
    template.write_text("?Company:\t{recipient_company}\n")
    assert black_rows(render_cover_page(FIELDS, template=template)).any()
    assert not black_rows(render_cover_page(CoverPageFields(), template=template)).any()


def test_date_field_takes_a_format(tmp_path: Path) -> None:
    template = tmp_path / "date.txt"
    template.write_text("{time_sent:%Y}\n")
    assert black_rows(render_cover_page(FIELDS, template=template)).any()


def test_long_note_wraps_inside_the_margins(tmp_path: Path) -> None:
    template = tmp_path / "note.txt"
    template.write_text("@margin 72\n{note}\n")
    fields = CoverPageFields(note="word " * 400)
    page = render_cover_page(fields, template=template)
    columns = (~np.asarray(page.image)).any(axis=0)
    inch = 204
    assert not columns[: inch - 30].any()
    assert not columns[-(inch - 30) :].any()
    assert black_rows(page).sum() > 500


class MeasuringFont:
    """A real font that counts what is measured with it: the calls and the characters."""

    def __init__(self, font: Font) -> None:
        self.font = font
        self.calls = 0
        self.characters = 0

    def getlength(self, text: str) -> float:
        self.calls += 1
        self.characters += len(text)
        return self.font.getlength(text)


def measured_wrap(text: str, width_pt: float = 300) -> tuple[list[str], MeasuringFont]:
    font = MeasuringFont(load_font(FontStyle.SANS, points(12)))
    lines = _wrap(text, font, points(width_pt), max_lines=10**9)  # type: ignore[arg-type]
    return lines, font


@pytest.mark.parametrize("word", ["x", "word ", "\u200b"])
def test_wrapping_measures_text_in_proportion_to_its_length(word: str) -> None:
    """Twice the text, twice the measuring (give or take a line): one long unbroken word
    or zero-width characters once cost time in the square of their length."""
    _, short = measured_wrap(word * (10_000 // len(word)))
    _, long = measured_wrap(word * (20_000 // len(word)))
    assert long.characters < 2.3 * short.characters
    assert long.calls < 2.3 * short.calls
    assert long.characters < 40 * 20_000


def test_a_clipped_column_measures_about_what_fits() -> None:
    font = MeasuringFont(load_font(FontStyle.SANS, points(12)))
    clipped = _clip("x" * 100_000, font, points(100))  # type: ignore[arg-type]
    assert 0 < len(clipped) < 100
    assert font.getlength(clipped) <= points(100)
    assert font.characters < 40 * len(clipped)


def test_a_long_word_is_cut_where_the_line_ends_and_words_break_at_spaces() -> None:
    font = load_font(FontStyle.SANS, points(12))
    lines, _ = measured_wrap("a" * 1000 + "\n\n" + "one two three " * 30)
    blank = lines.index("")
    assert "".join(lines[:blank]) == "a" * 1000
    assert blank > 5
    words = lines[blank + 1 :]
    assert " ".join(words).strip() == ("one two three " * 30).strip()
    assert all(font.getlength(line) <= points(300) for line in lines)
    assert all(font.getlength(f"{line}a") > points(300) for line in lines[: blank - 1])
    assert all(
        font.getlength(f"{line} {after.split()[0]}") > points(300)
        for line, after in pairwise(words)
    )


def test_wrapping_stops_at_the_lines_asked_for() -> None:
    font = MeasuringFont(load_font(FontStyle.SANS, points(12)))
    lines = _wrap("word " * 100_000, font, points(300), max_lines=3)  # type: ignore[arg-type]
    assert len(lines) == 3
    assert font.characters < 3 * 40 * len(lines[0])


def test_a_huge_note_is_drawn_to_the_foot_of_the_page(tmp_path: Path) -> None:
    template = tmp_path / "note.txt"
    template.write_text("{note}\nEND\n")
    page = render_cover_page(CoverPageFields(note="x" * 1_000_000), template=template)
    rows = black_rows(page)
    assert rows[: rows.size // 10].any()
    assert rows[-rows.size // 4 :].any()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{no_such_field}\n", "unknown field"),
        ("@frobnicate 3\n", "bad directive"),
        ("@space 1e400\n", "a space must be -1008 to 1008 points, not 1e400"),
        ("@font sans nan\n", "a font size must be 1 to 288 points, not nan"),
        ("@font sans 5000\n", "a font size must be 1 to 288 points, not 5000"),
        ("@margin -1\n", "a margin must be 0 to 1008 points, not -1"),
        ("@tabs 10 inf\n", "a tab stop must be 0 to 1008 points, not inf"),
        ("@rule 1e9\n", "a rule must be 0 to 1008 points, not 1e9"),
    ],
)
def test_bad_template_names_the_file_and_line(tmp_path: Path, text: str, reason: str) -> None:
    template = tmp_path / "bad.txt"
    template.write_text("FAX\n" + text)
    with pytest.raises(DocumentError, match=rf"bad\.txt: line 2: {reason}"):
        render_cover_page(FIELDS, template=template)


def test_a_template_too_large_is_refused_unread(tmp_path: Path) -> None:
    template = tmp_path / "huge.txt"
    template.write_text("{note}\n" * (MAX_TEMPLATE_BYTES // 7 + 1))
    with pytest.raises(DocumentError, match=r"huge\.txt: a cover page template has at most"):
        render_cover_page(FIELDS, template=template)


def test_missing_template_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"missing\.txt: no such cover page template"):
        render_cover_page(FIELDS, template=tmp_path / "missing.txt")


def test_header_line_format() -> None:
    text = format_header_line("+44 117 496 0322", datetime(2024, 5, 2, 14, 3), 2, 5)
    assert text == "2024-05-02 14:03  From: +44 117 496 0322  page 2 of 5"


@pytest.mark.parametrize("resolution", list(Resolution))
def test_header_line_is_drawn_in_the_top_band_only(resolution: Resolution) -> None:
    rows = PageSize.A4.rows(resolution)
    blank = FaxPage(Image.new("1", (1728, rows), 1), resolution)
    branded = draw_header_line(blank, "2024-05-02 14:03  From: 555 0100  page 1 of 1")
    marked = np.flatnonzero(black_rows(branded))
    assert marked.size > 0
    assert marked[-1] < 0.25 * resolution.y_dpi
    assert branded.image.size == blank.image.size
    assert not black_rows(blank).any()  # the original is left alone
