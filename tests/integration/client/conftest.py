"""Client fixtures: one openfaxd per test module, and a FaxServer connected to it locally."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openfax.client import FaxServer
from tests.daemon import Daemon, running
from tests.factories import make_pdf


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """openfaxd whose line 1 (1001) sends and line 2 (1002) only receives."""
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        with started.connected() as fax:
            receiver = fax.get_devices()["loopback line 1002"]
            receiver.send_enabled = False
            receiver.save()
        yield started


@pytest.fixture
def server(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaxServer]:
    """A FaxServer connected over the daemon's Unix socket."""
    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    with FaxServer() as fax:
        fax.connect()
        yield fax


@pytest.fixture(scope="module")
def three_pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("docs") / "three.pdf", 3)
