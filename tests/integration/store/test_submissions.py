"""Queueing submissions atomically and idempotently, and reading the outgoing queue."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy.exc import IntegrityError

from openfax.errors import MessageNotFoundError
from openfax.store import Database, queries
from openfax.store.records import OutgoingJob

from .conftest import ALICE, BOB, submission_with_jobs

pytestmark = pytest.mark.anyio


async def test_a_submission_is_queued_with_one_job_per_recipient_in_order(db: Database) -> None:
    submission, jobs = submission_with_jobs(3)
    async with db.transaction() as conn:
        result = await queries.insert_submission(conn, submission, list(reversed(jobs)))
    assert result.created
    assert result.submission_id == submission.id
    assert result.job_ids == [job.id for job in jobs]
    async with db.read() as conn:
        assert await queries.list_jobs(conn, submission_id=submission.id) != []
        assert await queries.get_submission(conn, submission.id) == submission
        assert await queries.get_job(conn, jobs[1].id) == jobs[1]


async def test_a_failure_mid_insert_leaves_nothing(db: Database) -> None:
    submission, jobs = submission_with_jobs(3)
    clash = dataclasses.replace(jobs[2], id=jobs[0].id)
    with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"):
        async with db.transaction() as conn:
            await queries.insert_submission(conn, submission, [jobs[0], jobs[1], clash])
    async with db.read() as conn:
        assert await queries.list_jobs(conn) == []
        with pytest.raises(MessageNotFoundError):
            await queries.get_submission(conn, submission.id)


async def test_a_known_idempotency_key_returns_the_jobs_already_queued(db: Database) -> None:
    first, first_jobs = submission_with_jobs(2, idempotency_key="upload-7")
    again, again_jobs = submission_with_jobs(2, idempotency_key="upload-7")
    async with db.transaction() as conn:
        created = await queries.insert_submission(conn, first, first_jobs)
    async with db.transaction() as conn:
        repeated = await queries.insert_submission(conn, again, again_jobs)
    assert not repeated.created
    assert (repeated.submission_id, repeated.job_ids) == (created.submission_id, created.job_ids)
    async with db.read() as conn:
        assert len(await queries.list_jobs(conn)) == 2


async def test_concurrent_submissions_with_one_key_queue_once(db: Database) -> None:
    async def submit() -> queries.SubmitResult:
        submission, jobs = submission_with_jobs(2, idempotency_key="retry-storm")
        async with db.transaction() as conn:
            return await queries.insert_submission(conn, submission, jobs)

    results = await asyncio.gather(*(submit() for _ in range(4)))
    assert sum(result.created for result in results) == 1
    assert len({tuple(result.job_ids) for result in results}) == 1
    async with db.read() as conn:
        assert len(await queries.list_jobs(conn)) == 2


async def test_jobs_of_another_submission_are_refused(db: Database) -> None:
    submission, _ = submission_with_jobs(1)
    _, strangers = submission_with_jobs(1)
    async with db.transaction() as conn:
        with pytest.raises(ValueError, match="do not belong"):
            await queries.insert_submission(conn, submission, strangers)


async def test_an_unknown_job_raises_message_not_found_with_its_hresult(db: Database) -> None:
    async with db.read() as conn:
        with pytest.raises(MessageNotFoundError, match="00000000000000ff") as raised:
            await queries.get_job(conn, 0xFF)
    assert raised.value.hresult == 0x80041B61


async def test_the_queue_lists_by_owner_and_submission(db: Database) -> None:
    alice, alice_jobs = submission_with_jobs(2, owner="alice")
    bob, bob_jobs = submission_with_jobs(1, owner="bob", owner_id=BOB)
    # A later account named alice (another id) owns none of the first alice's jobs.
    later_alice, _ = submission_with_jobs(0, owner="alice", owner_id=ALICE + 100)
    async with db.transaction() as conn:
        await queries.insert_submission(conn, alice, alice_jobs)
        await queries.insert_submission(conn, bob, bob_jobs)
    async with db.read() as conn:
        assert {job.id for job in await queries.list_jobs(conn, owner=BOB)} == {bob_jobs[0].id}
        assert await queries.list_jobs(conn, owner=later_alice.owner_id) == []
        assert len(await queries.list_jobs(conn, submission_id=alice.id)) == 2
        found = await queries.get_submissions(conn, [alice.id, bob.id, 42])
    assert found == {alice.id: alice, bob.id: bob}


async def test_an_idempotency_key_is_its_owners(db: Database) -> None:
    alice, alice_jobs = submission_with_jobs(1, idempotency_key="invoice-9")
    bob, bob_jobs = submission_with_jobs(1, owner="bob", owner_id=BOB, idempotency_key="invoice-9")
    async with db.transaction() as conn:
        assert (await queries.insert_submission(conn, alice, alice_jobs)).created
        # Bob's key is his own: his fax is queued, not answered with alice's jobs.
        result = await queries.insert_submission(conn, bob, bob_jobs)
        assert result.created
        assert result.job_ids == [bob_jobs[0].id]
        again, again_jobs = submission_with_jobs(1, owner_id=BOB, idempotency_key="invoice-9")
        repeated = await queries.insert_submission(conn, again, again_jobs)
        assert not repeated.created
        assert repeated.job_ids == [bob_jobs[0].id]
        found = await queries.find_submission(conn, ALICE, "invoice-9")
    assert found is not None
    assert found.id == alice.id


async def test_deleting_a_submission_removes_its_jobs(db: Database) -> None:
    submission, jobs = submission_with_jobs(2)
    async with db.transaction() as conn:
        await queries.insert_submission(conn, submission, jobs)
    async with db.transaction() as conn:
        assert await queries.delete_submission(conn, submission.id)
        assert not await queries.delete_submission(conn, submission.id)
    async with db.read() as conn:
        assert await queries.list_jobs(conn) == []


async def test_ten_thousand_queued_jobs_are_all_listed(db: Database) -> None:
    """A large queue lists every job exactly once (its speed is measured by
    bench/service.py, not asserted here)."""
    jobs: list[OutgoingJob] = []
    for _ in range(100):
        submission, batch = submission_with_jobs(100)
        async with db.transaction() as conn:
            await queries.insert_submission(conn, submission, batch)
        jobs.extend(batch)
    async with db.read() as conn:
        listed = await queries.list_jobs(conn)
    assert len(listed) == 10_000
    assert sorted(job.id for job in listed) == sorted(job.id for job in jobs)
