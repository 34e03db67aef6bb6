"""Sending through the service: line 1 to line 2, received pixel-identical, archived."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from openfax.documents import read_fax_tiff, render_documents
from openfax.errors import BodyError, QueueBlockedError, RecipientsLimitError, SubmissionError
from openfax.model import CoverPageType, ScheduleType
from openfax.service import (
    STORE_IN_FOLDER,
    FaxService,
    FolderSettings,
    ManualClock,
    Recipient,
    Sender,
    SubmitRequest,
)
from openfax.store import Direction
from tests.waiting import until

from .conftest import (
    START,
    MakeConfig,
    archived,
    job_leaves_queue,
    request,
    send_all,
)

pytestmark = pytest.mark.anyio


PLUS_ONE = timezone(timedelta(hours=1))


def pixels(path: Path) -> list[np.ndarray]:
    return [np.asarray(page.image) for page in read_fax_tiff(path)]


async def test_a_two_page_pdf_arrives_pixel_identical_in_the_archive_and_folder(
    service: FaxService, two_pages: Path, tmp_path: Path
) -> None:
    devices = await service.devices.get_devices()
    assert [d.number for d in devices] == ["1001", "1002", "1003"]
    receiver = devices[1].id
    folder = tmp_path / "inbox"
    await service.devices.set_store_in_folder(receiver, FolderSettings(str(folder)))
    await service.devices.use_routing_method(receiver, STORE_IN_FOLDER, True)

    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, job_id)

    out = await service.archives.get_message(Direction.OUT, job_id)
    assert out.pages == 2
    assert out.recipient is not None
    assert out.recipient.fax_number == "1002"

    (message,) = await archived(service)
    assert message.pages == 2
    assert not message.partial
    (attempt,) = await service.outgoing_queue.get_call_attempts(job_id)
    assert message.caller_id == (await service.devices.get_device(attempt.device_id or 0)).number
    expected = [np.asarray(page.image) for page in render_documents([two_pages])]
    got = pixels(await service.archives.tiff_path(Direction.IN, message.id))
    assert len(got) == 2
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))
    stored = folder / f"{message.id:016x}.tif"
    assert all(np.array_equal(a, b) for a, b in zip(expected, pixels(stored), strict=True))
    pdf = await service.archives.pdf_path(Direction.IN, message.id)
    assert pdf.read_bytes().startswith(b"%PDF")


async def test_a_broadcast_is_one_submission_with_a_job_per_recipient(
    tmp_path: Path, clock: ManualClock, two_pages: Path, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data", outgoing={"retries": 10})
    async with FaxService(config, clock=clock) as service:
        await broadcast(service, clock, two_pages)


async def broadcast(service: FaxService, clock: ManualClock, two_pages: Path) -> None:
    ids = await service.outgoing_queue.submit(request(two_pages, "1002", "1003", "1002"))
    assert len(set(ids)) == 3
    jobs = {job.id: job for job in await service.outgoing_queue.get_jobs()}
    assert len({jobs[i].submission_id for i in ids}) == 1
    assert [jobs[i].recipient_number for i in ids] == ["1002", "1003", "1002"]
    # Lines call each other here, so some calls find a line busy and are retried.
    await send_all(service, clock, ids)
    sent = (await service.archives.get_outgoing_messages()).messages
    assert sorted(m.id for m in sent) == sorted(ids)
    assert all(m.pages == 2 for m in sent)


async def test_a_bad_body_is_named_by_index_and_nothing_is_queued(
    service: FaxService, two_pages: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not a pdf")
    bad = request(two_pages, "1002")
    bad = SubmitRequest(bodies=[two_pages, broken], recipients=bad.recipients)
    with pytest.raises(BodyError) as caught:
        await service.outgoing_queue.submit(bad)
    assert caught.value.index == 1
    assert "broken.pdf" in str(caught.value)
    assert await service.outgoing_queue.get_jobs() == []
    with pytest.raises(SubmissionError):
        await service.outgoing_queue.submit(SubmitRequest(bodies=[two_pages], recipients=[]))


async def test_a_blocked_queue_refuses_submissions(service: FaxService, two_pages: Path) -> None:
    await service.options.set_queue_switches(outgoing_blocked=True)
    with pytest.raises(QueueBlockedError):
        await service.outgoing_queue.submit(request(two_pages))
    await service.options.set_queue_switches(outgoing_blocked=False)
    assert len(await service.outgoing_queue.submit(request(two_pages))) == 1


async def test_an_idempotency_key_returns_the_same_jobs_and_sends_once(
    service: FaxService, two_pages: Path
) -> None:
    await service.options.set_queue_switches(outgoing_paused=True)
    first = await service.outgoing_queue.submit(request(two_pages, idempotency_key="order-42"))
    again = await service.outgoing_queue.submit(request(two_pages, idempotency_key="order-42"))
    assert first == again
    assert len(await service.outgoing_queue.get_jobs()) == 1
    await service.options.set_queue_switches(outgoing_paused=False)
    await job_leaves_queue(service, first[0])
    after_archive = await service.outgoing_queue.submit(
        request(two_pages, idempotency_key="order-42")
    )
    assert after_archive == first, "the key still names the archived job"
    assert len((await service.archives.get_outgoing_messages()).messages) == 1
    assert await service.outgoing_queue.get_jobs() == [], "a key seen before never sends again"


async def test_rendering_past_its_deadline_is_refused_and_nothing_is_queued(
    tmp_path: Path, make_config: MakeConfig, three_pages: Path
) -> None:
    config = make_config(tmp_path / "data", deadlines={"render_seconds": 0.001})
    async with FaxService(config, clock=ManualClock(START)) as service:
        with pytest.raises(SubmissionError, match="render_seconds"):
            await service.outgoing_queue.submit(request(three_pages, "1002"))
        assert await service.outgoing_queue.get_jobs() == []


async def test_a_render_past_its_deadline_stops_and_leaves_no_file_in_the_spool(
    tmp_path: Path, make_config: MakeConfig, three_pages: Path
) -> None:
    """A thousand cover pages take far longer than the second allowed: the render stops at
    its next page and has removed what it wrote when the submission is refused."""
    config = make_config(tmp_path / "data", deadlines={"render_seconds": 1})
    numbers = ["1002"] * 1000
    many = request(three_pages, *numbers, cover_page_type=CoverPageType.SERVER)
    async with FaxService(config, clock=ManualClock(START)) as service:
        await service.options.set_queue_switches(outgoing_paused=True)
        with pytest.raises(SubmissionError, match="render_seconds"):
            await service.outgoing_queue.submit(many)
        assert spool_files(config.spool_dir) == []
        (job_id,) = await service.outgoing_queue.submit(request(three_pages, "1002"))
        assert len(spool_files(config.spool_dir)) == 1, "the stopped render wrote no more"
        assert [job.id for job in await service.outgoing_queue.get_jobs()] == [job_id]


async def test_a_submission_cancelled_while_rendering_stops_it_and_leaves_no_file(
    service: FaxService, three_pages: Path
) -> None:
    """The request's task cancelled (its client gone, the service stopping) stops the render
    the way its deadline does: the worker removes what it wrote."""
    many = request(three_pages, *["1002"] * 1000, cover_page_type=CoverPageType.SERVER)
    spool = service.config.spool_dir
    submitting = asyncio.create_task(service.outgoing_queue.submit(many))
    await until(lambda: has_files(spool), "the render writes its first files")
    submitting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await submitting
    await until(lambda: has_files(spool, expected=False), "the stopped render cleans up")
    assert await service.outgoing_queue.get_jobs() == []


async def has_files(spool: Path, *, expected: bool = True) -> bool:
    return bool(spool_files(spool)) is expected


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"schedule_time": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)}, "schedule_time"),
        ({"schedule_time": datetime(1, 1, 1, tzinfo=PLUS_ONE)}, "schedule_time"),
        ({"note": "x" * 10_001}, "note"),
        ({"subject": "a\x00b"}, "subject"),
        ({"document_name": "d" * 256}, "document_name"),
        ({"sender": Sender(company="c" * 501)}, "sender.company"),
        ({"recipients": [Recipient(fax_number="1002\r\nX: y")]}, "recipients.0.fax_number"),
        ({"recipients": [Recipient(fax_number="1002", city="\x00")]}, "recipients.0.city"),
        ({"cover_page_type": CoverPageType.SERVER, "cover_page": "../etc/passwd"}, "cover_page"),
    ],
)
async def test_a_field_out_of_range_is_named_and_nothing_is_rendered(
    service: FaxService, three_pages: Path, fields: dict[str, object], named: str
) -> None:
    base = request(three_pages, "1002", schedule_type=ScheduleType.SPECIFIC_TIME)
    with pytest.raises(SubmissionError, match=rf"^{re.escape(named)}: "):
        await service.outgoing_queue.submit(dataclasses.replace(base, **fields))
    assert await service.outgoing_queue.get_jobs() == []
    assert spool_files(service.config.spool_dir) == []


async def test_a_broadcast_past_the_recipients_limit_is_refused(
    tmp_path: Path, make_config: MakeConfig, three_pages: Path
) -> None:
    config = make_config(tmp_path / "data", outgoing={"max_recipients": 3})
    async with FaxService(config, clock=ManualClock(START)) as service:
        with pytest.raises(RecipientsLimitError, match="4 recipients, more than the 3"):
            await service.outgoing_queue.submit(
                request(three_pages, "1002", "1003", "1002", "1003")
            )
        assert (
            len(await service.outgoing_queue.submit(request(three_pages, "1002", "1003", "1002")))
            == 3
        )


def spool_files(spool: Path) -> list[Path]:
    return [path for path in spool.rglob("*") if path.is_file()]
