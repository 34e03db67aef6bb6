"""Creating and Managing Outbound Routing Rules, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-creating-and-managing-outbound-routing-rules
(Visual Basic): every rule refreshed and shown, then choice 4: a rule for a country and area
code that already has one is refused and asked again, and the new one goes to the first
device."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxServer
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
import sys

from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        objFaxDevice = objFaxServer.GetDevices().Item(1)

        ID = objFaxDevice.ID

        collFaxOutboundRoutingRules = objFaxServer.OutboundRouting.GetRules()

        print(
            "There are " + str(collFaxOutboundRoutingRules.Count)
            + " outbound routing rules on this server."
        )
        for i in range(1, collFaxOutboundRoutingRules.Count + 1):
            objFaxOutboundRoutingRule = collFaxOutboundRoutingRules.Item(i)
            objFaxOutboundRoutingRule.Refresh()

            print(
                "Outbound routing rule number: " + str(i)
                + "\\nArea code: " + str(objFaxOutboundRoutingRule.AreaCode)
                + "\\nCountry/region code: " + str(objFaxOutboundRoutingRule.CountryCode)
                + "\\nDevice ID: " + str(objFaxOutboundRoutingRule.DeviceId)
                + "\\nGroup name: " + str(objFaxOutboundRoutingRule.GroupName)
                + "\\nStatus: " + str(objFaxOutboundRoutingRule.Status)
                + "\\nIs device used: " + str(objFaxOutboundRoutingRule.UseDevice)
            )

            if objFaxOutboundRoutingRule.UseDevice == True:
                MakeChange = input("Do you want to change the device for this rule (Y/N)?")
                if MakeChange == "Y":
                    NewDevice = int(input("Input new device ID."))
                    objFaxOutboundRoutingRule.DeviceId = NewDevice
                    objFaxOutboundRoutingRule.Save()

        Choice = int(input(
            "Do you want to display an item based on its country/region and area code (1), "
            + "remove an item based on its country/region and area code (2), "
            + "remove an item based on its item number (3), or add a rule (4)? "
            + "Input 1, 2, 3 or 4. Input 0 to exit the program."
        ))

        if Choice == 0: sys.exit()

        if Choice == 1:

            CountryCode = int(input("Provide the country/region code"))
            AreaCode = int(input("Provide the area code"))
            objFaxOutboundRoutingRule = collFaxOutboundRoutingRules.ItemByCountryAndArea(
                CountryCode, AreaCode
            )

            print(
                "Outbound routing rule number: " + str(i)
                + "\\nArea code: " + str(objFaxOutboundRoutingRule.AreaCode)
                + "\\nCountry/region code: " + str(objFaxOutboundRoutingRule.CountryCode)
                + "\\nDevice ID: " + str(objFaxOutboundRoutingRule.DeviceId)
                + "\\nGroup name: " + str(objFaxOutboundRoutingRule.GroupName)
                + "\\nStatus: " + str(objFaxOutboundRoutingRule.Status)
                + "\\nIs device used: " + str(objFaxOutboundRoutingRule.UseDevice)
            )

        if Choice == 2:

            CountryCode = int(input("Provide the country/region code"))
            AreaCode = int(input("Provide the area code"))
            collFaxOutboundRoutingRules.RemoveByCountryAndArea(CountryCode, AreaCode)

        if Choice == 3:

            ItemNumber = int(input("Provide the item number."))
            collFaxOutboundRoutingRules.Remove(ItemNumber)

        if Choice == 4:

            while True:

                CountryCode = int(input("Provide the country/region code for the new rule"))
                AreaCode = int(input("Provide the area code for the new rule"))

                try:
                    objFaxOutboundRoutingRule = collFaxOutboundRoutingRules.Add(
                        CountryCode, AreaCode, True, "", ID
                    )
                except com_error:
                    print(
                        "A rule for this country/region code and area code exists already, "
                        + "please try again"
                    )
                    continue
                break
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_creating_and_managing_outbound_routing_rules(local: Path, server: FaxServer) -> None:
    rules = server.outbound_routing.get_rules()
    before = len(rules)
    existing = rules.item(1)
    asked = ["N" for rule in rules if rule.use_device]
    console = Console([*asked, 4, existing.country_code, existing.area_code, 1, 212])
    run(WINDOWS, "creating_and_managing_outbound_routing_rules", console)

    assert console.errors == []
    assert console.shown[0] == f"There are {before} outbound routing rules on this server."
    assert len(console.shown) == 1 + before + 1
    assert console.shown[-1].startswith("A rule for this country/region code and area code")
    rule = server.outbound_routing.get_rules().item_by_country_and_area(1, 212)
    assert rule.use_device
    assert rule.device_id == server.get_devices().item(1).id
