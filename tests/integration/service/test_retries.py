"""Failures and retries: per-cause delays, resuming from the first unconfirmed page,
retries exceeded and restart, cancel, pause and resume, schedules."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import numpy as np
import pytest

from openfax.documents import read_fax_tiff, render_documents
from openfax.errors import InvalidOperationError, MessageNotFoundError
from openfax.model import JobStatus, ScheduleType, ServerEvents
from openfax.model.events import OutgoingJobChanged
from openfax.providers import CallCause, CallDirection, CallOutcome, DeviceState, LineFaults
from openfax.service import FaxService, ManualClock
from openfax.service.config_file import OutgoingConfig
from openfax.service.event_hub import EventType
from openfax.service.outcome import decide
from openfax.store import Direction, OutgoingJob
from openfax.store import queries as q
from tests.factories import make_pdf
from tests.waiting import until

from .conftest import (
    START,
    MakeConfig,
    archived,
    events_until,
    job_leaves_queue,
    job_reaches,
    request,
    send_all,
)

pytestmark = pytest.mark.anyio


async def test_a_busy_line_is_retried_after_the_busy_delay(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    service.providers.loopback.line("1002").faults = LineFaults(busy=True)
    (job_id,) = await service.outgoing_queue.submit(request(two_pages))
    job = await job_reaches(service, job_id, JobStatus.RETRYING)
    assert (job.failure_cause, job.extended_status, job.retries) == ("busy", 8, 1)
    assert job.scheduled_time == START + timedelta(minutes=5)
    (attempt,) = await service.outgoing_queue.get_call_attempts(job_id)
    assert attempt.failure_cause == "busy"
    assert attempt.ended_at is not None
    service.providers.loopback.line("1002").faults = LineFaults()
    await clock.advance(4 * 60)
    assert (await service.outgoing_queue.get_job(job_id)).status is JobStatus.RETRYING
    await clock.advance(60)
    await job_leaves_queue(service, job_id)
    assert (await service.archives.get_message(Direction.OUT, job_id)).retries == 1
    busy, sent = await service.outgoing_queue.get_call_attempts(job_id)
    assert busy.failure_cause == "busy"
    assert sent.failure_cause is None
    assert sent.pages_confirmed == 2
    assert any(entry.get("frame") == "MCF" for entry in sent.transcript), "kept in the archive"
    await service.archives.delete_message(Direction.OUT, job_id)
    with pytest.raises(MessageNotFoundError):
        await service.outgoing_queue.get_call_attempts(job_id)


async def test_a_call_dropped_after_page_one_resumes_at_page_two(
    service: FaxService, clock: ManualClock, three_pages: Path
) -> None:
    service.providers.loopback.line("1002").faults = LineFaults(hang_up_after_page=1)
    (job_id,) = await service.outgoing_queue.submit(request(three_pages))
    job = await job_reaches(service, job_id, JobStatus.RETRYING)
    assert (job.pages_confirmed, job.failure_cause) == (1, "line_dropped")

    (partial,) = await archived(service)
    assert partial.partial
    assert partial.pages == 1
    service.providers.loopback.line("1002").faults = LineFaults()
    await clock.advance(2 * 60)
    await job_leaves_queue(service, job_id)

    first, rest = await archived(service, 2)
    assert (rest.pages, rest.partial) == (2, False), "the retry sent pages 2 and 3 only"
    expected = [np.asarray(p.image) for p in render_documents([three_pages])]
    got = [
        np.asarray(p.image)
        for m in (first, rest)
        for p in read_fax_tiff(await service.archives.tiff_path(Direction.IN, m.id))
    ]
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))


async def test_a_job_whose_every_page_was_confirmed_completes_without_a_call(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    """A job back in the queue with every page confirmed (its last call's outcome was never
    written: the store failed, the node stopped) is delivered: the scheduler completes it
    without dialling (it used to dial and fail with no pages to send)."""
    service.providers.loopback.line("1002").faults = LineFaults(busy=True)
    (job_id,) = await service.outgoing_queue.submit(request(two_pages))
    await job_reaches(service, job_id, JobStatus.RETRYING)
    async with service.ctx.db.transaction() as conn:
        await q.update_job(conn, job_id, {"pages_confirmed": 2})
    service.providers.loopback.line("1002").faults = LineFaults()
    await clock.advance(5 * 60)
    await job_leaves_queue(service, job_id)
    assert (await service.archives.get_message(Direction.OUT, job_id)).pages == 2
    busy, delivered = await service.outgoing_queue.get_call_attempts(job_id)
    assert busy.failure_cause == "busy"
    assert (delivered.failure_cause, delivered.result_code) == (None, None), "no call placed"
    assert not (await service.archives.get_incoming_messages()).messages


def test_a_failed_call_after_every_page_was_confirmed_completes_the_job() -> None:
    """The receiver confirmed the last page (MCF) and the call then failed (a drop before
    DCN): the fax is delivered, so the job completes and is not sent again."""
    job = OutgoingJob(
        submission_id=1,
        recipient_index=0,
        recipient_number="1002",
        document_path="body.tif",
        total_pages=3,
        pages_confirmed=1,
        original_scheduled_at=START,
        scheduled_at=START,
        created_at=START,
    )
    outcome = CallOutcome(
        CallDirection.OUTGOING, CallCause.LINE_DROPPED, "1002", None, pages=2, detail="dropped"
    )
    decision = decide(job, outcome, first_page=2, now=START, policy=OutgoingConfig())
    assert decision.status is JobStatus.COMPLETED
    assert decision.end.pages_confirmed == 3
    assert decision.end.failure_cause is None
    assert decision.end.extended_status_text == (
        "every page was confirmed; the call then ended: dropped"
    )
    short = decide(job, outcome, first_page=1, now=START, policy=OutgoingConfig())
    assert short.status is JobStatus.RETRYING, "2 of 3 confirmed is not delivered"


async def test_a_page_whose_confirmation_was_lost_is_the_only_page_sent_twice(
    service: FaxService, clock: ManualClock, three_pages: Path
) -> None:
    """The receiver has page 2, but its confirmation never reached the sender. The sender
    cannot tell that page from one that never arrived: the job resumes at page 2, so the
    receiver gets that one page twice and no other, and the job says where it resumes."""
    service.providers.loopback.line("1002").faults = LineFaults(lose_confirmation_of_page=2)
    (job_id,) = await service.outgoing_queue.submit(request(three_pages))
    job = await job_reaches(service, job_id, JobStatus.RETRYING)
    assert (job.pages_confirmed, job.failure_cause) == (1, "line_dropped")
    assert job.extended_status_text.endswith(
        "; 1 of 3 pages confirmed, the next call sends from page 2"
    )

    await archived(service, 1)  # the cut-off fax
    service.providers.loopback.line("1002").faults = LineFaults()
    await clock.advance(2 * 60)
    await job_leaves_queue(service, job_id)
    first, rest = await archived(service, 2)
    assert (first.pages, first.partial) == (2, True), "the receiver kept page 2"
    assert (rest.pages, rest.partial) == (2, False), "the retry sent pages 2 and 3 only"
    rendered = [np.asarray(p.image) for p in render_documents([three_pages])]
    got = [
        np.asarray(p.image)
        for m in (first, rest)
        for p in read_fax_tiff(await service.archives.tiff_path(Direction.IN, m.id))
    ]
    expected = [rendered[0], rendered[1], rendered[1], rendered[2]]
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))
    sent = await service.archives.get_message(Direction.OUT, job_id)
    assert (sent.pages, sent.retries) == (3, 1)


async def test_retries_exceeded_then_restart_sends_it(
    tmp_path: Path, clock: ManualClock, two_pages: Path, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data", outgoing={"retries": 1})
    async with FaxService(config, clock=clock) as service:
        service.providers.loopback.line("1002").faults = LineFaults(no_answer=True)
        (job_id,) = await service.outgoing_queue.submit(request(two_pages))
        await job_reaches(service, job_id, JobStatus.RETRYING)
        await clock.advance(10 * 60)
        job = await job_reaches(service, job_id, JobStatus.RETRIES_EXCEEDED)
        assert job.failure_cause == "no_answer"
        assert job.attempts == 2
        with pytest.raises(InvalidOperationError):
            await service.outgoing_queue.pause_job(job_id)
        service.providers.loopback.line("1002").faults = LineFaults()
        restarted = await service.outgoing_queue.restart_job(job_id)
        assert restarted.retries == 0
        # The restarted job may be claimed by line 1002 itself, which finds itself busy.
        await send_all(service, clock, [job_id])


async def test_cancel_in_a_call_hangs_up(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> None:
    # Cancelled once connected, at pace 5 eight pages leave ~7.5 s of wall time (more under
    # load) before the last page is confirmed; a cancel landing after that would complete.
    config = make_config(tmp_path / "data", loopback={"pace": 5.0})
    async with FaxService(config, clock=clock) as service:
        (job_id,) = await service.outgoing_queue.submit(
            request(make_pdf(tmp_path / "eight.pdf", 8))
        )
        job = await job_reaches(service, job_id, JobStatus.INPROGRESS)
        sender = await service.devices.get_device(job.device_id or 0)
        line = service.providers.loopback.line(sender.number)

        async def in_call() -> bool:
            return line.state is DeviceState.IN_CALL

        await until(in_call, "the call is connected")
        canceling = await service.outgoing_queue.cancel_job(job_id)
        assert canceling.status is JobStatus.CANCELING
        await job_leaves_queue(service, job_id)
        assert line.state is DeviceState.IDLE
        assert (await service.archives.get_outgoing_messages()).messages == []


async def test_pause_and_resume_a_waiting_job(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    await service.options.set_queue_switches(outgoing_paused=True)
    (job_id,) = await service.outgoing_queue.submit(request(two_pages))
    paused = await service.outgoing_queue.pause_job(job_id)
    assert paused.status == JobStatus.PENDING | JobStatus.PAUSED
    with pytest.raises(InvalidOperationError):
        await service.outgoing_queue.pause_job(job_id)
    await service.options.set_queue_switches(outgoing_paused=False)
    await clock.advance(60)
    assert (
        await service.outgoing_queue.get_job(job_id)
    ).status == JobStatus.PENDING | JobStatus.PAUSED
    resumed = await service.outgoing_queue.resume_job(job_id)
    assert resumed.status is JobStatus.PENDING
    await job_leaves_queue(service, job_id)


async def test_a_job_for_a_specific_time_waits_for_it(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    when = START + timedelta(hours=3)
    fields = {"schedule_type": ScheduleType.SPECIFIC_TIME, "schedule_time": when}
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, **fields))
    await clock.advance(2 * 3600)
    assert (await service.outgoing_queue.get_job(job_id)).status is JobStatus.PENDING
    await clock.advance(3600)
    await job_leaves_queue(service, job_id)


async def test_a_discount_job_waits_for_the_discount_period(
    tmp_path: Path, two_pages: Path, make_config: MakeConfig
) -> None:
    local = datetime(2026, 11, 24, 12, 0).astimezone()
    clock = ManualClock(local)
    config = make_config(
        tmp_path / "data", outgoing={"discount_start": "20:00", "discount_end": "07:00"}
    )
    async with FaxService(config, clock=clock) as service:
        fields = {"schedule_type": ScheduleType.DISCOUNT_PERIOD}
        (job_id,) = await service.outgoing_queue.submit(request(two_pages, **fields))
        job = await service.outgoing_queue.get_job(job_id)
        assert job.scheduled_time.astimezone().time() == time(20, 0)
        await clock.advance(7 * 3600)
        assert (await service.outgoing_queue.get_job(job_id)).status is JobStatus.PENDING
        await clock.advance(3600)
        await job_leaves_queue(service, job_id)


async def test_the_event_stream_sees_each_state_in_order(
    service: FaxService, two_pages: Path
) -> None:
    mask = ServerEvents.OUT_QUEUE | ServerEvents.OUT_ARCHIVE
    stream = service.listening.events(mask, after=await service.listening.last_seq())
    (job_id,) = await service.outgoing_queue.submit(request(two_pages))
    seen = await events_until(stream, EventType.OUTGOING_JOB_REMOVED)
    assert all(
        getattr(e.payload, "job_id", getattr(e.payload, "message_id", 0)) == job_id for e in seen
    )
    kinds = [e.type for e in seen]
    assert kinds[0] is EventType.OUTGOING_JOB_ADDED
    assert kinds[-2:] == [EventType.OUTGOING_MESSAGE_ADDED, EventType.OUTGOING_JOB_REMOVED]
    statuses = [e.payload.status for e in seen if isinstance(e.payload, OutgoingJobChanged)]
    assert statuses[0] == JobStatus.INPROGRESS
    assert statuses[-1] == JobStatus.COMPLETED
    assert set(statuses[:-1]) == {JobStatus.INPROGRESS}
    pages = [e.payload.pages_confirmed for e in seen if isinstance(e.payload, OutgoingJobChanged)]
    assert pages == sorted(pages)
    assert pages[-1] == 2
    await stream.aclose()
