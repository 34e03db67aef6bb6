"""A call's progress within a page and its speed in the job, written a few times
a second at most: the engine reports every half second of line time, which unpaced lines
cover in a blink, and each write is a transaction and an event."""

from __future__ import annotations

from pathlib import Path

import pytest

from openfax.model import JobStatus, ServerEvents
from openfax.model.events import payload_json
from openfax.service import FaxService
from openfax.service.event_hub import EventType
from openfax.store import Direction

from .conftest import events_until, job_leaves_queue, request

SAMPLES = Path(__file__).resolve().parents[3] / "samples"

pytestmark = pytest.mark.anyio


async def test_a_call_writes_its_speed_and_progress_within_a_page_to_its_job(
    service: FaxService,
) -> None:
    stream = service.listening.events(
        ServerEvents.OUT_QUEUE, after=await service.listening.last_seq()
    )
    # A letter's pages take seconds each on the line: a blank test page goes in a blink.
    (job_id,) = await service.outgoing_queue.submit(request(SAMPLES / "letter.txt", "1002"))
    seen = await events_until(stream, EventType.OUTGOING_JOB_REMOVED)
    await stream.aclose()
    await job_leaves_queue(service, job_id)

    changes = [payload_json(e.payload) for e in seen if e.type is EventType.OUTGOING_JOB_CHANGED]
    in_call = [p for p in changes if p["status"] == JobStatus.INPROGRESS]
    assert {p["bit_rate"] for p in in_call} >= {0, 14400}, "0 until trained, then the speed"
    within = [p for p in in_call if p["page_bytes_sent"]]
    # The manual clock stands still during the call: after the first progress written, the
    # rest is within the interval and dropped (the engine reported dozens).
    (first,) = within
    assert first["current_page"] == 1
    assert 0 < first["page_bytes_sent"] < first["page_bytes"]
    page_two = next(p for p in in_call if p["pages_confirmed"] == 1)
    assert page_two["page_bytes"] == page_two["page_bytes_sent"] == 0, "nothing of page 2 yet"
    assert changes[-1]["status"] == JobStatus.COMPLETED
    assert (changes[-1]["bit_rate"], changes[-1]["page_bytes_sent"]) == (0, 0), "out of a call"
    (attempt,) = await service.outgoing_queue.get_call_attempts(job_id)
    assert not any("page_progress" in str(entry) for entry in attempt.transcript or [])
    assert (await service.archives.get_message(Direction.OUT, job_id)).pages == 2
