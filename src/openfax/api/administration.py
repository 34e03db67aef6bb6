"""The administration routes: FAXCOMEX ``Configuration`` (``docs/design/configuration.md``).

The rules stay in the service: a property it refuses is a ConfigError (400) naming it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel

from openfax.api.rights import ManageConfig, QueryConfig
from openfax.service import FaxService
from openfax.service.configuration import Configuration

TAGS: list[Any] = ["administration"]


class ConfigurationModel(BaseModel):
    """FAXCOMEX ``IFaxConfiguration``: ``retry_delay`` in minutes, water marks in MB, age
    limits in days (0 keeps for good), times of day as ``"HH:MM"``; ``archive_location``
    and ``archive_size`` (bytes) are read-only."""

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
    outgoing_queue_blocked: bool
    outgoing_queue_paused: bool
    incoming_queue_blocked: bool

    @classmethod
    def of(cls, configuration: Configuration) -> ConfigurationModel:
        values = vars(configuration) | {
            "discount_rate_start": configuration.discount_rate_start.isoformat("minutes"),
            "discount_rate_end": configuration.discount_rate_end.isoformat("minutes"),
        }
        return cls(**values)


def administration_routes(service: FaxService) -> APIRouter:
    """The routes, to include under ``/v1``."""
    api = APIRouter(tags=TAGS)

    @api.get("/configuration")
    async def get_configuration(who: QueryConfig) -> ConfigurationModel:
        """FAXCOMEX ``Configuration`` (``Refresh()``)."""
        return ConfigurationModel.of(await service.get_configuration())

    @api.patch("/configuration")
    async def patch_configuration(
        who: ManageConfig,
        changes: Annotated[dict[str, Any], Body(description="the properties to change, by name")],
    ) -> ConfigurationModel:
        """FAXCOMEX ``Configuration.Save()`` of the properties given; in force at once."""
        return ConfigurationModel.of(await service.save_configuration(changes))

    return api
