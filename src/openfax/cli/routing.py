"""``openfax routing``: the inbound routing methods and extensions of a running openfaxd,
their configuration per line, and the deliveries of received faxes.

A METHOD argument is a method's GUID (braces optional) or its name (``Folder``, ``Email``,
``Printer``, ``Webhook``, or a plug-in's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from openfax.cli.fax import (
    connected,
    plugin_row,
    print_registration,
    print_result,
    print_rows,
    retry_row,
)
from openfax.cli.options import json_option, listing, on_server, server_options

if TYPE_CHECKING:
    from openfax.client import FaxInboundRoutingMethod, FaxServer

METHOD_COLUMNS = ("priority", "guid", "name", "friendly_name", "extension")
EXTENSION_COLUMNS = ("unique_name", "friendly_name", "image_name", "version", "status", "error")
EXTENSION_OPTIONAL = ("version", "image_name")
"""The columns left out first, in this order, where the terminal is narrow (``--wide``)."""
DELIVERY_COLUMNS = ("id", "message", "method", "status", "attempts", "next_attempt", "error")
DELIVERY_OPTIONAL = ("attempts", "next_attempt", "message")


def find_method(server: FaxServer, key: str) -> FaxInboundRoutingMethod:
    """The method whose GUID or name is ``key``."""
    wanted = key.strip().strip("{}").lower()
    for method in server.inbound_routing.get_methods():
        if wanted in (method.guid.strip("{}"), method.name.lower()):
            return method
    raise click.ClickException(f"no inbound routing method has the GUID or name {key!r}")


def parse_setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``; the value is read as JSON when it is JSON (numbers, true, lists), else
    taken as a string."""
    import json

    key, equals, value = text.partition("=")
    if not equals or not key:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


@click.group()
def routing() -> None:
    """Inbound routing: methods, extensions, configurations and deliveries."""


@routing.command()
@listing("Inbound routing methods", METHOD_COLUMNS)
def methods(server: FaxServer) -> list[dict[str, Any]]:
    """List the routing methods by priority (1 runs first)."""
    return [
        {
            "priority": m.priority,
            "guid": m.guid,
            "name": m.name,
            "friendly_name": m.friendly_name,
            "extension": m.extension_unique_name,
        }
        for m in server.inbound_routing.get_methods()
    ]


@routing.command()
@listing("Inbound routing extensions", EXTENSION_COLUMNS, EXTENSION_OPTIONAL)
def extensions(server: FaxServer) -> list[dict[str, Any]]:
    """List the routing extensions as loaded at the server's last start."""
    return [plugin_row(e) for e in server.inbound_routing.get_extensions()]


@routing.command()
@click.argument("method")
@click.argument("priority", type=click.IntRange(min=1))
@on_server
def priority(server: FaxServer, method: str, priority: int, as_json: bool) -> None:
    """Move METHOD to PRIORITY (1 runs first); the others close up."""
    found = find_method(server, method)
    found.priority = priority
    found.save()
    row = {"guid": found.guid, "name": found.name, "priority": found.priority}
    print_result(row, f"{row['guid']}  {row['name']}  priority {row['priority']}", as_json)


@routing.command()
@click.argument("device")
@click.argument("method")
@click.option("--off", is_flag=True, help="Stop using the method on the line.")
@on_server
def use(server: FaxServer, device: str, method: str, off: bool, as_json: bool) -> None:
    """Use METHOD on the faxes DEVICE (a line's id or name) receives."""
    lines = [d for d in server.get_devices() if device in (str(d.id), d.device_name)]
    if not lines:
        raise click.ClickException(f"no device has the id or name {device!r}")
    (line,) = lines
    line.use_routing_method(find_method(server, method).guid, not off)
    used = list(line.used_routing_methods)
    row = {"device_id": line.id, "device_name": line.device_name, "used_routing_methods": used}
    print_result(row, f"{line.device_name}: {', '.join(used) or 'no methods'}", as_json)


@routing.command()
@click.argument("method")
@click.argument("settings", nargs=-1)
@click.option("--device", type=int, default=0, show_default=True, help="Line id; 0: every line.")
@click.option("--clear", is_flag=True, help="Forget the configuration (then set SETTINGS).")
@json_option
@server_options
def config(
    method: str,
    settings: tuple[str, ...],
    device: int,
    clear: bool,
    as_json: bool,
    server_name: str,
    token: str | None,
) -> None:
    """Show METHOD's configuration, or change it with KEY=VALUE settings (values in JSON
    where they are numbers, true/false or lists: recipients='["a@example.com"]'); a table of
    the settings, or with --json the configuration object (null when there is none)."""
    import json

    changes = dict(parse_setting(text) for text in settings)
    with connected(server_name, token) as server:
        found = find_method(server, method)
        if clear:
            found.delete_configuration(device)
        current = found.get_configuration(device)
        if changes:
            current = found.set_configuration({**(current or {}), **changes}, device)
    if as_json:
        click.echo(json.dumps(current))
        return
    rows = [{"key": k, "value": json.dumps(v)} for k, v in (current or {}).items()]
    print_rows(rows, ("key", "value"), f"{found.name} on device {device}", as_json)


@routing.command()
@click.option("--failed", is_flag=True, help="Only those that failed for good.")
@click.option("--message", "message_id", default=None, help="Only those of one received fax.")
@listing("Routing deliveries", DELIVERY_COLUMNS, DELIVERY_OPTIONAL)
def deliveries(server: FaxServer, failed: bool, message_id: str | None) -> list[dict[str, Any]]:
    """List deliveries of received faxes to their routing methods."""
    found = server.inbound_routing.get_deliveries(
        status="failed" if failed else None, message_id=message_id
    )
    return [
        {"id": d.id, "message": d.message_id, "method": d.method_name or d.method, **retry_row(d)}
        for d in found
    ]


@routing.command()
@click.argument("delivery_id")
@on_server
def resend(server: FaxServer, delivery_id: str, as_json: bool) -> None:
    """Run a failed delivery again, with fresh retries."""
    for delivery in server.inbound_routing.get_deliveries(status="failed", limit=1000):
        if delivery.id == delivery_id.lower():
            delivery.resend()
            row = {"id": delivery.id, "status": delivery.status}
            print_result(row, f"{delivery.id}  {delivery.status}", as_json)
            return
    raise click.ClickException(f"no failed delivery has the id {delivery_id}")


@routing.command()
@click.argument("unique_name")
@click.option("--image", "image_name", required=True, help="Its entry point's name.")
@click.option("--friendly-name", default="", help="A name for people.")
@click.option(
    "--method",
    "methods",
    multiple=True,
    required=True,
    help='"Name;FriendlyName;FunctionName;{GUID}"; repeat for more.',
)
@on_server
def register(
    server: FaxServer,
    unique_name: str,
    image_name: str,
    friendly_name: str,
    methods: tuple[str, ...],
    as_json: bool,
) -> None:
    """Register a routing extension (an entry point in group openfax.routing_methods); it
    loads when openfaxd next starts."""
    server.register_inbound_routing_extension(unique_name, friendly_name, image_name, list(methods))
    print_registration(unique_name, True, as_json)


@routing.command()
@click.argument("unique_name")
@on_server
def unregister(server: FaxServer, unique_name: str, as_json: bool) -> None:
    """Unregister a routing extension; it is gone when openfaxd next starts."""
    server.unregister_inbound_routing_extension(unique_name)
    print_registration(unique_name, False, as_json)
