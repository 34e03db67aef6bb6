"""The receipt and logging options routes (FAXCOMEX ``ReceiptOptions``,
``LoggingOptions.ActivityLogging``, ``LoggingOptions.EventLogging``) and the delivery
receipts queued for sending.

``GET`` is ``Refresh()``, ``PATCH`` is ``Save()`` of the options given (the others are
kept); the service checks them (ConfigError, 400, names a wrong one). Reading needs
``far2QUERY_CONFIG``, saving ``far2MANAGE_CONFIG``, as in FAXCOMEX.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from openfax.api.models import Strict
from openfax.api.rights import ALL_RECEIPTS, ManageConfig, QueryConfig, QueryReceipts
from openfax.model import DeliveryStatus, parse_id
from openfax.model.records import ID_PATTERN, ReceiptInfo
from openfax.service import FaxService
from openfax.service.receipt_options import ReceiptOptions

TAGS: list[Any] = ["receipts and logging"]
Level = Annotated[int, Field(ge=0, le=3, description="FAX_LOG_LEVEL_ENUM: none 0 ... max 3")]


class ReceiptOptionsModel(BaseModel):
    """FAXCOMEX ``FaxReceiptOptions``; the password reads as ``********``."""

    allowed_receipts: int = Field(description="FAX_RECEIPT_TYPE_ENUM mask (mail 1)")
    smtp_server: str
    smtp_port: int
    smtp_sender: str
    authentication_type: int = Field(description="anonymous 0, basic 1 (NTLM 2 is refused)")
    starttls: bool
    smtp_user: str
    smtp_password: str
    use_for_inbound_routing: bool

    @classmethod
    def of(cls, options: ReceiptOptions) -> ReceiptOptionsModel:
        return cls(**options.to_json())


class ReceiptOptionsPatch(Strict):
    """The receipt options to change; the password given as ``********`` is kept."""

    allowed_receipts: Annotated[int, Field(ge=0, le=0xFF)] | None = None
    smtp_server: Annotated[str, Field(max_length=255)] | None = None
    smtp_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    smtp_sender: Annotated[str, Field(max_length=320)] | None = None
    authentication_type: Annotated[int, Field(ge=0, le=2)] | None = None
    starttls: bool | None = None
    smtp_user: Annotated[str, Field(max_length=320)] | None = None
    smtp_password: Annotated[str, Field(max_length=1000)] | None = None
    use_for_inbound_routing: bool | None = None


class ActivityLoggingModel(BaseModel):
    """FAXCOMEX ``FaxActivityLogging``: ``database_path`` is the folder of InboxLOG.txt and
    OutboxLOG.txt."""

    log_incoming: bool
    log_outgoing: bool
    database_path: str


class ActivityLoggingPatch(Strict):
    log_incoming: bool | None = None
    log_outgoing: bool | None = None
    database_path: Annotated[str, Field(max_length=4000)] | None = Field(
        None, description="an absolute folder; empty: the data folder's activity folder"
    )


class EventLoggingModel(BaseModel):
    """FAXCOMEX ``FaxEventLogging``: a FAX_LOG_LEVEL_ENUM per category."""

    init_events_level: int
    inbound_events_level: int
    outbound_events_level: int
    general_events_level: int


class EventLoggingPatch(Strict):
    init_events_level: Level | None = None
    inbound_events_level: Level | None = None
    outbound_events_level: Level | None = None
    general_events_level: Level | None = None


def _given(patch: BaseModel) -> dict[str, Any]:
    return {name: getattr(patch, name) for name in patch.model_fields_set}


def options_routes(service: FaxService) -> APIRouter:
    """The routes, to include under ``/v1``."""
    api = APIRouter(tags=TAGS)

    @api.get("/receipt-options")
    async def get_receipt_options(who: QueryConfig) -> ReceiptOptionsModel:
        """FAXCOMEX ``ReceiptOptions.Refresh()``."""
        return ReceiptOptionsModel.of(await service.options.get_receipt_options())

    @api.patch("/receipt-options")
    async def patch_receipt_options(
        change: ReceiptOptionsPatch, who: ManageConfig
    ) -> ReceiptOptionsModel:
        """FAXCOMEX ``ReceiptOptions.Save()`` of the options given."""
        return ReceiptOptionsModel.of(await service.options.save_receipt_options(_given(change)))

    @api.get("/logging-options/activity")
    async def get_activity_logging(who: QueryConfig) -> ActivityLoggingModel:
        """FAXCOMEX ``LoggingOptions.ActivityLogging``."""
        return ActivityLoggingModel(**(await service.options.get_activity_logging()).to_json())

    @api.patch("/logging-options/activity")
    async def patch_activity_logging(
        change: ActivityLoggingPatch, who: ManageConfig
    ) -> ActivityLoggingModel:
        """FAXCOMEX ``ActivityLogging.Save()``: the next lines follow the new options."""
        options = await service.options.save_activity_logging(_given(change))
        return ActivityLoggingModel(**options.to_json())

    @api.get("/logging-options/events")
    async def get_event_logging(who: QueryConfig) -> EventLoggingModel:
        """FAXCOMEX ``LoggingOptions.EventLogging``."""
        return EventLoggingModel(**(await service.options.get_event_logging()).to_json())

    @api.patch("/logging-options/events")
    async def patch_event_logging(
        change: EventLoggingPatch, who: ManageConfig
    ) -> EventLoggingModel:
        """FAXCOMEX ``EventLogging.Save()``: the levels apply at once."""
        return EventLoggingModel(
            **(await service.options.save_event_logging(_given(change))).to_json()
        )

    @api.get("/receipts")
    async def get_receipts(
        who: QueryReceipts,
        status: DeliveryStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[ReceiptInfo]:
        """The delivery receipts (those in ``status``: ``failed`` for the ones the SMTP
        server never took), the latest change first: those of the caller's own faxes, or
        everyone's with far2QUERY_ARCHIVES or far2MANAGE_CONFIG."""
        owner = None if any(who.holds(right) for right in ALL_RECEIPTS) else who.account_id
        return await service.receipts.get_receipts(status=status, owner=owner, limit=limit)

    @api.post("/receipts/{receipt_id}/resend")
    async def resend_receipt(
        receipt_id: Annotated[str, PathParam(pattern=ID_PATTERN)], who: ManageConfig
    ) -> ReceiptInfo:
        """Send a failed receipt again, with fresh retries (409 for one not failed)."""
        return await service.receipts.resend_receipt(parse_id(receipt_id))

    @api.post("/receipts/{receipt_id}/cancel")
    async def cancel_receipt(
        receipt_id: Annotated[str, PathParam(pattern=ID_PATTERN)], who: ManageConfig
    ) -> ReceiptInfo:
        """Never send a pending receipt: it is failed for good, cancelled by the caller
        (``resend`` still sends it); 409 for one not pending."""
        return await service.receipts.cancel_receipt(parse_id(receipt_id), who.name)

    return api
