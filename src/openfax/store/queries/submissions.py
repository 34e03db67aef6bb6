"""Submissions: one document to several recipients, queued as one job each under an
idempotency key."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import MessageNotFoundError
from openfax.model.records import SubmitResult
from openfax.store.queries._shared import dialect_insert
from openfax.store.queries.outgoing_jobs import delete_jobs
from openfax.store.records import OutgoingJob, Submission, values
from openfax.store.schema import incoming_jobs, messages, outgoing_jobs, submissions


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
    statement = dialect_insert(conn, submissions).values({**values(submission), "job_ids": ordered})
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


LISTED_SUBMISSION_COLUMNS = (
    submissions.c.id,
    submissions.c.sender,
    submissions.c.subject,
    submissions.c.document_name,
    submissions.c.schedule_type,
    submissions.c.receipt_type,
    submissions.c.receipt_address,
    submissions.c.cover_page_type,
    submissions.c.group_broadcast_receipts,
    submissions.c.submitted_at,
    submissions.c.owner,
)
"""What a job listing shows of a job's submission (none of which changes once queued), in
the order ``openfax.service.views.submission_fields`` unpacks them."""


async def get_listed_submissions(conn: AsyncConnection, ids: Collection[int]) -> list[Row[Any]]:
    """The ``LISTED_SUBMISSION_COLUMNS`` of the submissions among ``ids``, in no order."""
    query = select(*LISTED_SUBMISSION_COLUMNS).where(submissions.c.id.in_(ids))
    return list(await conn.execute(query))


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
