"""The ``openfax`` command: a Click group whose sub-commands import their work lazily.

Start-up stays quick because nothing heavy (spandsp, pypdfium2, numpy) is imported until a
sub-command that needs it runs.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from openfax import __version__
from openfax.cli.options import render_options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="openfax")
@click.option(
    "-v", "--verbose", count=True, help="More log detail: -v for progress, -vv for T.30 traces."
)
def cli(verbose: int) -> None:
    """OpenFax: send, receive and manage faxes."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="TIFF to write."
)
@render_options
def render(inputs: tuple[str, ...], output: str, **options: Any) -> None:
    """Render documents (PDF, images, text) to a TIFF Class F fax file."""
    from openfax.cli.render import run_render

    run_render(list(inputs), output, **options)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="TIFF the answering side writes.",
)
@render_options
@click.option(
    "--transport",
    type=click.Choice(["audio", "t38"]),
    default="audio",
    show_default=True,
    help="Audio (G.711-style PCM) or T.38 packets between the two ends.",
)
@click.option(
    "--modem",
    type=click.Choice(["v17", "v29", "v27ter"]),
    default=None,
    help="Allow only this modem (default: all, the fastest wins).",
)
@click.option("--no-ecm", is_flag=True, help="Turn error correction mode off.")
@click.option("--tsid", default="OpenFax", show_default=True, help="Sending station id (20 chars).")
@click.option("--csid", default="OpenFax loopback", show_default=True, help="Receiving station id.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def loopback(inputs: tuple[str, ...], output: str, **options: Any) -> None:
    """Render documents and fax them through two engine sessions back to back."""
    from openfax.cli.loopback import run_loopback

    run_loopback(list(inputs), output, **options)


def main() -> None:
    """Entry point of the ``openfax`` script."""
    cli(prog_name="openfax")
