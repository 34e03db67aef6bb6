"""The calls made for each outgoing job, with their T.30 transcripts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.queries._shared import check_columns
from openfax.store.records import CallAttempt, values
from openfax.store.schema import call_attempts


async def record_call_attempt(conn: AsyncConnection, attempt: CallAttempt) -> None:
    """Note a call as it starts (or, complete, once it ended)."""
    await conn.execute(insert(call_attempts).values(values(attempt)))


async def finish_call_attempt(
    conn: AsyncConnection, job_id: int, attempt: int, changes: Mapping[str, Any]
) -> bool:
    """Fill in how a call ended (``ended_at``, result, transcript ...); False if unknown."""
    check_columns(call_attempts, changes, frozen={"job_id", "attempt"})
    result = await conn.execute(
        update(call_attempts)
        .where(call_attempts.c.job_id == job_id, call_attempts.c.attempt == attempt)
        .values(dict(changes))
    )
    return result.rowcount == 1


async def list_call_attempts(conn: AsyncConnection, job_id: int) -> list[CallAttempt]:
    """The calls made for a job or its archived message (same id), first to last."""
    rows = await conn.execute(
        select(call_attempts)
        .where(call_attempts.c.job_id == job_id)
        .order_by(call_attempts.c.attempt)
    )
    return [CallAttempt(**row._mapping) for row in rows]
