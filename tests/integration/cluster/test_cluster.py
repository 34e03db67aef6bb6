"""Every node sees everything at once: two real openfaxd nodes on one PostgreSQL, a client
of one seeing what the other does, as a user of the cluster meets it (the client, the CLI).

``node-a`` has no line; ``node-b`` has the lines 2001 and 2002, so what is submitted on
node-a is sent, received and routed on node-b."""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from openfax.client import FaxDocument, FaxServer, ServerEvent
from openfax.errors import NotSupportedError
from openfax.faxcomex.win32com.client import Dispatch
from openfax.model import CoverPageType, JobStatus, ServerEvents
from openfax.model.events import OutgoingJobChanged
from openfax.providers.loopback import LOOPBACK_GUID
from openfax.routing import STORE_IN_FOLDER
from openfax.service.job_states import base
from tests.daemon import Daemon
from tests.integration.cli.test_cli import OPENFAX
from tests.integration.routing.conftest import fax_to, settled, use_only
from tests.waiting import wait_until

from .conftest import Cluster, node

WAIT = 60.0
LONG_FAX_PAGES = 40


def fax(body: Path, number: str) -> FaxDocument:
    document = FaxDocument(body=body, subject="cluster")
    document.recipients.add(number, f"Recipient {number}")
    return document


def paused(server: FaxServer) -> bool:
    """Whether the server's node holds its outgoing queue paused (its own switch, as its
    scheduler reads it)."""
    queue = server.folders.outgoing_queue
    queue.refresh()
    return queue.paused


def cancelled(server: FaxServer, job_id: str) -> OutgoingJobChanged:
    """Cancel an outgoing job (hanging up its call wherever it is) and wait for it to end
    CANCELED; its last change."""
    deadline = time.monotonic() + WAIT
    with server.iter_events(ServerEvents.OUT_QUEUE, deadline=deadline) as events:
        server.folders.outgoing_queue.get_job(job_id).cancel()
        for event in events:
            changed = event.payload
            if not isinstance(changed, OutgoingJobChanged) or event.job_id != job_id:
                continue
            if changed.status is JobStatus.CANCELED:
                return changed
    raise AssertionError("the event stream ended")


def devices_cli(daemon: Daemon) -> list[dict[str, Any]]:
    """``openfax devices --json`` on the daemon's socket."""
    env = {**os.environ, "OPENFAX_SOCKET": str(daemon.socket), "COLUMNS": "200"}
    env.pop("OPENFAX_TOKEN", None)
    done = subprocess.run(
        [str(OPENFAX), "devices", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def test_a_fax_submitted_on_one_node_is_heard_on_another_as_it_goes(
    cluster: Cluster, one_page: Path
) -> None:
    deadline = time.monotonic() + WAIT
    mask = ServerEvents.OUT_QUEUE | ServerEvents.OUT_ARCHIVE
    with cluster.a.connected() as a, cluster.b.connected() as b:
        with b.iter_events(mask, deadline=deadline) as events:
            (job_id,) = fax(one_page, "2002").connected_submit(a)
            names: list[str] = []
            statuses: list[JobStatus] = []
            for event in events:
                if job_id in (event.job_id, event.message_id):
                    names.append(event.name)
                if isinstance(event.payload, OutgoingJobChanged) and event.job_id == job_id:
                    statuses.append(event.payload.status)
                if event.name == "OnOutgoingJobRemoved" and event.job_id == job_id:
                    break
        assert names[0] == "OnOutgoingJobAdded"
        assert "OnOutgoingJobChanged" in names
        assert names[-2:] == ["OnOutgoingMessageAdded", "OnOutgoingJobRemoved"]
        # node-a has no line, node-b an idle one: the job never waited for a line.
        assert not [s for s in statuses if s & JobStatus.NOLINE]
        sent = a.folders.outgoing_archive.get_message(job_id)
        assert (sent.pages, sent.recipient.fax_number) == (1, "2002")


def test_options_saved_on_one_node_are_in_force_on_another(
    cluster: Cluster, one_page: Path, tmp_path: Path
) -> None:
    with cluster.a.connected() as a, cluster.b.connected() as b:
        queue = a.folders.outgoing_queue
        queue.paused = True
        queue.save()
        try:
            wait_until(lambda: paused(b), "node-b holds its outgoing queue paused")
        finally:
            queue.paused = False
            queue.save()
        wait_until(lambda: not paused(b), "node-b holds its outgoing queue running again")

        # The activity log's options saved on node-a: node-b, which sends the fax, logs it
        # as they say.
        folder = tmp_path / "activity"
        logging = a.logging_options.activity_logging
        logging.log_outgoing = True
        logging.database_path = str(folder)
        logging.save()
        (job_id,) = fax(one_page, "2002").connected_submit(a)
        job = a.folders.outgoing_queue.get_job(job_id)
        assert job.wait(timeout=WAIT).status is JobStatus.COMPLETED
        outbox = folder / "OutboxLOG.txt"
        wait_until(
            lambda: outbox.exists() and job_id.upper() in outbox.read_text().upper(),
            f"node-b logs fax {job_id} in {outbox}",
        )


def test_every_node_lists_every_node_lines_with_the_node_and_its_health(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A script written for Windows, on node-a's local socket.
    monkeypatch.setenv("OPENFAX_SOCKET", str(cluster.a.socket))
    com = Dispatch("FaxComEx.FaxServer")
    com.Connect("")
    devices = com.GetDevices()
    named = {devices.Item(i).DeviceName: devices.Item(i) for i in range(1, devices.Count + 1)}
    assert (named["loopback line 2001"].NodeId, named["loopback line 2001"].PoweredOff) == (
        "node-b",
        False,
    )
    com.Disconnect()
    with cluster.a.connected() as a:
        line = a.get_devices()["loopback line 2001"]
        assert (line.node_id, line.node_state, line.powered_off) == ("node-b", "running", False)
        with pytest.raises(NotSupportedError, match="2001 is a line of the node node-b"):
            line.answer_call()

        def state_of_3001() -> str | None:
            devices = a.get_devices()
            found = [d for d in devices if d.device_name == "loopback line 3001"]
            return found[0].node_state if found else None

        with node(
            tmp_path_factory, "node-c", cluster.database, cluster.spool, lines=1, base="300"
        ) as c:
            wait_until(lambda: state_of_3001() == "running", "node-a lists node-c's line")
            c.kill()
            wait_until(
                lambda: state_of_3001() == "lapsed", "node-a shows node-c's heartbeat lapsed"
            )
            (row,) = [r for r in devices_cli(cluster.a) if r["name"] == "loopback line 3001"]
            assert (row["state"], row["node"]) == ("unavailable", "node-c (lapsed)")
            c.start()  # it rejoins with its line
            wait_until(lambda: state_of_3001() == "running", "node-c's line is back")
        assert state_of_3001() == "stopped"
        rows = {r["name"]: r for r in devices_cli(cluster.a)}
        assert (rows["loopback line 2001"]["state"], rows["loopback line 2001"]["node"]) == (
            "idle",
            "node-b",
        )
        assert rows["loopback line 3001"]["node"] == "node-c (stopped)"


def test_a_cancel_on_one_node_hangs_up_a_reception_on_another(
    cluster: Cluster, long_fax: Path
) -> None:
    with cluster.a.connected() as a:
        (job_id,) = fax(long_fax, "2002").connected_submit(a)

        def reception() -> Any:
            jobs = a.folders.incoming_queue.get_jobs()
            return next((j for j in jobs if j.current_page >= 2), None)

        receiving = wait_until(reception, "node-b receives the second page", WAIT)
        receiving.cancel()
        wait_until(
            lambda: receiving.id not in {j.id for j in a.folders.incoming_queue.get_jobs()},
            "node-b hangs up the reception, archives what arrived and ends its job",
            WAIT,
        )
        message = a.folders.incoming_archive.get_message(receiving.id)
        assert message.partial
        assert 1 <= message.pages < LONG_FAX_PAGES
        assert cancelled(a, job_id).pages_confirmed < LONG_FAX_PAGES


def test_a_cancel_on_one_node_hangs_up_a_send_on_another(cluster: Cluster, long_fax: Path) -> None:
    with cluster.a.connected() as a:
        (job_id,) = fax(long_fax, "2002").connected_submit(a)
        job = a.folders.outgoing_queue.get_job(job_id)

        def page_confirmed() -> bool:
            job.refresh()
            return job.pages_confirmed >= 1

        wait_until(page_confirmed, "node-b has sent the first page", WAIT)
        assert 1 <= cancelled(a, job_id).pages_confirmed < LONG_FAX_PAGES


def test_inbound_routing_saved_on_one_node_routes_the_next_fax_on_another(
    cluster: Cluster, one_page: Path, tmp_path: Path
) -> None:
    with cluster.a.connected() as a, cluster.b.connected() as b:
        folder = a.inbound_routing.get_method(STORE_IN_FOLDER)
        line = a.get_devices()["loopback line 2002"]
        used = list(line.used_routing_methods)
        try:
            folder.set_configuration({"folder": str(tmp_path / "first")})
            use_only(a, line.device_name, STORE_IN_FOLDER)
            first = fax_to(a, "2002", one_page)
            assert [d.status for d in settled(a, first)] == ["done"]
            assert (tmp_path / "first" / f"{first}.tif").exists()
            # The folder changed on node-a: node-b's next fax goes there.
            folder.set_configuration({"folder": str(tmp_path / "second")})
            second = fax_to(a, "2002", one_page)
            assert [d.status for d in settled(a, second)] == ["done"]
            assert [p.name for p in (tmp_path / "second").iterdir()] == [f"{second}.tif"]
        finally:
            use_only(a, line.device_name, *used)
            folder.delete_configuration()

        # The methods' order saved on node-a is node-b's.
        last = len(a.inbound_routing.get_methods())
        folder.priority = last
        folder.save()

        def order(server: FaxServer) -> list[str]:
            return [m.guid for m in server.inbound_routing.get_methods()]

        wait_until(lambda: order(b) == order(a), "node-b orders the methods as node-a")
        assert order(b)[-1] == folder.guid


def test_a_cover_page_added_on_one_node_is_listed_and_used_on_another(
    cluster: Cluster, one_page: Path, tmp_path: Path
) -> None:
    template = tmp_path / "memo.txt"
    template.write_text("@font sans-bold 40\nMEMO to {recipient_name}\n")

    def names(server: FaxServer) -> list[str]:
        return [page.name for page in server.get_cover_pages()]

    with cluster.a.connected() as a, cluster.b.connected() as b:
        a.add_cover_page("memo", template)
        wait_until(lambda: "memo" in names(b), "node-b lists node-a's cover page")
        document = fax(one_page, "2001")
        document.cover_page_type = CoverPageType.SERVER
        document.cover_page = "memo"
        (job_id,) = document.connected_submit(b)
        job = b.folders.outgoing_queue.get_job(job_id)
        assert job.wait(timeout=WAIT).status is JobStatus.COMPLETED
        assert b.folders.outgoing_archive.get_message(job_id).pages == 2, "cover and body"
        a.remove_cover_page("memo")
        wait_until(lambda: "memo" not in names(b), "node-b forgets the cover page")


def test_an_extension_property_set_on_one_node_is_told_to_its_owner_on_another(
    cluster: Cluster, one_page: Path
) -> None:
    with cluster.a.connected() as a, cluster.b.connected() as b:
        # node-b's loopback lines own the faults; 2002 answers busy.
        b.set_extension_property(LOOPBACK_GUID, b'{"2002": {"busy": true}}')
        assert a.get_extension_property(LOOPBACK_GUID) == b'{"2002": {"busy": true}}'
        (busy,) = fax(one_page, "2002").connected_submit(a)
        job = a.folders.outgoing_queue.get_job(busy)

        def retrying() -> bool:
            job.refresh()
            return base(job.status) is JobStatus.RETRYING

        wait_until(retrying, "node-b finds line 2002 busy", WAIT)
        cancelled(a, busy)
        # Cleared on node-a (no line of its own): node-b's loopback is told.
        a.set_extension_property(LOOPBACK_GUID, b"{}")
        assert b.get_extension_property(LOOPBACK_GUID) == b"{}"
        (job_id,) = fax(one_page, "2002").connected_submit(a)
        sent = a.folders.outgoing_queue.get_job(job_id).wait(timeout=WAIT)
        assert sent.status is JobStatus.COMPLETED


@pytest.mark.skipif(
    os.environ.get("OPENFAX_STRESS") != "1",
    reason="a measurement (200 events, printed): OPENFAX_STRESS=1",
)
def test_events_committed_on_one_node_reach_a_client_of_another(cluster: Cluster) -> None:
    """Prints the time from an event's commit on node-a to its arrival at node-b's client."""
    count = 200
    delays: queue.Queue[float] = queue.Queue()

    def arrived(_: FaxServer, event: ServerEvent) -> None:
        delays.put((datetime.now(UTC) - event.time).total_seconds())

    with cluster.a.connected() as a, cluster.b.connected() as b:
        b.add_event_handler(arrived)
        b.listen_to_server_events(ServerEvents.QUEUE_STATE)
        switches = a.folders.outgoing_queue
        measured = []
        for n in range(count):
            switches.blocked = n % 2 == 0
            switches.save()
            measured.append(delays.get(timeout=WAIT))
        switches.blocked = False
        switches.save()
        b.listen_to_server_events(ServerEvents.NONE)
    measured.sort()
    median = statistics.median(measured) * 1000
    p99 = measured[int(0.99 * count) - 1] * 1000
    print(
        f"\nnode-a commit -> node-b client over {count} events: median {median:.1f} ms, "
        f"p99 {p99:.1f} ms, max {measured[-1] * 1000:.1f} ms"
    )
