"""RFC 3263 in the user agent: a trunk named by DNS (a real DNS server on 127.0.0.1, the
``nameserver`` fixture) whose SRV records name SIPp instances, the first-priority one
silent, refusing connections or answering 503. The REGISTER or INVITE must reach the next
one; a host DNS cannot locate fails the call as unreachable, naming the host."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openfax.errors import SipLocationError
from openfax.telephony.sdp import StreamKind, read_answer
from openfax.telephony.sip.transaction import TimerValues
from openfax.telephony.sip.transport import Peer
from openfax.telephony.sip.useragent import (
    CallFailedError,
    CallFailure,
    UserAgent,
    UserAgentConfig,
)
from tests.dnsserver import DnsServer, Misbehaviour
from tests.integration.telephony.test_sipp import SIPP, free_port, offer, sipp
from tests.waiting import until

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(SIPP is None, reason="SIPp is not installed (Debian package sip-tester)"),
]

FAST = TimerValues(t1=0.05, t2=0.4, t4=0.5)
"""Timers B and F run out after 3.2 s: a silent target is given up quickly."""


def carrier(nameserver: DnsServer, transport: str, *ports: int, ttl: int = 300) -> None:
    """``carrier.test``'s SRV records: one target per port, in priority order, each a name
    whose A record is 127.0.0.1."""
    records = []
    for index, port in enumerate(ports):
        name = f"sip{index + 1}.carrier.test"
        nameserver.add(name, "A", "127.0.0.1", ttl=ttl)
        records.append(f"{10 * (index + 1)} 10 {port} {name}.")
    nameserver.add(f"_sip._{transport}.carrier.test", "SRV", *records, ttl=ttl)


def config(nameserver: DnsServer, **options: Any) -> UserAgentConfig:
    return UserAgentConfig(
        port=0, user="fax", dns_servers=(nameserver.address,), timers=FAST, **options
    )


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A UDP port where a socket takes every datagram and answers none (no ICMP either):
    a request sent there times out."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        yield int(sink.getsockname()[1])


async def test_register_fails_over_past_a_silent_first_target(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    port = free_port()
    registrar = config(nameserver, registrar="sip:carrier.test")
    with silent_port() as silent:
        carrier(nameserver, "udp", silent, port)
        async with sipp(tmp_path, "uas_register", port=port), UserAgent(registrar) as ua:
            registration = await ua.register()
            assert registration.registered
            loop_now = asyncio.get_running_loop().time()
            assert ua.resolver.failed.failing(Peer("UDP", "127.0.0.1", silent), loop_now)


async def test_an_invite_answered_503_goes_to_the_next_target(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    ports = free_port(), free_port()
    carrier(nameserver, "udp", *ports)
    async with (
        sipp(tmp_path, "uas_unavailable", port=ports[0]),
        sipp(tmp_path, "uas_answer", port=ports[1]),
        UserAgent(config(nameserver)) as ua,
    ):
        call = ua.call("sip:+15551234@carrier.test", offer())
        answer = await call.connected()
        assert answer is not None
        assert read_answer(offer(), answer).kind is StreamKind.AUDIO
        assert call.peer == Peer("UDP", "127.0.0.1", ports[1])
        loop_now = asyncio.get_running_loop().time()
        assert ua.resolver.failed.failing(Peer("UDP", "127.0.0.1", ports[0]), loop_now)
        await call.hang_up()


async def test_a_tcp_target_refusing_connections_gives_way_to_the_next(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    refusing, port = free_port(), free_port()  # no listener at the first: refused at once
    carrier(nameserver, "tcp", refusing, port)
    # SIPp is left before the user agent closes its connection.
    async with (
        UserAgent(config(nameserver, transport="TCP")) as ua,
        sipp(tmp_path, "uas_answer", "-t", "t1", port=port),
    ):
        call = ua.call("sip:+15551234@carrier.test", offer())
        assert await call.connected() is not None
        assert call.peer == Peer("TCP", "127.0.0.1", port)
        await call.hang_up()


async def test_when_every_target_fails_the_call_is_unreachable(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    closed, port = free_port(), free_port()  # the first: an ICMP port unreachable
    carrier(nameserver, "udp", closed, port)
    async with sipp(tmp_path, "uas_unavailable", port=port), UserAgent(config(nameserver)) as ua:
        call = ua.call("sip:+15551234@carrier.test", offer())
        with pytest.raises(CallFailedError) as failure:
            await call.connected()
    assert (failure.value.cause, failure.value.status) == (CallFailure.UNREACHABLE, 503)


async def test_a_refresh_after_the_ttl_follows_the_new_dns_answer(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    """The registrar grants 2 s: the refresh, 1 s later, finds the DNS answers (TTL 1 s)
    expired, asks again and registers where the records point now."""
    old, new = free_port(), free_port()
    carrier(nameserver, "udp", old, ttl=1)
    async with (
        sipp(tmp_path, "uas_register_short", port=old),
        sipp(tmp_path, "uas_register", port=new),
        UserAgent(config(nameserver, registrar="sip:carrier.test")) as ua,
    ):
        registration = await ua.register()
        carrier(nameserver, "udp", new, ttl=1)
        await until(lambda: registration.refreshes, "the registration is refreshed", poll=0.05)
        assert registration.registered
    assert nameserver.asked("_sip._udp.carrier.test", "SRV") == 2


@pytest.mark.parametrize("how", [None, "servfail", "silent", "garbage"])
async def test_a_host_dns_cannot_locate_fails_the_call_naming_it(
    nameserver: DnsServer, how: Misbehaviour | None
) -> None:
    if how is not None:  # else NXDOMAIN
        nameserver.misbehave("_sip._udp.carrier.test", how)
    async with UserAgent(config(nameserver, dns_timeout=0.5)) as ua:
        call = ua.call("sip:+15551234@carrier.test", offer())
        with pytest.raises(CallFailedError) as failure:
            await call.connected()
        with pytest.raises(SipLocationError, match=r"'carrier\.test'"):
            await ua.locate("sip:carrier.test")
    assert failure.value.cause is CallFailure.UNREACHABLE
    assert "'carrier.test'" in failure.value.reason
