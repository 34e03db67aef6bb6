"""Managing the Incoming Archive, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-the-incoming-archive
(Visual Basic): the incoming archive's own settings shown, its age limit set to 4 days and
saved, then a received fax found by its id, shown and deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from openfax.client import FaxServer
from openfax.errors import MessageNotFoundError
from tests.integration.faxcomex.samples.conftest import receive
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        objFaxIncomingArchive = objFaxServer.Folders.IncomingArchive

        objFaxIncomingArchive.Refresh()
        print(
            "High quota water mark: " + str(objFaxIncomingArchive.HighQuotaWaterMark)
            + "\\nLow quota water mark:  " + str(objFaxIncomingArchive.LowQuotaWaterMark)
            + "\\nArchive folder: " + str(objFaxIncomingArchive.ArchiveFolder)
            + "\\nAge limit: " + str(objFaxIncomingArchive.AgeLimit)
            + "\\nSize high: " + str(objFaxIncomingArchive.SizeHigh)
            + "\\nSize low: " + str(objFaxIncomingArchive.SizeLow)
            + "\\nIs size quota warning on: " + str(objFaxIncomingArchive.SizeQuotaWarning)
            + "\\nIs archive used: " + str(objFaxIncomingArchive.UseArchive)
        )

        objFaxIncomingArchive.AgeLimit = 4

        objFaxIncomingArchive.Save()

        Answer = input("Retrieve a message by its ID (Y/N)?")
        if Answer == "Y":

            MessageID = input("Provide the message ID")

            objFaxIncomingMessage = objFaxIncomingArchive.GetMessage(MessageID)

            print(
                "Caller ID: " + str(objFaxIncomingMessage.CallerId)
                + "\\nCSID: " + str(objFaxIncomingMessage.CSID)
                + "\\nDevice name: " + str(objFaxIncomingMessage.DeviceName)
                + "\\nMessage ID: " + str(objFaxIncomingMessage.Id)
                + "\\nNumber of pages: " + str(objFaxIncomingMessage.Pages)
                + "\\nNumber of retries: " + str(objFaxIncomingMessage.Retries)
                + "\\nRouting information: " + str(objFaxIncomingMessage.RoutingInformation)
                + "\\nSize: " + str(objFaxIncomingMessage.Size) + " bytes"
                + "\\nTransmission start: " + str(objFaxIncomingMessage.TransmissionStart)
                + "\\nTransmission end: " + str(objFaxIncomingMessage.TransmissionEnd)
                + "\\nTSID: " + str(objFaxIncomingMessage.TSID)
            )

            Answer = input("Delete this message from the archive?")
            if Answer == "Y": objFaxIncomingMessage.Delete()

        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_managing_the_incoming_archive(local: Path, server: FaxServer) -> None:
    message_id = receive(server, local, "1002", 1)
    console = Console(["Y", message_id, "Y"])
    run(WINDOWS, "managing_the_incoming_archive", console)

    assert console.errors == []
    assert console.shown[0].startswith("High quota water mark: ")
    assert f"\nMessage ID: {message_id}\nNumber of pages: 1\n" in console.shown[1]
    assert console.shown[1].startswith("Caller ID: 1001\n")
    assert server.configuration.incoming_archive_age_limit == 4
    with pytest.raises(MessageNotFoundError):
        server.folders.incoming_archive.get_message(message_id)
