"""Routing fixtures: one openfaxd per test module with quick routing retries (the shared
``server`` fixture connects to it), and a way to fax one page from one line to the other."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openfax.client import FaxDocument, FaxRoutingDelivery, FaxServer, ServerEvents
from tests.daemon import Daemon, running
from tests.factories import make_pdf
from tests.integration.service.conftest import clock, make_config, store_url  # noqa: F401 (the service's)
from tests.waiting import wait_until

WAIT = 60.0
ROUTING = {"routing_retries": 3, "routing_retry_delay_minutes": 0.002}
"""Three retries after 0.12, 0.24 and 0.48 seconds."""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running(tmp_path_factory.mktemp("openfaxd"), incoming=ROUTING) as started:
        yield started


@pytest.fixture(scope="module")
def one_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("docs") / "one.pdf", 1)


def fax_to(server: FaxServer, number: str, body: Path) -> str:
    """Send ``body`` to ``number`` and return the id of the fax that arrived there."""
    deadline = time.monotonic() + WAIT
    with server.iter_events(ServerEvents.IN_ARCHIVE, deadline=deadline) as events:
        document = FaxDocument(body=body, subject="routing test")
        document.recipients.add(number)
        document.connected_submit(server)
        for event in events:
            if event.name == "OnIncomingMessageAdded" and event.message_id:
                return event.message_id
    raise AssertionError("unreachable: the event stream ends only by TimeoutError")


def settled(server: FaxServer, message_id: str) -> list[FaxRoutingDelivery]:
    """The fax's deliveries once none is pending (done or failed for good)."""
    seen: list[FaxRoutingDelivery] = []

    def done() -> list[FaxRoutingDelivery] | None:
        seen[:] = server.inbound_routing.get_deliveries(message_id=message_id)
        return list(seen) if seen and all(d.status != "pending" for d in seen) else None

    return wait_until(done, lambda: f"the routing of {message_id} settles: {seen}", WAIT)


def use_only(server: FaxServer, device: str, *methods: str) -> None:
    """Make ``methods`` the only routing methods the line named ``device`` uses."""
    line = server.get_devices()[device]
    for guid in line.used_routing_methods:
        line.use_routing_method(guid, False)
    for guid in methods:
        line.use_routing_method(guid, True)
