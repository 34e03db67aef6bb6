"""Benchmark: how well Tesseract reads the fax pages OpenFax renders (character error rate).

The sample letter (samples/letter.txt) is made into fax pages three ways: by OpenFax's text
renderer, and as PDFs set in Helvetica 10 pt and Times 9 pt (PDFium text objects) rendered
to fax pages as a submitted PDF is; each at fine (204x196 dpi) and standard (204x98)
resolution, written to a TIFF-F as a received fax is, and read back with
``openfax.documents.ocr.read_fax`` (Tesseract, English, as the service runs it). The
character error rate is the edit distance (Levenshtein) between the text written and the
text read, both with every run of white space made one space, divided by the length of the
text written. The letter draws rules with runs of dashes and underscores, which Tesseract
rightly takes for lines, not text: CER leaves those runs (3 or more) out of the text
written, raw CER keeps them. Also printed: wall seconds per page and Tesseract's CPU
seconds per page. No assertions.

    .venv/bin/python bench/ocr.py           # ~1 minute
    .venv/bin/python bench/ocr.py --json
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from openfax.documents import Resolution, render_documents, write_fax_tiff
from openfax.documents.ocr import find_tesseract, read_fax

ROOT = Path(__file__).resolve().parent.parent
LETTER = ROOT / "samples" / "letter.txt"
PDF_FONTS = (("Helvetica", 10.0), ("Times-Roman", 9.0))


def normalized(text: str, *, rules: bool = True) -> str:
    """``text`` with each run of white space one space; without ``rules``, without the runs
    of three or more dashes or underscores (rules drawn with characters)."""
    if not rules:
        text = re.sub(r"[-_]{3,}", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions of one character."""
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            )
        previous = current
    return previous[-1]


def text_pdf(path: Path, lines: list[str], font: str, size_pt: float) -> Path:
    """A4 pages of ``lines`` in the standard font ``font`` at ``size_pt``, leading 1.2."""
    document = pdfium.PdfDocument.new()
    per_page = int((842 - 2 * 54) / (size_pt * 1.2))
    for start in range(0, len(lines), per_page):
        page = document.new_page(595, 842)
        for number, line in enumerate(lines[start : start + per_page]):
            text = pdfium_c.FPDFPageObj_NewTextObj(document.raw, font.encode(), size_pt)
            utf16 = ctypes.create_string_buffer((line + "\x00").encode("utf-16-le"))
            pdfium_c.FPDFText_SetText(text, ctypes.cast(utf16, ctypes.POINTER(ctypes.c_ushort)))
            y = 842 - 54 - size_pt - number * size_pt * 1.2
            pdfium_c.FPDFPageObj_Transform(text, 1, 0, 0, 1, 54, y)
            pdfium_c.FPDFPage_InsertObject(page.raw, text)
        pdfium_c.FPDFPage_GenerateContent(page.raw)
    document.save(path)
    return path


def measure(source: Path, resolution: Resolution, folder: Path, command: str) -> dict[str, object]:
    pages = render_documents([source], resolution=resolution)
    tiff = folder / f"{source.stem}-{resolution.name.lower()}.tif"
    write_fax_tiff(pages, tiff)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    read = asyncio.run(
        read_fax(tiff, command=command, languages=["eng"], page_limit=100, time_limit=600)
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    written = normalized(LETTER.read_text(), rules=False)
    errors = edit_distance(written, normalized(read.text))
    with_rules = normalized(LETTER.read_text())
    return {
        "pages": len(pages),
        "characters": len(written),
        "errors": errors,
        "cer": errors / len(written),
        "raw_cer": edit_distance(with_rules, normalized(read.text)) / len(with_rules),
        "wall_s_per_page": wall / len(pages),
        "cpu_s_per_page": cpu / len(pages),
    }


def main() -> None:
    command = find_tesseract()
    if command is None:
        sys.exit("Tesseract is not installed (Debian: apt-get install tesseract-ocr)")
    as_json = "--json" in sys.argv[1:]
    rows = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        lines = LETTER.read_text().splitlines()
        sources = [("text renderer", LETTER)] + [
            (f"PDF {font} {size:g} pt", text_pdf(folder / f"{font}.pdf", lines, font, size))
            for font, size in PDF_FONTS
        ]
        for label, source in sources:
            for resolution in (Resolution.FINE, Resolution.STANDARD):
                row = measure(source, resolution, folder, command)
                rows.append({"source": label, "resolution": resolution.name.lower(), **row})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    version = asyncio.run(_version(command))
    print(f"{version}; {rows[0]['characters']} characters written per document")
    print(f"{'source':<24}{'resolution':<12}{'pages':>6}{'errors':>8}{'CER':>8}{'raw CER':>9}"
          f"{'wall s/page':>13}{'CPU s/page':>12}")  # fmt: skip
    for row in rows:
        print(
            f"{row['source']:<24}{row['resolution']:<12}{row['pages']:>6}{row['errors']:>8}"
            f"{row['cer']:>8.2%}{row['raw_cer']:>9.2%}"
            f"{row['wall_s_per_page']:>13.2f}{row['cpu_s_per_page']:>12.2f}"
        )


async def _version(command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        command, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return output.decode(errors="replace").splitlines()[0]


if __name__ == "__main__":
    main()
