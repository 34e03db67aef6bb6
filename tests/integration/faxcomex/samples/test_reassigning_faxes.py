"""Reassigning Faxes, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-reassigning-faxes
(Visual Basic): the incoming archive's first fax, not yet reassigned, given a subject, a
sender and a recipient account and reassigned: the sample reassigns when the answer is not
"Y" (kept as Microsoft wrote it), and the user answers "N". As on Windows, reassigning needs
a server whose incoming faxes are not public (FaxConfiguration.IncomingFaxesArePublic)."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxServer
from tests.integration.faxcomex.samples.conftest import receive
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        Prefetch = int(input("How many messages should be prefetched?"))

        objFaxServer.CurrentAccount.Folders.IncomingArchive.Refresh()

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

            if objFaxIncomingMessage.WasReassigned == False:
                print("Message is not reassigned")
                Answer = input("Do you want to reassign the message (Y/N)?")
                if Answer != "Y":
                    UserName = input("Enter username e.g. DomainName\\\\UserName")
                    objFaxIncomingMessage.Subject = "Reassigning Message"
                    objFaxIncomingMessage.SenderName = "Test User"
                    objFaxIncomingMessage.Recipients = UserName
                    objFaxIncomingMessage.SenderFaxNumber = "1234"
                    objFaxIncomingMessage.ReAssign()

            objFaxIncomingMessageIterator.MoveNext()

        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_reassigning_faxes(local: Path, server: FaxServer) -> None:
    server.fax_account_set.add_account("helen")
    configuration = server.configuration  # faxes can be reassigned once they are not public
    configuration.incoming_faxes_are_public = False
    configuration.save()
    receive(server, local, "1003", 1)
    first = server.folders.incoming_archive.get_messages(1).message
    console = Console([1, "N", "helen"])
    run(WINDOWS, "reassigning_faxes", console)

    assert console.errors == []
    assert console.shown == ["Message is not reassigned"]
    message = server.folders.incoming_archive.get_message(first.id)
    assert message.was_reassigned
    assert message.subject == "Reassigning Message"
    assert (message.sender_name, message.sender_fax_number) == ("Test User", "1234")
