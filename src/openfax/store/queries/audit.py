"""The audit trail. Append-only: there is no query that changes or removes an entry (and
the database refuses)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import DEFAULT_PREFETCH_SIZE
from openfax.store.records import AuditEntry
from openfax.store.schema import audit


async def append_audit(conn: AsyncConnection, entries: Sequence[AuditEntry]) -> None:
    """Write audit entries in ``conn``'s transaction, in order (one statement)."""
    if entries:
        rows = [
            {
                "created_at": e.created_at,
                "actor": e.actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "details": dict(e.details),
            }
            for e in entries
        ]
        await conn.execute(insert(audit), rows)


async def list_audit(
    conn: AsyncConnection,
    *,
    since: datetime | None = None,
    after: int = 0,
    limit: int = DEFAULT_PREFETCH_SIZE,
) -> list[AuditEntry]:
    """Audit entries, oldest first: written at or after ``since`` and numbered after
    ``after`` (the last ``seq`` of the page before), at most ``limit``."""
    query = select(audit).where(audit.c.seq > after).order_by(audit.c.seq).limit(limit)
    if since is not None:
        query = query.where(audit.c.created_at >= since)
    return [AuditEntry(**row._mapping) for row in await conn.execute(query)]
