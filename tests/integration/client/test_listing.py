"""Queue listings against a real openfaxd with its outgoing queue paused: the paged
``GET /v1/outgoing-jobs`` and ``/v1/incoming-jobs``, the client's lazy ``get_jobs()``
collections, their snapshot semantics while the queue changes, and the queue switches read
only when looked at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from openfax.api.models import IncomingJobPageModel, OutgoingJobPageModel
from openfax.client import FaxDocument, FaxServer
from openfax.errors import FaxError, InvalidIdError
from openfax.model import JobOperations, JobStatus, Priority
from openfax.model.records import OutgoingJobInfo
from tests.daemon import Daemon, running_paused
from tests.integration.cli.test_cli import SAMPLES


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running_paused(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def submit(server: FaxServer, *numbers: str) -> list[str]:
    """One submission per number (so each job can leave the queue on its own)."""
    ids = []
    for number in numbers:
        fax = FaxDocument(body=SAMPLES / "letter.txt", subject=f"to {number}")
        fax.recipients.add(number, f"Recipient {number}")
        ids += fax.connected_submit(server)
    return ids


def queued_ids(server: FaxServer) -> list[str]:
    return [job.id for job in server.folders.outgoing_queue.get_jobs()]


def requests_made(server: FaxServer) -> list[str]:
    """Every request ``server`` sends from now on, as ``METHOD path``."""
    seen: list[str] = []
    server._connected.request_hooks.append(lambda method, path: seen.append(f"{method} {path}"))
    return seen


def test_a_collection_reads_the_queue_page_by_page_in_queue_order(server: FaxServer) -> None:
    before = queued_ids(server)
    mine = submit(server, *(f"2000{n:02d}" for n in range(7)))
    seen = requests_made(server)

    jobs = server.folders.outgoing_queue.get_jobs(prefetch_size=2)

    assert seen == ["GET /v1/outgoing-jobs"], "count and first page in one request"
    assert len(jobs) == jobs.count == len(before) + 7
    listed = [job.id for job in jobs]
    assert listed == before + mine
    # Pages of 2, then 4, 8 ...: a few requests, not one per job.
    assert 1 < len(seen) <= 2 + len(listed).bit_length()
    assert jobs[len(before) + 1].id == mine[0]
    assert jobs[mine[3].upper()].recipient.fax_number == "200003"
    with pytest.raises(IndexError):
        jobs.item(len(listed) + 1)
    with pytest.raises(KeyError):
        jobs.item("0123456789abcdef")


def test_a_job_in_a_page_is_the_job_as_its_own_request_shows_it(
    server: FaxServer, daemon: Daemon
) -> None:
    (job_id,) = submit(server, "200100")
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket))) as http:
        first = http.get("http://openfaxd/v1/outgoing-jobs", params={"limit": 1000}).json()
        single = http.get(f"http://openfaxd/v1/outgoing-jobs/{job_id}").json()
    page = OutgoingJobPageModel.model_validate(first)
    assert page.count == len(page.jobs)
    assert page.next_cursor is None
    (listed,) = [job for job in first["jobs"] if job["id"] == job_id]
    assert listed == single
    assert TypeAdapter(OutgoingJobInfo).validate_python(single).recipient.name == "Recipient 200100"
    assert single["status_name"] == "PENDING"
    assert single["submission_time"].endswith("Z")


def test_a_collection_is_a_snapshot_while_the_queue_changes(server: FaxServer) -> None:
    before = queued_ids(server)
    a, b, c, d, e, f = submit(server, *(f"2002{n:02d}" for n in range(6)))
    queue = server.folders.outgoing_queue

    jobs = queue.get_jobs(prefetch_size=len(before) + 2)
    assert (jobs[len(before) + 1].id, jobs[len(before) + 2].id) == (a, b)
    # Between the first page and the next: a job is queued, one changes, one leaves.
    (late,) = submit(server, "200299")
    queue.get_job(d).pause()
    queue.get_job(e).cancel()
    queue.get_job(a).pause()

    listed = list(jobs)
    ids = [job.id for job in listed]
    assert ids == [*before, a, b, c, d, f], "no job twice, none skipped, none added"
    assert late not in ids
    assert e not in ids
    assert listed[ids.index(d)].status & JobStatus.PAUSED, "later pages are read as they are"
    assert not listed[ids.index(a)].status & JobStatus.PAUSED, "a page read is not re-read"
    assert jobs.count == len(ids), "the job that left is no longer counted"
    assert late in queued_ids(server), "a new collection is a new snapshot"


def default_form(daemon: Daemon) -> dict[str, Any]:
    """Every queued job as the listing's default form shows it, by id."""
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket))) as http:
        page = http.get("http://openfaxd/v1/outgoing-jobs", params={"limit": 1000}).json()
    assert page["next_cursor"] is None
    return {job["id"]: job for job in page["jobs"]}


def test_the_client_reads_each_job_as_the_default_form_shows_it(
    server: FaxServer, daemon: Daemon
) -> None:
    fax = FaxDocument(body=SAMPLES / "letter.txt", subject="Figures", priority=Priority.HIGH)
    fax.sender.name, fax.sender.company, fax.sender.tsid = "Ann Lee", "Acme", "+44 20 7946"
    fax.recipients.add("200400", "Bo Chan").company = "Chan & Co"
    fax.recipients.add("200401")
    first, second = fax.connected_submit(server)
    queue = server.folders.outgoing_queue
    listed = {job.id: job.to_dict() for job in queue.get_jobs()}  # the rows read once
    assert listed == default_form(daemon)
    assert listed[first]["recipient"]["company"] == "Chan & Co"
    assert listed[second]["sender"]["tsid"] == "+44 20 7946"

    queue.get_job(second).pause()  # a new version of one row, the others as they were
    jobs = {job.id: job for job in queue.get_jobs()}
    assert {key: job.to_dict() for key, job in jobs.items()} == default_form(daemon)
    assert jobs[second].status & JobStatus.PAUSED
    assert jobs[second].available_operations & JobOperations.RESUME
    assert not jobs[first].status & JobStatus.PAUSED
    assert jobs[first].submission_time == jobs[second].submission_time
    assert jobs[first].sender.company == "Acme"
    assert jobs[first].priority is Priority.HIGH


def test_a_page_of_the_table_form_holds_up_to_ten_thousand_jobs(server: FaxServer) -> None:
    connection = server._connected
    table = connection.request("GET", "/outgoing-jobs", params={"form": "table", "limit": 10_000})
    assert table.startswith(b'{"count":')
    with pytest.raises(FaxError, match="limit"):
        connection.get("/outgoing-jobs", form="table", limit=10_001)
    with pytest.raises(FaxError, match="limit: Input should be less than or equal to 1000"):
        connection.get("/outgoing-jobs", limit=1001)
    with pytest.raises(FaxError, match="form"):
        connection.get("/outgoing-jobs", form="rows")


def test_the_incoming_queue_lists_in_pages_too(server: FaxServer, daemon: Daemon) -> None:
    jobs = server.folders.incoming_queue.get_jobs()
    assert len(jobs) == 0
    assert list(jobs) == []
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket))) as http:
        page = http.get("http://openfaxd/v1/incoming-jobs", params={"limit": 5}).json()
    assert IncomingJobPageModel.model_validate(page).count == 0


def test_a_cursor_the_server_did_not_make_is_refused(server: FaxServer) -> None:
    connection = server._connected
    with pytest.raises(InvalidIdError):
        connection.get("/outgoing-jobs", after="not-a-cursor")
    with pytest.raises(InvalidIdError):
        connection.get("/incoming-jobs", after="MjAyNn4x")
    with pytest.raises(FaxError, match="limit"):
        connection.get("/outgoing-jobs", limit=0)


def test_queue_switches_are_read_when_looked_at_and_kept_true(
    server: FaxServer, daemon: Daemon
) -> None:
    seen = requests_made(server)
    server.folders.outgoing_queue.get_jobs()
    assert seen == ["GET /v1/outgoing-jobs"], "reaching the jobs reads no switches"

    queue = server.folders.outgoing_queue
    assert queue.paused
    assert not queue.blocked
    with daemon.connected() as other:
        remote = other.folders.outgoing_queue
        remote.blocked = True
        remote.save()
    try:
        assert not queue.blocked, "a queue object shows what it read until refreshed"
        assert server.folders.outgoing_queue.blocked, "a new one reads the switches now"
        queue.refresh()
        assert queue.blocked
        assert queue.paused
    finally:
        queue.blocked = False
        queue.save()
    assert not server.folders.outgoing_queue.blocked
    assert server.folders.outgoing_queue.paused, "save() keeps the switch not changed"


def test_the_incoming_switch_reads_and_saves(server: FaxServer) -> None:
    queue = server.folders.incoming_queue
    assert not queue.blocked
    queue.blocked = True
    queue.save()
    try:
        assert server.folders.incoming_queue.blocked
    finally:
        queue.blocked = False
        queue.save()
    assert not server.folders.incoming_queue.blocked
