"""The devices (lines) the providers offer, with their configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.queries._shared import dialect_insert, update_row
from openfax.store.records import Device, values
from openfax.store.schema import devices


async def ensure_device(conn: AsyncConnection, provider: str, name: str, **defaults: Any) -> Device:
    """The device a provider offers under ``name``, added with ``defaults`` the first time.

    A device keeps its id and its configuration across restarts; ``defaults`` only fill a
    new row.
    """
    new = values(Device(id=0, provider=provider, name=name, **defaults))
    del new["id"]
    await conn.execute(
        dialect_insert(conn, devices)
        .values(new)
        .on_conflict_do_nothing(index_elements=["provider", "name"])
    )
    row = (
        await conn.execute(
            select(devices).where(devices.c.provider == provider, devices.c.name == name)
        )
    ).one()
    return Device(**row._mapping)


async def get_device(conn: AsyncConnection, device_id: int) -> Device | None:
    """The device with that id, if any."""
    row = (await conn.execute(select(devices).where(devices.c.id == device_id))).first()
    return None if row is None else Device(**row._mapping)


async def list_devices(conn: AsyncConnection, *, node_id: str | None = None) -> list[Device]:
    """Every device by id, or those a node owns."""
    query = select(devices).order_by(devices.c.id)
    if node_id is not None:
        query = query.where(devices.c.node_id == node_id)
    return [Device(**row._mapping) for row in await conn.execute(query)]


async def update_device(
    conn: AsyncConnection, device_id: int, changes: Mapping[str, Any]
) -> Device | None:
    """Change a device's configuration; None if there is no such device."""
    frozen = {"id", "provider", "name"}
    row = await update_row(conn, devices, changes, frozen, devices.c.id == device_id)
    return None if row is None else Device(**row)


async def set_device_status(
    conn: AsyncConnection, device_id: int, status: Mapping[str, Any] | None
) -> None:
    """Keep what a line last reported of itself (None: nothing since its node started)."""
    await conn.execute(
        update(devices)
        .where(devices.c.id == device_id)
        .values(status=None if status is None else dict(status))
    )


async def own_device(conn: AsyncConnection, device_id: int, node_id: str) -> Device | None:
    """Make ``node_id`` the owner of a device (a node renamed, or one whose line another
    node, now gone, had); None if there is no such device."""
    return await update_device(conn, device_id, {"node_id": node_id})
