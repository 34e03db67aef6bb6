"""The service's settings, JSON values by key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.queries._shared import dialect_insert
from openfax.store.schema import settings


async def get_setting(conn: AsyncConnection, key: str, default: Any = None) -> Any:
    """The JSON value stored under ``key``, or ``default``."""
    row = (await conn.execute(select(settings.c.value).where(settings.c.key == key))).first()
    return default if row is None else row.value


async def get_settings(conn: AsyncConnection) -> dict[str, Any]:
    """Every setting, by key."""
    rows = await conn.execute(select(settings.c.key, settings.c.value))
    return {row.key: row.value for row in rows}


async def get_settings_under(conn: AsyncConnection, prefix: str) -> dict[str, Any]:
    """The settings whose key begins with ``prefix``, by key."""
    query = select(settings.c.key, settings.c.value).where(settings.c.key.startswith(prefix))
    return {row.key: row.value for row in await conn.execute(query)}


async def set_setting(conn: AsyncConnection, key: str, value: Any, *, now: datetime) -> None:
    """Store a JSON value under ``key``, replacing any previous one."""
    statement = dialect_insert(conn, settings).values(key=key, value=value, updated_at=now)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
    )


async def delete_setting(conn: AsyncConnection, key: str) -> bool:
    """Forget the value stored under ``key``; False if there was none."""
    result = await conn.execute(delete(settings).where(settings.c.key == key))
    return bool(result.rowcount)
