"""Outbound routing: groups and rules in the store, the most specific rule winning, rule
statuses, and the scheduler sending each job from the lines its rule gives it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openfax.errors import (
    ConfigError,
    GroupInUseError,
    GroupNotFoundError,
    InvalidOperationError,
    RuleNotFoundError,
)
from openfax.model import GROUP_NAME_ALL_DEVICES, GroupStatus, JobStatus, RuleStatus
from openfax.model.events import payload_json
from openfax.service import FaxService, ManualClock
from openfax.service.config_file import OutgoingConfig
from openfax.service.country_codes import split_number
from openfax.service.event_hub import EventType
from openfax.service.outbound_routing import Routes, t38_policy_for
from openfax.store import Device, OutboundGroup, OutboundRule

from .conftest import MakeConfig, events_until, job_leaves_queue, job_reaches, request

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+44 20 7946 0000", (44, "2079460000")),
        ("0044 20 7946 0000", (44, "2079460000")),
        ("+1 (212) 555-0100", (1, "2125550100")),
        ("+353 1 234 5678", (353, "12345678")),
        ("+358 9 1234", (358, "91234")),
        ("020 7946 0000", (33, "2079460000")),
        ("1002", (33, "1002")),
        ("+999 1234", (0, "9991234")),
    ],
)
def test_a_number_splits_into_country_code_and_national_digits(
    number: str, expected: tuple[int, str]
) -> None:
    assert split_number(number, own_country=33, international_prefix="00") == expected


def routes(*rules: OutboundRule) -> Routes:
    """Routes over devices 1 and 2 (sending) and 3 (barred from sending)."""
    devices = [Device(id=i, provider="p", name=str(i), send_enabled=i != 3) for i in (1, 2, 3)]
    groups = [
        OutboundGroup(name="uk", device_ids=[2, 1]),
        OutboundGroup(name="empty"),
        OutboundGroup(name="barred", device_ids=[3]),
        OutboundGroup(name="partly", device_ids=[3, 1]),
    ]
    return Routes(rules, groups, devices, OutgoingConfig(country_code=33))


RULES = (
    OutboundRule(country_code=44, area_code=0, group_name="uk"),
    OutboundRule(country_code=44, area_code=20, device_id=1),
    OutboundRule(country_code=44, area_code=207, device_id=2),
    OutboundRule(country_code=33, area_code=0, device_id=3),
    OutboundRule(country_code=49, area_code=0, group_name="empty"),
)


@pytest.mark.parametrize(
    ("number", "rule", "devices"),
    [
        ("+44 207 946 0000", (44, 207), [2]),
        ("+44 208 946 0000", (44, 20), [1]),
        ("+44 161 946 0000", (44, 0), [2, 1]),
        ("+1 212 555 0100", (0, 0), None),
        ("01 23 45 67 89", (33, 0), []),
        ("+49 30 1234", (49, 0), []),
    ],
)
def test_the_most_specific_rule_wins(
    number: str, rule: tuple[int, int], devices: list[int] | None
) -> None:
    found = routes(*RULES).rule_for(number)
    assert (found.country_code, found.area_code) == rule
    assert routes(*RULES).devices_for(number) == devices


def test_a_job_goes_to_the_first_free_device_in_the_group_order() -> None:
    table = routes(*RULES)
    assert table.may_send("+44 161 1", 2, free=[1, 2])
    assert not table.may_send("+44 161 1", 1, free=[1, 2])
    assert table.may_send("+44 161 1", 1, free=[1])
    assert not table.may_send("+44 161 1", 3, free=[3])
    assert table.may_send("+1 212 1", 3, free=[1, 2, 3])


@pytest.mark.parametrize(
    ("rule", "status"),
    [
        (OutboundRule(country_code=1, area_code=0, group_name="uk"), RuleStatus.VALID),
        (OutboundRule(country_code=1, area_code=0, group_name="empty"), RuleStatus.EMPTY_GROUP),
        (
            OutboundRule(country_code=1, area_code=0, group_name="barred"),
            RuleStatus.ALL_GROUP_DEV_NOT_VALID,
        ),
        (
            OutboundRule(country_code=1, area_code=0, group_name="partly"),
            RuleStatus.SOME_GROUP_DEV_NOT_VALID,
        ),
        (OutboundRule(country_code=1, area_code=0, device_id=1), RuleStatus.VALID),
        (OutboundRule(country_code=1, area_code=0, device_id=3), RuleStatus.BAD_DEVICE),
        (OutboundRule(country_code=1, area_code=0, device_id=9), RuleStatus.BAD_DEVICE),
    ],
)
def test_a_rule_to_a_barred_or_missing_device_is_not_valid(
    rule: OutboundRule, status: RuleStatus
) -> None:
    assert routes(rule).rule_status(rule) is status


async def test_groups_and_rules_are_kept_and_checked(service: FaxService) -> None:
    routing = service.routing.outbound
    first, second, third = await service.devices.get_devices()
    (all_devices,) = await routing.get_groups()
    assert all_devices.name == GROUP_NAME_ALL_DEVICES
    assert all_devices.device_ids == [first.id, second.id, third.id]
    (default,) = await routing.get_rules()
    assert (default.country_code, default.area_code, default.group_name) == (
        0,
        0,
        GROUP_NAME_ALL_DEVICES,
    )

    stream = service.listening.events(
        EventType.CONFIG_CHANGED.mask, after=await service.listening.last_seq()
    )
    group = await routing.add_group("uk")
    assert (group.device_ids, group.status) == ([], GroupStatus.EMPTY)
    (changed,) = await events_until(stream, EventType.CONFIG_CHANGED)
    assert payload_json(changed.payload) == {"outbound_routing": "groups"}
    await routing.add_device("uk", third.id)
    await routing.add_device("uk", first.id)
    group = await routing.set_order("uk", first.id, 1)
    assert group.device_ids == [first.id, third.id]
    group = await routing.remove_device("uk", 2)
    assert (group.device_ids, group.status) == ([first.id], GroupStatus.ALL_DEV_VALID)

    rule = await routing.add_rule(44, 0, group_name="uk")
    assert (rule.use_device, rule.group_name, rule.status) == (False, "uk", RuleStatus.VALID)
    await routing.add_rule(44, 20, device_id=second.id)
    await service.devices.save_device(second.id, send_enabled=False)
    assert (await routing.get_rule(44, 20)).status is RuleStatus.BAD_DEVICE
    saved = await routing.save_rule(0, 0, device_id=third.id)
    assert (saved.use_device, saved.device_id) == (True, third.id)
    assert [(r.country_code, r.area_code) for r in await routing.get_rules()] == [
        (0, 0),
        (44, 0),
        (44, 20),
    ]
    assert (await routing.rule_for("+44 20 7946 0000")).device_id == second.id
    await routing.remove_rule(44, 20)
    with pytest.raises(RuleNotFoundError, match="44/20"):
        await routing.get_rule(44, 20)
    await stream.aclose()

    with pytest.raises(GroupInUseError, match="'uk' is used by the rules 44/0"):
        await routing.remove_group("uk")
    with pytest.raises(InvalidOperationError, match="<All Devices> cannot be changed"):
        await routing.remove_group(GROUP_NAME_ALL_DEVICES)
    with pytest.raises(InvalidOperationError, match="<All Devices> cannot be changed"):
        await routing.add_device(GROUP_NAME_ALL_DEVICES, first.id)
    with pytest.raises(InvalidOperationError, match="default outbound routing rule"):
        await routing.remove_rule(0, 0)
    with pytest.raises(InvalidOperationError, match="exists already"):
        await routing.add_group("uk")
    with pytest.raises(InvalidOperationError, match="exists already"):
        await routing.add_rule(44, 0, device_id=first.id)
    with pytest.raises(ConfigError, match="no device with id 99"):
        await routing.add_device("uk", 99)
    with pytest.raises(ConfigError, match="no device with id 99"):
        await routing.add_rule(1, 0, device_id=99)
    with pytest.raises(GroupNotFoundError, match="'nowhere'"):
        await routing.add_rule(1, 0, group_name="nowhere")
    with pytest.raises(ConfigError, match="an area code needs a country code"):
        await routing.add_rule(0, 20, group_name="uk")
    with pytest.raises(ConfigError, match="a group or to a device"):
        await routing.add_rule(1, 0, group_name="uk", device_id=first.id)

    await routing.save_rule(44, 0, device_id=first.id)
    await routing.remove_group("uk")
    assert [g.name for g in await routing.get_groups()] == [GROUP_NAME_ALL_DEVICES]


async def test_a_rules_t38_policy_is_kept_checked_and_given_to_its_numbers(
    uk_service: FaxService,
) -> None:
    routing = uk_service.routing.outbound
    first, *_ = await uk_service.devices.get_devices()
    london = await routing.add_rule(44, 20, group_name=GROUP_NAME_ALL_DEVICES, t38_policy="request")
    assert london.t38_policy == "request"
    assert (await routing.add_rule(44, 0, device_id=first.id)).t38_policy == "trunk"
    # Saving a rule's target without a policy keeps its policy.
    assert (await routing.save_rule(44, 20, device_id=first.id)).t38_policy == "request"
    assert (await routing.save_rule(44, 20, device_id=first.id, t38_policy="off")).t38_policy == (
        "off"
    )
    await routing.save_rule(0, 0, group_name=GROUP_NAME_ALL_DEVICES, t38_policy="accept")
    assert (await routing.rule_for("020 7946 0000")).t38_policy == "off"

    for value in ("sometimes", "OFF", ""):
        with pytest.raises(ConfigError, match=f"t38_policy: must be one of .*not '{value}'"):
            await routing.save_rule(44, 20, device_id=first.id, t38_policy=value)
        with pytest.raises(ConfigError, match="t38_policy"):
            await routing.add_rule(44, 30, device_id=first.id, t38_policy=value)
    assert (await routing.get_rule(44, 20)).t38_policy == "off"
    with pytest.raises(RuleNotFoundError):
        await routing.get_rule(44, 30)

    outgoing = uk_service.ctx.config.outgoing
    async with uk_service.ctx.db.read() as conn:
        policies = [
            await t38_policy_for(conn, outgoing, number)
            for number in ("020 7946 0000", "0161 496 0000", "+1 212 555 0100")
        ]
    assert policies == ["off", None, "accept"]
    await routing.save_rule(44, 20, device_id=first.id, t38_policy="trunk")
    assert (await routing.get_rule(44, 20)).t38_policy == "trunk"
    async with uk_service.ctx.db.read() as conn:
        assert await t38_policy_for(conn, outgoing, "020 7946 0000") is None


@pytest.fixture
async def uk_service(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> AsyncIterator[FaxService]:
    """A service in the United Kingdom: the lines' national numbers have country code 44."""
    config = make_config(tmp_path / "data", outgoing={"country_code": 44})
    async with FaxService(config, clock=clock) as fax:
        yield fax


async def sent_from(service: FaxService, job_id: int) -> int | None:
    await job_leaves_queue(service, job_id)
    (attempt,) = await service.outgoing_queue.get_call_attempts(job_id)
    assert attempt.failure_cause is None
    return attempt.device_id


async def test_the_scheduler_sends_from_the_lines_of_the_most_specific_rule(
    uk_service: FaxService, two_pages: Path
) -> None:
    routing = uk_service.routing.outbound
    first, second, third = await uk_service.devices.get_devices()
    await routing.add_group("uk")
    await routing.set_device_ids("uk", [third.id])
    await routing.add_rule(44, 0, group_name="uk")
    await routing.add_rule(44, 1001, device_id=second.id)

    to_second = await uk_service.outgoing_queue.submit(request(two_pages, "1002", "1002"))
    for job_id in to_second:
        assert await sent_from(uk_service, job_id) == third.id
    (to_first,) = await uk_service.outgoing_queue.submit(request(two_pages, "1001"))
    assert await sent_from(uk_service, to_first) == second.id

    await routing.set_device_ids("uk", [first.id, third.id])
    (job_id,) = await uk_service.outgoing_queue.submit(request(two_pages, "1002"))
    assert await sent_from(uk_service, job_id) == first.id


async def test_a_job_whose_rule_has_no_usable_line_waits_until_one_is_given(
    uk_service: FaxService, two_pages: Path
) -> None:
    routing = uk_service.routing.outbound
    *_, third = await uk_service.devices.get_devices()
    await routing.add_group("later")
    await routing.add_rule(44, 1001, group_name="later")

    (waiting,) = await uk_service.outgoing_queue.submit(request(two_pages, "1001"))
    (other,) = await uk_service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(uk_service, other)
    job = await job_reaches(uk_service, waiting, JobStatus.PENDING)
    assert not await uk_service.outgoing_queue.get_call_attempts(waiting)
    assert job.device_id in (
        None,
        0,
    )

    await routing.add_device("later", third.id)
    assert await sent_from(uk_service, waiting) == third.id
