"""Benchmark: a 10-page text PDF to an MMR fax TIFF at 204x196 dpi, OpenFax against Ghostscript.

Prints pages per second and compressed bytes per page for both, and the ratios. Ghostscript is
timed as the process it is (`gs ... -sDEVICE=tiffg4`); OpenFax in-process, first call (PDFium
and libtiff warming up) and warm calls (as in the long-running service), two ways: streamed
(`write_fax_tiff(iter_pages(...))`, pages coded while the next renders) and render-then-write
(`render_documents` to a list, then `write_fax_tiff`, as when pages get a header line first),
in rounds that run each of the three once, with the ratio of each round. Wall time on a shared
machine depends on what else runs; CPU time per page (all threads, or the gs process) much
less, so both are printed, and the CPU time of each stage of one page on one thread: PDFium
loading and rendering, the photograph test, thresholding, edge straightening, MMR coding.
No assertions.
"""

from __future__ import annotations

import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from openfax.documents import (
    Compression,
    PageSize,
    Resolution,
    iter_pages,
    read_fax_tiff,
    render_documents,
    write_fax_tiff,
)
from openfax.documents.ccitt import encode_rows
from openfax.documents.edges import smooth_edges
from openfax.documents.halftone import is_photograph, threshold_rows
from openfax.documents.pages import FAX_WIDTH, fit_on_page
from openfax.documents.pdf import _RENDER_FLAGS, _render, open_pdf

PAGES = 10
RUNS = 7
TEXT = (
    "the invoice for order number shipment payment terms delivery schedule quarterly report "
    "attached please confirm receipt by return fax regards department manager warehouse "
    "customer account balance due within thirty days of the date shown above"
)


def make_pdf(directory: Path) -> Path:
    """A PDF of PAGES A4 pages of 10 pt Courier text, written by Ghostscript from PostScript."""
    rng = random.Random(4471)
    words = TEXT.split(" ")
    program = ["%!PS", "/Courier findfont 10 scalefont setfont"]
    for _ in range(PAGES):
        program.append("<< /PageSize [595 842] >> setpagedevice")
        for y in range(790, 60, -12):
            line = " ".join(rng.choice(words) for _ in range(11))[:80]
            program.append(f"54 {y} moveto ({line}) show")
        program.append("showpage")
    source = directory / "text.ps"
    source.write_text("\n".join(program) + "\n")
    pdf = directory / "text.pdf"
    subprocess.run(
        ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=pdfwrite", f"-sOutputFile={pdf}", source],
        check=True,
    )
    return pdf


def timed(action: Callable[[], None]) -> float:
    """Wall-clock seconds one call of `action` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def cpu_timed(action: Callable[[], None]) -> float:
    """CPU seconds one call of `action` takes in this process (all threads) and its children."""
    before = time.process_time() + _children_cpu()
    action()
    return time.process_time() + _children_cpu() - before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


STAGES = ("PDFium load + render", "photograph test", "threshold", "edges", "MMR coding")


def stage_cpu(pdf: Path) -> dict[str, float]:
    """Median CPU seconds per page of each stage of rendering and coding `pdf` at fine on one
    thread (the stages `iter_pages` and `write_fax_tiff` run, called one after the other)."""
    resolution, page_size = Resolution.FINE, PageSize.A4
    gray = np.empty((page_size.rows(resolution), FAX_WIDTH), dtype=np.uint8)
    times: dict[str, list[float]] = {stage: [] for stage in STAGES}
    document = open_pdf(pdf)
    try:
        for _ in range(RUNS):
            for index in range(len(document)):
                clock = [time.thread_time()]
                page = document[index]
                width, height = page.get_size()
                place = fit_on_page(width / 72, height / 72, resolution, page_size)
                _render(page, place, 0, _RENDER_FLAGS, gray)
                page.close()
                clock.append(time.thread_time())
                is_photograph(gray)
                clock.append(time.thread_time())
                rows = threshold_rows(gray)
                clock.append(time.thread_time())
                rows = smooth_edges(rows)
                clock.append(time.thread_time())
                encode_rows(rows, FAX_WIDTH, resolution, Compression.MMR)
                clock.append(time.thread_time())
                for stage, start, end in zip(STAGES, clock[:-1], clock[1:], strict=True):
                    times[stage].append(end - start)
    finally:
        document.close()
    return {stage: statistics.median(values) for stage, values in times.items()}


def main() -> int:
    if shutil.which("gs") is None:
        print("Ghostscript (gs) is needed: apt-get install ghostscript", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        pdf = make_pdf(directory)
        gs_tiff = directory / "gs.tif"
        our_tiff = directory / "openfax.tif"

        def ghostscript() -> None:
            subprocess.run(
                [
                    "gs",
                    "-q",
                    "-dNOPAUSE",
                    "-dBATCH",
                    "-sDEVICE=tiffg4",
                    "-r204x196",
                    f"-sOutputFile={gs_tiff}",
                    pdf,
                ],
                check=True,
            )

        def streamed() -> None:
            pages = iter_pages([pdf], resolution=Resolution.FINE)
            write_fax_tiff(pages, our_tiff, compression=Compression.MMR)

        def render_then_write() -> None:
            pages = render_documents([pdf], resolution=Resolution.FINE)
            write_fax_tiff(pages, our_tiff, compression=Compression.MMR)

        first = timed(streamed)
        # Interleaved, so that a change in the machine's other load touches both sides alike.
        rounds = [
            (timed(streamed), timed(render_then_write), timed(ghostscript)) for _ in range(RUNS)
        ]
        ours, listed, theirs = (statistics.median(column) for column in zip(*rounds, strict=True))
        round_ratios = sorted(gs / streamed for streamed, _, gs in rounds)
        our_cpu = statistics.median(cpu_timed(streamed) for _ in range(RUNS))
        their_cpu = statistics.median(cpu_timed(ghostscript) for _ in range(RUNS))
        stages = stage_cpu(pdf)
        our_pages = len(read_fax_tiff(our_tiff))
        gs_pages = len(read_fax_tiff(gs_tiff))
        our_bytes = our_tiff.stat().st_size / our_pages
        gs_bytes = gs_tiff.stat().st_size / gs_pages

    print(f"{PAGES}-page text PDF -> MMR TIFF at 204x196 dpi (median of {RUNS} runs)")
    print(f"  {'':33} {'pages/s':>9} {'bytes/page':>11} {'CPU ms/page':>12}")
    print(
        f"  {'ghostscript tiffg4':33} {gs_pages / theirs:9.1f} {gs_bytes:11.0f}"
        f" {their_cpu * 1000 / gs_pages:12.1f}"
    )
    print(
        f"  {'openfax streamed (warm)':33} {our_pages / ours:9.1f} {our_bytes:11.0f}"
        f" {our_cpu * 1000 / our_pages:12.1f}"
    )
    print(f"  {'openfax streamed (first call)':33} {our_pages / first:9.1f}")
    print(f"  {'openfax render-then-write (warm)':33} {our_pages / listed:9.1f}")
    print(
        f"  speed ratio openfax/gs: {theirs / ours:.2f}x streamed (first call "
        f"{theirs / first:.2f}x), {theirs / listed:.2f}x render-then-write"
    )
    print(
        "  streamed/gs speed ratio of each round, lowest to highest: "
        + ", ".join(f"{ratio:.2f}x" for ratio in round_ratios)
    )
    print(f"  size ratio openfax/gs:  {our_bytes / gs_bytes:.3f}")
    print("  openfax CPU ms per page by stage, one thread (median):")
    for stage, seconds in stages.items():
        print(f"    {stage:31} {seconds * 1000:6.2f}")
    print(f"    {'total':31} {sum(stages.values()) * 1000:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
