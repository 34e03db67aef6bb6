"""What outlives the queue (call attempts, submissions and their keys), the queries the
scheduler sleeps and marks NOLINE by, and the age limits' queries; migration 0002."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from openfax.model import JobStatus
from openfax.store import CallAttempt, Database, Direction, Message, open_database, queries
from openfax.store.database import database_url, upgrade

from .conftest import ALICE, NOW, later, submission_with_jobs

pytestmark = pytest.mark.anyio


async def queue_one(db: Database, **fields: object) -> int:
    submission, jobs = submission_with_jobs(1, **fields)  # type: ignore[arg-type]
    async with db.transaction() as conn:
        await queries.insert_submission(conn, submission, jobs)
    return jobs[0].id


async def attempt(db: Database, job_id: int) -> None:
    async with db.transaction() as conn:
        await queries.record_call_attempt(
            conn, CallAttempt(job_id=job_id, attempt=1, started_at=NOW, transcript=[{"t": 0}])
        )


async def test_call_attempts_stay_with_the_archived_message_and_go_with_it(
    db: Database,
) -> None:
    sent, dropped = await queue_one(db), await queue_one(db)
    for job_id in (sent, dropped):
        await attempt(db, job_id)
    async with db.transaction() as conn:
        await queries.archive_message(
            conn, Message(id=sent, direction=Direction.OUT, archived_at=NOW)
        )
        assert await queries.delete_jobs(conn, [sent, dropped]) == {sent, dropped}
    async with db.read() as conn:
        (kept,) = await queries.list_call_attempts(conn, sent)
        assert kept.transcript == [{"t": 0}]
        assert await queries.list_call_attempts(conn, dropped) == [], "no message keeps them"
    async with db.transaction() as conn:
        await queries.delete_message(conn, Direction.OUT, sent)
    async with db.read() as conn:
        assert await queries.list_call_attempts(conn, sent) == []


async def test_an_idempotency_key_finds_its_jobs_after_they_left_the_queue(
    db: Database,
) -> None:
    first, jobs = submission_with_jobs(2, idempotency_key="invoice-9")
    async with db.transaction() as conn:
        await queries.insert_submission(conn, first, jobs)
        await queries.delete_jobs(conn, [job.id for job in jobs])
    again, other_jobs = submission_with_jobs(2, idempotency_key="invoice-9")
    async with db.transaction() as conn:
        result = await queries.insert_submission(conn, again, other_jobs)
        found = await queries.find_submission(conn, ALICE, "invoice-9")
    assert not result.created
    assert result.job_ids == [job.id for job in jobs]
    assert found is not None
    assert found.job_ids == result.job_ids
    async with db.read() as conn:
        assert await queries.list_jobs(conn) == []


async def test_old_submissions_with_nothing_left_are_forgotten(db: Database) -> None:
    gone, gone_jobs = submission_with_jobs(1, idempotency_key="old")
    archived, archived_jobs = submission_with_jobs(1, idempotency_key="kept")
    async with db.transaction() as conn:
        await queries.insert_submission(conn, gone, gone_jobs)
        await queries.insert_submission(conn, archived, archived_jobs)
        await queries.archive_message(
            conn,
            Message(
                id=archived_jobs[0].id,
                direction=Direction.OUT,
                submission_id=archived.id,
                archived_at=NOW,
            ),
        )
        await queries.delete_jobs(conn, [gone_jobs[0].id, archived_jobs[0].id])
        assert await queries.prune_submissions(conn, submitted_before=NOW) == 0
        assert await queries.prune_submissions(conn, submitted_before=later(1)) == 1
        assert await queries.find_submission(conn, ALICE, "old") is None
        assert await queries.find_submission(conn, ALICE, "kept") is not None


async def test_the_next_scheduled_time_is_that_of_the_first_claimable_job(
    db: Database,
) -> None:
    async with db.read() as conn:
        assert await queries.next_scheduled_at(conn, after=NOW) is None
    paused = await queue_one(db, scheduled_at=later(10))
    await queue_one(db, scheduled_at=later(300))
    await queue_one(db, scheduled_at=later(60))
    await queue_one(db, scheduled_at=NOW)
    async with db.transaction() as conn:
        await queries.update_job(conn, paused, {"status": JobStatus.PENDING | JobStatus.PAUSED})
        assert await queries.next_scheduled_at(conn, after=NOW) == later(60)
        assert await queries.next_scheduled_at(conn, after=later(60)) == later(300)


async def test_a_claim_takes_only_the_job_planned_for_the_line(db: Database) -> None:
    """The scheduler's plan leaves a line's own number to other lines: the line claims the
    job planned for it, and only while it is still ready."""
    submission, jobs = submission_with_jobs(2)
    async with db.transaction() as conn:
        await queries.insert_submission(conn, submission, jobs)
        ready = await queries.ready_jobs(conn, now=NOW)
        assert [job.id for job in ready] == sorted(job.id for job in jobs), "claim order"
        planned = ready[1].id
        claimed = await queries.claim_next_job(
            conn, node_id="n", device_id=1, now=NOW, lease_until=later(60), job_ids=[planned]
        )
        assert claimed is not None
        assert claimed.id == planned
        none_left = await queries.claim_next_job(
            conn, node_id="n", device_id=1, now=NOW, lease_until=later(60), job_ids=[planned]
        )
        assert none_left is None
        assert [job.id for job in await queries.ready_jobs(conn, now=NOW)] == [ready[0].id]


async def test_ready_jobs_get_the_noline_bit_once_and_lose_it_when_claimed(
    db: Database,
) -> None:
    ready = await queue_one(db)
    retrying = await queue_one(db)
    await queue_one(db, scheduled_at=later(60))
    async with db.transaction() as conn:
        await queries.update_job(conn, retrying, {"status": JobStatus.RETRYING})
        marked = await queries.mark_no_line(conn, now=NOW)
        assert {job.id: job.status for job in marked} == {
            ready: JobStatus.PENDING | JobStatus.NOLINE,
            retrying: JobStatus.RETRYING | JobStatus.NOLINE,
        }
        assert await queries.mark_no_line(conn, now=NOW) == []
        claimed = await queries.claim_next_job(
            conn, node_id="n", device_id=1, now=NOW, lease_until=later(60)
        )
        assert claimed is not None
        assert claimed.status is JobStatus.INPROGRESS


async def test_expired_jobs_and_messages_are_found_by_age(db: Database) -> None:
    failed = await queue_one(db)
    young = await queue_one(db)
    async with db.transaction() as conn:
        await queries.update_job(conn, failed, {"status": JobStatus.FAILED, "ended_at": NOW})
        await queries.update_job(conn, young, {"status": JobStatus.FAILED, "ended_at": later(3600)})
        old = Message(id=1, direction=Direction.IN, archived_at=NOW)
        await queries.archive_message(conn, old)
        await queries.archive_message(conn, dataclasses.replace(old, id=2, archived_at=later(9)))
        await queries.archive_message(conn, dataclasses.replace(old, id=3, direction=Direction.OUT))
        expired = await queries.expired_jobs(
            conn, [JobStatus.FAILED, JobStatus.CANCELED], ended_before=later(60)
        )
        assert [job.id for job in expired] == [failed]
        messages = await queries.expired_messages(conn, Direction.IN, archived_before=later(1))
        assert [message.id for message in messages] == [1]


async def test_migration_0002_keeps_call_attempts_and_fills_in_job_ids(
    database_url_of_0001: str,
) -> None:
    database = await open_database(database_url_of_0001)
    async with database.read() as conn:
        submission = await queries.get_submission(conn, 11)
        (kept,) = await queries.list_call_attempts(conn, 22)
        job = await queries.get_job(conn, 22)
    await database.close()
    assert submission.job_ids == [22]
    assert kept.pages_confirmed == 1
    assert not job.header_at_send


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url_of_0001(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """A store migrated to 0001 only, with a submission, its job and a call attempt."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        server = request.getfixturevalue("postgresql")
        name = f"old_{uuid.uuid4().hex}"
        with server.admin() as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        url = server.url(name)
    engine = create_async_engine(database_url(url))
    async with engine.begin() as conn:
        await conn.run_sync(upgrade, "0001")
        for statement in (
            "INSERT INTO submissions (id, owner, document_name, subject, note, sender,"
            " cover_page_type, cover_page, receipt_type, receipt_address,"
            " attach_fax_to_receipt, group_broadcast_receipts, priority, schedule_type,"
            " page_count, submitted_at) VALUES (11, 'alice', '', '', '', '{}', 0, '', 0, '',"
            " false, false, 1, 0, 1, '2026-11-24 09:00:00')",
            "INSERT INTO outgoing_jobs (id, submission_id, recipient_index, recipient_number,"
            " recipient_name, recipient, status, extended_status, extended_status_text,"
            " retryable, total_pages, pages_confirmed, current_page, attempts, retries, csid,"
            " tsid, priority, original_scheduled_at, scheduled_at, created_at, size, version)"
            " VALUES (22, 11, 0, '1002', '', '{}', 1, 0, '', false, 1, 0, 0, 1, 0, '', '', 1,"
            " '2026-11-24 09:00:00', '2026-11-24 09:00:00', '2026-11-24 09:00:00', 0, 1)",
            "INSERT INTO call_attempts (job_id, attempt, started_at, pages_confirmed,"
            " transcript) VALUES (22, 1, '2026-11-24 09:00:00', 1, '[]')",
        ):
            await conn.execute(text(statement))
    await engine.dispose()
    yield url
    if request.param == "postgresql":
        with server.admin() as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
