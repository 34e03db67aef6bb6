"""``openfax config``: the server configuration of a running openfaxd (FAXCOMEX
``Configuration``), read and changed while it runs; ``openfax extension-property``: the
plug-ins' data; ``openfax providers``: its device providers; ``openfax coverpages``: its
cover pages; ``openfax audit``: its audit trail."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from openfax.cli.fax import connected, plugin_row, print_registration, print_result, print_rows
from openfax.cli.options import json_option, listing, on_server, server_options
from openfax.cli.routing import parse_setting

if TYPE_CHECKING:
    from openfax.client import FaxDevice, FaxServer

PROPERTY_COLUMNS = ("property", "value")
PROVIDER_COLUMNS = ("unique_name", "friendly_name", "image_name", "version", "status", "error")
PROVIDER_OPTIONAL = ("version", "image_name")
"""The columns left out first, in this order, where the terminal is narrow (``--wide``)."""
COVER_PAGE_COLUMNS = ("name", "size", "modified")
AUDIT_COLUMNS = ("seq", "time", "actor", "action", "object_type", "object_id", "details")
AUDIT_OPTIONAL = ("object_type", "seq", "details")


@click.group()
def config() -> None:
    """The server configuration: retries, discount period, branding, archives, queues."""


@config.command("get")
@click.argument("names", nargs=-1)
@on_server
def get_config(server: FaxServer, names: tuple[str, ...], as_json: bool) -> None:
    """Show the configuration (only NAMES when given)."""
    values = server.configuration.to_dict()
    unknown = [name for name in names if name not in values]
    if unknown:
        raise click.ClickException(f"no configuration property {unknown[0]!r}")
    shown = {name: values[name] for name in names or values}
    if as_json:
        import json

        click.echo(json.dumps(shown))
        return
    rows = [{"property": name, "value": value} for name, value in shown.items()]
    print_rows(rows, PROPERTY_COLUMNS, "Configuration", False)


@config.command("set")
@click.argument("settings", nargs=-1, required=True)
@json_option
@server_options
def set_config(
    settings: tuple[str, ...], as_json: bool, server_name: str, token: str | None
) -> None:
    """Change properties with NAME=VALUE (JSON where a number or true/false:
    retries=5 branding=false discount_rate_start=20:00); in force at once."""
    changes = dict(parse_setting(text) for text in settings)
    with connected(server_name, token) as server:
        configuration = server.configuration
        for name, value in changes.items():
            found = getattr(type(configuration), name, None)
            if found is None:
                raise click.ClickException(f"no configuration property {name!r}")
            if not hasattr(found, "__set__"):
                raise click.ClickException(f"the configuration property {name!r} is read-only")
            setattr(configuration, name, value)
        configuration.save()
        values = configuration.to_dict()
    shown = {name: values[name] for name in changes}
    if as_json:
        import json

        click.echo(json.dumps(shown))
        return
    rows = [{"property": name, "value": value} for name, value in shown.items()]
    print_rows(rows, PROPERTY_COLUMNS, "Configuration saved", False)


@click.command()
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Only entries from this UTC time on.",
)
@click.option("--after", type=click.IntRange(min=0), default=0, help="Only entries after this seq.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@listing("Audit trail", AUDIT_COLUMNS, AUDIT_OPTIONAL)
def audit(
    server: FaxServer, since: datetime | None, after: int, limit: int
) -> list[dict[str, Any]]:
    """Show the audit trail: who submitted, viewed, downloaded, cancelled, deleted or
    purged which fax, and who changed the configuration, oldest first."""
    when = None if since is None else since.replace(tzinfo=UTC)
    return [entry.to_dict() for entry in server.get_audit(when, limit, after=after)]


@click.group()
def coverpages() -> None:
    """The server's cover pages (send with --cover NAME)."""


@coverpages.command("list")
@listing("Server cover pages", COVER_PAGE_COLUMNS)
def list_cover_pages(server: FaxServer) -> list[dict[str, Any]]:
    """List the server's cover pages."""
    return [page.to_dict() for page in server.get_cover_pages()]


@coverpages.command("add")
@click.argument("name")
@click.argument("template", type=click.Path(exists=True, dir_okay=False))
@on_server
def add_cover_page(server: FaxServer, name: str, template: str, as_json: bool) -> None:
    """Add TEMPLATE (a cover page template, UTF-8 text) as the cover page NAME."""
    page = server.add_cover_page(name, template)
    print_result(page.to_dict(), f"{page.name}  {page.size} bytes", as_json)


@coverpages.command("remove")
@click.argument("name")
@on_server
def remove_cover_page(server: FaxServer, name: str, as_json: bool) -> None:
    """Remove the cover page NAME."""
    server.remove_cover_page(name)
    print_result({"name": name, "removed": True}, f"{name} removed", as_json)


def device_of(server: FaxServer, device_id: int) -> FaxDevice:
    """The device with id ``device_id``."""
    for found in server.get_devices():
        if found.id == device_id:
            return found
    raise click.ClickException(f"no device has the id {device_id}")


@click.group("extension-property")
def extension_property() -> None:
    """Extension properties: plug-ins' data named by a GUID, server-wide or per device."""


@extension_property.command("get")
@click.argument("guid")
@click.option("--device", type=click.IntRange(min=0), default=0, help="Device id; 0: the server.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the bytes here."
)
@on_server
def get_extension_property(
    server: FaxServer, guid: str, device: int, output: str | None, as_json: bool
) -> None:
    """Show the data of GUID (raw on stdout, base64 with --json)."""
    if device:
        data = device_of(server, device).get_extension_property(guid)
    else:
        data = server.get_extension_property(guid)
    if output is not None:
        Path(output).write_bytes(data)
    elif as_json:
        import base64
        import json

        encoded = base64.b64encode(data).decode("ascii")
        click.echo(json.dumps({"guid": guid, "device_id": device, "data": encoded}))
    else:
        sys.stdout.buffer.write(data)


@extension_property.command("set")
@click.argument("guid")
@click.option("--device", type=click.IntRange(min=0), default=0, help="Device id; 0: the server.")
@click.option("--value", default=None, help="The data, as UTF-8 text.")
@json_option
@click.option(
    "--file",
    "source",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Read the data from this file.",
)
@server_options
def set_extension_property(
    guid: str,
    device: int,
    value: str | None,
    source: str | None,
    as_json: bool,
    server_name: str,
    token: str | None,
) -> None:
    """Set the data of GUID from --value or --file; the plug-in owning it is told."""
    if (value is None) == (source is None):
        raise click.UsageError("give the data with exactly one of --value and --file")
    data = value.encode() if value is not None else Path(str(source)).read_bytes()
    with connected(server_name, token) as server:
        if device:
            device_of(server, device).set_extension_property(guid, data)
        else:
            server.set_extension_property(guid, data)
    row = {"guid": guid, "device_id": device, "size": len(data)}
    print_result(row, f"{guid}: {len(data)} bytes set", as_json)


@click.group()
def providers() -> None:
    """Device providers: the built-in ones and plug-ins (entry points in openfax.providers)."""


@providers.command("list")
@listing("Device providers", PROVIDER_COLUMNS, PROVIDER_OPTIONAL)
def list_providers(server: FaxServer) -> list[dict[str, Any]]:
    """List the device providers as loaded at the server's last start."""
    return [plugin_row(p) | {"device_ids": p.device_ids} for p in server.get_device_providers()]


@providers.command("register")
@click.argument("unique_name")
@click.option("--image", "image_name", required=True, help="Its entry point's name.")
@click.option("--friendly-name", default="", help="A name for people.")
@click.option("--tsp", "tsp_name", default="", help="The telephony provider it goes with.")
@on_server
def register_provider(
    server: FaxServer,
    unique_name: str,
    image_name: str,
    friendly_name: str,
    tsp_name: str,
    as_json: bool,
) -> None:
    """Register a device provider (an entry point in group openfax.providers); it loads when
    openfaxd next starts."""
    server.register_device_provider(unique_name, friendly_name, image_name, tsp_name)
    print_registration(unique_name, True, as_json)


@providers.command("unregister")
@click.argument("unique_name")
@on_server
def unregister_provider(server: FaxServer, unique_name: str, as_json: bool) -> None:
    """Unregister a device provider; its lines are gone when openfaxd next starts."""
    server.unregister_device_provider(unique_name)
    print_registration(unique_name, False, as_json)
