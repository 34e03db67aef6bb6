"""``openfax render``: documents in, one TIFF Class F out."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import click

from openfax.errors import FaxError


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
    from openfax.documents import (
        Compression,
        PageSize,
        Resolution,
        count_pages,
        draw_header_line,
        format_header_line,
        iter_pages,
        write_fax_tiff,
    )
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
                now = datetime.now().astimezone()
                total = sum(count_pages(path, page_size=size, office=office) for path in paths)
                pages = (
                    draw_header_line(page, format_header_line(header_tsid, now, number, total))
                    for number, page in enumerate(pages, start=1)
                )
            return write_fax_tiff(pages, output, compression=coding)
        finally:
            office.close()


def run_render(
    inputs: list[str],
    output: str,
    *,
    resolution: str,
    page_size: str,
    compression: str,
    workers: int | None = None,
    as_json: bool = False,
) -> None:
    """Render and report the page count, or fail with the document's error; ``workers``
    processes render PDF pages (None: one per CPU)."""
    if workers is None:
        from openfax.documents.workers import default_workers

        workers = default_workers()
    try:
        count = render_to_tiff(
            inputs,
            Path(output),
            resolution=resolution,
            page_size=page_size,
            compression=compression,
            workers=workers,
        )
    except FaxError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        import json

        report = {"output": output, "pages": count, "resolution": resolution}
        click.echo(json.dumps(report | {"page_size": page_size, "compression": compression}))
        return
    plural = "s" if count != 1 else ""
    click.echo(f"{output}: {count} page{plural}, {resolution}, {compression.upper()}")
