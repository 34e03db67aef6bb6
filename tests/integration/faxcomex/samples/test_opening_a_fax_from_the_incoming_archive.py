"""Opening a Fax from the Incoming Archive, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-opening-a-fax-from-the-incoming-archive
(Visual Basic): the incoming archive's message iterator with the prefetch size the user
gives, each message copied to the TIFF file the user names and opened."""

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

        Prefetch = int(input("How many messages should be prefetched?"))

        objFaxServer.Folders.IncomingArchive.Refresh()

        objFaxIncomingMessageIterator = objFaxServer.Folders.IncomingArchive.GetMessages(Prefetch)

        objFaxIncomingMessageIterator.MoveFirst()

        for i in range(1, Prefetch + 1):
            if i > 1:
                Answer = input("View next message (Y/N)?")
                if Answer != "Y":
                    return

            objFaxIncomingMessage = objFaxIncomingMessageIterator.Message

            if objFaxIncomingMessageIterator.AtEOF == True:
                print("End of File Reached")
                return

            FileName = input("Provide path and name of file for TIFF copy, e.g. c:\\\\MyFax.tiff")
            objFaxIncomingMessage.CopyTiff(FileName)

            os.startfile(FileName)

            objFaxIncomingMessageIterator.MoveNext()

        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_opening_a_fax_from_the_incoming_archive(
    local: Path, server: FaxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receive(server, local, "1003", 2)
    first = server.folders.incoming_archive.get_messages(1).message
    opened: list[str] = []
    monkeypatch.setattr(os, "startfile", opened.append, raising=False)  # the desktop's viewer

    console = Console([1, "MyFax.tiff"])
    run(WINDOWS, "opening_a_fax_from_the_incoming_archive", console)

    assert console.shown == []
    assert opened == ["MyFax.tiff"]
    with Image.open(local / "MyFax.tiff") as tiff:
        assert tiff.n_frames == first.pages
