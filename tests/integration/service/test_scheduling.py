"""How the scheduler hands jobs to lines: NOLINE when no line can take a ready job, and a
line never calling a number it does not reach (a loopback line's own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openfax.model import JobStatus, ServerEvents
from openfax.service import FaxService
from openfax.service.event_hub import EventType
from openfax.store import Direction

from .conftest import events_until, job_leaves_queue, job_reaches, request

pytestmark = pytest.mark.anyio


async def test_a_ready_job_no_line_can_take_is_noline_until_a_line_takes_it(
    service: FaxService, two_pages: Path
) -> None:
    devices = await service.devices.get_devices()
    for device in devices:
        await service.devices.save_device(device.id, send_enabled=False)
    stream = service.listening.events(
        ServerEvents.OUT_QUEUE, after=await service.listening.last_seq()
    )
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_reaches(service, job_id, JobStatus.PENDING | JobStatus.NOLINE)
    seen = await events_until(stream, EventType.OUTGOING_JOB_CHANGED)
    assert seen[0].type is EventType.OUTGOING_JOB_ADDED
    assert seen[-1].payload.status == JobStatus.PENDING | JobStatus.NOLINE
    await stream.aclose()

    await service.devices.save_device(devices[0].id, send_enabled=True)
    await job_leaves_queue(service, job_id)
    (attempt,) = await service.outgoing_queue.get_call_attempts(job_id)
    assert attempt.device_id == devices[0].id
    assert attempt.failure_cause is None


async def test_a_line_leaves_a_fax_to_its_own_number_to_another_free_line(
    service: FaxService, two_pages: Path
) -> None:
    first, *_ = await service.devices.get_devices()
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, first.number))
    await job_leaves_queue(service, job_id)
    (attempt,) = await service.outgoing_queue.get_call_attempts(job_id)
    assert attempt.device_id != first.id
    assert attempt.failure_cause is None
    assert (await service.archives.get_message(Direction.OUT, job_id)).retries == 0


async def test_a_fax_to_a_lines_own_number_waits_for_another_line(
    service: FaxService, two_pages: Path
) -> None:
    """Issue 12: a loopback line dialled its own number when no other line was free, found
    itself busy and left the fax to wait five minutes. It waits for a line that reaches the
    number instead (NOLINE meanwhile), while the free line sends the other faxes."""
    first, second, third = await service.devices.get_devices()
    for other in (second, third):
        await service.devices.save_device(other.id, send_enabled=False)
    (own,) = await service.outgoing_queue.submit(request(two_pages, first.number))
    (other,) = await service.outgoing_queue.submit(request(two_pages, third.number))
    await job_leaves_queue(service, other)
    await job_reaches(service, own, JobStatus.PENDING | JobStatus.NOLINE)
    assert await service.outgoing_queue.get_call_attempts(own) == []

    await service.devices.save_device(second.id, send_enabled=True)
    await job_leaves_queue(service, own)
    (attempt,) = await service.outgoing_queue.get_call_attempts(own)
    assert attempt.device_id == second.id
    assert attempt.failure_cause is None
    assert (await service.archives.get_message(Direction.OUT, own)).retries == 0


async def test_faxes_to_a_lines_own_number_go_out_only_on_the_other_lines(
    service: FaxService, two_pages: Path
) -> None:
    """Eight faxes to line 1's number with lines 1 and 2 sending (as ``make run`` has them):
    each goes out on line 2 at its first call; line 1 never meets itself busy."""
    first, second, third = await service.devices.get_devices()
    await service.devices.save_device(third.id, send_enabled=False)
    job_ids = await service.outgoing_queue.submit(request(two_pages, *[first.number] * 8))
    for job_id in job_ids:
        await job_leaves_queue(service, job_id)
    for job_id in job_ids:
        (attempt,) = await service.outgoing_queue.get_call_attempts(job_id)
        assert attempt.device_id == second.id
        assert attempt.failure_cause is None


async def test_a_new_line_identifies_itself_by_its_number(
    service: FaxService, two_pages: Path
) -> None:
    devices = await service.devices.get_devices()
    assert [(d.csid, d.tsid) for d in devices] == [(d.number, d.number) for d in devices]
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, job_id)
    (message,) = (await service.archives.get_outgoing_messages()).messages
    assert message.csid == "1002"
