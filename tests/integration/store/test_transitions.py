"""The named transitions of an outgoing and an incoming job: each asks the life cycle's
table, writes only its fields, and refuses a stale job (compare-and-set), on both backends."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from openfax.errors import InvalidTransitionError
from openfax.model import ExtendedStatus, JobStatus, JobType
from openfax.model.lifecycle import IncomingInput, JobInput
from openfax.store import Database, IncomingJob, OutgoingJob, queries

from .conftest import NOW, later, submission_with_jobs

pytestmark = pytest.mark.anyio

S = JobStatus


async def queued(db: Database, recipients: int = 1) -> list[OutgoingJob]:
    submission, jobs = submission_with_jobs(recipients)
    async with db.transaction() as conn:
        await queries.insert_submission(conn, submission, jobs)
    return jobs


async def claimed(db: Database, now: datetime = NOW) -> OutgoingJob:
    async with db.transaction() as conn:
        job = await queries.claim_next_job(
            conn, node_id="node-a", device_id=1, now=now, lease_until=now + timedelta(seconds=60)
        )
    assert job is not None
    return job


def changed(before: OutgoingJob, after: OutgoingJob) -> set[str]:
    """The fields a transition wrote (``version`` always grows)."""
    fields = set(OutgoingJob.__dataclass_fields__) - {"version"}
    assert after.version == before.version + 1
    return {name for name in fields if getattr(before, name) != getattr(after, name)}


async def test_a_users_operations_write_their_status_and_fields(db: Database) -> None:
    (job,) = await queued(db)
    async with db.transaction() as conn:
        paused = await queries.pause_job(conn, job)
        assert paused is not None
        assert paused.status == S.PENDING | S.PAUSED
        assert changed(job, paused) == {"status"}
        resumed = await queries.resume_job(conn, paused)
        assert resumed is not None
        assert resumed.status is S.PENDING
        cancelled = await queries.cancel_job(conn, resumed, now=later(5))
        assert cancelled is not None
        assert cancelled.status is S.CANCELED
        assert changed(resumed, cancelled) == {"status", "ended_at"}
        assert cancelled.ended_at == later(5)


async def test_a_refused_transition_fails_closed_and_writes_nothing(db: Database) -> None:
    (job,) = await queued(db)
    async with db.transaction() as conn:
        with pytest.raises(InvalidTransitionError, match="cannot resume a job that is pending"):
            await queries.resume_job(conn, job)
        with pytest.raises(InvalidTransitionError, match="cannot restart a job that is pending"):
            await queries.restart_job(conn, job, now=NOW, kill_at=later(3600))
        with pytest.raises(ValueError, match="RETRY"):
            await queries.finish_job(conn, job, JobInput.RETRY, _end(0), now=NOW)
        assert await queries.get_job(conn, job.id) == job


async def test_a_stale_job_is_not_written(db: Database) -> None:
    """Compare-and-set on the version read: another change that got there first wins."""
    (job,) = await queued(db)
    async with db.transaction() as conn:
        assert await queries.pause_job(conn, job) is not None
        assert await queries.cancel_job(conn, job, now=NOW) is None
        assert (await queries.get_job(conn, job.id)).status == S.PENDING | S.PAUSED


async def test_a_call_that_cancelled_job_ends_with_is_hung_up(db: Database) -> None:
    await queued(db)
    job = await claimed(db)
    async with db.transaction() as conn:
        canceling = await queries.cancel_job(conn, job, now=NOW)
        assert canceling is not None
        assert canceling.status is S.CANCELING
        assert changed(job, canceling) == {"status"}, "ended only when its call has ended"
        with pytest.raises(InvalidTransitionError, match="cannot retry a job that is canceling"):
            await queries.retry_job(conn, canceling, _end(1), next_try=later(60))
        hung_up = await queries.finish_job(conn, canceling, JobInput.HUNG_UP, _end(1), now=NOW)
        assert hung_up is not None
        assert hung_up.status is S.CANCELED
        assert (hung_up.node_id, hung_up.lease_until, hung_up.ended_at) == (None, None, NOW)


async def test_a_failed_call_retries_then_the_retries_run_out(db: Database) -> None:
    await queued(db)
    job = await claimed(db)
    async with db.transaction() as conn:
        started = await queries.begin_call(conn, job, now=NOW)
        assert started is not None
        assert started.status is S.INPROGRESS
        assert (started.current_page, started.started_at) == (1, NOW)
        progress = queries.JobProgress(pages_confirmed=1, current_page=2)
        shown = await queries.record_progress(conn, job.id, progress)
        assert shown is not None
        assert changed(started, shown) == {"pages_confirmed", "current_page"}
        retrying = await queries.retry_job(conn, shown, _end(1), next_try=later(300))
    assert retrying is not None
    assert retrying.status is S.RETRYING
    assert (retrying.retries, retrying.scheduled_at, retrying.current_page) == (1, later(300), 0)
    assert (retrying.failure_cause, retrying.node_id) == ("busy", None)
    async with db.transaction() as conn:
        assert await queries.record_progress(conn, job.id, progress) is None, "not in a call"
    again = await claimed(db, now=later(300))
    async with db.transaction() as conn:
        ended = await queries.finish_job(
            conn, again, JobInput.RETRIES_RAN_OUT, _end(1), now=later(400)
        )
    assert ended is not None
    assert ended.status is S.RETRIES_EXCEEDED
    assert (ended.ended_at, ended.retries, ended.attempts) == (later(400), 1, 2)


async def test_a_claimed_job_is_postponed_or_expires_uncounted(db: Database) -> None:
    await queued(db, 2)
    first, second = await claimed(db), await claimed(db)
    async with db.transaction() as conn:
        postponed = await queries.postpone_job(conn, first, until=later(3600), tried=False)
        expired = await queries.expire_job(conn, second, now=NOW, reason="too late")
    assert postponed is not None
    assert expired is not None
    assert (postponed.status, postponed.scheduled_at, postponed.attempts) == (
        S.PENDING,
        later(3600),
        0,
    )
    assert (expired.status, expired.attempts, expired.extended_status_text) == (
        S.RETRIES_EXCEEDED,
        0,
        "too late",
    )


async def test_a_cut_off_call_is_counted_then_set_aside(db: Database) -> None:
    await queued(db)
    job = await claimed(db)
    async with db.transaction() as conn:
        requeued = await queries.interrupt_job(conn, job, now=NOW, retry_at=later(60))
    assert requeued is not None
    assert requeued.status is S.RETRYING
    assert (requeued.interrupted_calls, requeued.scheduled_at) == (1, later(60))
    async with db.transaction() as conn:
        again = await queries.claim_next_job(
            conn, node_id="node-b", device_id=1, now=later(60), lease_until=later(120)
        )
        assert again is not None
        aside = await queries.set_aside_job(
            conn, again, now=later(90), failure_cause="internal", reason="set aside"
        )
    assert aside is not None
    assert aside.status is S.FAILED
    assert (aside.interrupted_calls, aside.retryable, aside.ended_at) == (2, False, later(90))
    async with db.transaction() as conn:
        restarted = await queries.restart_job(conn, aside, now=later(100), kill_at=later(9000))
    assert restarted is not None
    assert restarted.status is S.PENDING
    assert (restarted.interrupted_calls, restarted.retries, restarted.ended_at) == (0, 0, None)


async def test_two_nodes_recover_each_lapsed_job_once(db: Database) -> None:
    """Nodes sweeping lapsed leases at once each take different jobs (SKIP LOCKED), and a
    job recovered by one is no longer lapsed for the other."""
    await queued(db, 4)
    for _ in range(4):
        await claimed(db)
    recovered: list[int] = []

    async def sweep() -> None:
        async with db.transaction() as conn:
            for job in await queries.lapsed_jobs(conn, now=later(61)):
                assert await queries.interrupt_job(conn, job, now=later(61), retry_at=later(121))
                recovered.append(job.id)

    await asyncio.gather(sweep(), sweep())
    assert len(recovered) == len(set(recovered)) == 4


def _end(pages: int) -> queries.CallEnd:
    return queries.CallEnd(pages, ExtendedStatus.BUSY, "busy", "busy", retryable=True)


async def test_an_incoming_job_is_cancelled_by_its_table(db: Database) -> None:
    job = IncomingJob(device_id=3, node_id="node-a", caller_id="+1 555 0199", started_at=NOW)
    async with db.transaction() as conn:
        await queries.insert_incoming_job(conn, job)
        canceling = await queries.cancel_incoming_job(conn, job)
        assert canceling is not None
        assert canceling.status is S.CANCELING
        assert await queries.cancel_incoming_job(conn, job) is None, "stale: already changed"
        with pytest.raises(InvalidTransitionError, match="incoming job that is canceling"):
            await queries.cancel_incoming_job(conn, canceling)


def incoming_changed(before: IncomingJob, after: IncomingJob) -> set[str]:
    """The fields an incoming transition wrote (``version`` always grows)."""
    fields = set(IncomingJob.__dataclass_fields__) - {"version"}
    assert after.version == before.version + 1
    return {name for name in fields if getattr(before, name) != getattr(after, name)}


async def answered(db: Database) -> IncomingJob:
    job = IncomingJob(device_id=3, node_id="node-a", caller_id="+1 555 0199", started_at=NOW)
    async with db.transaction() as conn:
        await queries.insert_incoming_job(conn, job)
    return job


def _received(pages: int, *, partial: bool = False) -> queries.ReceptionEnd:
    status = ExtendedStatus.PARTIALLY_RECEIVED if partial else ExtendedStatus.NONE
    return queries.ReceptionEnd(pages, partial, 4096 * pages, status, "")


async def test_a_reception_records_its_progress_then_is_routed(db: Database) -> None:
    job = await answered(db)
    async with db.transaction() as conn:
        receiving = await queries.answer_incoming_job(conn, job.id)
        assert receiving is not None
        assert receiving.status is S.INPROGRESS
        assert incoming_changed(job, receiving) == {"extended_status"}
        assert receiving.extended_status == ExtendedStatus.RECEIVING
        named = await queries.record_caller_tsid(conn, job.id, "+1 555 0199 TSID")
        assert named is not None
        assert incoming_changed(receiving, named) == {"tsid"}
        paged = await queries.record_page_received(conn, job.id, 1)
        assert paged is not None
        assert incoming_changed(named, paged) == {"pages", "current_page"}
        assert (paged.pages, paged.current_page) == (1, 2)
        with pytest.raises(InvalidTransitionError, match="cannot route an incoming job"):
            await queries.show_routing(
                conn, paged, IncomingInput.ROUTE, queries.RoutingShown("", {}, 0)
            )
        routed = await queries.finish_reception(conn, paged, _received(2), now=later(30))
    assert routed is not None
    assert routed.status is S.ROUTING
    assert incoming_changed(paged, routed) == {
        "status", "job_type", "pages", "current_page", "size", "extended_status", "ended_at"
    }  # fmt: skip
    assert (routed.job_type, routed.pages, routed.current_page) == (JobType.ROUTING, 2, 0)
    assert (routed.size, routed.ended_at, routed.partial) == (8192, later(30), False)
    async with db.transaction() as conn:
        assert await queries.record_page_received(conn, job.id, 3) is None, "no more received"
        with pytest.raises(InvalidTransitionError, match="cannot finish receiving an incoming"):
            await queries.finish_reception(conn, routed, _received(2), now=later(31))
        assert await queries.get_incoming_job(conn, job.id) == routed


async def test_a_cancelled_reception_ends_when_its_call_does(db: Database) -> None:
    job = await answered(db)
    async with db.transaction() as conn:
        canceling = await queries.cancel_incoming_job(conn, job)
        assert canceling is not None
        assert canceling.status is S.CANCELING
        paged = await queries.record_page_received(conn, job.id, 1)
        assert paged is not None
        assert paged.status is S.CANCELING, "its pages still count"
        assert await queries.finish_reception(conn, canceling, _received(1), now=NOW) is None
        ended = await queries.finish_reception(conn, paged, _received(1, partial=True), now=NOW)
    assert ended is not None
    assert ended.status is S.CANCELED
    assert (ended.partial, ended.job_type, ended.ended_at) == (True, JobType.ROUTING, NOW)


async def test_a_reception_cut_off_by_a_restart_is_recovered(db: Database) -> None:
    job = await answered(db)
    async with db.transaction() as conn:
        recovered = await queries.finish_reception(
            conn, job, _received(1, partial=True), now=later(5), cut_off=True
        )
        assert recovered is not None
        assert recovered.status is S.ROUTING
        with pytest.raises(InvalidTransitionError, match="cannot recover an incoming job"):
            await queries.finish_reception(conn, recovered, _received(1), now=NOW, cut_off=True)


async def test_routing_shows_its_deliveries_and_a_resend_routes_again(db: Database) -> None:
    job = await answered(db)
    state = {"email": {"status": "pending", "attempts": 1, "error": "refused"}}
    async with db.transaction() as conn:
        routed = await queries.finish_reception(conn, job, _received(1), now=NOW)
        assert routed is not None
        failing = await queries.show_routing(
            conn, routed, IncomingInput.ROUTING_FAILED, queries.RoutingShown("refused", state, 0)
        )
        assert failing is not None
        assert failing.status is S.RETRYING
        assert incoming_changed(routed, failing) == {
            "status", "extended_status_text", "routing_state"
        }  # fmt: skip
        spent = queries.RoutingShown("email: refused", state, 3)
        failed = await queries.show_routing(conn, failing, IncomingInput.ROUTING_SPENT, spent)
        assert failed is not None
        assert failed.status is S.RETRIES_EXCEEDED
        assert (failed.retries, failed.routing_state) == (3, state)
        with pytest.raises(InvalidTransitionError, match="cannot route an incoming job that is"):
            await queries.show_routing(conn, failed, IncomingInput.ROUTE, spent)
        with pytest.raises(ValueError, match="RESEND"):
            await queries.show_routing(conn, failed, IncomingInput.RESEND, spent)
        resent = await queries.resend_routing(conn, failed)
        assert resent is not None
        assert resent.status is S.ROUTING
        assert incoming_changed(failed, resent) == {"status"}
        assert await queries.resend_routing(conn, failed) is None, "stale: already resent"
        cancelled = await queries.cancel_incoming_job(conn, resent)
    assert cancelled is not None
    assert cancelled.status is S.CANCELED
