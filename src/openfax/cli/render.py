"""``openfax render``: documents in, one TIFF Class F out.

Imports neither Click nor anything the rendering does not use: the quick path
(``openfax.cli.quick``) runs a plain ``openfax render`` through ``render_report`` without
the Click application, whose import would cost as much as rendering a few pages.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from openfax.errors import FaxError

RENDER_CHOICES = [
    (
        "--resolution",
        ["standard", "fine", "superfine"],
        "fine",
        "Vertical resolution (204 dpi across).",
    ),
    ("--page-size", ["a4", "letter", "legal"], "a4", "Paper size of the fax pages."),
    (
        "--compression",
        ["mh", "mr", "mmr"],
        "mr",
        "TIFF coding: MH (T.4 1-D), MR (T.4 2-D), MMR (T.6).",
    ),
]
"""The options that say how a document is rendered: name, choices, default, help (the
Click commands' and the quick path's)."""
MAX_WORKERS = 64
"""Most worker processes ``--workers`` may ask for."""


def render_to_tiff(
    inputs: list[str],
    output: Path,
    *,
    resolution: str,
    page_size: str,
    compression: str,
    header_tsid: str | None = None,
    workers: int = 1,
) -> int:
    """Render ``inputs`` to ``output``, branding each page when ``header_tsid`` is given; an
    Office document is made PDF by a LibreOffice started for this command (and stopped).
    The pages of PDFs are rendered and coded by ``workers`` processes (not when branded: a
    page is coded once its header line is drawn).

    Returns the number of pages written.
    """
    from openfax.documents import Compression, PageSize, Resolution, iter_pages, write_fax_tiff
    from openfax.documents.office import OfficeConverter
    from openfax.documents.workers import PageWorkers

    paths = [Path(p) for p in inputs]
    size = PageSize[page_size.upper()]
    coding = Compression[compression.upper()]
    processes = 1 if header_tsid is not None else workers
    with (
        tempfile.TemporaryDirectory(prefix="openfax-office-") as folder,
        PageWorkers(processes, coding) as pool,
    ):
        office = OfficeConverter(Path(folder))
        try:
            pages = iter_pages(
                paths,
                resolution=Resolution[resolution.upper()],
                page_size=size,
                office=office,
                workers=pool,
            )
            if header_tsid is not None:
                from openfax.documents import count_pages, draw_header_line, format_header_line

                now = datetime.now().astimezone()
                total = sum(count_pages(path, page_size=size, office=office) for path in paths)
                pages = (
                    draw_header_line(page, format_header_line(header_tsid, now, number, total))
                    for number, page in enumerate(pages, start=1)
                )
            return write_fax_tiff(pages, output, compression=coding)
        finally:
            office.close()


def render_report(
    inputs: list[str],
    output: str,
    *,
    resolution: str,
    page_size: str,
    compression: str,
    workers: int | None = None,
    as_json: bool = False,
) -> str:
    """Render ``inputs`` to ``output`` with ``workers`` processes for PDF pages (None: one
    per CPU) and say what was written: a line, or a JSON object; FaxError as
    ``render_to_tiff`` raises it."""
    # numpy's OpenBLAS starts a thread per CPU as it is imported, some 50 ms of CPU for a
    # command that does no linear algebra (a user's own setting is kept).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if workers is None:
        from openfax.documents.workers import default_workers

        workers = default_workers()
    count = render_to_tiff(
        inputs,
        Path(output),
        resolution=resolution,
        page_size=page_size,
        compression=compression,
        workers=workers,
    )
    if as_json:
        import json

        report = {"output": output, "pages": count, "resolution": resolution}
        return json.dumps(report | {"page_size": page_size, "compression": compression})
    plural = "s" if count != 1 else ""
    return f"{output}: {count} page{plural}, {resolution}, {compression.upper()}"


def run_render(inputs: list[str], output: str, **options: Any) -> None:
    """``render_report`` for the Click command: the report echoed, or the document's error
    as Click reports a failure."""
    import click

    try:
        click.echo(render_report(inputs, output, **options))
    except FaxError as exc:
        raise click.ClickException(str(exc)) from None
