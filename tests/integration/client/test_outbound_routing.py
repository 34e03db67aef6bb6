"""Outbound routing over the wire: groups and rules through the client (FAXCOMEX names, 1-based
collections, HRESULTs), their config-change events, and a real daemon with four loopback lines
sending each fax from the line its rule gives."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openfax.client import FaxDocument, FaxServer, ServerEvent, ServerEvents
from openfax.errors import (
    ConfigError,
    FaxError,
    GroupInUseError,
    GroupNotFoundError,
    InvalidOperationError,
    RuleNotFoundError,
)
from openfax.model import GROUP_NAME_ALL_DEVICES, GroupStatus, RuleStatus
from tests.daemon import Daemon, running
from tests.factories import make_pdf
from tests.integration.client.test_faxing import send

WAIT = 60.0


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """openfaxd in the United Kingdom (national numbers have country code 44) with lines
    1001 to 1004."""
    data = tmp_path_factory.mktemp("openfaxd")
    with running(data, loopback={"lines": 4}, outgoing={"country_code": 44}) as started:
        yield started


def line_ids(server: FaxServer) -> dict[str, int]:
    return {device.number: device.id for device in server.get_devices()}


def test_groups_and_rules_are_managed_with_their_faxcomex_names(server: FaxServer) -> None:
    ids = line_ids(server)
    routing = server.outbound_routing
    groups = routing.get_groups()
    assert [g.name for g in groups] == [GROUP_NAME_ALL_DEVICES]
    assert list(groups.item(GROUP_NAME_ALL_DEVICES).device_ids) == sorted(ids.values())

    pool = groups.add("pool")
    assert (groups.count, pool.status) == (2, GroupStatus.EMPTY)
    pool.device_ids.add(ids["1003"])
    pool.device_ids.add(ids["1001"])
    pool.device_ids.set_order(ids["1001"], 1)
    assert list(pool.device_ids) == [ids["1001"], ids["1003"]]
    assert pool.device_ids.item(2) == ids["1003"]
    assert pool.device_ids.count == 2
    pool.device_ids.remove(1)
    assert list(routing.get_groups()["pool"].device_ids) == [ids["1003"]]

    rules = routing.get_rules()
    (default,) = rules
    assert (default.country_code, default.area_code, default.group_name) == (
        0,
        0,
        GROUP_NAME_ALL_DEVICES,
    )
    rule = rules.add(44, 20, False, "pool")
    assert (rule.status, rule.use_device, rule.device_id) == (RuleStatus.VALID, False, 0)
    rules.add(44, 0, True, device_id=ids["1002"])
    assert [(r.country_code, r.area_code) for r in routing.get_rules()] == [
        (0, 0),
        (44, 0),
        (44, 20),
    ]
    assert routing.rule_for("020 7946 0000").area_code == 20

    rule.use_device = True
    rule.device_id = ids["1004"]
    rule.save()
    again = routing.get_rules().item_by_country_and_area(44, 20)
    assert (again.use_device, again.device_id, again.group_name) == (True, ids["1004"], "")

    rule.use_device = False
    rule.group_name = "pool"
    rule.save()
    with pytest.raises(GroupInUseError) as in_use:
        groups.remove("pool")
    assert in_use.value.hresult == 0x80041B5C
    with pytest.raises(InvalidOperationError, match="cannot be changed"):
        groups.item(GROUP_NAME_ALL_DEVICES).device_ids.add(ids["1001"])
    with pytest.raises(InvalidOperationError, match="default outbound routing rule"):
        routing.get_rules().remove(1)
    with pytest.raises(GroupNotFoundError) as missing:
        routing.get_rules().add(1, 0, False, "nowhere")
    assert missing.value.hresult == 0x80041B5A
    with pytest.raises(ConfigError, match="no device with id 999"):
        pool.device_ids.add(999)
    with pytest.raises(InvalidOperationError, match="cannot be named"):
        groups.add("a/b")

    rules = routing.get_rules()
    rules.remove_by_country_and_area(44, 20)
    rules.remove(2)
    assert rules.count == 1
    with pytest.raises(RuleNotFoundError) as gone:
        routing.get_rules().item_by_country_and_area(44, 20)
    assert gone.value.hresult == 0x80041B5D
    groups.remove("pool")
    assert [g.name for g in routing.get_groups()] == [GROUP_NAME_ALL_DEVICES]


def test_changes_are_announced_as_outbound_routing_config_events(server: FaxServer) -> None:
    seen: queue.Queue[ServerEvent] = queue.Queue()
    server.add_event_handler(lambda _, event: seen.put(event))
    server.listen_to_server_events(ServerEvents.CONFIG)
    routing = server.outbound_routing
    routing.get_groups().add("announced")
    routing.get_rules().add(33, 0, False, "announced")
    routing.get_rules().remove_by_country_and_area(33, 0)
    routing.get_groups().remove("announced")
    names = [seen.get(timeout=WAIT).name for _ in range(4)]
    assert names == [
        "OnOutboundRoutingGroupsConfigChange",
        "OnOutboundRoutingRulesConfigChange",
        "OnOutboundRoutingRulesConfigChange",
        "OnOutboundRoutingGroupsConfigChange",
    ]


def sent_from(server: FaxServer, fax: FaxDocument) -> list[str]:
    """Send ``fax``; the name of the line each of its jobs went out on, once all are sent."""
    return [
        server.folders.outgoing_archive.get_message(job_id).device_name
        for job_id in send(server, fax)
    ]


def test_each_fax_goes_out_on_the_line_of_its_rule(server: FaxServer, tmp_path: Path) -> None:
    ids = line_ids(server)
    routing = server.outbound_routing
    pool = routing.get_groups().add("pool")
    pool.device_ids.set([ids["1003"], ids["1002"]])
    rules = routing.get_rules()
    rules.add(44, 1004, True, device_id=ids["1002"])
    rules.add(44, 100, False, "pool")
    try:
        fax = FaxDocument(body=make_pdf(tmp_path / "one.pdf", 1), subject="routed")
        fax.recipients.add("1004")
        fax.recipients.add("1001")
        assert sent_from(server, fax) == ["loopback line 1002", "loopback line 1003"]

        rule = routing.get_rules().item_by_country_and_area(44, 1004)
        rule.device_id = ids["1001"]
        rule.save()
        again = FaxDocument(body=tmp_path / "one.pdf")
        again.recipients.add("1004")
        assert sent_from(server, again) == ["loopback line 1001"]
    finally:
        for country, area in ((44, 1004), (44, 100)):
            routing.get_rules().remove_by_country_and_area(country, area)
        routing.get_groups().remove("pool")


def test_a_rules_t38_policy_goes_over_the_wire(server: FaxServer, daemon: Daemon) -> None:
    """The OpenFax extension ``t38_policy``: set on add and on save, kept when only the target
    changes, shown by ``rule_for``; a value the server does not know is refused, named."""
    ids = line_ids(server)
    routing = server.outbound_routing
    rule = routing.get_rules().add(44, 20, True, device_id=ids["1001"], t38_policy="request")
    try:
        assert rule.t38_policy == "request"
        assert routing.rule_for("020 7946 0000").t38_policy == "request"
        assert routing.rule_for("+1 212 555 0100").t38_policy == "trunk"
        rule.t38_policy = "off"
        rule.save()
        again = routing.get_rules().item_by_country_and_area(44, 20)
        assert again.t38_policy == "off"
        assert "T.38 off" in repr(again)

        rule.t38_policy = "sometimes"
        with pytest.raises(FaxError, match="t38_policy") as refused:
            rule.save()
        assert refused.value.hresult == 0x80070057  # E_INVALIDARG
        rule.refresh()
        assert rule.t38_policy == "off"

        path = "/v1/outbound-routing/rules/44/20"
        transport = httpx.HTTPTransport(uds=str(daemon.socket))
        with httpx.Client(base_url="http://openfaxd", transport=transport) as local:
            # A body without the policy (a FAXCOMEX-only client) keeps it.
            kept = local.put(path, json={"use_device": True, "device_id": ids["1002"]})
            assert kept.status_code == 200
            assert kept.json()["t38_policy"] == "off"
            bad = local.put(path, json={"use_device": True, "device_id": 1, "t38_policy": "on"})
            assert bad.status_code == 400
            assert "t38_policy" in bad.json()["error"]["message"]
            added = local.post(
                "/v1/outbound-routing/rules",
                json={"country_code": 44, "area_code": 30, "use_device": False, "t38_policy": 1},
            )
            assert added.status_code == 400
            assert "t38_policy" in added.json()["error"]["message"]
        assert [r.area_code for r in routing.get_rules()] == [0, 20]
    finally:
        routing.get_rules().remove_by_country_and_area(44, 20)
