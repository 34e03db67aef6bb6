"""The incoming queue: faxes being received, then routed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import DEFAULT_PREFETCH_SIZE, JobStatus
from openfax.model.paging import QueueCursor, QueuePage
from openfax.store.queries._shared import get_row, update_guarded
from openfax.store.queries.message_texts import text_holds
from openfax.store.queries.queues import queue_page
from openfax.store.records import IncomingJob, values
from openfax.store.schema import incoming_jobs


async def insert_incoming_job(conn: AsyncConnection, job: IncomingJob) -> None:
    """Put a call being received into the incoming queue."""
    await conn.execute(insert(incoming_jobs).values(values(job)))


async def get_incoming_job(
    conn: AsyncConnection, job_id: int, *, for_update: bool = False
) -> IncomingJob:
    """The incoming job with that id; ``MessageNotFoundError`` if there is none.
    ``for_update`` locks the row, as in ``get_job``."""
    row = await get_row(conn, incoming_jobs, "incoming job", job_id, for_update=for_update)
    return IncomingJob(**row)


async def list_incoming_jobs(
    conn: AsyncConnection, *, node_id: str | None = None
) -> list[IncomingJob]:
    """The incoming queue by start time, all of it or one node's."""
    query = select(incoming_jobs).order_by(incoming_jobs.c.started_at, incoming_jobs.c.id)
    if node_id is not None:
        query = query.where(incoming_jobs.c.node_id == node_id)
    return [IncomingJob(**row._mapping) for row in await conn.execute(query)]


async def list_incoming_jobs_page(
    conn: AsyncConnection,
    *,
    words: Sequence[str] = (),
    after: QueueCursor | None = None,
    limit: int = DEFAULT_PREFETCH_SIZE,
) -> QueuePage[IncomingJob]:
    """One page of the incoming queue by start time (see ``queue_page``); with ``words``,
    only the faxes whose text (OCR) holds them all (a job and its message share the id)."""
    where = text_holds(incoming_jobs.c.id, words) if words else None
    return await queue_page(
        conn, incoming_jobs.c.started_at, IncomingJob, after, limit, where=where
    )


async def update_incoming_job(
    conn: AsyncConnection,
    job_id: int,
    changes: Mapping[str, Any],
    *,
    expected_status: JobStatus | frozenset[JobStatus] | None = None,
    expected_version: int | None = None,
) -> IncomingJob | None:
    """Compare-and-set update of an incoming job, as ``update_job`` (``expected_status`` may
    be a set of statuses). The service writes its jobs through the named transitions
    (:mod:`openfax.store.queries.transitions`); tests use this to set up a state."""
    row = await update_guarded(
        conn, incoming_jobs, job_id, changes, expected_status, expected_version
    )
    return None if row is None else IncomingJob(**row)


async def take_incoming_job(
    conn: AsyncConnection, job: IncomingJob, node_id: str
) -> IncomingJob | None:
    """Make ``node_id`` the node of the job read as ``job`` (another node's, which died), if
    it is unchanged; None if another change got to it first."""
    return await update_incoming_job(
        conn, job.id, {"node_id": node_id}, expected_version=job.version
    )


async def delete_incoming_job(conn: AsyncConnection, job_id: int) -> bool:
    """Remove an incoming job (routed and archived, or cancelled); False if it was not there."""
    result = await conn.execute(delete(incoming_jobs).where(incoming_jobs.c.id == job_id))
    return result.rowcount == 1
