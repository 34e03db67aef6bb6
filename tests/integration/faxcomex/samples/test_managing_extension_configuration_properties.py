"""Managing Extension Configuration Properties, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-extension-configuration-properties
(Visual Basic, both examples: for a fax device, then for the fax server): a three-byte
property set under an extension's GUID, read back and shown byte by byte."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxServer
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")
    DeviceProperty = bytearray(3)

    try:
        objFaxServer.Connect("")

        objFaxDevice = objFaxServer.GetDevices().Item(1)

        DeviceProperty[0] = 1
        DeviceProperty[1] = 2
        DeviceProperty[2] = 3

        objFaxDevice.SetExtensionProperty("{B1F944B9-9A16-45d1-933A-4060A4871AB0}", DeviceProperty)

        ExtProperty = objFaxDevice.GetExtensionProperty("{B1F944B9-9A16-45d1-933A-4060A4871AB0}")

        for i in range(0, len(ExtProperty)):
            print(ExtProperty[i])
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


def Form_Load_Server():
    objFaxServer = Dispatch("FaxComEx.FaxServer")
    ServerProperty = bytearray(3)

    try:
        objFaxServer.Connect("")

        ServerProperty[0] = 4
        ServerProperty[1] = 2
        ServerProperty[2] = 3

        objFaxServer.SetExtensionProperty("{AC7D0DEE-B6E5-4a44-AF45-835C58CB44D2}", ServerProperty)

        ExtProperty = objFaxServer.GetExtensionProperty("{AC7D0DEE-B6E5-4a44-AF45-835C58CB44D2}")

        for i in range(0, len(ExtProperty)):
            print(ExtProperty[i])
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
    Form_Load_Server()
"""


def test_managing_extension_configuration_properties(local: Path, server: FaxServer) -> None:
    console = Console()
    run(WINDOWS, "managing_extension_configuration_properties", console)

    assert console.shown == ["1", "2", "3", "4", "2", "3"]
    device = server.get_devices().item(1)
    assert device.get_extension_property("{B1F944B9-9A16-45d1-933A-4060A4871AB0}") == b"\1\2\3"
    assert server.get_extension_property("{AC7D0DEE-B6E5-4a44-AF45-835C58CB44D2}") == b"\4\2\3"
