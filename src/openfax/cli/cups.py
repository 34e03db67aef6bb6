"""``openfax cups install|uninstall``: a CUPS fax queue that faxes what is printed to it
through openfaxd, as the printing user (``docs/design/print-to-fax.md``)."""

from __future__ import annotations

from pathlib import Path

import click

from openfax.cli.options import json_option
from openfax.gateways.cups.install import (
    DEFAULT_BACKEND_DIR,
    DEFAULT_POLICY,
    DEFAULT_QUEUE,
    CupsSetupError,
)

queue_option = click.option(
    "--queue", default=DEFAULT_QUEUE, show_default=True, help="The CUPS queue's name."
)
backend_dir_option = click.option(
    "--backend-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_BACKEND_DIR,
    show_default=True,
    help="CUPS' backend folder (its ServerBin's backend/).",
)


@click.group()
def cups() -> None:
    """Print to fax: a CUPS queue whose jobs openfaxd faxes (lp -d fax -o phone=NUMBER FILE)."""


@cups.command("install")
@queue_option
@click.option(
    "--socket",
    type=click.Path(dir_okay=False, path_type=Path),
    help="openfaxd's Unix socket (default: $OPENFAX_SOCKET, else the data folder's).",
)
@backend_dir_option
@click.option(
    "--policy",
    default=DEFAULT_POLICY,
    show_default=True,
    help="CUPS operation policy of the queue: it must authenticate who prints.",
)
@click.option("--description", default="Fax (OpenFax)", show_default=True)
@json_option
def install_command(
    queue: str,
    socket: Path | None,
    backend_dir: Path,
    policy: str,
    description: str,
    as_json: bool,
) -> None:
    """Install the openfax backend into CUPS and add the fax queue (as root). Users then
    fax with `lp -d fax -o phone=NUMBER FILE` as their own fax accounts."""
    from openfax.client._connection import local_socket
    from openfax.gateways.cups.install import install

    socket = socket or local_socket()
    try:
        done = install(
            queue, socket=socket, backend_dir=backend_dir, policy=policy, description=description
        )
    except CupsSetupError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        import json

        click.echo(json.dumps({"queue": done.queue, "uri": done.uri, "backend": str(done.backend)}))
        return
    click.echo(f"queue {done.queue}: {done.uri} (backend {done.backend})")
    click.echo(f"fax with: lp -d {done.queue} -o phone=NUMBER FILE")
    if not socket.exists():
        click.echo(f"warning: no openfaxd listens on {socket} yet", err=True)


@cups.command("uninstall")
@queue_option
@backend_dir_option
@json_option
def uninstall_command(queue: str, backend_dir: Path, as_json: bool) -> None:
    """Remove the fax queue, and the backend once no queue uses it (as root)."""
    from openfax.gateways.cups.install import uninstall

    try:
        removed = uninstall(queue, backend_dir=backend_dir)
    except CupsSetupError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        import json

        click.echo(json.dumps({"removed": removed}))
        return
    click.echo("removed " + " and ".join(removed))
