"""Managing the Outgoing Archive, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-the-outgoing-archive
(Visual Basic): the outgoing archive's own settings shown, its age limit changed (answers
"Y", 30), then a sent fax found by its id, copied to a TIFF file and opened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from openfax.client import FaxServer
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

        objFaxOutgoingArchive = objFaxServer.Folders.OutgoingArchive

        print(
            "AgeLimit: " + str(objFaxOutgoingArchive.AgeLimit)
            + "\\nArchive folder: " + str(objFaxOutgoingArchive.ArchiveFolder)
            + "\\nHigh quota water mark: " + str(objFaxOutgoingArchive.HighQuotaWaterMark)
            + "\\nLow quota water mark: " + str(objFaxOutgoingArchive.LowQuotaWaterMark)
            + "\\nSize high: " + str(objFaxOutgoingArchive.SizeHigh)
            + "\\nSize low: " + str(objFaxOutgoingArchive.SizeLow)
            + "\\nSize quota warning: " + str(objFaxOutgoingArchive.SizeQuotaWarning)
            + "\\nIs archive used?: " + str(objFaxOutgoingArchive.UseArchive)
        )

        Answer = input("Change age limit? (Y/N)")
        if Answer == "Y":
            NewAgeLimit = int(input("Provide age limit in days"))
            objFaxOutgoingArchive.AgeLimit = NewAgeLimit
            objFaxOutgoingArchive.Save()

        MessageAnswer = input("Retrieve a message by its ID for display? (Y/N)")
        if MessageAnswer == "Y":
            ID = input("Provide the message ID")
            FileName = input("Provide path and name of file for TIFF copy, e.g. c:\\\\MyFax.tiff")
            objFaxOutgoingArchive.GetMessage(ID).CopyTiff(FileName)

            os.startfile(FileName)
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_managing_the_outgoing_archive(
    local: Path, server: FaxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receive(server, local, "1003", 2)
    sent = server.folders.outgoing_archive.get_messages(1).message
    opened: list[str] = []
    monkeypatch.setattr(os, "startfile", opened.append, raising=False)  # the desktop's viewer

    console = Console(["Y", 30, "Y", sent.id, "Sent.tiff"])
    run(WINDOWS, "managing_the_outgoing_archive", console)

    assert console.errors == []
    (shown,) = console.shown
    assert shown.startswith("AgeLimit: ")
    assert "\nIs archive used?: True" in shown
    assert server.configuration.archive_age_limit == 30
    assert opened == ["Sent.tiff"]
    with Image.open(local / "Sent.tiff") as tiff:
        assert tiff.n_frames == sent.pages
