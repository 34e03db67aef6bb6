"""The devices (FAXCOMEX ``FaxDevices`` and ``FaxDevice``): this node's lines as the store
keeps them, with their settings, what they are doing now, their routing methods, and
answering a call by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openfax.errors import MessageNotFoundError
from openfax.model import ReceiveMode
from openfax.model.events import ConfigChanged
from openfax.model.records import DeviceInfo
from openfax.providers import DeviceProvider, DeviceState
from openfax.routing import STORE_IN_FOLDER, FolderSettings
from openfax.service.context import ServiceContext
from openfax.service.inbound_routing import InboundRouting
from openfax.service.scheduler import Scheduler
from openfax.store import Device
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
                    ctx.lines[device.id] = line
                    self._apply_to_line(device)

    async def get_devices(self) -> list[DeviceInfo]:
        """FAXCOMEX ``GetDevices()``: this node's lines with their settings and state."""
        async with self._ctx.db.read() as conn:
            devices = await q.list_devices(conn, node_id=self._ctx.node_id)
        return [self._device_info(device) for device in devices]

    async def get_device(self, device_id: int) -> DeviceInfo:
        """FAXCOMEX ``GetDevices().ItemById(id)``; MessageNotFoundError if there is none."""
        async with self._ctx.db.read() as conn:
            device = await q.get_device(conn, device_id)
        if device is None:
            raise MessageNotFoundError("device", device_id)
        return self._device_info(device)

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
        return self._device_info(device)

    async def use_routing_method(self, device_id: int, method: str, use: bool) -> DeviceInfo:
        """FAXCOMEX ``Device.UseRoutingMethod(guid, use)``."""
        await self._routing.use_routing_method(device_id, method, use)
        return await self.get_device(device_id)

    async def set_store_in_folder(self, device_id: int, settings: FolderSettings) -> None:
        """Where the "store in folder" routing method writes this device's faxes."""
        await self._routing.set_configuration(STORE_IN_FOLDER, device_id, settings.to_json())

    def answer_call(self, device_id: int) -> bool:
        """FAXCOMEX ``Device.AnswerCall()``: answer the call ringing on the device now.

        False if nothing rings there; like FAXCOMEX, acceptance says nothing of the outcome.
        """
        line = self._ctx.lines.get(device_id)
        if line is None:
            raise MessageNotFoundError("device", device_id)
        return line.answer()

    def _apply_to_line(self, device: Device) -> None:
        line = self._ctx.lines.get(device.id)
        if line is not None:
            # The provider's enum predates openfax.model's; the values are FAXCOMEX's.
            line.receive_mode = ReceiveMode(device.receive_mode)
            line.rings_before_answer = device.rings_before_answer

    def _device_info(self, device: Device) -> DeviceInfo:
        line = self._ctx.lines.get(device.id)
        state = line.state if line is not None else None
        sending = line is not None and any(
            call.line is line for call in self._scheduler.running.values()
        )
        registration = None if line is None else line.registration
        return DeviceInfo(
            id=device.id,
            device_name=device.name,
            provider_unique_name=device.provider,
            number=device.number,
            description=device.description,
            tsid=device.tsid,
            csid=device.csid,
            rings_before_answer=device.rings_before_answer,
            receive_mode=device.receive_mode,
            send_enabled=device.send_enabled,
            used_routing_methods=list(device.routing_methods),
            powered_off=line is None or (registration is not None and registration.failed),
            sending_now=sending,
            receiving_now=state is DeviceState.IN_CALL and not sending,
            ringing_now=state is DeviceState.RINGING,
            registration="" if registration is None else registration.state.value,
            registration_error="" if registration is None else registration.error,
            hardware=getattr(line, "hardware", ""),
        )
