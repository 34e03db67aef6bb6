"""Opening a Fax from the Outgoing Archive, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-opening-a-fax-from-the-outgoing-archive
(Visual Basic): the outgoing archive's iterator, the first sent fax copied to a TIFF file,
opened and shown, then deleted: the sample deletes when the answer is not "Y" (kept as
Microsoft wrote it), and the user answers "N"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from openfax.client import FaxServer
from openfax.errors import MessageNotFoundError
from tests.integration.faxcomex.samples.conftest import receive
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
import os

from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        Prefetch = int(input("How many messages should be prefetched?"))

        objFaxServer.Folders.OutgoingArchive.Refresh()

        objFaxOutgoingMessageIterator = objFaxServer.Folders.OutgoingArchive.GetMessages(Prefetch)

        objFaxOutgoingMessageIterator.MoveFirst()

        for i in range(1, Prefetch + 1):
            if i > 1:
                Answer = input("View next message (Y/N)?")
                if Answer != "Y":
                    return

            if objFaxOutgoingMessageIterator.AtEOF == True:
                print("End of File Reached")
                return

            objFaxOutgoingMessage = objFaxOutgoingMessageIterator.Message
            FileName = input("Provide path and name of file for TIFF copy, e.g. c:\\\\MyFax.tiff")
            objFaxOutgoingMessage.CopyTiff(FileName)

            os.startfile(FileName)

            print(
                "Message information"
                + "\\nCSID: " + str(objFaxOutgoingMessage.CSID)
                + "\\nDevice name: " + str(objFaxOutgoingMessage.DeviceName)
                + "\\nDocument name: " + str(objFaxOutgoingMessage.DocumentName)
                + "\\nMessage ID: " + str(objFaxOutgoingMessage.ID)
                + "\\nOriginal scheduled time: " + str(objFaxOutgoingMessage.OriginalScheduledTime)
                + "\\nPages: " + str(objFaxOutgoingMessage.Pages)
                + "\\nPriority: " + str(objFaxOutgoingMessage.Priority)
                + "\\nRecipient fax number: " + str(objFaxOutgoingMessage.Recipient.FaxNumber)
                + "\\nRetries: " + str(objFaxOutgoingMessage.Retries)
                + "\\nSender name: " + str(objFaxOutgoingMessage.Sender.Name)
                + "\\nSize: " + str(objFaxOutgoingMessage.Size)
                + "\\nSubject: " + str(objFaxOutgoingMessage.Subject)
                + "\\nSubmission ID: " + str(objFaxOutgoingMessage.SubmissionId)
                + "\\nSubmission time: " + str(objFaxOutgoingMessage.SubmissionTime)
                + "\\nTransmission end time: " + str(objFaxOutgoingMessage.TransmissionEnd)
                + "\\nTransmission start time: " + str(objFaxOutgoingMessage.TransmissionStart)
                + "\\nTSID: " + str(objFaxOutgoingMessage.TSID)
            )

            DelAnswer = input("Delete this fax from the archive (Y/N)?")
            if DelAnswer != "Y": objFaxOutgoingMessage.Delete()

            objFaxOutgoingMessageIterator.MoveNext()

        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_opening_a_fax_from_the_outgoing_archive(
    local: Path, server: FaxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receive(server, local, "1002", 3)
    first = server.folders.outgoing_archive.get_messages(1).message
    opened: list[str] = []
    monkeypatch.setattr(os, "startfile", opened.append, raising=False)  # the desktop's viewer

    console = Console([1, "Sent.tiff", "N"])
    run(WINDOWS, "opening_a_fax_from_the_outgoing_archive", console)

    assert console.errors == []
    (shown,) = console.shown
    assert f"\nMessage ID: {first.id}\nOriginal scheduled time: " in shown
    assert f"\nPages: {first.pages}\n" in shown
    assert opened == ["Sent.tiff"]
    with Image.open(local / "Sent.tiff") as tiff:
        assert tiff.n_frames == first.pages
    with pytest.raises(MessageNotFoundError):
        server.folders.outgoing_archive.get_message(first.id)
