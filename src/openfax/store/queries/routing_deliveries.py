"""Inbound routing deliveries: the routing methods each received fax goes through."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.queries._shared import count_unsettled, get_row, list_deliveries, update_row
from openfax.store.records import DeliveryStatus, RoutingDelivery, values
from openfax.store.schema import routing_deliveries


async def insert_routing_deliveries(
    conn: AsyncConnection, deliveries: Sequence[RoutingDelivery]
) -> None:
    """Record the routing methods a received fax is to go through."""
    if deliveries:
        await conn.execute(insert(routing_deliveries), [values(d) for d in deliveries])


async def list_routing_deliveries(
    conn: AsyncConnection,
    *,
    message_id: int | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 1000,
) -> list[RoutingDelivery]:
    """Deliveries of one fax in the order its methods run, or (``status``) the most recently
    changed first, as an administrator reads the failed ones."""
    table = routing_deliveries
    of_one = None if message_id is None else table.c.message_id == message_id
    in_order = (table.c.priority, table.c.id)
    rows = await list_deliveries(conn, select(table).limit(limit), table, of_one, in_order, status)
    return [RoutingDelivery(**row) for row in rows]


async def get_routing_delivery(conn: AsyncConnection, delivery_id: int) -> RoutingDelivery:
    """One delivery; MessageNotFoundError if there is none."""
    return RoutingDelivery(
        **await get_row(conn, routing_deliveries, "routing delivery", delivery_id)
    )


async def update_routing_delivery(
    conn: AsyncConnection, delivery_id: int, changes: Mapping[str, Any]
) -> RoutingDelivery | None:
    """Change a delivery (status, attempts, next attempt, error); None if it is gone."""
    frozen = {"id", "message_id", "method"}
    picked = routing_deliveries.c.id == delivery_id
    row = await update_row(conn, routing_deliveries, changes, frozen, picked)
    return None if row is None else RoutingDelivery(**row)


async def count_routing_deliveries(conn: AsyncConnection) -> dict[DeliveryStatus, int]:
    """How many routing deliveries are pending (a retry due) and how many failed for good."""
    return await count_unsettled(conn, routing_deliveries)
