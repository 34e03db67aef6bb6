"""Spool documents of outgoing faxes: a submission's body is rendered once and shared by its
jobs; the header line is drawn when a call's pages are composed (the TSID used, the time of
sending, page x of the whole fax); shared files leave the spool with their last job, and
files a crash left unreferenced are removed at the next start."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from openfax.documents import (
    FaxPage,
    draw_header_line,
    format_header_line,
    read_fax_tiff,
    render_documents,
    write_fax_tiff,
)
from openfax.model import JobStatus
from openfax.providers import LineFaults
from openfax.service import FaxService, ManualClock, Sender
from openfax.service.composing import compose_pages
from openfax.store import Direction, OutgoingJob, Spool
from tests.waiting import until

from .conftest import (
    START,
    MakeConfig,
    archived,
    job_leaves_queue,
    job_reaches,
    request,
    spool_files,
    spool_holds,
)
from .test_pages import bits, header_band
from .test_sending import send_all

pytestmark = pytest.mark.anyio

TSID = "+1 555 0100"


def header(page: FaxPage, tsid: str, when: datetime, number: int, count: int) -> np.ndarray:
    """The header band as drawn on a blank page like ``page``."""
    blank = FaxPage.from_rows(np.zeros_like(page.rows), page.width, page.resolution)
    drawn = draw_header_line(blank, format_header_line(tsid, when, number, count))
    return bits(drawn)[header_band(page)]


def band(page: FaxPage) -> np.ndarray:
    return bits(page)[header_band(page)]


async def test_a_broadcast_shares_one_body_until_its_last_job_leaves(
    tmp_path: Path, clock: ManualClock, two_pages: Path, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data", outgoing={"branding": True, "tsid": TSID})
    async with FaxService(config, clock=clock) as service:
        await service.options.set_queue_switches(outgoing_paused=True)
        ids = await service.outgoing_queue.submit(request(two_pages, "1002", "1003", "1002"))
        (body,) = spool_files(service)
        assert len(read_fax_tiff(body)) == 2, "one document for three recipients, no headers"

        copy = tmp_path / "copy.tif"
        await service.outgoing_queue.copy_tiff(ids[1], copy)
        pages = read_fax_tiff(copy)
        assert [
            np.array_equal(band(p), header(p, TSID, START, n, 2))
            for n, p in enumerate(pages, start=1)
        ] == [True, True], "CopyTiff shows the pages as sent"
        assert spool_files(service) == {body}, "CopyTiff composes without storing"

        await service.options.set_queue_switches(outgoing_paused=False)
        await send_all(service, clock, ids)
        sent = {await service.archives.tiff_path(Direction.OUT, job_id) for job_id in ids}
        assert len(sent) == 3
        assert body not in sent
        await spool_holds(service, sent, "the shared body left with the last job")


async def test_cancelling_a_broadcast_removes_its_body(
    service: FaxService, two_pages: Path
) -> None:
    await service.options.set_queue_switches(outgoing_paused=True)
    first, second = await service.outgoing_queue.submit(request(two_pages, "1002", "1003"))
    (body,) = spool_files(service)
    await service.outgoing_queue.cancel_job(first)
    assert spool_files(service) == {body}, "the other job still needs the body"
    await service.outgoing_queue.cancel_job(second)
    await job_leaves_queue(service, second)
    assert spool_files(service) == set()


async def test_a_repeated_key_racing_the_first_leaves_one_body(
    service: FaxService, two_pages: Path
) -> None:
    await service.options.set_queue_switches(outgoing_paused=True)
    # An account's key (the unique constraint resolves its race; see insert_submission).
    fax = request(two_pages, "1002", "1003", idempotency_key="order-43", owner_id=7)
    first, second = await asyncio.gather(
        service.outgoing_queue.submit(fax), service.outgoing_queue.submit(fax)
    )
    assert first == second
    assert len(spool_files(service)) == 1, "the loser's rendering left the spool"


async def test_the_header_shows_the_device_tsid_and_the_time_of_sending(
    tmp_path: Path, clock: ManualClock, two_pages: Path, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data", outgoing={"branding": True, "use_device_tsid": True})
    async with FaxService(config, clock=clock) as service:
        await service.options.set_queue_switches(outgoing_paused=True)
        (job_id,) = await service.outgoing_queue.submit(
            request(two_pages, "1002", sender=Sender(tsid=TSID))
        )
        await clock.advance(3600)
        await service.options.set_queue_switches(outgoing_paused=False)
        await job_leaves_queue(service, job_id)
        message = await service.archives.get_message(Direction.OUT, job_id)
        (device,) = [
            d for d in await service.devices.get_devices() if d.device_name == message.device_name
        ]
        assert message.tsid == device.tsid == device.number, "the device's TSID was used"

        (incoming,) = await archived(service)
        assert incoming.tsid == device.tsid, "the TSID sent is the one in the header"
        when = (START + timedelta(hours=1)).astimezone(None)
        pages = read_fax_tiff(await service.archives.tiff_path(Direction.IN, incoming.id))
        for number, page in enumerate(pages, start=1):
            assert np.array_equal(band(page), header(page, device.tsid, when, number, 2))
        kept = read_fax_tiff(await service.archives.tiff_path(Direction.OUT, job_id))
        assert all(np.array_equal(a.rows, b.rows) for a, b in zip(kept, pages, strict=True))


async def test_a_resend_numbers_its_pages_within_the_whole_fax(
    tmp_path: Path, clock: ManualClock, three_pages: Path, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data", outgoing={"branding": True, "tsid": TSID})
    async with FaxService(config, clock=clock) as service:
        service.providers.loopback.line("1002").faults = LineFaults(hang_up_after_page=1)
        (job_id,) = await service.outgoing_queue.submit(request(three_pages))
        await job_reaches(service, job_id, JobStatus.RETRYING)

        await archived(service)  # the partial fax
        service.providers.loopback.line("1002").faults = LineFaults()
        await clock.advance(2 * 60)
        await job_leaves_queue(service, job_id)

        rest = (await archived(service, 2))[1]
        resent = read_fax_tiff(await service.archives.tiff_path(Direction.IN, rest.id))
        later = (START + timedelta(minutes=2)).astimezone(None)
        assert len(resent) == 2
        for number, page in enumerate(resent, start=2):
            assert np.array_equal(band(page), header(page, TSID, later, number, 3))
        kept = read_fax_tiff(await service.archives.tiff_path(Direction.OUT, job_id))
        when = [START.astimezone(None), later, later]
        assert [
            np.array_equal(band(page), header(page, TSID, when[n - 1], n, 3))
            for n, page in enumerate(kept, start=1)
        ] == [True, True, True], "the archive keeps each page as it was sent"


async def test_old_files_no_row_refers_to_are_removed_at_start(
    tmp_path: Path, clock: ManualClock, two_pages: Path, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data")
    async with FaxService(config, clock=clock) as service:
        await service.options.set_queue_switches(outgoing_paused=True)
        await service.outgoing_queue.submit(request(two_pages, "1002", "1003"))
        (body,) = spool_files(service)
        spool = service.ctx.spool
        # What a kill -9 between a commit and the deletion it allowed leaves behind, or in
        # the middle of a write.
        orphan = spool.path(spool.write_bytes(b"no row refers to this", suffix=".tif"))
        half = spool.root / ".tmp" / "cut-off.part"
        half.write_bytes(b"half")
        recent = spool.path(spool.write_bytes(b"maybe being queued", suffix=".tif"))
    two_hours_ago = time.time() - 7200
    for path in (body, orphan, half):
        os.utime(path, (two_hours_ago, two_hours_ago))
    async with FaxService(config, clock=clock) as service:

        async def swept() -> bool:
            return not orphan.exists() and not half.exists()

        await until(swept, "the orphans are removed at start")
        assert body.exists(), "the queued jobs' body stays"
        assert recent.exists(), "a young file may belong to work under way"
        assert len(await service.outgoing_queue.get_jobs()) == 2


def test_a_job_queued_before_shared_bodies_sends_its_own_document(
    tmp_path: Path, three_pages: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    pages = render_documents([three_pages])
    whole = tmp_path / "whole.tif"
    write_fax_tiff(pages, whole)
    job = OutgoingJob(
        submission_id=1,
        recipient_index=0,
        recipient_number="1002",
        document_path=spool.store_file(whole),
        total_pages=3,
        pages_confirmed=1,
        original_scheduled_at=START,
        scheduled_at=START,
        created_at=START,
    )
    composed = compose_pages(spool, job, None, tsid=TSID, when=START)
    assert [p.rows.tobytes() for p in composed] == [p.rows.tobytes() for p in pages]
