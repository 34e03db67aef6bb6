"""RFC 3263 location: the decisions without sockets (SRV order, failed targets, TTLs, the
targets of one request), then the resolver against a real DNS server on 127.0.0.1 (the
``nameserver`` fixture): SRV with priorities and weights, the A fallback, TTL expiry, and
every bad answer a clear SipLocationError naming the host."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from openfax.errors import SipLocationError
from openfax.telephony.sip.location import (
    FailedTargets,
    SrvRecord,
    Targets,
    TtlCache,
    fails_over,
    srv_order,
)
from openfax.telephony.sip.resolver import SipResolver, parse_dns_server
from openfax.telephony.sip.transport import Peer
from tests.dnsserver import DnsServer

A = Peer("UDP", "192.0.2.1", 5060)
B = Peer("UDP", "192.0.2.2", 5060)
C = Peer("UDP", "192.0.2.3", 5070)


def test_srv_order_takes_the_lowest_priority_first() -> None:
    records = [
        SrvRecord(20, 0, 5060, "c.test."),
        SrvRecord(10, 5, 5060, "a.test."),
        SrvRecord(30, 100, 5060, "d.test."),
        SrvRecord(10, 5, 5060, "b.test."),
    ]
    for seed in range(20):
        ordered = [record.target for record in srv_order(records, random.Random(seed))]
        assert sorted(ordered[:2]) == ["a.test.", "b.test."]
        assert ordered[2:] == ["c.test.", "d.test."]


def test_srv_order_draws_by_weight_within_a_priority() -> None:
    records = [SrvRecord(10, 90, 5060, "heavy."), SrvRecord(10, 10, 5060, "light.")]
    rng = random.Random(7)
    firsts = Counter(srv_order(records, rng)[0].target for _ in range(2000))
    assert 0.85 < firsts["heavy."] / 2000 < 0.95


def test_a_zero_weight_record_is_chosen_first_rarely_but_sometimes() -> None:
    records = [SrvRecord(1, 0, 5060, "zero."), SrvRecord(1, 50, 5060, "weighted.")]
    rng = random.Random(3)
    firsts = Counter(srv_order(records, rng)[0].target for _ in range(2000))
    assert 0 < firsts["zero."] < 100


def test_failover_on_timeouts_transport_errors_and_503_only() -> None:
    assert fails_over(408, "timeout")
    assert fails_over(503, "transport error: refused")
    assert fails_over(503, None)
    assert not fails_over(486, None)
    assert not fails_over(408, None)  # a far end's own 408 is an answer
    assert not fails_over(200, None)


def test_a_failed_target_is_tried_last_for_a_while() -> None:
    failed = FailedTargets(hold=60.0)
    failed.fail(A, now=100.0)
    failed.fail(B, now=110.0)
    assert failed.order([A, B, C], now=120.0) == [C, A, B]
    assert failed.order([A, B, C], now=165.0) == [A, C, B]  # A's hold is over
    failed.succeeded(B)
    assert failed.order([A, B, C], now=166.0) == [A, B, C]


def test_targets_move_on_and_remember_the_failure() -> None:
    failed = FailedTargets()
    targets = Targets("sip.test", [A, B], failed)
    assert (targets.current, targets.remaining) == (A, 1)
    assert targets.fail_over(now=5.0) == B
    assert targets.fail_over(now=6.0) is None
    assert failed.failing(A, 7.0)
    assert failed.failing(B, 7.0)
    targets.succeeded()
    assert not failed.failing(B, 7.0)
    with pytest.raises(ValueError, match=r"sip\.test"):
        Targets("sip.test", [], failed)


def test_the_cache_forgets_an_answer_when_its_ttl_runs_out() -> None:
    cache: TtlCache[str, int] = TtlCache()
    cache.put("x", 1, ttl=30, now=100.0)
    assert cache.get("x", 129.9) == 1
    assert cache.get("x", 130.0) is None
    assert cache.get("y", 0.0) is None


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)),
     ("[::1]:5353", ("::1", 5353)), ("::1", ("::1", 53))],
)  # fmt: skip
def test_dns_servers_are_addresses_with_an_optional_port(
    value: str, parsed: tuple[str, int]
) -> None:
    assert parse_dns_server(value) == parsed


@pytest.mark.parametrize("value", ["ns.example", "127.0.0.1:0", "127.0.0.1:x", "[::1", ""])
def test_a_bad_dns_server_is_refused_by_name(value: str) -> None:
    with pytest.raises(ValueError, match=repr(value).replace("[", r"\[")):
        parse_dns_server(value)


# --- The resolver against a real DNS server -------------------------------------------------

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
