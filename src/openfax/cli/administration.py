"""``openfax config``: the server configuration of a running openfaxd (FAXCOMEX
``Configuration``), read and changed while it runs."""

from __future__ import annotations

import click

from openfax.cli.options import json_option, server_options
from openfax.cli.routing import connected, parse_setting, print_rows

PROPERTY_COLUMNS = ("property", "value")


@click.group()
def config() -> None:
    """The server configuration: retries, discount period, branding, archives, queues."""


@config.command("get")
@click.argument("names", nargs=-1)
@json_option
@server_options
def get_config(names: tuple[str, ...], as_json: bool, server_name: str, token: str | None) -> None:
    """Show the configuration (only NAMES when given)."""
    with connected(server_name, token) as server:
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
