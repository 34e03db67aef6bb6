"""Managing Fax Device Providers, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-fax-device-providers
(Visual Basic): each device provider's name, image, status, versions, TAPI provider and
unique name, and the ids of its devices."""

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

        collFaxDeviceProviders = objFaxServer.GetDeviceProviders()

        n = collFaxDeviceProviders.Count

        for i in range(1, n + 1):
            objFaxDeviceProvider = collFaxDeviceProviders.Item(i)
            print(
                "Debug = " + str(objFaxDeviceProvider.Debug)
                + "\\nName = " + str(objFaxDeviceProvider.FriendlyName)
                + "\\nImage name = " + str(objFaxDeviceProvider.ImageName)
                + "\\nInit error code = " + str(objFaxDeviceProvider.InitErrorCode)
                + "\\nBuild and version = " + str(objFaxDeviceProvider.MajorBuild) + "."
                + str(objFaxDeviceProvider.MinorBuild) + "."
                + str(objFaxDeviceProvider.MajorVersion) + "."
                + str(objFaxDeviceProvider.MinorVersion)
                + "\\nStatus = " + str(objFaxDeviceProvider.Status)
                + "\\nTapi provider = " + str(objFaxDeviceProvider.TapiProviderName)
                + "\\nUnique name = " + str(objFaxDeviceProvider.UniqueName)
            )

            DeviceArray = objFaxDeviceProvider.DeviceIds
            for j in range(0, len(DeviceArray)):
                print("Device ID: " + str(DeviceArray[j]))
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_managing_fax_device_providers(local: Path, server: FaxServer) -> None:
    console = Console()
    run(WINDOWS, "managing_fax_device_providers", console)

    assert console.errors == []
    (provider,) = server.get_device_providers()
    assert console.shown[0].endswith(f"\nUnique name = {provider.unique_name}")
    assert console.shown[1:] == [f"Device ID: {device_id}" for device_id in (1, 2, 3)]
