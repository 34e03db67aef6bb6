"""Documents of every kind become fax pages of the right size at every resolution and paper."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openfax.documents import (
    FaxPage,
    PageSize,
    Resolution,
    count_pages,
    draw_header_line,
    format_header_line,
    render_documents,
)
from openfax.documents.text import layout_lines
from tests.factories import make_pdf

ROWS = {
    (PageSize.A4, Resolution.STANDARD): 1146,
    (PageSize.A4, Resolution.FINE): 2292,
    (PageSize.A4, Resolution.SUPERFINE): 4572,
    (PageSize.LETTER, Resolution.STANDARD): 1078,
    (PageSize.LETTER, Resolution.FINE): 2156,
    (PageSize.LETTER, Resolution.SUPERFINE): 4301,
    (PageSize.LEGAL, Resolution.STANDARD): 1372,
    (PageSize.LEGAL, Resolution.FINE): 2744,
    (PageSize.LEGAL, Resolution.SUPERFINE): 5474,
}


def black(page: FaxPage) -> np.ndarray:
    """True where the page is black."""
    return ~np.asarray(page.image)


def test_resolutions_have_fax_dpi() -> None:
    assert [r.x_dpi for r in Resolution] == [204, 204, 204]
    assert [r.y_dpi for r in Resolution] == [98, 196, 391]


@pytest.mark.parametrize(("page_size", "resolution"), list(ROWS))
@pytest.mark.parametrize("kind", ["pdf", "png", "jpeg", "gif", "bmp", "tiff", "text"])
def test_every_input_type_gives_full_width_pages_of_the_right_length(
    tmp_path: Path,
    kind: str,
    page_size: PageSize,
    resolution: Resolution,
    line_art: Image.Image,
) -> None:
    path = tmp_path / f"document.{kind}"
    if kind == "pdf":
        make_pdf(path, 1)
    elif kind == "text":
        path.write_text("Hello, fax.\n")
    else:
        line_art.save(path, kind.upper())
    (page,) = render_documents([path], resolution=resolution, page_size=page_size)
    assert page.image.mode == "1"
    assert page.resolution is resolution
    assert page.image.size == (1728, ROWS[page_size, resolution])
    assert black(page).any()


def test_type_is_detected_by_content_not_name(tmp_path: Path, line_art: Image.Image) -> None:
    png_named_txt = tmp_path / "picture.txt"
    line_art.save(png_named_txt, "PNG")
    pdf_named_png = make_pdf(tmp_path / "document.png", 2)
    pages = render_documents([png_named_txt, pdf_named_png])
    assert len(pages) == 3


def test_pages_of_all_documents_come_in_order(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "bars.pdf", 3)
    text = tmp_path / "note.txt"
    text.write_text("after the PDF\n")
    pages = render_documents([pdf, text], resolution=Resolution.STANDARD)
    assert len(pages) == 4
    # Page n of the PDF has n bars: its black area grows with n.
    areas = [int(black(page).sum()) for page in pages[:3]]
    assert areas[0] < areas[1] < areas[2]
    assert areas[1] == pytest.approx(2 * areas[0], rel=0.05)


def test_pdf_keeps_its_proportions_at_standard_resolution(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "bar.pdf", 1)
    for resolution in Resolution:
        (page,) = render_documents([pdf], resolution=resolution)
        rows = np.flatnonzero(black(page).any(axis=1))
        bar_height_in = (rows[-1] - rows[0] + 1) / resolution.y_dpi
        assert bar_height_in == pytest.approx(40 / 72, abs=0.02)


def test_landscape_pdf_page_is_turned_to_fit(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "wide.pdf", 1, size_pt=(842, 595))
    (page,) = render_documents([pdf], resolution=Resolution.FINE)
    columns = np.flatnonzero(black(page).any(axis=0))
    rows = np.flatnonzero(black(page).any(axis=1))
    # The bar ran across the wide page; turned, it runs down the portrait one.
    assert rows[-1] - rows[0] > columns[-1] - columns[0]


def test_text_paginates(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("".join(f"line {n}\n" for n in range(150)))
    pages = render_documents([path], page_size=PageSize.A4)
    assert len(pages) == 3  # 61 lines to an A4 page with 3/4 in margins


def test_text_form_feed_starts_a_page(tmp_path: Path) -> None:
    path = tmp_path / "two.txt"
    path.write_text("first page\n\fsecond page\n\f")
    assert len(render_documents([path])) == 2


def test_long_lines_wrap_at_a_space() -> None:
    (page,) = layout_lines("alpha beta gamma delta", columns=11, lines_per_page=10)
    assert page == ["alpha beta", "gamma delta"]


def test_long_words_are_cut() -> None:
    (page,) = layout_lines("x" * 25, columns=10, lines_per_page=10)
    assert page == ["x" * 10, "x" * 10, "x" * 5]


def test_latin1_text_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Grüße aus Köln\n".encode("latin-1"))
    assert len(render_documents([path])) == 1


def test_photograph_is_dithered_and_line_art_thresholded(
    tmp_path: Path, photo: Image.Image, line_art: Image.Image
) -> None:
    photo_path = tmp_path / "photo.png"
    photo.save(photo_path)
    art_path = tmp_path / "art.png"
    line_art.save(art_path)
    photo_page, art_page = render_documents([photo_path, art_path])

    def isolated_dots(page: FaxPage) -> int:
        """Black pixels with white on both sides: the grain of dithering."""
        b = black(page)
        return int((b[:, 1:-1] & ~b[:, :-2] & ~b[:, 2:]).sum())

    assert isolated_dots(photo_page) > 10_000
    assert isolated_dots(art_page) < 200
    # A dithered gradient gets darker from one end to the other.
    b = black(photo_page)
    rows = np.flatnonzero(b.any(axis=1))
    columns = np.flatnonzero(b.any(axis=0))
    picture = b[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    assert picture[:40].mean() > 0.7 > 0.3 > picture[-40:].mean()


def test_transparent_image_lands_on_white(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(path)
    (page,) = render_documents([path])
    assert not black(page).any()


def test_multipage_tiff_gives_a_page_per_frame(tmp_path: Path, line_art: Image.Image) -> None:
    path = tmp_path / "scan.tif"
    line_art.save(path, save_all=True, append_images=[line_art, line_art])
    assert len(render_documents([path])) == 3


@pytest.mark.parametrize("resolution", list(Resolution))
def test_an_image_leaves_room_for_the_header_line(tmp_path: Path, resolution: Resolution) -> None:
    path = tmp_path / "all-black.png"
    Image.new("L", (1600, 400), 0).save(path, dpi=(200, 200))
    (page,) = render_documents([path], resolution=resolution)
    ink_rows = np.flatnonzero(black(page).any(axis=1))
    assert ink_rows[0] == round(0.25 * resolution.y_dpi)
    branded = draw_header_line(page, format_header_line("+1 555 0100", datetime(2026, 1, 2), 1, 1))
    assert np.array_equal(black(branded)[ink_rows[0] :], black(page)[ink_rows[0] :])


def test_header_line_on_a_pdf_page_changes_only_its_band(tmp_path: Path) -> None:
    (page,) = render_documents([make_pdf(tmp_path / "bar.pdf", 1)], resolution=Resolution.FINE)
    branded = draw_header_line(page, format_header_line("+1 555 0100", datetime(2026, 1, 2), 1, 1))
    changed = np.flatnonzero((black(branded) != black(page)).any(axis=1))
    assert changed.size > 0
    assert changed[0] >= round(0.04 * 196)
    assert changed[-1] < round(0.04 * 196) + round(0.18 * 196)


def test_pages_are_counted_as_they_render_without_rendering_them(
    tmp_path: Path, line_art: Image.Image
) -> None:
    pdf = make_pdf(tmp_path / "four.pdf", 4)
    text = tmp_path / "sheets.txt"
    text.write_text("first sheet\fsecond\f" + "a long third\n" * 130)  # 130 lines: 3 pages
    tiff = tmp_path / "frames.tif"
    line_art.save(tiff, save_all=True, append_images=[line_art, line_art])
    png = tmp_path / "one.png"
    line_art.save(png)
    for path, pages in ((pdf, 4), (text, 5), (tiff, 3), (png, 1)):
        assert count_pages(path) == len(render_documents([path])) == pages, path.name
    letter = count_pages(text, page_size=PageSize.LETTER)
    assert letter == len(render_documents([text], page_size=PageSize.LETTER))
