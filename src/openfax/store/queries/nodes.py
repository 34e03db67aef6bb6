"""The nodes of a cluster and their heartbeats: how every node knows which of the others are
alive, and so which lines are available."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.queries._shared import dialect_insert
from openfax.store.records import Node
from openfax.store.schema import nodes


async def node_started(conn: AsyncConnection, node_id: str, *, version: str, now: datetime) -> None:
    """Record that ``node_id`` (running ``version``) started at ``now``, and beats."""
    values = {"node_id": node_id, "version": version, "started_at": now, "heartbeat_at": now}
    statement = dialect_insert(conn, nodes).values(values)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["node_id"],
            set_={k: statement.excluded[k] for k in ("version", "started_at", "heartbeat_at")},
        )
    )


async def node_beats(conn: AsyncConnection, node_id: str, *, now: datetime) -> None:
    """The node's heartbeat: it is alive at ``now``."""
    await conn.execute(update(nodes).where(nodes.c.node_id == node_id).values(heartbeat_at=now))


async def node_stopped(conn: AsyncConnection, node_id: str) -> None:
    """The node stopped cleanly: no heartbeat to wait for."""
    await conn.execute(update(nodes).where(nodes.c.node_id == node_id).values(heartbeat_at=None))


async def list_nodes(conn: AsyncConnection) -> dict[str, Node]:
    """Every node that ever started, by id."""
    rows = await conn.execute(select(nodes))
    return {row.node_id: Node(**row._mapping) for row in rows}
