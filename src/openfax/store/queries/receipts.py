"""Delivery receipts to send once a submission's jobs are final."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.queries._shared import count_unsettled, get_row, list_deliveries, update_row
from openfax.store.records import DeliveryStatus, Receipt, values
from openfax.store.schema import receipts, submissions


async def insert_receipts(conn: AsyncConnection, queued: Sequence[Receipt]) -> None:
    """Queue receipts to send (in the transaction that made their jobs final)."""
    if queued:
        await conn.execute(insert(receipts), [values(r) for r in queued])


async def claim_due_receipt(
    conn: AsyncConnection, *, now: datetime, hold_until: datetime
) -> Receipt | None:
    """Take the oldest pending receipt due at ``now``: its next attempt moves to
    ``hold_until``, so no other sender takes it meanwhile (if this one dies, it is due again
    then). One statement, SKIP LOCKED on PostgreSQL as the job claim."""
    due = (
        select(receipts.c.id)
        .where(receipts.c.status == DeliveryStatus.PENDING, receipts.c.next_attempt_at <= now)
        .order_by(receipts.c.created_at, receipts.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claim = (
        update(receipts)
        .where(receipts.c.id == due)
        .values(next_attempt_at=hold_until)
        .returning(*receipts.c)
    )
    row = (await conn.execute(claim)).first()
    return None if row is None else Receipt(**row._mapping)


async def next_receipt_at(conn: AsyncConnection) -> datetime | None:
    """When the next pending receipt is due, or None if none is pending."""
    pending = receipts.c.status == DeliveryStatus.PENDING
    due: datetime | None = await conn.scalar(
        select(func.min(receipts.c.next_attempt_at)).where(pending)
    )
    return due


async def get_receipt(conn: AsyncConnection, receipt_id: int) -> Receipt:
    """One receipt; MessageNotFoundError if there is none."""
    return Receipt(**await get_row(conn, receipts, "receipt", receipt_id))


async def update_receipt(
    conn: AsyncConnection, receipt_id: int, changes: Mapping[str, Any]
) -> Receipt | None:
    """Change a receipt (status, attempts, next attempt, error); None if it is gone."""
    frozen = {"id", "submission_id", "job_id"}
    row = await update_row(conn, receipts, changes, frozen, receipts.c.id == receipt_id)
    return None if row is None else Receipt(**row)


async def list_receipts(
    conn: AsyncConnection,
    *,
    submission_id: int | None = None,
    status: DeliveryStatus | None = None,
    owner: int | None = None,
    limit: int = 1000,
) -> list[Receipt]:
    """A submission's receipts in the order they were queued, or every receipt in
    ``status``, the most recently changed first; only those of the faxes of the account
    whose id is ``owner``, if given."""
    query = select(receipts).limit(limit)
    if owner is not None:
        owned = select(submissions.c.id).where(submissions.c.owner_id == owner)
        query = query.where(receipts.c.submission_id.in_(owned))
    of_one = None if submission_id is None else receipts.c.submission_id == submission_id
    in_order = (receipts.c.created_at, receipts.c.id)
    rows = await list_deliveries(conn, query, receipts, of_one, in_order, status)
    return [Receipt(**row) for row in rows]


async def delete_settled_receipts(conn: AsyncConnection, changed_before: datetime) -> list[int]:
    """Remove the receipts sent or failed for good whose last change is older than
    ``changed_before`` (the age limit); the ids of those removed."""
    settled = receipts.c.status.in_([DeliveryStatus.DONE, DeliveryStatus.FAILED])
    query = (
        delete(receipts)
        .where(settled, receipts.c.updated_at < changed_before)
        .returning(receipts.c.id)
    )
    return list((await conn.execute(query)).scalars())


async def count_receipts(conn: AsyncConnection) -> dict[DeliveryStatus, int]:
    """How many receipts are waiting to be sent (pending) and how many failed for good."""
    return await count_unsettled(conn, receipts)
