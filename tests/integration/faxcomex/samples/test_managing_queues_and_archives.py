"""Managing Queues and Archives, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-managing-queues-and-archives
(Visual Basic, Windows Vista's FaxConfiguration): the archive's settings shown, then the
discount period (``Date.FromOADate``: days since 30 December 1899), retries, retry delay,
device TSID and archive age limit set and saved."""

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

        objFaxConfiguration = objFaxServer.Configuration

        print(
            "AgeLimit: " + str(objFaxConfiguration.ArchiveAgeLimit)
            + "\\nArchive folder: " + str(objFaxConfiguration.ArchiveLocation)
            + "\\nHigh quota water mark: " + str(objFaxConfiguration.HighQuotaWaterMark)
            + "\\nLow quota water mark: " + str(objFaxConfiguration.LowQuotaWaterMark)
            + "\\nSize quota warning: " + str(objFaxConfiguration.SizeQuotaWarning)
            + "\\nIs archive used?: " + str(objFaxConfiguration.UseArchive)
        )

        objFaxConfiguration.DiscountRateStart = datetime(1899, 12, 30) + timedelta(days=15.0)
        objFaxConfiguration.DiscountRateEnd = datetime(1899, 12, 30) + timedelta(days=15.25)
        objFaxConfiguration.Retries = 6
        objFaxConfiguration.RetryDelay = 10
        objFaxConfiguration.UseDeviceTSID = True

        objFaxConfiguration.ArchiveAgeLimit = 4

        objFaxConfiguration.Save()

        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_managing_queues_and_archives(local: Path, server: FaxServer) -> None:
    console = Console()
    run(WINDOWS, "managing_queues_and_archives", console)

    assert console.errors == []
    (shown,) = console.shown
    assert shown.startswith("AgeLimit: ")
    assert "\nIs archive used?: True" in shown
    configuration = server.configuration
    discount = (configuration.discount_rate_start, configuration.discount_rate_end)
    assert discount == (time(0, 0), time(6, 0))
    assert (configuration.retries, configuration.retry_delay) == (6, 10)
    assert configuration.use_device_tsid
    assert configuration.archive_age_limit == 4
