"""The outgoing queue: jobs, their claim by a line under a lease, and the lease's recovery."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import DEFAULT_PREFETCH_SIZE, JobStatus
from openfax.model.paging import QueueCursor, QueuePage
from openfax.store.queries._shared import get_row, update_guarded
from openfax.store.queries.queues import queue_page
from openfax.store.records import Direction, OutgoingJob
from openfax.store.schema import IS_CLAIMABLE, call_attempts, messages, outgoing_jobs, submissions

READY_JOBS_READ = 1000
"""How many ready jobs a round of the scheduler reads at most: far more than a node has
lines, so that lines that do not reach the first numbers still find work further on."""

_CLAIM_ORDER = (outgoing_jobs.c.priority.desc(), outgoing_jobs.c.scheduled_at, outgoing_jobs.c.id)
"""The order ready jobs are claimed in: the highest priority, the earliest schedule, the id."""


@dataclass(frozen=True, slots=True)
class ReadyJob:
    """A job ready to be sent, as the scheduler's plan sees it."""

    id: int
    recipient_number: str
    scheduled_at: datetime


async def get_job(conn: AsyncConnection, job_id: int, *, for_update: bool = False) -> OutgoingJob:
    """The outgoing job with that id; ``MessageNotFoundError`` if there is none.

    ``for_update`` locks the row until the transaction ends (PostgreSQL; a SQLite write
    transaction holds the whole database already), so a change decided on what was read
    cannot lose a race with another writer.
    """
    row = await get_row(conn, outgoing_jobs, "outgoing job", job_id, for_update=for_update)
    return OutgoingJob(**row)


async def list_jobs(
    conn: AsyncConnection, *, owner: int | None = None, submission_id: int | None = None
) -> list[OutgoingJob]:
    """The outgoing queue in order of creation, all of it, one account's (by its id), or
    one submission's."""
    query = select(outgoing_jobs).order_by(outgoing_jobs.c.created_at, outgoing_jobs.c.id)
    if owner is not None:
        owned = select(submissions.c.id).where(submissions.c.owner_id == owner)
        query = query.where(outgoing_jobs.c.submission_id.in_(owned))
    if submission_id is not None:
        query = query.where(outgoing_jobs.c.submission_id == submission_id)
    return [OutgoingJob(**row._mapping) for row in await conn.execute(query)]


async def list_jobs_page(
    conn: AsyncConnection,
    *,
    owner: int | None = None,
    after: QueueCursor | None = None,
    limit: int = DEFAULT_PREFETCH_SIZE,
) -> QueuePage[OutgoingJob]:
    """One page of the outgoing queue in order of creation, all of it or one account's (by
    its id; see ``queue_page``)."""
    where = None
    if owner is not None:
        owned = select(submissions.c.id).where(submissions.c.owner_id == owner)
        where = outgoing_jobs.c.submission_id.in_(owned)
    at = outgoing_jobs.c.created_at
    return await queue_page(conn, at, OutgoingJob, after, limit, where=where)


class JobVersion(NamedTuple):
    """A job's id and its row's version (which every change bumps): what a listing reads
    first, to read in full only the jobs it has not shown as they now are (a tuple: a
    listing makes thousands)."""

    id: int
    version: int


LISTED_COLUMNS = (
    outgoing_jobs.c.id,
    outgoing_jobs.c.version,
    outgoing_jobs.c.submission_id,
    outgoing_jobs.c.status,
    outgoing_jobs.c.extended_status,
    outgoing_jobs.c.extended_status_text,
    outgoing_jobs.c.failure_cause,
    outgoing_jobs.c.recipient,
    outgoing_jobs.c.recipient_number,
    outgoing_jobs.c.recipient_name,
    outgoing_jobs.c.total_pages,
    outgoing_jobs.c.pages_confirmed,
    outgoing_jobs.c.current_page,
    outgoing_jobs.c.bit_rate,
    outgoing_jobs.c.page_bytes,
    outgoing_jobs.c.page_bytes_sent,
    outgoing_jobs.c.size,
    outgoing_jobs.c.retries,
    outgoing_jobs.c.attempts,
    outgoing_jobs.c.device_id,
    outgoing_jobs.c.csid,
    outgoing_jobs.c.tsid,
    outgoing_jobs.c.priority,
    outgoing_jobs.c.original_scheduled_at,
    outgoing_jobs.c.scheduled_at,
    outgoing_jobs.c.started_at,
    outgoing_jobs.c.ended_at,
)
"""The columns a job listing shows, in the order ``openfax.service.views.outgoing_job_row``
unpacks them (the rest of a row stays on the server)."""


async def list_job_versions_page(
    conn: AsyncConnection,
    *,
    owner: int | None = None,
    after: QueueCursor | None = None,
    limit: int = DEFAULT_PREFETCH_SIZE,
) -> QueuePage[JobVersion]:
    """One page of the outgoing queue as ``list_jobs_page`` reads it, with only each job's id
    and version: an index range scan and the version of each row."""
    columns = (outgoing_jobs.c.id, outgoing_jobs.c.version)
    return await queue_page(
        conn, outgoing_jobs.c.created_at, JobVersion, after, limit,
        where=_owned_by(owner), columns=columns,
    )  # fmt: skip


async def list_listed_jobs_page(
    conn: AsyncConnection,
    *,
    owner: int | None = None,
    after: QueueCursor | None = None,
    limit: int = DEFAULT_PREFETCH_SIZE,
) -> QueuePage[tuple[Any, ...]]:
    """The same page with each job's ``LISTED_COLUMNS`` (in their order): what a listing
    reads when most of a page is new to it, cheaper than asking for each of its ids."""
    return await queue_page(
        conn, outgoing_jobs.c.created_at, _values, after, limit,
        where=_owned_by(owner), columns=LISTED_COLUMNS,
    )  # fmt: skip


async def get_listed_jobs(conn: AsyncConnection, ids: Collection[int]) -> list[Row[Any]]:
    """The ``LISTED_COLUMNS`` of the jobs among ``ids`` that are still queued, in no order."""
    return list(await conn.execute(select(*LISTED_COLUMNS).where(outgoing_jobs.c.id.in_(ids))))


def _owned_by(owner: int | None) -> ColumnElement[bool] | None:
    """The jobs of the account whose id is ``owner`` (None: every job)."""
    if owner is None:
        return None
    return outgoing_jobs.c.submission_id.in_(
        select(submissions.c.id).where(submissions.c.owner_id == owner)
    )


def _values(*values: Any) -> tuple[Any, ...]:
    return values


async def claim_next_job(
    conn: AsyncConnection,
    *,
    node_id: str,
    device_id: int,
    now: datetime,
    lease_until: datetime,
    job_ids: Collection[int] | None = None,
) -> OutgoingJob | None:
    """Take the next ready job for ``device_id`` on ``node_id``, or None if none is ready.

    Ready: PENDING or RETRYING (NOLINE allowed, PAUSED not) and scheduled at or before ``now``;
    the highest priority first, then the earliest schedule, then the id (``ready_jobs``'
    order). The job becomes INPROGRESS on that device under a lease until ``lease_until``
    (losing its NOLINE bit), and its attempt count grows. With ``job_ids``, only one of
    those jobs is taken (the one the scheduler's plan gave the line), if it is still ready.
    One statement: on PostgreSQL the row is locked with SKIP LOCKED so concurrent claimers
    take different jobs; on SQLite the write transaction already holds the database lock.
    """
    ready = select(outgoing_jobs.c.id).where(IS_CLAIMABLE, outgoing_jobs.c.scheduled_at <= now)
    if job_ids is not None:
        ready = ready.where(outgoing_jobs.c.id.in_(list(job_ids)))
    candidate = (
        ready.order_by(*_CLAIM_ORDER).limit(1).with_for_update(skip_locked=True).scalar_subquery()
    )
    claim = (
        update(outgoing_jobs)
        .where(outgoing_jobs.c.id == candidate)
        .values(
            status=JobStatus.INPROGRESS,
            node_id=node_id,
            lease_until=lease_until,
            device_id=device_id,
            attempts=outgoing_jobs.c.attempts + 1,
            version=outgoing_jobs.c.version + 1,
        )
        .returning(*outgoing_jobs.c)
    )
    row = (await conn.execute(claim)).first()
    return None if row is None else OutgoingJob(**row._mapping)


async def ready_jobs(
    conn: AsyncConnection, *, now: datetime, limit: int = READY_JOBS_READ
) -> list[ReadyJob]:
    """The jobs ready at ``now`` in claim order, at most ``limit`` of them: what the
    scheduler plans a round with."""
    columns = (outgoing_jobs.c.id, outgoing_jobs.c.recipient_number, outgoing_jobs.c.scheduled_at)
    query = (
        select(*columns)
        .where(IS_CLAIMABLE, outgoing_jobs.c.scheduled_at <= now)
        .order_by(*_CLAIM_ORDER)
        .limit(limit)
    )
    return [ReadyJob(*row) for row in await conn.execute(query)]


async def next_scheduled_at(conn: AsyncConnection, *, after: datetime) -> datetime | None:
    """The earliest time after ``after`` that a claimable (waiting, not paused) job is
    scheduled for; None when no job waits for a later time. A range scan of one index,
    however long the queue."""
    earliest = select(func.min(outgoing_jobs.c.scheduled_at)).where(
        IS_CLAIMABLE, outgoing_jobs.c.scheduled_at > after
    )
    found: datetime | None = (await conn.execute(earliest)).scalar_one()
    return found


async def mark_no_line(
    conn: AsyncConnection, *, now: datetime, numbers: Collection[str] | None = None
) -> list[OutgoingJob]:
    """Set the NOLINE bit on the jobs ready at ``now`` that have not got it (no line could
    take them), only those to ``numbers`` when given; the jobs changed."""
    waiting = update(outgoing_jobs).where(
        outgoing_jobs.c.status.in_([JobStatus.PENDING, JobStatus.RETRYING]),
        outgoing_jobs.c.scheduled_at <= now,
    )
    if numbers is not None:
        waiting = waiting.where(outgoing_jobs.c.recipient_number.in_(list(numbers)))
    rows = await conn.execute(
        waiting.values(
            status=outgoing_jobs.c.status + int(JobStatus.NOLINE),
            version=outgoing_jobs.c.version + 1,
        ).returning(*outgoing_jobs.c)
    )
    return [OutgoingJob(**row._mapping) for row in rows]


async def renew_lease(
    conn: AsyncConnection, job_id: int, *, node_id: str, attempt: int, lease_until: datetime
) -> JobStatus | None:
    """Extend the lease of a job in its call ``attempt`` on ``node_id``; the job's status, or
    None when that call no longer holds the job (another node took it, or it has ended): the
    node must hang up and write nothing more to the job."""
    status: JobStatus | None = await conn.scalar(
        update(outgoing_jobs)
        .where(
            outgoing_jobs.c.id == job_id,
            outgoing_jobs.c.node_id == node_id,
            outgoing_jobs.c.attempts == attempt,
        )
        .values(lease_until=lease_until)
        .returning(outgoing_jobs.c.status)
    )
    return status


async def update_job(
    conn: AsyncConnection,
    job_id: int,
    changes: Mapping[str, Any],
    *,
    expected_status: JobStatus | None = None,
    expected_version: int | None = None,
) -> OutgoingJob | None:
    """Apply ``changes`` (column -> value) if the job still has the expected status and version.

    Every applied update bumps ``version``. Returns the job as updated, or None if it is gone
    or another change got there first (compare-and-set: re-read and decide again).
    """
    row = await update_guarded(
        conn, outgoing_jobs, job_id, changes, expected_status, expected_version
    )
    return None if row is None else OutgoingJob(**row)


async def lapsed_jobs(
    conn: AsyncConnection, *, now: datetime, keep: Collection[int] = ()
) -> list[OutgoingJob]:
    """The jobs in a call (INPROGRESS or CANCELING) whose lease lapsed before ``now``: their
    node died or hung. Not ``keep`` (the jobs the calling node is itself in a call for).

    Each is locked until the transaction ends, SKIP LOCKED on PostgreSQL: nodes looking at
    once recover different jobs, and a node whose call still holds one cannot renew its lease
    meanwhile (``interrupt_job`` then clears it).
    """
    query = (
        select(outgoing_jobs)
        .where(
            outgoing_jobs.c.status.in_([JobStatus.INPROGRESS, JobStatus.CANCELING]),
            outgoing_jobs.c.lease_until < now,
            outgoing_jobs.c.id.not_in(list(keep)),
        )
        .order_by(outgoing_jobs.c.id)
        .with_for_update(skip_locked=True)
    )
    return [OutgoingJob(**row._mapping) for row in await conn.execute(query)]


async def delete_jobs(conn: AsyncConnection, job_ids: Collection[int]) -> set[int]:
    """Remove jobs from the outgoing queue; returns the ids of those that were there. Their
    call attempts go with them unless the job was archived (the message keeps them)."""
    archived = select(messages.c.id).where(messages.c.direction == Direction.OUT)
    await conn.execute(
        delete(call_attempts).where(
            call_attempts.c.job_id.in_(job_ids), call_attempts.c.job_id.not_in(archived)
        )
    )
    removed = await conn.scalars(
        delete(outgoing_jobs).where(outgoing_jobs.c.id.in_(job_ids)).returning(outgoing_jobs.c.id)
    )
    return set(removed)


async def archived_ids(conn: AsyncConnection, job_ids: Collection[int]) -> set[int]:
    """Which of these jobs are in the outgoing archive (the message keeps their document)."""
    rows = await conn.scalars(
        select(messages.c.id).where(
            messages.c.direction == Direction.OUT, messages.c.id.in_(job_ids)
        )
    )
    return set(rows)


async def expired_jobs(
    conn: AsyncConnection, statuses: Collection[JobStatus], *, ended_before: datetime
) -> list[OutgoingJob]:
    """The jobs in one of ``statuses`` (exactly) that ended before ``ended_before``."""
    rows = await conn.execute(
        select(outgoing_jobs)
        .where(outgoing_jobs.c.status.in_(statuses), outgoing_jobs.c.ended_at < ended_before)
        .order_by(outgoing_jobs.c.ended_at, outgoing_jobs.c.id)
    )
    return [OutgoingJob(**row._mapping) for row in rows]
