"""Managing Fax Accounts, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-fax-accounts
(Visual Basic): the server's accounts counted and named through the collection's default
member, then an account the user names (``DOMAIN\\user``) added and removed. As in
Microsoft's sample, the error handler's message follows even when nothing failed (the
sample has no ``Exit Sub`` before its label): the port prints it with the code 0."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxServer
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")
    Number, Description = 0, ""

    try:
        objFaxServer.Connect("")

        objFaxAccSet = objFaxServer.FaxAccountSet

        objFaxAccounts = objFaxAccSet.GetAccounts()
        print("Number of accounts: " + str(objFaxAccounts.Count))

        for i in range(1, objFaxAccounts.Count + 1):
            print(objFaxAccounts(i).AccountName)

        strAccountName = input("Enter an account name (DomainName\\\\UserName)?")
        objFaxAccSet.AddAccount(strAccountName)

        objFaxAccSet.RemoveAccount(strAccountName)

    except com_error as error:
        Number, Description = error.excepinfo[5], error.excepinfo[2]
    print("Error number: %X, %s" % (Number & 0xFFFFFFFF, Description))


if __name__ == "__main__":
    Form_Load()
"""


def test_managing_fax_accounts(local: Path, server: FaxServer) -> None:
    before = [account.account_name for account in server.fax_account_set.get_accounts()]
    console = Console(["OFFICE\\helen"])
    run(WINDOWS, "managing_fax_accounts", console)

    assert console.shown == [f"Number of accounts: {len(before)}", *before, "Error number: 0, "]
    after = [account.account_name for account in server.fax_account_set.get_accounts()]
    assert after == before
