"""Outbound routing: which lines may send a job, by the country and area code it is sent to.

Groups are ordered lists of device ids, stored; the built-in ``<All Devices>`` group holds
every device by id and cannot be changed. Rules send a country code and an area code (0: any)
to one device or to a group; the default rule (any country, any area) always exists, sends to
``<All Devices>`` at first, and can be pointed elsewhere but not removed. The most specific
rule wins: the country with the longest matching area code, then the country with any area,
then the default rule (:func:`openfax.service.country_codes.split_number` reads the number).

A device is *valid* when it is known to the store and allowed to send (``send_enabled``); a
barred device counts as not valid, like an offline one in FAXCOMEX. The scheduler gives a job
to the first free valid device of its rule's list, in the group's order; a job whose rule has
no valid device waits in the queue until a rule, a group or a device changes. A rule to
``<All Devices>`` leaves the choice to the scheduler's usual spreading over free lines.

A rule also carries a T.38 policy for the calls it sends (an OpenFax extension, COM name
``T38Policy``): ``trunk`` (the default: each SIP trunk's own policy), or ``off``, ``accept``
or ``request``, which the scheduler passes to the device in the call's
:class:`~openfax.providers.SendRequest` (loopback lines ignore it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Literal, cast, get_args

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import (
    BadGroupConfigurationError,
    ConfigError,
    GroupInUseError,
    GroupNotFoundError,
    InvalidOperationError,
    RuleNotFoundError,
)
from openfax.model import GROUP_NAME_ALL_DEVICES, GroupStatus, RoutingRuleCode, RuleStatus
from openfax.model.events import ConfigChanged
from openfax.providers import T38Policy
from openfax.service.config_file import OutgoingConfig
from openfax.service.context import ServiceContext
from openfax.service.country_codes import split_number
from openfax.store import Device, OutboundGroup, OutboundRule
from openfax.store import queries as q

ANY = RoutingRuleCode.ANY_CODE
SOURCE = "outbound routing"
GROUPS_CHANGED = ConfigChanged(outbound_routing="groups")
RULES_CHANGED = ConfigChanged(outbound_routing="rules")
"""The payloads of the CONFIG_CHANGED events (OnOutboundRouting{Groups,Rules}ConfigChange)."""
MAX_GROUP_NAME = 200
"""The longest group name the store holds."""
DEFAULT_RULE = OutboundRule(country_code=ANY, area_code=ANY, group_name=GROUP_NAME_ALL_DEVICES)
RuleT38Policy = Literal["trunk", "off", "accept", "request"]
"""A rule's T.38 policy: ``trunk`` leaves it to each trunk, the others override it."""
RULE_T38_POLICIES: tuple[str, ...] = get_args(RuleT38Policy)


@dataclass(frozen=True)
class GroupInfo:
    """FAXCOMEX ``FaxOutboundRoutingGroup``: a group, its devices in order and its status."""

    name: str
    device_ids: list[int]
    status: GroupStatus


@dataclass(frozen=True)
class RuleInfo:
    """FAXCOMEX ``FaxOutboundRoutingRule``: a rule, where it sends and whether it can."""

    country_code: int
    area_code: int
    use_device: bool
    group_name: str
    device_id: int
    status: RuleStatus
    t38_policy: RuleT38Policy = "trunk"
    """An OpenFax extension: the T.38 policy of the rule's calls (``trunk``: each trunk's)."""


def check_t38_policy(value: str) -> RuleT38Policy:
    """``value`` as a rule's T.38 policy; ConfigError naming it when it is none."""
    if value not in RULE_T38_POLICIES:
        choices = ", ".join(RULE_T38_POLICIES)
        raise ConfigError(SOURCE, "t38_policy", f"must be one of {choices}, not {value!r}")
    return cast(RuleT38Policy, value)


class Routes:
    """The rules, groups and devices at one moment: what decides where a job may go."""

    def __init__(
        self,
        rules: Iterable[OutboundRule],
        groups: Iterable[OutboundGroup],
        devices: Iterable[Device],
        outgoing: OutgoingConfig,
    ) -> None:
        rules, groups = list(rules), list(groups)
        self.stored = (rules, groups)
        """The rules and groups as read, to tell whether the store's have changed since."""
        self.rules = {(r.country_code, r.area_code): r for r in rules}
        self.rules.setdefault((ANY, ANY), DEFAULT_RULE)
        self.devices = {d.id: d for d in devices}
        self.groups = {g.name: g.device_ids for g in groups}
        self.groups[GROUP_NAME_ALL_DEVICES] = sorted(self.devices)
        self.outgoing = outgoing

    @property
    def restricted(self) -> bool:
        """Whether any rule sends elsewhere than ``<All Devices>``."""
        return any(r.group_name != GROUP_NAME_ALL_DEVICES for r in self.rules.values())

    def valid(self, device_id: int) -> bool:
        device = self.devices.get(device_id)
        return device is not None and device.send_enabled

    def rule_for(self, number: str) -> OutboundRule:
        """The most specific rule for a fax number."""
        country, national = split_number(
            number,
            own_country=self.outgoing.country_code,
            international_prefix=self.outgoing.international_prefix,
        )
        if country != ANY:
            areas = [
                r
                for (c, a), r in self.rules.items()
                if c == country and a != ANY and national.startswith(str(a))
            ]
            if areas:
                return max(areas, key=lambda r: len(str(r.area_code)))
            if (country, ANY) in self.rules:
                return self.rules[country, ANY]
        return self.rules[ANY, ANY]

    def devices_for(self, number: str) -> list[int] | None:
        """The valid devices a job to ``number`` may use, in order; None: any device."""
        rule = self.rule_for(number)
        if rule.group_name == GROUP_NAME_ALL_DEVICES:
            return None
        targets = [rule.device_id] if rule.device_id is not None else self.group(rule)
        return [d for d in targets if self.valid(d)]

    def may_send(self, number: str, device_id: int, free: Collection[int]) -> bool:
        """Whether ``device_id`` is the device to send to ``number`` now: the first of the
        number's valid devices among the ``free`` ones."""
        allowed = self.devices_for(number)
        if allowed is None:
            return True
        first_free = next((d for d in allowed if d in free), None)
        return first_free == device_id

    def group(self, rule: OutboundRule) -> list[int]:
        return self.groups.get(rule.group_name or "", [])

    def group_status(self, device_ids: list[int]) -> GroupStatus:
        valid = sum(self.valid(d) for d in device_ids)
        if not device_ids:
            return GroupStatus.EMPTY
        if valid == 0:
            return GroupStatus.ALL_DEV_NOT_VALID
        if valid < len(device_ids):
            return GroupStatus.SOME_DEV_NOT_VALID
        return GroupStatus.ALL_DEV_VALID

    def rule_status(self, rule: OutboundRule) -> RuleStatus:
        if rule.device_id is not None:
            return RuleStatus.VALID if self.valid(rule.device_id) else RuleStatus.BAD_DEVICE
        return {
            GroupStatus.ALL_DEV_VALID: RuleStatus.VALID,
            GroupStatus.EMPTY: RuleStatus.EMPTY_GROUP,
            GroupStatus.ALL_DEV_NOT_VALID: RuleStatus.ALL_GROUP_DEV_NOT_VALID,
            GroupStatus.SOME_DEV_NOT_VALID: RuleStatus.SOME_GROUP_DEV_NOT_VALID,
        }[self.group_status(self.group(rule))]

    def group_info(self, name: str) -> GroupInfo:
        ids = self.groups[name]
        return GroupInfo(name, list(ids), self.group_status(ids))

    def rule_info(self, rule: OutboundRule) -> RuleInfo:
        return RuleInfo(
            rule.country_code,
            rule.area_code,
            use_device=rule.device_id is not None,
            group_name=rule.group_name or "",
            device_id=rule.device_id or 0,
            status=self.rule_status(rule),
            t38_policy=cast(RuleT38Policy, rule.t38_policy or "trunk"),
        )


async def load_routes(conn: AsyncConnection, outgoing: OutgoingConfig) -> Routes:
    """The routes as the store holds them now."""
    return Routes(
        await q.list_outbound_rules(conn),
        await q.list_outbound_groups(conn),
        await q.list_devices(conn),
        outgoing,
    )


async def routes_changed(conn: AsyncConnection, routes: Routes) -> bool:
    """Whether the store's rules or groups differ from those ``routes`` were read from."""
    stored = (await q.list_outbound_rules(conn), await q.list_outbound_groups(conn))
    return stored != routes.stored


async def t38_policy_for(
    conn: AsyncConnection, outgoing: OutgoingConfig, number: str
) -> T38Policy | None:
    """The T.38 policy the rule for ``number`` gives its call; None: the trunk decides."""
    rule = Routes(await q.list_outbound_rules(conn), (), (), outgoing).rule_for(number)
    return cast(T38Policy | None, rule.t38_policy)


class OutboundRouting:
    """FAXCOMEX ``FaxOutboundRouting``: the groups and rules, changed in the store."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def _routes(self) -> Routes:
        async with self.ctx.db.read() as conn:
            return await load_routes(conn, self.ctx.config.outgoing)

    # --- groups -------------------------------------------------------------------------------

    async def get_groups(self) -> list[GroupInfo]:
        """Every group, ``<All Devices>`` first, then by name."""
        routes = await self._routes()
        names = sorted(routes.groups, key=lambda n: (n != GROUP_NAME_ALL_DEVICES, n))
        return [routes.group_info(name) for name in names]

    async def get_group(self, name: str) -> GroupInfo:
        routes = await self._routes()
        if name not in routes.groups:
            raise GroupNotFoundError(f"no outbound routing group {name!r}")
        return routes.group_info(name)

    async def add_group(self, name: str) -> GroupInfo:
        """FAXCOMEX ``Groups.Add``: a new empty group. Its name is printable, at most
        ``MAX_GROUP_NAME`` characters and without ``/`` (it goes in the API's paths)."""
        if (
            not name.strip()
            or name == GROUP_NAME_ALL_DEVICES
            or len(name) > MAX_GROUP_NAME
            or "/" in name
            or not name.isprintable()
        ):
            raise InvalidOperationError(f"a group cannot be named {name!r}")
        async with self.ctx.hub.transaction() as conn:
            if any(g.name == name for g in await q.list_outbound_groups(conn)):
                raise InvalidOperationError(f"the outbound routing group {name!r} exists already")
            await q.put_outbound_group(conn, OutboundGroup(name=name))
            await self.ctx.hub.emit(conn, GROUPS_CHANGED)
        return await self.get_group(name)

    async def remove_group(self, name: str) -> None:
        """FAXCOMEX ``Groups.Remove``: not ``<All Devices>``, nor a group a rule uses."""
        self._check_changeable(name)
        async with self.ctx.hub.transaction() as conn:
            users = [r for r in await q.list_outbound_rules(conn) if r.group_name == name]
            if users:
                codes = ", ".join(f"{r.country_code}/{r.area_code}" for r in users)
                raise GroupInUseError(f"the group {name!r} is used by the rules {codes}")
            if not await q.delete_outbound_group(conn, name):
                raise GroupNotFoundError(f"no outbound routing group {name!r}")
            await self.ctx.hub.emit(conn, GROUPS_CHANGED)
        self.ctx.wake_scheduler.set()

    async def set_device_ids(self, name: str, device_ids: list[int]) -> GroupInfo:
        """Replace a group's devices (in the order given); each must be a known device."""
        return await self._change_group(name, lambda _: list(device_ids))

    async def add_device(self, name: str, device_id: int) -> GroupInfo:
        """FAXCOMEX ``DeviceIds.Add``: the device goes last."""
        return await self._change_group(name, lambda ids: [*ids, device_id])

    async def remove_device(self, name: str, index: int) -> GroupInfo:
        """FAXCOMEX ``DeviceIds.Remove``: the device at ``index`` (from 1) leaves the group."""

        def remove(ids: list[int]) -> list[int]:
            if not 1 <= index <= len(ids):
                raise ConfigError(SOURCE, "index", f"{index} is not in 1..{len(ids)}")
            return ids[: index - 1] + ids[index:]

        return await self._change_group(name, remove)

    async def set_order(self, name: str, device_id: int, order: int) -> GroupInfo:
        """FAXCOMEX ``DeviceIds.SetOrder``: the device moves to place ``order`` (from 1)."""

        def move(ids: list[int]) -> list[int]:
            if device_id not in ids:
                raise ConfigError(SOURCE, "device_id", f"device {device_id} is not in {name!r}")
            if not 1 <= order <= len(ids):
                raise ConfigError(SOURCE, "order", f"{order} is not in 1..{len(ids)}")
            rest = [d for d in ids if d != device_id]
            return [*rest[: order - 1], device_id, *rest[order - 1 :]]

        return await self._change_group(name, move)

    def _check_changeable(self, name: str) -> None:
        if name == GROUP_NAME_ALL_DEVICES:
            raise InvalidOperationError(f"the group {GROUP_NAME_ALL_DEVICES} cannot be changed")

    async def _change_group(self, name: str, change: Callable[[list[int]], list[int]]) -> GroupInfo:
        self._check_changeable(name)
        async with self.ctx.hub.transaction() as conn:
            group = next((g for g in await q.list_outbound_groups(conn) if g.name == name), None)
            if group is None:
                raise GroupNotFoundError(f"no outbound routing group {name!r}")
            ids = change(list(group.device_ids))
            if len(set(ids)) != len(ids):
                raise BadGroupConfigurationError(f"a device is twice in the group {name!r}: {ids}")
            await self._check_devices(conn, ids)
            await q.put_outbound_group(conn, OutboundGroup(name=name, device_ids=ids))
            await self.ctx.hub.emit(conn, GROUPS_CHANGED)
        self.ctx.wake_scheduler.set()
        return await self.get_group(name)

    async def _check_devices(self, conn: AsyncConnection, device_ids: Iterable[int]) -> None:
        known = {d.id for d in await q.list_devices(conn)}
        unknown = [d for d in device_ids if d not in known]
        if unknown:
            raise ConfigError(SOURCE, "device_id", f"no device with id {unknown[0]}")

    # --- rules --------------------------------------------------------------------------------

    async def get_rules(self) -> list[RuleInfo]:
        """Every rule, by country code then area code (the default rule first)."""
        routes = await self._routes()
        return [routes.rule_info(routes.rules[key]) for key in sorted(routes.rules)]

    async def get_rule(self, country_code: int, area_code: int) -> RuleInfo:
        """FAXCOMEX ``Rules.ItemByCountryAndArea``."""
        routes = await self._routes()
        rule = routes.rules.get((country_code, area_code))
        if rule is None:
            raise RuleNotFoundError(f"no outbound routing rule for {country_code}/{area_code}")
        return routes.rule_info(rule)

    async def rule_for(self, number: str) -> RuleInfo:
        """The rule a job to ``number`` follows."""
        routes = await self._routes()
        return routes.rule_info(routes.rule_for(number))

    async def add_rule(
        self,
        country_code: int,
        area_code: int,
        *,
        group_name: str = "",
        device_id: int = 0,
        t38_policy: str | None = None,
    ) -> RuleInfo:
        """FAXCOMEX ``Rules.Add``: to one device when ``device_id`` is given, else to a group;
        ``t38_policy`` (None: ``trunk``) as :data:`RuleT38Policy`."""
        return await self._put_rule(
            country_code, area_code, group_name, device_id, t38_policy, new=True
        )

    async def save_rule(
        self,
        country_code: int,
        area_code: int,
        *,
        group_name: str = "",
        device_id: int = 0,
        t38_policy: str | None = None,
    ) -> RuleInfo:
        """FAXCOMEX ``Rule.Save``: point an existing rule (the default one too) elsewhere;
        ``t38_policy`` None keeps the rule's."""
        return await self._put_rule(
            country_code, area_code, group_name, device_id, t38_policy, new=False
        )

    async def remove_rule(self, country_code: int, area_code: int) -> None:
        """FAXCOMEX ``Rules.RemoveByCountryAndArea``; the default rule cannot be removed."""
        if (country_code, area_code) == (ANY, ANY):
            raise InvalidOperationError("the default outbound routing rule cannot be removed")
        async with self.ctx.hub.transaction() as conn:
            if not await q.delete_outbound_rule(conn, country_code, area_code):
                raise RuleNotFoundError(f"no outbound routing rule for {country_code}/{area_code}")
            await self.ctx.hub.emit(conn, RULES_CHANGED)
        self.ctx.wake_scheduler.set()

    async def _put_rule(
        self,
        country_code: int,
        area_code: int,
        group_name: str,
        device_id: int,
        t38_policy: str | None,
        *,
        new: bool,
    ) -> RuleInfo:
        if t38_policy is not None:
            check_t38_policy(t38_policy)
        if country_code < 0 or area_code < 0:
            raise ConfigError(SOURCE, "country_code", "country and area codes cannot be negative")
        if country_code == ANY and area_code != ANY:
            raise ConfigError(SOURCE, "area_code", "an area code needs a country code")
        if bool(group_name) == bool(device_id):
            raise ConfigError(SOURCE, "group_name", "a rule sends to a group or to a device")
        key = (country_code, area_code)
        async with self.ctx.hub.transaction() as conn:
            routes = await load_routes(conn, self.ctx.config.outgoing)
            if new and key in routes.rules:
                raise InvalidOperationError(
                    f"an outbound routing rule for {country_code}/{area_code} exists already"
                )
            if not new and key not in routes.rules:
                raise RuleNotFoundError(f"no outbound routing rule for {country_code}/{area_code}")
            if group_name and group_name not in routes.groups:
                raise GroupNotFoundError(f"no outbound routing group {group_name!r}")
            if device_id:
                await self._check_devices(conn, [device_id])
            if t38_policy is None:
                kept = routes.rules.get(key)
                t38_policy = kept.t38_policy if kept is not None else None
            rule = OutboundRule(
                country_code=country_code,
                area_code=area_code,
                group_name=group_name or None,
                device_id=device_id or None,
                t38_policy=None if t38_policy == "trunk" else t38_policy,
            )
            await q.put_outbound_rule(conn, rule)
            await self.ctx.hub.emit(conn, RULES_CHANGED)
        self.ctx.wake_scheduler.set()
        return await self.get_rule(country_code, area_code)
