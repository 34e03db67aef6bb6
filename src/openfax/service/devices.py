"""The devices (FAXCOMEX ``FaxDevices`` and ``FaxDevice``): every node's lines as the store
keeps them, with their settings, their node, what they are doing now, their routing
methods, and answering a call by hand.

This node's lines say what they do from memory; another node's from what that node last
wrote of them (``devices.status``), and they are powered off while their node is not
running: stopped, or its heartbeat overdue by more than a lease (dead or cut off from the
database). A line's name is one line's in the whole cluster."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import ConfigError, MessageNotFoundError, NotSupportedError
from openfax.model import ReceiveMode
from openfax.model.events import ConfigChanged
from openfax.model.records import DeviceInfo, NodeState
from openfax.providers import DeviceProvider, DeviceState
from openfax.routing import STORE_IN_FOLDER, FolderSettings
from openfax.service.context import ServiceContext
from openfax.service.inbound_routing import InboundRouting
from openfax.service.node_health import node_state
from openfax.service.scheduler import Scheduler
from openfax.store import Device, Node
from openfax.store import queries as q

DEVICE_SETTINGS = frozenset(
    {"description", "tsid", "csid", "rings_before_answer", "receive_mode", "send_enabled"}
)
"""The FAXCOMEX ``IFaxDevice`` properties a user may change."""


class Devices:
    """FAXCOMEX ``GetDevices()`` and ``FaxDevice``: the running service's ``devices``."""

    def __init__(self, ctx: ServiceContext, scheduler: Scheduler, routing: InboundRouting) -> None:
        self._ctx = ctx
        self._scheduler = scheduler
        self._routing = routing

    async def attach(self, providers: Sequence[DeviceProvider]) -> None:
        """Keep each line of ``providers`` as a device of this node (created with the
        configured settings the first time, as saved since then) and give the line its
        device's receive mode and rings."""
        ctx = self._ctx
        config = ctx.config
        async with ctx.db.transaction() as conn:
            for provider in providers:
                for line in provider.devices:
                    # A line may bring its own first TSID/CSID and rings (a modem line's).
                    ident = getattr(line, "ident", "")
                    rings = getattr(line, "configured_rings", None)
                    device = await q.ensure_device(
                        conn,
                        provider.name,
                        line.name,
                        node_id=config.node_id,
                        number=line.number,
                        csid=ident or config.incoming.csid or line.number,
                        tsid=ident or config.outgoing.tsid or line.number,
                        rings_before_answer=config.incoming.rings_before_answer
                        if rings is None
                        else rings,
                        receive_mode=ReceiveMode.AUTO_ANSWER,
                    )
                    if device.node_id != config.node_id:
                        device = await self._take_over(conn, device)
                    await q.set_device_status(conn, device.id, None)
                    ctx.lines[device.id] = line
                    self._apply_to_line(device)

    async def _take_over(self, conn: AsyncConnection, device: Device) -> Device:
        """Make this node the owner of a line another node had (this node renamed, or the
        line moved from a node no longer running); ConfigError while that node runs: two
        nodes' lines have one name."""
        ctx = self._ctx
        owner = device.node_id or ""
        node = (await q.list_nodes(conn)).get(owner)
        if node is not None and self._node_state(node, ctx.clock.now()) == "running":
            raise ConfigError(
                ctx.config.source,
                "node_id",
                f"the line {device.name!r} is already node {owner!r}'s, which is running: "
                "give each node's lines names of their own (a [loopback] base_number, SIP "
                "trunk names, modem devices of their own)",
            )
        taken = await q.own_device(conn, device.id, ctx.node_id)
        assert taken is not None, "the device was just read"
        return taken

    async def get_devices(self) -> list[DeviceInfo]:
        """FAXCOMEX ``GetDevices()``: every node's lines with their settings and state."""
        async with self._ctx.db.read() as conn:
            devices = await q.list_devices(conn)
            nodes = await q.list_nodes(conn)
        states = self._node_states(nodes)
        return [self._device_info(device, states) for device in devices]

    async def get_device(self, device_id: int) -> DeviceInfo:
        """FAXCOMEX ``GetDevices().ItemById(id)``; MessageNotFoundError if there is none."""
        async with self._ctx.db.read() as conn:
            device = await q.get_device(conn, device_id)
            nodes = await q.list_nodes(conn)
        if device is None:
            raise MessageNotFoundError("device", device_id)
        return self._device_info(device, self._node_states(nodes))

    async def save_device(self, device_id: int, **settings: Any) -> DeviceInfo:
        """FAXCOMEX ``Device.Save()`` of the given properties (description, tsid, csid,
        rings_before_answer, receive_mode, send_enabled). Setting one device to manual answer
        switches the one that was manual to no answer, as FAXCOMEX does."""
        unknown = set(settings) - DEVICE_SETTINGS
        if unknown:
            raise ValueError(f"not device settings: {sorted(unknown)}")
        ctx = self._ctx
        async with ctx.hub.transaction() as conn:
            if settings.get("receive_mode") is ReceiveMode.MANUAL_ANSWER:
                for other in await q.list_devices(conn):
                    manual = other.receive_mode is ReceiveMode.MANUAL_ANSWER
                    if manual and other.id != device_id:
                        changed = await q.update_device(
                            conn, other.id, {"receive_mode": ReceiveMode.NO_ANSWER}
                        )
                        assert changed is not None
                        self._apply_to_line(changed)
            device = await q.update_device(conn, device_id, settings)
            if device is None:
                raise MessageNotFoundError("device", device_id)
            await ctx.hub.emit(conn, ConfigChanged(device_id=device_id))
        self._apply_to_line(device)
        self._scheduler.wake()
        return await self.get_device(device_id)

    async def take_up_settings(self, device_id: int) -> None:
        """Give this node's line the receive mode and rings its device now has (saved on
        any node); nothing for another node's device."""
        if device_id not in self._ctx.lines:
            return
        async with self._ctx.db.read() as conn:
            device = await q.get_device(conn, device_id)
        if device is not None:
            self._apply_to_line(device)

    async def use_routing_method(self, device_id: int, method: str, use: bool) -> DeviceInfo:
        """FAXCOMEX ``Device.UseRoutingMethod(guid, use)``."""
        await self._routing.use_routing_method(device_id, method, use)
        return await self.get_device(device_id)

    async def set_store_in_folder(self, device_id: int, settings: FolderSettings) -> None:
        """Where the "store in folder" routing method writes this device's faxes."""
        await self._routing.set_configuration(STORE_IN_FOLDER, device_id, settings.to_json())

    async def answer_call(self, device_id: int) -> bool:
        """FAXCOMEX ``Device.AnswerCall()``: answer the call ringing on the device now.

        False if nothing rings there; like FAXCOMEX, acceptance says nothing of the outcome.
        A line of another node of the cluster is answered on that node: NotSupportedError
        naming it."""
        line = self._ctx.lines.get(device_id)
        if line is not None:
            return line.answer()
        async with self._ctx.db.read() as conn:
            device = await q.get_device(conn, device_id)
        if device is None or not device.node_id or device.node_id == self._ctx.node_id:
            raise MessageNotFoundError("device", device_id)
        raise NotSupportedError(
            f"{device.name} is a line of the node {device.node_id}: answer its call through "
            "that node's API"
        )

    def _apply_to_line(self, device: Device) -> None:
        line = self._ctx.lines.get(device.id)
        if line is not None:
            # The provider's enum predates openfax.model's; the values are FAXCOMEX's.
            line.receive_mode = ReceiveMode(device.receive_mode)
            line.rings_before_answer = device.rings_before_answer

    def _node_states(self, nodes: Mapping[str, Node]) -> dict[str, NodeState]:
        now = self._ctx.clock.now()
        states = {node_id: self._node_state(node, now) for node_id, node in nodes.items()}
        states[self._ctx.node_id] = "running"
        return states

    def _node_state(self, node: Node, now: datetime) -> NodeState:
        return node_state(node, now, timedelta(seconds=self._ctx.config.deadlines.lease_seconds))

    def _device_info(self, device: Device, nodes: Mapping[str, NodeState]) -> DeviceInfo:
        node = device.node_id or ""
        node_state = nodes.get(node, "stopped")
        if node != self._ctx.node_id:
            return self._remote_device_info(device, node, node_state)
        line = self._ctx.lines.get(device.id)
        state = line.state if line is not None else None
        sending = line is not None and any(
            call.line is line for call in self._scheduler.running.values()
        )
        registration = None if line is None else line.registration
        return DeviceInfo(
            **_settings(device),
            powered_off=line is None or (registration is not None and registration.failed),
            sending_now=sending,
            receiving_now=state is DeviceState.IN_CALL and not sending,
            ringing_now=state is DeviceState.RINGING,
            registration="" if registration is None else registration.state.value,
            registration_error="" if registration is None else registration.error,
            hardware=getattr(line, "hardware", ""),
            node_id=node,
            node_state=node_state,
        )

    def _remote_device_info(self, device: Device, node: str, node_state: NodeState) -> DeviceInfo:
        """Another node's line as that node last reported it; powered off, doing nothing,
        while the node is not running."""
        status = (device.status or {}) if node_state == "running" else {}
        return DeviceInfo(
            **_settings(device),
            powered_off=node_state != "running" or bool(status.get("powered_off")),
            sending_now=bool(status.get("sending")),
            receiving_now=bool(status.get("receiving")),
            ringing_now=bool(status.get("ringing")),
            registration=str(status.get("registration", "")),
            registration_error=str(status.get("registration_error", "")),
            node_id=node,
            node_state=node_state,
        )


def _settings(device: Device) -> dict[str, Any]:
    """A device's settings, as ``DeviceInfo`` names them."""
    return {
        "id": device.id,
        "device_name": device.name,
        "provider_unique_name": device.provider,
        "number": device.number,
        "description": device.description,
        "tsid": device.tsid,
        "csid": device.csid,
        "rings_before_answer": device.rings_before_answer,
        "receive_mode": device.receive_mode,
        "send_enabled": device.send_enabled,
        "used_routing_methods": list(device.routing_methods),
    }
