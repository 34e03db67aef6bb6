"""FAXCOMEX members against a real openfaxd: the queue's
and archives' own settings (the server configuration's), ``ConnectedSubmit2``, the
versions of plug-ins, transmission times in ``FaxJobStatus``, the built-in ``generic``
cover page, the default sender kept per account, messages' writable fields, the security
descriptor, account events."""

from __future__ import annotations

import queue
import time
from datetime import datetime
from datetime import time as time_of_day
from pathlib import Path

import pytest

from openfax.client import FaxDocument, FaxSender, FaxServer, ServerEvent, ServerEvents
from openfax.client._connection import NotConnectedError
from openfax.errors import AccessDeniedError, AccountError, BodyError, ConfigError, FaxError
from openfax.model import AccountEvents, CoverPageType, JobStatus, ScheduleType
from tests.daemon import Daemon, running
from tests.waiting import wait_until

from .test_faxing import WAIT, document, send


def test_the_outgoing_queue_has_the_configuration_s_settings(server: FaxServer) -> None:
    queue = server.folders.outgoing_queue
    assert queue.retries == server.configuration.retries == 20
    queue.retries = 7
    queue.retry_delay = 3
    queue.discount_rate_start = datetime(1899, 12, 30, 21, 15)  # a COM DATE, as win32com's
    queue.discount_rate_end = "06:00"
    queue.age_limit = 12
    queue.branding = True
    queue.use_device_tsid = True
    queue.allow_personal_cover_pages = False
    assert queue.discount_rate_start == time_of_day(21, 15), "read back as a time of day"
    queue.save()
    saved = server.configuration
    assert (saved.retries, saved.retry_delay, saved.outgoing_queue_age_limit) == (7, 3, 12)
    assert (saved.discount_rate_start, saved.discount_rate_end) == (
        time_of_day(21, 15),
        time_of_day(6, 0),
    )
    assert saved.branding
    assert saved.use_device_tsid
    assert not saved.allow_personal_cover_pages
    again = server.folders.outgoing_queue
    again.retries = 1
    again.refresh()
    assert again.retries == 7, "refresh drops what was not saved"
    again.retries = -1
    with pytest.raises(ConfigError, match="retries"):
        again.save()
    again.refresh()
    again.retries, again.age_limit, again.allow_personal_cover_pages = 20, 0, True
    again.retry_delay = 0.01  # the daemon's: lines calling each other find them busy at times
    again.branding, again.use_device_tsid = False, False
    again.save()


def test_a_wrong_time_of_day_is_refused(server: FaxServer) -> None:
    queue = server.folders.outgoing_queue
    queue.discount_rate_start = [20, 0]
    with pytest.raises(TypeError, match="time of day"):
        queue.save()
    queue.refresh()
    queue.discount_rate_end = "half past eight"
    with pytest.raises(ValueError, match="half past eight"):
        queue.save()


def test_the_archives_have_their_settings_and_sizes(server: FaxServer, three_pages: Path) -> None:
    folders = server.folders
    sent, received = folders.outgoing_archive, folders.incoming_archive
    assert sent.use_archive
    assert received.use_archive
    assert sent.archive_folder == received.archive_folder == server.configuration.archive_location
    before = (sent.size_low, received.size_low)
    send(server, document(three_pages, "1002"))

    def grown() -> bool:
        received.refresh()
        return received.size_low != before[1]

    wait_until(grown, "the received fax is archived", WAIT)
    sent.refresh()
    assert sent.size_low > before[0]
    assert sent.size_high == received.size_high == 0
    configuration = server.configuration
    assert sent.size_low == configuration.outgoing_archive_size
    assert received.size_low == configuration.incoming_archive_size
    assert configuration.archive_size_low == configuration.archive_size
    assert configuration.archive_size == sent.size_low + received.size_low
    account = server.fax_account_set.add_account("sizes")
    assert account.folders.outgoing_archive.size == 0, "an account's archive: its faxes"
    server.fax_account_set.remove_account("sizes")

    sent.age_limit = 40
    received.age_limit = 50
    sent.size_quota_warning = True
    sent.high_quota_water_mark, sent.low_quota_water_mark = 900, 800
    sent.save()
    received.save()
    saved = server.configuration
    assert (saved.archive_age_limit, saved.incoming_archive_age_limit) == (40, 50)
    assert (saved.high_quota_water_mark, saved.low_quota_water_mark) == (900, 800)
    assert saved.size_quota_warning
    received.refresh()
    assert received.size_quota_warning
    assert received.high_quota_water_mark == 900

    with pytest.raises(ConfigError, match="spool_dir"):
        sent.archive_folder = "/tmp/elsewhere"
    received.use_archive = True
    with pytest.raises(ConfigError, match="always archived"):
        received.use_archive = False


def test_connected_submit2_gives_the_error_index_and_the_job_ids(
    server: FaxServer, three_pages: Path, tmp_path: Path
) -> None:
    fax = FaxDocument(bodies=f"{three_pages};{three_pages}")
    fax.recipients.add("1002")
    fax.recipients.add("1002")
    error_index, job_ids = fax.connected_submit2(server)
    assert error_index == -1
    assert len(job_ids) == 2
    assert fax.submission_id == server.folders.outgoing_queue.get_job(job_ids[0]).submission_id
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    fax = FaxDocument(bodies=[three_pages, bad])
    fax.recipients.add("1002")
    with pytest.raises(BodyError) as raised:
        fax.connected_submit2(server)
    assert raised.value.index == 1


def test_plug_ins_have_faxcomex_version_numbers(server: FaxServer) -> None:
    provider = server.get_device_providers()[1]
    numbers = [int(n) for n in provider.version.split(".")[:2]]
    assert [provider.major_version, provider.minor_version] == numbers
    assert provider.major_build >= 0
    assert provider.minor_build >= 0
    assert provider.debug is False
    extension = server.inbound_routing.get_extensions()[1]
    assert extension.major_version == int(extension.version.split(".")[0])
    assert extension.debug is False


def test_the_job_status_of_events_has_the_transmission_times(
    server: FaxServer, three_pages: Path
) -> None:
    deadline = time.monotonic() + WAIT
    with server.iter_events(ServerEvents.OUT_QUEUE, deadline=deadline) as events:
        (job_id,) = document(three_pages, "1002").connected_submit(server)
        statuses = []
        for event in events:
            if event.job_id == job_id and event.name == "OnOutgoingJobChanged":
                statuses.append(event.job_status)
                if event.job_status.status is JobStatus.COMPLETED:
                    break
    assert statuses[0].transmission_start is None or statuses[0].status is not JobStatus.PENDING
    done = statuses[-1]
    assert done.transmission_start is not None
    assert done.transmission_end is not None
    assert done.transmission_start <= done.transmission_end
    sent = server.folders.outgoing_archive.get_message(job_id)
    assert sent.transmission_end is not None


def test_the_generic_cover_page_is_built_in(server: FaxServer) -> None:
    assert "generic" in [page.name for page in server.get_cover_pages()]
    fax = FaxDocument(cover_page_type=CoverPageType.SERVER, cover_page="generic", subject="hi")
    fax.recipients.add("1002", "Helen")
    (job_id,) = send(server, fax)
    sent = server.folders.outgoing_archive.get_message(job_id)
    assert sent.pages == 1
    assert sent.has_cover_page


def test_the_default_sender_is_kept_per_account_on_the_server(
    server: FaxServer, daemon: Daemon
) -> None:
    mine = FaxSender(name="Helen Carter", company="Carter & Co", tsid="+1 555 0100", server=server)
    mine.save_default_sender()
    loaded = FaxSender(server=server)
    loaded.load_default_sender()
    assert (loaded.name, loaded.company, loaded.tsid, loaded.city) == (
        "Helen Carter",
        "Carter & Co",
        "+1 555 0100",
        "",
    )
    local = FaxDocument().sender  # no server: the local openfaxd ($OPENFAX_SOCKET)
    local.load_default_sender()
    assert local.name == "Helen Carter", "the same account: the caller's Unix user"
    with daemon.connected() as remote:  # another account: the token's holder
        theirs = FaxSender(server=remote)
        theirs.load_default_sender()
        assert theirs.name == ""
        theirs.name = "x" * 501
        with pytest.raises(FaxError, match="name: String should have at most 500"):
            theirs.save_default_sender()


def test_the_security_descriptor_shows_and_sets_the_grants(server: FaxServer) -> None:
    accounts = server.fax_account_set
    accounts.add_account("carol")
    security = server.security2
    text = security.descriptor
    assert text.startswith("O:SYG:SYD:(A;;0x3ff;;;BA)(A;;0x27;;;WD)"), text
    assert "carol" not in text, "carol holds the defaults"
    security.descriptor = text + "(A;;0x7f;;;carol)(A;;0x21;;;@faxusers)"
    security.save()
    assert accounts.get_account("carol").granted_rights == 0x7F
    assert security.get_grants()["groups"] == {"faxusers": 0x21}
    again = server.security2
    assert "(A;;0x7f;;;carol)(A;;0x3ff;;;robot)(A;;0x21;;;@faxusers)" in again.descriptor
    again.descriptor = text  # carol and the group left out
    again.save()
    assert accounts.get_account("carol").granted_rights is None, "back to the defaults"
    assert again.get_grants()["groups"] == {}

    with pytest.raises(AccountError, match="denies none"):
        again.descriptor = text + "(D;;0x1;;;carol)"
    again.descriptor = text.replace("0x27;;;WD", "0x3ff;;;WD")
    with pytest.raises(AccountError, match="default rights"):
        again.save()
    again.refresh()
    again.information_type = 0x4  # DACL_SECURITY_INFORMATION
    assert again.descriptor.startswith("D:(A;;0x3ff;;;BA)")

    legacy = server.security
    assert "(A;;0x7ff;;;BA)(A;;0x27;;;WD)" in legacy.descriptor, "FAX_ACCESS_RIGHTS_ENUM"
    with pytest.raises(AccountError, match="not whole rights"):
        legacy.descriptor = legacy.descriptor + "(A;;0x80;;;carol)"  # QUERY_IN_ARCHIVE alone
    accounts.remove_account("carol")


def test_message_fields_are_saved_and_reassign_takes_the_recipients(
    server: FaxServer, daemon: Daemon, three_pages: Path
) -> None:
    arrivals = server.folders.incoming_archive
    (job_id,) = send(server, document(three_pages, "1002"))
    received = wait_until(
        lambda: [m for m in arrivals.get_messages() if m.tsid and not m.read],
        "the received fax is archived",
        WAIT,
    )
    message = received[-1]
    message.read = True
    message.subject = "Invoice 42"
    message.sender_name = "ACME"
    message.has_cover_page = True
    message.save()
    again = arrivals.get_message(message.id)
    assert (again.read, again.subject, again.sender_name, again.has_cover_page) == (
        True,
        "Invoice 42",
        "ACME",
        True,
    )
    sent = server.folders.outgoing_archive.get_message(job_id)
    sent.read = True
    sent.save()
    assert server.folders.outgoing_archive.get_message(job_id).read

    server.fax_account_set.add_account("dave", password="dave's secret")
    try:
        dave = FaxServer()
        dave.connect(daemon.address, user="dave", password="dave's secret")
        theirs = dave.folders.incoming_archive.get_message(message.id)  # public faxes
        theirs.read = False
        theirs.save()
        theirs.subject = "mine now"
        with pytest.raises(AccessDeniedError, match="far2MANAGE_RECEIVE_FOLDER"):
            theirs.save()
        dave.disconnect()

        server.security2.save(incoming_faxes_are_public=False)
        message.refresh()
        message.recipients = "dave"
        message.subject = "for Dave"
        message.reassign()  # as ReAssign() takes no argument
        assert message.was_reassigned
        assert message.recipients == "dave"
        assert message.subject == "for Dave", "saved with the reassignment"
    finally:
        server.security2.save(incoming_faxes_are_public=True)
        server.fax_account_set.remove_account("dave")


def test_account_events_say_whether_the_receive_folder_changed(
    server: FaxServer, three_pages: Path
) -> None:
    account = server.current_account
    heard: queue.Queue[ServerEvent] = queue.Queue()
    account.add_event_handler(lambda _, event: heard.put(event))
    account.listen_to_account_events(AccountEvents.IN_ARCHIVE)
    try:
        send(server, document(three_pages, "1002"))
        added = heard.get(timeout=WAIT)
        assert added.name == "OnIncomingMessageAdded"
        assert added.data["added_to_receive_folder"] is True
        server.folders.incoming_archive.get_message(added.message_id or "").delete()
        removed = heard.get(timeout=WAIT)
        # An earlier test's fax may still be arriving: its sender is archived before the
        # receiver, so its OnIncomingMessageAdded can come in between.
        while removed.name == "OnIncomingMessageAdded":
            removed = heard.get(timeout=WAIT)
        assert removed.name == "OnIncomingMessageRemoved"
        assert removed.message_id == added.message_id
        assert removed.data["removed_from_receive_folder"] is True
    finally:
        account.listen_to_account_events(AccountEvents.NONE)


def test_an_account_hears_the_server_shut_down_before_it_is_gone(tmp_path: Path) -> None:
    with running(tmp_path / "openfaxd") as daemon, daemon.connected() as fax:
        account = fax.current_account
        heard: queue.Queue[str] = queue.Queue()
        account.add_event_handler(lambda _, event: heard.put(event.name))
        account.listen_to_account_events(AccountEvents.FXSSVC_ENDED)
        assert daemon.stop() == 0
        assert heard.get(timeout=WAIT) == "OnServerShutDown"
        account.listen_to_account_events(AccountEvents.NONE)


def test_setting_a_switch_keeps_the_settings_changed_before_it(server: FaxServer) -> None:
    queue = server.folders.outgoing_queue
    queue.age_limit = 2
    queue.allow_personal_cover_pages = False
    queue.blocked = False  # the first switch looked at: the switches are read now
    queue.save()
    saved = server.configuration
    assert saved.outgoing_queue_age_limit == 2
    assert not saved.allow_personal_cover_pages
    queue.age_limit, queue.allow_personal_cover_pages = 0, True
    queue.save()


def test_the_activity_is_taken_before_connecting_and_read_after(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    fax = FaxServer()
    activity = fax.activity  # as Microsoft's 'Monitoring Fax Activity' does
    with pytest.raises(NotConnectedError):
        activity.refresh()
    fax.connect("")
    activity.refresh()
    assert activity.queued_messages >= 0
    assert activity.outgoing_messages >= 0
    fax.disconnect()


def test_a_schedule_time_that_has_passed_sends_at_once(
    server: FaxServer, three_pages: Path
) -> None:
    fax = document(three_pages, "1002")
    fax.schedule_type = ScheduleType.SPECIFIC_TIME
    fax.schedule_time = datetime(1899, 12, 30, 16, 35, 47)  # VB's CDate("4:35:47 PM")
    (job_id,) = send(server, fax)
    assert server.folders.outgoing_archive.get_message(job_id).pages == 3
