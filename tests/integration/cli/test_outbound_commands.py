"""``openfax outbound``: groups and rules managed from the command line of a real daemon, as
tables and as JSON, with clear errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.daemon import Daemon, running
from tests.integration.cli.test_fax_commands import openfax


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def run_json(daemon: Daemon, *args: str) -> Any:
    done = openfax(daemon, "outbound", *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_groups_and_rules_are_set_from_the_command_line(daemon: Daemon) -> None:
    group = run_json(daemon, "groups", "add", "pair", "loopback line 1002", "1")
    assert (group["name"], group["device_ids"], group["status"]) == (
        "pair",
        [2, 1],
        "ALL_DEV_VALID",
    )
    group = run_json(daemon, "groups", "set", "pair", "1")
    assert group["device_ids"] == [1]
    rule = run_json(daemon, "rules", "add", "44", "20", "--group", "pair")
    assert (rule["target"], rule["status"]) == ("group pair", "VALID")
    rule = run_json(daemon, "rules", "set", "44", "20", "--device", "loopback line 1002")
    assert (rule["use_device"], rule["device_id"], rule["group_name"]) == (True, 2, "")
    rule = run_json(daemon, "rules", "set", "0", "0", "--group", "pair")
    assert rule["target"] == "group pair"
    followed = run_json(daemon, "rules", "for", "+44 20 7946 0000")
    assert (followed["country_code"], followed["area_code"], followed["device_id"]) == (44, 20, 2)
    assert run_json(daemon, "rules", "for", "+1 212 555 0100")["area_code"] == 0

    table = openfax(daemon, "outbound", "rules", "list")
    assert table.returncode == 0, table.stderr
    assert "Outbound routing rules" in table.stdout
    assert "device 2" in table.stdout
    listed = run_json(daemon, "rules", "list")
    assert [(r["country_code"], r["area_code"]) for r in listed] == [(0, 0), (44, 20)]
    groups = openfax(daemon, "outbound", "groups", "list")
    assert "<All Devices>" in groups.stdout
    assert "pair" in groups.stdout

    in_use = openfax(daemon, "outbound", "groups", "remove", "pair")
    assert in_use.returncode == 1
    assert "GroupInUseError" in in_use.stderr
    assert "Traceback" not in in_use.stderr
    run_json(daemon, "rules", "set", "0", "0", "--group", "<All Devices>")
    assert run_json(daemon, "rules", "remove", "44", "20")["removed"]
    assert run_json(daemon, "groups", "remove", "pair")["removed"]
    assert [g["name"] for g in run_json(daemon, "groups", "list")] == ["<All Devices>"]


def test_a_rules_t38_policy_is_set_and_shown_from_the_command_line(daemon: Daemon) -> None:
    rule = run_json(daemon, "rules", "add", "44", "20", "--device", "1", "--t38", "request")
    assert (rule["t38"], rule["device_id"]) == ("request", 1)
    assert run_json(daemon, "rules", "add", "44", "0", "--device", "1")["t38"] == "trunk"
    # --t38 alone keeps the target; a new target alone keeps the policy.
    rule = run_json(daemon, "rules", "set", "44", "20", "--t38", "off")
    assert (rule["t38"], rule["target"]) == ("off", "device 1")
    rule = run_json(daemon, "rules", "set", "44", "20", "--device", "loopback line 1002")
    assert (rule["t38"], rule["device_id"]) == ("off", 2)
    assert run_json(daemon, "rules", "for", "+44 20 7946 0000")["t38"] == "off"
    assert run_json(daemon, "rules", "for", "+44 161 496 0000")["t38"] == "trunk"
    shown = openfax(daemon, "outbound", "rules", "for", "+44 20 7946 0000")
    assert shown.returncode == 0, shown.stderr
    assert "t38" in shown.stdout
    assert "off" in shown.stdout
    for area in ("20", "0"):
        assert run_json(daemon, "rules", "remove", "44", area)["removed"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("rules", "add", "44", "0"), "either --device or --group"),
        (("rules", "add", "44", "0", "--device", "nowhere"), "no device has the id or name"),
        (("rules", "add", "44", "0", "--device", "1", "--t38", "on"), "'on' is not one of"),
        (("rules", "set", "0", "0"), "either --device or --group"),
        (("rules", "remove", "0", "0"), "InvalidOperationError"),
        (("rules", "set", "7", "0", "--device", "1"), "RuleNotFoundError"),
        (("groups", "set", "<All Devices>", "1"), "cannot be changed"),
        (("groups", "remove", "absent"), "absent"),
        (("groups", "add", "never", "no such line"), "no device has the id or name"),
    ],
)
def test_mistakes_are_clear_errors(daemon: Daemon, args: tuple[str, ...], error: str) -> None:
    done = openfax(daemon, "outbound", *args)
    assert done.returncode != 0
    assert error in done.stderr
    assert "Traceback" not in done.stderr
    assert "never" not in openfax(daemon, "outbound", "groups", "list").stdout
