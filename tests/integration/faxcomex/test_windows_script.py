"""A Windows script for FAXCOMEX (Python with pywin32) ported to OpenFax by its imports alone:
the two versions side by side, what changed between them, and the port run against a real
openfaxd with three loopback lines: connect, a document to two recipients, events until both
faxes are sent, the outgoing archive, then a fax scheduled for tomorrow and cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openfax.errors import MessageNotFoundError
from openfax.model import JobStatus
from tests.daemon import Daemon
from tests.factories import make_pdf
from tests.integration.faxcomex.conftest import one_sender_two_receivers

WINDOWS = """\
import time
from datetime import datetime, timedelta

import pythoncom
import pywintypes
import win32com.client

FINISHED = 0x008 | 0x080 | 0x100 | 0x200


class FaxEvents:
    def __init__(self):
        self.finished = {}

    def OnOutgoingJobChanged(self, server, job_id, job_status):
        if job_status.Status & FINISHED:
            self.finished[job_id] = job_status.Status


server = win32com.client.Dispatch("FaxComEx.FaxServer")
server.Connect("")
events = win32com.client.WithEvents(server, FaxEvents)
server.ListenToServerEvents(0x002)

document = win32com.client.Dispatch("FaxComEx.FaxDocument")
document.Body = BODY
document.Subject = "Quarterly figures"
document.Recipients.Add("1002", "Helen Carter")
document.Recipients.Add("1003", "Ann Lee")
job_ids = document.ConnectedSubmit(server)

deadline = time.time() + 60
while len(events.finished) < len(job_ids) and time.time() < deadline:
    pythoncom.PumpWaitingMessages()
    time.sleep(0.1)

archived = {}
iterator = server.Folders.OutgoingArchive.GetMessages(10)
while not iterator.AtEOF:
    message = iterator.Message
    archived[message.Id] = (message.Recipient.FaxNumber, message.Pages)
    iterator.MoveNext()

document.Recipients.Remove(2)
document.ScheduleType = 1
document.ScheduleTime = datetime.now() + timedelta(days=1)
(later,) = document.ConnectedSubmit(server)
job = server.Folders.OutgoingQueue.GetJob(later)
job.Cancel()
cancelled = job.Status

try:
    server.Folders.OutgoingArchive.GetMessage(later)
except pywintypes.com_error as error:
    not_found = error.excepinfo[5] & 0xFFFFFFFF

server.ListenToServerEvents(0)
server.Disconnect()
"""

OPENFAX = WINDOWS.replace(
    "import pythoncom\nimport pywintypes\nimport win32com.client\n",
    "from openfax.faxcomex import pythoncom, pywintypes, win32com\n",
)
"""The port: the same script with pywin32's modules imported from ``openfax.faxcomex``."""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """openfaxd with line 1001 sending to lines 1002 and 1003, which only receive."""
    with one_sender_two_receivers(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def test_the_port_changes_only_the_imports() -> None:
    windows, ported = WINDOWS.splitlines(), OPENFAX.splitlines()
    assert len(windows) == 58
    assert len(ported) == 56
    changed = [line for line in ported if line not in windows]
    assert changed == ["from openfax.faxcomex import pythoncom, pywintypes, win32com"]
    assert [line for line in windows if line not in ported] == [
        "import pythoncom",
        "import pywintypes",
        "import win32com.client",
    ]


def test_the_ported_script_sends_watches_reads_the_archive_and_cancels(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    script: dict[str, Any] = {"BODY": str(make_pdf(tmp_path / "figures.pdf", 2))}
    exec(compile(OPENFAX, "windows_script_port.py", "exec"), script)

    job_ids = script["job_ids"]
    assert len(job_ids) == 2
    assert script["events"].finished == dict.fromkeys(job_ids, JobStatus.COMPLETED)
    assert {script["archived"][job_id] for job_id in job_ids} == {("1002", 2), ("1003", 2)}
    assert script["cancelled"] == JobStatus.CANCELED
    assert script["not_found"] == MessageNotFoundError.hresult == 0x80041B61
