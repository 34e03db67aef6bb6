"""Setting the Outgoing Queue Properties, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-setting-the-outgoing-queue-properties
(Visual Basic): the outgoing queue's own settings (age limit, personal cover pages, blocked,
paused, branding, discount period as ``Date.FromOADate``, retries, retry delay, device TSID)
set and saved."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from openfax.client import FaxServer
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from datetime import datetime, timedelta

from pywintypes import com_error
from win32com.client import Dispatch


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        objFaxOutgoingQueue = objFaxServer.Folders.OutgoingQueue

        objFaxOutgoingQueue.AgeLimit = 2
        objFaxOutgoingQueue.AllowPersonalCoverPages = True
        objFaxOutgoingQueue.Blocked = False
        objFaxOutgoingQueue.Paused = False
        objFaxOutgoingQueue.Branding = True
        objFaxOutgoingQueue.DiscountRateStart = datetime(1899, 12, 30) + timedelta(days=15.0)
        objFaxOutgoingQueue.DiscountRateEnd = datetime(1899, 12, 30) + timedelta(days=15.25)
        objFaxOutgoingQueue.Retries = 6
        objFaxOutgoingQueue.RetryDelay = 10
        objFaxOutgoingQueue.UseDeviceTSID = True

        objFaxOutgoingQueue.Save()
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_setting_the_outgoing_queue_properties(local: Path, server: FaxServer) -> None:
    console = Console()
    run(WINDOWS, "setting_the_outgoing_queue_properties", console)

    assert console.shown == []
    configuration = server.configuration
    assert (configuration.outgoing_queue_age_limit, configuration.branding) == (2, True)
    assert configuration.allow_personal_cover_pages
    assert configuration.use_device_tsid
    discount = (configuration.discount_rate_start, configuration.discount_rate_end)
    assert discount == (time(0, 0), time(6, 0))
    assert (configuration.retries, configuration.retry_delay) == (6, 10)
    queue = server.folders.outgoing_queue
    assert not queue.blocked
    assert not queue.paused
