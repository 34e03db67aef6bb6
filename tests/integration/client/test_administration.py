"""The administration objects over the real API: ``server.configuration`` read, changed and
saved, its change events under their FAXCOMEX names, and its errors; the audit trail with
the callers' names."""

from __future__ import annotations

import json
import os
import pwd
import time
from datetime import time as time_of_day
from pathlib import Path

import pytest

from openfax.client import FaxDocument, FaxServer, ServerEvents
from openfax.errors import ConfigError, SubmissionError
from openfax.model import CoverPageType
from tests.daemon import TOKEN_HOLDER, Daemon


def test_the_configuration_is_changed_and_saved(server: FaxServer) -> None:
    configuration = server.configuration
    assert configuration.retries == 20, "the daemon's configuration file"
    assert configuration.archive_location.endswith("spool")
    configuration.retries = 4
    configuration.discount_rate_start = time_of_day(19, 30)
    configuration.save()
    assert (configuration.retries, configuration.discount_rate_start) == (4, time_of_day(19, 30))
    again = server.configuration
    assert again.retries == 4
    assert again.discount_rate_start == time_of_day(19, 30)
    again.retries = 9
    again.refresh()
    assert again.retries == 4, "refresh drops what was not saved"


def test_a_wrong_property_is_refused_with_its_name(server: FaxServer) -> None:
    configuration = server.configuration
    configuration.high_quota_water_mark = -5
    with pytest.raises(ConfigError, match="high_quota_water_mark"):
        configuration.save()
    assert server.configuration.high_quota_water_mark == 1024


def test_changes_arrive_as_their_faxcomex_events(server: FaxServer) -> None:
    deadline = time.monotonic() + 30
    with server.iter_events(
        ServerEvents.CONFIG | ServerEvents.QUEUE_STATE, deadline=deadline
    ) as events:
        configuration = server.configuration
        configuration.branding = False
        configuration.archive_age_limit = 30
        configuration.incoming_archive_age_limit = 60
        configuration.outgoing_queue_blocked = True
        configuration.save()
        names = [next(events).name for _ in range(4)]
    assert names == [
        "OnIncomingArchiveConfigChange",
        "OnOutgoingArchiveConfigChange",
        "OnOutgoingQueueConfigChange",
        "OnQueuesStatusChange",
    ]
    assert server.folders.outgoing_queue.blocked
    configuration.outgoing_queue_blocked = False
    configuration.save()
    assert not server.folders.outgoing_queue.blocked


def test_the_audit_trail_names_each_caller(
    server: FaxServer, daemon: Daemon, three_pages: Path, tmp_path: Path
) -> None:
    local_user = pwd.getpwuid(os.getuid()).pw_name
    earlier = server.get_audit(limit=1000)
    last = earlier[len(earlier)].seq if len(earlier) else 0
    with daemon.connected() as remote:
        document = FaxDocument(body=three_pages, subject="audited")
        document.recipients.add("1002")
        (job_id,) = document.connected_submit(remote)
        remote.folders.outgoing_queue.get_job(job_id).wait(timeout=60)
        message = remote.folders.outgoing_archive.get_message(job_id)
        message.copy_tiff(tmp_path / "copy.tif")
    configuration = server.configuration
    configuration.retries = 5
    configuration.save()
    trail = [(e.actor, e.action, e.object_id) for e in server.get_audit(after=last)]
    submission = trail[0][2]
    assert trail == [
        (TOKEN_HOLDER, "submitted", submission),
        (TOKEN_HOLDER, "viewed", job_id),
        (TOKEN_HOLDER, "downloaded", job_id),
        (local_user, "config_changed", "configuration"),
    ]
    assert server.get_audit(after=last)[1].details == {"job_ids": [job_id]}


def test_a_personal_cover_page_is_uploaded_never_named_by_path(
    server: FaxServer, daemon: Daemon
) -> None:
    readable = daemon.config  # a file the daemon can read, and must not fax
    document = {
        "recipients": [{"fax_number": "1002"}],
        "cover_page_type": int(CoverPageType.LOCAL),
        "cover_page": str(readable),
    }
    queued = server.folders.outgoing_queue.get_jobs().count
    with pytest.raises(SubmissionError, match="cover_page_file"):
        server._connected.post("/submissions", fields={"document": json.dumps(document)})
    assert server.folders.outgoing_queue.get_jobs().count == queued, "nothing queued"
