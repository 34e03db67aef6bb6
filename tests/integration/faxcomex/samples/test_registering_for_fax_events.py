"""Registering for Fax Events, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-registering-for-fax-events
(Visual Basic): a FaxServer with events (``Dim WithEvents``: pywin32's DispatchWithEvents)
listening to the outgoing queue and the service's end; a job added, its status at each
change (the transmission end asked on its own: None while the fax is still going), and
the server shut down. The events the sink has no method for (a job removed) pass by. The test
plays the form's message loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openfax import faxcomex
from openfax.client import FaxDocument, FaxServer
from tests.daemon import Daemon, running
from tests.factories import make_pdf
from tests.integration.faxcomex.samples.conftest import WAIT
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
import time

from pythoncom import PumpWaitingMessages
from pywintypes import com_error
from win32com.client import DispatchWithEvents, constants


class FaxServerEvents:
    def OnOutgoingJobAdded(self, pFaxServer, bstrJobId):

        print("New job added to queue")

    def OnOutgoingJobChanged(self, pFaxServer, bstrJobId, pJobStatus):
        try:

            print(
                str(pJobStatus.AvailableOperations)
                + "\\nCaller ID: " + str(pJobStatus.CallerId)
                + "\\nCSID: " + str(pJobStatus.CSID)
                + "\\nCurrent page: " + str(pJobStatus.CurrentPage)
                + "\\nDevice ID: " + str(pJobStatus.DeviceId)
                + "\\nExtended status: " + str(pJobStatus.ExtendedStatus)
                + "\\nExtended status code: " + str(pJobStatus.ExtendedStatusCode)
                + "\\nJob type: " + str(pJobStatus.JobType)
                + "\\nPages: " + str(pJobStatus.Pages)
                + "\\nRetries: " + str(pJobStatus.Retries)
                + "\\nRouting information: " + str(pJobStatus.RoutingInformation)
                + "\\nScheduled time: " + str(pJobStatus.ScheduledTime)
                + "\\nSize: " + str(pJobStatus.Size)
                + "\\nStatus: " + str(pJobStatus.Status)
                + "\\nTransmission start: " + str(pJobStatus.TransmissionStart)
                + "\\nTSID: " + str(pJobStatus.TSID)
            )

            print("Transmission end: " + str(pJobStatus.TransmissionEnd))

            return
        except com_error as error:
            print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))

    def OnServerShutDown(self, pFaxServer):

        print("The local fax server has been shut down")


def Form_Load():
    global g_objFaxServer

    try:
        g_objFaxServer = DispatchWithEvents("FaxComEx.FaxServer", FaxServerEvents)

        g_objFaxServer.Connect("")

        g_objFaxServer.ListenToServerEvents(
            constants.fsetFXSSVC_ENDED + constants.fsetOUT_QUEUE
        )

        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
    while True:
        PumpWaitingMessages()
        time.sleep(0.1)
"""

SHUT_DOWN = "The local fax server has been shut down"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """An openfaxd of its own: the sample sees it shut down."""
    with running(tmp_path / "openfaxd") as started:
        yield started


def pump_until(console: Console, shown: str, seconds: float = WAIT) -> None:
    """The form's message loop, until a message box starting with ``shown`` appeared."""
    while not any(message.startswith(shown) for message in console.shown):
        assert faxcomex.PumpWaitingMessages(timeout=seconds), f"no {shown!r} in {console.shown}"


def test_registering_for_fax_events(local: Path, daemon: Daemon, server: FaxServer) -> None:
    console = Console()
    script = run(WINDOWS, "registering_for_fax_events", console, main=False)
    script["Form_Load"]()
    fax = FaxDocument(body=make_pdf(local / "memo.pdf", 1))
    fax.recipients.add("1002")
    fax.connected_submit(server)

    pump_until(console, "Transmission end: 20")
    assert console.shown[0] == "New job added to queue"
    statuses = [m for m in console.shown if "\nStatus: " in m]
    assert "\nStatus: 2\n" in statuses[0]
    assert "\nStatus: 256\n" in statuses[-1]
    daemon.stop()
    pump_until(console, SHUT_DOWN, seconds=10)  # told before the API closes, so pumped by now
    assert console.shown[-1] == SHUT_DOWN
