"""Two real openfaxd instances fax each other over SIP on 127.0.0.1: T.38 and G.711, both
directions, pages pixel-identical with the document's rendering; T.38 with redundancy
through a relay that drops 5 % and 10 % of the media datagrams; and an outbound routing
rule's T.38 policy overriding the trunks'."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from openfax.client import FaxDocument, FaxServer, ServerEvents
from openfax.documents import read_fax_tiff, render_documents
from openfax.model import JobStatus
from tests.daemon import Daemon, running
from tests.dnsserver import DnsServer
from tests.factories import make_pdf
from tests.integration.api.test_operations import scrape, value
from tests.integration.providers.test_sip import free_port
from tests.relay import LossyRelay
from tests.waiting import wait_until

WAIT = 180.0
NUMBERS = ("5550101", "5550202")
MEDIA_PORTS = 4
"""Ports of each daemon's media range: one call at a time takes two."""


def free_range(size: int) -> tuple[int, int]:
    """A run of ``size`` ports starting at a free one (a race with other tests is unlikely)."""
    first = free_port()
    return first, first + size - 1


@contextmanager
def two_daemons(
    tmp_path: Path,
    t38: str | tuple[str, str],
    advertised: tuple[str, str] = ("", ""),
    dns: DnsServer | None = None,
) -> Iterator[tuple[Daemon, Daemon, list[tuple[int, int]]]]:
    """Daemons A (5550101) and B (5550202) whose one SIP trunk points at the other; ``t38``
    is both trunks' T.38 policy, or A's and B's. With ``dns``, the trunks are TCP and each
    names the other ``node-N.test`` (N: 0 for A, 1 for B), located through that DNS server
    by SRV records whose first-priority target refuses connections: every call fails over
    to the second, the daemon itself."""
    policies = (t38, t38) if isinstance(t38, str) else t38
    sip_ports = free_port(), free_port()
    media = [free_range(MEDIA_PORTS), free_range(MEDIA_PORTS)]
    with ExitStack() as stack:
        daemons = []
        for me, other in ((0, 1), (1, 0)):
            peer = {"host": "127.0.0.1", "port": sip_ports[other]}
            sip: dict[str, Any] = {}
            if dns is not None:
                name = f"node-{other}.test"
                srv = (f"10 10 {free_port()} down.{name}.", f"20 10 {sip_ports[other]} up.{name}.")
                dns.add(f"_sip._tcp.{name}", "SRV", *srv)
                dns.add(f"down.{name}", "A", "127.0.0.1")
                dns.add(f"up.{name}", "A", "127.0.0.1")
                peer = {"host": name, "transport": "tcp"}
                sip["dns_servers"] = [dns.address]
            trunk: dict[str, Any] = {
                "name": "peer",
                **peer,
                "local_address": "127.0.0.1",
                "local_port": sip_ports[me],
                "numbers": [NUMBERS[me]],
                "t38": policies[me],
                "t38_paced": False,
                "jitter_delay": 0.3,
                "media_ports": f"{media[me][0]}-{media[me][1]}",
                "ring_seconds": 0.2,
            }
            if advertised[me]:
                trunk["advertised_address"] = advertised[me]
            daemons.append(
                stack.enter_context(
                    running(
                        tmp_path / f"node-{me}",
                        loopback={"lines": 0},
                        sip={**sip, "trunks": [trunk]},
                        # A failed call would be retried minutes later, past WAIT: the
                        # job fails at once instead, and the test with the call's cause.
                        outgoing={"retries": 0},
                    )
                )
            )
        yield daemons[0], daemons[1], media


def fax(sender: Daemon, receiver: Daemon, body: Path, number: str, tmp_path: Path) -> str:
    """Send ``body`` from one daemon to the other; check that it arrived pixel-identical and
    return the outcome's text (which says T.38 or G.711)."""
    with FaxServer() as source, FaxServer() as target:
        source.connect(sender.address, token=sender.token)
        target.connect(receiver.address, token=receiver.token)
        deadline = time.monotonic() + WAIT
        with target.iter_events(ServerEvents.IN_ARCHIVE, deadline=deadline) as arrivals:
            document = FaxDocument(body=body, subject="over SIP")
            document.recipients.add(number)
            (job_id,) = document.connected_submit(source)
            job = source.folders.outgoing_queue.get_job(job_id)
            job.wait(timeout=WAIT)
            logs = "".join([*sender.log, *receiver.log])
            assert job.status is JobStatus.COMPLETED, (job.extended_status, logs[-4000:])
            detail = job.extended_status
            for event in arrivals:
                if event.name == "OnIncomingMessageAdded" and event.message_id:
                    message_id = event.message_id
                    break
        message = target.folders.incoming_archive.get_message(message_id)
        assert not message.partial
        assert message.routing_information == number
        received = tmp_path / f"{message_id}.tif"
        message.copy_tiff(received)
        expected = [np.asarray(page.image) for page in render_documents([body])]
        got = [np.asarray(page.image) for page in read_fax_tiff(received)]
        assert len(got) == len(expected) == message.pages
        assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))
        return detail


@pytest.mark.parametrize(("t38", "over"), [("request", "T.38"), ("off", "G.711")])
def test_two_daemons_fax_each_other_both_ways(tmp_path: Path, t38: str, over: str) -> None:
    body = make_pdf(tmp_path / "one.pdf", 1)
    with two_daemons(tmp_path, t38) as (a, b, _):
        there = fax(a, b, body, NUMBERS[1], tmp_path)
        back = fax(b, a, body, NUMBERS[0], tmp_path)
        media = "t38" if over == "T.38" else "g711"
        for daemon in (a, b):
            # Each node counts its own two calls, one each way, by their media.
            wait_until(partial(counted_both_ways, daemon, media), f"both calls over {over}")
    assert over in there, (there, back)
    assert over in back, (there, back)


def counted_both_ways(daemon: Daemon, media: str) -> bool:
    """Whether the daemon's /metrics count one call each way that went over ``media``."""
    with httpx.Client(base_url=f"http://{daemon.address}", timeout=60) as client:
        samples = scrape(client)
    return all(
        value(samples, "openfax_network_fax_calls_total", direction=direction, media=media) == 1
        for direction in ("outgoing", "incoming")
    )


class RelayThread:
    """A lossy relay on its own event loop in a thread: for each port of a daemon's media
    range, a socket on the advertised address forwarding to the daemon's 127.0.0.1."""

    def __init__(self, loss: float, seed: int) -> None:
        self.relay = LossyRelay(loss, seed)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self, ranges: list[tuple[str, tuple[int, int]]]) -> None:
        self.thread.start()

        async def bind() -> None:
            for address, (first, last) in ranges:
                for port in range(first, last + 1):
                    await self.relay.forward(("127.0.0.1", port), (address, port))

        asyncio.run_coroutine_threadsafe(bind(), self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.relay.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.mark.parametrize("loss", [0.05, 0.10])
def test_t38_completes_between_daemons_through_a_lossy_relay(tmp_path: Path, loss: float) -> None:
    """Each daemon writes a relay address (127.0.0.2, 127.0.0.3) in its SDP: every media
    datagram crosses the relay, which drops ``loss`` of them."""
    body = make_pdf(tmp_path / "two.pdf", 2)
    relay = RelayThread(loss, seed=11)
    advertised = ("127.0.0.2", "127.0.0.3")
    with two_daemons(tmp_path, "request", advertised) as (a, b, media):
        relay.start(list(zip(advertised, media, strict=True)))
        try:
            over = fax(a, b, body, NUMBERS[1], tmp_path)
        finally:
            relay.stop()
    assert "T.38" in over
    counts = relay.relay.counts
    assert counts.dropped > 0
    assert counts.forwarded > 10 * counts.dropped * loss


def set_default_rule_t38(daemon: Daemon, policy: str) -> None:
    """Give the daemon's default outbound routing rule (every number here) a T.38 policy."""
    with FaxServer() as server:
        server.connect(daemon.address, token=daemon.token)
        rule = server.outbound_routing.get_rules().item_by_country_and_area(0, 0)
        rule.t38_policy = policy
        rule.save()
        assert server.outbound_routing.rule_for(NUMBERS[1]).t38_policy == policy


@pytest.mark.parametrize(
    ("trunks", "rule", "over", "logger", "logged"),
    [
        # Both trunks only accept T.38, so the call would stay in G.711; A's rule asks for it.
        ("accept", "request", "T.38", 0, "T.38 policy request (the outbound rule's; the "),
        # Both trunks request T.38; A's rule says off: A offers G.711 only and answers B's
        # re-INVITE to T.38 with 488.
        ("request", "off", "G.711", 1, "T.38 refused (488"),
    ],
)
def test_an_outbound_rules_t38_policy_overrides_the_trunks(
    tmp_path: Path, trunks: str, rule: str, over: str, logger: int, logged: str
) -> None:
    body = make_pdf(tmp_path / "one.pdf", 1)
    with two_daemons(tmp_path, trunks) as (a, b, _):
        set_default_rule_t38(a, rule)
        detail = fax(a, b, body, NUMBERS[1], tmp_path)
        log = "".join((a, b)[logger].log)
    assert f"over {over}" in detail, detail
    assert logged in log, log[-2000:]
