"""The outgoing queue listed in its table form (:mod:`openfax.model.job_table`), through the
rows already shown.

Every change of a job bumps its row's ``version``, whichever node makes it. A page reads
the ids and versions of its jobs from the queue's index, and reads in full (its listed
columns only, no record, no view) only the jobs whose row it does not hold encoded at that
version; a submission's listed fields never change once it is queued. As HylaFAX's hfaxd
keeps each job it read until its queue file changes, a listing of a queue that changed
little since it was last listed costs an index scan and a join of bytes. What is kept is
bounded (``kept`` jobs and submissions; the oldest shown go first); a job that left the
queue is never shown again, since the page reads the queue first. The jobs this node
queues are kept as they are stored, so the listing after a submission reads none in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import format_id
from openfax.model.job_table import OutgoingJobTable, encode
from openfax.model.paging import QueueCursor
from openfax.service.views import outgoing_job_row, submission_fields
from openfax.store import Database, OutgoingJob, Submission
from openfax.store import queries as q
from openfax.store.queries.outgoing_jobs import LISTED_COLUMNS
from openfax.store.queries.submissions import LISTED_SUBMISSION_COLUMNS

JOB_ROWS_KEPT = 20_000
"""Jobs (and as many submissions) whose encoded rows are kept, about 300 bytes each: a queue
longer than that is listed as fast as one that changed."""

_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class _Shown:
    """A job's row as encoded at one version."""

    version: int
    submission_id: int
    row: bytes


class OutgoingJobListing:
    """Pages of the outgoing queue in the table form, for one service process."""

    def __init__(self, db: Database, kept: int = JOB_ROWS_KEPT) -> None:
        self._db = db
        self._kept = kept
        self._jobs: dict[int, _Shown] = {}
        self._submissions: dict[int, bytes] = {}

    async def page(
        self, after: QueueCursor | None, limit: int, *, owner: int | None = None
    ) -> OutgoingJobTable:
        """One page of a snapshot of the queue (or of the jobs of the account whose id is
        ``owner``), as ``OutgoingQueue.get_job_page`` reads it."""
        async with self._db.read() as conn:
            page = await q.list_job_versions_page(conn, owner=owner, after=after, limit=limit)
            held: dict[int, _Shown] = {}
            stale: list[int] = []
            for job in page.jobs:
                shown = self._jobs.get(job.id)
                if shown is not None and shown.version == job.version:
                    held[job.id] = shown
                else:
                    stale.append(job.id)
            fresh: dict[int, _Shown] = {}
            if stale:
                for row in await self._listed(conn, stale, after, limit, owner):
                    job_id, version, submission_id = row[:3]
                    if job_id in held:
                        continue
                    shown = _Shown(version, submission_id, encode(outgoing_job_row(row)))
                    held[job_id] = fresh[job_id] = shown
            # A stale job not read again left the queue between the two statements.
            jobs = [held[job.id] for job in page.jobs if job.id in held]
            submissions = await self._submission_fields(conn, {job.submission_id for job in jobs})
        for job_id, shown in fresh.items():
            self._keep(self._jobs, job_id, shown)
        return OutgoingJobTable(
            [job.row for job in jobs if job.submission_id in submissions],
            {format_id(key): value for key, value in submissions.items()},
            page.count,
            page.next_cursor,
        )

    def keep_queued(self, submission: Submission, jobs: Sequence[OutgoingJob]) -> None:
        """Keep the rows of the jobs this node has just queued, from their records as stored
        (each record's fields are its table's columns): the next listing shows them without
        reading them again."""
        fields = [getattr(submission, column.key) for column in LISTED_SUBMISSION_COLUMNS]
        self._keep(self._submissions, submission.id, encode(submission_fields(fields)))
        for job in jobs:
            row = outgoing_job_row([getattr(job, column.key) for column in LISTED_COLUMNS])
            self._keep(self._jobs, job.id, _Shown(job.version, job.submission_id, encode(row)))

    async def _listed(
        self,
        conn: AsyncConnection,
        stale: list[int],
        after: QueueCursor | None,
        limit: int,
        owner: int | None,
    ) -> Sequence[Sequence[Any]]:
        """The listed columns of the jobs ``stale`` of the page (some more when most of the
        page is stale: its range is read again, not each id)."""
        if len(stale) <= limit // 2:
            return await q.get_listed_jobs(conn, stale)
        page = await q.list_listed_jobs_page(conn, owner=owner, after=after, limit=limit)
        return page.jobs

    async def _submission_fields(self, conn: AsyncConnection, ids: set[int]) -> dict[int, bytes]:
        """The encoded fields of the submissions ``ids`` (those that still exist)."""
        found = {key: value for key in ids if (value := self._submissions.get(key)) is not None}
        missing = ids - found.keys()
        if missing:
            for row in await q.get_listed_submissions(conn, missing):
                found[row.id] = encoded = encode(submission_fields(row))
                self._keep(self._submissions, row.id, encoded)
        return found

    def _keep(self, kept: dict[int, _V], key: int, value: _V) -> None:
        """Keep ``value`` as the newest entry of ``kept``, dropping the oldest past the bound."""
        kept.pop(key, None)
        kept[key] = value
        if len(kept) > self._kept:
            del kept[next(iter(kept))]
