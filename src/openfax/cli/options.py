"""Command-line options shared by several sub-commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def apply_options(command: F, options: list[Callable[[F], F]]) -> F:
    """Decorate ``command`` with ``options`` so that they appear in the order given."""
    for option in reversed(options):
        command = option(command)
    return command


def render_options(command: F) -> F:
    """Add --resolution, --page-size and --compression to a command."""
    return apply_options(
        command,
        [
            click.option(
                "--resolution",
                type=click.Choice(["standard", "fine", "superfine"]),
                default="fine",
                show_default=True,
                help="Vertical resolution (204 dpi across).",
            ),
            click.option(
                "--page-size",
                type=click.Choice(["a4", "letter", "legal"]),
                default="a4",
                show_default=True,
                help="Paper size of the fax pages.",
            ),
            click.option(
                "--compression",
                type=click.Choice(["mh", "mr", "mmr"]),
                default="mr",
                show_default=True,
                help="TIFF coding: MH (T.4 1-D), MR (T.4 2-D), MMR (T.6).",
            ),
        ],
    )


def server_options(command: F) -> F:
    """Add --server and --token: where openfaxd is (default: the local one's socket) and the
    token a remote one wants."""
    return apply_options(
        command,
        [
            click.option(
                "--server",
                "server_name",
                envvar="OPENFAX_SERVER",
                default="",
                help="host:port, or https://host:port for TLS, of a remote openfaxd (default: "
                "the local one's socket).",
            ),
            click.option(
                "--token", envvar="OPENFAX_TOKEN", default=None, help="Token for a remote openfaxd."
            ),
        ],
    )


def json_option(command: F) -> F:
    """Add --json: one JSON value on stdout instead of a table."""
    option = click.option("--json", "as_json", is_flag=True, help="Print JSON, not a table.")
    return option(command)


def wide_option(command: F) -> F:
    """Add --wide: a table with every column, however wide (else it fits the terminal)."""
    option = click.option(
        "--wide", is_flag=True, help="Show every column (else the table fits the terminal)."
    )
    return option(command)
