"""Broadcasting a Fax, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-broadcasting-a-fax
(Visual Basic): three recipients shown, the default sender loaded, receipts grouped,
``Submit("")`` (FaxDocument as the root object: no FaxServer), the job ids shown, and the
recipients removed again."""

from __future__ import annotations

from pathlib import Path

from openfax import faxcomex
from openfax.client import FaxServer
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxDocument = Dispatch("FaxComEx.FaxDocument")

    try:
        objFaxDocument.Body = "c:\\\\Docs\\\\Body.txt"

        objFaxDocument.DocumentName = "My First Fax"

        collFaxRecipients = objFaxDocument.Recipients

        collFaxRecipients.Add("12225550105", "H")
        collFaxRecipients.Add("12225550104", "N")
        collFaxRecipients.Add("12225550103", "G")

        print("Number of recipients: " + str(collFaxRecipients.Count))

        for i in range(1, collFaxRecipients.Count + 1):
            print(
                "Recipient number " + str(i) + ": "
                + collFaxRecipients.Item(i).Name + ", "
                + collFaxRecipients.Item(i).FaxNumber
            )

        objFaxDocument.Sender.LoadDefaultSender()

        objFaxDocument.GroupBroadcastReceipts = True

        JobId = objFaxDocument.Submit("")

        for n in range(0, len(JobId)):
            print("The Job ID is " + JobId[n])

        lCount = collFaxRecipients.Count
        for i in range(1, lCount + 1):
            collFaxRecipients.Remove(1)
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_broadcasting_a_fax(local: Path, server: FaxServer) -> None:
    (local / "c:\\Docs\\Body.txt").write_text("To everyone.\n")
    sender = faxcomex.Dispatch("FaxComEx.FaxDocument").Sender
    sender.Name = "Helen Carter"
    sender.SaveDefaultSender()
    console = Console()
    run(WINDOWS, "broadcasting_a_fax", console)

    assert console.errors == []
    assert console.shown[:4] == [
        "Number of recipients: 3",
        "Recipient number 1: H, 12225550105",
        "Recipient number 2: N, 12225550104",
        "Recipient number 3: G, 12225550103",
    ]
    job_ids = [shown.removeprefix("The Job ID is ") for shown in console.shown[4:]]
    jobs = [server.folders.outgoing_queue.get_job(job_id) for job_id in job_ids]
    assert [job.recipient.fax_number for job in jobs] == [
        "12225550105",
        "12225550104",
        "12225550103",
    ]
    assert {(job.sender.name, job.group_broadcast_receipts) for job in jobs} == {
        ("Helen Carter", True)
    }
    assert len({job.submission_id for job in jobs}) == 1
    for job in jobs:
        job.cancel()
