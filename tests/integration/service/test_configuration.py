"""The configuration object (FAXCOMEX ``Configuration``): saved values win over the TOML
file's, across restarts, and the running service uses them at once (retries, branding,
device TSID, personal cover pages, archiving, age limits, the size warning)."""

from __future__ import annotations

import logging
from datetime import time
from pathlib import Path

import numpy as np
import pytest

from openfax.documents import read_fax_tiff
from openfax.errors import ConfigError, MessageNotFoundError, SubmissionError
from openfax.model import CoverPageType, JobStatus
from openfax.providers import LineFaults
from openfax.service import FaxService, ManualClock, Sender
from openfax.service.configuration import CONFIGURATION_KEY
from openfax.service.event_hub import EventType
from openfax.service.housekeeping import ArchiveQuota, apply_age_limits
from openfax.store import Direction
from openfax.store import queries as q

from .conftest import (
    START,
    MakeConfig,
    archived,
    job_leaves_queue,
    job_reaches,
    request,
)
from .test_documents import band, header

pytestmark = pytest.mark.anyio

DAY = 86400


async def test_saved_values_win_over_the_file_and_outlive_a_restart(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data", outgoing={"retries": 7, "discount_start": "21:00"})
    async with FaxService(config, clock=clock) as service:
        before = await service.options.get_configuration()
        assert (before.retries, before.discount_rate_start) == (7, time(21, 0))
        assert before.archive_location == str(config.spool_dir)
        assert before.archive_size == 0
        after = await service.options.save_configuration(
            {"retries": 2, "retry_delay": 1.5, "discount_rate_end": "06:30"}
        )
        assert (after.retries, after.retry_delay, after.discount_rate_end) == (
            2,
            1.5,
            time(6, 30),
        )
        assert after.discount_rate_start == time(21, 0), "what was not saved keeps its value"
        causes = service.config.outgoing.causes
        assert causes.no_answer.delay_minutes == causes.busy.delay_minutes == 1.5
    async with FaxService(config, clock=clock) as service:
        again = await service.options.get_configuration()
        assert (again.retries, again.retry_delay, again.discount_rate_end) == (2, 1.5, time(6, 30))
        assert service.config.outgoing.retries == 2


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"retries": -1}, "retries"),
        ({"retry_delay": "soon"}, "retry_delay"),
        ({"branding": "yes"}, "branding"),
        ({"discount_rate_start": "25:00"}, "discount_rate_start"),
        ({"archive_size": 0}, "archive_size"),
        ({"retries": 1, "colour": True}, "colour"),
        ({"low_quota_water_mark": 900, "high_quota_water_mark": 800}, "low_quota_water_mark"),
        ({"retry_delay": float("inf")}, "retry_delay"),
        ({"retry_delay": 7 * 24 * 60 + 1}, "retry_delay"),
        ({"retries": 2**63}, "retries"),
        ({"outgoing_queue_age_limit": 10**14}, "outgoing_queue_age_limit"),
        ({"archive_age_limit": 36_501}, "archive_age_limit"),
        ({"incoming_archive_age_limit": 10**14}, "incoming_archive_age_limit"),
        ({"high_quota_water_mark": 2**63}, "high_quota_water_mark"),
    ],
)
async def test_a_wrong_property_is_named_and_nothing_is_saved(
    service: FaxService, changes: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        await service.options.save_configuration(changes)
    assert raised.value.key == named
    async with service.ctx.db.read() as conn:
        assert await q.get_setting(conn, CONFIGURATION_KEY) is None
    assert (await service.options.get_configuration()).retries == 3


async def test_a_saved_value_out_of_range_is_left_out_and_can_be_replaced(
    service: FaxService, caplog: pytest.LogCaptureFixture
) -> None:
    """A value saved before its range was checked (an age limit housekeeping cannot
    compute) is logged and not used; the others still are, and saving a good value
    replaces it."""
    async with service.ctx.hub.transaction() as conn:
        saved = {"outgoing_queue_age_limit": 10**14, "retries": 5}
        await q.set_setting(conn, CONFIGURATION_KEY, saved, now=service.ctx.clock.now())
    with caplog.at_level(logging.WARNING, "openfax.service.configuration"):
        configuration = await service.options.get_configuration()
    assert configuration.retries == 5
    assert configuration.outgoing_queue_age_limit == 0
    assert "outgoing_queue_age_limit: must be at most 36,500" in caplog.text
    changed = await service.options.save_configuration({"outgoing_queue_age_limit": 30})
    assert changed.outgoing_queue_age_limit == 30


async def test_saving_announces_each_configuration_changed(service: FaxService) -> None:
    seq = await service.listening.last_seq()
    await service.options.save_configuration(
        {"retries": 1, "use_archive": False, "outgoing_queue_paused": True}
    )
    async with service.ctx.db.read() as conn:
        rows = await q.read_events(conn, after=seq)
    kinds = (EventType.CONFIG_CHANGED.value, EventType.QUEUES_STATUS_CHANGED.value)
    assert [(row.type, row.payload.get("configuration")) for row in rows if row.type in kinds] == [
        ("config_changed", "outgoing_archive"),
        ("config_changed", "outgoing_queue"),
        ("queues_status_changed", None),
    ]
    assert service.options.get_queue_switches().outgoing_paused


async def test_retries_change_without_a_restart(service: FaxService, two_pages: Path) -> None:
    service.providers.loopback.line("1003").faults = LineFaults(no_answer=True)
    await service.options.save_configuration({"retries": 0})
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1003"))
    job = await job_reaches(service, job_id, JobStatus.RETRIES_EXCEEDED, JobStatus.RETRYING)
    assert job.status is JobStatus.RETRIES_EXCEEDED
    assert job.retries == 0


async def test_branding_follows_the_saved_value_from_the_next_submission(
    service: FaxService, tmp_path: Path, two_pages: Path
) -> None:
    await service.options.set_queue_switches(outgoing_paused=True)
    (plain,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await service.options.save_configuration({"branding": True})
    (branded,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    copy = tmp_path / "copy.tif"
    await service.outgoing_queue.copy_tiff(plain, copy)
    page = read_fax_tiff(copy)[0]
    assert not np.array_equal(band(page), header(page, "", START, 1, 2))
    await service.outgoing_queue.copy_tiff(branded, copy)
    page = read_fax_tiff(copy)[0]
    assert np.array_equal(band(page), header(page, "", START, 1, 2))


async def test_the_device_tsid_is_used_once_saved(
    service: FaxService, tmp_path: Path, two_pages: Path
) -> None:
    fax = request(two_pages, "1002", sender=Sender(tsid="+1 555 0100"))
    (first,) = await service.outgoing_queue.submit(fax)
    await job_leaves_queue(service, first)
    assert (await service.archives.get_message(Direction.OUT, first)).tsid == "+1 555 0100"
    await service.options.save_configuration({"use_device_tsid": True})
    (second,) = await service.outgoing_queue.submit(fax)
    await job_leaves_queue(service, second)

    tsids = {m.tsid for m in await archived(service, 2)}
    assert "+1 555 0100" in tsids, "the sender's TSID, before"
    assert tsids - {"+1 555 0100"} <= {"1001", "1003"}, "the sending line's own, after"
    assert len(tsids) == 2


async def test_personal_cover_pages_are_refused_when_not_allowed(
    service: FaxService, tmp_path: Path, two_pages: Path
) -> None:
    template = tmp_path / "mine.txt"
    template.write_text("To {recipient_name}\n")
    personal = request(
        two_pages, "1002", cover_page_type=CoverPageType.LOCAL, cover_page=str(template)
    )
    await service.options.set_queue_switches(outgoing_paused=True)
    assert await service.outgoing_queue.submit(personal)
    await service.options.save_configuration({"allow_personal_cover_pages": False})
    with pytest.raises(SubmissionError, match="allow_personal_cover_pages"):
        await service.outgoing_queue.submit(personal)
    server_cover = request(two_pages, "1002", cover_page_type=CoverPageType.SERVER)
    assert await service.outgoing_queue.submit(server_cover), (
        "the server's cover pages still may be used"
    )


async def test_sent_faxes_are_archived_only_while_archiving_is_on(
    service: FaxService, two_pages: Path
) -> None:
    await service.options.save_configuration({"use_archive": False})
    (dropped,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, dropped)
    with pytest.raises(MessageNotFoundError):
        await service.archives.get_message(Direction.OUT, dropped)
    await service.options.save_configuration({"use_archive": True})
    (kept,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, kept)
    assert (await service.archives.get_message(Direction.OUT, kept)).pages == 2


async def test_a_saved_archive_age_limit_applies_at_the_next_pass(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, job_id)
    await clock.advance(3 * DAY)
    await apply_age_limits(service.ctx)
    assert await service.archives.get_message(Direction.OUT, job_id), "no age limit: kept"
    await service.options.save_configuration({"archive_age_limit": 2})
    await apply_age_limits(service.ctx)
    with pytest.raises(MessageNotFoundError):
        await service.archives.get_message(Direction.OUT, job_id)


async def test_the_size_warning_is_logged_once_above_the_high_water_mark(
    service: FaxService, two_pages: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, job_id)
    quota = ArchiveQuota()
    assert not await quota.check(service.ctx), "the warning is off by default"
    await service.options.save_configuration(
        {"size_quota_warning": True, "high_quota_water_mark": 0, "low_quota_water_mark": 0}
    )
    assert (await service.options.get_configuration()).archive_size > 0
    with caplog.at_level(logging.WARNING, "openfax.service.housekeeping"):
        assert await quota.check(service.ctx)
        assert not await quota.check(service.ctx), "once, until it falls below the low mark"
    assert "more than the high water mark of 0 MB" in caplog.text
