"""Sending a Fax, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-sending-a-fax
(Visual Basic): a document with every FaxDocument and FaxSender property set, the sender
saved as the default, ConnectedSubmit. The time ``CDate("4:35:47 PM")`` names a day long past,
which Windows takes as "send as soon as a device is free". The server allows mail receipts, as
the sample's receipt type needs on Windows too."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxServer
from openfax.model import Priority, ReceiptType
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from datetime import datetime

from pywintypes import com_error
from win32com.client import Dispatch, constants


def Form_Load():
    objFaxDocument = Dispatch("FaxComEx.FaxDocument")
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        objFaxDocument.Body = "c:\\\\Docs\\\\Body.txt"
        objFaxDocument.DocumentName = "My First Fax"
        objFaxDocument.Priority = constants.fptHIGH
        objFaxDocument.Recipients.Add("12225550100", "Bud")
        objFaxDocument.AttachFaxToReceipt = True
        objFaxDocument.CoverPageType = constants.fcptSERVER
        objFaxDocument.CoverPage = "generic"
        objFaxDocument.Note = "Here is the info you requested"
        objFaxDocument.ReceiptAddress = "someone@example.com"
        objFaxDocument.ReceiptType = constants.frtMAIL
        objFaxDocument.ScheduleType = constants.fstSPECIFIC_TIME
        objFaxDocument.ScheduleTime = datetime.strptime("4:35:47 PM", "%I:%M:%S %p")
        objFaxDocument.Subject = "Today's fax"

        objFaxDocument.Sender.Title = "Mr."
        objFaxDocument.Sender.Name = "Bob"
        objFaxDocument.Sender.City = "Cleveland Heights"
        objFaxDocument.Sender.State = "Ohio"
        objFaxDocument.Sender.Company = "Microsoft"
        objFaxDocument.Sender.Country = "USA"
        objFaxDocument.Sender.Email = "someone@microsoft.com"
        objFaxDocument.Sender.FaxNumber = "12165555554"
        objFaxDocument.Sender.HomePhone = "12165555555"
        objFaxDocument.Sender.OfficeLocation = "Downtown"
        objFaxDocument.Sender.OfficePhone = "12165555553"
        objFaxDocument.Sender.StreetAddress = "123 Main Street"
        objFaxDocument.Sender.TSID = "Office fax machine"
        objFaxDocument.Sender.ZipCode = "44118"
        objFaxDocument.Sender.BillingCode = "23A54"
        objFaxDocument.Sender.Department = "Accts Payable"

        objFaxDocument.Sender.SaveDefaultSender()

        JobID = objFaxDocument.ConnectedSubmit(objFaxServer)

        print("The Job ID is :" + str(JobID[0]))

        objFaxServer.Disconnect()
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_sending_a_fax(local: Path, server: FaxServer) -> None:
    (local / "c:\\Docs\\Body.txt").write_text("The figures you asked for.\n")
    options = server.receipt_options  # as on Windows, the administrator allows mail receipts
    options.allowed_receipts = ReceiptType.MAIL
    options.smtp_server = "127.0.0.1"
    options.save()
    console = Console()
    run(WINDOWS, "sending_a_fax", console)

    assert console.errors == []
    (shown,) = console.shown
    job = server.folders.outgoing_queue.get_job(shown.removeprefix("The Job ID is :"))
    assert (job.document_name, job.subject, job.priority) == (
        "My First Fax",
        "Today's fax",
        Priority.HIGH,
    )
    assert (job.recipient.fax_number, job.recipient.name) == ("12225550100", "Bud")
    assert (job.sender.name, job.sender.billing_code) == ("Bob", "23A54")
    assert (job.receipt_type, job.receipt_address) == (ReceiptType.MAIL, "someone@example.com")
    assert job.has_cover_page
    job.cancel()
