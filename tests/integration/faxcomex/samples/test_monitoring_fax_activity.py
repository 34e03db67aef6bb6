"""Monitoring Fax Activity, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-monitoring-fax-activity
(Visual Basic): the server's FaxActivity, taken before connecting, refreshed, and its
incoming, outgoing, routing and queued message counts shown."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxServer
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:

        objFaxActivity = objFaxServer.Activity
        objFaxServer.Connect("")

        objFaxActivity.Refresh()

        print(str(objFaxActivity.IncomingMessages) + " Incoming Messages")
        print(str(objFaxActivity.OutgoingMessages) + " Outgoing Messages")
        print(str(objFaxActivity.RoutingMessages) + " Routing Messages")
        print(str(objFaxActivity.QueuedMessages) + " Queued Messages")
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_monitoring_fax_activity(local: Path, server: FaxServer) -> None:
    console = Console()
    run(WINDOWS, "monitoring_fax_activity", console)

    assert console.errors == []
    kinds = ("Incoming", "Outgoing", "Routing", "Queued")
    assert [shown.split(" ", 1)[1] for shown in console.shown] == [f"{k} Messages" for k in kinds]
    assert all(shown.split(" ", 1)[0].isdigit() for shown in console.shown)
