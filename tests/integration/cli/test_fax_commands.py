"""The ``openfax`` commands that talk to openfaxd, run as a user runs them against a real
daemon: send with --wait, the queue and archives, fetching a PDF, events, errors."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tests.daemon import Daemon, running
from tests.integration.cli.test_cli import OPENFAX, SAMPLES
from tests.integration.cli.test_first_hour import Watcher


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def openfax(
    daemon: Daemon, *args: str | Path, remote: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENFAX_SOCKET": str(daemon.socket), "COLUMNS": "200"}
    env.pop("OPENFAX_TOKEN", None)
    if remote:
        env["OPENFAX_SERVER"] = daemon.address
    return subprocess.run(
        [str(OPENFAX), *map(str, args)], capture_output=True, text=True, env=env, timeout=120
    )


def test_send_waits_and_the_fax_arrives_in_the_inbox(daemon: Daemon, tmp_path: Path) -> None:
    sent = openfax(daemon, "send", SAMPLES / "letter.txt", "--to", "1002", "--wait", "--json")
    assert sent.returncode == 0, sent.stderr
    (job,) = json.loads(sent.stdout)
    assert job["status"] == "COMPLETED"
    assert job["sent"] == job["pages"] >= 2

    outgoing = json.loads(openfax(daemon, "sent", "--json").stdout)
    assert job["id"] in [m["id"] for m in outgoing]
    inbox = json.loads(openfax(daemon, "inbox", "--json").stdout)
    received = [m for m in inbox if m["pages"] == job["pages"]]
    assert received
    assert not received[-1]["partial"]

    pdf = tmp_path / "fax.pdf"
    got = openfax(daemon, "get", received[-1]["id"], "-o", pdf)
    assert got.returncode == 0, got.stderr
    assert len(pdfium.PdfDocument(pdf)) == job["pages"]
    tiff = tmp_path / "fax.tif"
    got = openfax(daemon, "get", job["id"], "--sent", "-o", tiff, "--json")
    assert got.returncode == 0, got.stderr
    saved = json.loads(got.stdout)
    assert saved == {
        "id": job["id"],
        "archive": "outgoing",
        "output": str(tiff),
        "pages": job["pages"],
    }


def test_listing_commands_show_tables_and_json(daemon: Daemon) -> None:
    devices = json.loads(openfax(daemon, "devices", "--json").stdout)
    assert sorted(d["number"] for d in devices) == ["1001", "1002"]
    assert all(d["state"] == "idle" for d in devices)
    table = openfax(daemon, "jobs")
    assert table.returncode == 0
    assert "Outgoing queue" in table.stdout


def test_remote_access_needs_the_token(daemon: Daemon) -> None:
    refused = openfax(daemon, "jobs", "--json", remote=True)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    allowed = openfax(daemon, "jobs", "--json", "--token", daemon.token, remote=True)
    assert allowed.returncode == 0, allowed.stderr
    assert isinstance(json.loads(allowed.stdout), list)


def test_an_unknown_job_is_a_clear_error(daemon: Daemon) -> None:
    done = openfax(daemon, "cancel", "00000000000000ff")
    assert done.returncode == 1
    assert "MessageNotFoundError" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_document_is_refused_with_its_name(daemon: Daemon, tmp_path: Path) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n not really")
    done = openfax(daemon, "send", bad, "--to", "1002")
    assert done.returncode == 1
    assert "broken.pdf" in done.stderr or "body 1" in done.stderr


def test_watch_prints_the_events_of_a_send(daemon: Daemon) -> None:
    watcher = Watcher(daemon, "--json")
    try:
        watcher.wait_for(lambda stream, line: stream == "err" and "watching" in line, "start")
        sent = openfax(daemon, "send", SAMPLES / "chart.png", "--to", "1002", "--wait", "--json")
        assert sent.returncode == 0, sent.stderr
        (job,) = json.loads(sent.stdout)
        watcher.wait_for(
            lambda stream, line: stream == "out" and job["id"] in line and "JobChanged" in line,
            "change of the job",
        )
    finally:
        watcher.stop()
    printed = [line for stream, line in watcher.seen if stream == "out"]
    events = [json.loads(line) for line in printed if line.startswith("{")]
    mine = [e["event"] for e in events if e.get("job_id") == job["id"]]
    assert mine[0] == "OnOutgoingJobAdded"
    assert "OnOutgoingJobChanged" in mine


def test_no_server_says_where_it_looked_and_how_to_start_one(tmp_path: Path) -> None:
    socket_path = tmp_path / "openfaxd.sock"
    env = {**os.environ, "OPENFAX_SOCKET": str(socket_path)}
    done = subprocess.run(
        [str(OPENFAX), "jobs"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 1
    assert str(socket_path) in done.stderr
    assert "openfaxd" in done.stderr
    assert "make run" in done.stderr
    assert "Traceback" not in done.stderr
