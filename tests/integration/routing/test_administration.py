"""Administering inbound routing through the client, the HTTP API and the ``openfax
routing`` commands against a real openfaxd: methods and priorities, configurations checked
and their secrets masked, per-line use, failed deliveries listed and resent."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from openfax.client import FaxServer
from openfax.errors import ConfigError, MessageNotFoundError, NotSupportedError
from openfax.model import ProviderStatus
from openfax.routing import PRINT, ROUTE_TO_EMAIL, STORE_IN_FOLDER, WEBHOOK
from tests.daemon import Daemon
from tests.integration.cli.test_cli import OPENFAX
from tests.integration.routing.conftest import fax_to, settled
from tests.peers import webhook_receiver


def openfax(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENFAX_SOCKET": str(daemon.socket), "COLUMNS": "200"}
    return subprocess.run(
        [str(OPENFAX), "routing", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_the_built_in_methods_have_faxcomex_guids_names_and_priorities(server: FaxServer) -> None:
    routing = server.inbound_routing
    (extension,) = routing.get_extensions()
    assert (extension.unique_name, extension.status) == ("openfax", ProviderStatus.SUCCESS)
    methods = routing.get_methods()
    assert [m.guid for m in methods] == [STORE_IN_FOLDER, ROUTE_TO_EMAIL, PRINT, WEBHOOK]
    assert extension.methods == [m.guid for m in methods]
    assert [m.priority for m in methods] == [1, 2, 3, 4]
    email = methods[ROUTE_TO_EMAIL]
    assert (email.name, email.function_name, email.extension_friendly_name) == (
        "Email", "send_email", "OpenFax routing methods"
    )  # fmt: skip
    assert routing.get_method(STORE_IN_FOLDER.strip("{}").upper()).name == "Folder"


def test_wrong_configurations_and_unknown_methods_or_lines_are_refused_by_name(
    server: FaxServer, daemon: Daemon
) -> None:
    routing = server.inbound_routing
    email = routing.get_method(ROUTE_TO_EMAIL)
    with pytest.raises(ConfigError, match="recipients: is required"):
        email.set_configuration({"smtp_host": "mail"})
    with pytest.raises(ConfigError, match="smtp_port: must be a whole number from 1"):
        email.set_configuration({"recipients": ["a@example.com"], "smtp_port": 0})
    with pytest.raises(ConfigError, match="subject: has an unknown field"):
        email.set_configuration({"recipients": ["a@example.com"], "subject": "{nobody}"})
    with pytest.raises(ConfigError, match="subject: has an unknown field"):
        email.set_configuration({"recipients": ["a@example.com"], "subject": "{caller_id.x}"})
    with pytest.raises(ConfigError, match="colour: unknown key"):
        email.set_configuration({"recipients": ["a@example.com"], "colour": "red"})
    with pytest.raises(ConfigError, match="url: must be an http"):
        routing.get_method(WEBHOOK).set_configuration({"url": "ftp://example.com/"})
    with pytest.raises(ConfigError, match="folder: must be an absolute path"):
        routing.get_method(STORE_IN_FOLDER).set_configuration({"folder": "relative/in"})
    folder = routing.get_method(STORE_IN_FOLDER)
    with pytest.raises(ConfigError, match="words: must be words of 1 to 100 characters"):
        folder.set_configuration({"folder": "/srv/in", "words": ["x" * 101]})
    with pytest.raises(ConfigError, match="words: must list at most 100 words, not 101"):
        folder.set_configuration({"folder": "/srv/in", "words": ["referral"] * 101})
    with pytest.raises(ConfigError, match="words: must be a list of non-empty strings"):
        folder.set_configuration({"folder": "/srv/in", "words": [3]})
    with pytest.raises(NotSupportedError, match="no inbound routing method"):
        routing.get_method("{00000000-0000-4000-8000-000000000000}")
    with pytest.raises(MessageNotFoundError):
        email.get_configuration(device_id=999)
    line = server.get_devices()[1]
    with pytest.raises(NotSupportedError):
        line.use_routing_method("not-a-guid", True)
    uninstalled = "{00000000-0000-4000-8000-000000000000}"
    with pytest.raises(NotSupportedError, match="no inbound routing method"):
        line.use_routing_method(uninstalled, True)
    line.use_routing_method(uninstalled, False)  # what an unregistered plug-in left: turn off
    assert uninstalled not in line.used_routing_methods
    # The same refusals over plain HTTP: a 400 in the one error shape, never a 500.
    answer = httpx.put(
        f"http://{daemon.address}/v1/inbound-routing/methods/{WEBHOOK[1:-1]}/configurations/0",
        json=["not", "an", "object"],
        headers={"Authorization": f"Bearer {daemon.token}"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["class"] == "FaxError"
    unauthenticated = httpx.get(f"http://{daemon.address}/v1/inbound-routing/methods")
    assert unauthenticated.status_code == 401


def test_secrets_read_masked_and_the_mask_keeps_them(server: FaxServer) -> None:
    webhook = server.inbound_routing.get_method(WEBHOOK)
    shown = webhook.set_configuration({"url": "https://example.com/fax", "secret": "s"})
    assert shown["secret"] == "********"
    kept = webhook.set_configuration({**shown, "attach": "pdf"})
    assert kept == {**shown, "attach": "pdf"}
    cleared = webhook.set_configuration({"url": "https://example.com/fax"})
    assert cleared["secret"] == ""


def test_the_routing_commands_configure_use_list_and_resend(
    server: FaxServer, daemon: Daemon, one_page: Path
) -> None:
    listed = openfax(daemon, "methods", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {m["name"] for m in json.loads(listed.stdout)} >= {"Folder", "Email", "Webhook"}
    extensions = json.loads(openfax(daemon, "extensions", "--json").stdout)
    assert extensions[0]["status"] == "SUCCESS"

    with webhook_receiver() as hook:
        hook.statuses.append(410)
        configured = openfax(daemon, "config", "webhook", f"url={hook.url}", "secret=abc", "--json")
        assert configured.returncode == 0, configured.stderr
        assert json.loads(configured.stdout)["secret"] == "********"
        assert openfax(daemon, "config", "Folder", "--clear").returncode == 0
        for name in ("Folder", "Email", "Printer"):
            assert openfax(daemon, "use", "loopback line 1002", name, "--off").returncode == 0
        used = openfax(daemon, "use", "loopback line 1002", "webhook")
        assert used.returncode == 0, used.stderr
        assert WEBHOOK in used.stdout
        bad = openfax(daemon, "config", "webhook", "url=gopher://x")
        assert bad.returncode == 1
        assert "ConfigError" in bad.stderr

        message_id = fax_to(server, "1002", one_page)
        (delivery,) = settled(server, message_id)
        assert delivery.status == "failed"
        failed = json.loads(openfax(daemon, "deliveries", "--failed", "--json").stdout)
        assert delivery.id in [row["id"] for row in failed]
        resent = openfax(daemon, "resend", delivery.id)
        assert resent.returncode == 0, resent.stderr
        (again,) = settled(server, message_id)
        assert again.status == "done"
        assert len(hook.wait_for(2)) == 2
    assert openfax(daemon, "resend", delivery.id).returncode == 1
    moved = openfax(daemon, "priority", "webhook", "1")
    assert moved.returncode == 0
    assert "priority 1" in moved.stdout
    assert server.inbound_routing.get_methods()[1].guid == WEBHOOK
