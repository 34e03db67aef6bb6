"""How the scheduler hands jobs to lines: NOLINE when no line can take a ready job, and a
line never calling its own number while another line is free."""

from __future__ import annotations

from pathlib import Path

import pytest

from openfax.model import JobStatus, ServerEvents
from openfax.service import FaxService
from openfax.service.events import EventType
from openfax.store import Direction

from .conftest import events_until, eventually, job_leaves_queue, job_reaches, request

pytestmark = pytest.mark.anyio


async def test_a_ready_job_no_line_can_take_is_noline_until_a_line_takes_it(
    service: FaxService, two_pages: Path
) -> None:
    devices = await service.get_devices()
    for device in devices:
        await service.save_device(device.id, send_enabled=False)
    stream = service.events(ServerEvents.OUT_QUEUE, after=await service.last_event_seq())
    (job_id,) = await service.submit(request(two_pages, "1002"))
    await job_reaches(service, job_id, JobStatus.PENDING | JobStatus.NOLINE)
    seen = await events_until(stream, EventType.OUTGOING_JOB_CHANGED)
    assert seen[0].type is EventType.OUTGOING_JOB_ADDED
    assert seen[-1].payload["status"] == JobStatus.PENDING | JobStatus.NOLINE
    await stream.aclose()

    await service.save_device(devices[0].id, send_enabled=True)
    await job_leaves_queue(service, job_id)
    (attempt,) = await service.get_call_attempts(job_id)
    assert attempt.device_id == devices[0].id and attempt.failure_cause is None


async def test_a_line_leaves_a_fax_to_its_own_number_to_another_free_line(
    service: FaxService, two_pages: Path
) -> None:
    first, *_ = await service.get_devices()
    (job_id,) = await service.submit(request(two_pages, first.number))
    await job_leaves_queue(service, job_id)
    (attempt,) = await service.get_call_attempts(job_id)
    assert attempt.device_id != first.id and attempt.failure_cause is None
    assert (await service.get_message(Direction.OUT, job_id)).retries == 0


async def test_a_line_calls_its_own_number_when_no_other_line_is_free(
    service: FaxService, two_pages: Path
) -> None:
    first, second, third = await service.get_devices()
    for other in (second, third):
        await service.save_device(other.id, send_enabled=False)
    (job_id,) = await service.submit(request(two_pages, first.number))
    job = await job_reaches(service, job_id, JobStatus.RETRYING)
    assert (job.device_id, job.failure_cause) == (first.id, "busy")

    async def attempted() -> bool:
        return len(await service.get_call_attempts(job_id)) == 1

    await eventually(attempted, "the call attempt is recorded")


async def test_a_new_line_identifies_itself_by_its_number(
    service: FaxService, two_pages: Path
) -> None:
    devices = await service.get_devices()
    assert [(d.csid, d.tsid) for d in devices] == [(d.number, d.number) for d in devices]
    (job_id,) = await service.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, job_id)
    (message,) = (await service.get_outgoing_messages()).messages
    assert message.csid == "1002"
