"""The hostile suite's own harness: a memory-limited daemon serves, and its memory is read."""

from __future__ import annotations

from tests.daemon import Daemon
from tests.integration.hostile.conftest import LIMIT_BYTES


def test_a_limited_daemon_serves_and_its_memory_is_read(daemon: Daemon) -> None:
    with daemon.connected() as server:
        assert server.get_devices()
    assert 0 < daemon.rss() <= daemon.peak_rss() < LIMIT_BYTES
