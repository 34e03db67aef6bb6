"""Configuring a Fax Device, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-configuring-a-fax-device
(Visual Basic): the first device's CSID, TSID, description, receive mode, rings and
sending, then Save."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxServer
from openfax.model import ReceiveMode
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from pywintypes import com_error
from win32com.client import Dispatch, constants


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        objFaxDevice = objFaxServer.GetDevices().Item(1)

        objFaxDevice.CSID = "Accounts payable"
        objFaxDevice.Description = "Primary fax device"
        objFaxDevice.ReceiveMode = constants.fdrmAUTO_ANSWER
        objFaxDevice.RingsBeforeAnswer = 5
        objFaxDevice.SendEnabled = True
        objFaxDevice.TSID = "Accounts payable"

        objFaxDevice.Save()
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_configuring_a_fax_device(local: Path, server: FaxServer) -> None:
    console = Console()
    run(WINDOWS, "configuring_a_fax_device", console)

    assert console.shown == []
    device = server.get_devices().item(1)
    assert (device.csid, device.tsid) == ("Accounts payable", "Accounts payable")
    assert device.description == "Primary fax device"
    assert (device.receive_mode, device.rings_before_answer) == (ReceiveMode.AUTO_ANSWER, 5)
    assert device.send_enabled
