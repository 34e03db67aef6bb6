"""``get_activity`` (FAXCOMEX ``IFaxActivity``) on a mixed queue: the database's counts by
status give what a listing of both queues gives."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from openfax.model import JobStatus, ServerEvents
from openfax.model.events import ActivityChanged
from openfax.service import EventType, FaxService, ManualClock
from openfax.service.job_states import base
from openfax.store import queries
from openfax.store.records import IncomingJob
from tests.integration.service.conftest import START, MakeConfig
from tests.integration.store.conftest import submission_with_jobs
from tests.integration.store.test_queue_counts import INCOMING, OUTGOING

pytestmark = pytest.mark.anyio


async def test_activity_counts_what_the_listings_show(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> None:
    # No lines and a paused queue: nothing changes the jobs between the two readings.
    config = make_config(tmp_path / "data", loopback={"lines": 0})
    async with FaxService(config, clock=clock) as service:
        await service.options.set_queue_switches(outgoing_paused=True)
        submission, jobs = submission_with_jobs(len(OUTGOING))
        jobs = [dataclasses.replace(j, status=s) for j, s in zip(jobs, OUTGOING, strict=True)]
        async with service.ctx.db.transaction() as conn:
            await queries.insert_submission(conn, submission, jobs)
            for status in INCOMING:
                job = IncomingJob(device_id=1, status=status, started_at=START)
                await queries.insert_incoming_job(conn, job)
        activity = await service.activity.get_activity()
        outgoing = [base(job.status) for job in await service.outgoing_queue.get_jobs()]
        incoming = [base(job.status) for job in await service.incoming_queue.get_jobs()]
    waiting = (JobStatus.PENDING, JobStatus.RETRYING)
    assert activity.outgoing_messages == outgoing.count(JobStatus.INPROGRESS) == 1
    assert activity.queued_messages == sum(s in waiting for s in outgoing) == 5
    assert activity.incoming_messages == incoming.count(JobStatus.INPROGRESS) == 2
    assert activity.routing_messages == len(incoming) - 2 == 2


async def test_a_change_of_the_counts_is_an_activity_event(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data", loopback={"lines": 0})
    async with FaxService(config, clock=clock) as service:
        await service.options.set_queue_switches(outgoing_paused=True)
        events = service.listening.events(
            ServerEvents.ACTIVITY, after=await service.listening.last_seq()
        )
        first = asyncio.ensure_future(anext(events))
        submission, jobs = submission_with_jobs(3)
        async with service.ctx.hub.transaction() as conn:
            await queries.insert_submission(conn, submission, jobs)
        event = await asyncio.wait_for(first, 10)
        assert event.type is EventType.ACTIVITY_CHANGED
        assert dataclasses.asdict(event.payload) == dataclasses.asdict(
            await service.activity.get_activity()
        )
        assert isinstance(event.payload, ActivityChanged)
        assert event.payload.queued_messages == 3
        await service.options.set_queue_switches(incoming_blocked=True)  # a commit, same counts
        async with service.ctx.hub.transaction() as conn:
            await queries.insert_incoming_job(
                conn, IncomingJob(device_id=1, status=JobStatus.INPROGRESS, started_at=START)
            )
        event = await asyncio.wait_for(anext(events), 10)
        assert isinstance(event.payload, ActivityChanged)
        assert (event.payload.incoming_messages, event.payload.queued_messages) == (1, 3)
        await events.aclose()
