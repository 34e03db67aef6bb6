"""Managing Routing Extensions and Routing Methods, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-routing-extensions-and-routing-methods
(Visual Basic): the inbound routing extensions (with their versions and method GUIDs) and
methods shown through the collections' default member, ``coll(n)``, and the last method's
priority changed to 1."""

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

        collFaxInboundRoutingExtensions = objFaxServer.InboundRouting.GetExtensions()
        collFaxInboundRoutingMethods = objFaxServer.InboundRouting.GetMethods()

        ECount = collFaxInboundRoutingExtensions.Count
        MCount = collFaxInboundRoutingMethods.Count
        print(
            "There are " + str(ECount) + " routing extensions and "
            + "\\n" + str(MCount) + " routing methods on this server."
        )

        for n in range(1, ECount + 1):
            print(
                "Routing extension number " + str(n) + "\\n"
                + "\\nDebug = " + str(collFaxInboundRoutingExtensions(n).Debug)
                + "\\nName = " + str(collFaxInboundRoutingExtensions(n).FriendlyName)
                + "\\nImage name = " + str(collFaxInboundRoutingExtensions(n).ImageName)
                + "\\nInit error code = " + str(collFaxInboundRoutingExtensions(n).InitErrorCode)
                + "\\nBuild and version = "
                + str(collFaxInboundRoutingExtensions(n).MajorBuild) + "."
                + str(collFaxInboundRoutingExtensions(n).MinorBuild) + "."
                + str(collFaxInboundRoutingExtensions(n).MajorVersion) + "."
                + str(collFaxInboundRoutingExtensions(n).MinorVersion)
                + "\\nStatus = " + str(collFaxInboundRoutingExtensions(n).Status)
                + "\\nUnique name = " + str(collFaxInboundRoutingExtensions(n).UniqueName)
            )

            MethodArray = collFaxInboundRoutingExtensions(n).Methods
            for j in range(0, len(MethodArray)):
                print(
                    "Routing extension number " + str(n) + ", Method number " + str(j) + "\\n"
                    + MethodArray[j]
                )

        for m in range(1, MCount + 1):
            collFaxInboundRoutingMethods(m).Refresh()
            print(
                "Routing method number " + str(m) + "\\n"
                + "\\nFriendly name = " + str(collFaxInboundRoutingMethods(m).ExtensionFriendlyName)
                + "\\nImage name = " + str(collFaxInboundRoutingMethods(m).ExtensionImageName)
                + "\\nFunction name = " + str(collFaxInboundRoutingMethods(m).FunctionName)
                + "\\nGuid = " + str(collFaxInboundRoutingMethods(m).Guid)
                + "\\nName = " + str(collFaxInboundRoutingMethods(m).Name)
                + "\\nPriority = " + str(collFaxInboundRoutingMethods(m).Priority)
            )

            Answer = input("Change priority? (Y/N)")
            if Answer == "Y":
                NewPriority = int(input("Provide new priority"))
                collFaxInboundRoutingMethods(m).Priority = NewPriority
                collFaxInboundRoutingMethods(m).Save()

        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_managing_routing_extensions_and_routing_methods(local: Path, server: FaxServer) -> None:
    extensions = server.inbound_routing.get_extensions()
    methods = server.inbound_routing.get_methods()
    last = methods.item(len(methods)).guid
    console = Console([*["N"] * (len(methods) - 1), "Y", 1])
    run(WINDOWS, "managing_routing_extensions_and_routing_methods", console)

    assert console.errors == []
    guids = sum(len(extension.methods) for extension in extensions)
    assert len(console.shown) == 1 + len(extensions) + guids + len(methods)
    assert f"\nName = {extensions.item(1).friendly_name}\n" in console.shown[1]
    assert server.inbound_routing.get_method(last).priority == 1
