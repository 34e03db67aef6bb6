"""The outgoing queue's table form as the service builds it from the store
(``service.job_listing``), on SQLite and PostgreSQL: each row read back is the job's view,
field for field, when the rows are new, when one changed, and for one account's jobs."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from openfax.api.models import OUTGOING_JOB
from openfax.model import JobStatus
from openfax.model.job_table import outgoing_job_json, read_table, table_lines
from openfax.service.job_listing import OutgoingJobListing
from openfax.service.views import outgoing_job_info
from openfax.store import Database, queries

from .conftest import ALICE, NOW, later, submission_with_jobs

pytestmark = pytest.mark.anyio


async def listed(listing: OutgoingJobListing, limit: int, owner: int | None = None) -> list[Any]:
    """Every page of the table form in turn, each row as the job's JSON."""
    jobs: list[Any] = []
    cursor = None
    while True:
        table = await listing.page(cursor, limit, owner=owner)
        page = read_table(table_lines(table))
        jobs += [
            outgoing_job_json(page["columns"], row, page["submissions"]) for row in page["jobs"]
        ]
        if table.next_cursor is None:
            return jobs
        cursor = table.next_cursor


async def viewed(db: Database) -> list[Any]:
    """Every queued job as ``GET /v1/outgoing-jobs/{id}`` shows it."""
    async with db.read() as conn:
        jobs = await queries.list_jobs(conn)
        submissions = await queries.get_submissions(conn, {job.submission_id for job in jobs})
    return [
        json.loads(
            OUTGOING_JOB.dump_json(
                outgoing_job_info(job, submissions[job.submission_id]), by_alias=True
            )
        )
        for job in jobs
    ]


async def test_each_row_reads_back_as_the_jobs_view(db: Database) -> None:
    first, jobs = submission_with_jobs(5)
    second, more = submission_with_jobs(2, owner="bob", owner_id=None, submitted_at=later(1))
    async with db.transaction() as conn:
        await queries.insert_submission(conn, first, jobs)
        await queries.insert_submission(conn, second, more)
    listing = OutgoingJobListing(db)

    assert await listed(listing, limit=3) == await viewed(db), "every row new: pages re-read"
    async with db.transaction() as conn:
        changes = {
            "status": JobStatus.PAUSED | JobStatus.NOLINE,
            "device_id": 3,
            "failure_cause": "busy",
            "started_at": NOW + timedelta(microseconds=250),
            "pages_confirmed": 2,
        }
        assert await queries.update_job(conn, jobs[1].id, changes) is not None
    rows = await listed(listing, limit=10)
    assert rows == await viewed(db), "one row read again by its id, the others as kept"
    (changed,) = [row for row in rows if row["id"] == f"{jobs[1].id:016x}"]
    assert changed["status"] == JobStatus.PAUSED | JobStatus.NOLINE
    assert changed["transmission_start"].endswith(".000250Z")
    alices = [row["id"] for row in await listed(listing, 10, owner=ALICE)]
    assert alices == [row["id"] for row in rows[:5]]


async def test_a_queue_longer_than_what_is_kept_lists_whole(db: Database) -> None:
    submission, jobs = submission_with_jobs(5)
    async with db.transaction() as conn:
        await queries.insert_submission(conn, submission, jobs)
    listing = OutgoingJobListing(db, kept=2)
    listing.keep_queued(submission, jobs)
    for limit in (2, 10, 3):
        assert await listed(listing, limit) == await viewed(db)
    assert len(listing._jobs) == 2, "what is kept stays within its bound"
    assert len(listing._submissions) == 1
