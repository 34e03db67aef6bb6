"""The COM-named adapter: names converted both ways, collections with 1-based ``Item`` and
``Count``, properties set and refused as COM does, errors with their FAXCOMEX HRESULTs, and
event sinks fed when events are pumped, against a real openfaxd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openfax import faxcomex
from openfax.errors import E_FAIL, E_INVALIDARG, GroupNotFoundError
from openfax.model import GroupStatus, JobStatus, RuleStatus
from tests.daemon import Daemon, running_paused
from tests.factories import make_pdf


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """openfaxd whose outgoing queue is paused: what is submitted stays queued."""
    with running_paused(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


@pytest.fixture
def server(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    fax = faxcomex.FaxServer()
    fax.Connect("")
    yield fax
    fax.Disconnect()


@pytest.mark.parametrize(
    ("com", "snake"),
    [
        ("OutgoingQueue", "outgoing_queue"),
        ("TSID", "tsid"),
        ("CSID", "csid"),
        ("DID", "did"),
        ("CallerId", "caller_id"),
        ("ConnectedSubmit", "connected_submit"),
        ("APIVersion", "api_version"),
        ("AtEOF", "at_eof"),
        ("ItemById", "item_by_id"),
        ("SMTPServer", "smtp_server"),
        ("DeviceIds", "device_ids"),
        ("UseDeviceTSID", "use_device_tsid"),
        ("ReAssign", "reassign"),
        ("WasReAssigned", "was_reassigned"),
        ("T38Policy", "t38_policy"),
    ],
)
def test_com_names_are_the_client_names(com: str, snake: str) -> None:
    assert faxcomex.snake_name(com) == snake
    assert faxcomex.com_name(snake) == com


def test_a_document_is_written_with_its_com_names(tmp_path: Path) -> None:
    document = faxcomex.Dispatch("FAXCOMEX.FaxDocument")
    document.Body = str(tmp_path / "letter.pdf")
    document.Sender.Name = "Ann Lee"
    document.Recipients.Add("1002", "Helen Carter")
    document.Recipients.Add("1003")
    assert document.Recipients.Count == 2
    assert document.Recipients.Item(1).Name == "Helen Carter"
    assert [r.FaxNumber for r in document.Recipients] == ["1002", "1003"]
    assert document.Sender.Name == "Ann Lee"
    assert "ConnectedSubmit" in dir(document)
    assert "Recipients" in dir(document)

    with pytest.raises(faxcomex.com_error) as unknown:
        document.Bdy = "typo.pdf"
    assert unknown.value.hresult == faxcomex.DISP_E_UNKNOWNNAME
    with pytest.raises(faxcomex.com_error) as past:
        document.Recipients.Item(3)
    assert past.value.hresult == E_INVALIDARG
    with pytest.raises(faxcomex.com_error) as unconnected:
        document.ConnectedSubmit(faxcomex.FaxServer())
    assert unconnected.value.hresult == E_FAIL
    with pytest.raises(faxcomex.com_error) as no_class:
        faxcomex.Dispatch("Word.Application")
    assert no_class.value.hresult == faxcomex.CO_E_CLASSSTRING


def test_collections_count_from_one_and_iterate(server: Any, tmp_path: Path) -> None:
    devices = server.GetDevices()
    assert devices.Count == 2
    assert devices.Item(2).DeviceName == "loopback line 1002"
    assert devices.Item("loopback line 1001").Id == devices.ItemById(1).Id == 1
    assert [d.Id for d in devices] == [d.Id for d in devices._NewEnum()] == [1, 2]

    document = faxcomex.FaxDocument()
    document.Body = str(make_pdf(tmp_path / "one.pdf", 1))
    for number in ("4001", "4002", "4003"):
        document.Recipients.Add(number)
    job_ids = document.ConnectedSubmit(server)
    assert isinstance(job_ids, tuple)
    assert len(job_ids) == 3
    jobs = server.Folders.OutgoingQueue.GetJobs()
    assert jobs.Count >= 3
    assert jobs.Item(job_ids[1]).Recipient.FaxNumber == "4002"
    queued = [job.Id for job in jobs]
    assert set(job_ids) <= set(queued)
    assert jobs.Item(queued.index(job_ids[2]) + 1).Id == job_ids[2]
    for job_id in job_ids:
        job = server.Folders.OutgoingQueue.GetJob(job_id)
        job.Cancel()
        assert job.Status == JobStatus.CANCELED


def test_properties_are_saved_and_read_only_ones_refused(server: Any) -> None:
    line = server.GetDevices().Item(2)
    line.Description = "front desk"
    line.Save()
    assert server.GetDevices().ItemById(2).Description == "front desk"
    with pytest.raises(faxcomex.com_error) as read_only:
        line.DeviceName = "renamed"
    assert read_only.value.hresult == faxcomex.DISP_E_MEMBERNOTFOUND
    with pytest.raises(faxcomex.com_error) as unknown:
        line.AnswerTheCall()
    assert unknown.value.hresult == faxcomex.DISP_E_UNKNOWNNAME


def test_outbound_routing_by_com_names_with_hresults_and_events(server: Any) -> None:
    class Sink:
        def __init__(self) -> None:
            self.changes: list[str] = []

        def OnOutboundRoutingGroupsConfigChange(self, fax: Any) -> None:
            assert fax is server
            self.changes.append("groups")

        def OnOutboundRoutingRulesConfigChange(self, fax: Any) -> None:
            self.changes.append("rules")

    sink = faxcomex.WithEvents(server, Sink)
    server.ListenToServerEvents(0x004)
    routing = server.OutboundRouting
    group = routing.GetGroups().Add("desk")
    group.DeviceIds.Add(2)
    group.DeviceIds.Add(1)
    group.DeviceIds.SetOrder(1, 1)
    assert list(routing.GetGroups().Item("desk").DeviceIds) == [1, 2]
    assert group.Status == GroupStatus.ALL_DEV_VALID
    rule = routing.GetRules().Add(44, 20, False, "desk", 0)
    assert (rule.Status, rule.GroupName, rule.UseDevice) == (RuleStatus.VALID, "desk", False)
    with pytest.raises(faxcomex.com_error) as missing:
        routing.GetRules().Add(44, 30, False, "nowhere", 0)
    assert missing.value.hresult == GroupNotFoundError.hresult == 0x80041B5A
    assert isinstance(missing.value.error, GroupNotFoundError)
    assert rule.T38Policy == "trunk"
    rule.T38Policy = "request"  # an OpenFax extension of the rule
    rule.Save()
    assert routing.GetRules().ItemByCountryAndArea(44, 20).T38Policy == "request"
    routing.GetRules().RemoveByCountryAndArea(44, 20)
    routing.GetGroups().Remove("desk")

    expected = ["groups"] * 4 + ["rules"] * 3 + ["groups"]
    while len(sink.changes) < len(expected):
        assert faxcomex.PumpWaitingMessages(timeout=30), "an event did not arrive"
    assert sink.changes == expected
    assert faxcomex.PumpWaitingMessages() == 0


def test_objects_the_client_gained_later_need_nothing_from_the_facade(server: Any) -> None:
    class Sink:
        def __init__(self) -> None:
            self.changed = 0

        def OnOutgoingQueueConfigChange(self, fax: Any) -> None:
            self.changed += 1

    sink = faxcomex.WithEvents(server, Sink)
    server.ListenToServerEvents(0x004)
    configuration = server.Configuration
    retries = configuration.Retries
    configuration.Retries = retries + 1
    configuration.UseDeviceTSID = True
    configuration.Save()
    assert (server.Configuration.Retries, server.Configuration.UseDeviceTSID) == (retries + 1, True)
    with pytest.raises(faxcomex.com_error) as read_only:
        configuration.ArchiveLocation = "/elsewhere"
    assert read_only.value.hresult == faxcomex.DISP_E_MEMBERNOTFOUND
    while not sink.changed:
        assert faxcomex.PumpWaitingMessages(timeout=30), "no configuration event arrived"


def test_dispatch_with_events_makes_a_server_that_is_its_own_sink(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    class QueueEvents:
        def __init__(self) -> None:
            self.switches: list[tuple[bool, bool, bool]] = []

        def OnQueuesStatusChange(
            self, fax: Any, outgoing_blocked: bool, outgoing_paused: bool, incoming_blocked: bool
        ) -> None:
            assert fax is self
            self.switches.append((outgoing_blocked, outgoing_paused, incoming_blocked))

    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    server = faxcomex.DispatchWithEvents("FaxComEx.FaxServer", QueueEvents)
    server.Connect("")
    server.ListenToServerEvents(0x010)
    queue = server.Folders.IncomingQueue
    queue.Blocked = True
    queue.Save()
    queue.Blocked = False
    queue.Save()
    while len(server.switches) < 2:
        assert faxcomex.PumpWaitingMessages(timeout=30), "no queue event arrived"
    assert server.switches == [(False, True, True), (False, True, False)]
    with pytest.raises(faxcomex.com_error) as read_only:
        server.ServerName = "elsewhere"
    assert read_only.value.hresult == faxcomex.DISP_E_MEMBERNOTFOUND
    server.Disconnect()
