"""Taking jobs from the queue: order, pauses, concurrency, leases and compare-and-set."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from openfax.model import JobStatus, Priority
from openfax.store import CallAttempt, Database, OutgoingJob, open_database, queries

from .conftest import NOW, later, submission_with_jobs

pytestmark = pytest.mark.anyio

LEASE = later(60)


async def queue(db: Database, jobs_of: Sequence[tuple[object, list[OutgoingJob]]]) -> None:
    async with db.transaction() as conn:
        for submission, jobs in jobs_of:
            await queries.insert_submission(conn, submission, jobs)  # type: ignore[arg-type]


async def claim(db: Database, node: str = "node-a", device: int = 1) -> OutgoingJob | None:
    async with db.transaction() as conn:
        return await queries.claim_next_job(
            conn, node_id=node, device_id=device, now=NOW, lease_until=LEASE
        )


async def test_claims_follow_priority_then_schedule_then_id(db: Database) -> None:
    low = submission_with_jobs(1, priority=Priority.LOW, scheduled_at=later(-300))
    high_late = submission_with_jobs(1, priority=Priority.HIGH, scheduled_at=later(-10))
    high_early = submission_with_jobs(1, priority=Priority.HIGH, scheduled_at=later(-20))
    normal_pair = submission_with_jobs(2, priority=Priority.NORMAL, scheduled_at=later(-5))
    future = submission_with_jobs(1, priority=Priority.HIGH, scheduled_at=later(1))
    await queue(db, [low, high_late, high_early, normal_pair, future])
    expected = [
        high_early[1][0].id,
        high_late[1][0].id,
        *sorted(job.id for job in normal_pair[1]),
        low[1][0].id,
    ]
    claimed = [await claim(db) for _ in range(6)]
    assert [job.id for job in claimed if job] == expected
    assert claimed[-1] is None, "a job scheduled after now waits"


async def test_a_claim_marks_the_job_in_progress_under_a_lease(db: Database) -> None:
    submission, jobs = submission_with_jobs(1)
    await queue(db, [(submission, jobs)])
    job = await claim(db, node="node-b", device=7)
    assert job is not None
    assert job.status is JobStatus.INPROGRESS
    assert (job.node_id, job.device_id, job.lease_until) == ("node-b", 7, LEASE)
    assert (job.attempts, job.version) == (1, 2)


async def test_paused_jobs_are_not_claimed_and_noline_jobs_are(db: Database) -> None:
    paused = submission_with_jobs(1)
    retrying_paused = submission_with_jobs(1)
    noline = submission_with_jobs(1)
    await queue(db, [paused, retrying_paused, noline])
    async with db.transaction() as conn:
        for (_, jobs), status in [
            (paused, JobStatus.PENDING | JobStatus.PAUSED),
            (retrying_paused, JobStatus.RETRYING | JobStatus.PAUSED),
            (noline, JobStatus.PENDING | JobStatus.NOLINE),
        ]:
            assert await queries.update_job(conn, jobs[0].id, {"status": status})
    first = await claim(db)
    assert first is not None
    assert first.id == noline[1][0].id
    assert await claim(db) is None


async def test_two_nodes_claiming_at_once_never_take_the_same_job(database_url: str) -> None:
    nodes = [await open_database(database_url) for _ in range(2)]
    try:
        await queue(nodes[0], [submission_with_jobs(10) for _ in range(3)])

        async def drain(db: Database, node: str) -> list[int]:
            taken = []
            while (job := await claim(db, node=node)) is not None:
                taken.append(job.id)
            return taken

        claimers = [drain(db, f"node-{n}-{i}") for n, db in enumerate(nodes) for i in range(3)]
        taken = [job_id for ids in await asyncio.gather(*claimers) for job_id in ids]
    finally:
        for db in nodes:
            await db.close()
    assert len(taken) == 30
    assert len(set(taken)) == 30


async def test_postgresql_claimers_skip_a_row_another_holds(postgresql_url: str) -> None:
    first_node, second_node = [await open_database(postgresql_url) for _ in range(2)]
    try:
        await queue(first_node, [submission_with_jobs(2)])
        async with first_node.transaction() as holding:
            held = await queries.claim_next_job(
                holding, node_id="a", device_id=1, now=NOW, lease_until=LEASE
            )
            # The first claim is not committed yet: a blocking claim would hang here.
            other = await asyncio.wait_for(claim(second_node, node="b"), timeout=5)
            assert await asyncio.wait_for(claim(second_node, node="b"), timeout=5) is None
        assert held is not None
        assert other is not None
        assert held.id != other.id
    finally:
        await first_node.close()
        await second_node.close()


async def test_a_lease_is_renewed_only_by_its_node_and_call(db: Database) -> None:
    await queue(db, [submission_with_jobs(1)])
    job = await claim(db, node="node-a")
    assert job is not None
    async with db.transaction() as conn:
        renewed = await queries.renew_lease(
            conn, job.id, node_id="node-a", attempt=job.attempts, lease_until=later(120)
        )
        assert renewed is JobStatus.INPROGRESS
        other_node = await queries.renew_lease(
            conn, job.id, node_id="node-b", attempt=job.attempts, lease_until=later(1)
        )
        earlier_call = await queries.renew_lease(
            conn, job.id, node_id="node-a", attempt=job.attempts - 1, lease_until=later(1)
        )
        assert other_node is None
        assert earlier_call is None
        assert (await queries.get_job(conn, job.id)).lease_until == later(120)


async def test_expired_leases_send_jobs_back_to_the_queue(db: Database) -> None:
    await queue(db, [submission_with_jobs(3)])
    lapsed, alive, canceling = [await claim(db) for _ in range(3)]
    assert lapsed
    assert alive
    assert canceling
    async with db.transaction() as conn:
        await queries.update_job(conn, alive.id, {"lease_until": later(600)})
        await queries.update_job(conn, canceling.id, {"status": JobStatus.CANCELING})
        found = await queries.lapsed_jobs(conn, now=later(61))
        assert [job.id for job in found] == sorted([lapsed.id, canceling.id])
        for job in found:
            await queries.interrupt_job(conn, job, now=later(61), retry_at=later(121))
    async with db.read() as conn:
        requeued = await queries.get_job(conn, lapsed.id)
        assert (await queries.get_job(conn, canceling.id)).status is JobStatus.CANCELED
        assert (await queries.get_job(conn, alive.id)).status is JobStatus.INPROGRESS
    assert requeued.status is JobStatus.RETRYING
    assert (requeued.scheduled_at, requeued.node_id, requeued.lease_until) == (
        later(121),
        None,
        None,
    )
    async with db.transaction() as conn:
        again = await queries.claim_next_job(
            conn, node_id="node-c", device_id=2, now=later(121), lease_until=later(180)
        )
        lost = await queries.renew_lease(
            conn, lapsed.id, node_id="node-a", attempt=lapsed.attempts, lease_until=LEASE
        )
        assert lost is None
    assert again is not None
    assert again.id == lapsed.id
    assert again.attempts == 2


async def test_a_node_keeps_the_jobs_it_is_calling_for_past_their_lease(db: Database) -> None:
    await queue(db, [submission_with_jobs(2)])
    mine, other = [await claim(db) for _ in range(2)]
    assert mine
    assert other
    async with db.transaction() as conn:
        found = await queries.lapsed_jobs(conn, now=later(61), keep=[mine.id])
        assert [job.id for job in found] == [other.id]
        assert (await queries.get_job(conn, mine.id)).status is JobStatus.INPROGRESS


async def test_compare_and_set_refuses_a_stale_update(db: Database) -> None:
    await queue(db, [submission_with_jobs(1)])
    job = await claim(db)
    assert job is not None
    async with db.transaction() as conn:
        done = await queries.update_job(
            conn,
            job.id,
            {"status": JobStatus.COMPLETED, "pages_confirmed": 3, "ended_at": later(30)},
            expected_status=JobStatus.INPROGRESS,
            expected_version=job.version,
        )
        assert done is not None
        assert done.version == job.version + 1
        stale_status = await queries.update_job(
            conn, job.id, {"status": JobStatus.CANCELED}, expected_status=JobStatus.INPROGRESS
        )
        stale_version = await queries.update_job(
            conn, job.id, {"retries": 9}, expected_version=job.version
        )
        assert stale_status is None
        assert stale_version is None
        assert await queries.get_job(conn, job.id) == done
        assert await queries.update_job(conn, 12345, {"retries": 1}) is None


async def test_unknown_or_frozen_columns_are_refused(db: Database) -> None:
    async with db.transaction() as conn:
        with pytest.raises(ValueError, match="colour"):
            await queries.update_job(conn, 1, {"colour": "red"})
        with pytest.raises(ValueError, match="version"):
            await queries.update_job(conn, 1, {"version": 7})


async def test_call_attempts_are_recorded_and_finished(db: Database) -> None:
    await queue(db, [submission_with_jobs(1)])
    job = await claim(db)
    assert job is not None
    async with db.transaction() as conn:
        await queries.record_call_attempt(
            conn, CallAttempt(job_id=job.id, attempt=1, device_id=1, started_at=later(1))
        )
        finished = await queries.finish_call_attempt(
            conn,
            job.id,
            1,
            {
                "ended_at": later(90),
                "result_code": 0,
                "result_name": "OK",
                "pages_confirmed": 3,
                "transcript": [{"t": 0.5, "frame": "DIS"}, {"t": 1.2, "frame": "DCS"}],
            },
        )
        assert finished
        assert not await queries.finish_call_attempt(conn, job.id, 2, {"ended_at": later(91)})
    async with db.read() as conn:
        (attempt,) = await queries.list_call_attempts(conn, job.id)
    assert attempt.pages_confirmed == 3
    assert attempt.transcript[1]["frame"] == "DCS"
    assert attempt.ended_at == later(90)
