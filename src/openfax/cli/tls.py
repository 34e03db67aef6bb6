"""``openfax tls``: certificates for the API's TCP listener (``[api] tls_certificate`` and
``tls_key``)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import click

from openfax.cli.options import json_option

CERTIFICATE_NAME = "openfax.crt"
KEY_NAME = "openfax.key"
KEY_MODE = 0o600


@click.group()
def tls() -> None:
    """Certificates for the API's TCP listener (HTTPS)."""


@tls.command("self-signed")
@click.option(
    "--name",
    "names",
    multiple=True,
    metavar="HOST",
    help="A host name or IP address clients use (repeatable; default: localhost, "
    "127.0.0.1 and this machine's host name).",
)
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help=f"Where to write {CERTIFICATE_NAME} and {KEY_NAME}.",
)
@click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True)
@click.option("--force", is_flag=True, help="Replace the files if they exist.")
@json_option
def self_signed(
    names: tuple[str, ...], folder: Path, days: int, force: bool, as_json: bool
) -> None:
    """Write a self-signed certificate and its key (mode 0600) for a quick start, and print
    the configuration lines that use them. Clients trust the server by taking the
    certificate as their CA file (OPENFAX_CA_FILE)."""
    from openfax.tls import self_signed as make

    hosts = list(dict.fromkeys(names or ("localhost", "127.0.0.1", socket.gethostname())))
    try:
        certificate_pem, key_pem = make(hosts, days)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from None
    folder = folder.absolute()
    certificate, key = folder / CERTIFICATE_NAME, folder / KEY_NAME
    existing = [path for path in (certificate, key) if path.exists()]
    if existing and not force:
        raise click.ClickException(f"{existing[0]} exists (--force replaces it)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write(key, key_pem, KEY_MODE, force)
        _write(certificate, certificate_pem, 0o644, force)
    except OSError as exc:
        raise click.ClickException(f"{exc.filename}: {exc.strerror}") from None
    if as_json:
        import json

        written = {"certificate": str(certificate), "key": str(key), "names": hosts}
        click.echo(json.dumps(written))
        return
    click.echo(f"# in openfaxd's configuration, a certificate for {', '.join(hosts)}:")
    click.echo("[api]")
    click.echo(f'tls_certificate = "{certificate}"')
    click.echo(f'tls_key = "{key}"')
    click.echo('# listen = "0.0.0.0:4560"  # to serve other machines')
    click.echo(f"# clients: OPENFAX_SERVER=https://{hosts[0]}:4560 OPENFAX_CA_FILE={certificate}")


def _write(path: Path, data: bytes, mode: int, force: bool) -> None:
    """Write ``data`` to a file made with ``mode`` (an existing one only with ``force``, and
    then set to ``mode`` before anything is written to it)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    descriptor = os.open(path, flags, mode)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(descriptor, mode)
        file.write(data)
