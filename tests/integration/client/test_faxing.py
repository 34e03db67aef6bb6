"""The client against a real openfaxd: sending line 1 to line 2, broadcasts, job operations,
events, archive paging."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import numpy as np
import pytest

from openfax.client import FaxDocument, FaxOutgoingJob, FaxServer, ServerEvent, ServerEvents
from openfax.documents import read_fax_tiff, render_documents
from openfax.errors import BodyError, InvalidOperationError, MessageNotFoundError
from openfax.model import JobOperations, JobStatus
from tests.daemon import Daemon

WAIT = 30.0


def document(body: Path, *numbers: str) -> FaxDocument:
    fax = FaxDocument(body=body, subject="test")
    for number in numbers:
        fax.recipients.add(number, f"Recipient {number}")
    return fax


def send(server: FaxServer, fax: FaxDocument) -> list[str]:
    """Submit ``fax`` and wait until every job is in the outgoing archive; the job ids."""
    deadline = time.monotonic() + WAIT
    with server.iter_events(ServerEvents.OUT_ARCHIVE, deadline=deadline) as events:
        ids = fax.connected_submit(server)
        waiting = set(ids)
        for event in events:
            waiting.discard(event.message_id or "")
            if not waiting:
                return ids
    raise AssertionError("unreachable: the event stream ends only by TimeoutError")


def incoming_arrival(server: FaxServer) -> queue.Queue[ServerEvent]:
    """Events of faxes arriving in the incoming archive, from now on."""
    arrived: queue.Queue[ServerEvent] = queue.Queue()

    def on_event(_: FaxServer, event: ServerEvent) -> None:
        if event.name == "OnIncomingMessageAdded":
            arrived.put(event)

    server.add_event_handler(on_event)
    server.listen_to_server_events(ServerEvents.IN_ARCHIVE)
    return arrived


def test_a_pdf_arrives_pixel_identical_and_downloads_as_pdf(
    server: FaxServer, three_pages: Path, tmp_path: Path
) -> None:
    arrived = incoming_arrival(server)
    (job_id,) = document(three_pages, "1002").connected_submit(server)
    job = server.folders.outgoing_queue.get_job(job_id)
    assert job.recipient.fax_number == "1002"
    assert job.pages == 3
    seen: list[int] = []
    job.wait(timeout=WAIT, progress=lambda j: seen.append(j.current_page))
    assert job.status is JobStatus.COMPLETED
    assert job.pages_confirmed == 3
    assert seen[-1] >= 0, "progress is reported"
    assert len(seen) > 1, "progress is reported"

    message_id = arrived.get(timeout=WAIT).message_id
    assert message_id is not None
    message = server.folders.incoming_archive.get_message(message_id)
    assert message.pages == 3
    assert not message.partial
    assert message.caller_id == "1001"
    message.copy_tiff(tmp_path / "in.tif")
    expected = [np.asarray(page.image) for page in render_documents([three_pages])]
    got = [np.asarray(page.image) for page in read_fax_tiff(tmp_path / "in.tif")]
    assert len(got) == 3
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))
    message.save_pdf(tmp_path / "in.pdf")
    assert (tmp_path / "in.pdf").read_bytes().startswith(b"%PDF")
    sent = server.folders.outgoing_archive.get_message(job_id)
    assert sent.recipient.name == "Recipient 1002"
    assert sent.pages == 3


def test_waiting_for_a_job_gone_before_it_was_read_finds_it_sent(
    server: FaxServer, three_pages: Path
) -> None:
    """The window ``openfax send --wait`` had: a job sent and gone from the queue between
    its submission and its first read. Waited for from its id alone, it ends as its
    message shows it."""
    (job_id,) = send(server, document(three_pages, "1002"))
    with pytest.raises(MessageNotFoundError):
        server.folders.outgoing_queue.get_job(job_id)
    job = FaxOutgoingJob(server, {"id": job_id})
    job.wait(timeout=WAIT)
    assert job.status is JobStatus.COMPLETED
    assert job.pages_confirmed == job.pages == 3
    assert job.recipient.fax_number == "1002"


def test_a_broadcast_is_one_submission_with_a_job_per_recipient(
    server: FaxServer, three_pages: Path
) -> None:
    fax = document(three_pages, "1002", "1002", "1002")
    ids = send(server, fax)
    assert len(set(ids)) == 3
    assert fax.submission_id is not None
    archive = server.folders.outgoing_archive
    sent = [archive.get_message(job_id) for job_id in ids]
    assert {message.submission_id for message in sent} == {fax.submission_id}
    assert all(message.pages == 3 for message in sent)


def test_job_operations_follow_the_job_states(server: FaxServer, three_pages: Path) -> None:
    queue_ = server.folders.outgoing_queue
    queue_.paused = True
    queue_.save()
    try:
        (job_id,) = document(three_pages, "1002").connected_submit(server)
        job = queue_.get_job(job_id)
        assert job.status is JobStatus.PENDING
        assert job.available_operations & JobOperations.PAUSE
        job.pause()
        assert job.status == JobStatus.PENDING | JobStatus.PAUSED
        assert job.available_operations & JobOperations.RESUME
        with pytest.raises(InvalidOperationError):
            job.pause()
        with pytest.raises(InvalidOperationError):
            job.restart()
        job.resume()
        assert job.status is JobStatus.PENDING
        job.cancel()
        assert job.status is JobStatus.CANCELED
        with pytest.raises((InvalidOperationError, MessageNotFoundError)):
            job.cancel()
    finally:
        queue_.paused = False
        queue_.save()
    queue_.refresh()
    assert not queue_.paused


def test_events_arrive_in_order(server: FaxServer, three_pages: Path) -> None:
    events: queue.Queue[ServerEvent] = queue.Queue()
    server.add_event_handler(lambda _, event: events.put(event))
    server.listen_to_server_events(ServerEvents.OUT_QUEUE | ServerEvents.OUT_ARCHIVE)
    assert server.registered_events == ServerEvents.OUT_QUEUE | ServerEvents.OUT_ARCHIVE
    (job_id,) = document(three_pages, "1002").connected_submit(server)
    names: list[str] = []
    seqs: list[int] = []
    while "OnOutgoingJobRemoved" not in names:
        event = events.get(timeout=WAIT)
        assert event.job_id == job_id or event.message_id == job_id
        names.append(event.name)
        seqs.append(event.seq)
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert names[0] == "OnOutgoingJobAdded"
    assert names[-2:] == ["OnOutgoingMessageAdded", "OnOutgoingJobRemoved"]
    assert "OnOutgoingJobChanged" in names
    server.listen_to_server_events(ServerEvents.NONE)
    assert server.registered_events == ServerEvents.NONE


def test_a_bad_body_is_named_by_its_index(
    server: FaxServer, three_pages: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    fax = FaxDocument(bodies=[three_pages, broken])
    fax.recipients.add("1002")
    with pytest.raises(BodyError) as caught:
        fax.connected_submit(server)
    assert caught.value.index == 1
    assert "broken.pdf" in str(caught.value)


def test_the_archive_iterator_fetches_pages_lazily(
    daemon: Daemon, server: FaxServer, three_pages: Path
) -> None:
    send(server, document(three_pages, *["1002"] * 5))
    requests: list[str] = []
    server._connected.request_hooks.append(lambda method, path: requests.append(path))
    messages = server.folders.outgoing_archive.get_messages(prefetch_size=2)
    assert requests == ["/v1/outgoing-messages"]
    first = messages.message
    seen = [first.id]
    messages.move_next()
    seen.append(messages.message.id)
    assert len(requests) == 1, "two messages come from the first page"
    messages.move_next()
    assert len(requests) == 2
    seen += [m.id for m in messages]
    assert len(seen) == len(set(seen)) >= 5
    assert messages.at_eof
    messages.move_first()
    assert messages.message.id == first.id
