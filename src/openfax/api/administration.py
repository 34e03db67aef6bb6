"""The administration routes: FAXCOMEX ``Configuration``, extension properties, device
providers, the server's cover pages and the audit trail (``docs/design/configuration.md``).

The rules stay in the service: a property it refuses is a ConfigError (400) naming it.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Query, Response, UploadFile
from pydantic import BaseModel, Field

from openfax.api.models import MAX_INT64, RecordModel, UtcInput
from openfax.api.rights import ManageConfig, QueryConfig
from openfax.documents.cover_page import MAX_TEMPLATE_BYTES
from openfax.errors import ConfigError
from openfax.model import MAX_PAGE_SIZE, ProviderStatus
from openfax.model.records import AuditEntryInfo, UtcTime
from openfax.service import FaxService
from openfax.service.configuration import Configuration
from openfax.service.cover_pages import CoverPageInfo
from openfax.service.device_providers import FSPI_VERSION, ProviderInfo
from openfax.service.extension_properties import checked_guid

TAGS: list[Any] = ["administration"]


class ConfigurationModel(RecordModel):
    """FAXCOMEX ``IFaxConfiguration``: ``retry_delay`` in minutes, water marks in MB, age
    limits in days (0 keeps for good), times of day as ``"HH:MM"``; ``archive_location``
    and the sizes (bytes: both archives, each archive) are read-only."""

    retries: int
    retry_delay: float
    discount_rate_start: str
    discount_rate_end: str
    outgoing_queue_age_limit: int
    branding: bool
    use_device_tsid: bool
    allow_personal_cover_pages: bool
    use_archive: bool
    archive_location: str
    archive_age_limit: int
    incoming_archive_age_limit: int
    size_quota_warning: bool
    high_quota_water_mark: int
    low_quota_water_mark: int
    archive_size: int
    incoming_archive_size: int
    outgoing_archive_size: int
    outgoing_queue_blocked: bool
    outgoing_queue_paused: bool
    incoming_queue_blocked: bool

    @classmethod
    def of(cls, configuration: Configuration) -> ConfigurationModel:
        return cls.read(
            configuration,
            discount_rate_start=configuration.discount_rate_start.isoformat("minutes"),
            discount_rate_end=configuration.discount_rate_end.isoformat("minutes"),
        )


class CoverPageModel(RecordModel):
    """A server cover page: the name a submission gives (``cover_page_type`` SERVER)."""

    name: str
    size: int
    modified: UtcTime

    @classmethod
    def of(cls, info: CoverPageInfo) -> CoverPageModel:
        return cls.read(info)


class ExtensionPropertyModel(BaseModel):
    """An extension property: the blob named by ``guid`` for a device (0: the server)."""

    guid: str
    device_id: int
    data: str = Field(description="the bytes, base64")


class ExtensionPropertyData(BaseModel):
    data: str = Field(description="the bytes, base64")

    def decoded(self) -> bytes:
        """The bytes; ConfigError naming ``data`` if it is not base64."""
        try:
            return base64.b64decode(self.data, validate=True)
        except ValueError:
            raise ConfigError("extension property", "data", "must be base64") from None


class DeviceProviderModel(RecordModel):
    """FAXCOMEX ``FaxDeviceProvider``: as loaded at the server's last start."""

    unique_name: str
    friendly_name: str
    image_name: str
    tapi_provider_name: str
    version: str
    status: ProviderStatus
    init_error_code: int
    init_error_message: str
    device_ids: list[int]

    @classmethod
    def of(cls, info: ProviderInfo) -> DeviceProviderModel:
        return cls.read(info, init_error_code=int(info.status), init_error_message=info.init_error)


class DeviceProviderRegistrationModel(BaseModel):
    """``RegisterDeviceProvider``'s arguments."""

    unique_name: str = Field(min_length=1, max_length=200)
    friendly_name: str = ""
    image_name: str = Field(
        min_length=1, description="the entry point's name in group openfax.providers"
    )
    tsp_name: str = ""
    version: int = Field(default=FSPI_VERSION, description="FSPI version: 0x00010000")


def administration_routes(service: FaxService) -> APIRouter:
    """The routes, to include under ``/v1``."""
    api = APIRouter(tags=TAGS)

    @api.get("/configuration")
    async def get_configuration(who: QueryConfig) -> ConfigurationModel:
        """FAXCOMEX ``Configuration`` (``Refresh()``)."""
        return ConfigurationModel.of(await service.options.get_configuration())

    @api.patch("/configuration")
    async def patch_configuration(
        who: ManageConfig,
        changes: Annotated[dict[str, Any], Body(description="the properties to change, by name")],
    ) -> ConfigurationModel:
        """FAXCOMEX ``Configuration.Save()`` of the properties given; in force at once."""
        return ConfigurationModel.of(await service.options.save_configuration(changes, who.name))

    @api.get("/audit")
    async def get_audit(
        who: ManageConfig,
        since: Annotated[
            UtcInput | None, Query(description="entries at or after this time (UTC if naive)")
        ] = None,
        after: Annotated[
            int, Query(ge=0, le=MAX_INT64, description="the last seq of the page before")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    ) -> list[AuditEntryInfo]:
        """The audit trail, oldest first, for an administrator (far2MANAGE_CONFIG); it has
        no route that changes it."""
        return await service.options.get_audit(since, after, limit)

    @api.get("/cover-pages")
    async def get_cover_pages(who: QueryConfig) -> list[CoverPageModel]:
        """The server's cover pages, by name."""
        return [CoverPageModel.of(info) for info in await service.cover_pages.get_cover_pages()]

    @api.post("/cover-pages", status_code=201)
    async def add_cover_page(
        who: ManageConfig,
        name: Annotated[str, Form(description="the name submissions give")],
        file: Annotated[UploadFile, File(description="the template (UTF-8 text)")],
    ) -> CoverPageModel:
        """Add (or replace) a server cover page; a template that does not draw is refused."""
        content = await file.read(MAX_TEMPLATE_BYTES + 1)
        return CoverPageModel.of(await service.cover_pages.add_cover_page(name, content, who.name))

    @api.delete("/cover-pages/{name}", status_code=204, response_class=Response)
    async def remove_cover_page(name: str, who: ManageConfig) -> None:
        """Remove a server cover page; faxes already submitted keep theirs."""
        await service.cover_pages.remove_cover_page(name, who.name)

    async def extension_property(guid: str, device_id: int) -> ExtensionPropertyModel:
        data = await service.extension_properties.get(guid, device_id)
        return ExtensionPropertyModel(
            guid=checked_guid(guid),
            device_id=device_id,
            data=base64.b64encode(data).decode("ascii"),
        )

    @api.get("/extension-properties/{guid}")
    async def get_server_extension_property(guid: str, who: QueryConfig) -> ExtensionPropertyModel:
        """FAXCOMEX ``FaxServer.GetExtensionProperty`` (empty data when never set)."""
        return await extension_property(guid, 0)

    @api.put("/extension-properties/{guid}")
    async def set_server_extension_property(
        guid: str, change: ExtensionPropertyData, who: ManageConfig
    ) -> ExtensionPropertyModel:
        """FAXCOMEX ``FaxServer.SetExtensionProperty``; its owner is told."""
        await service.extension_properties.set(guid, change.decoded(), 0, who.name)
        return await extension_property(guid, 0)

    @api.get("/devices/{device_id}/extension-properties/{guid}")
    async def get_device_extension_property(
        device_id: int, guid: str, who: QueryConfig
    ) -> ExtensionPropertyModel:
        """FAXCOMEX ``FaxDevice.GetExtensionProperty`` (device 0: the server's slot)."""
        return await extension_property(guid, device_id)

    @api.put("/devices/{device_id}/extension-properties/{guid}")
    async def set_device_extension_property(
        device_id: int, guid: str, change: ExtensionPropertyData, who: ManageConfig
    ) -> ExtensionPropertyModel:
        """FAXCOMEX ``FaxDevice.SetExtensionProperty``; its owner is told."""
        await service.extension_properties.set(guid, change.decoded(), device_id, who.name)
        return await extension_property(guid, device_id)

    @api.get("/device-providers")
    async def get_device_providers(who: QueryConfig) -> list[DeviceProviderModel]:
        """FAXCOMEX ``GetDeviceProviders()``: as loaded at the last start."""
        return [DeviceProviderModel.of(info) for info in service.providers.get_device_providers()]

    @api.post("/device-providers", status_code=204, response_class=Response)
    async def register_device_provider(
        registration: DeviceProviderRegistrationModel, who: ManageConfig
    ) -> None:
        """FAXCOMEX ``RegisterDeviceProvider``: loaded at the next start."""
        await service.providers.register_device_provider(
            registration.unique_name,
            registration.friendly_name,
            registration.image_name,
            registration.tsp_name,
            registration.version,
            who.name,
        )

    @api.delete("/device-providers/{unique_name}", status_code=204, response_class=Response)
    async def unregister_device_provider(unique_name: str, who: ManageConfig) -> None:
        """FAXCOMEX ``UnregisterDeviceProvider``: gone at the next start."""
        await service.providers.unregister_device_provider(unique_name, who.name)

    return api
