"""A client following a fax across ``kill -9`` of openfaxd and its restart: the fax is
completed, its events keep coming through the listener, and nothing is lost."""

from __future__ import annotations

import queue
import subprocess
import sys
from pathlib import Path

import pytest

from openfax.client import FaxDocument, FaxServer, ServerEvent, ServerEvents
from openfax.model import JobStatus
from tests.daemon import ROOT, running

WAIT = 30.0


def test_a_fax_interrupted_by_kill_9_completes_after_restart(
    tmp_path: Path, three_pages: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = {
        "loopback": {"pace": 10.0},
        # The killed node's claim on the job lapses quickly.
        "deadlines": {"lease_seconds": 2},
    }
    with running(tmp_path / "data", **tables) as daemon:
        monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
        events: queue.Queue[ServerEvent] = queue.Queue()
        with FaxServer() as server:
            server.connect()
            server.add_event_handler(lambda _, event: events.put(event))
            server.listen_to_server_events(ServerEvents.OUT_QUEUE | ServerEvents.OUT_ARCHIVE)
            fax = FaxDocument(body=three_pages)
            fax.recipients.add("1002")
            (job_id,) = fax.connected_submit(server)

            seen: list[ServerEvent] = []
            while not seen or seen[-1].data.get("pages_confirmed", 0) < 1:
                seen.append(events.get(timeout=WAIT))
            daemon.kill()
            daemon.start()

            while seen[-1].name != "OnOutgoingJobRemoved":
                seen.append(events.get(timeout=WAIT))
            seqs = [event.seq for event in seen]
            assert seqs == sorted(seqs), "in order, once each"
            assert len(set(seqs)) == len(seqs), "in order, once each"
            final = [e.status for e in seen if e.job_id == job_id and e.status is not None][-1]
            assert final is JobStatus.COMPLETED
            sent = server.folders.outgoing_archive.get_message(job_id)
            assert sent.pages == 3


def test_the_client_imports_nothing_of_the_server() -> None:
    heavy = ["sqlalchemy", "fastapi", "starlette", "uvicorn", "numpy", "pypdfium2", "pydantic"]
    ours = ["openfax.service", "openfax.store", "openfax.api", "openfax.documents"]
    ours += ["openfax.engine"]
    check = (
        "import sys, openfax.client\n"
        f"loaded = [m for m in sys.modules if m.split('.')[0] in {heavy!r}"
        f" or m.startswith(tuple({ours!r}))]\n"
        "print(loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
