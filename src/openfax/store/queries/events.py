"""The event log, in commit order, that every node's listeners read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.records import Event
from openfax.store.schema import events

EVENTS_CHANNEL = "openfax_events"
"""PostgreSQL NOTIFY channel that carries the sequence number of each new event."""


EVENTS_LOCK = 0x0F4F_0002
"""PostgreSQL advisory lock taken by event writers, so sequence order is commit order."""


async def append_event(
    conn: AsyncConnection, type: str, payload: Mapping[str, Any], *, now: datetime
) -> int:
    """Add an event to the log and return its sequence number.

    On PostgreSQL, event writers queue on an advisory lock until they commit, so sequence
    numbers become visible in order and a reader that resumes after the last number it saw
    misses nothing; a NOTIFY on ``EVENTS_CHANNEL`` wakes other nodes at commit. Append events
    as the last step of a transaction, so that lock is held only for the commit.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(EVENTS_LOCK)))
    seq: int | None = await conn.scalar(
        insert(events)
        .values(type=type, payload=dict(payload), created_at=now)
        .returning(events.c.seq)
    )
    assert seq is not None
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_notify(EVENTS_CHANNEL, str(seq))))
    return seq


async def append_events(
    conn: AsyncConnection, type: str, payloads: Sequence[Mapping[str, Any]], *, now: datetime
) -> list[int]:
    """Add several events of one type to the log in one statement (a submission's jobs),
    numbered in order, and return their numbers; as ``append_event``, the last step of a
    transaction (one NOTIFY carries the last number)."""
    if not payloads:
        return []
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(EVENTS_LOCK)))
    result = await conn.execute(
        insert(events).returning(events.c.seq, sort_by_parameter_order=True),
        [{"type": type, "payload": dict(p), "created_at": now} for p in payloads],
    )
    seqs = list(result.scalars())
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_notify(EVENTS_CHANNEL, str(seqs[-1]))))
    return seqs


async def read_events(conn: AsyncConnection, *, after: int, limit: int = 1000) -> list[Event]:
    """The events numbered after ``after``, oldest first, at most ``limit`` of them."""
    rows = await conn.execute(
        select(events).where(events.c.seq > after).order_by(events.c.seq).limit(limit)
    )
    return [Event(**row._mapping) for row in rows]


async def last_event_seq(conn: AsyncConnection) -> int:
    """The number of the newest event (0 for an empty log): where a new listener starts."""
    return await conn.scalar(select(func.coalesce(func.max(events.c.seq), 0))) or 0


async def prune_events(conn: AsyncConnection, *, before: datetime) -> int:
    """Drop events created before ``before``; returns how many."""
    result = await conn.execute(delete(events).where(events.c.created_at < before))
    return result.rowcount
