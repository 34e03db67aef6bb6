"""Managing Outgoing Jobs, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-outgoing-jobs
(Visual Basic): the outgoing queue refreshed and counted, the job the user picks copied to
a TIFF file, shown and opened, then paused (the user's answer "P")."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from openfax.client import FaxDocument, FaxServer
from openfax.model import JobStatus, ScheduleType
from tests.factories import make_pdf
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
import os

from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        objFaxOutgoingQueue = objFaxServer.Folders.OutgoingQueue

        objFaxOutgoingQueue.Refresh()

        print(
            "There are  " + str(objFaxOutgoingQueue.GetJobs().Count)
            + " faxes in the outgoing queue"
        )

        n = int(input("Which fax should be displayed (item number)?"))

        FileName = input("Provide path and name of file for TIFF copy, e.g. c:\\\\MyFax.tiff")

        objFaxOutgoingJob = objFaxOutgoingQueue.GetJobs().Item(n)

        # objFaxOutgoingJob = objFaxOutgoingQueue.GetJob("My Fax Job")

        objFaxOutgoingJob.CopyTiff(FileName)

        print(
            "Available operations: " + str(objFaxOutgoingJob.AvailableOperations)
            + "\\nCSID: " + str(objFaxOutgoingJob.CSID)
            + "\\nCurrent page: " + str(objFaxOutgoingJob.CurrentPage)
            + "\\nDevice ID: " + str(objFaxOutgoingJob.DeviceId)
            + "\\nDocument name: " + str(objFaxOutgoingJob.DocumentName)
            + "\\nExtended status: " + str(objFaxOutgoingJob.ExtendedStatus)
            + "\\nExtended status code: " + str(objFaxOutgoingJob.ExtendedStatusCode)
            + "\\nBroadcast receipts grouped?: " + str(objFaxOutgoingJob.GroupBroadcastReceipts)
            + "\\nJob ID: " + str(objFaxOutgoingJob.Id)
            + "\\nOriginal scheduled time: " + str(objFaxOutgoingJob.OriginalScheduledTime)
            + "\\nPages: " + str(objFaxOutgoingJob.Pages)
            + "\\nPriority: " + str(objFaxOutgoingJob.Priority)
            + "\\nReceipt type: " + str(objFaxOutgoingJob.ReceiptType)
        )

        os.startfile(FileName)

        Answer = input(
            "Do you want to cancel(C), Pause(P), Restart (R) or Resume (E) job "
            + str(objFaxOutgoingJob.ID) + "? (n for none)"
        )
        if Answer == "C": objFaxOutgoingJob.Cancel()
        if Answer == "P": objFaxOutgoingJob.Pause()
        if Answer == "R": objFaxOutgoingJob.Restart()
        if Answer == "E": objFaxOutgoingJob.Resume()
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_managing_outgoing_jobs(
    local: Path, server: FaxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fax = FaxDocument(body=make_pdf(local / "report.pdf", 2), document_name="Report")
    fax.recipients.add("1002")
    fax.schedule_type = ScheduleType.SPECIFIC_TIME
    fax.schedule_time = datetime.now() + timedelta(days=1)
    (job_id,) = fax.connected_submit(server)
    jobs = [job.id for job in server.folders.outgoing_queue.get_jobs()]
    opened: list[str] = []
    monkeypatch.setattr(os, "startfile", opened.append, raising=False)  # the desktop's viewer

    console = Console([jobs.index(job_id) + 1, "MyFax.tiff", "P"])
    run(WINDOWS, "managing_outgoing_jobs", console)

    assert console.errors == []
    assert console.shown[0] == f"There are  {len(jobs)} faxes in the outgoing queue"
    assert "\nDocument name: Report\n" in console.shown[1]
    assert f"\nJob ID: {job_id}\n" in console.shown[1]
    assert opened == ["MyFax.tiff"]
    with Image.open(local / "MyFax.tiff") as tiff:
        assert tiff.n_frames == 2
    job = server.folders.outgoing_queue.get_job(job_id)
    assert job.status == JobStatus.PENDING | JobStatus.PAUSED
    job.cancel()
