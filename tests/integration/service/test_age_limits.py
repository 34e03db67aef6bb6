"""Age limits on the manual clock: failed jobs leave the queue after
``outgoing.age_limit_days``, archived faxes leave after ``archive.*_age_limit_days``, with
their files and events."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openfax.errors import MessageNotFoundError
from openfax.model import JobStatus, format_id
from openfax.providers import LineFaults
from openfax.service import FaxService, ManualClock
from openfax.service.housekeeping import apply_age_limits
from openfax.store import Direction
from tests.waiting import until

from .conftest import MakeConfig, archived, job_leaves_queue, job_reaches, request

pytestmark = pytest.mark.anyio

DAY = 86400


async def test_failed_jobs_then_archived_faxes_age_out_with_their_files(
    tmp_path: Path, clock: ManualClock, two_pages: Path, make_config: MakeConfig
) -> None:
    config = make_config(
        tmp_path / "data",
        outgoing={"retries": 0, "age_limit_days": 1},
        archive={"outgoing_age_limit_days": 3, "incoming_age_limit_days": 3},
    )
    async with FaxService(config, clock=clock) as service:
        service.providers.loopback.line("1003").faults = LineFaults(no_answer=True)
        (failed,) = await service.outgoing_queue.submit(request(two_pages, "1003"))
        await job_reaches(service, failed, JobStatus.RETRIES_EXCEEDED)
        (sent,) = await service.outgoing_queue.submit(
            request(two_pages, "1002", idempotency_key="k")
        )
        await job_leaves_queue(service, sent)

        (incoming,) = await archived(service)
        files = [
            await service.archives.tiff_path(Direction.OUT, sent),
            await service.archives.tiff_path(Direction.IN, incoming.id),
        ]
        pdf = await service.archives.pdf_path(Direction.IN, incoming.id)
        failed_tiff = tmp_path / "failed.tif"
        await service.outgoing_queue.copy_tiff(failed, failed_tiff)
        # The failed job's body and the pages its call composed, and the two archived faxes
        # (the sent job's body goes just after its outcome's commit).

        async def four_files() -> bool:
            return len(set(config.spool_dir.rglob("*.tif"))) == 4

        await until(four_files, "the sent job's body leaves the spool")

        await clock.advance(DAY + 3600)

        async def failed_pruned() -> bool:
            await clock.advance(60)  # the clean-up runs hourly: wake it if it slept past
            return failed not in {job.id for job in await service.outgoing_queue.get_jobs()}

        await until(failed_pruned, "the failed job leaves the queue after a day")
        assert all(path.exists() for path in files), "the archives keep their faxes"

        async def failed_file_gone() -> bool:
            return set(config.spool_dir.rglob("*.tif")) == set(files)

        await until(failed_file_gone, "the failed job's documents leave the spool")

        await clock.advance(2 * DAY)

        async def archives_pruned() -> bool:
            await clock.advance(60)
            out = await service.archives.get_outgoing_messages()
            inbox = await service.archives.get_incoming_messages()
            gone = not any(path.exists() for path in [*files, pdf])
            return not out.messages and not inbox.messages and gone

        await until(archives_pruned, "the archives and their files go after three days")
        with pytest.raises(MessageNotFoundError):
            await service.outgoing_queue.get_call_attempts(sent)
        # The submission went with its last message: the key is new again.
        again = await service.outgoing_queue.submit(request(two_pages, "1002", idempotency_key="k"))
        assert again != [sent]


async def test_no_age_limit_keeps_everything(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    service.providers.loopback.line("1003").faults = LineFaults(no_answer=True)
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1003"))

    async def retries_exceeded() -> bool:
        # Each retry is scheduled once its call's outcome is written, in wall time: the clock
        # moves on in steps until the last has failed (one jump could pass a retry's time
        # before it was set, leaving it waiting for a time that never comes).
        await clock.advance(600)
        job = await service.outgoing_queue.get_job(job_id)
        return job.status == JobStatus.RETRIES_EXCEEDED

    await until(retries_exceeded, "the job fails after its retries")
    job = await service.outgoing_queue.get_job(job_id)
    await clock.advance(60 * DAY)
    assert (await service.outgoing_queue.get_job(job_id)).status == job.status


async def test_passes_at_once_purge_each_fax_once(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    """Nodes sharing a store purge at the same time: each fax goes once, recorded once, and
    no pass fails on what another removed first (on PostgreSQL a delete waits for the other
    pass's commit, then finds nothing)."""
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, job_id)

    (incoming,) = await archived(service)
    await service.options.save_configuration(
        {"archive_age_limit": 1, "incoming_archive_age_limit": 1}
    )
    await clock.advance(2 * DAY)
    await asyncio.gather(*(apply_age_limits(service.ctx) for _ in range(3)))
    purged = [e.object_id for e in await service.options.get_audit() if e.action == "purged"]
    assert sorted(purged) == sorted([format_id(job_id), format_id(incoming.id)])
    assert not (await service.archives.get_outgoing_messages()).messages
    assert not (await service.archives.get_incoming_messages()).messages
