"""Crash safety: a node killed with SIGKILL mid-call loses nothing; ``openfaxd`` stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openfax.model import JobStatus, format_id
from openfax.service import FaxService, ManualClock
from openfax.store import Direction
from openfax.store import queries as q

from .conftest import (
    WAIT_SECONDS,
    MakeConfig,
    archived,
    job_leaves_queue,
    job_reaches,
    request,
    spool_holds,
)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parents[3]


async def test_a_node_killed_mid_call_resumes_the_fax_after_restart(
    tmp_path: Path, three_pages: Path, make_config: MakeConfig, store_url: str | None
) -> None:
    data = tmp_path / "data"
    node = await asyncio.create_subprocess_exec(
        *(
            sys.executable,
            "-m",
            "tests.integration.service.node_process",
            str(data),
            str(three_pages),
        ),
        *([store_url] if store_url else []),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert node.stdout is not None
        said = await asyncio.wait_for(node.stdout.readline(), WAIT_SECONDS)
        assert said.decode().strip() == "CONFIRMED"
    finally:
        os.kill(node.pid, signal.SIGKILL)
        await node.wait()
    # The new node starts with its clock past the dead node's lease.
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=5))
    async with FaxService(make_config(data), clock=clock) as service:
        (job,) = await service.outgoing_queue.get_jobs()
        assert job.pages_confirmed >= 1
        await job_leaves_queue(service, job.id)
        sent = await service.archives.get_message(Direction.OUT, job.id)
        assert sent.pages == 3
        sent_tiff = await service.archives.tiff_path(Direction.OUT, job.id)
        await spool_holds(
            service,
            {sent_tiff},
            "the body and the dead call's pages left the spool; what was sent is archived",
        )

        messages = await archived(service, 2)  # the cut-off and the resumed fax
        cut_off, rest = sorted(messages, key=lambda message: not message.partial)
        assert cut_off.partial
        assert cut_off.pages >= job.pages_confirmed
        assert not rest.partial
        assert rest.pages == 3 - job.pages_confirmed


def test_openfaxd_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    # The defaults but the TCP port, which a developer's own openfaxd (make run) may hold.
    config = tmp_path / "openfaxd.toml"
    config.write_text('[api]\nlisten = "127.0.0.1:0"\n')
    daemon = subprocess.Popen(
        [
            *(sys.executable, "-m", "openfax.daemon"),
            *("--config", str(config), "--data-dir", str(tmp_path / "d")),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert daemon.stderr is not None
    started = []
    for line in daemon.stderr:
        started.append(line)
        if "openfaxd ready" in line:
            break
    else:
        raise AssertionError(f"openfaxd did not start ({daemon.wait()}):\n{''.join(started)}")
    daemon.send_signal(signal.SIGTERM)
    _, log = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, log
    assert "Traceback" not in log, log
    assert (tmp_path / "d" / "openfax.db").exists()


@pytest.mark.parametrize("earlier", [0, 1])
async def test_a_job_whose_node_died_in_its_calls_twice_in_a_row_is_set_aside(
    service: FaxService, clock: ManualClock, three_pages: Path, earlier: int
) -> None:
    """Another node dies in a call (its lease lapses): the job is requeued the first time
    and set aside the second (``interrupted_calls``), whichever node noticed the first."""
    await service.options.set_queue_switches(outgoing_paused=True)
    (job_id,) = await service.outgoing_queue.submit(request(three_pages))
    async with service.ctx.db.transaction() as conn:
        dead_call = {
            "status": JobStatus.INPROGRESS,
            "node_id": "node-dead",
            "lease_until": clock.now() + timedelta(seconds=5),
            "attempts": 1,
            "interrupted_calls": earlier,
        }
        await q.update_job(conn, job_id, dead_call)
    await clock.advance(service.config.deadlines.lease_seconds)  # the lease lapses
    expected = JobStatus.FAILED if earlier else JobStatus.RETRYING
    job = await job_reaches(service, job_id, expected)
    async with service.ctx.db.read() as conn:
        assert (await q.get_job(conn, job_id)).interrupted_calls == earlier + 1
    set_aside = [e for e in await service.options.get_audit(limit=1000) if e.action == "set_aside"]
    if not earlier:
        assert set_aside == []
        return
    assert "set aside" in job.extended_status_text
    assert "last 2 calls" in job.extended_status_text
    (entry,) = set_aside
    assert (entry.actor, entry.object_id) == ("openfaxd", format_id(job_id))
    assert entry.details["interrupted_calls"] == 2
    await service.outgoing_queue.restart_job(job_id)  # once the cause is found: two calls again
    async with service.ctx.db.read() as conn:
        assert (await q.get_job(conn, job_id)).interrupted_calls == 0
