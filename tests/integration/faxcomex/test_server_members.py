"""FAXCOMEX members that needed the service, used as a Windows script uses them, against a
real openfaxd: the queue's and archives' settings with a ``DATE``, ``ConnectedSubmit2``,
``OnServerActivityChange`` and ``OnServerShutDown`` reaching a sink before the daemon
is gone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from openfax import faxcomex
from openfax.model import AccountEvents, ServerEvents
from tests.daemon import Daemon, running
from tests.factories import make_pdf

WAIT = 60.0


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """openfaxd whose line 1002 only receives."""
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        with started.connected() as fax:
            receiver = fax.get_devices()["loopback line 1002"]
            receiver.send_enabled = False
            receiver.save()
        yield started


def connect(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    server = faxcomex.Dispatch("FaxComEx.FaxServer")
    server.Connect("")
    return server


def pump_until(done: Any, what: str) -> None:
    """Pump events until ``done()`` holds; fail after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not done():
        assert time.monotonic() < deadline, f"no {what} within {WAIT} s"
        faxcomex.PumpWaitingMessages(timeout=0.2)


def test_the_outgoing_queue_takes_a_com_date(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = connect(daemon, monkeypatch)
    queue = server.Folders.OutgoingQueue
    queue.DiscountRateStart = datetime(2026, 12, 6, 22, 30)  # what win32com gives for a DATE
    queue.Retries = 4
    queue.Save()
    queue.Refresh()
    assert (queue.DiscountRateStart.hour, queue.DiscountRateStart.minute, queue.Retries) == (
        22,
        30,
        4,
    )
    archive = server.Folders.OutgoingArchive
    archive.AgeLimit = 9
    archive.Save()
    assert server.Configuration.ArchiveAgeLimit == 9
    with pytest.raises(faxcomex.com_error) as refused:
        archive.ArchiveFolder = "C:\\Faxes"
    assert "spool_dir" in refused.value.strerror
    server.Disconnect()


def test_connected_submit2_and_the_activity_events(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class Sink:
        def __init__(self) -> None:
            self.activity: list[tuple[int, int, int, int]] = []

        def OnServerActivityChange(self, server: Any, *counts: int) -> None:
            self.activity.append(counts)

    server = connect(daemon, monkeypatch)
    sink = faxcomex.WithEvents(server, Sink)
    server.ListenToServerEvents(ServerEvents.ACTIVITY)
    document = faxcomex.Dispatch("FaxComEx.FaxDocument")
    document.Bodies = str(make_pdf(tmp_path / "one.pdf", 1))
    document.Recipients.Add("1002", "Helen")
    error_index, job_ids = document.ConnectedSubmit2(server)
    assert error_index == -1
    assert len(job_ids) == 1
    pump_until(lambda: any(counts[2] == 1 for counts in sink.activity), "fax being sent")
    pump_until(lambda: sink.activity[-1] == (0, 0, 0, 0), "quiet server after the fax")
    activity = server.Activity
    assert (activity.OutgoingMessages, activity.QueuedMessages) == (0, 0)
    server.Disconnect()


def test_server_shut_down_reaches_the_sink_before_the_daemon_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Sink:
        def __init__(self) -> None:
            self.ended = 0

        def OnServerShutDown(self, server: Any) -> None:
            self.ended += 1

    with running(tmp_path / "openfaxd") as daemon:
        server = connect(daemon, monkeypatch)
        sink = faxcomex.WithEvents(server, Sink)
        server.ListenToServerEvents(ServerEvents.FXSSVC_ENDED)
        assert daemon.stop() == 0
        pump_until(lambda: sink.ended, "OnServerShutDown")
        assert sink.ended == 1
        server.ListenToServerEvents(ServerEvents.NONE)


def test_the_default_sender_is_saved_and_loaded_as_on_windows(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    document = faxcomex.Dispatch("FaxComEx.FaxDocument")
    document.Sender.Name = "Bob Jones"
    document.Sender.BillingCode = "23A54"
    document.Sender.SaveDefaultSender()
    other = faxcomex.Dispatch("FaxComEx.FaxDocument")
    other.Sender.LoadDefaultSender()
    assert (other.Sender.Name, other.Sender.BillingCode, other.Sender.City) == (
        "Bob Jones",
        "23A54",
        "",
    )


def test_an_account_sink_hears_the_receive_folder_and_the_shut_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Sink:
        def __init__(self) -> None:
            self.added: list[tuple[str, bool]] = []
            self.ended: list[Any] = []

        def OnIncomingMessageAdded(self, account: Any, message_id: str, added: bool) -> None:
            self.added.append((message_id, added))

        def OnServerShutDown(self, server: Any) -> None:
            self.ended.append(server)

    with running(tmp_path / "openfaxd") as daemon:
        server = connect(daemon, monkeypatch)
        account = server.CurrentAccount
        sink = faxcomex.WithEvents(account, Sink)
        account.ListenToAccountEvents(AccountEvents.IN_ARCHIVE | AccountEvents.FXSSVC_ENDED)
        document = faxcomex.Dispatch("FaxComEx.FaxDocument")
        document.Body = str(make_pdf(tmp_path / "one.pdf", 1))
        document.Recipients.Add("1002")
        document.ConnectedSubmit(server)
        pump_until(lambda: sink.added, "OnIncomingMessageAdded")
        assert sink.added[0][1] is True, "fAddedToReceiveFolder: it arrived there"
        assert daemon.stop() == 0
        try:
            pump_until(lambda: sink.ended, "OnServerShutDown")
        except AssertionError:
            raise AssertionError("".join(daemon.log)) from None
        assert sink.ended[0].ServerName == server.ServerName, "the server, not the account"
        account.ListenToAccountEvents(AccountEvents.NONE)
