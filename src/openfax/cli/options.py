"""Command-line options shared by sub-commands that render documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def render_options(command: F) -> F:
    """Add --resolution, --page-size and --compression to a command."""
    for option in reversed(
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
        ]
    ):
        command = option(command)
    return command
