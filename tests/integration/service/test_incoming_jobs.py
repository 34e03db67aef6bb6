"""FAXCOMEX ``IncomingJob.Cancel()`` and ``CopyTiff()`` on the service: a reception hung up
mid-call keeps its pages, a fax being routed leaves the queue and stays archived."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from openfax.documents import read_fax_tiff
from openfax.errors import InvalidOperationError, MessageNotFoundError
from openfax.model import JobOperations, JobStatus, format_id
from openfax.model.lifecycle import IncomingInput, step_incoming
from openfax.routing import WEBHOOK
from openfax.service import FaxService, ManualClock
from openfax.service.event_hub import EventType
from openfax.store import DeliveryStatus, Direction
from openfax.store import queries as q
from tests.factories import make_pdf
from tests.waiting import until

from .conftest import MakeConfig, archived, job_leaves_queue, job_reaches, request

pytestmark = pytest.mark.anyio


async def incoming_statuses(service: FaxService, job_id: int) -> list[JobStatus]:
    """The statuses the incoming job's change events showed, in order."""
    async with service.ctx.db.read() as conn:
        events = await q.read_events(conn, after=0)
    return [
        JobStatus(event.payload["status"])
        for event in events
        if event.type == EventType.INCOMING_JOB_CHANGED.value
        and event.payload["job_id"] == format_id(job_id)
    ]


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_cancel_during_reception_hangs_up_and_keeps_the_pages_that_arrived(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> None:
    # Cancelled once page 1 is in, at pace 5 the seven pages left take ~4.5 s of wall time
    # (more under load): the cancel meets the reception before its last page.
    pages = 8
    config = make_config(tmp_path / "data", loopback={"pace": 5.0})
    async with FaxService(config, clock=clock) as service:
        (job_id,) = await service.outgoing_queue.submit(
            request(make_pdf(tmp_path / "doc.pdf", pages))
        )

        async def first_page_confirmed() -> bool:
            return (await service.outgoing_queue.get_job(job_id)).pages_confirmed >= 1

        await until(first_page_confirmed, "page 1 is received")
        (receiving,) = await service.incoming_queue.get_jobs()
        assert receiving.status is JobStatus.INPROGRESS
        assert receiving.available_operations & JobOperations.DELETE
        with pytest.raises(InvalidOperationError, match="still being received"):
            await service.incoming_queue.copy_tiff(receiving.id, tmp_path / "early.tif")

        canceling = await service.incoming_queue.cancel_job(receiving.id)
        assert canceling.status is JobStatus.CANCELING
        sending = await job_reaches(service, job_id, JobStatus.RETRYING)
        assert sending.failure_cause == "line_dropped"
        assert 1 <= sending.pages_confirmed < pages
        await archived(service, 1)
        (partial,) = (await service.archives.get_incoming_messages()).messages
        assert partial.id == receiving.id
        assert partial.partial
        assert sending.pages_confirmed <= partial.pages < pages
        tiff = await service.archives.tiff_path(Direction.IN, partial.id)
        assert len(read_fax_tiff(tiff)) == partial.pages
        statuses = await incoming_statuses(service, receiving.id)
        assert statuses[-2:] == [JobStatus.CANCELING, JobStatus.CANCELED]
        assert JobStatus.ROUTING not in statuses, "a cancelled reception is not routed"

        await clock.advance(2 * 60)
        await job_leaves_queue(service, job_id)
        await archived(service, 2)
        rest = (await service.archives.get_incoming_messages()).messages[1]
        assert (rest.pages, rest.partial) == (pages - sending.pages_confirmed, False), (
            "the retry sent from the first unconfirmed page"
        )


async def test_cancel_during_routing_stops_the_deliveries_and_keeps_the_fax(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> None:
    config = make_config(
        tmp_path / "data", incoming={"routing_retries": 5, "routing_retry_delay_minutes": 60}
    )
    async with FaxService(config, clock=clock) as service:
        line = service.providers.loopback.line("1002").id
        hook = {"url": f"http://127.0.0.1:{closed_port()}/fax"}
        await service.routing.inbound.set_configuration(WEBHOOK, line, hook)
        await service.devices.use_routing_method(line, WEBHOOK, True)
        (job_id,) = await service.outgoing_queue.submit(request(make_pdf(tmp_path / "two.pdf", 2)))
        await job_leaves_queue(service, job_id)

        async def retrying() -> bool:
            jobs = await service.incoming_queue.get_jobs()
            return bool(jobs) and jobs[0].status is JobStatus.RETRYING

        await until(retrying, "the webhook failed once and waits for its retry")
        (routing,) = await service.incoming_queue.get_jobs()
        assert routing.available_operations & JobOperations.DELETE
        copy = tmp_path / "copy.tif"
        await service.incoming_queue.copy_tiff(routing.id, copy)
        assert len(read_fax_tiff(copy)) == 2

        cancelled = await service.incoming_queue.cancel_job(routing.id)
        assert cancelled.status is JobStatus.CANCELED
        assert await service.incoming_queue.get_jobs() == []
        (delivery,) = await service.routing.inbound.get_deliveries(message_id=routing.id)
        assert (delivery.status, delivery.last_error) == (DeliveryStatus.FAILED, "cancelled")
        await clock.advance(2 * 3600)
        (delivery,) = await service.routing.inbound.get_deliveries(message_id=routing.id)
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
        message = await service.archives.get_message(Direction.IN, routing.id)
        assert message.pages == 2
        with pytest.raises(MessageNotFoundError):
            await service.incoming_queue.cancel_job(routing.id)
        with pytest.raises(MessageNotFoundError):
            await service.incoming_queue.copy_tiff(routing.id, copy)


@pytest.mark.parametrize(
    "status", [JobStatus.CANCELING, JobStatus.CANCELED, JobStatus.COMPLETED, JobStatus.PENDING]
)
def test_cancel_is_refused_in_other_states_naming_the_state(status: JobStatus) -> None:
    name = (status.name or "").lower()
    with pytest.raises(InvalidOperationError, match=f"incoming job that is {name}"):
        step_incoming(status, IncomingInput.CANCEL)


@pytest.mark.parametrize(
    "status", [JobStatus.ROUTING, JobStatus.RETRYING, JobStatus.RETRIES_EXCEEDED]
)
def test_cancel_of_a_fax_being_routed_ends_it_at_once(status: JobStatus) -> None:
    assert step_incoming(status, IncomingInput.CANCEL) is JobStatus.CANCELED
    assert step_incoming(JobStatus.INPROGRESS, IncomingInput.CANCEL) is JobStatus.CANCELING


async def test_unknown_incoming_jobs_are_not_found(service: FaxService, tmp_path: Path) -> None:
    with pytest.raises(MessageNotFoundError):
        await service.incoming_queue.cancel_job(0xFF)
    with pytest.raises(MessageNotFoundError):
        await service.incoming_queue.copy_tiff(0xFF, tmp_path / "none.tif")
