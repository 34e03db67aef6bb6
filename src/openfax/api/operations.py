"""What an administrator's monitoring reads: ``/metrics`` (Prometheus's text format),
``/healthz`` (the node is alive) and ``/readyz`` (it is ready to work, else 503 saying why).

Outside ``/v1``, where monitoring systems look for them. They need far2QUERY_CONFIG, or a
client address (or the local socket) that ``[api] metrics_from`` allows: the
authentication middleware lets those in without an account (``openfax.api.auth``).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from openfax.api.rights import QueryConfig
from openfax.errors import NotReadyError
from openfax.service import FaxService
from openfax.service.monitoring import CONTENT_TYPE


class HealthModel(BaseModel):
    """How the node is: ``alive`` (``/healthz``) or ``ready`` (``/readyz``)."""

    status: str


def operations_routes(service: FaxService) -> APIRouter:
    api = APIRouter(tags=["operations"])

    @api.get("/healthz")
    async def get_health(who: QueryConfig) -> HealthModel:
        """Alive: the node's event loop runs (it answers this)."""
        return HealthModel(status="alive")

    @api.get("/readyz")
    async def get_readiness(who: QueryConfig) -> HealthModel:
        """Ready: the store answers, its schema is this version's, the device providers
        have started; else 503 (NotReadyError) with the reasons."""
        reasons = await service.monitoring.not_ready()
        if reasons:
            raise NotReadyError("; ".join(reasons))
        return HealthModel(status="ready")

    @api.get("/metrics", response_class=Response)
    async def get_metrics(who: QueryConfig) -> Response:
        """The node's metrics in Prometheus's text format."""
        return Response(await service.monitoring.exposition(), media_type=CONTENT_TYPE)

    return api
