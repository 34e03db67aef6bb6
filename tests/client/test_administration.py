"""The administration objects over the real API: ``server.configuration`` read, changed and
saved, its change events under their FAXCOMEX names, and its errors."""

from __future__ import annotations

import time
from datetime import time as time_of_day

import pytest

from openfax.client import FaxServer, ServerEvents
from openfax.errors import ConfigError


def test_the_configuration_is_changed_and_saved(server: FaxServer) -> None:
    configuration = server.configuration
    assert configuration.retries == 20, "the daemon's configuration file"
    assert configuration.archive_location.endswith("spool")
    configuration.retries = 4
    configuration.discount_rate_start = time_of_day(19, 30)
    configuration.save()
    assert (configuration.retries, configuration.discount_rate_start) == (4, time_of_day(19, 30))
    again = server.configuration
    assert again.retries == 4 and again.discount_rate_start == time_of_day(19, 30)
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
