"""The hostile suite: each finding of the hardening review replayed against a real openfaxd,
as an attacker or an overloaded site would send it. Daemons here run under a memory limit
(``LIMIT_BYTES`` of private writable memory), so a test that finds memory unbounded fails
instead of taking the machine down; memory is read from ``/proc``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.daemon import Daemon, running

LIMIT_BYTES = 3 * 1024**3
"""The most private writable memory a hostile-suite daemon may take (RLIMIT_DATA)."""


@pytest.fixture
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A fresh openfaxd with its memory limited, for one test."""
    with running(tmp_path_factory.mktemp("openfaxd"), memory_limit=LIMIT_BYTES) as started:
        yield started
