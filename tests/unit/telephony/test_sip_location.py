"""RFC 3263 location, the decisions without sockets: SRV order, failed targets, TTLs, the targets
of one request, the DNS server setting. The resolver against a real DNS server:
tests/integration/telephony/test_sip_location.py."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from openfax.telephony.sip.location import (
    FailedTargets,
    SrvRecord,
    Targets,
    TtlCache,
    fails_over,
    srv_order,
)
from openfax.telephony.sip.resolver import parse_dns_server
from openfax.telephony.sip.transport import Peer

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
