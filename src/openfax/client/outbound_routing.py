"""FAXCOMEX ``FaxOutboundRouting``: groups of lines and the rules that send faxes, by country
and area code, through a group or one line (``docs/design/outbound-routing.md``).

Groups and their device lists change on the server at once (``Groups.Add``,
``DeviceIds.Add/Remove/SetOrder``, as in FAXCOMEX); a rule's target is changed on the object
and sent by ``save()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from openfax.client._records import Collection, Editable, Field, Record, segment
from openfax.client.routing import send_json
from openfax.errors import GroupNotFoundError
from openfax.model import GroupStatus, RuleStatus

if TYPE_CHECKING:
    from openfax.client._connection import Connection

_GROUPS = "/outbound-routing/groups"
_RULES = "/outbound-routing/rules"


def _group_path(name: str) -> str:
    return f"{_GROUPS}/{segment(name)}"


def _rule_path(country_code: int, area_code: int) -> str:
    return f"{_RULES}/{int(country_code)}/{int(area_code)}"


class FaxDeviceIds:
    """FAXCOMEX ``FaxDeviceIds``: a group's device ids in the order a job tries them; 1-based
    ``item(i)``, ``count``, iteration. Changes go to the server at once."""

    def __init__(self, group: FaxOutboundRoutingGroup) -> None:
        self._group = group

    @property
    def _ids(self) -> list[int]:
        ids: list[int] = self._group._data["device_ids"]
        return ids

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._ids))

    def __getitem__(self, index: int) -> int:
        return self.item(index)

    def item(self, index: int) -> int:
        """FAXCOMEX ``Item(index)``: the device id at 1-based ``index``."""
        if not 1 <= index <= len(self._ids):
            raise IndexError(f"position {index} is not in 1..{len(self._ids)}")
        return self._ids[index - 1]

    @property
    def count(self) -> int:
        return len(self._ids)

    def add(self, device_id: int) -> None:
        """FAXCOMEX ``Add(id)``: the device goes last (ConfigError for an unknown device,
        InvalidOperationError on ``<All Devices>``)."""
        self._group._change("POST", "/devices", {"device_id": device_id})

    def remove(self, index: int) -> None:
        """FAXCOMEX ``Remove(index)``: the device at 1-based ``index`` leaves the group."""
        self._group._change("DELETE", f"/devices/{int(index)}")

    def set_order(self, device_id: int, new_order: int) -> None:
        """FAXCOMEX ``SetOrder(id, order)``: the device moves to ``new_order`` (from 1), the
        others close up."""
        self._group._change("POST", "/order", {"device_id": device_id, "order": new_order})

    def set(self, device_ids: list[int]) -> None:
        """Replace the devices at once, in the order given."""
        self._group._change("PUT", "/devices", {"device_ids": list(device_ids)})

    def __repr__(self) -> str:
        return f"<FaxDeviceIds {self._ids}>"


class FaxOutboundRoutingGroup(Record):
    """FAXCOMEX ``FaxOutboundRoutingGroup``."""

    name = Field[str]()
    status = Field(GroupStatus)
    """Whether its devices can send (``ALL_DEV_VALID`` ... ``EMPTY``)."""

    def __init__(self, connection: Connection, data: dict[str, Any]) -> None:
        super().__init__(data)
        self._connection = connection

    @property
    def device_ids(self) -> FaxDeviceIds:
        """FAXCOMEX ``DeviceIds``."""
        return FaxDeviceIds(self)

    def refresh(self) -> None:
        """Read the group again."""
        self._data = self._connection.get(_group_path(self.name))

    def _change(self, method: str, suffix: str, body: Any = None) -> None:
        self._data = send_json(self._connection, method, _group_path(self.name) + suffix, body)

    def __repr__(self) -> str:
        return f"<FaxOutboundRoutingGroup {self.name!r} {list(self.device_ids)}>"


class FaxOutboundRoutingGroups(Collection[FaxOutboundRoutingGroup]):
    """FAXCOMEX ``FaxOutboundRoutingGroups``: ``item(i)`` from 1 or ``item(name)``; ``add`` and
    ``remove`` change the server and this collection."""

    def __init__(self, connection: Connection) -> None:
        found = connection.get(_GROUPS)
        groups = [FaxOutboundRoutingGroup(connection, data) for data in found]
        super().__init__(groups, key=lambda group: group.name)
        self._connection = connection

    def item(self, key: int | str) -> FaxOutboundRoutingGroup:
        """FAXCOMEX ``Item(index or name)``: GroupNotFoundError for a name no group has."""
        try:
            return super().item(key)
        except KeyError:
            raise GroupNotFoundError(f"no outbound routing group {key!r}") from None

    def add(self, name: str) -> FaxOutboundRoutingGroup:
        """FAXCOMEX ``Add(name)``: a new empty group (InvalidOperationError if one has the name)."""
        data = send_json(self._connection, "POST", _GROUPS, {"name": name})
        group = FaxOutboundRoutingGroup(self._connection, data)
        self._items.append(group)
        self._count = len(self._items)
        return group

    def remove(self, index_or_name: int | str) -> None:
        """FAXCOMEX ``Remove(index or name)``: GroupInUseError while a rule sends to it."""
        group = self.item(index_or_name)
        send_json(self._connection, "DELETE", _group_path(group.name))
        self._items.remove(group)
        self._count = len(self._items)


class FaxOutboundRoutingRule(Record):
    """FAXCOMEX ``FaxOutboundRoutingRule``: change ``use_device`` with ``device_id`` or
    ``group_name``, or ``t38_policy``, then ``save()``."""

    country_code = Field[int]()
    area_code = Field[int]()
    status = Field(RuleStatus)
    use_device = Editable(bool)
    """Whether the rule sends through one device (``device_id``), else a group."""
    device_id = Editable(int)
    group_name = Editable[str]()
    t38_policy = Editable[str]()
    """An OpenFax extension (COM ``T38Policy``): whether the rule's faxes over SIP use
    T.38: ``trunk`` (each trunk's own policy), ``off``, ``accept`` or ``request``; a
    value the server does not know is refused by ``save()`` (a FaxError naming it)."""

    def __init__(self, connection: Connection, data: dict[str, Any]) -> None:
        super().__init__(data)
        self._connection = connection

    @property
    def _path(self) -> str:
        return _rule_path(self.country_code, self.area_code)

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``: read again, dropping changes not saved."""
        self._data = self._connection.get(self._path)

    def save(self) -> None:
        """FAXCOMEX ``Save()``: send the rule's target and T.38 policy (the default rule's
        too)."""
        body = {
            "use_device": self.use_device,
            "device_id": self.device_id if self.use_device else 0,
            "group_name": "" if self.use_device else self.group_name,
            "t38_policy": self.t38_policy,
        }
        self._data = send_json(self._connection, "PUT", self._path, body)

    def __repr__(self) -> str:
        target = f"device {self.device_id}" if self.use_device else repr(self.group_name)
        where = f"{self.country_code}/{self.area_code}"
        return f"<FaxOutboundRoutingRule {where} -> {target}, T.38 {self.t38_policy}>"


class FaxOutboundRoutingRules(Collection[FaxOutboundRoutingRule]):
    """FAXCOMEX ``FaxOutboundRoutingRules``: ``item(i)`` from 1 (no string key, as in COM),
    ``item_by_country_and_area``; ``add`` and ``remove`` change the server and this collection."""

    def __init__(self, connection: Connection) -> None:
        found = connection.get(_RULES)
        rules = [FaxOutboundRoutingRule(connection, data) for data in found]
        super().__init__(rules, key=lambda rule: f"{rule.country_code}/{rule.area_code}")
        self._connection = connection

    def item_by_country_and_area(self, country_code: int, area_code: int) -> FaxOutboundRoutingRule:
        """FAXCOMEX ``ItemByCountryAndArea``: RuleNotFoundError if there is no such rule."""
        data = self._connection.get(_rule_path(country_code, area_code))
        return FaxOutboundRoutingRule(self._connection, data)

    def add(
        self,
        country_code: int,
        area_code: int,
        use_device: bool,
        group_name: str = "",
        device_id: int = 0,
        t38_policy: str = "trunk",
    ) -> FaxOutboundRoutingRule:
        """FAXCOMEX ``Add(country, area, use_device, group_name, device_id)``: the group name
        is ignored for a device, the device id for a group; ``t38_policy`` is an OpenFax
        extension (see :attr:`FaxOutboundRoutingRule.t38_policy`)."""
        body = {
            "country_code": country_code,
            "area_code": area_code,
            "use_device": use_device,
            "group_name": "" if use_device else group_name,
            "device_id": device_id if use_device else 0,
            "t38_policy": t38_policy,
        }
        rule = FaxOutboundRoutingRule(
            self._connection, send_json(self._connection, "POST", _RULES, body)
        )
        self._items.append(rule)
        self._count = len(self._items)
        return rule

    def remove(self, index: int) -> None:
        """FAXCOMEX ``Remove(index)``: the rule at 1-based ``index`` (not the default rule)."""
        rule = self.item(index)
        self.remove_by_country_and_area(rule.country_code, rule.area_code)

    def remove_by_country_and_area(self, country_code: int, area_code: int) -> None:
        """FAXCOMEX ``RemoveByCountryAndArea``: InvalidOperationError for the default rule."""
        send_json(self._connection, "DELETE", _rule_path(country_code, area_code))
        self._items = [
            r for r in self._items if (r.country_code, r.area_code) != (country_code, area_code)
        ]
        self._count = len(self._items)


class FaxOutboundRouting:
    """FAXCOMEX ``FaxOutboundRouting``."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get_groups(self) -> FaxOutboundRoutingGroups:
        """FAXCOMEX ``GetGroups()``: ``<All Devices>`` first, then by name."""
        return FaxOutboundRoutingGroups(self._connection)

    def get_rules(self) -> FaxOutboundRoutingRules:
        """FAXCOMEX ``GetRules()``: by country then area code, the default rule (0/0) first."""
        return FaxOutboundRoutingRules(self._connection)

    def rule_for(self, number: str) -> FaxOutboundRoutingRule:
        """The rule a fax to ``number`` follows now (the most specific one)."""
        data = self._connection.get(f"{_RULES}/for", number=number)
        return FaxOutboundRoutingRule(self._connection, data)
