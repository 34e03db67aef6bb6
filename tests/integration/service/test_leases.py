"""A job's lease under overload: one job is never in two calls at once, and a call whose
lease cannot be kept hangs up before any other node may dial its job.

Leases are a few seconds; calls are paced in real time. A stalled event loop is played on
a manual clock (time jumps while nothing runs); a stalled store is a row locked for real."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from openfax.service import FaxService, ManualClock, SystemClock
from openfax.store import Direction, open_database
from openfax.store.schema import outgoing_jobs
from tests.factories import make_pdf
from tests.waiting import until

from .conftest import START, MakeConfig, job_leaves_queue, request, service_config

pytestmark = pytest.mark.anyio

LEASE = {"lease_seconds": 3, "call_setup_seconds": 60}
"""Half a lease (the time a renewal gets after a stall) is ample on a loaded machine."""
SHORT_LEASE = {"lease_seconds": 1, "call_setup_seconds": 60}
"""A renewal blocked is given up on within a second and a half."""
PACED = {"lines": 3, "pace": 10.0}
"""A three-page call takes a few seconds: long enough to stall it in its middle."""
SLOWER = {"lines": 3, "pace": 3.0}
"""Each page of a call takes seconds: many renewals' time."""


async def first_page_confirmed(service: FaxService, job_id: int) -> None:
    async def confirmed() -> bool:
        return (await service.outgoing_queue.get_job(job_id)).pages_confirmed >= 1

    await until(confirmed, "the first page is confirmed")


async def lease_until(service: FaxService, job_id: int) -> datetime:
    """The end of the job's lease as the store holds it."""
    async with service.ctx.db.read() as conn:
        until = await conn.scalar(
            select(outgoing_jobs.c.lease_until).where(outgoing_jobs.c.id == job_id)
        )
    assert until is not None, "a job in a call is under a lease"
    return until


async def receptions(service: FaxService, count: int) -> list[tuple[int, bool]]:
    """The received faxes (pages, partial), once ``count`` are archived and routed."""

    async def archived() -> bool:
        page = await service.archives.get_incoming_messages()
        return len(page.messages) >= count and not await service.incoming_queue.get_jobs()

    await until(archived, f"{count} faxes are received")
    messages = (await service.archives.get_incoming_messages()).messages
    return sorted((message.pages, message.partial) for message in messages)


async def test_a_call_outlasting_its_lease_on_a_stalled_loop_is_placed_once(
    tmp_path: Path, three_pages: Path, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data", deadlines=LEASE, loopback=PACED)
    clock = ManualClock(START)
    async with FaxService(config, clock=clock) as service:
        (job_id,) = await service.outgoing_queue.submit(request(three_pages, "1002"))
        await first_page_confirmed(service, job_id)
        leased = await lease_until(service, job_id)
        # The daemon's loop does nothing for more than two leases (a CPU-bound callback on
        # an overloaded machine): its lease lapses under the running call. Its own recovery
        # must not take the job back, nor the lease keeper hang up a call nobody else took.
        await clock.stall(7.0)
        assert clock.now() > leased + timedelta(seconds=LEASE["lease_seconds"])
        await job_leaves_queue(service, job_id)
        attempts = await service.outgoing_queue.get_call_attempts(job_id)
        assert [(a.attempt, a.failure_cause, a.pages_confirmed) for a in attempts] == [(1, None, 3)]
        assert (await service.archives.get_message(Direction.OUT, job_id)).pages == 3
        assert await receptions(service, 1) == [(3, False)]


async def test_a_call_whose_lease_cannot_be_renewed_hangs_up_and_resumes_later(
    tmp_path: Path, postgresql_url: str
) -> None:
    """On a store shared by several nodes, the job's row locked by someone else keeps the
    node from renewing its lease: once the lease is half a lease past, the node hangs up
    (another node may recover the job and dial it a lease after that). The call is this
    end's doing, not a failure: the job goes back to the queue, no retry counted, and later
    sends only the pages not confirmed."""
    config = service_config(
        tmp_path / "data", database=postgresql_url, deadlines=SHORT_LEASE, loopback=SLOWER
    )
    # Five pages: however late the test sees the first one confirmed, pages remain.
    five_pages = make_pdf(tmp_path / "five.pdf", 5)
    async with FaxService(config, clock=SystemClock()) as service:
        (job_id,) = await service.outgoing_queue.submit(request(five_pages, "1002"))
        await first_page_confirmed(service, job_id)
        other = await open_database(postgresql_url)
        try:
            async with other.transaction() as conn:
                locked = outgoing_jobs.c.id == job_id
                await conn.execute(select(outgoing_jobs.c.id).where(locked).with_for_update())
                # Held until the call's end reached the receiving line.
                (cut_off,) = await receptions(service, 1)
        finally:
            await other.close()
        assert cut_off[1], "the call was hung up mid-fax"
        await job_leaves_queue(service, job_id)
        first, second = await service.outgoing_queue.get_call_attempts(job_id)
        assert first.failure_cause == "aborted"
        assert second.failure_cause is None
        assert first.pages_confirmed + second.pages_confirmed == 5
        sent = await service.archives.get_message(Direction.OUT, job_id)
        assert sent.pages == 5
        assert sent.retries == 0
        rest = (5 - first.pages_confirmed, False)
        assert await receptions(service, 2) == sorted([cut_off, rest])
