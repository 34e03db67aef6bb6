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
) -> int:
    """Render ``inputs`` to ``output``, branding each page when ``header_tsid`` is given; an
    Office document is made PDF by a LibreOffice started for this command (and stopped).

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

    paths = [Path(p) for p in inputs]
    size = PageSize[page_size.upper()]
    with tempfile.TemporaryDirectory(prefix="openfax-office-") as folder:
        office = OfficeConverter(Path(folder))
        try:
            pages = iter_pages(
                paths, resolution=Resolution[resolution.upper()], page_size=size, office=office
            )
            if header_tsid is not None:
                now = datetime.now().astimezone()
                total = sum(count_pages(path, page_size=size, office=office) for path in paths)
                pages = (
                    draw_header_line(page, format_header_line(header_tsid, now, number, total))
                    for number, page in enumerate(pages, start=1)
                )
            return write_fax_tiff(pages, output, compression=Compression[compression.upper()])
        finally:
            office.close()


def run_render(
    inputs: list[str],
    output: str,
    *,
    resolution: str,
    page_size: str,
    compression: str,
    as_json: bool = False,
) -> None:
    """Render and report the page count, or fail with the document's error."""
    try:
        count = render_to_tiff(
            inputs,
            Path(output),
            resolution=resolution,
            page_size=page_size,
            compression=compression,
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
