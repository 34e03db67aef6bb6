"""Reading a queue in pages of a snapshot (``list_jobs_page``, ``list_incoming_jobs_page``) on
SQLite and PostgreSQL: keyset order, the snapshot's count and bound, and changes between
pages."""

from __future__ import annotations

import pytest

from openfax.model import JobStatus
from openfax.store import Database, queries
from openfax.store.records import OutgoingJob

from .conftest import later, submission_with_jobs

pytestmark = pytest.mark.anyio


async def queue(db: Database, count: int, seconds: float = 0.0) -> list[OutgoingJob]:
    """``count`` jobs of one submission, all created at the same time (ties broken by id)."""
    submission, jobs = submission_with_jobs(count, submitted_at=later(seconds))
    async with db.transaction() as conn:
        await queries.insert_submission(conn, submission, jobs)
    return sorted(jobs, key=lambda job: job.id)


async def read_all(db: Database, limit: int) -> tuple[list[int], list[int]]:
    """Every page in turn; the ids and each page's count."""
    ids: list[int] = []
    counts: list[int] = []
    cursor = None
    while True:
        async with db.read() as conn:
            page = await queries.list_jobs_page(conn, after=cursor, limit=limit)
        ids += [job.id for job in page.jobs]
        counts.append(page.count)
        if page.next_cursor is None:
            return ids, counts
        cursor = page.next_cursor


async def test_pages_follow_queue_order_and_count_the_snapshot(db: Database) -> None:
    first = await queue(db, 4)
    second = await queue(db, 3, seconds=1)
    ids, counts = await read_all(db, limit=2)
    assert ids == [job.id for job in first + second]
    assert counts == [7, 7, 7, 7]
    async with db.read() as conn:
        whole = await queries.list_jobs_page(conn, limit=7)
    assert whole.next_cursor is None
    assert len(whole.jobs) == whole.count == 7
    assert whole.jobs == first + second, "every field reads back as queued"


async def test_later_pages_keep_to_the_snapshot(db: Database) -> None:
    jobs = await queue(db, 5)
    async with db.read() as conn:
        page = await queries.list_jobs_page(conn, limit=2)
    assert page.count == 5
    assert page.next_cursor is not None
    await queue(db, 2, seconds=1)  # after the snapshot: not in it
    async with db.transaction() as conn:
        await queries.delete_jobs(conn, [jobs[3].id])
        changed = await queries.update_job(conn, jobs[4].id, {"status": JobStatus.PAUSED})
    assert changed is not None
    async with db.read() as conn:
        rest = await queries.list_jobs_page(conn, after=page.next_cursor, limit=10)
    assert [job.id for job in rest.jobs] == [jobs[2].id, jobs[4].id]
    assert rest.jobs[1].status is JobStatus.PAUSED
    assert rest.count == 5
    assert rest.next_cursor is None


async def test_an_empty_queue_is_one_empty_page(db: Database) -> None:
    async with db.read() as conn:
        outgoing = await queries.list_jobs_page(conn)
        incoming = await queries.list_incoming_jobs_page(conn)
    assert (outgoing.jobs, outgoing.count, outgoing.next_cursor) == ([], 0, None)
    assert (incoming.jobs, incoming.count, incoming.next_cursor) == ([], 0, None)


async def test_a_listing_reads_ids_and_versions_in_the_same_pages(db: Database) -> None:
    first = await queue(db, 3)
    second = await queue(db, 2, seconds=1)
    cursor, seen = None, []
    while True:
        async with db.read() as conn:
            full = await queries.list_jobs_page(conn, after=cursor, limit=2)
            brief = await queries.list_job_versions_page(conn, after=cursor, limit=2)
        assert brief.jobs == [(job.id, job.version) for job in full.jobs]
        assert (brief.count, brief.next_cursor) == (full.count, full.next_cursor)
        seen += [job.id for job in brief.jobs]
        if brief.next_cursor is None:
            break
        cursor = brief.next_cursor
    assert seen == [job.id for job in first + second]
    async with db.transaction() as conn:
        await queries.update_job(conn, first[0].id, {"status": JobStatus.PAUSED})
        (listed,) = await queries.get_listed_jobs(conn, [first[0].id])
        page = await queries.list_job_versions_page(conn, limit=1)
    assert page.jobs[0].version == listed.version == first[0].version + 1, "a change bumps it"
    assert listed.status is JobStatus.PAUSED
