"""Setting Logging Options, https://learn.microsoft.com/en-us/previous-versions/windows/desktop/fax/-mfax-setting-logging-options
(Visual Basic): activity logging of both directions, and a level for each category of
event logging, each refreshed, set and saved."""

from __future__ import annotations

from pathlib import Path

from openfax.client import FaxServer
from openfax.model import LogLevel
from tests.integration.faxcomex.samples.port import Console, run

WINDOWS = """\
from pywintypes import com_error
from win32com.client import Dispatch, constants


def Form_Load():
    objFaxServer = Dispatch("FaxComEx.FaxServer")

    try:
        objFaxServer.Connect("")

        objFaxLoggingOptions = objFaxServer.LoggingOptions

        objFaxActivityLogging = objFaxLoggingOptions.ActivityLogging
        objFaxEventLogging = objFaxLoggingOptions.EventLogging

        objFaxActivityLogging.Refresh()
        objFaxActivityLogging.LogIncoming = True
        objFaxActivityLogging.LogOutgoing = True
        objFaxActivityLogging.Save()

        objFaxEventLogging.Refresh()
        objFaxEventLogging.GeneralEventsLevel = constants.fllMED
        objFaxEventLogging.InboundEventsLevel = constants.fllMAX
        objFaxEventLogging.InitEventsLevel = constants.fllMIN
        objFaxEventLogging.OutboundEventsLevel = constants.fllNONE
        objFaxEventLogging.Save()
        return
    except com_error as error:
        print("Error number: %X, %s" % (error.excepinfo[5] & 0xFFFFFFFF, error.excepinfo[2]))


if __name__ == "__main__":
    Form_Load()
"""


def test_setting_logging_options(local: Path, server: FaxServer) -> None:
    console = Console()
    run(WINDOWS, "setting_logging_options", console)

    assert console.shown == []
    activity = server.logging_options.activity_logging
    assert activity.log_incoming
    assert activity.log_outgoing
    events = server.logging_options.event_logging
    levels = (events.general_events_level, events.inbound_events_level)
    levels += (events.init_events_level, events.outbound_events_level)
    assert levels == (LogLevel.MED, LogLevel.MAX, LogLevel.MIN, LogLevel.NONE)
