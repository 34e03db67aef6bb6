"""Command-line options shared by several sub-commands."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from openfax.cli.render import RENDER_CHOICES

if TYPE_CHECKING:
    from openfax.client import FaxServer

F = TypeVar("F", bound=Callable[..., object])
Rows = Callable[..., Iterable[dict[str, Any]]]
"""What a listing command reads: the rows, from a connected FaxServer and its arguments."""


def apply_options(command: F, options: Sequence[Callable[[F], F]]) -> F:
    """Decorate ``command`` with ``options`` so that they appear in the order given."""
    for option in reversed(options):
        command = option(command)
    return command


def render_options(command: F) -> F:
    """Add --resolution, --page-size and --compression to a command."""
    options = [
        click.option(
            name, type=click.Choice(choices), default=default, show_default=True, help=text
        )
        for name, choices, default, text in RENDER_CHOICES
    ]
    return apply_options(command, options)


def install_options(config_help: str) -> Callable[[F], F]:
    """Add --config and --data-dir, where openfaxd's own options put them, to a command that
    works on the install itself (openfaxd may be stopped); ``config_help`` says what the
    command takes from the configuration."""

    def add(command: F) -> F:
        options = [
            click.option(
                "--config",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help=config_help,
            ),
            click.option(
                "--data-dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help="openfaxd's data folder, when given to openfaxd --data-dir.",
            ),
        ]
        return apply_options(command, options)

    return add


def ask_password(confirm: bool = True) -> str:
    """A password read from the terminal (twice) or one line of standard input: never an
    argument, which every local user would see in ``ps``."""
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm))


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


def listing(
    title: str, columns: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Callable[[Rows], Callable[..., None]]:
    """Make a function that reads rows from a connected FaxServer (its first argument, then
    the command's own) a command that prints them: it gains --json, --wide where some
    ``optional`` columns may be left out of a narrow table, --server and --token."""

    def decorate(read: Rows) -> Callable[..., None]:
        @functools.wraps(read)
        def command(
            *,
            as_json: bool,
            server_name: str,
            token: str | None,
            wide: bool = False,
            **arguments: Any,
        ) -> None:
            from openfax.cli.fax import connected, print_rows

            server: FaxServer
            with connected(server_name, token) as server:
                rows = list(read(server, **arguments))
            print_rows(rows, columns, title, as_json, optional=optional, wide=wide)

        shared = [json_option, wide_option] if optional else [json_option]
        return apply_options(command, [*shared, server_options])

    return decorate


def on_server(command: Callable[..., None]) -> Callable[..., None]:
    """Make a function of a connected FaxServer (its first argument, then the command's
    own) a command that reaches openfaxd: it gains --json, --server and --token, and a
    FaxError it meets ends it with a one-line error."""

    @functools.wraps(command)
    def run(*, server_name: str, token: str | None, **arguments: Any) -> None:
        from openfax.cli.fax import connected

        server: FaxServer
        with connected(server_name, token) as server:
            command(server, **arguments)

    return apply_options(run, [json_option, server_options])
