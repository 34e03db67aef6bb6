"""What a pywin32 script meets, with only its imports changed: ``win32com.client``,
``pythoncom`` and ``pywintypes`` from ``openfax.faxcomex``, the type library's constants,
versioned ProgIDs, collections called with an index, a com_error for every failure (a
missing body file, a job id that is no id, a datetime where FAXCOMEX takes a DATE), E_NOTIMPL
for the TAPI members, and a DispatchWithEvents sink that handles only some events; against a
real openfaxd."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

import pytest

from openfax import faxcomex
from openfax.errors import E_INVALIDARG, ERROR_FILE_NOT_FOUND, MessageNotFoundError
from openfax.faxcomex import (
    DISP_E_BADPARAMCOUNT,
    DISP_E_TYPEMISMATCH,
    E_NOTIMPL,
    pythoncom,
    pywintypes,
    win32com,
)
from openfax.faxcomex.win32com.client import constants
from openfax.model import JobStatus, Priority, ServerEvents
from tests.daemon import Daemon, running_paused
from tests.factories import make_pdf
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """openfaxd whose outgoing queue is paused: what is submitted stays queued."""
    with running_paused(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


@pytest.fixture
def server(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    fax = win32com.client.Dispatch("FaxComEx.FaxServer.1")
    fax.Connect("")
    yield fax
    fax.Disconnect()


def test_constants_are_the_type_librarys_with_the_windows_values() -> None:
    assert (constants.fptHIGH, constants.fptNORMAL, constants.fptLOW) == (2, 1, 0)
    assert (constants.frtNONE, constants.frtMAIL, constants.frtMSGBOX) == (0, 1, 4)
    assert (constants.fcptNONE, constants.fcptLOCAL, constants.fcptSERVER) == (0, 1, 2)
    assert (constants.fjsINPROGRESS, constants.fjsROUTING) == (0x002, 0x800)
    assert constants.fjesPROPRIETARY == 0x01000000
    assert constants.far2MANAGE_RECEIVE_FOLDER == 0x200
    assert constants.farMANAGE_OUT_ARCHIVE == 0x400
    assert (constants.fsatANONYMOUS, constants.fsatBASIC, constants.fsatNTLM) == (0, 1, 2)
    assert constants.fsAPI_VERSION_3 == 0x30000
    assert constants.frrcANY_CODE == 0
    assert constants.fsetOUT_QUEUE | constants.fsetIN_QUEUE == ServerEvents(3)
    assert constants.faetFXSSVC_ENDED == 0x10
    assert constants.fdrmMANUAL_ANSWER == 2
    assert constants.lDEFAULT_PREFETCH_SIZE == 100
    assert constants.bstrGROUPNAME_ALLDEVICES == "<All Devices>"
    assert constants.fptHIGH is Priority.HIGH  # the model's member, no number written twice
    with pytest.raises(AttributeError):
        _ = constants.fptURGENT
    # All twenty enumerations, every member: 11 + 10 + 6 + 3 + 3 + 4 + 21 + 7 + 11 + 3 + 4
    # + 3 + 7 + 3 + 1 + 5 + 3 + 4 + 11 + 3, and the two module constants.
    assert len(dir(constants)) == 123 + 2


def test_creatable_classes_by_progid_version_and_clsid() -> None:
    for prog_id in (
        "FaxComEx.FaxDocument",
        "FaxComEx.FaxDocument.1",
        "FAXCOMEX.FAXDOCUMENT.1",
        "{0F3F9F91-C838-415E-A4F3-3E828CA445E0}",
    ):
        assert win32com.client.Dispatch(prog_id).Recipients.Count == 0
    assert win32com.client.gencache.EnsureDispatch("FaxComEx.FaxDocument.1").Body is None
    with pytest.raises(pywintypes.com_error):
        win32com.client.Dispatch("FaxComEx.FaxServer.2")


def test_collections_are_called_with_an_index_or_a_key(server: Any, tmp_path: Path) -> None:
    devices = server.GetDevices()
    assert devices(1).Id == devices.Item(1).Id == 1
    assert devices("loopback line 1002").Id == 2
    assert bool(server.OutboundRouting.GetGroups()) is True
    document = win32com.client.Dispatch("FaxComEx.FaxDocument")
    document.Body = str(make_pdf(tmp_path / "one.pdf", 1))
    document.Recipients.Add("5001", "Ann Lee")
    assert document.Recipients(1).Name == "Ann Lee"
    (job_id,) = document.ConnectedSubmit(server)
    jobs = server.Folders.OutgoingQueue.GetJobs()
    assert jobs(job_id).Recipient.FaxNumber == "5001"
    with pytest.raises(pywintypes.com_error) as past:
        jobs(jobs.Count + 1)
    assert past.value.hresult == E_INVALIDARG
    jobs(job_id).Cancel()


def test_every_failure_is_a_com_error(server: Any, tmp_path: Path) -> None:
    document = win32com.client.Dispatch("FaxComEx.FaxDocument")
    document.Body = str(tmp_path / "missing.pdf")
    document.Recipients.Add("5002")
    with pytest.raises(pywintypes.com_error) as missing:
        document.ConnectedSubmit(server)
    assert missing.value.hresult == ERROR_FILE_NOT_FOUND == 0x80070002
    assert "missing.pdf" in missing.value.strerror
    assert isinstance(missing.value.error, FileNotFoundError)

    queue = server.Folders.OutgoingQueue
    for bad in ("My Fax Job", "a/b", "../server", "?x=1"):
        with pytest.raises(pywintypes.com_error) as not_an_id:
            queue.GetJob(bad)
        assert not_an_id.value.hresult == E_INVALIDARG, bad
        assert "not a fax id" in not_an_id.value.strerror
    with pytest.raises(pythoncom.com_error) as unknown:
        queue.GetJob("0123456789abcdef")
    assert unknown.value.hresult == MessageNotFoundError.hresult
    with pytest.raises(pywintypes.com_error) as archived:
        server.Folders.IncomingArchive.GetMessage("My Fax")
    assert archived.value.hresult == E_INVALIDARG

    with pytest.raises(pywintypes.com_error) as count:
        queue.GetJob()
    assert count.value.hresult == DISP_E_BADPARAMCOUNT

    configuration = server.Configuration
    configuration.DiscountRateStart = 17  # neither a DATE nor a time
    with pytest.raises(pywintypes.com_error) as typed:
        configuration.Save()
    assert typed.value.hresult == DISP_E_TYPEMISMATCH


def test_a_discount_rate_is_set_from_a_datetime_as_from_a_com_date(server: Any) -> None:
    configuration = server.Configuration
    configuration.DiscountRateStart = datetime(1899, 12, 30, 20, 15)
    configuration.DiscountRateEnd = pywintypes.Time(datetime(2026, 1, 1, 6, 45))
    configuration.Save()
    saved = server.Configuration
    assert (saved.DiscountRateStart, saved.DiscountRateEnd) == (
        time_of_day(20, 15),
        time_of_day(6, 45),
    )


def test_the_tapi_members_are_there_and_say_why_they_do_nothing() -> None:
    document = win32com.client.Dispatch("FaxComEx.FaxDocument")
    assert {"CallHandle", "TapiConnection"} <= set(dir(document))
    for name in ("CallHandle", "TapiConnection"):
        with pytest.raises(pywintypes.com_error) as read:
            getattr(document, name)
        assert read.value.hresult == E_NOTIMPL
        assert "TAPI" in read.value.strerror
    with pytest.raises(pywintypes.com_error) as written:
        document.CallHandle = 7
    assert written.value.hresult == E_NOTIMPL


def test_dispatch_with_events_skips_the_events_its_sink_does_not_handle(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class OutgoingEvents:
        def __init__(self) -> None:
            self.added: list[str] = []

        def OnOutgoingJobAdded(self, fax: Any, job_id: str) -> None:
            self.added.append(job_id)

    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    server = win32com.client.DispatchWithEvents("FaxComEx.FaxServer.1", OutgoingEvents)
    server.Connect("")
    assert not hasattr(server, "OnOutgoingJobChanged")
    server.ListenToServerEvents(constants.fsetOUT_QUEUE | constants.fsetCONFIG)
    document = win32com.client.Dispatch("FaxComEx.FaxDocument")
    document.Body = str(make_pdf(tmp_path / "one.pdf", 1))
    document.Recipients.Add("5003")
    (job_id,) = document.ConnectedSubmit(server)
    job = server.Folders.OutgoingQueue.GetJob(job_id)
    job.Cancel()  # OnOutgoingJobChanged and OnOutgoingJobRemoved: not handled
    assert job.Status == JobStatus.CANCELED
    configuration = server.Configuration
    configuration.Retries = configuration.Retries  # OnOutgoingQueueConfigChange: neither
    configuration.Save()
    delivered = 0
    while not server.added or delivered < 3:
        count = faxcomex.PumpWaitingMessages(timeout=30)
        assert count, "no event arrived"
        delivered += count
    assert server.added == [job_id]
    assert pythoncom.PumpWaitingMessages() == 0
    server.ListenToServerEvents(constants.fsetNONE)
    server.Disconnect()


def test_account_events_reach_a_sink_through_the_facade(server: Any, tmp_path: Path) -> None:
    class AccountEvents:
        def __init__(self) -> None:
            self.seen: list[tuple[str, str, int]] = []

        def OnOutgoingJobAdded(self, account: Any, job_id: str) -> None:
            self.seen.append((account.AccountName, job_id, 0))

        def OnOutgoingJobChanged(self, account: Any, job_id: str, job_status: Any) -> None:
            self.seen.append((account.AccountName, job_id, job_status.Status))

    account = server.CurrentAccount
    sink = win32com.client.WithEvents(account, AccountEvents)
    account.ListenToAccountEvents(constants.faetOUT_QUEUE)
    assert account.RegisteredEvents == constants.faetOUT_QUEUE
    document = win32com.client.Dispatch("FaxComEx.FaxDocument")
    document.Body = str(make_pdf(tmp_path / "one.pdf", 1))
    document.Recipients.Add("5004")
    (job_id,) = document.ConnectedSubmit(server)
    server.Folders.OutgoingQueue.GetJob(job_id).Cancel()
    name = account.AccountName
    while (name, job_id, JobStatus.CANCELED) not in sink.seen:
        assert faxcomex.PumpWaitingMessages(timeout=30), "no account event arrived"
    assert sink.seen[0] == (name, job_id, 0)
    account.ListenToAccountEvents(constants.faetNONE)


def test_the_configurations_account_settings_and_an_iterators_prefetch(server: Any) -> None:
    configuration = server.Configuration
    public = configuration.IncomingFaxesArePublic
    assert public == server.Security2.IncomingFaxesArePublic
    configuration.IncomingFaxesArePublic = not public
    assert configuration.IncomingFaxesArePublic is (not public)  # not saved yet
    assert server.Configuration.IncomingFaxesArePublic is public
    configuration.Save()
    assert server.Security2.IncomingFaxesArePublic is (not public)
    configuration.IncomingFaxesArePublic = public
    configuration.Save()
    assert isinstance(server.Configuration.AutoCreateAccountOnConnect, bool)

    iterator = server.Folders.OutgoingArchive.GetMessages(5)
    assert iterator.PrefetchSize == 5
    iterator.PrefetchSize = constants.lDEFAULT_PREFETCH_SIZE
    iterator.MoveFirst()
    assert iterator.PrefetchSize == 100
    assert iterator.AtEOF


def test_events_a_script_does_not_pump_are_kept_up_to_a_limit(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Counter:
        def __init__(self) -> None:
            self.events = 0

        def OnOutgoingJobAdded(self, fax: Any, job_id: str) -> None:
            self.events += 1

    faxcomex.PumpWaitingMessages()  # what earlier tests left
    monkeypatch.setattr(faxcomex, "MAX_PENDING", 2)
    sink = win32com.client.WithEvents(server, Counter)
    server.ListenToServerEvents(constants.fsetOUT_QUEUE)
    document = win32com.client.Dispatch("FaxComEx.FaxDocument")
    document.Body = str(make_pdf(tmp_path / "one.pdf", 1))
    for number in ("5101", "5102", "5103"):
        document.Recipients.Add(number)
    job_ids = document.ConnectedSubmit(server)  # three added, then their changes
    wait_until(lambda: "are dropped" in caplog.text, "the third event comes and is dropped", 30)
    assert faxcomex.PumpWaitingMessages() == 2
    assert sink.events == 2
    server.ListenToServerEvents(constants.fsetNONE)
    for job_id in job_ids:
        server.Folders.OutgoingQueue.GetJob(job_id).Cancel()
