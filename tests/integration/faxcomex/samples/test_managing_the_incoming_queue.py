"""Managing the Incoming Queue, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-the-incoming-queue
(Visual Basic): the incoming queue counted, the job the user picks (a fax still arriving)
refreshed and shown, then cancelled (answers "Y", then "N" to opening it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openfax.client import FaxDocument, FaxServer, ServerEvents
from tests.daemon import Daemon, running
from tests.factories import make_pdf
from tests.integration.faxcomex.samples.conftest import WAIT
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
import os

from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        collFaxIncomingJobs = objFaxServer.Folders.IncomingQueue.GetJobs()

        print("There are " + str(collFaxIncomingJobs.Count) + " jobs in the incoming queue.")

        n = int(input("Input the item number for which you want information."))
        objFaxIncomingJob = collFaxIncomingJobs.Item(n)

        objFaxIncomingJob.Refresh()

        print(
            "Available operations: " + str(objFaxIncomingJob.AvailableOperations)
            + "\\nCaller ID: " + str(objFaxIncomingJob.CallerId)
            + "\\nCSID: " + str(objFaxIncomingJob.CSID)
            + "\\nCurrent page: " + str(objFaxIncomingJob.CurrentPage)
            + "\\nDevice ID: " + str(objFaxIncomingJob.DeviceId)
            + "\\nExtended status: " + str(objFaxIncomingJob.ExtendedStatus)
            + "\\nExtended status code : " + str(objFaxIncomingJob.ExtendedStatusCode)
            + "\\nJob ID: " + str(objFaxIncomingJob.Id)
            + "\\nJob type: " + str(objFaxIncomingJob.JobType)
            + "\\nRetries: " + str(objFaxIncomingJob.Retries)
            + "\\nRouting information: " + str(objFaxIncomingJob.RoutingInformation)
            + "\\nSize: " + str(objFaxIncomingJob.Size)
            + "\\nStatus: " + str(objFaxIncomingJob.Status)
            + "\\nTransmission start: " + str(objFaxIncomingJob.TransmissionStart)
            + "\\nTransmission end: " + str(objFaxIncomingJob.TransmissionEnd)
            + "\\nTSID: " + str(objFaxIncomingJob.TSID)
        )

        CancelString = input("Cancel this fax (Y/N)?")
        if CancelString == "Y": objFaxIncomingJob.Cancel()

        OpenString = input("Open this fax (Y/N)?")
        if OpenString == "Y":
            FileName = input("Provide path and name of file for TIFF copy, e.g. c:\\\\MyFax.tiff")
            objFaxIncomingJob.CopyTiff(FileName)

            os.startfile(FileName)
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """An openfaxd whose lines run at twice real time: a fax stays a while in the incoming
    queue."""
    with running(tmp_path / "openfaxd", loopback={"pace": 2.0}) as started:
        yield started


def test_managing_the_incoming_queue(local: Path, server: FaxServer) -> None:
    fax = FaxDocument(body=make_pdf(local / "long.pdf", 3))
    fax.recipients.add("1002")
    with server.iter_events(ServerEvents.IN_QUEUE, deadline=time.monotonic() + WAIT) as events:
        fax.connected_submit(server)
        added = next(event for event in events if event.name == "OnIncomingJobAdded")
        job_id = added.data["job_id"]
        jobs = [job.id for job in server.folders.incoming_queue.get_jobs()]
        console = Console([jobs.index(job_id) + 1, "Y", "N"])
        run(WINDOWS, "managing_the_incoming_queue", console)
        assert console.errors == []
        removed = next(event for event in events if event.name == "OnIncomingJobRemoved")

    assert console.shown[0] == f"There are {len(jobs)} jobs in the incoming queue."
    assert f"\nJob ID: {job_id}\n" in console.shown[1]
    assert removed.data["job_id"] == job_id
