"""Managing the Fax Device Collection, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-the-fax-device-collection
(Visual Basic): every device's id, the device the user names found with ItemById, refreshed
and shown, its routing methods listed, and the first of them no longer used."""

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
        objFaxServer.Connect("")

        collFaxDevices = objFaxServer.GetDevices()
        print("This server has " + str(collFaxDevices.Count) + " fax devices.")

        for I in range(1, collFaxDevices.Count + 1):
            objFaxDevice = collFaxDevices.Item(I)
            print("Device ID for device number " + str(I) + " is: " + str(objFaxDevice.ID))

        ID = int(input("Input a device ID to get information about that device"))
        objFaxDevice = collFaxDevices.ItemById(ID)

        objFaxDevice.Refresh()

        print(
            "Device name: " + str(objFaxDevice.DeviceName)
            + "\\nDevice ID: " + str(objFaxDevice.Id)
            + "\\nProvider unique name: " + str(objFaxDevice.ProviderUniqueName)
            + "\\nPowered off: " + str(objFaxDevice.PoweredOff)
            + "\\nReceiving now: " + str(objFaxDevice.ReceivingNow)
            + "\\nRinging now: " + str(objFaxDevice.RingingNow)
            + "\\nSending now: " + str(objFaxDevice.SendingNow)
        )

        RoutingMethods = objFaxDevice.UsedRoutingMethods
        for j in range(0, len(RoutingMethods)):
            print("Method number " + str(j) + "\\n" + RoutingMethods[j])

        objFaxDevice.UseRoutingMethod(RoutingMethods[0], False)

        objFaxDevice.Save()
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_managing_the_fax_device_collection(local: Path, server: FaxServer) -> None:
    device = server.get_devices().item_by_id(3)
    device.use_routing_method("{92041a90-9af2-11d0-abf7-00c04fd91a4e}", True)  # Folder
    device.save()
    used = list(server.get_devices().item_by_id(3).used_routing_methods)
    console = Console([3])
    run(WINDOWS, "managing_the_fax_device_collection", console)

    assert console.errors == []
    assert console.shown[:4] == ["This server has 3 fax devices."] + [
        f"Device ID for device number {n} is: {n}" for n in (1, 2, 3)
    ]
    assert console.shown[4].startswith("Device name: loopback line 1003\nDevice ID: 3\n")
    assert console.shown[5:] == [f"Method number {j}\n{guid}" for j, guid in enumerate(used)]
    assert list(server.get_devices().item_by_id(3).used_routing_methods) == used[1:]
