"""Activity and event logging end to end: a real openfaxd writes the inbox and outbox logs
(read back with the csv module) and logs fax events at the levels set through the client."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest

from openfax.client import FaxDocument, FaxServer
from openfax.errors import ConfigError
from openfax.model import LogLevel
from tests.daemon import Daemon
from tests.integration.routing.conftest import fax_to
from tests.waiting import wait_until


def rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_a_sent_and_a_received_fax_each_add_a_line_to_the_activity_logs(
    server: FaxServer, two_pages: Path, tmp_path: Path
) -> None:
    activity = server.logging_options.activity_logging
    assert activity.log_incoming
    assert activity.log_outgoing
    assert activity.database_path.endswith("activity")
    # An administrators' folder: its group reads the logs, others do not.
    folder = tmp_path / "activity"
    folder.mkdir(mode=0o750)
    activity.database_path = str(folder)
    activity.save()
    assert server.logging_options.activity_logging.database_path == str(folder)

    received = fax_to(server, "1002", two_pages)
    outbox = wait_until(lambda: rows(folder / "OutboxLOG.txt"), "the outbox line")
    inbox = wait_until(lambda: rows(folder / "InboxLOG.txt"), "the inbox line")

    (sent,) = outbox
    assert sent["Status"] == "COMPLETED"
    assert (sent["RecipientNumber"], sent["Pages"], sent["TotalPages"]) == ("1002", "2", "2")
    assert (sent["TSID"], sent["CSID"], sent["DeviceName"]) == (
        "1001",
        "1002",
        "loopback line 1001",
    )
    assert sent["Subject"] == "routing test"
    (arrived,) = inbox
    assert (arrived["JobId"], arrived["Status"], arrived["Pages"]) == (received, "RECEIVED", "2")
    assert (arrived["TSID"], arrived["CSID"]) == ("1001", "1002")
    assert arrived["RoutingInformation"].startswith("1002")
    assert stat.S_IMODE((folder / "OutboxLOG.txt").stat().st_mode) == 0o640

    # Outgoing faxes no longer logged: the next fax adds an inbox line only.
    activity.log_outgoing = False
    activity.save()
    fax_to(server, "1002", two_pages)
    wait_until(lambda: len(rows(folder / "InboxLOG.txt")) == 2, "the second inbox line")
    assert len(rows(folder / "OutboxLOG.txt")) == 1
    activity.log_outgoing = True
    activity.database_path = ""
    activity.save()


def test_a_relative_activity_folder_is_refused(server: FaxServer) -> None:
    activity = server.logging_options.activity_logging
    activity.database_path = "logs"
    with pytest.raises(ConfigError, match="database_path: must be an absolute folder"):
        activity.save()


def outbound_lines(daemon: Daemon, job_id: str) -> list[str]:
    return [
        line for line in list(daemon.log) if "openfax.events.outbound" in line and job_id in line
    ]


def test_event_logging_levels_decide_what_the_service_logs(
    server: FaxServer, daemon: Daemon, two_pages: Path
) -> None:
    levels = server.logging_options.event_logging
    assert levels.outbound_events_level is LogLevel.MED
    levels.outbound_events_level = LogLevel.MAX
    levels.save()
    assert server.logging_options.event_logging.outbound_events_level is LogLevel.MAX

    def send() -> str:
        document = FaxDocument(body=two_pages)
        document.recipients.add("1002")
        (job_id,) = document.connected_submit(server)
        server.folders.outgoing_queue.get_job(job_id).wait()
        return job_id

    logged = send()
    # (A busy line on the way adds a warning; the fax's end is one information.)
    (line,) = wait_until(
        lambda: [line for line in outbound_lines(daemon, logged) if "COMPLETED" in line],
        "the outbound event",
    )
    assert "INFO openfax.events.outbound" in line
    assert "COMPLETED" in line

    # At none (as at medium) a completed fax, an information, is not logged.
    levels.outbound_events_level = LogLevel.NONE
    levels.save()
    quiet = send()
    # The line of a fax sent after ``quiet`` shows every line of ``quiet`` has been read.
    levels.outbound_events_level = LogLevel.MAX
    levels.save()
    marker = send()
    wait_until(lambda: outbound_lines(daemon, marker), "the marker's outbound event")
    assert outbound_lines(daemon, quiet) == []

    # Receptions are the inbound category: at max each fax received is logged.
    levels.outbound_events_level = LogLevel.MED
    levels.inbound_events_level = LogLevel.MAX
    levels.save()
    received = fax_to(server, "1002", two_pages)
    (line,) = wait_until(
        lambda: [
            line
            for line in list(daemon.log)
            if "openfax.events.inbound" in line and received in line
        ],
        "the inbound event",
    )
    assert "INFO" in line
    assert "2 pages" in line
    levels.inbound_events_level = LogLevel.MED
    levels.save()
