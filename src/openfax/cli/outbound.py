"""``openfax outbound``: the outbound routing groups and rules of a running openfaxd, which
choose the line a fax goes out on by the country and area code of its number.

A DEVICE argument is a line's id or name; a rule's target is ``--device DEVICE`` or
``--group NAME``, and ``--t38 trunk|off|accept|request`` its T.38 policy over SIP (``trunk``:
each trunk's own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from openfax.cli.fax import print_rows
from openfax.cli.options import F, apply_options, listing, on_server

if TYPE_CHECKING:
    from openfax.client import FaxOutboundRoutingGroup, FaxOutboundRoutingRule, FaxServer

GROUP_COLUMNS = ("name", "status", "devices")
RULE_COLUMNS = ("country_code", "area_code", "target", "t38", "status")
T38_CHOICES = ("trunk", "off", "accept", "request")


def group_arguments(command: F) -> F:
    """Add NAME and DEVICES (ids or names, in order): a group and its lines."""
    return apply_options(command, [click.argument("name"), click.argument("devices", nargs=-1)])


def rule_arguments(command: F) -> F:
    """Add COUNTRY_CODE and AREA_CODE: which rule."""
    return apply_options(
        command,
        [
            click.argument("country_code", type=click.IntRange(min=0)),
            click.argument("area_code", type=click.IntRange(min=0)),
        ],
    )


def rule_target_options(command: F) -> F:
    """Add --device or --group (where a rule's faxes go out) and --t38 (its policy)."""
    return apply_options(
        command,
        [
            click.option("--device", default=None, help="Send through this line (id or name)."),
            click.option("--group", default=None, help="Send through this group's lines."),
            click.option(
                "--t38",
                "t38",
                type=click.Choice(T38_CHOICES),
                default=None,
                help="T.38 over SIP for this rule's faxes (trunk: each trunk's own policy).",
            ),
        ],
    )


def group_row(group: FaxOutboundRoutingGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "status": group.status.name,
        "devices": ", ".join(str(d) for d in group.device_ids),
        "device_ids": list(group.device_ids),
    }


def rule_row(rule: FaxOutboundRoutingRule) -> dict[str, Any]:
    target = f"device {rule.device_id}" if rule.use_device else f"group {rule.group_name}"
    return {
        "country_code": rule.country_code,
        "area_code": rule.area_code,
        "target": target,
        "t38": rule.t38_policy,
        "status": rule.status.name,
        "use_device": rule.use_device,
        "group_name": rule.group_name,
        "device_id": rule.device_id,
    }


def device_id(server: FaxServer, device: str) -> int:
    """The id of the line whose id or name is ``device``."""
    for line in server.get_devices():
        if device in (str(line.id), line.device_name):
            return line.id
    raise click.ClickException(f"no device has the id or name {device!r}")


def show(rows: list[dict[str, Any]], columns: tuple[str, ...], title: str, as_json: bool) -> None:
    """One changed group or rule: a table row, or its JSON object."""
    if as_json:
        import json

        click.echo(json.dumps(rows[0]))
    else:
        print_rows(rows, columns, title, as_json)


def rule_target(server: FaxServer, device: str | None, group: str | None) -> dict[str, Any]:
    """``Rules.Add``'s target arguments from ``--device`` / ``--group`` (exactly one)."""
    if (device is None) == (group is None):
        raise click.UsageError("give a rule either --device or --group")
    if device is not None:
        return {"use_device": True, "device_id": device_id(server, device)}
    return {"use_device": False, "group_name": group}


@click.group()
def outbound() -> None:
    """Outbound routing: groups of lines and rules by country and area code."""


@outbound.group()
def groups() -> None:
    """Groups: ordered lists of lines (<All Devices> holds every line)."""


@groups.command(name="list")
@listing("Outbound routing groups", GROUP_COLUMNS)
def list_groups(server: FaxServer) -> list[dict[str, Any]]:
    """List the groups and their lines, in the order a fax tries them."""
    return [group_row(g) for g in server.outbound_routing.get_groups()]


@groups.command(name="add")
@group_arguments
@on_server
def add_group(server: FaxServer, name: str, devices: tuple[str, ...], as_json: bool) -> None:
    """Add the group NAME with DEVICES (ids or names) in order."""
    ids = [device_id(server, d) for d in devices]
    group = server.outbound_routing.get_groups().add(name)
    if ids:
        group.device_ids.set(ids)
    row = group_row(group)
    show([row], GROUP_COLUMNS, "Outbound routing group", as_json)


@groups.command(name="set")
@group_arguments
@on_server
def set_group(server: FaxServer, name: str, devices: tuple[str, ...], as_json: bool) -> None:
    """Give the group NAME exactly DEVICES (ids or names), in order (none: empty it)."""
    group = server.outbound_routing.get_groups().item(name)
    group.device_ids.set([device_id(server, d) for d in devices])
    row = group_row(group)
    show([row], GROUP_COLUMNS, "Outbound routing group", as_json)


@groups.command(name="remove")
@click.argument("name")
@on_server
def remove_group(server: FaxServer, name: str, as_json: bool) -> None:
    """Remove the group NAME (not while a rule sends to it)."""
    server.outbound_routing.get_groups().remove(name)
    show([{"name": name, "removed": True}], ("name", "removed"), "Removed", as_json)


@outbound.group()
def rules() -> None:
    """Rules: faxes to a country and area code (0: any) go out through a group or a line."""


@rules.command(name="list")
@listing("Outbound routing rules", RULE_COLUMNS)
def list_rules(server: FaxServer) -> list[dict[str, Any]]:
    """List the rules, the default one (0/0) first."""
    return [rule_row(r) for r in server.outbound_routing.get_rules()]


@rules.command(name="for")
@click.argument("number")
@on_server
def rule_for(server: FaxServer, number: str, as_json: bool) -> None:
    """Show the rule a fax to NUMBER follows now (the most specific one)."""
    row = rule_row(server.outbound_routing.rule_for(number))
    show([row], RULE_COLUMNS, f"Outbound routing rule for {number}", as_json)


@rules.command(name="add")
@rule_arguments
@rule_target_options
@on_server
def add_rule(
    server: FaxServer,
    country_code: int,
    area_code: int,
    device: str | None,
    group: str | None,
    t38: str | None,
    as_json: bool,
) -> None:
    """Add a rule: faxes to COUNTRY_CODE and AREA_CODE (0: any) go out as it says."""
    target = rule_target(server, device, group)
    rules = server.outbound_routing.get_rules()
    rule = rules.add(country_code, area_code, **target, t38_policy=t38 or "trunk")
    row = rule_row(rule)
    show([row], RULE_COLUMNS, "Outbound routing rule", as_json)


@rules.command(name="set")
@rule_arguments
@rule_target_options
@on_server
def set_rule(
    server: FaxServer,
    country_code: int,
    area_code: int,
    device: str | None,
    group: str | None,
    t38: str | None,
    as_json: bool,
) -> None:
    """Point an existing rule (0 0: the default one) at a line or a group, or change its
    T.38 policy (--t38 alone keeps its target)."""
    retarget = device is not None or group is not None or t38 is None
    target = rule_target(server, device, group) if retarget else {}
    rule = server.outbound_routing.get_rules().item_by_country_and_area(country_code, area_code)
    if target:
        rule.use_device = target["use_device"]
        rule.device_id = target.get("device_id", 0)
        rule.group_name = target.get("group_name", "")
    if t38 is not None:
        rule.t38_policy = t38
    rule.save()
    row = rule_row(rule)
    show([row], RULE_COLUMNS, "Outbound routing rule", as_json)


@rules.command(name="remove")
@rule_arguments
@on_server
def remove_rule(server: FaxServer, country_code: int, area_code: int, as_json: bool) -> None:
    """Remove the rule for COUNTRY_CODE and AREA_CODE (not the default one)."""
    server.outbound_routing.get_rules().remove_by_country_and_area(country_code, area_code)
    row = {"country_code": country_code, "area_code": area_code, "removed": True}
    show([row], ("country_code", "area_code", "removed"), "Removed", as_json)
