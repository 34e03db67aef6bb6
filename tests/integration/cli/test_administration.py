"""``openfax config`` (and the other administration commands) against a real daemon: tables,
``--json``, and errors that name what was wrong."""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon import Daemon, running
from tests.integration.cli.test_cli import SAMPLES
from tests.integration.cli.test_fax_commands import openfax


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def test_config_set_then_get(daemon: Daemon) -> None:
    saved = openfax(daemon, "config", "set", "retries=6", "discount_rate_end=06:15", "--json")
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout) == {"retries": 6, "discount_rate_end": "06:15"}
    shown = json.loads(openfax(daemon, "config", "get", "--json").stdout)
    assert shown["retries"] == 6
    assert shown["discount_rate_end"] == "06:15"
    table = openfax(daemon, "config", "get", "retries", "branding")
    assert table.returncode == 0
    assert "Configuration" in table.stdout
    assert "retries" in table.stdout
    assert "discount_rate_end" not in table.stdout


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


def test_audit_lists_the_changes_made(daemon: Daemon) -> None:
    assert openfax(daemon, "config", "set", "branding=true").returncode == 0
    entries = json.loads(openfax(daemon, "audit", "--since", "2000-01-01", "--json").stdout)
    changes = [e for e in entries if e["action"] == "config_changed"]
    assert changes
    assert changes[-1]["details"] == {"branding": True}
    assert changes[-1]["actor"] == pwd.getpwuid(os.getuid()).pw_name
    after = json.loads(
        openfax(daemon, "audit", "--after", str(changes[-1]["seq"]), "--json").stdout
    )
    assert after == []
    table = openfax(daemon, "audit", "--limit", "5")
    assert table.returncode == 0
    assert "Audit trail" in table.stdout


def test_coverpages_add_list_send_remove(daemon: Daemon, tmp_path: Path) -> None:
    template = tmp_path / "memo.txt"
    template.write_text("@font sans-bold 40\nMEMO to {recipient_name}\n")
    added = openfax(daemon, "coverpages", "add", "memo", template, "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["name"] == "memo"
    listed = json.loads(openfax(daemon, "coverpages", "list", "--json").stdout)
    assert [page["name"] for page in listed] == ["generic", "memo"]
    sent = openfax(
        daemon,
        "send",
        SAMPLES / "letter.txt",
        "--to",
        "1002",
        "--cover",
        "memo",
        "--wait",
        "--json",
    )
    assert sent.returncode == 0, sent.stderr
    (job,) = json.loads(sent.stdout)
    assert job["status"] == "COMPLETED"
    assert openfax(daemon, "coverpages", "remove", "memo").returncode == 0
    listed = json.loads(openfax(daemon, "coverpages", "list", "--json").stdout)
    assert [page["name"] for page in listed] == ["generic"], "the built-in one"
    gone = openfax(daemon, "coverpages", "remove", "memo")
    assert gone.returncode == 1
    assert "no cover page 'memo'" in gone.stderr
    broken = tmp_path / "broken.txt"
    broken.write_text("{no_such_field}\n")
    refused = openfax(daemon, "coverpages", "add", "broken", broken)
    assert refused.returncode == 1
    assert "no_such_field" in refused.stderr


def test_extension_property_set_and_get(daemon: Daemon, tmp_path: Path) -> None:
    guid = "{0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0}"
    assert openfax(daemon, "extension-property", "set", guid, "--value", "héllo").returncode == 0
    assert openfax(daemon, "extension-property", "get", guid).stdout == "héllo"
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\xff")
    devices = json.loads(openfax(daemon, "devices", "--json").stdout)
    device = str(devices[0]["id"])
    done = openfax(daemon, "extension-property", "set", guid, "--file", blob, "--device", device)
    assert done.returncode == 0, done.stderr
    shown = json.loads(
        openfax(daemon, "extension-property", "get", guid, "--device", device, "--json").stdout
    )
    assert shown == {"guid": guid, "device_id": int(device), "data": "AAH/"}
    copy = tmp_path / "copy.bin"
    assert (
        openfax(
            daemon, "extension-property", "get", guid, "--device", device, "-o", copy
        ).returncode
        == 0
    )
    assert copy.read_bytes() == b"\x00\x01\xff"
    bad = openfax(daemon, "extension-property", "set", "not-a-guid", "--value", "x")
    assert bad.returncode == 1
    assert "not a GUID" in bad.stderr
    both = openfax(daemon, "extension-property", "set", guid)
    assert both.returncode == 2
    assert "exactly one of --value and --file" in both.stderr


def test_providers_list_register_unregister(daemon: Daemon) -> None:
    (loopback,) = json.loads(openfax(daemon, "providers", "list", "--json").stdout)
    assert (loopback["unique_name"], loopback["status"]) == ("loopback", "SUCCESS")
    assert len(loopback["device_ids"]) == 2
    done = openfax(daemon, "providers", "register", "acme", "--image", "acme")
    assert done.returncode == 0
    assert "loads when openfaxd next starts" in done.stdout
    again = openfax(daemon, "providers", "register", "acme", "--image", "acme")
    assert again.returncode == 1
    assert "already registered" in again.stderr
    table = openfax(daemon, "providers", "list")
    assert "Device providers" in table.stdout
    assert "acme" not in table.stdout
    gone = openfax(daemon, "providers", "unregister", "acme", "--json")
    assert json.loads(gone.stdout) == {"unique_name": "acme", "registered": False}
    gone = openfax(daemon, "providers", "unregister", "acme")
    assert gone.returncode == 1
    assert "no device provider 'acme'" in gone.stderr


def test_routing_extension_register_unregister(daemon: Daemon) -> None:
    method = "Copy;Copy it;copy;{33333333-4444-4555-8666-777777777777}"
    done = openfax(daemon, "routing", "register", "acme", "--image", "acme", "--method", method)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "acme registered; it loads when openfaxd next starts"
    extensions = json.loads(openfax(daemon, "routing", "extensions", "--json").stdout)
    assert [e["unique_name"] for e in extensions] == ["openfax"]
    gone = openfax(daemon, "routing", "unregister", "acme", "--json")
    assert json.loads(gone.stdout) == {"unique_name": "acme", "registered": False}
    again = openfax(daemon, "routing", "unregister", "acme")
    assert again.returncode == 1
    assert "acme" in again.stderr
