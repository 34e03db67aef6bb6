"""The outbound routing routes (FAXCOMEX ``FaxOutboundRouting``: groups of lines and rules by
country and area code, ``docs/design/outbound-routing.md``).

A group is named in the path (percent-encoded: ``<All Devices>`` is ``%3CAll%20Devices%3E``);
a rule by its country and area code (0: any). Every change answers with the group or rule as
it is now, its status included.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from pydantic import Field

from openfax.api.models import MAX_LONG, RecordModel, Strict
from openfax.api.rights import ManageConfig, QueryConfig
from openfax.model import GroupStatus, RuleStatus
from openfax.service import FaxService
from openfax.service.outbound_routing import GroupInfo, OutboundRouting, RuleInfo, RuleT38Policy

TAGS: list[Any] = ["outbound routing"]
Code = Annotated[int, Field(ge=0, le=MAX_LONG)]
"""Country codes, area codes and device ids are FAXCOMEX ``long``s."""
CodeParam = Annotated[int, PathParam(ge=0, le=MAX_LONG)]
GroupName = Annotated[str, PathParam(min_length=1, max_length=200)]


class GroupModel(RecordModel):
    """FAXCOMEX ``FaxOutboundRoutingGroup``: its devices in the order they are tried."""

    name: str
    status: GroupStatus
    status_name: str
    device_ids: list[int]

    @classmethod
    def of(cls, group: GroupInfo) -> GroupModel:
        return cls.read(group, status_name=group.status.name)


class RuleModel(RecordModel):
    """FAXCOMEX ``FaxOutboundRoutingRule``: ``group_name`` is empty when ``use_device``,
    ``device_id`` 0 when not; ``t38_policy`` is an OpenFax extension (``trunk``: each SIP
    trunk's own policy)."""

    country_code: int
    area_code: int
    use_device: bool
    group_name: str
    device_id: int
    status: RuleStatus
    status_name: str
    t38_policy: RuleT38Policy

    @classmethod
    def of(cls, rule: RuleInfo) -> RuleModel:
        return cls.read(rule, status_name=rule.status.name)


class NewGroup(Strict):
    """``Groups.Add(name)``."""

    name: str = Field(min_length=1, max_length=200)


class DeviceIdsBody(Strict):
    """A group's devices, in the order they are tried."""

    device_ids: list[Code] = Field(max_length=1000)


class NewDevice(Strict):
    """``DeviceIds.Add(id)``: the device goes last."""

    device_id: Code


class DeviceOrder(Strict):
    """``DeviceIds.SetOrder(id, order)``: the device moves to ``order`` (from 1)."""

    device_id: Code
    order: Code


class RuleTarget(Strict):
    """Where a rule sends: one device (``use_device``), else a group; as FAXCOMEX's
    ``Rules.Add``, the group name is ignored for a device and the device id for a group.
    ``t38_policy`` absent: ``trunk`` for a new rule, unchanged for a saved one."""

    use_device: bool
    group_name: str = Field(default="", max_length=200)
    device_id: Code = 0
    t38_policy: RuleT38Policy | None = None

    def target(self) -> dict[str, Any]:
        """The service's keyword arguments."""
        policy = {"t38_policy": self.t38_policy}
        if self.use_device:
            return {"device_id": self.device_id, **policy}
        return {"group_name": self.group_name, **policy}


class NewRule(RuleTarget):
    """``Rules.Add(country, area, use_device, group, device)``."""

    country_code: Code
    area_code: Code


def outbound_routing_routes(service: FaxService) -> APIRouter:
    """The routes, to include under ``/v1``."""
    api = APIRouter(prefix="/outbound-routing", tags=TAGS)

    def routing() -> OutboundRouting:
        return service.routing.outbound

    # --- groups -------------------------------------------------------------------------------

    @api.get("/groups")
    async def get_groups(who: QueryConfig) -> list[GroupModel]:
        """FAXCOMEX ``GetGroups()``: ``<All Devices>`` first, then by name."""
        return [GroupModel.of(g) for g in await routing().get_groups()]

    @api.post("/groups", status_code=201)
    async def add_group(group: NewGroup, who: ManageConfig) -> GroupModel:
        """FAXCOMEX ``Groups.Add(name)``: a new empty group."""
        return GroupModel.of(await routing().add_group(group.name))

    @api.get("/groups/{name}")
    async def get_group(name: GroupName, who: QueryConfig) -> GroupModel:
        """FAXCOMEX ``Groups.Item(name)``."""
        return GroupModel.of(await routing().get_group(name))

    @api.delete("/groups/{name}", status_code=204, response_class=Response)
    async def remove_group(name: GroupName, who: ManageConfig) -> None:
        """FAXCOMEX ``Groups.Remove(name)``: GroupInUseError while a rule sends to it."""
        await routing().remove_group(name)

    @api.put("/groups/{name}/devices")
    async def set_devices(name: GroupName, devices: DeviceIdsBody, who: ManageConfig) -> GroupModel:
        """Replace the group's devices, in the order given."""
        return GroupModel.of(await routing().set_device_ids(name, devices.device_ids))

    @api.post("/groups/{name}/devices")
    async def add_device(name: GroupName, device: NewDevice, who: ManageConfig) -> GroupModel:
        """FAXCOMEX ``DeviceIds.Add(id)``."""
        return GroupModel.of(await routing().add_device(name, device.device_id))

    @api.delete("/groups/{name}/devices/{index}")
    async def remove_device(name: GroupName, index: CodeParam, who: ManageConfig) -> GroupModel:
        """FAXCOMEX ``DeviceIds.Remove(index)``: the device at ``index`` (from 1)."""
        return GroupModel.of(await routing().remove_device(name, index))

    @api.post("/groups/{name}/order")
    async def set_order(name: GroupName, order: DeviceOrder, who: ManageConfig) -> GroupModel:
        """FAXCOMEX ``DeviceIds.SetOrder(id, order)``."""
        return GroupModel.of(await routing().set_order(name, order.device_id, order.order))

    # --- rules --------------------------------------------------------------------------------

    rule_path = "/rules/{country_code}/{area_code}"

    @api.get("/rules")
    async def get_rules(who: QueryConfig) -> list[RuleModel]:
        """FAXCOMEX ``GetRules()``: by country then area code, the default rule first."""
        return [RuleModel.of(r) for r in await routing().get_rules()]

    @api.post("/rules", status_code=201)
    async def add_rule(rule: NewRule, who: ManageConfig) -> RuleModel:
        """FAXCOMEX ``Rules.Add``."""
        added = await routing().add_rule(rule.country_code, rule.area_code, **rule.target())
        return RuleModel.of(added)

    @api.get("/rules/for")
    async def rule_for(
        number: Annotated[str, Query(max_length=200)], who: QueryConfig
    ) -> RuleModel:
        """The rule a fax to ``number`` follows now (the most specific one)."""
        return RuleModel.of(await routing().rule_for(number))

    @api.get(rule_path)
    async def get_rule(
        country_code: CodeParam, area_code: CodeParam, who: QueryConfig
    ) -> RuleModel:
        """FAXCOMEX ``Rules.ItemByCountryAndArea``."""
        return RuleModel.of(await routing().get_rule(country_code, area_code))

    @api.put(rule_path)
    async def save_rule(
        country_code: CodeParam, area_code: CodeParam, target: RuleTarget, who: ManageConfig
    ) -> RuleModel:
        """FAXCOMEX ``Rule.Save()``: point the rule (the default one too) elsewhere."""
        saved = await routing().save_rule(country_code, area_code, **target.target())
        return RuleModel.of(saved)

    @api.delete(rule_path, status_code=204, response_class=Response)
    async def remove_rule(country_code: CodeParam, area_code: CodeParam, who: ManageConfig) -> None:
        """FAXCOMEX ``Rules.RemoveByCountryAndArea``; not the default rule."""
        await routing().remove_rule(country_code, area_code)

    return api
