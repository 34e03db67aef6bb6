"""The end of the service as its event streams hear it: ``announce_shutdown`` reaches every
subscription, even one that was reading the log when the notice was committed."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.api.app import wire_event
from openfax.model import ExtendedStatus, JobStatus, JobType, format_id
from openfax.model.events import OutgoingJobRemoved
from openfax.model.records import utc_text
from openfax.service import EventType, FaxService, ManualClock, ServerEvent
from openfax.service.job_states import available_operations
from openfax.store import Database, Direction
from openfax.store import queries as q
from tests.integration.service.conftest import (
    START,
    WAIT_SECONDS,
    archived,
    events_until,
    job_leaves_queue,
    request,
)
from tests.waiting import until

pytestmark = pytest.mark.anyio


class HeldReads:
    """The hub's database, whose next read can be held once it has read (its view of the
    log taken) until the test lets it go: the moment a busy service's subscriber is in
    when, woken by the commit of work still in flight, it reads as the service stops."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.held = asyncio.Event()
        self._hold: asyncio.Event | None = None

    def hold_next(self) -> asyncio.Event:
        """Hold the next read after it has read; set the event returned to let it go."""
        self._hold = asyncio.Event()
        return self._hold

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self.db.transaction()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.db.read() as conn:
            yield conn
        hold, self._hold = self._hold, None
        if hold is not None:
            self.held.set()
            await hold.wait()


async def all_events(stream: AsyncIterator[ServerEvent]) -> list[EventType]:
    """The kinds of the events of ``stream`` until it ends."""
    return [event.type async for event in stream]


async def test_a_stream_reading_as_the_service_stops_hears_that_it_stops(
    service: FaxService, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = service.ctx.hub
    reads = HeldReads(hub.db)
    monkeypatch.setattr(hub, "db", reads)
    stream = service.listening.events(after=await service.listening.last_seq())
    release = reads.hold_next()
    async with asyncio.timeout(WAIT_SECONDS):
        heard = asyncio.create_task(all_events(stream))
        await reads.held.wait()  # the stream has read the log: nothing new yet
        announced = asyncio.create_task(service.announce_shutdown(wait=WAIT_SECONDS))
        await until(lambda: hub.closed, "the hub closes", poll=0.01)
        release.set()  # its read, from before the notice, is done only now
        assert EventType.SERVER_SHUT_DOWN in await heard, "the stream ended without the notice"
        await announced


JOB_STATUS = {
    "job_id",
    "job_type",
    "status",
    "extended_status",
    "extended_status_text",
    "available_operations",
    "pages",
    "current_page",
    "device_id",
    "retries",
    "csid",
    "tsid",
    "transmission_start",
    "transmission_end",
}
OUTGOING_STATUS = JOB_STATUS | {
    "pages_confirmed",
    "bit_rate",
    "page_bytes",
    "page_bytes_sent",
    "scheduled_time",
    "size",
}
INCOMING_STATUS = JOB_STATUS | {"caller_id", "routing_information", "partial"}
STORED_KEYS = {
    EventType.OUTGOING_JOB_ADDED: {"job_id", "submission_id"},
    EventType.OUTGOING_JOB_CHANGED: OUTGOING_STATUS,
    EventType.OUTGOING_JOB_REMOVED: {"job_id"},
    EventType.OUTGOING_MESSAGE_ADDED: {"message_id"},
    EventType.OUTGOING_MESSAGE_REMOVED: {"message_id"},
    EventType.INCOMING_JOB_ADDED: {"job_id"},
    EventType.INCOMING_JOB_CHANGED: INCOMING_STATUS,
    EventType.INCOMING_JOB_REMOVED: {"job_id"},
    EventType.INCOMING_MESSAGE_ADDED: {"message_id", "added_to_receive_folder"},
    EventType.INCOMING_MESSAGE_REMOVED: {"message_id", "removed_from_receive_folder"},
    EventType.NEW_CALL: {"call_id", "device_id", "caller_id"},
    EventType.DEVICE_STATUS_CHANGED: {
        "device_id",
        "powered_off",
        "sending",
        "receiving",
        "ringing",
        "registration",
        "registration_error",
    },
    EventType.ACTIVITY_CHANGED: {
        "incoming_messages",
        "routing_messages",
        "outgoing_messages",
        "queued_messages",
    },
    EventType.QUEUES_STATUS_CHANGED: {"outgoing_blocked", "outgoing_paused", "incoming_blocked"},
    EventType.CONFIG_CHANGED: {"options"},
}
"""The fields each event of a fax sent and received, then deleted, carries in the log."""
ID = re.compile(r"^[0-9a-f]{16}$")


async def test_the_log_and_the_stream_carry_each_event_as_it_always_did(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    start = await service.listening.last_seq()
    stream = service.listening.events(after=start)
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, job_id)
    (received,) = await archived(service)
    await service.options.set_queue_switches(outgoing_paused=True)
    await service.options.save_receipt_options({})
    await service.archives.delete_message(Direction.IN, received.id)
    await service.archives.delete_message(Direction.OUT, job_id)
    seen = await events_until(stream, EventType.OUTGOING_MESSAGE_REMOVED)
    await stream.aclose()
    async with service.ctx.db.read() as conn:
        rows = [r for r in await q.read_events(conn, after=start) if r.seq <= seen[-1].seq]

    # The lines' notices (a new call, a line's state) are written as they come, maybe later.
    notices = {EventType.NEW_CALL.value, EventType.DEVICE_STATUS_CHANGED.value}
    assert {row.type for row in rows} | notices == {kind.value for kind in STORED_KEYS}
    for row, event in zip(rows, seen, strict=True):
        assert set(row.payload) == STORED_KEYS[EventType(row.type)], row
        sent = json.loads(json.dumps(wire_event(event)))
        receipts = row.type == "config_changed"
        assert sent == {
            **row.payload,
            "seq": row.seq,
            "type": row.type,
            "event": "OnReceiptOptionsChange" if receipts else event.type.notification,
            "time": utc_text(row.created_at),
        }
        for key, value in row.payload.items():
            if key.endswith("_id") and key not in ("device_id", "call_id", "caller_id"):
                assert ID.match(value), row
            if key.endswith(("_time", "_start", "_end")) and value is not None:
                assert value == clock.now().isoformat(), row
                assert value.endswith("+00:00"), row
    outgoing = [r.payload for r in rows if r.type == "outgoing_job_changed"]
    assert outgoing[-1] | {"extended_status_text": ""} == {
        "job_id": format_id(job_id),
        "job_type": int(JobType.SEND),
        "status": int(JobStatus.COMPLETED),
        "extended_status": int(ExtendedStatus.CALL_COMPLETED),
        "extended_status_text": "",
        "available_operations": int(available_operations(JobStatus.COMPLETED)),
        "pages": 2,
        "pages_confirmed": 2,
        "current_page": 0,
        "bit_rate": 0,
        "page_bytes": 0,
        "page_bytes_sent": 0,
        "device_id": outgoing[-1]["device_id"],
        "retries": 0,
        "csid": outgoing[-1]["csid"],
        "tsid": outgoing[-1]["tsid"],
        "scheduled_time": clock.now().isoformat(),
        "size": outgoing[-1]["size"],
        "transmission_start": clock.now().isoformat(),
        "transmission_end": clock.now().isoformat(),
    }
    incoming = [r.payload for r in rows if r.type == "incoming_job_changed"]
    assert incoming[-1]["job_id"] == format_id(received.id)
    assert incoming[-1]["status"] == int(JobStatus.ROUTING)
    assert [r.payload for r in rows if r.type == "incoming_message_removed"] == [
        {"message_id": format_id(received.id), "removed_from_receive_folder": True}
    ]
    assert [r.payload for r in rows if r.type == "config_changed"] == [{"options": "receipts"}]
    assert [r.payload for r in rows if r.type == "queues_status_changed"] == [
        {"outgoing_blocked": False, "outgoing_paused": True, "incoming_blocked": False}
    ]


async def test_an_event_that_does_not_fit_its_record_is_left_out_and_the_stream_goes_on(
    service: FaxService,
) -> None:
    stream = service.listening.events(after=await service.listening.last_seq())
    async with service.ctx.hub.transaction() as conn:
        await q.append_event(conn, "outgoing_job_removed", {"job": 1}, now=START)
        await service.ctx.hub.emit(conn, OutgoingJobRemoved(job_id=7))
    async with asyncio.timeout(WAIT_SECONDS):
        event = await anext(stream)
    await stream.aclose()
    assert event.payload == OutgoingJobRemoved(job_id=7)
