"""The scheduler's plan without a database: which free line takes which ready job, and which
jobs get the NOLINE bit (milliseconds each)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from openfax.service.config_file import OutgoingConfig
from openfax.service.outbound_routing import Routes
from openfax.service.planning import Claim, FreeLine, Plan, plan
from openfax.store import Device, OutboundGroup, OutboundRule
from openfax.store.queries import ReadyJob

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def line(device_id: int, *unreached: str) -> FreeLine:
    """A free line that reaches every number but ``unreached`` (a loopback line's own)."""
    return FreeLine(device_id, lambda number: number not in unreached)


def ready(*numbers: str, at: datetime = NOW) -> list[ReadyJob]:
    """Jobs in claim order, ids 101, 102, ..."""
    return [ReadyJob(101 + i, number, at) for i, number in enumerate(numbers)]


def routes(rules: tuple[OutboundRule, ...] = (), groups: tuple[OutboundGroup, ...] = ()) -> Routes:
    devices = [Device(id=d, provider="loopback", name=str(d)) for d in (1, 2, 3)]
    return Routes(rules, groups, devices, OutgoingConfig(country_code=33))


def test_each_free_line_takes_the_next_job_in_claim_order() -> None:
    got = plan(NOW, [line(1), line(2)], ready("100", "200", "300"), routes())
    assert got == Plan([Claim(1, 101), Claim(2, 102)], None), "no line idle: the rest NOLINE"


def test_a_job_not_yet_due_is_left_and_an_idle_line_marks_nothing() -> None:
    later = ready("300", at=NOW + timedelta(seconds=1))
    got = plan(NOW, [line(1), line(2)], [*ready("100"), *later], routes())
    assert got == Plan([Claim(1, 101)], frozenset())


def test_no_free_line_leaves_every_ready_job_without_a_line() -> None:
    assert plan(NOW, [], ready("100"), routes()) == Plan([], None)


def test_a_line_skips_the_numbers_it_does_not_reach_and_leaves_them_to_others() -> None:
    """A loopback line never calls its own number: the job goes to the next line."""
    got = plan(NOW, [line(1, "1001"), line(2, "1002")], ready("1001", "1001", "5"), routes())
    assert got.claims == [Claim(1, 103), Claim(2, 101)]
    assert got.no_line is None


def test_jobs_to_a_number_no_idle_line_reaches_get_the_noline_bit() -> None:
    got = plan(NOW, [line(1, "1001"), line(2, "1001")], ready("1001", "1002"), routes())
    assert got == Plan([Claim(1, 102)], frozenset({"1001"}))


def test_a_rule_sends_a_number_through_its_device_only() -> None:
    rules = (OutboundRule(country_code=44, area_code=0, device_id=2),)
    uk, home = "+44 20 7946 0000", "0123456789"
    got = plan(NOW, [line(1), line(2)], ready(uk, uk, home), routes(rules))
    assert got.claims == [Claim(1, 103), Claim(2, 101)]
    assert got.no_line is None


def test_a_group_gives_the_number_to_its_first_free_device_that_reaches_it() -> None:
    rules = (OutboundRule(country_code=44, area_code=0, group_name="uk"),)
    groups = (OutboundGroup(name="uk", device_ids=[3, 2, 1]),)
    uk = "+44 20 7946 0000"
    # Device 3 comes first but does not reach the number; 2 then takes it, and 1 may not.
    got = plan(NOW, [line(1), line(2), line(3, uk)], ready(uk, uk), routes(rules, groups))
    assert got == Plan([Claim(2, 101)], frozenset()), "with rules, a job waits for its devices"


def test_a_group_device_taken_earlier_in_the_round_passes_the_number_on() -> None:
    rules = (OutboundRule(country_code=44, area_code=0, group_name="uk"),)
    groups = (OutboundGroup(name="uk", device_ids=[1, 2]),)
    uk = "+44 20 7946 0000"
    got = plan(NOW, [line(1), line(2)], ready(uk, uk, uk), routes(rules, groups))
    assert got == Plan([Claim(1, 101), Claim(2, 102)], None)


def test_a_round_plans_each_job_once_however_many_lines() -> None:
    lines = [line(d) for d in range(1, 51)]
    got = plan(NOW, lines, ready(*(str(n) for n in range(20))), routes())
    assert [c.job_id for c in got.claims] == list(range(101, 121))
    assert len({c.device_id for c in got.claims}) == 20
    assert got.no_line == frozenset()
