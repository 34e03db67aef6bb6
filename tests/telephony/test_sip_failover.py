"""RFC 3263 in the user agent: a trunk named by DNS (a real DNS server on 127.0.0.1, the
``nameserver`` fixture) whose SRV records name SIPp instances, the first-priority one
silent, refusing connections or answering 503. The REGISTER or INVITE must reach the next
one; a host DNS cannot locate fails the call as unreachable, naming the host."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from openfax.errors import SipLocationError
from openfax.telephony.sdp import StreamKind, read_answer
from openfax.telephony.sip.transaction import TimerValues
from openfax.telephony.sip.transport import Peer
from openfax.telephony.sip.useragent import (
    CallFailedError,
    FailureCause,
    UserAgent,
    UserAgentConfig,
)
from tests.dnsserver import DnsServer, Misbehaviour
from tests.telephony.test_sipp import SIPP, Sipp, free_port, offer

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


async def test_register_fails_over_past_a_silent_first_target(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    silent = free_port()  # nothing listens: the REGISTER times out (timer F)
    sipp = Sipp(tmp_path, "uas_register")
    carrier(nameserver, "udp", silent, sipp.port)
    try:
        await sipp.start()
        async with UserAgent(config(nameserver, registrar="sip:carrier.test")) as ua:
            registration = await ua.register()
            assert registration.registered
            loop_now = asyncio.get_running_loop().time()
            assert ua.resolver.failed.failing(Peer("UDP", "127.0.0.1", silent), loop_now)
        await sipp.finish()
    finally:
        sipp.kill()


async def test_an_invite_answered_503_goes_to_the_next_target(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    unavailable = Sipp(tmp_path, "uas_unavailable")
    answering = Sipp(tmp_path, "uas_answer")
    carrier(nameserver, "udp", unavailable.port, answering.port)
    try:
        await unavailable.start()
        await answering.start()
        async with UserAgent(config(nameserver)) as ua:
            call = ua.call("sip:+15551234@carrier.test", offer())
            answer = await call.connected()
            assert answer is not None
            assert read_answer(offer(), answer).kind is StreamKind.AUDIO
            assert call.peer == Peer("UDP", "127.0.0.1", answering.port)
            loop_now = asyncio.get_running_loop().time()
            first = Peer("UDP", "127.0.0.1", unavailable.port)
            assert ua.resolver.failed.failing(first, loop_now)
            await call.hang_up()
        await unavailable.finish()
        await answering.finish()
    finally:
        unavailable.kill()
        answering.kill()


async def test_a_tcp_target_refusing_connections_gives_way_to_the_next(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    refusing = free_port()  # no listener: the connection is refused at once
    answering = Sipp(tmp_path, "uas_answer", "-t", "t1")
    carrier(nameserver, "tcp", refusing, answering.port)
    try:
        await answering.start()
        async with UserAgent(config(nameserver, transport="TCP")) as ua:
            call = ua.call("sip:+15551234@carrier.test", offer())
            assert await call.connected() is not None
            assert call.peer == Peer("TCP", "127.0.0.1", answering.port)
            await call.hang_up()
            await answering.finish()  # before the connection closes with the user agent
    finally:
        answering.kill()


async def test_when_every_target_fails_the_call_is_unreachable(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    unavailable = Sipp(tmp_path, "uas_unavailable")
    carrier(nameserver, "udp", free_port(), unavailable.port)
    try:
        await unavailable.start()
        async with UserAgent(config(nameserver)) as ua:
            call = ua.call("sip:+15551234@carrier.test", offer())
            with pytest.raises(CallFailedError) as failure:
                await call.connected()
        await unavailable.finish()
    finally:
        unavailable.kill()
    assert (failure.value.cause, failure.value.status) == (FailureCause.UNREACHABLE, 503)


async def test_a_refresh_after_the_ttl_follows_the_new_dns_answer(
    nameserver: DnsServer, tmp_path: Path
) -> None:
    """The registrar grants 2 s: the refresh, 1 s later, finds the DNS answers (TTL 1 s)
    expired, asks again and registers where the records point now."""
    old = Sipp(tmp_path, "uas_register_short")
    new = Sipp(tmp_path, "uas_register")
    carrier(nameserver, "udp", old.port, ttl=1)
    try:
        await old.start()
        await new.start()
        async with UserAgent(config(nameserver, registrar="sip:carrier.test")) as ua:
            registration = await ua.register()
            carrier(nameserver, "udp", new.port, ttl=1)
            while registration.refreshes == 0:
                await asyncio.sleep(0.05)
            assert registration.registered
        await old.finish()
        await new.finish()
    finally:
        old.kill()
        new.kill()
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
    assert failure.value.cause is FailureCause.UNREACHABLE
    assert "'carrier.test'" in failure.value.reason
