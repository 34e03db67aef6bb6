"""RFC 3263 location: the resolver against a real DNS server on 127.0.0.1 (the ``nameserver``
fixture): SRV with priorities and weights, the A fallback, TTL expiry, and every bad answer a
clear SipLocationError naming the host. The decisions without sockets:
tests/unit/telephony/test_sip_location.py."""

from __future__ import annotations

import asyncio
import random

import pytest

from openfax.errors import SipLocationError
from openfax.telephony.sip.resolver import SipResolver
from openfax.telephony.sip.transport import Peer
from tests.dnsserver import DnsServer

pytestmark = pytest.mark.anyio


def resolver(nameserver: DnsServer, **options: float) -> SipResolver:
    return SipResolver([nameserver.address], rng=random.Random(1), **options)


async def test_an_address_is_used_as_it_is(nameserver: DnsServer) -> None:
    targets = await resolver(nameserver).locate("192.0.2.7", None, "UDP")
    assert targets.peers == (Peer("UDP", "192.0.2.7", 5060),)
    targets = await resolver(nameserver).locate("[2001:db8::1]", 5080, "TCP")
    assert targets.peers == (Peer("TCP", "2001:db8::1", 5080),)
    assert nameserver.questions == []


async def test_srv_records_give_the_targets_in_priority_order(nameserver: DnsServer) -> None:
    nameserver.add(
        "_sip._udp.carrier.test",
        "SRV",
        "20 10 5070 backup.carrier.test.",
        "10 10 5060 main.carrier.test.",
    )
    nameserver.add("main.carrier.test", "A", "127.0.0.11", "127.0.0.12")
    nameserver.add("backup.carrier.test", "A", "127.0.0.21")
    targets = await resolver(nameserver).locate("carrier.test", None, "UDP")
    main = {Peer("UDP", "127.0.0.11", 5060), Peer("UDP", "127.0.0.12", 5060)}
    assert set(targets.peers[:2]) == main  # a DNS answer's records come in any order
    assert targets.peers[2] == Peer("UDP", "127.0.0.21", 5070)


async def test_tcp_asks_for_the_tcp_srv_records(nameserver: DnsServer) -> None:
    nameserver.add("_sip._tcp.carrier.test", "SRV", "10 10 5062 tcp.carrier.test.")
    nameserver.add("tcp.carrier.test", "A", "127.0.0.31")
    targets = await resolver(nameserver).locate("carrier.test", None, "TCP")
    assert targets.peers == (Peer("TCP", "127.0.0.31", 5062),)
    assert nameserver.asked("_sip._udp.carrier.test", "SRV") == 0


async def test_without_srv_the_hosts_address_on_5060(nameserver: DnsServer) -> None:
    nameserver.add("pbx.test", "A", "127.0.0.41")
    targets = await resolver(nameserver).locate("pbx.test", None, "UDP")
    assert targets.peers == (Peer("UDP", "127.0.0.41", 5060),)
    assert nameserver.asked("_sip._udp.pbx.test", "SRV") == 1


async def test_a_port_given_skips_srv(nameserver: DnsServer) -> None:
    nameserver.add("_sip._udp.pbx.test", "SRV", "10 10 5999 elsewhere.test.")
    nameserver.add("pbx.test", "A", "127.0.0.41")
    targets = await resolver(nameserver).locate("pbx.test", 5080, "UDP")
    assert targets.peers == (Peer("UDP", "127.0.0.41", 5080),)
    assert nameserver.asked("_sip._udp.pbx.test", "SRV") == 0


async def test_answers_are_kept_for_their_ttl_then_asked_again(nameserver: DnsServer) -> None:
    nameserver.add("_sip._udp.carrier.test", "SRV", "10 10 5060 main.carrier.test.", ttl=1)
    nameserver.add("main.carrier.test", "A", "127.0.0.11", ttl=1)
    locator = resolver(nameserver)
    await locator.locate("carrier.test", None, "UDP", now=100.0)
    await locator.locate("carrier.test", None, "UDP", now=100.9)
    assert nameserver.asked("_sip._udp.carrier.test", "SRV") == 1
    assert nameserver.asked("main.carrier.test", "A") == 1
    nameserver.add("main.carrier.test", "A", "127.0.0.99", ttl=1)
    targets = await locator.locate("carrier.test", None, "UDP", now=101.0)
    assert targets.peers == (Peer("UDP", "127.0.0.99", 5060),)
    assert nameserver.asked("_sip._udp.carrier.test", "SRV") == 2


async def test_a_target_that_failed_lately_comes_last(nameserver: DnsServer) -> None:
    nameserver.add(
        "_sip._udp.carrier.test",
        "SRV",
        "10 10 5060 main.carrier.test.",
        "20 10 5060 backup.carrier.test.",
    )
    nameserver.add("main.carrier.test", "A", "127.0.0.11")
    nameserver.add("backup.carrier.test", "A", "127.0.0.21")
    locator = resolver(nameserver)
    first = await locator.locate("carrier.test", None, "UDP")
    assert first.fail_over(asyncio.get_running_loop().time()) == Peer("UDP", "127.0.0.21", 5060)
    again = await locator.locate("carrier.test", None, "UDP")
    assert [peer.host for peer in again.peers] == ["127.0.0.21", "127.0.0.11"]


async def test_an_srv_target_without_address_is_skipped(nameserver: DnsServer) -> None:
    nameserver.add(
        "_sip._udp.carrier.test",
        "SRV",
        "10 10 5060 gone.carrier.test.",
        "20 10 5060 backup.carrier.test.",
    )
    nameserver.add("backup.carrier.test", "A", "127.0.0.21")
    targets = await resolver(nameserver).locate("carrier.test", None, "UDP")
    assert targets.peers == (Peer("UDP", "127.0.0.21", 5060),)


async def test_an_unknown_host_is_a_clear_error(nameserver: DnsServer) -> None:
    with pytest.raises(SipLocationError, match=r"'nowhere\.test'.*nowhere\.test has no A record"):
        await resolver(nameserver).locate("nowhere.test", None, "UDP")


async def test_no_srv_target_with_an_address_is_a_clear_error(nameserver: DnsServer) -> None:
    nameserver.add("_sip._udp.carrier.test", "SRV", "10 10 5060 gone.carrier.test.")
    with pytest.raises(SipLocationError, match=r"'carrier\.test': no SRV target has an address"):
        await resolver(nameserver).locate("carrier.test", None, "UDP")


async def test_an_srv_target_dot_says_there_is_no_service(nameserver: DnsServer) -> None:
    nameserver.add("_sip._udp.carrier.test", "SRV", "0 0 0 .")
    with pytest.raises(SipLocationError, match=r"'carrier\.test'.*says no SIP service"):
        await resolver(nameserver).locate("carrier.test", None, "UDP")


async def test_servfail_is_a_clear_error(nameserver: DnsServer) -> None:
    nameserver.misbehave("_sip._udp.carrier.test", "servfail")
    with pytest.raises(SipLocationError, match=r"'carrier\.test'.*SRV.*DNS servers failed"):
        await resolver(nameserver).locate("carrier.test", None, "UDP")


@pytest.mark.parametrize("how", ["silent", "garbage"])
async def test_silence_or_garbage_is_a_timeout_naming_the_host(
    nameserver: DnsServer, how: str
) -> None:
    nameserver.misbehave("pbx.test", "silent" if how == "silent" else "garbage")
    with pytest.raises(SipLocationError, match=r"'pbx\.test'.*A pbx\.test\..*no usable DNS answer"):
        await resolver(nameserver, timeout=0.5).locate("pbx.test", 5060, "UDP")


async def test_errors_are_not_kept(nameserver: DnsServer) -> None:
    locator = resolver(nameserver)
    nameserver.misbehave("pbx.test", "servfail")
    with pytest.raises(SipLocationError):
        await locator.locate("pbx.test", 5060, "UDP")
    nameserver.add("pbx.test", "A", "127.0.0.41")
    nameserver.behave("pbx.test")
    targets = await locator.locate("pbx.test", 5060, "UDP")
    assert targets.current == Peer("UDP", "127.0.0.41", 5060)


async def test_ipv6_asks_for_aaaa(nameserver: DnsServer) -> None:
    nameserver.add("pbx.test", "AAAA", "::1")
    nameserver.add("pbx.test", "A", "127.0.0.41")
    targets = await resolver(nameserver).locate("pbx.test", 5060, "UDP")
    assert targets.current.host == "127.0.0.41"
    ipv6 = SipResolver([nameserver.address], ipv6=True)
    assert (await ipv6.locate("pbx.test", 5060, "UDP")).current.host == "::1"
