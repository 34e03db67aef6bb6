"""Reading received faxes with the real Tesseract, and the PDF's invisible text layer read
back by poppler's pdftotext and PDFium."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from openfax.documents import Resolution, fax_tiff_to_pdf, render_documents, write_fax_tiff
from openfax.documents.ocr import TESSERACT, FaxText, parse_tsv, read_fax
from openfax.errors import OcrError

TEXT = "Referral form\nPatient: Jane Doe\nPlease see the cardiology clinic (urgent).\n"


def fax_of(tmp_path: Path, resolution: Resolution) -> Path:
    text = tmp_path / "page.txt"
    text.write_text(TEXT)
    tiff = tmp_path / f"{resolution.name}.tif"
    write_fax_tiff(render_documents([text], resolution=resolution), tiff)
    return tiff


def read(
    tiff: Path, *, time_limit: float = 60, command: str = TESSERACT, page_limit: int = 5
) -> FaxText:
    return asyncio.run(
        read_fax(
            tiff,
            command=command,
            languages=["eng"],
            page_limit=page_limit,
            time_limit=time_limit,
        )
    )


@pytest.mark.parametrize("resolution", [Resolution.FINE, Resolution.STANDARD])
def test_text_of_a_fax_and_its_pdf_text_layer(tmp_path: Path, resolution: Resolution) -> None:
    tiff = fax_of(tmp_path, resolution)
    read_back = read(tiff)
    assert read_back.text.splitlines() == TEXT.splitlines()
    pdf = tmp_path / "fax.pdf"
    fax_tiff_to_pdf(tiff, pdf, read_back.pages)
    extracted = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True)
    assert extracted.stdout.split() == TEXT.split()
    document = pdfium.PdfDocument(pdf)
    page = document[0]
    found = page.get_textpage().search("cardiology").get_next()
    assert found is not None
    # Its first letter lies over the word as printed: where Tesseract saw it, on ink.
    left, bottom, right, top = page.get_textpage().get_charbox(found[0])
    word = next(w for w in read_back.pages[0].words if w.text == "cardiology")
    x_scale, y_scale = 72 / resolution.x_dpi, 72 / resolution.y_dpi
    height = page.get_size()[1]
    assert left == pytest.approx(word.left * x_scale, abs=1.5)
    middle = height - (top + bottom) / 2
    assert word.top * y_scale < middle < (word.top + word.height) * y_scale
    image = page.render(scale=2, grayscale=True).to_pil()
    box = image.crop(
        (round(left * 2), round((height - top) * 2), round(right * 2), round((height - bottom) * 2))
    )
    assert box.getextrema()[0] < 128


def test_only_the_first_pages_up_to_the_limit_are_read(tmp_path: Path) -> None:
    text = tmp_path / "two.txt"
    text.write_text("First page\n\fSecond page\n")
    tiff = tmp_path / "two.tif"
    assert write_fax_tiff(render_documents([text]), tiff) == 2
    assert read(tiff, page_limit=1).text == "First page"
    assert read(tiff).text == "First page\fSecond page"


def test_a_fax_past_its_time_limit_is_an_ocr_error(tmp_path: Path) -> None:
    with pytest.raises(OcrError, match=r"longer than 0\.01 s"):
        read(fax_of(tmp_path, Resolution.FINE), time_limit=0.01)


def test_a_missing_or_failing_tesseract_is_an_ocr_error(tmp_path: Path) -> None:
    tiff = fax_of(tmp_path, Resolution.FINE)
    with pytest.raises(OcrError, match="cannot run"):
        read(tiff, command=str(tmp_path / "no-tesseract"))
    with pytest.raises(OcrError, match="exited with status 1"):
        read(tiff, command="false")


def test_tsv_words_are_grouped_in_lines_and_scaled_to_the_page_rows() -> None:
    head = "\t".join(
        [
            "level",
            "page_num",
            "block_num",
            "par_num",
            "line_num",
            "word_num",
            "left",
            "top",
            "width",
            "height",
            "conf",
            "text",
        ]
    )
    rows = [
        "4\t1\t1\t1\t1\t0\t10\t20\t200\t40\t-1\t",
        "5\t1\t1\t1\t1\t1\t10\t20\t80\t40\t96\tHello",
        "5\t1\t1\t1\t1\t2\t100\t20\t110\t40\t95\tworld",
        "5\t1\t1\t1\t2\t1\t10\t80\t50\t40\t90\t ",
        "5\t1\t1\t1\t2\t2\t10\t80\t50\t40\t90\tagain",
    ]
    text = parse_tsv("\n".join([head, *rows]), scale=2.0)
    assert text.text == "Hello world\nagain"
    assert [(w.left, w.top, w.width, w.height) for w in text.words][:2] == [
        (10, 10, 80, 20),
        (100, 10, 110, 20),
    ]
