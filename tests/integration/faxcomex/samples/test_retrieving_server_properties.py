"""Retrieving Server Properties, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-retrieving-server-properties
(Visual Basic): the server's API version, debug flag, build and version numbers and name."""

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

        print(
            "Server information" + "\\n"
            + "\\nAPI Version: " + str(objFaxServer.APIVersion)
            + "\\nDebug: " + str(objFaxServer.Debug)
            + "\\nBuild and version: " + str(objFaxServer.MajorBuild) + "."
            + str(objFaxServer.MinorBuild) + "." + str(objFaxServer.MajorVersion) + "."
            + str(objFaxServer.MinorVersion) + "."
            + "\\nServer name: " + str(objFaxServer.ServerName)
        )
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_retrieving_server_properties(local: Path, server: FaxServer) -> None:
    console = Console()
    run(WINDOWS, "retrieving_server_properties", console)

    build = f"{server.major_build}.{server.minor_build}.{server.major_version}."
    assert console.shown == [
        "Server information\n"
        f"\nAPI Version: {int(server.api_version)}"
        f"\nDebug: {server.debug}"
        f"\nBuild and version: {build}{server.minor_version}."
        f"\nServer name: {server.server_name}"
    ]
