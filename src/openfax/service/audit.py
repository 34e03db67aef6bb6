"""The audit trail: who submitted, viewed, downloaded, cancelled, deleted or purged which fax,
and who changed the configuration, and when (``docs/design/configuration.md``).

Entries are written in the transaction of the operation they record, so an operation that
did not happen leaves no entry and one that happened cannot lose its entry. They hold ids,
names and settings, never document content. The store keeps them append-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import format_id
from openfax.service.context import ServiceContext
from openfax.store import AuditEntry, Direction
from openfax.store import queries as q

SERVICE_ACTOR = "openfaxd"
"""The actor of what the service does by itself (the age limits' purges)."""


class AuditAction(StrEnum):
    """What an entry records."""

    SUBMITTED = "submitted"
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    PAUSED = "paused"
    RESUMED = "resumed"
    RESTARTED = "restarted"
    CANCELLED = "cancelled"
    REASSIGNED = "reassigned"
    CHANGED = "changed"
    DELETED = "deleted"
    PURGED = "purged"
    SET_ASIDE = "set_aside"
    CONFIG_CHANGED = "config_changed"
    SIGN_IN_THROTTLED = "sign_in_throttled"
    REFUSED = "refused"
    """A door into the service (the e-mail gateway) refused what a client sent."""
    BACKED_UP = "backed_up"
    """A backup of the whole store and archives was taken (a copy of every fax)."""


def message_type(direction: Direction) -> str:
    """The object type of an archived fax."""
    return "incoming_message" if direction is Direction.IN else "outgoing_message"


def entry(
    now: datetime,
    actor: str,
    action: AuditAction,
    object_type: str,
    object_id: int | str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """An entry; a numeric id is written as the 16 hex digits clients see."""
    return AuditEntry(
        created_at=now,
        actor=actor,
        action=action.value,
        object_type=object_type,
        object_id=format_id(object_id) if isinstance(object_id, int) else object_id,
        details=dict(details or {}),
    )


async def record(
    conn: AsyncConnection,
    now: datetime,
    actor: str,
    action: AuditAction,
    object_type: str,
    object_id: int | str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Write one entry in ``conn``'s transaction."""
    await q.append_audit(conn, [entry(now, actor, action, object_type, object_id, details)])


async def record_read(
    ctx: ServiceContext,
    actor: str,
    action: AuditAction,
    object_type: str,
    object_id: int | str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Write one entry in a transaction of its own, for what has none (a read: viewed,
    downloaded)."""
    async with ctx.db.transaction() as conn:
        await record(conn, ctx.clock.now(), actor, action, object_type, object_id, details)
