"""``count_queue_by_status``: the database counts a mixed queue's jobs by status, and the
counts are those of the whole listing (on SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from openfax.model import JobStatus
from openfax.store import Database, queries
from openfax.store.records import Direction, IncomingJob

from .conftest import later, submission_with_jobs

pytestmark = pytest.mark.anyio

S = JobStatus
OUTGOING = [
    S.PENDING, S.PENDING, S.PENDING | S.PAUSED, S.RETRYING, S.RETRYING | S.NOLINE,
    S.INPROGRESS, S.RETRIES_EXCEEDED, S.COMPLETED, S.FAILED, S.CANCELED,
]  # fmt: skip
INCOMING = [S.INPROGRESS, S.INPROGRESS, S.ROUTING, S.ROUTING | S.PAUSED]


async def test_counts_by_status_are_the_listings(db: Database) -> None:
    submission, jobs = submission_with_jobs(len(OUTGOING))
    jobs = [dataclasses.replace(job, status=s) for job, s in zip(jobs, OUTGOING, strict=True)]
    receptions = [
        IncomingJob(device_id=1, status=s, started_at=later(i)) for i, s in enumerate(INCOMING)
    ]
    async with db.transaction() as conn:
        await queries.insert_submission(conn, submission, jobs)
        for reception in receptions:
            await queries.insert_incoming_job(conn, reception)
    async with db.read() as conn:
        outgoing = await queries.count_queue_by_status(conn, Direction.OUT)
        incoming = await queries.count_queue_by_status(conn, Direction.IN)
        listed_out = Counter(job.status for job in await queries.list_jobs(conn))
        listed_in = Counter(job.status for job in await queries.list_incoming_jobs(conn))
    assert outgoing == listed_out == Counter(OUTGOING)
    assert incoming == listed_in == Counter(INCOMING)
    assert outgoing[S.PENDING] == 2
    assert outgoing[S.RETRYING | S.NOLINE] == 1
    assert all(type(status) is JobStatus for status in outgoing | incoming)


async def test_an_empty_queue_has_no_counts(db: Database) -> None:
    async with db.read() as conn:
        assert await queries.count_queue_by_status(conn, Direction.OUT) == {}
        assert await queries.count_queue_by_status(conn, Direction.IN) == {}
