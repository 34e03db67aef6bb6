"""Managing Outbound Routing Groups, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-outbound-routing-groups
(Visual Basic): a group named by the user holding every device, the last device moved to
the front and the first removed, every group shown, and the new group removed again."""

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

        objFaxOutboundRouting = objFaxServer.OutboundRouting

        collFaxOutboundRoutingGroups = objFaxOutboundRouting.GetGroups()

        GroupName = input("Provide a name for the outbound routing group.")
        objFaxOutboundRoutingGroup = collFaxOutboundRoutingGroups.Add(GroupName)

        collFaxDevices = objFaxServer.GetDevices()

        for n in range(1, collFaxDevices.Count + 1):
            objFaxDevice = collFaxDevices.Item(n)
            objFaxOutboundRoutingGroup.DeviceIds.Add(objFaxDevice.Id)
        # VB's For leaves n one past the last device, hence its n - 1; Python's, on it.
        objFaxOutboundRoutingGroup.DeviceIds.SetOrder(collFaxDevices.Item(n).Id, 1)

        print(
            "Number of devices " + str(objFaxOutboundRoutingGroup.DeviceIds.Count)
            + "\\nID of first device " + str(objFaxOutboundRoutingGroup.DeviceIds.Item(1))
        )

        objFaxOutboundRoutingGroup.DeviceIds.Remove(1)

        print(
            "There are " + str(collFaxOutboundRoutingGroups.Count)
            + " routing groups on this server"
        )

        for i in range(1, collFaxOutboundRoutingGroups.Count + 1):
            objFaxOutboundRoutingGroup = collFaxOutboundRoutingGroups.Item(i)
            print(
                "Routing group number: " + str(i)
                + "\\nOutbound routing group name: " + str(objFaxOutboundRoutingGroup.Name)
                + "\\nDevice status: " + str(objFaxOutboundRoutingGroup.Status)
            )

        Answer = input("Do you want to remove a routing group (Y/N)?")
        if Answer == "Y":
            ItemNumber = int(input("Provide the item number for the group you want to remove."))
            collFaxOutboundRoutingGroups.Remove(ItemNumber)
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_managing_outbound_routing_groups(local: Path, server: FaxServer) -> None:
    before = [group.name for group in server.outbound_routing.get_groups()]
    console = Console(["Night shift", "Y", len(before) + 1])
    run(WINDOWS, "managing_outbound_routing_groups", console)

    assert console.errors == []
    assert console.shown[0] == "Number of devices 3\nID of first device 3"
    assert console.shown[1] == f"There are {len(before) + 1} routing groups on this server"
    assert console.shown[-1].startswith(f"Routing group number: {len(before) + 1}\n")
    assert "\nOutbound routing group name: Night shift\n" in console.shown[-1]
    assert [group.name for group in server.outbound_routing.get_groups()] == before
