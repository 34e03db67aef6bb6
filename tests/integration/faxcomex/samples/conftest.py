"""One openfaxd for the samples (three loopback lines: 1001 sends, 1002 and 1003 only
receive), found by ``Connect("")`` through ``OPENFAX_SOCKET``; each sample runs in its own
empty folder, as a script started there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openfax.client import FaxDocument, FaxServer, ServerEvents
from tests.daemon import Daemon
from tests.factories import make_pdf
from tests.integration.faxcomex.conftest import one_sender_two_receivers

WAIT = 60.0
"""Seconds a sample's test waits for a fax or an event before it fails."""


@pytest.fixture(scope="package")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with one_sender_two_receivers(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


@pytest.fixture
def local(daemon: Daemon, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The samples' ``Connect("")`` reaches ``daemon``; they run in ``tmp_path``."""
    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def receive(server: FaxServer, folder: Path, number: str, pages: int) -> str:
    """Line 1001 faxes ``pages`` pages to ``number``; the id of the message once it is in
    the incoming archive (OnIncomingMessageAdded)."""
    fax = FaxDocument(body=make_pdf(folder / "received.pdf", pages))
    fax.recipients.add(number)
    deadline = time.monotonic() + WAIT
    with server.iter_events(ServerEvents.IN_ARCHIVE, deadline=deadline) as events:
        fax.connected_submit(server)
        for event in events:
            if event.name == "OnIncomingMessageAdded":
                message_id: str = event.data["message_id"]
                return message_id
    raise AssertionError("the event stream ended before the fax arrived")
