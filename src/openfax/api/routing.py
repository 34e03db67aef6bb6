"""The inbound routing routes (FAXCOMEX ``InboundRouting``, ``Device.UseRoutingMethod``,
``RegisterInboundRoutingExtension``) and the deliveries of received faxes.

Method GUIDs go in paths without their braces (either form is read).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from openfax.api.models import DeviceIdParam, RecordModel
from openfax.api.rights import ManageConfig, ManageReceiveFolder, QueryConfig
from openfax.model import DeliveryStatus, ProviderStatus, parse_id
from openfax.model.records import ID_PATTERN, DeliveryInfo, DeviceInfo
from openfax.routing import RoutingExtension
from openfax.service import FaxService
from openfax.service.inbound_routing import MethodInfo

TAGS: list[Any] = ["inbound routing"]


class ExtensionModel(RecordModel):
    """FAXCOMEX ``FaxInboundRoutingExtension``."""

    unique_name: str
    friendly_name: str
    image_name: str
    version: str
    methods: list[str]
    status: ProviderStatus
    init_error_code: int
    init_error_message: str

    @classmethod
    def of(cls, extension: RoutingExtension) -> ExtensionModel:
        return cls.read(
            extension,
            methods=list(extension.methods),
            init_error_code=int(extension.status),
            init_error_message=extension.init_error,
        )


class RegistrationModel(BaseModel):
    """``RegisterInboundRoutingExtension``'s arguments; each method is
    ``"Name;FriendlyName;FunctionName;{GUID}"``."""

    unique_name: str = Field(min_length=1, max_length=200)
    friendly_name: str = ""
    image_name: str = Field(
        min_length=1, description="the entry point's name in group openfax.routing_methods"
    )
    methods: list[str] = Field(min_length=1)


class MethodModel(RecordModel):
    """FAXCOMEX ``FaxInboundRoutingMethod``."""

    guid: str
    name: str
    friendly_name: str
    function_name: str
    extension_friendly_name: str
    extension_image_name: str
    extension_unique_name: str
    priority: int

    @classmethod
    def of(cls, info: MethodInfo) -> MethodModel:
        return cls.read(info.method, priority=info.priority)


class MethodPatch(BaseModel):
    priority: int = Field(ge=1)


class ConfigurationModel(BaseModel):
    """A method's configuration for a line (device 0: every line without its own); secrets
    read as ``********``, and writing that back keeps them."""

    guid: str
    device_id: int
    configuration: dict[str, Any] | None


class UseRoutingMethodModel(BaseModel):
    method: str = Field(description="the method's GUID")
    use: bool


def routing_routes(service: FaxService) -> APIRouter:
    """The routes, to include under ``/v1``."""
    api = APIRouter(tags=TAGS)

    @api.get("/inbound-routing/extensions")
    async def get_extensions(who: QueryConfig) -> list[ExtensionModel]:
        """FAXCOMEX ``InboundRouting.GetExtensions()``: as loaded at the last start."""
        return [ExtensionModel.of(e) for e in service.routing.inbound.get_extensions()]

    @api.post("/inbound-routing/extensions", status_code=204, response_class=Response)
    async def register_extension(registration: RegistrationModel, who: ManageConfig) -> None:
        """FAXCOMEX ``RegisterInboundRoutingExtension``: loaded at the next start."""
        await service.routing.inbound.register_extension(
            registration.unique_name,
            registration.friendly_name,
            registration.image_name,
            registration.methods,
        )

    @api.delete(
        "/inbound-routing/extensions/{unique_name}", status_code=204, response_class=Response
    )
    async def unregister_extension(unique_name: str, who: ManageConfig) -> None:
        """FAXCOMEX ``UnregisterInboundRoutingExtension``: gone at the next start."""
        await service.routing.inbound.unregister_extension(unique_name)

    @api.get("/inbound-routing/methods")
    async def get_methods(who: QueryConfig) -> list[MethodModel]:
        """FAXCOMEX ``InboundRouting.GetMethods()``: by priority, 1 first."""
        return [MethodModel.of(info) for info in service.routing.inbound.get_methods()]

    @api.get("/inbound-routing/methods/{guid}")
    async def get_method(guid: str, who: QueryConfig) -> MethodModel:
        return MethodModel.of(service.routing.inbound.get_method(guid))

    @api.patch("/inbound-routing/methods/{guid}")
    async def patch_method(guid: str, change: MethodPatch, who: ManageConfig) -> MethodModel:
        """FAXCOMEX ``Method.Priority`` and ``Save()``."""
        return MethodModel.of(
            await service.routing.inbound.set_method_priority(guid, change.priority)
        )

    configuration_path = "/inbound-routing/methods/{guid}/configurations/{device_id}"

    @api.get(configuration_path)
    async def get_configuration(
        guid: str, device_id: DeviceIdParam, who: ManageConfig
    ) -> ConfigurationModel:
        routing = service.routing.inbound
        value = await routing.get_configuration(guid, device_id)
        return ConfigurationModel(
            guid=routing.get_method(guid).method.guid, device_id=device_id, configuration=value
        )

    @api.put(configuration_path)
    async def put_configuration(
        guid: str, device_id: DeviceIdParam, configuration: dict[str, Any], who: ManageConfig
    ) -> ConfigurationModel:
        """Check and store the configuration (ConfigError, 400, names a wrong key)."""
        routing = service.routing.inbound
        value = await routing.set_configuration(guid, device_id, configuration)
        return ConfigurationModel(
            guid=routing.get_method(guid).method.guid, device_id=device_id, configuration=value
        )

    @api.delete(configuration_path, status_code=204, response_class=Response)
    async def delete_configuration(guid: str, device_id: DeviceIdParam, who: ManageConfig) -> None:
        await service.routing.inbound.delete_configuration(guid, device_id)

    @api.post("/devices/{device_id}/routing-methods")
    async def use_routing_method(
        device_id: DeviceIdParam, change: UseRoutingMethodModel, who: ManageConfig
    ) -> DeviceInfo:
        """FAXCOMEX ``Device.UseRoutingMethod(guid, use)``."""
        return await service.devices.use_routing_method(device_id, change.method, change.use)

    @api.get("/inbound-routing/deliveries")
    async def get_deliveries(
        who: ManageReceiveFolder,
        status: DeliveryStatus | None = None,
        message_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DeliveryInfo]:
        """A received fax's deliveries (``message_id``) in the order its methods run, or the
        deliveries in a ``status`` (``failed``: those an administrator may resend)."""
        return await service.routing.inbound.get_deliveries(
            message_id=None if message_id is None else parse_id(message_id),
            status=status,
            limit=limit,
        )

    @api.post("/inbound-routing/deliveries/{delivery_id}/resend")
    async def resend(
        delivery_id: Annotated[str, PathParam(pattern=ID_PATTERN)], who: ManageReceiveFolder
    ) -> DeliveryInfo:
        """Send a failed delivery again, with fresh retries."""
        return await service.routing.inbound.resend(parse_id(delivery_id))

    return api
