"""``openfax config`` (and the other administration commands) against a real daemon: tables,
``--json``, and errors that name what was wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.cli.test_fax_commands import openfax
from tests.daemon import Daemon, running


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def test_config_set_then_get(daemon: Daemon) -> None:
    saved = openfax(daemon, "config", "set", "retries=6", "discount_rate_end=06:15", "--json")
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout) == {"retries": 6, "discount_rate_end": "06:15"}
    shown = json.loads(openfax(daemon, "config", "get", "--json").stdout)
    assert shown["retries"] == 6 and shown["discount_rate_end"] == "06:15"
    table = openfax(daemon, "config", "get", "retries", "branding")
    assert table.returncode == 0 and "Configuration" in table.stdout
    assert "retries" in table.stdout and "discount_rate_end" not in table.stdout


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("retries=-2", "retries: must be a whole number"),
        ("archive_size=1", "read-only"),
        ("colour=true", "no configuration property 'colour'"),
    ],
)
def test_config_set_names_a_wrong_property(daemon: Daemon, setting: str, message: str) -> None:
    refused = openfax(daemon, "config", "set", setting)
    assert refused.returncode == 1
    assert message in refused.stderr
