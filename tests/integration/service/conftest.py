"""Service fixtures: a FaxService on a fresh data folder with unpaced loopback lines and a
manual clock, and documents to send. Every service test runs on both stores: a SQLite file in
the data folder and a fresh database on the session's private PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from openfax.model import JobStatus
from openfax.model.records import MessageInfo, OutgoingJobInfo
from openfax.providers import DeviceState
from openfax.service import (
    FaxService,
    ManualClock,
    Recipient,
    ServerEvent,
    SubmitRequest,
    load_config,
)
from openfax.service.config_file import ServiceConfig
from openfax.service.event_hub import EventType
from tests.factories import make_pdf
from tests.waiting import until

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
"""A Tuesday morning: outside the default discount period."""

WAIT_SECONDS = 60.0
"""How long a test waits for the service (wall time): generous, as a loaded CI machine runs
calls several times slower; it costs time only when the test fails anyway."""


def service_config(data_dir: Path, **overrides: Any) -> ServiceConfig:
    """The configuration of a test service: three unpaced lines 1001-1003, no branding, a
    call set-up deadline longer than any jump of the manual clock."""
    tables: dict[str, Any] = {
        "node_id": "node-test",
        "loopback": {"lines": 3, "pace": "unpaced"},
        "outgoing": {"branding": False},
        # Tests jump the manual clock by minutes while unpaced calls take wall time.
        "deadlines": {"call_setup_seconds": 30 * 86400},
        # A Tesseract run per page received: on only where a test reads the text.
        "ocr": {"enabled": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            tables[key] = {**tables.get(key, {}), **value}
        else:
            tables[key] = value
    return load_config(data_dir=data_dir, overrides=tables, environ={})


MakeConfig = Callable[..., ServiceConfig]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """The database of the test's service: None for SQLite in the data folder, or the URL of
    a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgresql_url")
    return url


@pytest.fixture
def make_config(store_url: str | None) -> MakeConfig:
    """``service_config`` on the test's store."""

    def make(data_dir: Path, **overrides: Any) -> ServiceConfig:
        if store_url is not None:
            overrides.setdefault("database", store_url)
        return service_config(data_dir, **overrides)

    return make


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def service(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> AsyncIterator[FaxService]:
    async with FaxService(make_config(tmp_path / "data"), clock=clock) as fax:
        yield fax


@pytest.fixture
def two_pages(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "two.pdf", 2)


@pytest.fixture
def three_pages(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "three.pdf", 3)


def spool_files(service: FaxService) -> set[Path]:
    """The fax documents in the spool (receptions and PDF copies aside)."""
    root = service.ctx.spool.root
    return {p for p in root.rglob("*.tif") if p.parent.parent == root and p.parent.name != "in"}


async def spool_holds(service: FaxService, expected: set[Path], what: str) -> None:
    """Wait until the spool's fax documents are ``expected``: a call's documents no longer
    needed are deleted just after the commit that lets them go, so after the job is seen
    to leave the queue."""

    async def check() -> bool:
        return spool_files(service) == expected

    await until(check, what)


def request(body: Path, *numbers: str, **fields: Any) -> SubmitRequest:
    """A submission of ``body`` to each number."""
    recipients = [Recipient(fax_number=n, name=f"Recipient {n}") for n in numbers or ("1002",)]
    return SubmitRequest(bodies=[body], recipients=recipients, **fields)


async def events_until(stream: AsyncIterator[ServerEvent], last: EventType) -> list[ServerEvent]:
    """The events of ``stream`` up to the first of type ``last``. A test takes the stream's
    starting point (``after=await service.listening.last_seq()``) before it acts: a stream left
    to read it on its first step may start after the events it is to see. A miss fails
    after WAIT_SECONDS instead of hanging."""
    seen: list[ServerEvent] = []
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            async for event in stream:
                seen.append(event)
                if event.type is last:
                    return seen
    except TimeoutError:
        pass  # reported below, with the events seen
    raise AssertionError(f"no {last.name} event among {seen}")


async def archived(service: FaxService, count: int = 1) -> list[MessageInfo]:
    """Wait until the incoming archive holds ``count`` faxes and none is still being routed
    (no incoming job left: routing may still change or hold a message it archived); the
    archived messages, oldest first."""

    async def check() -> bool:
        page = await service.archives.get_incoming_messages()
        return len(page.messages) == count and not await service.incoming_queue.get_jobs()

    await until(check, f"{count} faxes archived and routed")
    return (await service.archives.get_incoming_messages()).messages


async def job_reaches(
    service: FaxService, job_id: int, *statuses: JobStatus, timeout: float = WAIT_SECONDS
) -> OutgoingJobInfo:
    """Wait until the job has one of ``statuses``; the job as it is then."""
    found: list[OutgoingJobInfo] = []

    async def check() -> bool:
        job = await service.outgoing_queue.get_job(job_id)
        found[:] = [job]
        return job.status in statuses

    await until(check, lambda: f"job {job_id:016x} in {statuses}, not {found[0]}", timeout)
    return found[0]


async def job_leaves_queue(service: FaxService, job_id: int) -> None:
    async def check() -> bool:
        return job_id not in {job.id for job in await service.outgoing_queue.get_jobs()}

    await until(check, f"job {job_id:016x} leaves the queue")


async def send_all(service: FaxService, clock: ManualClock, job_ids: list[int]) -> None:
    """Let the queue send ``job_ids``, moving the clock on so that busy lines are retried.

    The clock moves only while no call runs, so no call-setup deadline passes mid-call.
    """
    queued: list[OutgoingJobInfo] = []
    idle = [False]

    async def sent() -> bool:
        if idle[0]:  # nothing ran when last asked, a poll ago: on to the next retries
            await clock.advance(600)
        queued[:] = [job for job in await service.outgoing_queue.get_jobs() if job.id in job_ids]
        running = any(job.status & JobStatus.INPROGRESS for job in queued)
        lines_busy = any(
            line.state is not DeviceState.IDLE for line in service.providers.loopback.devices
        )
        idle[0] = not running and not lines_busy
        return not queued

    await until(sent, lambda: f"the jobs are sent, not still queued: {queued}", poll=0.05)
