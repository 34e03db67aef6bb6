"""Benchmark: text PDFs of 1, 10 and 60 pages to MMR fax TIFFs at 204x196 dpi, `openfax render`
against Ghostscript's `gs -sDEVICE=tiffg4`, each as the whole command a user runs.

For each length: pages per second (start-up included) and bytes per page for both, and the
ratios (the aim: twice Ghostscript's pages per second at no more bytes per page); `openfax
render` with its default worker processes (one per CPU) and with `--workers 1`. The commands
run in interleaved rounds, so that a change in the machine's other load touches all alike,
and the medians are printed with the CPU time per page (the process and its children) and
the lowest and highest ratio of a round: wall time on a shared machine swings with the other
load, CPU time much less. Then the CPU time of each stage of one page on one thread: PDFium
loading and rendering, the photograph test, thresholding, edge straightening, MMR coding.
The `openfax` script next to this Python runs with the sources of the `openfax` package it
imports, byte-compiled as an installed package is (PYTHONDONTWRITEBYTECODE is dropped, and
one untimed run of each command comes first). No assertions.

    .venv/bin/python bench/render.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from openfax.documents import Compression, PageSize, Resolution, read_fax_tiff
from openfax.documents.ccitt import encode_rows
from openfax.documents.edges import smooth_edges
from openfax.documents.halftone import is_photograph, threshold_rows
from openfax.documents.pages import FAX_WIDTH, fit_on_page
from openfax.documents.pdf import _RENDER_FLAGS, _render, open_pdf

LENGTHS = (1, 10, 60)
RUNS = 7
OPENFAX = Path(sys.executable).with_name("openfax")
TEXT = (
    "the invoice for order number shipment payment terms delivery schedule quarterly report "
    "attached please confirm receipt by return fax regards department manager warehouse "
    "customer account balance due within thirty days of the date shown above"
)


def make_pdf(directory: Path, pages: int) -> Path:
    """A PDF of `pages` A4 pages of 10 pt Courier text, written by Ghostscript from PostScript."""
    rng = random.Random(4471)
    words = TEXT.split(" ")
    program = ["%!PS", "/Courier findfont 10 scalefont setfont"]
    for _ in range(pages):
        program.append("<< /PageSize [595 842] >> setpagedevice")
        for y in range(790, 60, -12):
            line = " ".join(rng.choice(words) for _ in range(11))[:80]
            program.append(f"54 {y} moveto ({line}) show")
        program.append("showpage")
    source = directory / f"text-{pages}.ps"
    source.write_text("\n".join(program) + "\n")
    pdf = directory / f"text-{pages}.pdf"
    subprocess.run(
        ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=pdfwrite", f"-sOutputFile={pdf}", source],
        check=True,
    )
    return pdf


def commands(pdf: Path, directory: Path) -> dict[str, tuple[list[str], Path]]:
    """The commands compared on `pdf`, by name, each with the TIFF it writes."""
    out = {name: directory / f"{name}.tif" for name in ("gs", "openfax", "openfax-1")}
    render = [str(OPENFAX), "render", str(pdf), "--compression", "mmr", "-o"]
    return {
        "gs": (
            ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=tiffg4", "-r204x196",
             f"-sOutputFile={out['gs']}", str(pdf)],
            out["gs"],
        ),
        "openfax": ([*render, str(out["openfax"])], out["openfax"]),
        "openfax-1": ([*render, str(out["openfax-1"]), "--workers", "1"], out["openfax-1"]),
    }  # fmt: skip


def run(command: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (its own and its children's) one run of `command` takes."""
    before = _children_cpu()
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=environment)
    return time.perf_counter() - start, _children_cpu() - before


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


def measure(pdf: Path, pages: int, directory: Path, runs: int) -> dict[str, dict[str, float]]:
    """Per command on `pdf`: median pages/s, CPU ms per page, bytes per page, and the lowest
    and highest ratio of its pages/s to Ghostscript's in a round."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    compared = commands(pdf, directory)
    for command, _ in compared.values():
        run(command, environment)  # untimed: byte-compiles, fills the page cache
    rounds = [
        {name: run(command, environment) for name, (command, _) in compared.items()}
        for _ in range(runs)
    ]
    figures: dict[str, dict[str, float]] = {}
    for name, (_, tiff) in compared.items():
        written = len(read_fax_tiff(tiff))
        if written != pages:
            raise SystemExit(f"{name} wrote {written} pages of {pages}")
        ratios = [one["gs"][0] / one[name][0] for one in rounds]
        figures[name] = {
            "pages/s": pages / statistics.median(one[name][0] for one in rounds),
            "cpu": statistics.median(one[name][1] for one in rounds) * 1000 / pages,
            "bytes": tiff.stat().st_size / pages,
            "low": min(ratios),
            "high": max(ratios),
        }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="rounds per length")
    args = parser.parse_args()
    if shutil.which("gs") is None:
        print("Ghostscript (gs) is needed: apt-get install ghostscript", file=sys.stderr)
        return 1
    print(f"text PDFs -> MMR TIFF at 204x196 dpi, whole commands (median of {args.runs} rounds)")
    print(
        f"  {'pages':>5} {'command':24} {'pages/s':>8} {'x gs':>6} {'(round low-high)':>16}"
        f" {'CPU ms/page':>12} {'bytes/page':>11} {'x gs':>6}"
    )
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        for pages in LENGTHS:
            pdf = make_pdf(directory, pages)
            figures = measure(pdf, pages, directory, args.runs)
            gs = figures["gs"]
            labels = {
                "gs": "gs -sDEVICE=tiffg4",
                "openfax": "openfax render",
                "openfax-1": "openfax render --workers 1",
            }
            for key, label in labels.items():
                row = figures[key]
                print(
                    f"  {pages:5} {label:24} {row['pages/s']:8.1f}"
                    f" {row['pages/s'] / gs['pages/s']:6.2f} "
                    f"{row['low']:7.2f}-{row['high']:<8.2f} {row['cpu']:12.1f}"
                    f" {row['bytes']:11.0f} {row['bytes'] / gs['bytes']:6.3f}"
                )
        stages = stage_cpu(make_pdf(directory, 10))
    print("  openfax CPU ms per page by stage, one thread (median, 10-page PDF):")
    for stage, seconds in stages.items():
        print(f"    {stage:31} {seconds * 1000:6.2f}")
    print(f"    {'total':31} {sum(stages.values()) * 1000:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
