"""Setting Receipt Options, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-setting-receipt-options
(Visual Basic): the receipt options shown, then mail receipts through an SMTP server with
basic authentication, also used for routing to e-mail, and saved."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxServer
from openfax.model import ReceiptType, SmtpAuthenticationType
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from pywintypes import com_error
from win32com.client import Dispatch, constants


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        objFaxReceiptOptions = objFaxServer.ReceiptOptions
        objFaxReceiptOptions.Refresh()

        print(
            "Allowed receipt types: " + str(objFaxReceiptOptions.AllowedReceipts)
            + "\\nAuthentication type: " + str(objFaxReceiptOptions.AuthenticationType)
            + "\\nSMTP port: " + str(objFaxReceiptOptions.SMTPPort)
            + "\\nSMTP sender: " + str(objFaxReceiptOptions.SMTPSender)
            + "\\nSMTP server: " + str(objFaxReceiptOptions.SMTPServer)
            + "\\nUse for inbound routing: " + str(objFaxReceiptOptions.UseForInboundRouting)
        )

        objFaxReceiptOptions.AllowedReceipts = constants.frtMAIL

        objFaxReceiptOptions.AuthenticationType = constants.fsatBASIC

        objFaxReceiptOptions.SMTPPort = 25

        objFaxReceiptOptions.SMTPSender = "someone@example.com"

        objFaxReceiptOptions.SMTPServer = "My SMTP Server"

        objFaxReceiptOptions.UseForInboundRouting = True

        objFaxReceiptOptions.Save()
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_setting_receipt_options(local: Path, server: FaxServer) -> None:
    console = Console()
    run(WINDOWS, "setting_receipt_options", console)

    assert console.errors == []
    (shown,) = console.shown
    assert shown.startswith("Allowed receipt types: ")
    assert "\nSMTP port: " in shown
    options = server.receipt_options
    assert (options.allowed_receipts, options.smtp_port) == (ReceiptType.MAIL, 25)
    assert options.authentication_type is SmtpAuthenticationType.BASIC
    assert (options.smtp_sender, options.smtp_server) == ("someone@example.com", "My SMTP Server")
    assert options.use_for_inbound_routing
