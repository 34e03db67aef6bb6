"""Everything the fax service asks of its database, one function per question.

Every function works on a connection the caller took from ``Database.transaction()`` (for
changes) or ``Database.read()`` and never commits by itself, so a job's state change, its call
attempt and its events commit together or not at all. Functions that depend on the time take
``now`` from the caller: the store never reads a clock. The store holds no rules: what a
status means, when to retry or what to cancel is the scheduler's business.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import MessageNotFoundError
from openfax.model import DEFAULT_PREFETCH_SIZE, JobStatus
from openfax.model.paging import MessageCursor, QueueCursor, QueueKey, QueuePage
from openfax.store.records import (
    Account,
    AccountToken,
    AuditEntry,
    CallAttempt,
    DeliveryStatus,
    Device,
    Direction,
    Event,
    GroupGrant,
    IncomingJob,
    Message,
    OutboundGroup,
    OutboundRule,
    OutgoingJob,
    Receipt,
    RoutingDelivery,
    Submission,
    values,
)
from openfax.store.schema import (
    IS_CLAIMABLE,
    account_tokens,
    accounts,
    audit,
    call_attempts,
    devices,
    events,
    group_grants,
    incoming_jobs,
    messages,
    outbound_groups,
    outbound_rules,
    outgoing_jobs,
    receipts,
    routing_deliveries,
    settings,
    submissions,
)

EVENTS_CHANNEL = "openfax_events"
"""PostgreSQL NOTIFY channel that carries the sequence number of each new event."""

EVENTS_LOCK = 0x0F4F_0002
"""PostgreSQL advisory lock taken by event writers, so sequence order is commit order."""

_MESSAGE_KIND = {Direction.IN: "incoming message", Direction.OUT: "outgoing message"}


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The outcome of ``insert_submission``: the jobs in recipient order, new or found again."""

    submission_id: int
    job_ids: list[int]
    created: bool


@dataclass(frozen=True, slots=True)
class RecoveredJobs:
    """Jobs whose node's lease lapsed: put back in the queue, or finished cancelling."""

    requeued: list[int]
    canceled: list[int]


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class MessagePage:
    """One batch of archived messages; ``next_cursor`` is None at the end of the archive."""

    messages: list[Message]
    next_cursor: MessageCursor | None


# --- Submissions and outgoing jobs -------------------------------------------------------------


async def insert_submission(
    conn: AsyncConnection, submission: Submission, jobs: Sequence[OutgoingJob]
) -> SubmitResult:
    """Queue a submission with one job per recipient.

    A submission whose idempotency key its owner used before is not queued again: the jobs
    queued under that key are returned with ``created=False`` (another owner's key is
    another key). Concurrent submissions of an account with the same key resolve to one of
    them on both backends (``ON CONFLICT DO NOTHING`` waits for the other); the unique
    constraint does not hold for the service's own (no owner: NULL), whose key is looked up
    first instead.
    """
    strays = [job.id for job in jobs if job.submission_id != submission.id]
    if strays:
        raise ValueError(f"jobs {strays} do not belong to submission {submission.id}")
    ordered = [job.id for job in sorted(jobs, key=lambda job: job.recipient_index)]
    statement = _insert(conn, submissions).values({**values(submission), "job_ids": ordered})
    if submission.idempotency_key is None:
        await conn.execute(statement)
    elif submission.owner_id is None:
        found = await find_submission(conn, None, submission.idempotency_key)
        if found is not None:
            return SubmitResult(found.id, found.job_ids, created=False)
        await conn.execute(statement)
    else:
        keyed = statement.on_conflict_do_nothing(index_elements=["owner_id", "idempotency_key"])
        if await conn.scalar(keyed.returning(submissions.c.id)) is None:
            found = await find_submission(conn, submission.owner_id, submission.idempotency_key)
            assert found is not None, "the conflicting submission is committed when we are told"
            return SubmitResult(found.id, found.job_ids, created=False)
    if jobs:
        await conn.execute(insert(outgoing_jobs), [values(job) for job in jobs])
    return SubmitResult(submission.id, ordered, created=True)


async def release_body(conn: AsyncConnection, submission_id: int) -> str | None:
    """Once no job of the submission is left in the queue, forget its shared body document
    and return its spool path (to delete after commit); None while jobs still need it."""
    body: str | None = await conn.scalar(
        select(submissions.c.body_path).where(
            submissions.c.id == submission_id,
            ~exists().where(outgoing_jobs.c.submission_id == submission_id),
        )
    )
    if body is not None:
        await conn.execute(
            update(submissions).where(submissions.c.id == submission_id).values(body_path=None)
        )
    return body


async def spool_references(conn: AsyncConnection) -> set[str]:
    """Every spool path a row refers to: what the spool must keep. A new column naming
    spool files belongs here, or the housekeeping takes its files for orphans."""
    columns = (
        submissions.c.body_path,
        outgoing_jobs.c.document_path,
        outgoing_jobs.c.cover_path,
        messages.c.tiff_path,
        incoming_jobs.c.receive_path,
    )
    found: set[str] = set()
    for column in columns:
        found.update(await conn.scalars(select(column).where(column.is_not(None)).distinct()))
    return found


async def find_submission(
    conn: AsyncConnection, owner_id: int | None, idempotency_key: str
) -> Submission | None:
    """The submission the account ``owner_id`` (None: the service itself) queued under
    ``idempotency_key``, whether or not its jobs are still in the queue; None if the key is
    new to that owner."""
    owner = submissions.c.owner_id
    row = (
        await conn.execute(
            select(submissions)
            .where(
                owner.is_(None) if owner_id is None else owner == owner_id,
                submissions.c.idempotency_key == idempotency_key,
            )
            .limit(1)
        )
    ).first()
    return None if row is None else Submission(**row._mapping)


async def get_submission(conn: AsyncConnection, submission_id: int) -> Submission:
    """The submission with that id; ``MessageNotFoundError`` if there is none."""
    row = (await conn.execute(select(submissions).where(submissions.c.id == submission_id))).first()
    if row is None:
        raise MessageNotFoundError("submission", submission_id)
    return Submission(**row._mapping)


async def get_submissions(conn: AsyncConnection, ids: Collection[int]) -> dict[int, Submission]:
    """The submissions among ``ids`` that exist, by id (to show a page of jobs)."""
    rows = await conn.execute(select(submissions).where(submissions.c.id.in_(ids)))
    return {row.id: Submission(**row._mapping) for row in rows}


async def delete_submission(conn: AsyncConnection, submission_id: int) -> bool:
    """Remove a submission with its jobs and their call attempts; False if it was not there."""
    job_ids = await conn.scalars(
        select(outgoing_jobs.c.id).where(outgoing_jobs.c.submission_id == submission_id)
    )
    await delete_jobs(conn, list(job_ids))
    result = await conn.execute(delete(submissions).where(submissions.c.id == submission_id))
    return result.rowcount == 1


async def prune_submissions(conn: AsyncConnection, *, submitted_before: datetime) -> int:
    """Forget submissions made before ``submitted_before`` of which no job and no archived
    message is left (their idempotency keys with them); returns how many."""
    result = await conn.execute(
        delete(submissions).where(
            submissions.c.submitted_at < submitted_before,
            ~exists().where(outgoing_jobs.c.submission_id == submissions.c.id),
            ~exists().where(messages.c.submission_id == submissions.c.id),
        )
    )
    return result.rowcount


async def get_job(conn: AsyncConnection, job_id: int, *, for_update: bool = False) -> OutgoingJob:
    """The outgoing job with that id; ``MessageNotFoundError`` if there is none.

    ``for_update`` locks the row until the transaction ends (PostgreSQL; a SQLite write
    transaction holds the whole database already), so a change decided on what was read
    cannot lose a race with another writer.
    """
    query = select(outgoing_jobs).where(outgoing_jobs.c.id == job_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise MessageNotFoundError("outgoing job", job_id)
    return OutgoingJob(**row._mapping)


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
    its id; see ``_queue_page``)."""
    where = None
    if owner is not None:
        owned = select(submissions.c.id).where(submissions.c.owner_id == owner)
        where = outgoing_jobs.c.submission_id.in_(owned)
    at = outgoing_jobs.c.created_at
    return await _queue_page(conn, at, OutgoingJob, after, limit, where=where)


async def claim_next_job(
    conn: AsyncConnection,
    *,
    node_id: str,
    device_id: int,
    now: datetime,
    lease_until: datetime,
    exclude_numbers: Collection[str] = (),
    only_numbers: Collection[str] | None = None,
) -> OutgoingJob | None:
    """Take the next ready job for ``device_id`` on ``node_id``, or None if none is ready.

    Ready: PENDING or RETRYING (NOLINE allowed, PAUSED not) and scheduled at or before ``now``;
    the highest priority first, then the earliest schedule, then the id. The job becomes
    INPROGRESS on that device under a lease until ``lease_until`` (losing its NOLINE bit), and
    its attempt count grows. Jobs to ``exclude_numbers`` (the device's own, the numbers outbound
    routing sends through other devices) are left alone, and with ``only_numbers`` only jobs
    to those numbers are taken.
    One statement: on PostgreSQL the row is locked with SKIP LOCKED so concurrent claimers
    take different jobs; on SQLite the write transaction already holds the database lock.
    """
    ready = select(outgoing_jobs.c.id).where(IS_CLAIMABLE, outgoing_jobs.c.scheduled_at <= now)
    if exclude_numbers:
        ready = ready.where(outgoing_jobs.c.recipient_number.not_in(list(exclude_numbers)))
    if only_numbers is not None:
        ready = ready.where(outgoing_jobs.c.recipient_number.in_(list(only_numbers)))
    candidate = (
        ready.order_by(
            outgoing_jobs.c.priority.desc(), outgoing_jobs.c.scheduled_at, outgoing_jobs.c.id
        )
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
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


async def ready_numbers(conn: AsyncConnection, *, now: datetime) -> set[str]:
    """The recipient numbers of the jobs ready at ``now`` (what outbound routing decides on)."""
    ready = select(outgoing_jobs.c.recipient_number).where(
        IS_CLAIMABLE, outgoing_jobs.c.scheduled_at <= now
    )
    return set((await conn.execute(ready.distinct())).scalars())


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
    row = await _update_guarded(
        conn, outgoing_jobs, job_id, changes, expected_status, expected_version
    )
    return None if row is None else OutgoingJob(**row)


async def recover_expired_leases(
    conn: AsyncConnection, *, now: datetime, retry_at: datetime, keep: Collection[int] = ()
) -> RecoveredJobs:
    """Release the jobs whose lease lapsed before ``now`` (their node died or hung), except
    ``keep`` (the jobs the calling node is itself in a call for).

    An INPROGRESS job goes back to RETRYING, due at ``retry_at``: later than a node that only
    hung can take to find its lease lost and hang up, so two calls never carry one job. A
    CANCELING job, whose call can no longer be hung up by anyone else, becomes CANCELED.
    Either way the lease is cleared.
    """
    expired = and_(outgoing_jobs.c.lease_until < now, outgoing_jobs.c.id.not_in(list(keep)))
    released = {
        "node_id": None,
        "lease_until": None,
        "version": outgoing_jobs.c.version + 1,
    }
    requeued = await conn.scalars(
        update(outgoing_jobs)
        .where(outgoing_jobs.c.status == JobStatus.INPROGRESS, expired)
        .values(status=JobStatus.RETRYING, scheduled_at=retry_at, **released)
        .returning(outgoing_jobs.c.id)
    )
    requeued_ids = list(requeued)
    canceled = await conn.scalars(
        update(outgoing_jobs)
        .where(outgoing_jobs.c.status == JobStatus.CANCELING, expired)
        .values(status=JobStatus.CANCELED, **released)
        .returning(outgoing_jobs.c.id)
    )
    return RecoveredJobs(requeued=requeued_ids, canceled=list(canceled))


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


# --- Call attempts -----------------------------------------------------------------------------


async def record_call_attempt(conn: AsyncConnection, attempt: CallAttempt) -> None:
    """Note a call as it starts (or, complete, once it ended)."""
    await conn.execute(insert(call_attempts).values(values(attempt)))


async def finish_call_attempt(
    conn: AsyncConnection, job_id: int, attempt: int, changes: Mapping[str, Any]
) -> bool:
    """Fill in how a call ended (``ended_at``, result, transcript ...); False if unknown."""
    _check_columns(call_attempts, changes, frozen={"job_id", "attempt"})
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


# --- Incoming jobs -----------------------------------------------------------------------------


async def insert_incoming_job(conn: AsyncConnection, job: IncomingJob) -> None:
    """Put a call being received into the incoming queue."""
    await conn.execute(insert(incoming_jobs).values(values(job)))


async def get_incoming_job(
    conn: AsyncConnection, job_id: int, *, for_update: bool = False
) -> IncomingJob:
    """The incoming job with that id; ``MessageNotFoundError`` if there is none.
    ``for_update`` locks the row, as in ``get_job``."""
    query = select(incoming_jobs).where(incoming_jobs.c.id == job_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise MessageNotFoundError("incoming job", job_id)
    return IncomingJob(**row._mapping)


async def count_queue_by_status(
    conn: AsyncConnection, direction: Direction
) -> dict[JobStatus, int]:
    """How many jobs of the incoming or the outgoing queue are in each status (modifier bits
    included), counted by the database rather than by reading every job."""
    table = incoming_jobs if direction is Direction.IN else outgoing_jobs
    query = select(table.c.status, func.count()).group_by(table.c.status)
    return {JobStatus(status): count for status, count in await conn.execute(query)}


async def list_incoming_jobs(
    conn: AsyncConnection, *, node_id: str | None = None
) -> list[IncomingJob]:
    """The incoming queue by start time, all of it or one node's."""
    query = select(incoming_jobs).order_by(incoming_jobs.c.started_at, incoming_jobs.c.id)
    if node_id is not None:
        query = query.where(incoming_jobs.c.node_id == node_id)
    return [IncomingJob(**row._mapping) for row in await conn.execute(query)]


async def list_incoming_jobs_page(
    conn: AsyncConnection, *, after: QueueCursor | None = None, limit: int = DEFAULT_PREFETCH_SIZE
) -> QueuePage[IncomingJob]:
    """One page of the incoming queue by start time (see ``_queue_page``)."""
    return await _queue_page(conn, incoming_jobs.c.started_at, IncomingJob, after, limit)


async def _queue_page(
    conn: AsyncConnection,
    at: Any,
    record: Callable[..., R],
    after: QueueCursor | None,
    limit: int,
    *,
    where: ColumnElement[bool] | None = None,
) -> QueuePage[R]:
    """One page of a queue snapshot, ordered by ``(at, id)`` (keyset pagination on the
    queue's index), of the jobs ``where`` selects (all when None).

    The first page (``after`` None) fixes the snapshot: its last job (``until``) and its
    size. Every page holds the jobs after the cursor up to ``until`` as they are when the
    page is read, so none shows twice and none still queued is skipped; jobs queued after the
    snapshot are not in it, and jobs that left the queue before their page was read are not
    shown. Each page costs an index range scan however deep into the queue it is.
    """
    table = at.table
    key = tuple_(at, table.c.id)
    selected = [] if where is None else [where]
    query = select(table).where(*selected).order_by(at, table.c.id).limit(limit + 1)
    if after is None:
        # The snapshot's size and last job come with the first page, in the same statement.
        newest = (
            select(at, table.c.id).where(*selected).order_by(at.desc(), table.c.id.desc()).limit(1)
        )
        query = query.add_columns(
            select(func.count()).select_from(table).where(*selected).scalar_subquery(),
            newest.with_only_columns(at).scalar_subquery(),
            newest.with_only_columns(table.c.id).scalar_subquery(),
        )
    else:
        query = query.where(_up_to(key, after.until), key > (after.after.at, after.after.id))
    rows = list(await conn.execute(query))
    if not rows:
        return QueuePage([], 0 if after is None else after.count, None)
    names = list(table.c.keys())
    if after is None:
        total, newest_at, newest_id = rows[0][len(names) :]
        until = QueueKey(newest_at, newest_id)
    else:
        total, until = after.count, after.until
    fields = [dict(zip(names, row, strict=False)) for row in rows[:limit]]
    jobs = [record(**values) for values in fields]
    if len(rows) <= limit:
        return QueuePage(jobs, total, None)
    last = fields[-1]
    return QueuePage(jobs, total, QueueCursor(QueueKey(last[at.name], last["id"]), until, total))


def _up_to(key: Any, until: QueueKey) -> ColumnElement[bool]:
    return key <= (until.at, until.id)  # type: ignore[no-any-return]


async def update_incoming_job(
    conn: AsyncConnection,
    job_id: int,
    changes: Mapping[str, Any],
    *,
    expected_status: JobStatus | None = None,
    expected_version: int | None = None,
) -> IncomingJob | None:
    """Compare-and-set update of an incoming job, as ``update_job``."""
    row = await _update_guarded(
        conn, incoming_jobs, job_id, changes, expected_status, expected_version
    )
    return None if row is None else IncomingJob(**row)


async def delete_incoming_job(conn: AsyncConnection, job_id: int) -> bool:
    """Remove an incoming job (routed and archived, or cancelled); False if it was not there."""
    result = await conn.execute(delete(incoming_jobs).where(incoming_jobs.c.id == job_id))
    return result.rowcount == 1


# --- Archives ----------------------------------------------------------------------------------


async def archive_message(conn: AsyncConnection, message: Message) -> None:
    """Add a sent or received fax to its archive."""
    await conn.execute(insert(messages).values(values(message)))


async def get_message(conn: AsyncConnection, direction: Direction, message_id: int) -> Message:
    """The archived message with that id; ``MessageNotFoundError`` if there is none."""
    row = (
        await conn.execute(
            select(messages).where(messages.c.id == message_id, messages.c.direction == direction)
        )
    ).first()
    if row is None:
        raise MessageNotFoundError(_MESSAGE_KIND[direction], message_id)
    return Message(**row._mapping)


async def list_messages(
    conn: AsyncConnection,
    direction: Direction,
    *,
    owner: int | None = None,
    after: MessageCursor | None = None,
    limit: int = DEFAULT_PREFETCH_SIZE,
) -> MessagePage:
    """One page of an archive (or of the account ``owner``'s messages in it, by its id),
    oldest first, starting after ``after`` (keyset pagination).

    Pages stay correct while messages are added or deleted, and each costs an index range
    scan however deep into the archive it is.
    """
    query = (
        select(messages)
        .where(messages.c.direction == direction)
        .order_by(messages.c.archived_at, messages.c.id)
        .limit(limit + 1)
    )
    if owner is not None:
        query = query.where(messages.c.owner_id == owner)
    if after is not None:
        query = query.where(
            or_(
                messages.c.archived_at > after.archived_at,
                (messages.c.archived_at == after.archived_at) & (messages.c.id > after.id),
            )
        )
    page = [Message(**row._mapping) for row in await conn.execute(query)]
    if len(page) <= limit:
        return MessagePage(page, None)
    last = page[limit - 1]
    return MessagePage(page[:limit], MessageCursor(last.archived_at, last.id))


async def expired_messages(
    conn: AsyncConnection, direction: Direction, *, archived_before: datetime, limit: int = 1000
) -> list[Message]:
    """The oldest messages of an archive archived before ``archived_before``, at most
    ``limit`` of them (the age limit deletes them in batches)."""
    rows = await conn.execute(
        select(messages)
        .where(messages.c.direction == direction, messages.c.archived_at < archived_before)
        .order_by(messages.c.archived_at, messages.c.id)
        .limit(limit)
    )
    return [Message(**row._mapping) for row in rows]


async def archive_size(conn: AsyncConnection) -> int:
    """Bytes of every archived fax, both archives (FAXCOMEX ``ArchiveSizeLow/High``)."""
    return sum((await archive_sizes(conn)).values())


async def archive_sizes(conn: AsyncConnection, owner_id: int | None = None) -> dict[Direction, int]:
    """Bytes of the archived faxes of each archive (FAXCOMEX ``SizeLow/High`` of an
    archive), of one account's when ``owner_id`` is given; an empty archive is missing."""
    query = select(messages.c.direction, func.sum(messages.c.size)).group_by(messages.c.direction)
    if owner_id is not None:
        query = query.where(messages.c.owner_id == owner_id)
    rows = await conn.execute(query)
    return {Direction(row[0]): int(row[1] or 0) for row in rows}


async def update_message(
    conn: AsyncConnection, direction: Direction, message_id: int, changes: Mapping[str, Any]
) -> Message:
    """Change an archived message (read flag, reassignment); ``MessageNotFoundError`` if gone."""
    _check_columns(messages, changes, frozen={"id", "direction"})
    row = (
        await conn.execute(
            update(messages)
            .where(messages.c.id == message_id, messages.c.direction == direction)
            .values(dict(changes))
            .returning(*messages.c)
        )
    ).first()
    if row is None:
        raise MessageNotFoundError(_MESSAGE_KIND[direction], message_id)
    return Message(**row._mapping)


async def delete_message(conn: AsyncConnection, direction: Direction, message_id: int) -> Message:
    """Remove a message from its archive and return it (so its TIFF can leave the spool).

    An outgoing message's call attempts go too, unless its job is still in the queue.
    """
    if direction is Direction.OUT:
        queued = select(outgoing_jobs.c.id).where(outgoing_jobs.c.id == message_id)
        await conn.execute(
            delete(call_attempts).where(
                call_attempts.c.job_id == message_id, call_attempts.c.job_id.not_in(queued)
            )
        )
    row = (
        await conn.execute(
            delete(messages)
            .where(messages.c.id == message_id, messages.c.direction == direction)
            .returning(*messages.c)
        )
    ).first()
    if row is None:
        raise MessageNotFoundError(_MESSAGE_KIND[direction], message_id)
    return Message(**row._mapping)


# --- Devices -----------------------------------------------------------------------------------


async def ensure_device(conn: AsyncConnection, provider: str, name: str, **defaults: Any) -> Device:
    """The device a provider offers under ``name``, added with ``defaults`` the first time.

    A device keeps its id and its configuration across restarts; ``defaults`` only fill a
    new row.
    """
    new = values(Device(id=0, provider=provider, name=name, **defaults))
    del new["id"]
    await conn.execute(
        _insert(conn, devices)
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
    _check_columns(devices, changes, frozen={"id", "provider", "name"})
    row = (
        await conn.execute(
            update(devices)
            .where(devices.c.id == device_id)
            .values(dict(changes))
            .returning(*devices.c)
        )
    ).first()
    return None if row is None else Device(**row._mapping)


# --- Settings ----------------------------------------------------------------------------------


async def get_setting(conn: AsyncConnection, key: str, default: Any = None) -> Any:
    """The JSON value stored under ``key``, or ``default``."""
    row = (await conn.execute(select(settings.c.value).where(settings.c.key == key))).first()
    return default if row is None else row.value


async def get_settings(conn: AsyncConnection) -> dict[str, Any]:
    """Every setting, by key."""
    rows = await conn.execute(select(settings.c.key, settings.c.value))
    return {row.key: row.value for row in rows}


async def set_setting(conn: AsyncConnection, key: str, value: Any, *, now: datetime) -> None:
    """Store a JSON value under ``key``, replacing any previous one."""
    statement = _insert(conn, settings).values(key=key, value=value, updated_at=now)
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


# --- Outbound routing ---------------------------------------------------------------------------


async def list_outbound_groups(conn: AsyncConnection) -> list[OutboundGroup]:
    """The stored outbound routing groups, by name."""
    rows = await conn.execute(select(outbound_groups).order_by(outbound_groups.c.name))
    return [OutboundGroup(name=row.name, device_ids=list(row.device_ids)) for row in rows]


async def put_outbound_group(conn: AsyncConnection, group: OutboundGroup) -> None:
    """Store a group, replacing the one of that name."""
    statement = _insert(conn, outbound_groups).values(values(group))
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["name"], set_={"device_ids": statement.excluded.device_ids}
        )
    )


async def delete_outbound_group(conn: AsyncConnection, name: str) -> bool:
    """Remove a group; False if there was none of that name."""
    result = await conn.execute(delete(outbound_groups).where(outbound_groups.c.name == name))
    return bool(result.rowcount)


async def list_outbound_rules(conn: AsyncConnection) -> list[OutboundRule]:
    """The stored outbound routing rules, by country code then area code."""
    query = select(outbound_rules).order_by(
        outbound_rules.c.country_code, outbound_rules.c.area_code
    )
    return [OutboundRule(**row._mapping) for row in await conn.execute(query)]


async def put_outbound_rule(conn: AsyncConnection, rule: OutboundRule) -> None:
    """Store a rule, replacing the one for the same country and area code."""
    statement = _insert(conn, outbound_rules).values(values(rule))
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["country_code", "area_code"],
            set_={
                "group_name": statement.excluded.group_name,
                "device_id": statement.excluded.device_id,
                "t38_policy": statement.excluded.t38_policy,
            },
        )
    )


async def delete_outbound_rule(conn: AsyncConnection, country_code: int, area_code: int) -> bool:
    """Remove a rule; False if there was none for that country and area code."""
    result = await conn.execute(
        delete(outbound_rules).where(
            outbound_rules.c.country_code == country_code,
            outbound_rules.c.area_code == area_code,
        )
    )
    return bool(result.rowcount)


# --- Inbound routing deliveries ----------------------------------------------------------------


async def insert_routing_deliveries(
    conn: AsyncConnection, deliveries: Sequence[RoutingDelivery]
) -> None:
    """Record the routing methods a received fax is to go through."""
    if deliveries:
        await conn.execute(insert(routing_deliveries), [values(d) for d in deliveries])


async def list_routing_deliveries(
    conn: AsyncConnection,
    *,
    message_id: int | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 1000,
) -> list[RoutingDelivery]:
    """Deliveries of one fax in the order its methods run, or (``status``) the most recently
    changed first, as an administrator reads the failed ones."""
    query = select(routing_deliveries).limit(limit)
    if message_id is not None:
        query = query.where(routing_deliveries.c.message_id == message_id).order_by(
            routing_deliveries.c.priority, routing_deliveries.c.id
        )
    else:
        query = query.order_by(routing_deliveries.c.updated_at.desc(), routing_deliveries.c.id)
    if status is not None:
        query = query.where(routing_deliveries.c.status == status)
    return [RoutingDelivery(**row._mapping) for row in await conn.execute(query)]


async def get_routing_delivery(conn: AsyncConnection, delivery_id: int) -> RoutingDelivery:
    """One delivery; MessageNotFoundError if there is none."""
    row = (
        await conn.execute(select(routing_deliveries).where(routing_deliveries.c.id == delivery_id))
    ).first()
    if row is None:
        raise MessageNotFoundError("routing delivery", delivery_id)
    return RoutingDelivery(**row._mapping)


async def update_routing_delivery(
    conn: AsyncConnection, delivery_id: int, changes: Mapping[str, Any]
) -> RoutingDelivery | None:
    """Change a delivery (status, attempts, next attempt, error); None if it is gone."""
    _check_columns(routing_deliveries, changes, frozen={"id", "message_id", "method"})
    row = (
        await conn.execute(
            update(routing_deliveries)
            .where(routing_deliveries.c.id == delivery_id)
            .values(dict(changes))
            .returning(*routing_deliveries.c)
        )
    ).first()
    return None if row is None else RoutingDelivery(**row._mapping)


# --- Delivery receipts -------------------------------------------------------------------------


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
    row = (await conn.execute(select(receipts).where(receipts.c.id == receipt_id))).first()
    if row is None:
        raise MessageNotFoundError("receipt", receipt_id)
    return Receipt(**row._mapping)


async def update_receipt(
    conn: AsyncConnection, receipt_id: int, changes: Mapping[str, Any]
) -> Receipt | None:
    """Change a receipt (status, attempts, next attempt, error); None if it is gone."""
    _check_columns(receipts, changes, frozen={"id", "submission_id", "job_id"})
    row = (
        await conn.execute(
            update(receipts)
            .where(receipts.c.id == receipt_id)
            .values(dict(changes))
            .returning(*receipts.c)
        )
    ).first()
    return None if row is None else Receipt(**row._mapping)


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
    if submission_id is not None:
        query = query.where(receipts.c.submission_id == submission_id).order_by(
            receipts.c.created_at, receipts.c.id
        )
    else:
        query = query.order_by(receipts.c.updated_at.desc(), receipts.c.id)
    if status is not None:
        query = query.where(receipts.c.status == status)
    return [Receipt(**row._mapping) for row in await conn.execute(query)]


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


# --- Events ------------------------------------------------------------------------------------


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
) -> None:
    """Add several events of one type to the log in one statement (a submission's jobs),
    numbered in order; as ``append_event``, the last step of a transaction."""
    if not payloads:
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(EVENTS_LOCK)))
    await conn.execute(
        insert(events), [{"type": type, "payload": dict(p), "created_at": now} for p in payloads]
    )
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_notify(EVENTS_CHANNEL, "")))


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


# --- Helpers -----------------------------------------------------------------------------------


def _insert(conn: AsyncConnection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with the backend's ON CONFLICT clauses (the two dialects spell them alike)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _check_columns(table: Table, changes: Mapping[str, Any], frozen: Collection[str]) -> None:
    """Refuse a change to an unknown or unchangeable column: a programming error, said early."""
    bad = sorted(set(changes) - set(table.c.keys()) | set(changes) & set(frozen))
    if bad:
        raise ValueError(f"cannot change {table.name} columns {bad}")


async def _update_guarded(
    conn: AsyncConnection,
    table: Table,
    row_id: int,
    changes: Mapping[str, Any],
    expected_status: JobStatus | None,
    expected_version: int | None,
) -> RowMapping | None:
    """The compare-and-set UPDATE shared by both job tables; the new row, or None."""
    _check_columns(table, changes, frozen={"id", "version", "submission_id"})
    statement = update(table).where(table.c.id == row_id)
    if expected_status is not None:
        statement = statement.where(table.c.status == expected_status)
    if expected_version is not None:
        statement = statement.where(table.c.version == expected_version)
    statement = statement.values({**changes, "version": table.c.version + 1})
    row = (await conn.execute(statement.returning(*table.c))).first()
    return None if row is None else row._mapping


# --- The audit trail ------------------------------------------------------------------------------
# Append-only: there is no query that changes or removes an entry (and the database refuses).


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


# --- Accounts and rights ----------------------------------------------------------------------


async def get_account(conn: AsyncConnection, name: str) -> Account | None:
    """The account of that name, or None."""
    row = (await conn.execute(select(accounts).where(accounts.c.name == name))).first()
    return None if row is None else Account(**row._mapping)


async def list_accounts(conn: AsyncConnection) -> list[Account]:
    """Every account, by name."""
    rows = await conn.execute(select(accounts).order_by(accounts.c.name))
    return [Account(**row._mapping) for row in rows]


async def insert_account(conn: AsyncConnection, account: Account) -> bool:
    """Add an account; False (nothing changed) if one of that name exists. (RETURNING, not
    the row count: psycopg counts -1 for an INSERT that may do nothing on conflict.)"""
    statement = _insert(conn, accounts).values(values(account)).on_conflict_do_nothing()
    return await conn.scalar(statement.returning(accounts.c.name)) is not None


async def update_account(
    conn: AsyncConnection, name: str, changes: Mapping[str, Any]
) -> Account | None:
    """Change an account's password hash or rights; None if there is no such account."""
    _check_columns(accounts, changes, frozen=("name", "id", "created_at"))
    row = (
        await conn.execute(
            update(accounts)
            .where(accounts.c.name == name)
            .values(dict(changes))
            .returning(*accounts.c)
        )
    ).first()
    return None if row is None else Account(**row._mapping)


async def delete_account(conn: AsyncConnection, name: str) -> bool:
    """Remove an account and its tokens; False if there was none. Its faxes stay."""
    await conn.execute(delete(account_tokens).where(account_tokens.c.account_name == name))
    result = await conn.execute(delete(accounts).where(accounts.c.name == name))
    return result.rowcount == 1


async def insert_token(conn: AsyncConnection, token: AccountToken) -> None:
    """Add an API token (its hash) to an account."""
    await conn.execute(insert(account_tokens).values(values(token)))


async def list_tokens(conn: AsyncConnection, account_name: str) -> list[AccountToken]:
    """An account's tokens, oldest first."""
    query = (
        select(account_tokens)
        .where(account_tokens.c.account_name == account_name)
        .order_by(account_tokens.c.created_at, account_tokens.c.id)
    )
    return [AccountToken(**row._mapping) for row in await conn.execute(query)]


async def find_token(conn: AsyncConnection, token_hash: str) -> AccountToken | None:
    """The token with that hash, or None."""
    query = select(account_tokens).where(account_tokens.c.token_hash == token_hash)
    row = (await conn.execute(query)).first()
    return None if row is None else AccountToken(**row._mapping)


async def delete_token(conn: AsyncConnection, account_name: str, token_id: int) -> bool:
    """Revoke one of an account's tokens; False if it has no such token."""
    result = await conn.execute(
        delete(account_tokens).where(
            account_tokens.c.account_name == account_name, account_tokens.c.id == token_id
        )
    )
    return result.rowcount == 1


async def list_group_grants(conn: AsyncConnection) -> list[GroupGrant]:
    """The rights granted to Unix groups, by group."""
    rows = await conn.execute(select(group_grants).order_by(group_grants.c.group_name))
    return [GroupGrant(**row._mapping) for row in rows]


async def put_group_grant(conn: AsyncConnection, grant: GroupGrant) -> None:
    """Grant a Unix group rights, replacing what it had."""
    statement = _insert(conn, group_grants).values(values(grant))
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[group_grants.c.group_name], set_={"rights": grant.rights}
        )
    )


async def delete_group_grant(conn: AsyncConnection, group_name: str) -> bool:
    """Take a Unix group's grant away; False if it had none."""
    result = await conn.execute(delete(group_grants).where(group_grants.c.group_name == group_name))
    return result.rowcount == 1
